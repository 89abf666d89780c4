//! Watches the plugins directory: a `*.wasm` written there is loaded once writes to it have
//! been quiet for the debounce interval and its size and modification time held still while
//! it was read, so a half-written file is never taken. Removing the file a plugin was loaded
//! from unloads it. Writing `name.wasm.sig` beside a plugin re-checks it with that signature.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use tokio::sync::mpsc;

use super::Loader;

/// The running watcher; dropping it stops watching.
pub struct PluginDirWatcher {
    _debouncer: notify_debouncer_full::Debouncer<
        notify_debouncer_full::notify::RecommendedWatcher,
        notify_debouncer_full::RecommendedCache,
    >,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PluginDirWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PluginDirWatcher {
    /// Stops watching and returns once the task (which holds the loader, and so the store)
    /// is gone: a dropped task is only freed when the runtime next polls it.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl PluginDirWatcher {
    /// Starts watching `dir` (which must exist), loading through `loader`.
    pub fn start(loader: Loader, dir: &Path, debounce: Duration) -> anyhow::Result<Self> {
        let (sender, mut receiver) = mpsc::unbounded_channel::<BTreeSet<PathBuf>>();
        let mut debouncer = new_debouncer(debounce, None, move |result: DebounceEventResult| {
            match result {
                Ok(events) => {
                    // Only writes, creations, renames and removals: reading a plugin file (an
                    // operator uploading it with curl, say) must not load it.
                    let paths: BTreeSet<PathBuf> = events
                        .into_iter()
                        .filter(|event| {
                            matches!(
                                event.event.kind,
                                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
                            )
                        })
                        .flat_map(|event| event.event.paths)
                        .collect();
                    // The receiver is gone only when the watcher is being dropped.
                    let _ = sender.send(paths);
                }
                Err(errors) => {
                    for error in errors {
                        tracing::warn!(%error, "plugins dir watch error");
                    }
                }
            }
        })
        .context("starting the plugins dir watcher")?;
        debouncer
            .watch(dir, RecursiveMode::NonRecursive)
            .with_context(|| format!("watching {}", dir.display()))?;
        // File events can be lost (an inotify queue overflow under load, say): a periodic
        // check also unloads plugins whose file is gone.
        let mut sweep = tokio::time::interval(debounce.max(Duration::from_millis(100)) * 4);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    received = receiver.recv() => {
                        let Some(paths) = received else { break };
                        let wasm_paths: BTreeSet<PathBuf> = paths
                            .iter()
                            .filter_map(|path| plugin_file_of(path))
                            .collect();
                        for path in wasm_paths {
                            handle_change(&loader, &path).await;
                        }
                    }
                    _ = sweep.tick() => unload_missing(&loader).await,
                }
            }
        });
        tracing::info!(dir = %dir.display(), debounce_ms = debounce.as_millis() as u64, "watching the plugins dir");
        Ok(Self {
            _debouncer: debouncer,
            task,
        })
    }
}

/// The plugin file a changed path concerns: itself for a component (`*.wasm`) or a manifest
/// (`*.yaml`, `*.yml`, `*.json`), the plugin for its `.sig`.
fn plugin_file_of(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    if name.starts_with('.') {
        return None;
    }
    if crate::runtime::is_plugin_file(path) {
        Some(path.to_owned())
    } else {
        name.strip_suffix(".sig")
            .map(|stem| path.with_file_name(stem))
            .filter(|plugin| crate::runtime::is_plugin_file(plugin))
    }
}

async fn handle_change(loader: &Loader, path: &Path) {
    let Ok(before) = tokio::fs::symlink_metadata(path).await else {
        unload_if_from(loader, path).await;
        return;
    };
    // Symlinks, FIFOs, devices and oversized files: the loader refuses them with a log line
    // and an audit event, without ever reading them.
    let wasm = match super::read_plugin_file(path, loader.settings().max_plugin_bytes).await {
        Ok(wasm) => wasm,
        Err(_) => {
            let _ = loader.load_file(path, "host").await;
            return;
        }
    };
    // Still being written: a later event brings it back once the writer is done.
    let after = tokio::fs::symlink_metadata(path).await.ok();
    if !same_file_state(&before, after.as_ref(), wasm.len()) {
        tracing::debug!(path = %path.display(), "plugin file still changing; waiting");
        return;
    }
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&wasm));
    let unchanged =
        loader.runtime().plugins().iter().any(|plugin| {
            plugin.sha256 == sha256 && plugin.origin.path.as_deref() == path.to_str()
        });
    let signature_changed = signature_newer_than_load(loader, path).await;
    if unchanged && !signature_changed {
        return;
    }
    // The outcome is logged and audited by the loader.
    let _ = loader.load_file(path, "host").await;
}

fn same_file_state(
    before: &std::fs::Metadata,
    after: Option<&std::fs::Metadata>,
    read: usize,
) -> bool {
    let modified = |m: &std::fs::Metadata| m.modified().ok();
    after.is_some_and(|after| {
        before.len() == after.len()
            && after.len() == read as u64
            && modified(before) == modified(after)
    })
}

/// Whether the plugin's `.sig` file changed after the version loaded from `path` was loaded.
async fn signature_newer_than_load(loader: &Loader, path: &Path) -> bool {
    let Ok(meta) = tokio::fs::metadata(super::signature_path(path)).await else {
        return false;
    };
    let signed_at = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    loader
        .runtime()
        .plugins()
        .iter()
        .filter(|plugin| plugin.origin.path.as_deref() == path.to_str())
        .any(|plugin| signed_at > plugin.loaded_at)
}

/// Unloads every plugin whose current version came from a file of the dir that is gone.
async fn unload_missing(loader: &Loader) {
    let gone: Vec<PathBuf> = loader
        .runtime()
        .plugins()
        .iter()
        .filter(|plugin| plugin.origin.source == "directory")
        .filter_map(|plugin| plugin.origin.path.as_deref().map(PathBuf::from))
        .filter(|path| std::fs::symlink_metadata(path).is_err())
        .collect();
    for path in gone {
        tracing::info!(path = %path.display(), "plugin file is gone; unloading");
        unload_if_from(loader, &path).await;
    }
}

/// A removed file unloads the plugin whose current version came from it.
async fn unload_if_from(loader: &Loader, path: &Path) {
    let loaded_from_here: Vec<String> = loader
        .runtime()
        .plugins()
        .iter()
        .filter(|plugin| plugin.origin.path.as_deref() == path.to_str())
        .map(|plugin| plugin.id().to_owned())
        .collect();
    for id in loaded_from_here {
        let _ = loader.unload_own(&id, "host").await;
    }
}
