use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::CallLimiter;
use crate::egress::{ConnectionScope, Credential, EgressBudget, EgressClient};

/// Who a call runs for: one tenant's connection, its config and its credential.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// The tenant the call runs for.
    pub tenant: String,
    /// The connection.
    pub connection: String,
    /// The connection's non-secret config, as the client set it.
    pub config: Vec<(String, String)>,
    /// Values the host learned for the connection (discovered at connect, kept from the token
    /// response). Default: none.
    pub values: Vec<(String, String)>,
    /// The credential the host attaches to `auth::connection` requests; never shown to the guest.
    pub credential: Option<Credential>,
    /// Id of the auth method the credential is for. Default: the connector's first method whose
    /// kind fits the credential.
    pub auth_method: Option<String>,
    /// The credential is a token of the host's own OAuth grant, so it may serve an OAuth 2.0
    /// auth method. Default: false.
    pub credential_from_grant: bool,
    /// The origin the credential was validated against when it was stored (for example
    /// `https://acme.atlassian.net`): the credential goes there and to the auth method's
    /// credential hosts, never to an origin read from the live config. Default: none.
    pub bound_origin: Option<String>,
    /// A deadline shorter than the runtime's `call_timeout` for this call (for example
    /// `connect()` while a client waits on create). Default: none.
    pub timeout: Option<std::time::Duration>,
    /// Run on the background slots (syncs): outside the per-tenant, per-connection and API
    /// caps, within `background_calls`. Default: false.
    pub background: bool,
    /// A secret the host writes into the plugin's requests in place of its placeholder
    /// (registering a vendor webhook). Default: none.
    pub secret_substitution: Option<crate::egress::SecretSubstitution>,
}

/// What one call spent, read from its sandbox when it ends: for usage metering and spans.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallUsage {
    /// Requests the guest sent (or tried to send), redirect hops included.
    pub egress_requests: u32,
    /// Bytes of response bodies it read.
    pub egress_bytes: u64,
    /// Bytes of linear memory it grew to.
    pub memory_bytes: u64,
}

/// A limit or policy the guest ran into. The host records it itself rather than trusting the
/// guest to report it, so a guest that swallows the error still fails with the right cause.
#[derive(Debug, Clone)]
pub(crate) enum Violation {
    EgressDenied(String),
    RequestBudget(u32),
    ResponseTooLarge(u64),
    /// A database statement ran past the statement timeout (milliseconds).
    StatementTimeout(u64),
    /// More database statements than one call may run.
    StatementBudget(u32),
}

/// Labels every log line of the call carries.
#[derive(Debug, Clone)]
pub(crate) struct CallLabels {
    pub(crate) tenant: String,
    pub(crate) connection: String,
    pub(crate) plugin: String,
}

/// The data of one call's `Store`: nothing in it outlives the call.
pub(crate) struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: CallLimiter,
    pub(crate) stderr: MemoryOutputPipe,
    pub(crate) egress: EgressClient,
    pub(crate) scope: ConnectionScope,
    /// What a pre-0.3.0 plugin's `config` import answers: config and values together.
    pub(crate) config: Vec<(String, String)>,
    pub(crate) auth_method: Option<String>,
    pub(crate) deadline: Instant,
    pub(crate) max_requests: u32,
    /// Requests (redirect hops included) and response bytes the call may still spend.
    pub(crate) network: std::sync::Arc<EgressBudget>,
    pub(crate) max_response_bytes: u64,
    pub(crate) log_lines_left: u32,
    pub(crate) log_lines_dropped: u32,
    pub(crate) violation: Option<Violation>,
    pub(crate) labels: CallLabels,
    /// The `sql` import's session, for database connectors; `None` for the rest.
    pub(crate) sql: Option<crate::sql::SqlSession>,
    /// The `definition` import's answer: the manifest a declarative connector's call runs.
    pub(crate) definition: Option<std::sync::Arc<str>>,
}

/// What [`CallState::new`] needs besides the context.
pub(crate) struct CallBudget {
    /// The auth method the call's credential is for, as the guest's `config.auth-method` shows.
    pub(crate) auth_method: Option<String>,
    pub(crate) deadline: Instant,
    pub(crate) memory_bytes: usize,
    pub(crate) max_requests: u32,
    pub(crate) max_response_bytes: u64,
    /// All responses of the call together.
    pub(crate) max_call_response_bytes: u64,
    pub(crate) max_log_lines: u32,
    pub(crate) max_stderr_bytes: usize,
}

impl CallState {
    pub(crate) fn new(
        labels: CallLabels,
        config: Vec<(String, String)>,
        scope: ConnectionScope,
        egress: EgressClient,
        budget: CallBudget,
    ) -> Self {
        let stderr = MemoryOutputPipe::new(budget.max_stderr_bytes);
        // No preopens, no environment, no arguments, no sockets, no stdin or stdout: the guest's
        // only ways out are the connector imports. Stderr is captured for the log and faults.
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limiter: CallLimiter::new(budget.memory_bytes),
            stderr,
            egress,
            scope,
            config,
            auth_method: budget.auth_method,
            deadline: budget.deadline,
            max_requests: budget.max_requests,
            network: std::sync::Arc::new(EgressBudget::new(
                budget.max_requests,
                budget.max_call_response_bytes,
            )),
            max_response_bytes: budget.max_response_bytes,
            log_lines_left: budget.max_log_lines,
            log_lines_dropped: 0,
            violation: None,
            labels,
            sql: None,
            definition: None,
        }
    }

    /// Remembers the first violation only: later ones are usually consequences of it.
    pub(crate) fn record(&mut self, violation: Violation) {
        self.violation.get_or_insert(violation);
    }

    /// What the guest wrote to stderr, as text.
    pub(crate) fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents()).into_owned()
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
