//! Running one tool: find it in the caller's catalogue, pick the connection, check the
//! arguments against the tool's schema before any plugin runs, run the same use case as the
//! REST API, and audit the call under the tool's name.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::catalogue::{CONNECTION_ARGUMENT, Catalogue, CatalogueEntry, ToolTarget};
use super::connect_link::ConnectLink;
use super::directory::unconnected_view;
use super::policy::{self, Decision};
use super::resumption::{self, Purpose, ResumptionError};
use crate::app::App;
use crate::app::actions::run_action;
use crate::app::audit::{audit, audit_failure};
use crate::app::callers::TenantCaller;
use crate::connection::{self, Answer};
use crate::credentials::unix_now;
use crate::error::{ApiError, ErrorCode};
use crate::runtime::{InputIssue, check_against};

/// Which door a call came through, for the audit log.
#[derive(Debug, Clone, Copy)]
pub enum Via {
    /// `POST /api/v1/tools/invoke`.
    Rest,
    /// An MCP client's `tools/call`.
    Mcp,
    /// The web console's tools page.
    Console,
}

impl Via {
    fn name(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Mcp => "mcp",
            Self::Console => "console",
        }
    }
}

/// What a tool answered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ToolResult {
    /// The tool's name.
    pub tool: String,
    /// The connection the tool ran on.
    pub connection_id: String,
    /// The result: the same view the REST API answers, or the action's output.
    #[schema(value_type = Object)]
    pub output: Value,
}

/// Why a tool call failed.
#[derive(Debug)]
pub enum ToolError {
    /// The caller's catalogue has no such tool (MCP answers this as a protocol error).
    UnknownTool(ApiError),
    /// The tool ran, or its arguments were refused (MCP answers this as a tool error the
    /// model can read and correct).
    Failed(ApiError),
    /// The tenant has no working connection the tool could run on: the person must connect
    /// one (or authorize it again) first. MCP asks through URL elicitation; REST answers 409
    /// with the link.
    NotConnected(ConnectLink),
    /// A policy rule holds the call until the person confirms it (MCP: form elicitation;
    /// REST: 409 with a `confirmation_token`). Nothing ran.
    NeedsConfirmation {
        /// The rule that holds it.
        rule: String,
    },
}

impl From<ToolError> for ApiError {
    fn from(error: ToolError) -> Self {
        match error {
            ToolError::UnknownTool(error) | ToolError::Failed(error) => error,
            ToolError::NotConnected(link) => link.into(),
            ToolError::NeedsConfirmation { rule } => ApiError::new(
                ErrorCode::Conflict,
                format!("policy rule `{rule}` asks for a confirmation before this tool runs"),
            )
            .with_details(json!({ "rule": rule })),
        }
    }
}

/// What the caller brings to a call a policy rule holds for confirmation.
#[derive(Debug, Clone, Copy, Default)]
pub enum Confirmation<'a> {
    /// Nothing: a held call answers [`ToolError::NeedsConfirmation`].
    #[default]
    None,
    /// The person confirmed through the client (MCP form elicitation, checked by the face).
    Confirmed,
    /// The `confirmation_token` a held call answered (REST), for this very call.
    Token(&'a str),
}

