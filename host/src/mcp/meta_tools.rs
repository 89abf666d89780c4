//! Meta-tool mode (`/mcp?mode=meta`): five tools instead of every connection's, for agents
//! that degrade past a few dozen tools or clients that cap the list. The agent searches
//! (ranked BM25 over every tool it may call, connected or not), reads the schemas it needs,
//! and executes, one call or several at once (no more at a time than the tenant's share of
//! the host's slots); `manage_connections` lists the tenant's connections and gives the
//! link that connects a vendor. Packs and the endpoint's connection limit every one of them.

use std::sync::Arc;

use futures::StreamExt as _;
use rmcp::model::{CallToolResponse, CallToolResult, Tool, ToolAnnotations};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{McpCaller, OuterCall, ToolServer, error_body, record_operation, structured};
use crate::app::tools::{
    Confirmation, ConnectLink, ToolError, Via, Visibility, connections_overview, invoke,
    search_tools, tool_schemas,
};
use crate::error::{ApiError, ErrorCode};

const SEARCH: &str = "search_tools";
const SCHEMAS: &str = "get_tool_schemas";
const EXECUTE: &str = "execute_tool";
const EXECUTE_MANY: &str = "execute_tools";
const CONNECTIONS: &str = "manage_connections";

/// Most results one search returns.
const MAX_SEARCH_RESULTS: usize = 20;
/// Most schemas one request reads.
const MAX_SCHEMAS: usize = 20;
/// Most calls one `execute_tools` makes.
const MAX_CALLS: usize = 10;

