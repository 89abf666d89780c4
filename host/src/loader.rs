//! Hot loading for operators. Every plugin version, uploaded or dropped into the watched
//! directory or found at start-up, goes through one transaction: size cap → sha256 pin →
//! signature → compile (cached, off the async workers) → contract version and import check →
//! link → `info()` smoke call → id check → atomic swap. A refused version changes nothing: the
//! running one keeps serving. Every load, refusal, rollback and unload is logged and audited.

mod registry_follower;
mod signing;
mod watcher;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use sha2::{Digest, Sha256};

pub use registry_follower::REGISTRY_POLL_INTERVAL;
pub use signing::{SignatureError, TrustedKeys, generate_key, key_id, sign};
pub use watcher::PluginDirWatcher;

use crate::runtime::{LoadError, Plugin, PluginOrigin, RegistryError, Runtime, wasm_files};
use crate::store::{PluginBlob, Store, StoreError};

/// Policy every load is checked against.
#[derive(Debug, Clone)]
pub struct LoaderSettings {
    /// Largest component accepted, in bytes. Default: 32 MiB.
    pub max_plugin_bytes: usize,
    /// Public keys whose signatures are accepted. Default: none.
    pub trusted_keys: TrustedKeys,
    /// Refuse plugins without a valid signature by a trusted key. Default: false.
    pub require_signature: bool,
}

impl Default for LoaderSettings {
    fn default() -> Self {
        Self {
            max_plugin_bytes: 32 << 20,
            trusted_keys: TrustedKeys::default(),
            require_signature: false,
        }
    }
}

/// One version offered for loading.
#[derive(Debug, Default)]
pub struct LoadRequest {
    /// The component's bytes.
    pub wasm: Vec<u8>,
    /// The id the operator meant (upload path); the plugin's `info().id` must match it.
    pub expected_id: Option<String>,
    /// Hex sha256 the bytes must have.
    pub sha256_pin: Option<String>,
    /// Base64 ed25519 signature over the sha256 digest.
    pub signature: Option<String>,
    /// Where it came from.
    pub origin: PluginOrigin,
    /// Who asked (`admin`, `host`), for the audit log.
    pub actor: String,
    /// Install even if the version changes where the connector sends secrets or requests
    /// (hosts, credential hosts, placements, OAuth endpoints, origin key). Default: false.
    pub accept_manifest_changes: bool,
    /// Record the version in the store's plugin registry, so every host serves it and a
    /// restart keeps it: true for the admin API and console uploads. Default: false (a
    /// directory load is the host's own).
    pub shared: bool,
}

/// Why a version was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadFailure {
    #[error("the component is {size} bytes; the most this host accepts is {max}")]
    /// The component is larger than allowed.
    TooLarge {
        /// Its size.
        size: usize,
        /// The most accepted.
        max: usize,
    },
    /// `X-Plugin-Sha256` is not 64 hex digits.
    #[error("`X-Plugin-Sha256` must be 64 hex digits")]
    MalformedPin,
    #[error("sha256 mismatch: pinned {pinned}, the bytes hash to {actual}")]
    /// The bytes do not hash to the pinned digest.
    Sha256Mismatch {
        /// The digest pinned.
        pinned: String,
        /// The digest of the bytes.
        actual: String,
    },
    /// The signature is missing, malformed or untrusted.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("the component says it is `{actual}`, but was loaded as `{expected}`")]
    /// The component's id is not the one it was loaded as.
    IdMismatch {
        /// The id it was loaded as.
        expected: String,
        /// The id it declares.
        actual: String,
    },
    #[error(
        "this version changes where the connector sends secrets or requests ({} field(s), see \
         details.changes); upload it with ?accept_manifest_changes=true to accept",
        .changes.len()
    )]
    /// The version changes where the connector sends secrets or requests.
    ManifestChanged {
        /// Each change.
        changes: Vec<serde_json::Value>,
    },
    /// The id belongs to another owner: an operator's connector, or another tenant's.
    #[error("the connector id `{0}` is taken")]
    IdTaken(String),
    /// Compiling took longer than allowed (seconds).
    #[error("compiling took longer than {0} s; the version was not loaded")]
    CompileTimeout(u64),
    /// The component itself was refused.
    #[error(transparent)]
    Plugin(#[from] LoadError),
    /// The store could not record the version; nothing was installed.
    #[error("the store could not record the version: {0}")]
    Store(#[source] StoreError),
}

impl LoadFailure {
    /// Which step refused the version (API `details.stage`).
    pub fn stage(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "size",
            Self::MalformedPin | Self::Sha256Mismatch { .. } => "sha256",
            Self::Signature(_) => "signature",
            Self::IdMismatch { .. } | Self::IdTaken(_) => "id",
            Self::ManifestChanged { .. } => "manifest_change",
            Self::CompileTimeout(_) => "compile",
            Self::Plugin(error) => error.stage(),
            Self::Store(_) => "store",
        }
    }
}

