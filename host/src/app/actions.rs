//! Running a connection's actions (contract 0.3.0), for the REST API and the agent tools: input
//! is checked against the action's JSON Schema before any plugin runs; the plugin's output
//! must be JSON.

use super::App;
use crate::connection::{self, Answer, CallOptions};
use crate::error::{ApiError, ErrorCode};
use crate::runtime::{CallError, Operation, OperationOutput};
use crate::store::ConnectionRecord;

/// Runs action `name` of a tenant's connection with `input`: the action must exist and the
/// input fit its schema before the plugin runs; the output must be JSON.
pub async fn invoke_action(
    state: &App,
    tenant: &str,
    connection: &str,
    name: &str,
    input: serde_json::Value,
) -> Result<Answer<serde_json::Value>, ApiError> {
    let record = connection::load(state, tenant, connection).await?;
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
    state: &App,
    record: ConnectionRecord,
    name: &str,
    input: serde_json::Value,
) -> Result<Answer<serde_json::Value>, ApiError> {
    let operation = Operation::InvokeAction {
        name: name.to_owned(),
        input: input.to_string(),
    };
    let (_, answer) = connection::call(state, record, operation, CallOptions::default()).await?;
    let served_by = answer.served_by;
    let OperationOutput::ActionOutput(text) = answer.value else {
        return Err(ApiError::new(
            ErrorCode::PluginFault,
            "the connector answered with the wrong kind of result",
        ));
    };
    let output = serde_json::from_str(&text).map_err(|_| {
        ApiError::new(
            ErrorCode::PluginFault,
            format!("action `{name}` returned output that is not JSON"),
        )
    })?;
    Ok(Answer {
        value: output,
        served_by,
    })
}