/// The five tools, as `tools/list` shows them.
pub(super) fn definitions() -> Vec<Tool> {
    let tool = |name: &'static str, title: &str, description: &str, schema: Value| {
        let Value::Object(schema) = schema else {
            unreachable!("the schemas below are objects")
        };
        let mut tool = Tool::new(name, description.to_owned(), Arc::new(schema));
        tool.title = Some(title.to_owned());
        tool
    };
    let read_only = |title: &str| {
        ToolAnnotations::with_title(title)
            .read_only(true)
            .destructive(false)
            .idempotent(true)
            .open_world(false)
    };
    let mut search = tool(
        SEARCH,
        "Search tools",
        "Finds the tools that fit a task, best first, among every tool of this tenant's \
         connectors (Jira, Slack, GitHub, ...), connected or not. Describe the task in plain \
         words; then read the schemas of the ones you want with get_tool_schemas.",
        json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1, "maxLength": 500,
                          "description": "what you want to do, such as `close a GitHub issue`"},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH_RESULTS,
                          "description": "how many tools to return (default 8)"}
            },
            "required": ["query"],
            "additionalProperties": false
        }),
    );
    search.annotations = Some(read_only("Search tools"));
    let mut schemas = tool(
        SCHEMAS,
        "Get tool schemas",
        "Returns the full description, input schema and output schema of the named tools.",
        json!({
            "type": "object",
            "properties": {
                "names": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                          "maxItems": MAX_SCHEMAS, "description": "tool names from search_tools"}
            },
            "required": ["names"],
            "additionalProperties": false
        }),
    );
    schemas.annotations = Some(read_only("Get tool schemas"));
    let call_schema = json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "the tool's name, such as `jira.search`"},
            "arguments": {"type": "object", "description": "arguments matching its input schema"}
        },
        "required": ["name"],
        "additionalProperties": false
    });
    let mut execute = tool(
        EXECUTE,
        "Execute a tool",
        "Calls one tool with its arguments and returns its result. A tool of a vendor that is \
         not connected yet asks the user to connect it first.",
        call_schema.clone(),
    );
    execute.annotations = Some(
        ToolAnnotations::with_title("Execute a tool")
            .read_only(false)
            .destructive(true)
            .idempotent(false)
            .open_world(true),
    );
    let mut execute_many = tool(
        EXECUTE_MANY,
        "Execute several tools",
        "Calls up to 10 tools at once and returns each result (or error) in order.",
        json!({
            "type": "object",
            "properties": {
                "calls": {"type": "array", "items": call_schema, "minItems": 1, "maxItems": MAX_CALLS}
            },
            "required": ["calls"],
            "additionalProperties": false
        }),
    );
    execute_many.annotations = Some(
        ToolAnnotations::with_title("Execute several tools")
            .read_only(false)
            .destructive(true)
            .idempotent(false)
            .open_world(true),
    );
    let mut connections = tool(
        CONNECTIONS,
        "Manage connections",
        "`list`: the accounts this tenant connected and the vendors it can connect. `connect`: \
         the link where the user connects a vendor's account (give it to the user).",
        json!({
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": ["list", "connect"]},
                "connector": {"type": "string", "description": "for `connect`: the vendor, such as `github`"}
            },
            "required": ["action"],
            "additionalProperties": false
        }),
    );
    connections.annotations = Some(read_only("Manage connections"));
    vec![search, schemas, execute, execute_many, connections]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArguments {
    query: String,
    limit: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemaArguments {
    names: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallArguments {
    name: String,
    #[serde(default)]
    arguments: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManyArguments {
    calls: Vec<CallArguments>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionArguments {
    action: String,
    connector: Option<String>,
}

/// Runs meta tool `outer.name`.
pub(super) async fn call(
    server: &ToolServer,
    call: &McpCaller,
    outer: &OuterCall<'_>,
    started: std::time::Instant,
) -> Result<CallToolResponse, rmcp::ErrorData> {
    let outcome = match outer.name {
        SEARCH => search(server, call, outer.arguments).await,
        SCHEMAS => schemas(server, call, outer.arguments).await,
        EXECUTE => {
            let arguments: CallArguments = match parse(outer.arguments) {
                Ok(arguments) => arguments,
                Err(error) => return Ok(failed(&error, started)),
            };
            if is_meta(&arguments.name) {
                return Ok(failed(&nested(&arguments.name), started));
            }
            let inner = arguments
                .arguments
                .map(Value::Object)
                .unwrap_or(Value::Null);
            return server
                .run_tool(call, &arguments.name, inner, outer, started)
                .await;
        }
        EXECUTE_MANY => execute_many(server, call, outer.arguments).await,
        CONNECTIONS => connections(server, call, outer.arguments).await,
        other => {
            record_operation("tools/call", "error", started);
            return Err(rmcp::ErrorData::invalid_params(
                format!(
                    "there is no tool `{other}` in meta mode: use {SEARCH}, {SCHEMAS}, {EXECUTE}, \
                     {EXECUTE_MANY} or {CONNECTIONS}"
                ),
                None,
            ));
        }
    };
    Ok(match outcome {
        Ok(value) => {
            record_operation("tools/call", "ok", started);
            CallToolResult::structured(structured(value)).into()
        }
        Err(error) => failed(&error, started),
    })
}

fn failed(error: &ApiError, started: std::time::Instant) -> CallToolResponse {
    record_operation("tools/call", "tool_error", started);
    CallToolResult::structured_error(error_body(error)).into()
}

fn is_meta(name: &str) -> bool {
    [SEARCH, SCHEMAS, EXECUTE, EXECUTE_MANY, CONNECTIONS].contains(&name)
}

fn nested(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Validation,
        format!("`{name}` is a meta tool; execute the tools search_tools finds"),
    )
}

/// The arguments as `T`, or a validation error the model can read.
fn parse<T: serde::de::DeserializeOwned>(arguments: &Value) -> Result<T, ApiError> {
    let arguments = match arguments {
        Value::Null => Value::Object(Map::new()),
        other => other.clone(),
    };
    serde_json::from_value(arguments).map_err(|error| {
        ApiError::new(
            ErrorCode::Validation,
            format!("the arguments do not match the tool's schema: {error}"),
        )
    })
}

fn visibility(call: &McpCaller) -> Visibility<'_> {
    Visibility {
        scope: call.scope.as_deref(),
        pack: call.pack.as_ref().map(|(_, pack)| pack.as_ref()),
    }
}

async fn search(
    server: &ToolServer,
    call: &McpCaller,
    arguments: &Value,
) -> Result<Value, ApiError> {
    let arguments: SearchArguments = parse(arguments)?;
    let query = arguments.query.trim();
    if query.is_empty() || query.chars().count() > 500 {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "query must be 1 to 500 characters",
        ));
    }
    let limit = arguments.limit.unwrap_or(8).clamp(1, MAX_SEARCH_RESULTS);
    let found = search_tools(
        &server.state,
        &call.caller.tenant,
        &visibility(call),
        query,
        limit,
    )
    .await?;
    Ok(json!({ "tools": found }))
}

