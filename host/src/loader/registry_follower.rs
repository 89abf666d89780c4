//! Follows the store's plugin registry, so an upload, rollback or unload made through any
//! host's admin API (or before a restart) serves here too. A host polls the registry's number
//! (one indexed read of one row); when it moved, every entry changed since is applied: the
//! versions it names are taken from this host's own (current or previous) when the sha256
//! matches, else fetched from the store, checked like an upload (size, sha256, signature,
//! compile through this host's cache, id) and swapped in. An entry that cannot be applied
//! is logged and retried at the next poll; the others still apply.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context as _, bail};
use sha2::{Digest, Sha256};

use super::Loader;
use crate::background_task::BackgroundTask;
use crate::runtime::{Plugin, PluginOrigin, PluginSlot};
use crate::store::{RegistryEntry, StoreError};

/// How often a host of a shared store looks for registry changes. Default: 500 ms, so a
/// change serves on every host within 2 s with a compile to spare.
pub const REGISTRY_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Which registry change each plugin id was last brought to on this host.
#[derive(Default)]
pub(super) struct Applied {
    inner: Mutex<AppliedInner>,
}

#[derive(Default)]
struct AppliedInner {
    by_id: HashMap<String, u64>,
    /// The registry number every entry up to which has been applied.
    seen: u64,
}

impl Applied {
    /// Notes that `id` stands as change `seq` left it (this host made the change).
    pub(super) fn mark(&self, id: &str, seq: u64) {
        let mut inner = self.lock();
        let at = inner.by_id.entry(id.to_owned()).or_default();
        *at = (*at).max(seq);
    }

    fn get(&self, id: &str) -> u64 {
        self.lock().by_id.get(id).copied().unwrap_or(0)
    }

    fn seen(&self) -> u64 {
        self.lock().seen
    }

    fn set_seen(&self, seq: u64) {
        let mut inner = self.lock();
        inner.seen = inner.seen.max(seq);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AppliedInner> {
        // The map is always consistent between statements: a panic elsewhere cannot tear it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Loader {
    /// Brings this host's registry to what the store records: applies every entry changed
    /// since the last call. Returns how many plugin ids changed here.
    pub async fn follow_registry(&self) -> Result<usize, StoreError> {
        let store = &self.inner.store;
        let seq = store.registry_seq().await?;
        if seq <= self.inner.applied.seen() {
            return Ok(0);
        }
        let _one_load_at_a_time = self.inner.loading.lock().await;
        let mut changed = 0;
        let mut complete = true;
        for entry in store.registry_entries().await? {
            if entry.seq <= self.inner.applied.get(&entry.id) {
                continue;
            }
            match self.apply(&entry).await {
                Ok(true) => changed += 1,
                Ok(false) => {}
                Err(error) => {
                    complete = false;
                    tracing::warn!(plugin = %entry.id, error = %format!("{error:#}"), "could not apply the plugin registry's change; retrying at the next poll");
                }
            }
        }
        if complete {
            self.inner.applied.set_seen(seq);
        }
        Ok(changed)
    }

    /// Polls the registry every [`REGISTRY_POLL_INTERVAL`] until stopped.
    pub fn follow_registry_in_background(&self) -> BackgroundTask {
        let loader = self.clone();
        BackgroundTask::spawn(move |mut stop| async move {
            let mut tick = tokio::time::interval(REGISTRY_POLL_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tokio::select! {
                    _ = &mut stop => return,
                    _ = tick.tick() => {}
                }
                match loader.follow_registry().await {
                    Ok(_) => failing = false,
                    // Once per outage, not every half second.
                    Err(error) if !failing => {
                        failing = true;
                        tracing::warn!(%error, "could not read the plugin registry");
                    }
                    Err(_) => {}
                }
            }
        })
    }

    /// Makes `id`'s slot here what `entry` says; false when it already was.
    async fn apply(&self, entry: &RegistryEntry) -> anyhow::Result<bool> {
        let slot = self.inner.runtime.slot(&entry.id).unwrap_or_default();
        let sha = |plugin: &Option<Arc<Plugin>>| plugin.as_ref().map(|p| p.sha256.clone());
        if (sha(&slot.current), sha(&slot.previous))
            == (entry.current.clone(), entry.previous.clone())
        {
            self.inner.applied.mark(&entry.id, entry.seq);
            return Ok(false);
        }
        let own = |wanted: &str| {
            [&slot.current, &slot.previous]
                .into_iter()
                .flatten()
                .find(|plugin| plugin.sha256 == wanted)
                .cloned()
        };
        let current = match &entry.current {
            None => None,
            Some(wanted) => Some(match own(wanted) {
                Some(plugin) => plugin,
                None => self.fetch(&entry.id, wanted).await?,
            }),
        };
        let previous = match &entry.previous {
            None => None,
            Some(wanted) => match own(wanted) {
                Some(plugin) => Some(plugin),
                None => match self.fetch(&entry.id, wanted).await {
                    Ok(plugin) => Some(plugin),
                    // A version another host loaded from its own directory: keep the one this
                    // host would roll back to instead.
                    Err(error) => {
                        tracing::info!(plugin = %entry.id, error = %format!("{error:#}"), "the registry's previous version is not in the store; keeping this host's own");
                        slot.current
                            .clone()
                            .or(slot.previous.clone())
                            .filter(|p| Some(&p.sha256) != current.as_ref().map(|c| &c.sha256))
                    }
                },
            },
        };
        let _registry = self.inner.registry.lock().await;
        // A change this host made while the versions compiled is newer than the entry.
        if entry.seq <= self.inner.applied.get(&entry.id) {
            return Ok(false);
        }
        self.inner.runtime.set_slot(
            &entry.id,
            PluginSlot {
                current: current.clone(),
                previous,
            },
        );
        self.inner.applied.mark(&entry.id, entry.seq);
        tracing::info!(
            plugin = %entry.id,
            sha256 = current.as_ref().map(|p| p.sha256.as_str()).unwrap_or("unloaded"),
            seq = entry.seq,
            "plugin registry change applied"
        );
        Ok(true)
    }

    /// The version `sha256` of `id` from the store, checked as an upload is.
    async fn fetch(&self, id: &str, sha256: &str) -> anyhow::Result<Arc<Plugin>> {
        let blob = self
            .inner
            .store
            .plugin_blob(sha256)
            .await?
            .with_context(|| format!("the store holds no bytes for {sha256}"))?;
        let settings = &self.inner.settings;
        if blob.wasm.len() > settings.max_plugin_bytes {
            bail!(
                "{} bytes; the most this host accepts is {}",
                blob.wasm.len(),
                settings.max_plugin_bytes
            );
        }
        let actual = hex::encode(Sha256::digest(&blob.wasm));
        if actual != sha256 {
            bail!("the store's bytes for {sha256} hash to {actual}");
        }
        let origin = PluginOrigin {
            source: blob.source,
            path: None,
            signed_by: None,
        };
        let plugin = self
            .verify_and_prepare(
                blob.wasm,
                sha256,
                blob.signature.as_deref(),
                origin,
                Some(id),
            )
            .await?;
        Ok(plugin)
    }
}
