//! The error every use case returns and every face answers with: a code, a message, its HTTP
//! status, and the envelope it is written in.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::request_id;
use crate::runtime::{CallError, InputIssue, wit::ConnectorError};

/// The error codes of REST API v1, each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// Bad input (422; 400 malformed JSON, 413 too large, 415 not JSON, 405 wrong method).
    Validation,
    /// Missing or wrong admin token or API key (401).
    Unauthorized,
    /// Refused for who is asking (403).
    Forbidden,
    /// No such route, or no such resource for this tenant (404).
    NotFound,
    /// The connection's connector is not loaded, or the tenant has no connection of the
    /// connector a tool needs (409).
    NotConnected,
    /// An OAuth access token expired and could not be refreshed (401).
    TokenExpired,
    /// The vendor rejected the stored credential; authorize again (409).
    ReauthRequired,
    /// The vendor, this API key or this tenant is over its rate (429 with `Retry-After`).
    RateLimited,
    /// The tenant used its monthly allowance (429, with the reset time in `details` and
    /// `Retry-After`).
    QuotaExceeded,
    /// The vendor failed (502; 503 when transient).
    VendorError,
    /// The plugin trapped, timed out or broke a limit (502).
    PluginFault,
    /// The plugin asked for a destination the policy refuses (403).
    EgressDenied,
    /// The connector does not offer the operation (501).
    Unsupported,
    /// A conflict with what exists: a taken id, a reached quota (409).
    Conflict,
    /// A feed cursor older than the feed's retention (410).
    CursorExpired,
    /// The host failed (500).
    InternalError,
    /// The store is out of reach for a moment; nothing was applied (503 with `Retry-After`).
    Unavailable,
}

impl ErrorCode {
    /// The code as the envelope writes it (`NOT_FOUND`).
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The HTTP status the code answers with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized | Self::TokenExpired => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::EgressDenied => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::NotConnected | Self::ReauthRequired | Self::Conflict => StatusCode::CONFLICT,
            Self::RateLimited | Self::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            Self::VendorError => StatusCode::BAD_GATEWAY,
            Self::PluginFault => StatusCode::BAD_GATEWAY,
            Self::Unsupported => StatusCode::NOT_IMPLEMENTED,
            Self::CursorExpired => StatusCode::GONE,
            Self::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// An error answer: `{"ok": false, "error": {...}, "request_id": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    /// The code.
    pub code: ErrorCode,
    /// What went wrong.
    pub message: String,
    /// Seconds to wait before trying again (`Retry-After`).
    pub retry_after_secs: Option<u64>,
    /// Machine-readable particulars.
    pub details: Option<serde_json::Value>,
    /// Overrides the code's usual status (405, 413, 503 with the same code).
    pub status: Option<StatusCode>,
}

