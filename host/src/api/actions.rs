//! A connection's actions (contract 0.3.0): `GET /api/v1/connections/{id}/actions` lists them,
//! `POST /api/v1/connections/{id}/actions/{name}` runs one. Input is checked against the
//! action's JSON Schema before any plugin runs; the plugin's output must be JSON.

use axum::extract::State;
use serde::Serialize;
use serde_json::json;

use super::auth::TenantCaller;
use super::connection_calls::{self, call_record};
use super::connections::{audit, audit_failure};
use super::extract::{ApiJson, ApiPath};
use super::openapi::{ErrorEnvelope, Success};
use super::{ApiError, AppState, Envelope, ErrorCode};
use crate::runtime::{ActionManifest, CallError, Operation, OperationOutput};
use crate::store::ConnectionRecord;

/// What an action returned.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActionResult {
    pub action: String,
    /// The action's output, as the connector returned it.
    #[schema(value_type = Object)]
    pub output: serde_json::Value,
}

/// `GET /api/v1/connections/{id}/actions`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/actions", tag = "resources", params(("id" = String, Path, description = "connection id")), responses((status = 200, description = "the actions of the connection's connector", body = Success<Vec<ActionManifest>>), (status = "4XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<Vec<ActionManifest>>, ApiError> {
    let record = connection_calls::load(&state, &caller.tenant, &id)?;
    let plugin = state
        .runtime
        .plugin(&record.connector)
        .ok_or_else(|| ApiError::from_call(CallError::NotLoaded(record.connector.clone())))?;
    Ok(Envelope::ok(plugin.manifest.actions.clone()))
}

/// `POST /api/v1/connections/{id}/actions/{name}`: the body is the action's input object.
/// Never retried by the host.
#[utoipa::path(post, path = "/api/v1/connections/{id}/actions/{name}", tag = "resources", params(("id" = String, Path, description = "connection id"), ("name" = String, Path, description = "action name")), request_body(content = Object, description = "input matching the action's input_schema"), responses((status = 200, description = "the action's output", body = Success<ActionResult>), (status = 422, description = "input does not match the schema; details.errors name each path", body = ErrorEnvelope), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn invoke(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath((id, name)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<serde_json::Value>,
) -> Result<Envelope<ActionResult>, ApiError> {
    let target = format!("{id}/actions/{name}");
    match invoke_action(&state, &caller.tenant, &id, &name, input).await {
        Ok(output) => {
            audit(&state, &caller, "action.invoke", &target, json!({})).await;
            Ok(Envelope::ok(ActionResult {
                action: name,
                output,
            }))
        }
        Err(error) => {
            audit_failure(&state, &caller, "action.invoke", &target, &error).await;
            Err(error)
        }
    }
}

/// Runs action `name` of a tenant's connection with `input`: the action must exist and the
/// input fit its schema before the plugin runs; the output must be JSON.
pub async fn invoke_action(
    state: &AppState,
    tenant: &str,
    connection: &str,
    name: &str,
    input: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    let record = connection_calls::load(state, tenant, connection)?;
    let plugin = state
        .runtime
        .plugin(&record.connector)
        .ok_or_else(|| ApiError::from_call(CallError::NotLoaded(record.connector.clone())))?;
    let action = plugin.manifest.action(name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!(
                "connector `{}` has no action `{name}`; GET /api/v1/connections/{connection}/actions lists them",
                record.connector
            ),
        )
    })?;
    if let Err(issues) = action.check_input(&input) {
        let lead = format!("input does not match the schema of `{name}`");
        return Err(ApiError::schema_mismatch(&lead, "the input", issues));
    }
    run_action(state, record, name, input).await
}

/// Runs action `name` on a connection the caller loaded, with input already checked against
/// the action's schema; the output must be JSON.
pub async fn run_action(
    state: &AppState,
    record: ConnectionRecord,
    name: &str,
    input: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    let operation = Operation::InvokeAction {
        name: name.to_owned(),
        input: input.to_string(),
    };
    let (_, output) = call_record(state, record, operation).await?;
    let OperationOutput::ActionOutput(text) = output else {
        return Err(ApiError::new(
            ErrorCode::PluginFault,
            "the connector answered with the wrong kind of result",
        ));
    };
    serde_json::from_str(&text).map_err(|_| {
        ApiError::new(
            ErrorCode::PluginFault,
            format!("action `{name}` returned output that is not JSON"),
        )
    })
}