/// Runs tool `name` with `arguments` for `caller`, within `scope` (one connection) if given,
/// under the tenant's policy: a denied call is refused and a held one waits for
/// `confirmation`, before any plugin runs; the result is redacted as the policy says.
pub async fn invoke(
    state: &App,
    caller: &TenantCaller,
    scope: Option<&str>,
    name: &str,
    arguments: Value,
    via: Via,
    confirmation: Confirmation<'_>,
) -> Result<Answer<ToolResult>, ToolError> {
    let catalogue = Catalogue::for_tool(state, &caller.tenant, scope, name)
        .await
        .map_err(ToolError::Failed)?;
    let policy = policy::policy(state, &caller.tenant)
        .await
        .map_err(ToolError::Failed)?;
    let Some(entry) = catalogue.find(name) else {
        // A tool a connection would offer, called with none named: the person can connect
        // one (unless the policy refuses the tool anyway). A call naming a connection the
        // tenant does not have, or on an endpoint scoped to one, stays unknown.
        let names_connection = arguments.get(CONNECTION_ARGUMENT).is_some();
        if scope.is_none()
            && !names_connection
            && let Some(link) = ConnectLink::to_connect(state, &caller.tenant, name)
        {
            if let Some(view) = unconnected_view(state, name)
                && let Decision::Deny { rule } = policy::decide(&policy, &view)
            {
                return Err(ToolError::Failed(denied(state, caller, name, &rule).await));
            }
            let error = ApiError::from(link.clone());
            audit_failure(state, caller, "tool.invoke", name, &error).await;
            return Err(ToolError::NotConnected(link));
        }
        let error = ApiError::new(
            ErrorCode::NotFound,
            format!(
                "there is no tool `{name}` here; GET /api/v1/tools lists the tools you can call"
            ),
        );
        audit_failure(state, caller, "tool.invoke", name, &error).await;
        return Err(ToolError::UnknownTool(error));
    };
    let decision = policy::decide(&policy, &entry.view);
    if let Decision::Deny { rule } = &decision {
        return Err(ToolError::Failed(denied(state, caller, name, rule).await));
    }
    let held = match &decision {
        Decision::Confirm { rule } => Some(rule.clone()),
        _ => None,
    };
    let confirmed = match (&held, confirmation) {
        (None, _) | (Some(_), Confirmation::Confirmed) => true,
        (Some(_), Confirmation::Token(token)) => {
            confirm_with_token(state, caller, token, name, &arguments).await?;
            true
        }
        (Some(_), Confirmation::None) => false,
    };
    let prepared = prepare(entry, arguments);
    if let (Some(rule), false, Ok(_)) = (&held, confirmed, &prepared) {
        let details =
            json!({ "tool": name, "via": via.name(), "rule": rule, "decision": "confirm" });
        audit(state, caller, "tool.held", name, details).await;
        return Err(ToolError::NeedsConfirmation { rule: rule.clone() });
    }
    // An existing tool, invoked: counted whether or not it succeeds (its plugin call is
    // counted on its own).
    let connection = prepared
        .as_ref()
        .map_or("", |(connection, _)| connection.as_str());
    state.usage.add(
        &caller.tenant,
        connection,
        crate::usage::metric::TOOL_INVOCATIONS,
        1,
    );
    let target = match &prepared {
        Ok((connection, _)) => format!("{connection}/tools/{name}"),
        Err(_) => name.to_owned(),
    };
    let picked = prepared
        .as_ref()
        .ok()
        .map(|(connection, _)| connection.clone());
    let mut redacted = Vec::new();
    let result = match prepared {
        Ok((connection, arguments)) => run(state, &caller.tenant, entry, &connection, arguments)
            .await
            .map(|answer| {
                answer.map(|mut output| {
                    redacted = policy::redact(&policy, name, &mut output);
                    ToolResult {
                        tool: name.to_owned(),
                        connection_id: connection,
                        output,
                    }
                })
            }),
        Err(error) => Err(error),
    };
    match &result {
        Ok(_) => {
            let mut details = json!({ "tool": name, "via": via.name() });
            match &decision {
                Decision::Allow { rule: Some(rule) } => {
                    details["policy"] = json!({ "rule": rule, "decision": "allow" });
                }
                Decision::Confirm { rule } => {
                    details["policy"] = json!({ "rule": rule, "decision": "confirmed" });
                }
                _ => {}
            }
            if !redacted.is_empty() {
                details["redacted"] = json!(redacted);
            }
            audit(state, caller, "tool.invoke", &target, details).await;
        }
        Err(error) => audit_failure(state, caller, "tool.invoke", &target, error).await,
    }
    result.map_err(|error| match (error.code, picked) {
        // The connection's grant is dead (known before the call, or found dead by it).
        (ErrorCode::ReauthRequired, Some(connection)) => ToolError::NotConnected(
            ConnectLink::to_reauthorize(state, &caller.tenant, &entry.view.connector, &connection),
        ),
        _ => ToolError::Failed(error),
    })
}

