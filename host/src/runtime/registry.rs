use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use arc_swap::ArcSwap;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};

use super::admission::{Admission, Refusal};
use super::bindings::{PluginPre, wit, wit_sql, wit_v0_1, wit_v0_2};
use super::call_state::{CallBudget, CallLabels, CallState};
use super::compile_cache::{CacheKey, CompileCache};
use super::engine::{EpochTicker, build_engine};
use super::fault::{from_connector_error, from_trap};
use super::plugin::PluginOrigin;
use super::{
    CallContext, CallError, FaultCause, LoadError, Operation, OperationOutput, Plugin,
    RuntimeLimits,
};
use crate::egress::{ConnectionScope, Credential, EgressClient};
use crate::sql::{SessionGrant, SqlError, SqlLimits, SqlPools, SqlSession, SqlTarget};

/// How to build a [`Runtime`].
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
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
    limits: RuntimeLimits,
    pub(super) oauth_pinned: std::collections::BTreeSet<String>,
    admission: Admission,
    egress: EgressClient,
    sql: SqlPools,
    pub(super) plugins: ArcSwap<BTreeMap<String, PluginSlot>>,
    _ticker: EpochTicker,
}

/// One plugin id in the registry: the version serving calls, and the one it replaced (kept
/// for rollback). An unloaded plugin has no current version but keeps its last one as previous.
#[derive(Clone, Default)]
pub struct PluginSlot {
    pub current: Option<Arc<Plugin>>,
    pub previous: Option<Arc<Plugin>>,
}

