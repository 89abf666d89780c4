use axum::extract::State;
use serde_json::json;

use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "alive", body = Success<serde_json::Value>), ErrorResponses))]
pub async fn healthz() -> Envelope<serde_json::Value> {
    Envelope::ok(json!({ "status": "ok" }))
}

/// Readiness: the store answers. Unauthenticated, so it reveals nothing else (no counts).
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, description = "ready", body = Success<serde_json::Value>), ErrorResponses))]
pub async fn readyz(State(state): State<App>) -> Result<Envelope<serde_json::Value>, ApiError> {
    state.store.ping().await.map_err(|e| {
        tracing::error!(error = %e, "store not ready");
        ApiError::new(ErrorCode::InternalError, "store not ready")
            .with_status(axum::http::StatusCode::SERVICE_UNAVAILABLE)
    })?;
    Ok(Envelope::ok(json!({ "status": "ready" })))
}
