//! The plugin registry: one engine and linker, every plugin id's serving and previous
//! version, installs that swap one pointer, rollback and unload. `sandbox` runs a call on a
//! version taken from here; `grant` says what that call may reach.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use arc_swap::ArcSwap;
use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};

use super::admission::Admission;
use super::call_state::CallState;
use super::compile_cache::{CacheKey, CompileCache};
use super::contract::{wit, wit_definition, wit_json, wit_sql, wit_v0_1, wit_v0_2};
use super::engine::{EpochTicker, build_engine};
use super::plugin::PluginOrigin;
use super::{LoadError, Plugin, RuntimeLimits};
use crate::egress::EgressClient;
use crate::sql::{SqlLimits, SqlPools};

/// How to build a [`Runtime`].
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Per-call limits.
    pub limits: RuntimeLimits,
    /// Use the pooling instance allocator (pre-reserved slots, fastest instantiation).
    /// Default: true.
    pub pooling: bool,
    /// Directory for precompiled components; `None` compiles on every load. Default: none
    /// (the server sets `compile_cache_dir`).
    pub cache_dir: Option<PathBuf>,
    /// Key that authenticates cached artifacts before they are deserialized (the server
    /// derives it from the master key). Default: none, which makes the cache unusable: no
    /// artifact is trusted without it.
    pub cache_key: Option<CacheKey>,
    /// Connectors whose OAuth endpoints the operator pinned (`[oauth.<id>] token_url`): their
    /// declared endpoints are not checked at load, since the host never uses them. Default:
    /// none.
    pub oauth_pinned: std::collections::BTreeSet<String>,
    /// Profiler guest code is announced to. Default: none.
    pub profiler: super::WasmProfiler,
    /// Limits of the `sql` capability. Default: [`SqlLimits::default`].
    pub sql: SqlLimits,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            limits: RuntimeLimits::default(),
            pooling: true,
            cache_dir: None,
            cache_key: None,
            oauth_pinned: std::collections::BTreeSet::new(),
            profiler: super::WasmProfiler::None,
            sql: SqlLimits::default(),
        }
    }
}

/// The plugin registry and call path. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) engine: Engine,
    pub(super) linker: Linker<CallState>,
    pub(super) cache: CompileCache,
    pub(super) limits: RuntimeLimits,
    pub(super) oauth_pinned: std::collections::BTreeSet<String>,
    pub(super) admission: Admission,
    pub(super) egress: EgressClient,
    pub(super) sql: SqlPools,
    pub(super) plugins: ArcSwap<BTreeMap<String, PluginSlot>>,
    _ticker: EpochTicker,
}

/// One plugin id in the registry: the version serving calls, and the one it replaced (kept
/// for rollback). An unloaded plugin has no current version but keeps its last one as previous.
#[derive(Clone, Default)]
pub struct PluginSlot {
    /// The version serving calls.
    pub current: Option<Arc<Plugin>>,
    /// The version it replaced, kept for rollback.
    pub previous: Option<Arc<Plugin>>,
}

/// Why a registry change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No plugin with this id is loaded.
    #[error("no plugin `{0}` is loaded")]
    NotLoaded(String),
    /// The plugin has no previous version.
    #[error("plugin `{0}` has no previous version to roll back to")]
    NoPrevious(String),
}

