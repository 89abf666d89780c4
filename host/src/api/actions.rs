//! A connection's actions (contract 0.3.0): `GET /api/v1/connections/{id}/actions` lists them,
//! `POST /api/v1/connections/{id}/actions/{name}` runs one (the use case is `app::actions`).

use axum::extract::State;
use serde::Serialize;
use serde_json::json;

use super::extract::{ApiJson, ApiPath};
use super::openapi::{ErrorEnvelope, ErrorResponses, Success};
use super::{ApiError, App, Envelope};
use crate::app::actions::invoke_action;
use crate::app::audit::{audit, audit_failure};
use crate::app::callers::TenantCaller;
use crate::connection;
use crate::runtime::{ActionManifest, CallError};

/// What an action returned.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActionResult {
    pub action: String,
    /// The action's output, as the connector returned it.
    #[schema(value_type = Object)]
    pub output: serde_json::Value,
}

/// `GET /api/v1/connections/{id}/actions`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/actions", tag = "resources", params(("id" = String, Path, description = "connection id")), responses((status = 200, description = "the actions of the connection's connector", body = Success<Vec<ActionManifest>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn list(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<Vec<ActionManifest>>, ApiError> {
    let record = connection::load(&state, &caller.tenant, &id).await?;
    let plugin = state
        .runtime
        .plugin(&record.connector)
        .ok_or_else(|| ApiError::from_call(CallError::NotLoaded(record.connector.clone())))?;
    Ok(Envelope::ok(plugin.manifest.actions.clone()))
}

/// `POST /api/v1/connections/{id}/actions/{name}`: the body is the action's input object.
/// Never retried by the host.
#[utoipa::path(post, path = "/api/v1/connections/{id}/actions/{name}", tag = "resources", params(("id" = String, Path, description = "connection id"), ("name" = String, Path, description = "action name")), request_body(content = Object, description = "input matching the action's input_schema"), responses((status = 200, description = "the action's output", body = Success<ActionResult>), (status = 422, description = "input does not match the schema; details.errors name each path", body = ErrorEnvelope), ErrorResponses), security(("tenant_key" = [])))]
pub async fn invoke(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, name)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<serde_json::Value>,
) -> Result<Envelope<ActionResult>, ApiError> {
    let target = format!("{id}/actions/{name}");
    match invoke_action(&state, &caller.tenant, &id, &name, input).await {
        Ok(answer) => {
            audit(&state, &caller, "action.invoke", &target, json!({})).await;
            Ok(Envelope::served(answer.map(|output| ActionResult {
                action: name,
                output,
            })))
        }
        Err(error) => {
            audit_failure(&state, &caller, "action.invoke", &target, &error).await;
            Err(error)
        }
    }
}