/// Why a rollback or unload was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The registry has nothing to change.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The store could not record the change; nothing changed.
    #[error("the store could not record the change: {0}")]
    Store(#[from] StoreError),
}

/// A version that was installed, and the one it replaced.
#[derive(Debug)]
pub struct Loaded {
    /// The version installed.
    pub plugin: Arc<Plugin>,
    /// The version it replaced.
    pub replaced: Option<Arc<Plugin>>,
}

/// Runs load transactions, rollbacks and unloads. Cheap to clone.
#[derive(Clone)]
pub struct Loader {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Runtime,
    store: Store,
    settings: LoaderSettings,
    /// One load at a time: loads install in the order they were asked, and only one component
    /// compiles at once.
    loading: tokio::sync::Mutex<()>,
    /// Registry changes (install, rollback, unload). Held only for the swap, never while a
    /// component compiles, so a rollback is never stuck behind a slow compile.
    registry: tokio::sync::Mutex<()>,
    /// Which registry change each plugin id here stands at (see `registry_follower`).
    applied: registry_follower::Applied,
}

/// Longest a compile may take before the load is abandoned (the compile thread finishes in the
/// background; the version is not installed).
const COMPILE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);
/// Longest the read of one plugin file from the watched dir may take.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Loader {
    /// A loader over `runtime` and `store`.
    pub fn new(runtime: Runtime, store: Store, settings: LoaderSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                runtime,
                store,
                settings,
                loading: tokio::sync::Mutex::new(()),
                registry: tokio::sync::Mutex::new(()),
                applied: registry_follower::Applied::default(),
            }),
        }
    }

    /// Its settings.
    pub fn settings(&self) -> &LoaderSettings {
        &self.inner.settings
    }

    /// Checks, prepares and installs one version; audits and logs the outcome either way.
    pub async fn load(&self, request: LoadRequest) -> Result<Loaded, LoadFailure> {
        let _one_load_at_a_time = self.inner.loading.lock().await;
        let sha256 = hex::encode(Sha256::digest(&request.wasm));
        let target = request
            .expected_id
            .clone()
            .unwrap_or_else(|| request.origin.path.clone().unwrap_or_default());
        let actor = request.actor.clone();
        let source = request.origin.source.clone();
        match self.transact(request, &sha256).await {
            Ok(loaded) => {
                let plugin = &loaded.plugin;
                tracing::info!(
                    plugin = %plugin.id(),
                    version = %plugin.manifest.version,
                    sha256 = %plugin.sha256,
                    wit = %plugin.wit_version,
                    source = %source,
                    replaced = loaded.replaced.as_ref().map(|p| p.sha256.as_str()).unwrap_or("none"),
                    "plugin loaded"
                );
                self.audit(
                    &actor,
                    "plugin.load",
                    plugin.id(),
                    json!({
                        "version": plugin.manifest.version,
                        "sha256": plugin.sha256,
                        "wit_version": plugin.wit_version,
                        "compiled": plugin.compiled,
                        "origin": plugin.origin,
                        "replaced_sha256": loaded.replaced.as_ref().map(|p| p.sha256.clone()),
                    }),
                )
                .await;
                Ok(loaded)
            }
            Err(failure) => {
                self.record_refusal(&target, Some(&sha256), &source, &failure, &actor)
                    .await;
                Err(failure)
            }
        }
    }

    /// Logs and audits a refused version, including one refused before its bytes were read
    /// (an upload over the size cap).
    pub async fn record_refusal(
        &self,
        target: &str,
        sha256: Option<&str>,
        source: &str,
        failure: &LoadFailure,
        actor: &str,
    ) {
        tracing::warn!(
            target = %target,
            sha256 = sha256.unwrap_or("unread"),
            source = %source,
            stage = failure.stage(),
            error = %failure,
            "plugin refused; the running version keeps serving"
        );
        self.audit(
            actor,
            "plugin.load_failed",
            target,
            json!({ "sha256": sha256, "stage": failure.stage(), "error": failure.to_string() }),
        )
        .await;
    }

    async fn transact(&self, request: LoadRequest, sha256: &str) -> Result<Loaded, LoadFailure> {
        let settings = &self.inner.settings;
        if request.wasm.len() > settings.max_plugin_bytes {
            return Err(LoadFailure::TooLarge {
                size: request.wasm.len(),
                max: settings.max_plugin_bytes,
            });
        }
        if let Some(pin) = &request.sha256_pin {
            let pin = pin.trim().to_ascii_lowercase();
            if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(LoadFailure::MalformedPin);
            }
            if pin != sha256 {
                return Err(LoadFailure::Sha256Mismatch {
                    pinned: pin,
                    actual: sha256.to_owned(),
                });
            }
        }
        // The bytes go to the store only once every check has passed.
        let blob = request.shared.then(|| PluginBlob {
            wasm: request.wasm.clone(),
            signature: request.signature.clone(),
            source: request.origin.source.clone(),
        });
        let plugin = self
            .verify_and_prepare(
                request.wasm,
                sha256,
                request.signature.as_deref(),
                request.origin,
                request.expected_id.as_deref(),
            )
            .await?;
        let _registry = self.inner.registry.lock().await;
        // An upgrade may not quietly move where secrets go: compared with the version serving
        // now, or the one last unloaded.
        let slot = self.inner.runtime.slot(plugin.id()).unwrap_or_default();
        // One owner per id: a tenant cannot take the operator's or another tenant's id, nor the
        // operator a tenant's (it unloads it instead).
        if let Some(existing) = slot.current.as_ref().or(slot.previous.as_ref())
            && existing.owner != plugin.owner
        {
            return Err(LoadFailure::IdTaken(plugin.id().to_owned()));
        }
        if let Some(running) = slot.current.or(slot.previous)
            && !request.accept_manifest_changes
        {
            let changes = plugin.manifest.security_changes(&running.manifest);
            if !changes.is_empty() {
                return Err(LoadFailure::ManifestChanged { changes });
            }
        }
        if let Some(blob) = blob {
            // Recorded before it serves here: a version the store refused serves nowhere.
            let slot = self.inner.runtime.slot(plugin.id()).unwrap_or_default();
            let replaced = slot.current.or(slot.previous).map(|p| p.sha256.clone());
            let seq = self
                .inner
                .store
                .record_registry(
                    plugin.id(),
                    Some(&plugin.sha256),
                    replaced.as_deref(),
                    Some(&(plugin.sha256.clone(), blob)),
                )
                .await
                .map_err(LoadFailure::Store)?;
            self.inner.applied.mark(plugin.id(), seq);
        }
        let replaced = self.inner.runtime.install(plugin.clone());
        Ok(Loaded { plugin, replaced })
    }

    /// The checks after the bytes' size and sha256 (the caller's, which differ between an
    /// upload and bytes from the store): signature, compile within [`COMPILE_TIMEOUT`], and
    /// the id the component declares.
    async fn verify_and_prepare(
        &self,
        wasm: Vec<u8>,
        sha256: &str,
        signature: Option<&str>,
        mut origin: PluginOrigin,
        expected_id: Option<&str>,
    ) -> Result<Arc<Plugin>, LoadFailure> {
        let settings = &self.inner.settings;
        origin.signed_by = match signature {
            Some(signature) => Some(settings.trusted_keys.verify(sha256, signature)?),
            None if settings.require_signature => return Err(SignatureError::Missing.into()),
            None => None,
        };
        let plugin =
            tokio::time::timeout(COMPILE_TIMEOUT, self.inner.runtime.prepare(wasm, origin))
                .await
                .map_err(|_| LoadFailure::CompileTimeout(COMPILE_TIMEOUT.as_secs()))??;
        if let Some(expected) = expected_id
            && plugin.id() != expected
        {
            return Err(LoadFailure::IdMismatch {
                expected: expected.to_owned(),
                actual: plugin.id().to_owned(),
            });
        }
        Ok(plugin)
    }

    /// Serves the previous version of `id` again (and keeps the current one as previous).
    pub async fn rollback(&self, id: &str, actor: &str) -> Result<Arc<Plugin>, ChangeError> {
        let _registry = self.inner.registry.lock().await;
        let slot = self.inner.runtime.slot(id).unwrap_or_default();
        let Some(previous) = slot.previous.as_ref() else {
            return Err(match slot.current {
                Some(_) => RegistryError::NoPrevious(id.to_owned()),
                None => RegistryError::NotLoaded(id.to_owned()),
            }
            .into());
        };
        self.record(
            id,
            Some(&previous.sha256),
            slot.current.as_ref().map(|p| p.sha256.as_str()),
        )
        .await?;
        let plugin = self.inner.runtime.rollback(id)?;
        tracing::info!(plugin = %id, version = %plugin.manifest.version, sha256 = %plugin.sha256, "plugin rolled back");
        self.audit(
            actor,
            "plugin.rollback",
            id,
            json!({ "version": plugin.manifest.version, "sha256": plugin.sha256 }),
        )
        .await;
        Ok(plugin)
    }

    /// Stops serving `id` on every host (recorded in the store's registry). Its connections
    /// stay stored and answer `NOT_CONNECTED` until a version is loaded again (or the unload
    /// is rolled back).
    pub async fn unload(&self, id: &str, actor: &str) -> Result<Arc<Plugin>, ChangeError> {
        self.unload_with(id, actor, true).await
    }

    /// Stops serving `id` on this host only (its file left the watched directory).
    pub(crate) async fn unload_own(
        &self,
        id: &str,
        actor: &str,
    ) -> Result<Arc<Plugin>, ChangeError> {
        self.unload_with(id, actor, false).await
    }

    async fn unload_with(
        &self,
        id: &str,
        actor: &str,
        shared: bool,
    ) -> Result<Arc<Plugin>, ChangeError> {
        let _registry = self.inner.registry.lock().await;
        let Some(current) = self.inner.runtime.plugin(id) else {
            return Err(RegistryError::NotLoaded(id.to_owned()).into());
        };
        if shared {
            self.record(id, None, Some(&current.sha256)).await?;
        }
        let plugin = self.inner.runtime.unload(id)?;
        tracing::info!(plugin = %id, sha256 = %plugin.sha256, "plugin unloaded");
        self.audit(
            actor,
            "plugin.unload",
            id,
            json!({ "version": plugin.manifest.version, "sha256": plugin.sha256 }),
        )
        .await;
        Ok(plugin)
    }

    /// Loads every `*.wasm` of `dir` (with its `.wasm.sig` signature when present). A file that
    /// is refused is logged and audited and does not keep the others out.
    pub async fn load_dir(&self, dir: &Path, actor: &str) -> anyhow::Result<usize> {
        let mut loaded = 0;
        for path in wasm_files(dir)? {
            if self.load_file(&path, actor).await.is_ok() {
                loaded += 1;
            }
        }
        Ok(loaded)
    }

    /// Loads one file of the plugins directory: only a regular file (no symlink, FIFO or
    /// device), no larger than the cap, read with a bound and a timeout.
    pub async fn load_file(&self, path: &Path, actor: &str) -> Result<Loaded, LoadFailure> {
        let wasm = match read_plugin_file(path, self.inner.settings.max_plugin_bytes).await {
            Ok(wasm) => wasm,
            Err(reason) => {
                let failure = LoadFailure::Plugin(LoadError::Internal(format!(
                    "{}: {reason}",
                    path.display()
                )));
                let target = path.display().to_string();
                self.record_refusal(&target, None, "directory", &failure, actor)
                    .await;
                return Err(failure);
            }
        };
        let signature = tokio::fs::read_to_string(signature_path(path)).await.ok();
        self.load(LoadRequest {
            wasm,
            expected_id: None,
            sha256_pin: None,
            signature,
            origin: PluginOrigin {
                source: "directory".into(),
                path: Some(path.display().to_string()),
                signed_by: None,
            },
            actor: actor.to_owned(),
            accept_manifest_changes: false,
            shared: false,
        })
        .await
    }

    /// Records a rollback or unload in the store's registry (the bytes both versions need are
    /// there already, or the versions are every host's own directory loads).
    async fn record(
        &self,
        id: &str,
        current: Option<&str>,
        previous: Option<&str>,
    ) -> Result<(), ChangeError> {
        let seq = self
            .inner
            .store
            .record_registry(id, current, previous, None)
            .await?;
        self.inner.applied.mark(id, seq);
        Ok(())
    }

    /// The runtime whose registry this loader changes.
    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    /// Audits a change; a tenant's own connector's changes go to that tenant's audit log (its
    /// actor is `tenant:ID`), the rest to the operator's.
    async fn audit(&self, actor: &str, action: &str, target: &str, details: serde_json::Value) {
        let tenant = PluginOrigin {
            source: actor.to_owned(),
            ..PluginOrigin::default()
        };
        if let Err(error) = self
            .inner
            .store
            .audit(tenant.tenant(), actor, action, target, details)
            .await
        {
            tracing::error!(%error, action, "could not write the audit event");
        }
    }
}

