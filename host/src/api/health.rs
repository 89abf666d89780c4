use axum::extract::State;
use serde_json::json;

use super::{ApiError, AppState, Envelope, ErrorCode};

/// Liveness: the process answers.
pub async fn healthz() -> Envelope<serde_json::Value> {
    Envelope::ok(json!({ "status": "ok" }))
}

/// Readiness: the store answers and plugins are loaded.
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