async fn schemas(
    server: &ToolServer,
    call: &McpCaller,
    arguments: &Value,
) -> Result<Value, ApiError> {
    let arguments: SchemaArguments = parse(arguments)?;
    if arguments.names.is_empty() || arguments.names.len() > MAX_SCHEMAS {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("names lists 1 to {MAX_SCHEMAS} tools"),
        ));
    }
    let (tools, unknown) = tool_schemas(
        &server.state,
        &call.caller.tenant,
        &visibility(call),
        &arguments.names,
    )
    .await?;
    Ok(json!({ "tools": tools, "unknown": unknown }))
}

/// Runs the calls, at most the tenant's slot share at a time, and answers each in order.
async fn execute_many(
    server: &ToolServer,
    call: &McpCaller,
    arguments: &Value,
) -> Result<Value, ApiError> {
    let arguments: ManyArguments = parse(arguments)?;
    if arguments.calls.is_empty() || arguments.calls.len() > MAX_CALLS {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("calls lists 1 to {MAX_CALLS} tool calls"),
        ));
    }
    let at_once = (server.state.runtime.limits().tenant_cap() as usize).clamp(1, MAX_CALLS);
    let results: Vec<Value> = futures::stream::iter(arguments.calls)
        .map(|one| async move {
            let name = one.name;
            let outcome = if is_meta(&name) {
                Err(nested(&name))
            } else {
                run_one(server, call, &name, one.arguments).await
            };
            match outcome {
                Ok(output) => json!({ "name": name, "ok": true, "output": output }),
                Err(error) => json!({ "name": name, "ok": false, "error": error_body(&error) }),
            }
        })
        .buffered(at_once)
        .collect()
        .await;
    Ok(json!({ "results": results }))
}

/// One call of a batch: no elicitation inside a batch, so a missing connection is an error
/// that carries its link.
async fn run_one(
    server: &ToolServer,
    call: &McpCaller,
    name: &str,
    arguments: Option<Map<String, Value>>,
) -> Result<Value, ApiError> {
    let pack = call
        .pack
        .as_ref()
        .map(|(n, pack)| (n.as_str(), pack.as_ref()));
    crate::app::tools::packs::admit(&server.state, &call.caller, pack, name).await?;
    let arguments = arguments.map(Value::Object).unwrap_or(Value::Null);
    match invoke(
        &server.state,
        &call.caller,
        call.scope.as_deref(),
        name,
        arguments,
        Via::Mcp,
        Confirmation::None,
    )
    .await
    {
        Ok(answer) => Ok(answer.value.output),
        // No elicitation inside a batch: a held call is an error saying how to confirm it.
        Err(ToolError::NeedsConfirmation { rule }) => Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "policy rule `{rule}` asks for a confirmation: call `{name}` alone with {EXECUTE}"
            ),
        )),
        Err(other) => Err(other.into()),
    }
}

async fn connections(
    server: &ToolServer,
    call: &McpCaller,
    arguments: &Value,
) -> Result<Value, ApiError> {
    let arguments: ConnectionArguments = parse(arguments)?;
    let tenant = &call.caller.tenant;
    match (arguments.action.as_str(), arguments.connector) {
        ("list", _) => {
            let (connections, connectable) = connections_overview(&server.state, tenant).await?;
            Ok(json!({ "connections": connections, "connectable": connectable }))
        }
        ("connect", Some(connector)) => {
            let link = ConnectLink::to_connect_connector(&server.state, tenant, &connector)
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::NotFound,
                        format!("there is no connector `{connector}` here; `list` names them"),
                    )
                })?;
            Ok(json!({
                "connector": link.connector,
                "connect_url": link.url,
                "message": link.message(),
            }))
        }
        ("connect", None) => Err(ApiError::new(
            ErrorCode::Validation,
            "`connect` needs `connector`",
        )),
        (other, _) => Err(ApiError::new(
            ErrorCode::Validation,
            format!("action `{other}` is not `list` or `connect`"),
        )),
    }
}