/// Reads a plugin file only if it is a regular file within `max` bytes, with a timeout: a
/// symlink to `/dev/zero` or a FIFO in the plugins dir must not hang or exhaust the host.
pub(crate) async fn read_plugin_file(path: &Path, max: usize) -> Result<Vec<u8>, String> {
    use tokio::io::AsyncReadExt as _;
    let meta = tokio::fs::symlink_metadata(path)
        .await
        .map_err(|e| format!("cannot stat: {e}"))?;
    if !meta.file_type().is_file() {
        return Err("not a regular file (symlinks, FIFOs and devices are skipped)".into());
    }
    if meta.len() > max as u64 {
        return Err(format!("{} bytes; the most accepted is {max}", meta.len()));
    }
    let read = async {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| format!("cannot open: {e}"))?;
        let mut wasm = Vec::with_capacity(meta.len() as usize);
        file.take(max as u64 + 1)
            .read_to_end(&mut wasm)
            .await
            .map_err(|e| format!("cannot read: {e}"))?;
        if wasm.len() > max {
            return Err(format!("grew past {max} bytes while being read"));
        }
        Ok(wasm)
    };
    tokio::time::timeout(READ_TIMEOUT, read)
        .await
        .map_err(|_| format!("reading took longer than {} s", READ_TIMEOUT.as_secs()))?
}

/// Where the detached signature of a plugin file lives: `name.wasm.sig`.
pub fn signature_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}
