use axum::extract::State;
use serde_json::json;

use super::{AppState, Envelope, RequestId};

/// Liveness: the process answers.
pub async fn healthz(request_id: RequestId) -> Envelope<serde_json::Value> {
    Envelope::new(request_id, json!({ "status": "ok" }))
}

/// Readiness: plugins are loaded.
pub async fn readyz(
    State(state): State<AppState>,
    request_id: RequestId,
) -> Envelope<serde_json::Value> {
    let plugins = state.runtime.plugins().len();
    Envelope::new(request_id, json!({ "status": "ready", "plugins": plugins }))
}
