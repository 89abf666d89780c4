use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::Context as _;
use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};

use super::bindings::wit::{ConnectorPlugin, ConnectorPluginPre};
use super::call_state::{CallBudget, CallLabels, CallState};
use super::compile_cache::CompileCache;
use super::engine::{EpochTicker, build_engine};
use super::fault::{from_connector_error, from_trap};
use super::manifest::{AuthMethodManifest, ConnectorManifest, CredentialKindManifest};
use super::{
    CallContext, CallError, FaultCause, Operation, OperationOutput, Plugin, RuntimeLimits,
};
use crate::egress::{ConnectionScope, Credential, EgressClient};

/// WIT package version this host implements.
pub const WIT_VERSION: &str = "0.1.0";

/// How to build a [`Runtime`].
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    pub limits: RuntimeLimits,
    /// Use the pooling instance allocator (pre-reserved slots, fastest instantiation).
    /// Default: true.
    pub pooling: bool,
    /// Directory for precompiled components; `None` compiles on every load. Default: none
    /// (the server sets `DATA_DIR/compile-cache`).
    pub cache_dir: Option<PathBuf>,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            limits: RuntimeLimits::default(),
            pooling: true,
            cache_dir: None,
        }
    }
}

/// The plugin registry and call path. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<CallState>,
    cache: CompileCache,
    limits: RuntimeLimits,
    egress: EgressClient,
    plugins: ArcSwap<BTreeMap<String, Arc<Plugin>>>,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Creates the engine, the linker (WASI with nothing granted, plus the connector imports)
    /// and the epoch ticker.
    pub fn new(options: RuntimeOptions, egress: EgressClient) -> anyhow::Result<Self> {
        let engine = build_engine(&options.limits, options.pooling)?;
        let mut linker = Linker::<CallState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
        ConnectorPlugin::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |state| state)
            .map_err(anyhow::Error::from)?;
        let ticker = EpochTicker::start(&engine)?;
        let cache = CompileCache::new(&engine, options.cache_dir);
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache,
                limits: options.limits,
                egress,
                plugins: ArcSwap::from_pointee(BTreeMap::new()),
                _ticker: ticker,
            }),
        })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &RuntimeLimits {
        &self.inner.limits
    }

    /// Loads every `*.wasm` in `dir`. A plugin that fails to load is logged and skipped, so one
    /// broken file does not keep the others out.
    pub async fn load_dir(&self, dir: &Path) -> anyhow::Result<Vec<Arc<Plugin>>> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading plugins dir {}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
            .collect();
        paths.sort();
        let mut loaded = Vec::new();
        for path in paths {
            match self.load_file(&path).await {
                Ok(plugin) => loaded.push(plugin),
                Err(error) => {
                    tracing::error!(path = %path.display(), error = %format!("{error:#}"), "plugin not loaded")
                }
            }
        }
        Ok(loaded)
    }

    /// Loads one component file.
    pub async fn load_file(&self, path: &Path) -> anyhow::Result<Arc<Plugin>> {
        let wasm = tokio::fs::read(path)
            .await
            .with_context(|| format!("reading {}", path.display()))?;
        self.load_bytes(wasm)
            .await
            .with_context(|| format!("loading {}", path.display()))
    }

    /// Compiles (or reads from the cache), links, asks `info()`, checks the manifest, and
    /// installs the plugin under its id, replacing any previous version.
    pub async fn load_bytes(&self, wasm: Vec<u8>) -> anyhow::Result<Arc<Plugin>> {
        let started = Instant::now();
        let sha256 = hex::encode(Sha256::digest(&wasm));
        let size = wasm.len();
        let inner = self.inner.clone();
        let digest = sha256.clone();
        // Compilation is CPU-bound for hundreds of milliseconds: keep it off the async workers.
        let (component, compiled) =
            tokio::task::spawn_blocking(move || inner.cache.load(&inner.engine, &wasm, &digest))
                .await
                .context("compile task failed")??;
        let instance_pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context("the component imports something this host does not provide")?;
        let pre = ConnectorPluginPre::new(instance_pre)
            .map_err(anyhow::Error::from)
            .context("the component does not export connector:plugin/connector@0.1.0")?;

        let info = match self
            .run(
                &pre,
                "(loading)",
                CallContext::default(),
                Operation::Info,
                &ConnectionScope::default(),
            )
            .await
        {
            Ok(OperationOutput::Info(info)) => info,
            Ok(_) => anyhow::bail!("info() returned something else"),
            Err(error) => anyhow::bail!("info() failed: {error}"),
        };
        let manifest = ConnectorManifest::from_wit(info)?;
        let plugin = Arc::new(Plugin {
            host_patterns: manifest.host_patterns(),
            manifest,
            sha256,
            size,
            compiled,
            loaded_at: SystemTime::now(),
            wit_version: WIT_VERSION,
            pre,
        });
        tracing::info!(
            plugin = %plugin.id(),
            version = %plugin.manifest.version,
            sha256 = %plugin.sha256,
            compiled = ?plugin.compiled,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "plugin loaded"
        );
        self.inner.plugins.rcu(|current| {
            let mut next = BTreeMap::clone(current);
            next.insert(plugin.id().to_owned(), plugin.clone());
            next
        });
        Ok(plugin)
    }

    /// Every loaded plugin, by id.
    pub fn plugins(&self) -> Vec<Arc<Plugin>> {
        self.inner.plugins.load().values().cloned().collect()
    }

    /// The plugin with this id.
    pub fn plugin(&self, id: &str) -> Option<Arc<Plugin>> {
        self.inner.plugins.load().get(id).cloned()
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
        let (scope, auth_method) = connection_scope(&plugin, &context)?;
        let context = CallContext {
            auth_method,
            ..context
        };
        self.run(&plugin.pre, plugin.id(), context, operation, &scope)
            .await
    }

    async fn run(
        &self,
        pre: &ConnectorPluginPre<CallState>,
        plugin_id: &str,
        context: CallContext,
        operation: Operation,
        scope: &ConnectionScope,
    ) -> Result<OperationOutput, CallError> {
        let limits = &self.inner.limits;
        let timeout = limits.call_timeout;
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
            max_log_lines: limits.max_log_lines_per_call,
            max_stderr_bytes: limits.max_stderr_bytes,
        };
        let state = CallState::new(
            labels,
            context.config,
            scope.clone(),
            self.inner.egress.clone(),
            budget,
        );
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|state| &mut state.limiter);
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
                .instantiate_async(&mut store)
                .await
                .map_err(CallPhase::Instantiate)?;
            operation
                .invoke(&instance, &mut store)
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
    let stderr = state.stderr_text();
    if !stderr.trim().is_empty() {
        tracing::warn!(
            target: "plugin",
            tenant = %labels.tenant,
            connection = %labels.connection,
            plugin = %labels.plugin,
            operation,
            stderr = %stderr.trim(),
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

/// What the call may reach: the plugin's hosts, the connection's origin from its config, and
/// where its credential may go; with the id of the auth method in force.
fn connection_scope(
    plugin: &Plugin,
    context: &CallContext,
) -> Result<(ConnectionScope, Option<String>), CallError> {
    let manifest = &plugin.manifest;
    let origin = manifest
        .origin_config_key
        .as_ref()
        .and_then(|key| context.config.iter().find(|(k, _)| k == key))
        .and_then(|(_, value)| url::Url::parse(value).ok())
        .map(|url| url.origin())
        .filter(|origin| origin.is_tuple());
    let mut scope = ConnectionScope {
        plugin_hosts: plugin.host_patterns.clone(),
        origin,
        credential: None,
        credential_hosts: Vec::new(),
    };
    let mut auth_method = None;
    if let Some(credential) = &context.credential {
        let method = pick_auth_method(manifest, context.auth_method.as_deref(), credential)?;
        auth_method = Some(method.id.clone());
        scope.credential_hosts = method.credential_patterns.clone();
        scope.credential = Some(Arc::new((
            credential.clone(),
            method.placement_rule.clone(),
        )));
    }
    Ok((scope, auth_method))
}

fn pick_auth_method<'a>(
    manifest: &'a ConnectorManifest,
    wanted: Option<&str>,
    credential: &Credential,
) -> Result<&'a AuthMethodManifest, CallError> {
    if let Some(id) = wanted {
        return manifest.auth_method(id).ok_or_else(|| {
            CallError::Internal(format!(
                "connector `{}` has no auth method `{id}`",
                manifest.id
            ))
        });
    }
    manifest
        .auth_methods
        .iter()
        .find(|method| {
            matches!(
                (&method.kind, credential),
                (CredentialKindManifest::Basic, Credential::Basic { .. })
                    | (
                        CredentialKindManifest::Bearer | CredentialKindManifest::Oauth2 { .. },
                        Credential::Bearer { .. }
                    )
                    | (CredentialKindManifest::ApiKey, Credential::ApiKey { .. })
            )
        })
        .ok_or_else(|| {
            CallError::Internal(format!(
                "connector `{}` has no auth method for this kind of credential",
                manifest.id
            ))
        })
}