/// Why a registry change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("no plugin `{0}` is loaded")]
    NotLoaded(String),
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

    /// Runs `operation` of plugin `plugin_id` for the connection in `context`, in a fresh
    /// sandbox.
    pub async fn call(
        &self,
        plugin_id: &str,
        context: CallContext,
        operation: Operation,
    ) -> Result<OperationOutput, CallError> {
        let plugin = self
            .plugin(plugin_id)
            .ok_or_else(|| CallError::NotLoaded(plugin_id.to_owned()))?;
        self.call_on(&plugin, context, operation).await
    }

    /// Runs `operation` on this exact plugin version (a snapshot the caller took), so the
    /// caller knows which version answered even if another is installed meanwhile.
    pub async fn call_on(
        &self,
        plugin: &Plugin,
        context: CallContext,
        operation: Operation,
    ) -> Result<OperationOutput, CallError> {
        // An operation the connector does not offer is answered here, before a slot is taken
        // or a sandbox made.
        if let Some(refusal) = plugin.manifest.refuses(&operation) {
            return Err(CallError::Connector(refusal));
        }
        // Held until the call ends. The loader's checks call `run` directly, outside these caps,
        // so a busy host can still load a fix.
        let _permit = self
            .inner
            .admission
            .admit_as(&context.tenant, &context.connection, context.background)
            .map_err(|refusal| match refusal {
                Refusal::Full => CallError::Busy,
                Refusal::OverCap { scope, limit } => CallError::OverCap { scope, limit },
            })?;
        let (scope, auth_method) = connection_scope(plugin, &context, &self.inner.egress)?;
        // Like outbound requests, statements are for the operations that may use the network
        // (`validate` and `info` may not).
        let sql = (plugin.imports_sql && operation.uses_network())
            .then(|| self.sql_session(plugin, &context, &scope));
        let context = CallContext {
            auth_method,
            ..context
        };
        // Boxed: the call's future holds the whole sandbox (store, instance, fiber state) and
        // is several KB; inline, every async layer above it (handler, middleware, axum's own
        // boxing) would memcpy it on each move (~4% of a small request's CPU in perf).
        let result =
            Box::pin(self.run(&plugin.pre, plugin.id(), context, operation, &scope, sql)).await;
        plugin
            .stats
            .record(matches!(result, Err(CallError::Fault { .. })));
        result
    }

    pub(super) async fn run(
        &self,
        pre: &PluginPre,
        plugin_id: &str,
        context: CallContext,
        operation: Operation,
        scope: &ConnectionScope,
        sql: Option<SqlSession>,
    ) -> Result<OperationOutput, CallError> {
        let limits = &self.inner.limits;
        let timeout = self.call_timeout(&context);
        let timeout_ms = timeout.as_millis() as u64;
        let labels = CallLabels {
            tenant: context.tenant,
            connection: context.connection,
            plugin: plugin_id.to_owned(),
        };
        let budget_deadline = Instant::now() + timeout;
        let budget = CallBudget {
            auth_method: context.auth_method,
            deadline: budget_deadline,
            memory_bytes: limits.memory_bytes,
            max_requests: if operation.uses_network() {
                limits.max_requests_per_call
            } else {
                0
            },
            max_response_bytes: limits.max_response_bytes,
            max_call_response_bytes: limits.max_call_response_bytes,
            max_log_lines: limits.max_log_lines_per_call,
            max_stderr_bytes: limits.max_stderr_bytes,
        };
        let connection = wit::ConnectionContext {
            config: context.config,
            auth_method: budget.auth_method.clone(),
            origin: context.bound_origin,
            values: context.values,
        };
        // Plugins built before 0.3.0 read config and values through one `config` import.
        let config_import = if pre.reads_config_import() {
            let mut pairs = connection.config.clone();
            for (key, value) in &connection.values {
                if !pairs.iter().any(|(k, _)| k == key) {
                    pairs.push((key.clone(), value.clone()));
                }
            }
            pairs
        } else {
            Vec::new()
        };
        let mut state = CallState::new(
            labels,
            config_import,
            scope.clone(),
            self.inner.egress.clone(),
            budget,
        );
        state.sql = sql;
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_hostcall_fuel(limits.max_hostcall_bytes);
        // Every epoch tick the guest yields to the executor, so a guest that never calls out
        // cannot hold a worker thread; past its deadline it is interrupted.
        let deadline = budget_deadline;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::YieldCustom(
                    1,
                    Box::pin(tokio::task::yield_now()),
                ))
            }
        });

        let operation_name = operation.name();
        let outcome = tokio::time::timeout(timeout, async {
            let instance = pre
                .instantiate(&mut store)
                .await
                .map_err(CallPhase::Instantiate)?;
            operation
                .invoke(&instance, &mut store, &connection)
                .await
                .map_err(CallPhase::Invoke)
        })
        .await;

        let state = store.data();
        report_guest_output(state, operation_name);
        match outcome {
            Err(_elapsed) => Err(CallError::Fault {
                plugin: plugin_id.to_owned(),
                cause: FaultCause::Deadline { timeout_ms },
            }),
            Ok(Err(CallPhase::Instantiate(error))) => {
                Err(instantiation_error(&error, state, timeout_ms))
            }
            Ok(Err(CallPhase::Invoke(error))) => Err(from_trap(&error, state, timeout_ms)),
            Ok(Ok(Err(connector_error))) => Err(from_connector_error(connector_error, state)),
            Ok(Ok(Ok(output))) => Ok(output),
        }
    }
}

impl Runtime {
    /// The call's deadline: the runtime's `call_timeout`, or the context's shorter one.
    fn call_timeout(&self, context: &CallContext) -> std::time::Duration {
        let limit = self.inner.limits.call_timeout;
        context.timeout.map_or(limit, |t| t.min(limit))
    }

    /// What a database connector's call may reach through `sql`: the target bound to its
    /// credential (never one read from the live config), if the egress policy allows its host.
    fn sql_session(
        &self,
        plugin: &Plugin,
        context: &CallContext,
        scope: &ConnectionScope,
    ) -> SqlSession {
        let timeout = self.call_timeout(context);
        let access = (|| {
            let Some(Credential::Basic { username, password }) = &context.credential else {
                return Err(SqlError::Denied(
                    "the connection has no user name and password for the database".into(),
                ));
            };
            let target = context
                .bound_origin
                .as_deref()
                .and_then(SqlTarget::from_origin)
                .ok_or_else(|| {
                    SqlError::Denied("no database is bound to the connection's credential".into())
                })?;
            self.inner
                .egress
                .policy()
                .check_database_host(&plugin.manifest.id, &scope.plugin_hosts, &target.host)
                .map_err(SqlError::EgressDenied)?;
            Ok((target, username.clone(), password.clone()))
        })();
        let writes = context
            .config
            .iter()
            .any(|(key, value)| key == crate::sql::ALLOW_WRITES_KEY && value == "true");
        SqlSession::new(
            self.inner.sql.clone(),
            SessionGrant {
                tenant: context.tenant.clone(),
                connection: context.connection.clone(),
                access,
                writes,
                deadline: Instant::now() + timeout,
            },
        )
    }

