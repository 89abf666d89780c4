use axum::extract::State;
use serde_json::json;

use super::openapi::{ErrorEnvelope, Success};
use super::{ApiError, AppState, Envelope, ErrorCode};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "alive", body = Success<serde_json::Value>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)))]
pub async fn healthz() -> Envelope<serde_json::Value> {
    Envelope::ok(json!({ "status": "ok" }))
}

/// Readiness: the store answers and plugins are loaded.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, description = "ready", body = Success<serde_json::Value>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)))]
pub async fn readyz(
    State(state): State<AppState>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    let tenants = state.store.tenants().map_err(|e| {
        ApiError::new(ErrorCode::InternalError, format!("store not ready: {e}"))
            .with_status(axum::http::StatusCode::SERVICE_UNAVAILABLE)
    })?;
    Ok(Envelope::ok(json!({
        "status": "ready",
        "plugins": state.runtime.plugins().len(),
        "tenants": tenants.len(),
    })))
}
