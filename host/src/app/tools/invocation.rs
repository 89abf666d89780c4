//! Running one tool: find it in the caller's catalogue, pick the connection, check the
//! arguments against the tool's schema before any plugin runs, run the same use case as the
//! REST API, and audit the call under the tool's name.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::catalogue::{CONNECTION_ARGUMENT, Catalogue, CatalogueEntry, ToolTarget};
use super::connect_link::ConnectLink;
use crate::app::App;
use crate::app::actions::run_action;
use crate::app::audit::{audit, audit_failure};
use crate::app::callers::TenantCaller;
use crate::connection::{self, Answer};
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
}

impl From<ToolError> for ApiError {
    fn from(error: ToolError) -> Self {
        match error {
            ToolError::UnknownTool(error) | ToolError::Failed(error) => error,
            ToolError::NotConnected(link) => link.into(),
        }
    }
}

/// Runs tool `name` with `arguments` for `caller`, within `scope` (one connection) if given.
pub async fn invoke(
    state: &App,
    caller: &TenantCaller,
    scope: Option<&str>,
    name: &str,
    arguments: Value,
    via: Via,
) -> Result<Answer<ToolResult>, ToolError> {
    let catalogue = Catalogue::for_tool(state, &caller.tenant, scope, name)
        .await
        .map_err(ToolError::Failed)?;
    let Some(entry) = catalogue.find(name) else {
        // A tool a connection would offer, called with none named: the person can connect
        // one. A call naming a connection the tenant does not have, or on an endpoint scoped
        // to one, stays unknown.
        let names_connection = arguments.get(CONNECTION_ARGUMENT).is_some();
        if scope.is_none()
            && !names_connection
            && let Some(link) = ConnectLink::to_connect(state, &caller.tenant, name)
        {
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
    let prepared = prepare(entry, arguments);
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
    let result = match prepared {
        Ok((connection, arguments)) => run(state, &caller.tenant, entry, &connection, arguments)
            .await
            .map(|answer| {
                answer.map(|output| ToolResult {
                    tool: name.to_owned(),
                    connection_id: connection,
                    output,
                })
            }),
        Err(error) => Err(error),
    };
    match &result {
        Ok(_) => {
            let details = json!({ "tool": name, "via": via.name() });
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