impl Runtime {
    /// Creates the engine, the linker (WASI with nothing granted, plus the connector imports)
    /// and the epoch ticker.
    pub fn new(options: RuntimeOptions, egress: EgressClient) -> anyhow::Result<Self> {
        let engine = build_engine(&options.limits, options.pooling, options.profiler)?;
        let mut linker = Linker::<CallState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
        // Every contract version the host serves, side by side: their interface names differ
        // by version, so a plugin links against exactly the one it was built for.
        wit::ConnectorPlugin::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)
            .map_err(anyhow::Error::from)?;
        wit_v0_2::ConnectorPlugin::add_to_linker::<CallState, HasSelf<CallState>>(
            &mut linker,
            |s| s,
        )
        .map_err(anyhow::Error::from)?;
        wit_v0_1::ConnectorPlugin::add_to_linker::<CallState, HasSelf<CallState>>(
            &mut linker,
            |s| s,
        )
        .map_err(anyhow::Error::from)?;
        wit_sql::sql::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)
            .map_err(anyhow::Error::from)?;
        wit_json::json::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)
            .map_err(anyhow::Error::from)?;
        wit_definition::definition::add_to_linker::<CallState, HasSelf<CallState>>(
            &mut linker,
            |s| s,
        )
        .map_err(anyhow::Error::from)?;
        let ticker = EpochTicker::start(&engine)?;
        let sql = SqlPools::new(options.sql, egress.policy().guard);
        let cache = CompileCache::new(&engine, options.cache_dir, options.cache_key);
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache,
                admission: Admission::new(&options.limits),
                oauth_pinned: options.oauth_pinned,
                limits: options.limits,
                egress,
                sql,
                plugins: ArcSwap::from_pointee(BTreeMap::new()),
                _ticker: ticker,
            }),
        })
    }

    /// This host's view of the cluster the caps (and the host's rate limits) are shared by.
    pub fn cluster_view(&self) -> &std::sync::Arc<crate::cluster_view::ClusterView> {
        self.inner.admission.cluster()
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &RuntimeLimits {
        &self.inner.limits
    }

    /// Every database connection's pool (the `sql` capability).
    pub fn sql_pools(&self) -> &SqlPools {
        &self.inner.sql
    }

    /// The operator's egress policy every call runs under.
    pub fn egress_policy(&self) -> &crate::egress::EgressPolicy {
        self.inner.egress.policy()
    }

    /// Loads one component file and installs it.
    pub async fn load_file(&self, path: &Path) -> anyhow::Result<Arc<Plugin>> {
        let wasm = tokio::fs::read(path)
            .await
            .with_context(|| format!("reading {}", path.display()))?;
        let origin = PluginOrigin {
            source: "directory".into(),
            path: Some(path.display().to_string()),
            signed_by: None,
        };
        let plugin = self
            .prepare(wasm, origin)
            .await
            .with_context(|| format!("loading {}", path.display()))?;
        self.install(plugin.clone());
        Ok(plugin)
    }

    /// Prepares `wasm` and installs it under its id, replacing any previous version.
    pub async fn load_bytes(&self, wasm: Vec<u8>) -> Result<Arc<Plugin>, LoadError> {
        let origin = PluginOrigin {
            source: "test".into(),
            ..PluginOrigin::default()
        };
        let plugin = self.prepare(wasm, origin).await?;
        self.install(plugin.clone());
        Ok(plugin)
    }

    /// Makes `plugin` the version new calls get, atomically; the version it replaces is kept as
    /// previous and returned. Calls already running keep the version they started with.
    pub fn install(&self, plugin: Arc<Plugin>) -> Option<Arc<Plugin>> {
        let id = plugin.id().to_owned();
        let mut replaced = None;
        self.inner.plugins.rcu(|current| {
            let mut next = BTreeMap::clone(current);
            let slot = next.entry(id.clone()).or_default();
            replaced = slot.current.clone();
            if let Some(old) = slot.current.replace(plugin.clone()) {
                slot.previous = Some(old);
            }
            next
        });
        tracing::info!(
            plugin = %plugin.id(),
            version = %plugin.manifest.version,
            sha256 = %plugin.sha256,
            wit = %plugin.wit_version,
            compiled = ?plugin.compiled,
            "plugin installed"
        );
        replaced
    }

    /// Swaps the current and previous versions of `id` (a second rollback undoes the first);
    /// for an unloaded plugin, loads its last version again. Returns the version now serving.
    pub fn rollback(&self, id: &str) -> Result<Arc<Plugin>, RegistryError> {
        let mut outcome = Err(RegistryError::NotLoaded(id.to_owned()));
        self.inner.plugins.rcu(|current| {
            let mut next = BTreeMap::clone(current);
            outcome = match next.get_mut(id) {
                None => Err(RegistryError::NotLoaded(id.to_owned())),
                Some(slot) => match slot.previous.take() {
                    None => Err(RegistryError::NoPrevious(id.to_owned())),
                    Some(previous) => {
                        slot.previous = slot.current.replace(previous.clone());
                        Ok(previous)
                    }
                },
            };
            next
        });
        outcome
    }

    /// Stops serving `id`: new calls answer [`CallError::NotLoaded`]; the version is kept as
    /// previous, so a rollback brings it back. Returns the unloaded version.
    pub fn unload(&self, id: &str) -> Result<Arc<Plugin>, RegistryError> {
        let mut outcome = Err(RegistryError::NotLoaded(id.to_owned()));
        self.inner.plugins.rcu(|current| {
            let mut next = BTreeMap::clone(current);
            outcome = match next.get_mut(id) {
                Some(slot) => match slot.current.take() {
                    Some(unloaded) => {
                        slot.previous = Some(unloaded.clone());
                        Ok(unloaded)
                    }
                    None => Err(RegistryError::NotLoaded(id.to_owned())),
                },
                None => Err(RegistryError::NotLoaded(id.to_owned())),
            };
            next
        });
        outcome
    }

    /// Makes `slot` the registry entry of `id` (a change another host made): calls already
    /// running keep the version they started with.
    pub fn set_slot(&self, id: &str, slot: PluginSlot) {
        self.inner.plugins.rcu(|current| {
            let mut next = BTreeMap::clone(current);
            next.insert(id.to_owned(), slot.clone());
            next
        });
    }

    /// Every plugin id the registry knows, loaded or not, with its current and previous versions.
    pub fn slots(&self) -> Vec<(String, PluginSlot)> {
        self.inner
            .plugins
            .load()
            .iter()
            .map(|(id, slot)| (id.clone(), slot.clone()))
            .collect()
    }

    /// The registry entry of `id`, loaded or not.
    pub fn slot(&self, id: &str) -> Option<PluginSlot> {
        self.inner.plugins.load().get(id).cloned()
    }

    /// Every loaded connector `tenant` may connect to (current versions), by id: the
    /// operator's plugins but the declarative interpreter, and the tenant's own.
    pub fn connectors_for(&self, tenant: &str) -> Vec<Arc<Plugin>> {
        let mut plugins = self.plugins();
        plugins.retain(|plugin| plugin.offered_to(tenant));
        plugins
    }

    /// The connector `id` as `tenant` may use it: [`Runtime::plugin`], but never the
    /// declarative interpreter or another tenant's own connector.
    pub fn connector_for(&self, tenant: &str, id: &str) -> Option<Arc<Plugin>> {
        self.plugin(id).filter(|plugin| plugin.offered_to(tenant))
    }

    /// Every loaded plugin (current versions), by id.
    pub fn plugins(&self) -> Vec<Arc<Plugin>> {
        self.inner
            .plugins
            .load()
            .values()
            .filter_map(|slot| slot.current.clone())
            .collect()
    }

    /// The version of plugin `id` that new calls get.
    pub fn plugin(&self, id: &str) -> Option<Arc<Plugin>> {
        self.inner
            .plugins
            .load()
            .get(id)
            .and_then(|slot| slot.current.clone())
    }
}

/// The plugin files of `dir`: the `*.wasm` components, sorted, then the declarative
/// manifests (`*.yaml`, `*.yml`, `*.json`), sorted, so the interpreter is loaded before the
/// manifests it runs.
pub(crate) fn wasm_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading plugins dir {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| is_plugin_file(path))
        .collect();
    paths.sort_by_key(|path| (is_manifest_file(path), path.clone()));
    Ok(paths)
}

/// Whether the plugins directory treats `path` as a plugin: a component or a manifest.
pub(crate) fn is_plugin_file(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "wasm") || is_manifest_file(path)
}

/// Whether `path` names a declarative manifest.
pub(crate) fn is_manifest_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext == "yaml" || ext == "yml" || ext == "json")
}