/// 403 naming the rule, audited as a refused `tool.invoke` with the rule.
async fn denied(state: &App, caller: &TenantCaller, name: &str, rule: &str) -> ApiError {
    let error = ApiError::new(
        ErrorCode::Forbidden,
        format!("policy rule `{rule}` does not allow `{name}`"),
    )
    .with_details(json!({ "rule": rule }));
    audit_failure(state, caller, "tool.invoke", name, &error).await;
    error
}

/// Spends a REST confirmation token: it must be a confirmation, this caller's, for this very
/// call, unexpired and unused.
async fn confirm_with_token(
    state: &App,
    caller: &TenantCaller,
    token: &str,
    name: &str,
    arguments: &Value,
) -> Result<(), ToolError> {
    let purpose = resumption::redeem(state, caller, token, name, arguments, unix_now() * 1000)
        .await
        .map_err(|error| {
            ToolError::Failed(match error {
                ResumptionError::Store(error) => error.into(),
                refused => ApiError::new(ErrorCode::Validation, refused.to_string()),
            })
        })?;
    if purpose != Purpose::Confirm {
        return Err(ToolError::Failed(ApiError::new(
            ErrorCode::Validation,
            "the confirmation_token is not a confirmation",
        )));
    }
    Ok(())
}

/// Picks the connection and checks the remaining arguments against the tool's schema.
fn prepare(entry: &CatalogueEntry, arguments: Value) -> Result<(String, Value), ApiError> {
    let tool = &entry.view.name;
    let mut arguments = match arguments {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        _ => {
            return Err(schema_error(
                tool,
                vec![InputIssue {
                    path: String::new(),
                    message: "the arguments must be a JSON object".into(),
                }],
            ));
        }
    };
    let connection = pick_connection(entry, arguments.remove(CONNECTION_ARGUMENT))?;
    let arguments = Value::Object(arguments);
    let checked = match &entry.target {
        ToolTarget::Unified(unified) => check_against(unified.validator(), &arguments),
        ToolTarget::Action(action) => action.check_input(&arguments),
    };
    checked.map_err(|issues| schema_error(tool, issues))?;
    Ok((connection, arguments))
}

/// The connection named by `connection_id`, or the only one there is. A `connection_id` is
/// required when there are several, and must be one of them.
fn pick_connection(entry: &CatalogueEntry, named: Option<Value>) -> Result<String, ApiError> {
    let tool = &entry.view.name;
    let issue = |message: String| {
        schema_error(
            tool,
            vec![InputIssue {
                path: format!("/{CONNECTION_ARGUMENT}"),
                message,
            }],
        )
    };
    match named {
        None if entry.needs_connection_argument() => Err(issue(format!(
            "`{CONNECTION_ARGUMENT}` is required: you have {} connections of `{}`",
            entry.connections.len(),
            entry.view.connector
        ))),
        None => Ok(entry.connections[0].clone()),
        Some(Value::String(id)) if entry.connections.contains(&id) => Ok(id),
        Some(Value::String(_)) => Err(issue(format!(
            "not one of your `{}` connections this tool can use",
            entry.view.connector
        ))),
        Some(_) => Err(issue("must be a string".into())),
    }
}

async fn run(
    state: &App,
    tenant: &str,
    entry: &CatalogueEntry,
    connection: &str,
    arguments: Value,
) -> Result<Answer<Value>, ApiError> {
    match &entry.target {
        ToolTarget::Unified(unified) => unified.run(state, tenant, connection, arguments).await,
        // Checked against the action's schema in `prepare`; not checked again.
        ToolTarget::Action(action) => {
            let record = connection::load(state, tenant, connection).await?;
            run_action(state, record, &action.name, arguments).await
        }
    }
}

/// 422 naming the first failing path, with every issue in `details.errors`.
fn schema_error(tool: &str, issues: Vec<InputIssue>) -> ApiError {
    let lead = format!("arguments do not match the schema of `{tool}`");
    ApiError::schema_mismatch(&lead, "the arguments", issues)
}
