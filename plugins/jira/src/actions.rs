//! Jira's actions beyond the unified operations: move an issue through its workflow, assign it,
//! delete it. Each is one or two REST v3 calls; inputs arrive checked against the schemas
//! declared here.

use atlassian::{Site, encode};
use connector_sdk::http::Request;
use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::issue_key;

/// The actions [`invoke`] runs, as the manifest declares them.
pub fn declared() -> Vec<Action> {
    let issue = json!({"type": "string", "minLength": 1, "maxLength": 64,
        "description": "issue key (PROJ-12) or numeric id"});
    vec![
        Action::new("transition_issue", "Move an issue through its workflow")
            .description(
                "Applies one of the issue's available workflow transitions, named by the \
                 transition's name (\"Done\"), the status it leads to, or its id. Answers the \
                 issue's new status.",
            )
            .input_schema(json!({
                "type": "object",
                "required": ["issue", "transition"],
                "additionalProperties": false,
                "properties": {
                    "issue": issue,
                    "transition": {"type": "string", "minLength": 1, "maxLength": 255,
                        "description": "transition name, target status name, or transition id"}
                }
            }))
            .output_schema(json!({
                "type": "object",
                "required": ["issue", "transition", "status"],
                "properties": {
                    "issue": {"type": "string"},
                    "transition": {"type": "string"},
                    "status": {"type": "string"}
                }
            })),
        Action::new("assign_issue", "Assign an issue")
            .description(
                "Sets the issue's assignee to the Atlassian account id given, or unassigns it \
                 when `account_id` is null.",
            )
            .input_schema(json!({
                "type": "object",
                "required": ["issue", "account_id"],
                "additionalProperties": false,
                "properties": {
                    "issue": issue,
                    "account_id": {"type": ["string", "null"], "maxLength": 128}
                }
            }))
            .idempotent(),
        Action::new("delete_issue", "Delete an issue")
            .description(
                "Deletes the issue for good (Jira keeps no trash). Issues with subtasks are \
                 refused unless `delete_subtasks` is true.",
            )
            .input_schema(json!({
                "type": "object",
                "required": ["issue"],
                "additionalProperties": false,
                "properties": {
                    "issue": issue,
                    "delete_subtasks": {"type": "boolean", "default": false}
                }
            }))
            .destructive()
            .idempotent(),
    ]
}

#[derive(Deserialize)]
struct TransitionInput {
    issue: String,
    transition: String,
}

#[derive(Deserialize)]
struct AssignInput {
    issue: String,
    account_id: Option<String>,
}

#[derive(Deserialize)]
struct DeleteInput {
    issue: String,
    #[serde(default)]
    delete_subtasks: bool,
}

/// `GET /issue/{key}/transitions`, as much of it as is needed.
#[derive(Deserialize)]
struct Transitions {
    #[serde(default)]
    transitions: Vec<Transition>,
}

#[derive(Deserialize)]
struct Transition {
    id: String,
    name: String,
    to: Option<Status>,
}

#[derive(Deserialize)]
struct Status {
    name: String,
}

/// Runs action `name` on `site`.
pub fn invoke(site: &Site, name: &str, input: Value) -> Result<Value, ConnectorError> {
    match name {
        "transition_issue" => transition(site, connector_sdk::action::input(input)?),
        "assign_issue" => assign(site, connector_sdk::action::input(input)?),
        "delete_issue" => delete(site, connector_sdk::action::input(input)?),
        other => Err(ConnectorError::unsupported(format!(
            "Jira has no action `{other}`"
        ))),
    }
}

fn issue_url(site: &Site, key: &str) -> Result<String, ConnectorError> {
    Ok(format!(
        "{}/rest/api/3/issue/{}",
        site.api_base()?,
        encode(issue_key(key)?)
    ))
}

/// Looks the transition up among the ones available now (Jira answers 400 for one that is
/// not), then applies it by id.
fn transition(site: &Site, input: TransitionInput) -> Result<Value, ConnectorError> {
    let url = format!("{}/transitions", issue_url(site, &input.issue)?);
    let available: Transitions = Request::get(url.clone()).send_json()?;
    let wanted = input.transition.trim();
    let found = available
        .transitions
        .iter()
        .find(|t| t.id == wanted || t.name.eq_ignore_ascii_case(wanted))
        .or_else(|| {
            available.transitions.iter().find(|t| {
                t.to.as_ref()
                    .is_some_and(|to| to.name.eq_ignore_ascii_case(wanted))
            })
        })
        .ok_or_else(|| {
            let names: Vec<&str> = available
                .transitions
                .iter()
                .map(|t| t.name.as_str())
                .collect();
            ConnectorError::invalid_input(format!(
                "issue {} has no transition `{wanted}` now; available: {}",
                input.issue,
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ))
        })?;
    Request::post(url)
        .json(&json!({"transition": {"id": found.id}}))?
        .send_ok()?;
    let status = found
        .to
        .as_ref()
        .map_or_else(|| found.name.clone(), |to| to.name.clone());
    Ok(json!({"issue": input.issue, "transition": found.name, "status": status}))
}

fn assign(site: &Site, input: AssignInput) -> Result<Value, ConnectorError> {
    let url = format!("{}/assignee", issue_url(site, &input.issue)?);
    Request::put(url)
        .json(&json!({"accountId": input.account_id}))?
        .send_ok()?;
    Ok(json!({"issue": input.issue, "assignee": input.account_id}))
}

fn delete(site: &Site, input: DeleteInput) -> Result<Value, ConnectorError> {
    let url = format!(
        "{}?deleteSubtasks={}",
        issue_url(site, &input.issue)?,
        input.delete_subtasks
    );
    Request::delete(url).send_ok()?;
    Ok(json!({"issue": input.issue, "deleted": true}))
}
