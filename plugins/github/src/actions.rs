//! GitHub's actions beyond the unified operations: close or reopen an issue, add labels.

use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::GitHubConnector;
use crate::mapping::{Issue, Label, issue_id};

/// The actions [`invoke`] runs, as the manifest declares them.
pub fn declared() -> Vec<Action> {
    let issue = json!({"type": "string", "minLength": 3, "maxLength": 220,
        "description": "issue or pull request id, owner/repo#123"});
    let state = json!({"type": "object", "required": ["issue", "state"], "properties": {
        "issue": {"type": "string"}, "state": {"type": "string"}}});
    vec![
        Action::new("close_issue", "Close an issue")
            .description("Closes an issue or pull request, as completed (default) or not planned.")
            .input_schema(json!({
                "type": "object", "required": ["issue"], "additionalProperties": false,
                "properties": {
                    "issue": issue,
                    "reason": {"type": "string", "enum": ["completed", "not_planned"], "default": "completed"}
                }
            }))
            .output_schema(state.clone())
            .idempotent(),
        Action::new("reopen_issue", "Reopen an issue")
            .description("Reopens a closed issue or pull request.")
            .input_schema(json!({
                "type": "object", "required": ["issue"], "additionalProperties": false,
                "properties": {"issue": issue}
            }))
            .output_schema(state)
            .idempotent(),
        Action::new("add_labels", "Add labels to an issue")
            .description("Adds labels to an issue or pull request (labels it already has stay). Answers all its labels.")
            .input_schema(json!({
                "type": "object", "required": ["issue", "labels"], "additionalProperties": false,
                "properties": {
                    "issue": issue,
                    "labels": {"type": "array", "minItems": 1, "maxItems": 100,
                        "items": {"type": "string", "minLength": 1, "maxLength": 50}}
                }
            }))
            .output_schema(json!({"type": "object", "required": ["issue", "labels"], "properties": {
                "issue": {"type": "string"}, "labels": {"type": "array", "items": {"type": "string"}}}}))
            .idempotent(),
    ]
}

#[derive(Deserialize)]
struct Close {
    issue: String,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct Reopen {
    issue: String,
}

#[derive(Deserialize)]
struct AddLabels {
    issue: String,
    labels: Vec<String>,
}

/// Runs action `name`.
pub fn invoke(
    connector: &GitHubConnector,
    name: &str,
    input: Value,
) -> Result<Value, ConnectorError> {
    match name {
        "close_issue" => {
            let close: Close = action::input(input)?;
            let reason = close.reason.unwrap_or_else(|| "completed".into());
            set_state(
                connector,
                &close.issue,
                json!({"state": "closed", "state_reason": reason}),
            )
        }
        "reopen_issue" => {
            let reopen: Reopen = action::input(input)?;
            set_state(connector, &reopen.issue, json!({"state": "open"}))
        }
        "add_labels" => {
            let add: AddLabels = action::input(input)?;
            let (owner, repo, number) = issue_id(&add.issue)?;
            let request = connector
                .github
                .at(
                    http::Method::Post,
                    ["repos", owner, repo, "issues", number, "labels"],
                )
                .json(&json!({"labels": add.labels}))?;
            let labels: Vec<Label> = connector.github.send(request)?.json()?;
            let names: Vec<String> = labels.into_iter().map(|l| l.name).collect();
            Ok(json!({"issue": add.issue, "labels": names}))
        }
        other => Err(ConnectorError::unsupported(format!(
            "GitHub has no action `{other}`"
        ))),
    }
}

fn set_state(
    connector: &GitHubConnector,
    id: &str,
    fields: Value,
) -> Result<Value, ConnectorError> {
    let request = connector
        .issue_request(http::Method::Patch, id)?
        .json(&fields)?;
    let response = connector.github.send(request)?;
    let raw: &RawValue = response.json()?;
    let issue: Issue = crate::decode(raw)?;
    Ok(json!({"issue": id, "state": issue.state}))
}
