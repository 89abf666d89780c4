//! One call in a fresh sandbox: admitted under the caps, a new `Store` bound to one tenant's
//! connection with its own deadline, memory cap and outbound budgets, the plugin instantiated
//! against the version it was built for, one export called, and whatever happened turned into
//! a [`CallError`] or an output.

use std::time::Instant;

use wasmtime::{Store, UpdateDeadline};

use super::admission::Refusal;
use super::call_state::{CallBudget, CallLabels, CallState, CallUsage};
use super::contract::{PluginPre, wit};
use super::fault::{from_connector_error, from_trap};
use super::grant::connection_scope;
use super::{CallContext, CallError, FaultCause, Operation, OperationOutput, Plugin, Runtime};
use crate::egress::{ConnectionScope, Credential};
use crate::sql::{SessionGrant, SqlError, SqlSession, SqlTarget};

impl Runtime {
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
        self.call_on_metered(plugin, context, operation).await.0
    }

    /// [`Runtime::call_on`], answering also what the call spent (nothing when it was refused
    /// before a sandbox was made).
    pub async fn call_on_metered(
        &self,
        plugin: &Plugin,
        context: CallContext,
        operation: Operation,
    ) -> (Result<OperationOutput, CallError>, CallUsage) {
        match self.call_on_sandbox(plugin, context, operation).await {
            Ok((result, usage)) => (result, usage),
            Err(refused) => (Err(refused), CallUsage::default()),
        }
    }

    async fn call_on_sandbox(
        &self,
        plugin: &Plugin,
        context: CallContext,
        operation: Operation,
    ) -> Result<(Result<OperationOutput, CallError>, CallUsage), CallError> {
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
        let (result, usage) =
            Box::pin(self.run(RunTarget::of(plugin), context, operation, &scope, sql)).await;
        plugin
            .stats
            .record(matches!(result, Err(CallError::Fault { .. })));
        Ok((result, usage))
    }

    pub(super) async fn run(
        &self,
        target: RunTarget<'_>,
        context: CallContext,
        operation: Operation,
        scope: &ConnectionScope,
        sql: Option<SqlSession>,
    ) -> (Result<OperationOutput, CallError>, CallUsage) {
        let RunTarget {
            pre,
            id: plugin_id,
            definition,
        } = target;
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
        state.definition = definition.cloned();
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
        let usage = CallUsage {
            egress_requests: state.network.requests_taken(),
            egress_bytes: state.network.bytes_taken(),
            memory_bytes: state.limiter.used_bytes() as u64,
        };
        let result = match outcome {
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
        };
        (result, usage)
    }
}

/// What a call instantiates: a plugin's pre-linked component, the id its log lines and faults
/// name, and, for a declarative connector, the manifest its interpreter runs.
#[derive(Clone, Copy)]
pub(super) struct RunTarget<'a> {
    pub(super) pre: &'a PluginPre,
    pub(super) id: &'a str,
    pub(super) definition: Option<&'a std::sync::Arc<str>>,
}

impl<'a> RunTarget<'a> {
    pub(super) fn of(plugin: &'a Plugin) -> Self {
        Self {
            pre: &plugin.pre,
            id: plugin.id(),
            definition: plugin.definition.as_ref(),
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
