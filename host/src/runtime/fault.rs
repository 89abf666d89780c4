use std::fmt;

use super::call_state::{CallState, Violation};
use super::contract::wit::ConnectorError;

/// Why a call did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin trapped, ran out of time or memory, or exhausted a budget. API code
    /// `PLUGIN_FAULT`.
    #[error("plugin `{plugin}` faulted: {cause}")]
    Fault {
        /// The plugin.
        plugin: String,
        /// What stopped it.
        cause: FaultCause,
    },
    /// The plugin asked for a destination the egress policy refuses. API code `EGRESS_DENIED`.
    #[error("egress denied: {0}")]
    EgressDenied(String),
    /// The connector reported a vendor-level error.
    #[error("{}", connector_error_message(.0))]
    Connector(ConnectorError),
    /// No plugin with this id is loaded.
    #[error(
        "connector `{0}` is not loaded on this host; its connections are kept and work again once an operator loads it"
    )]
    NotLoaded(String),
    /// Every sandbox slot is in use.
    #[error("the host is running as many plugin calls as it allows; try again shortly")]
    Busy,
    /// The tenant, or this connection, already runs as many calls as it may. API code
    /// `RATE_LIMITED`; other tenants are unaffected.
    #[error(
        "this {} already runs as many plugin calls at once as its limit of {limit} allows \
         (shared by the live hosts on a shared store); try again shortly",
        .scope.as_str()
    )]
    OverCap {
        /// Whether the tenant's or the connection's cap was reached.
        scope: super::admission::CapScope,
        /// How many calls it may run at once (cluster-wide on a shared store).
        limit: u32,
    },
    /// The host failed (not the plugin). API code `INTERNAL_ERROR`.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CallError {
    /// A short, bounded name of the failure (`fault.deadline`, `connector.not_found`, ...),
    /// for span attributes and metric labels: never a message, which may carry vendor text.
    pub fn kind(&self) -> String {
        match self {
            Self::Fault { cause, .. } => format!("fault.{}", cause.code()),
            Self::EgressDenied(_) => "egress_denied".into(),
            Self::Connector(error) => format!(
                "connector.{}",
                match error {
                    ConnectorError::InvalidConfig(_) => "invalid_config",
                    ConnectorError::Unauthorized(_) => "unauthorized",
                    ConnectorError::Forbidden(_) => "forbidden",
                    ConnectorError::NotFound(_) => "not_found",
                    ConnectorError::RateLimited(_) => "rate_limited",
                    ConnectorError::Unsupported(_) => "unsupported",
                    ConnectorError::Transient(_) => "transient",
                    ConnectorError::Permanent(_) => "permanent",
                }
            ),
            Self::NotLoaded(_) => "not_loaded".into(),
            Self::Busy => "busy".into(),
            Self::OverCap { .. } => "over_cap".into(),
            Self::Internal(_) => "internal".into(),
        }
    }
}

/// What stopped a faulted call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultCause {
    /// The call ran past its wall-clock deadline.
    Deadline {
        /// The deadline.
        timeout_ms: u64,
    },
    /// The guest tried to grow memory past the cap.
    MemoryLimit {
        /// The cap.
        bytes: usize,
    },
    /// The guest recursed past the wasm stack limit.
    StackOverflow,
    /// The guest panicked; the message comes from its stderr.
    Panic {
        /// The panic message.
        message: String,
    },
    /// Any other trap.
    Trap {
        /// What trapped.
        message: String,
    },
    /// The guest sent more requests than one call may.
    RequestBudget {
        /// The budget.
        max: u32,
    },
    /// A response was larger than the cap.
    ResponseTooLarge {
        /// The cap.
        max_bytes: u64,
    },
    /// A database statement ran past the statement timeout.
    StatementTimeout {
        /// The timeout.
        timeout_ms: u64,
    },
    /// The guest ran more database statements than one call may.
    StatementBudget {
        /// The budget.
        max: u32,
    },
}

impl FaultCause {
    /// Stable snake_case code for API `details.cause`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Deadline { .. } => "deadline",
            Self::MemoryLimit { .. } => "memory_limit",
            Self::StackOverflow => "stack_overflow",
            Self::Panic { .. } => "panic",
            Self::Trap { .. } => "trap",
            Self::RequestBudget { .. } => "request_budget",
            Self::ResponseTooLarge { .. } => "response_too_large",
            // A statement cut off by the host's timeout is the call's deadline too.
            Self::StatementTimeout { .. } => "deadline",
            Self::StatementBudget { .. } => "statement_budget",
        }
    }
}