    /// A store for the loader's checks: no network, no credential, the call limits.
    pub(super) fn load_store(&self) -> Store<CallState> {
        let limits = &self.inner.limits;
        let labels = CallLabels {
            tenant: String::new(),
            connection: "(loading)".into(),
            plugin: "(loading)".into(),
        };
        let budget = CallBudget {
            auth_method: None,
            deadline: Instant::now() + limits.call_timeout,
            memory_bytes: limits.memory_bytes,
            max_requests: 0,
            max_response_bytes: 0,
            max_call_response_bytes: 0,
            max_log_lines: 0,
            max_stderr_bytes: limits.max_stderr_bytes,
        };
        let state = CallState::new(
            labels,
            Vec::new(),
            ConnectionScope::default(),
            self.inner.egress.clone(),
            budget,
        );
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_hostcall_fuel(limits.max_hostcall_bytes);
        // No guest code runs during instantiation of a connector, but a hostile start function
        // could: it is interrupted after about a second (100 epoch ticks).
        store.set_epoch_deadline(100);
        store.epoch_deadline_trap();
        store
    }
}

/// The `*.wasm` files of `dir`, sorted.
pub(crate) fn wasm_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading plugins dir {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Which phase of a call failed.
enum CallPhase {
    Instantiate(wasmtime::Error),
    Invoke(wasmtime::Error),
}

fn instantiation_error(error: &wasmtime::Error, state: &CallState, timeout_ms: u64) -> CallError {
    if error
        .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return CallError::Busy;
    }
    from_trap(error, state, timeout_ms)
}

/// Sends what the guest wrote to stderr, and how many log lines were dropped, to the host log.
fn report_guest_output(state: &CallState, operation: &str) {
    let labels = &state.labels;
    // Escaped like log() text: stderr is plugin-controlled too.
    let stderr = super::log_text::escaped(state.stderr_text().trim(), 16 << 10);
    if !stderr.is_empty() {
        tracing::warn!(
            target: "plugin",
            tenant = %labels.tenant,
            connection = %labels.connection,
            plugin = %labels.plugin,
            operation,
            stderr = %stderr,
            "plugin wrote to stderr"
        );
    }
    if state.log_lines_dropped > 0 {
        tracing::warn!(
            target: "plugin",
            plugin = %labels.plugin,
            operation,
            dropped = state.log_lines_dropped,
            "plugin log lines dropped over the per-call limit"
        );
    }
}

/// What the call may reach: the plugin's hosts (with the operator's additions for this
/// connector), and where its credential may go: the origin bound to it when it was stored and
/// the auth method's credential hosts. The live config never widens either.
fn connection_scope(
    plugin: &Plugin,
    context: &CallContext,
    egress: &EgressClient,
) -> Result<(ConnectionScope, Option<String>), CallError> {
    let manifest = &plugin.manifest;
    let origin = context
        .bound_origin
        .as_deref()
        .and_then(|value| url::Url::parse(value).ok())
        .map(|url| url.origin())
        .filter(|origin| origin.is_tuple());
    let mut scope = ConnectionScope {
        plugin_hosts: plugin.host_patterns.clone(),
        operator_extra_hosts: egress.policy().extra_hosts(&manifest.id),
        origin,
        credential: None,
        credential_hosts: Vec::new(),
        substitution: context.secret_substitution.clone().map(Arc::new),
    };
    let mut auth_method = None;
    if let Some(credential) = &context.credential {
        let method = manifest
            .auth_method_for(
                context.auth_method.as_deref(),
                credential,
                context.credential_from_grant,
            )
            .map_err(|mismatch| CallError::Internal(mismatch.to_string()))?;
        auth_method = Some(method.id.clone());
        scope.credential_hosts = method.credential_patterns.clone();
        scope.credential = Some(Arc::new((
            credential.clone(),
            method.placement_rule.clone(),
        )));
    }
    Ok((scope, auth_method))
}