impl ApiError {
    /// An error with `code` and `message`, answered with the code's status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_secs: None,
            details: None,
            status: None,
        }
    }

    /// The same error with `details`.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The same error answered with `status` instead of the code's own.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    /// The HTTP status the error answers with: its override, else its code's.
    pub fn http_status(&self) -> StatusCode {
        self.status.unwrap_or_else(|| self.code.status())
    }

    /// 422 for input that does not fit a JSON Schema: `lead` says what did not match
    /// (`input does not match the schema of `close``), `whole` names the input as a whole for
    /// an issue at its root; the first issue is in the message, every one in `details.errors`.
    pub fn schema_mismatch(lead: &str, whole: &str, issues: Vec<InputIssue>) -> Self {
        let first = issues.first();
        let at = match first {
            Some(issue) if !issue.path.is_empty() => format!("`{}`", issue.path),
            _ => whole.to_owned(),
        };
        let why = first
            .map(|issue| issue.message.as_str())
            .unwrap_or_default();
        Self::new(ErrorCode::Validation, format!("{lead}: {at}: {why}"))
            .with_details(serde_json::json!({ "errors": issues }))
    }

    /// Maps a plugin call's failure to its API error.
    pub fn from_call(error: CallError) -> Self {
        let message = error.to_string();
        match error {
            CallError::Fault { plugin, cause } => Self::new(ErrorCode::PluginFault, message)
                .with_details(serde_json::json!({ "plugin": plugin, "cause": cause.code() })),
            CallError::EgressDenied(why) => {
                // The reason (a resolved address, an internal host name) is for the operator's
                // log, not for the client.
                tracing::warn!(reason = %why, "plugin egress refused");
                Self::new(
                    ErrorCode::EgressDenied,
                    "destination refused by policy (the operator's log has the reason)",
                )
            }
            CallError::NotLoaded(_) => Self::new(ErrorCode::NotConnected, message),
            CallError::Busy => {
                let mut e = Self::new(ErrorCode::InternalError, message)
                    .with_status(StatusCode::SERVICE_UNAVAILABLE);
                e.retry_after_secs = Some(1);
                e
            }
            CallError::OverCap { scope, limit } => {
                let mut e = Self::new(ErrorCode::RateLimited, message)
                    .with_details(serde_json::json!({ "scope": scope.as_str(), "limit": limit }));
                e.retry_after_secs = Some(1);
                e
            }
            CallError::Internal(_) => Self::new(ErrorCode::InternalError, message),
            CallError::Connector(connector) => Self::from_connector(connector, message),
        }
    }

    fn from_connector(error: ConnectorError, message: String) -> Self {
        match error {
            ConnectorError::InvalidConfig(_) => Self::new(ErrorCode::Validation, message),
            ConnectorError::Unauthorized(_) => Self::new(ErrorCode::ReauthRequired, message),
            ConnectorError::Forbidden(_) => Self::new(ErrorCode::Forbidden, message),
            ConnectorError::NotFound(_) => Self::new(ErrorCode::NotFound, message),
            ConnectorError::RateLimited(limit) => {
                let mut e = Self::new(ErrorCode::RateLimited, message);
                e.retry_after_secs = Some(limit.retry_after_ms.div_ceil(1000).max(1));
                e
            }
            ConnectorError::Unsupported(_) => Self::new(ErrorCode::Unsupported, message),
            ConnectorError::Transient(_) => Self::new(ErrorCode::VendorError, message)
                .with_status(StatusCode::SERVICE_UNAVAILABLE),
            ConnectorError::Permanent(_) => Self::new(ErrorCode::VendorError, message),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    ok: bool,
    error: ErrorFields<'a>,
    request_id: &'a str,
}

#[derive(Serialize)]
struct ErrorFields<'a> {
    code: ErrorCode,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.http_status();
        let request_id = request_id::current();
        let body = ErrorBody {
            ok: false,
            error: ErrorFields {
                code: self.code,
                message: &self.message,
                retry_after: self.retry_after_secs,
                details: self.details.as_ref(),
            },
            request_id: &request_id,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

/// Unknown route.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

/// Known route, wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::Validation, "method not allowed on this route")
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match error {
            StoreError::Conflict => Self::new(ErrorCode::Conflict, "it already exists"),
            StoreError::NotFound => Self::new(ErrorCode::NotFound, "not found"),
            StoreError::Unavailable(reason) => {
                // Every request fails the same way while the database is away: one line a
                // second, with how many it stands for.
                static SAMPLER: crate::source_limit::LogSampler =
                    crate::source_limit::LogSampler::new();
                if let Some(requests) = SAMPLER.take() {
                    tracing::warn!(%reason, requests, "store unavailable");
                }
                let mut error = Self::new(
                    ErrorCode::Unavailable,
                    "the store is unavailable for a moment; the request was not applied, try again",
                );
                error.retry_after_secs = Some(1);
                error
            }
            other => {
                tracing::error!(error = %other, "store failure");
                Self::new(
                    ErrorCode::InternalError,
                    "the store failed; the request was not applied",
                )
            }
        }
    }
}

/// A handler panicked: answer 500 in the envelope and keep serving.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        ErrorCode::InternalError,
        "the server failed while handling this request",
    )
    .into_response()
}