impl fmt::Display for FaultCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Deadline { timeout_ms } => write!(f, "did not finish within {timeout_ms} ms"),
            Self::MemoryLimit { bytes } => {
                write!(f, "tried to use more than {bytes} bytes of memory")
            }
            Self::StackOverflow => f.write_str("overflowed its stack"),
            Self::Panic { message } => write!(f, "panicked: {message}"),
            Self::Trap { message } => write!(f, "trapped: {message}"),
            Self::RequestBudget { max } => write!(f, "sent more than {max} requests in one call"),
            Self::ResponseTooLarge { max_bytes } => {
                write!(f, "received a response over {max_bytes} bytes")
            }
            Self::StatementTimeout { timeout_ms } => {
                write!(
                    f,
                    "ran a database statement past the {timeout_ms} ms statement timeout"
                )
            }
            Self::StatementBudget { max } => {
                write!(f, "ran more than {max} database statements in one call")
            }
        }
    }
}

/// Message for a connector-reported error, as shown to API clients.
pub fn connector_error_message(error: &ConnectorError) -> String {
    match error {
        ConnectorError::InvalidConfig(m)
        | ConnectorError::Unauthorized(m)
        | ConnectorError::Forbidden(m)
        | ConnectorError::NotFound(m)
        | ConnectorError::Unsupported(m)
        | ConnectorError::Transient(m)
        | ConnectorError::Permanent(m) => m.clone(),
        ConnectorError::RateLimited(r) => r.message.clone(),
    }
}

impl Violation {
    fn into_error(self, plugin: &str) -> CallError {
        let fault = |cause| CallError::Fault {
            plugin: plugin.to_owned(),
            cause,
        };
        match self {
            Violation::EgressDenied(why) => CallError::EgressDenied(why),
            Violation::RequestBudget(max) => fault(FaultCause::RequestBudget { max }),
            Violation::ResponseTooLarge(max_bytes) => {
                fault(FaultCause::ResponseTooLarge { max_bytes })
            }
            Violation::StatementTimeout(timeout_ms) => {
                fault(FaultCause::StatementTimeout { timeout_ms })
            }
            Violation::StatementBudget(max) => fault(FaultCause::StatementBudget { max }),
        }
    }
}

/// The error for a call that returned a connector error: a violation the host saw wins, since
/// the guest may have turned it into something vaguer.
pub(crate) fn from_connector_error(error: ConnectorError, state: &CallState) -> CallError {
    match state.violation.clone() {
        Some(violation) => violation.into_error(&state.labels.plugin),
        None => CallError::Connector(error),
    }
}

/// The error for a call that trapped.
pub(crate) fn from_trap(error: &wasmtime::Error, state: &CallState, timeout_ms: u64) -> CallError {
    let plugin = &state.labels.plugin;
    let fault = |cause| CallError::Fault {
        plugin: plugin.clone(),
        cause,
    };
    if state.limiter.memory_exceeded {
        return fault(FaultCause::MemoryLimit {
            bytes: state.limiter.memory_bytes(),
        });
    }
    let trap = error.downcast_ref::<wasmtime::Trap>().copied();
    match trap {
        Some(wasmtime::Trap::Interrupt) => return fault(FaultCause::Deadline { timeout_ms }),
        Some(wasmtime::Trap::StackOverflow) => return fault(FaultCause::StackOverflow),
        _ => {}
    }
    if let Some(violation) = state.violation.clone() {
        return violation.into_error(plugin);
    }
    if let Some(message) = panic_message(&state.stderr_text()) {
        return fault(FaultCause::Panic { message });
    }
    let message = match trap {
        Some(trap) => trap.to_string(),
        None => format!("{error:#}"),
    };
    fault(FaultCause::Trap { message })
}

/// The message of a Rust panic as the guest's std printed it:
/// `thread '<unnamed>' panicked at src/lib.rs:1:2:\n<message>`.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.find("panicked at")?;
    let after = &stderr[start..];
    let message = after.split_once('\n').map_or(after, |(_, rest)| rest);
    // std's hint about RUST_BACKTRACE means nothing to an API client: the guest has no env.
    let message: String = message
        .lines()
        .filter(|line| !line.starts_with("note: run with `RUST_BACKTRACE"))
        .take(5)
        .collect::<Vec<_>>()
        .join(" ");
    Some(
        message
            .chars()
            .take(500)
            .collect::<String>()
            .trim()
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::panic_message;

    #[test]
    fn panic_message_is_taken_from_stderr() {
        let stderr = "thread '<unnamed>' panicked at src/lib.rs:10:5:\nprobe panicked on purpose\nsecond line\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).unwrap(),
            "probe panicked on purpose second line"
        );
        assert_eq!(panic_message("nothing here"), None);
    }
}
