//! Agent tools: the catalogue an agent sees for this tenant (`GET /api/v1/tools`, MCP
//! `tools/list`), each tool with its annotations and input schema, and a form to run one with
//! JSON arguments through the same invocation path (checked against the schema first, audited
//! with `via: console`).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::layout::{ConsoleError, alert, page};
use super::session::ConsoleUser;
use crate::app::App;
use crate::app::tools::resumption;
use crate::app::tools::{Catalogue, Confirmation, ToolError, ToolView, Via, invoke};
use crate::error::{ApiError, ErrorCode};

/// Largest arguments document the form takes.
const MAX_ARGUMENTS: usize = 64 * 1024;

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

fn badges(tool: &ToolView) -> Markup {
    let a = &tool.annotations;
    html! {
        @if a.read_only { span class="badge" { "read-only" } " " }
        @if a.destructive { span class="badge bad" { "destructive" } " " }
        @if a.idempotent { span class="badge" { "idempotent" } " " }
    }
}

/// `GET /console/tools`.
pub async fn list(State(state): State<App>, user: ConsoleUser) -> Result<Markup, ConsoleError> {
    let tools = Catalogue::for_tenant(&state, &user.tenant, None)
        .await
        .map_err(|e| ConsoleError::from(e).for_user(&user))?
        .into_views();
    Ok(page(
        "Tools",
        Some(&user),
        html! {
            h1 { "Agent tools" }
            p { "What an agent sees for your connections, through " code { "GET /api/v1/tools" } " and the MCP server at " code { "/mcp" } "." }
            @if tools.is_empty() {
                p { "No tools yet: " a href="/console/connectors" { "connect an account" } " first." }
            }
            table {
                thead { tr { th scope="col" { "Tool" } th scope="col" { "Connector" } th scope="col" { "What it does" } } }
                tbody {
                    @for tool in &tools {
                        tr {
                            td { a href={ "/console/tools/" (tool.name) } { code { (tool.name) } } }
                            td { (tool.connector) }
                            td { (tool.title) br; span class="hint" { (badges(tool)) } }
                        }
                    }
                }
            }
        },
    ))
}

/// What the page shows besides the form: a refusal, a result, or a call waiting for the
/// person's confirmation.
#[derive(Default)]
struct Outcome<'a> {
    message: Option<&'a str>,
    details: Option<&'a Value>,
    output: Option<&'a Value>,
    /// The policy rule holding the call, and the token that confirms it.
    held: Option<(&'a str, &'a str)>,
}

fn tool_markup(
    user: &ConsoleUser,
    tool: &ToolView,
    arguments: &str,
    outcome: Outcome<'_>,
) -> Markup {
    let Outcome {
        message,
        details,
        output,
        held,
    } = outcome;
    page(
        &tool.name,
        Some(user),
        html! {
            p class="crumbs" { a href="/console/tools" { "Tools" } " / " (tool.name) }
            h1 { code { (tool.name) } }
            p { (tool.description) }
            p { (badges(tool)) }
            details {
                summary { "Input schema" }
                pre class="body" tabindex="0" { (pretty(&tool.input_schema)) }
            }
            @if let Some(schema) = &tool.output_schema {
                details {
                    summary { "Output schema" }
                    pre class="body" tabindex="0" { (pretty(schema)) }
                }
            }
            h2 { "Run it" }
            @if tool.annotations.destructive { p class="error" { "This tool changes or deletes data at the vendor." } }
            (alert(message))
            @if let Some(details) = details { pre class="body" { (pretty(details)) } }
            @if let Some((rule, token)) = held {
                form method="post" action={ "/console/tools/" (tool.name) } {
                    p { "Policy rule " code { (rule) } " asks you to confirm this call, with these arguments." }
                    input type="hidden" name="csrf" value=(user.csrf);
                    input type="hidden" name="arguments" value=(arguments);
                    input type="hidden" name="confirmation_token" value=(token);
                    button type="submit" { "Confirm and run " (tool.name) }
                }
            }
            form method="post" action={ "/console/tools/" (tool.name) } {
                input type="hidden" name="csrf" value=(user.csrf);
                label for="arguments" { "Arguments (JSON)" }
                textarea id="arguments" name="arguments" spellcheck="false" { (arguments) }
                button type="submit" { "Run " (tool.name) }
            }
            @if let Some(output) = output {
                h2 { "Result" }
                pre class="body" aria-label="Result" tabindex="0" { (pretty(output)) }
            }
        },
    )
}

async fn find_tool(state: &App, user: &ConsoleUser, name: &str) -> Result<ToolView, ConsoleError> {
    let fail = |e: ApiError| ConsoleError::from(e).for_user(user);
    Catalogue::for_tool(state, &user.tenant, None, name)
        .await
        .map_err(fail)?
        .find(name)
        .map(|entry| entry.view.clone())
        .ok_or_else(|| {
            fail(ApiError::new(
                ErrorCode::NotFound,
                format!("no tool `{name}`"),
            ))
        })
}

/// `GET /console/tools/{name}`.
pub async fn show(
    State(state): State<App>,
    user: ConsoleUser,
    Path(name): Path<String>,
) -> Result<Markup, ConsoleError> {
    let tool = find_tool(&state, &user, &name).await?;
    Ok(tool_markup(&user, &tool, "{}", Outcome::default()))
}

#[derive(Deserialize)]
pub struct RunForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    arguments: String,
    /// Sent by the "Confirm and run" form of a held call.
    #[serde(default)]
    confirmation_token: String,
}

/// `POST /console/tools/{name}`: runs the tool, then the same page with its result, or with
/// the envelope's message (and which arguments the schema refused).
pub async fn run(
    State(state): State<App>,
    user: ConsoleUser,
    Path(name): Path<String>,
    Form(form): Form<RunForm>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form.csrf)?;
    let tool = find_tool(&state, &user, &name).await?;
    let refused = |status: StatusCode, message: &str, details: Option<&Value>| {
        let outcome = Outcome {
            message: Some(message),
            details,
            ..Outcome::default()
        };
        let markup = tool_markup(&user, &tool, &form.arguments, outcome);
        (status, markup).into_response()
    };
    if form.arguments.len() > MAX_ARGUMENTS {
        let message = format!("arguments are larger than {MAX_ARGUMENTS} bytes");
        return Ok(refused(StatusCode::PAYLOAD_TOO_LARGE, &message, None));
    }
    let text = form.arguments.trim();
    let arguments = match serde_json::from_str::<Value>(if text.is_empty() { "{}" } else { text }) {
        Ok(value) => value,
        Err(error) => {
            let message = format!("the arguments are not JSON: {error}");
            return Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, &message, None));
        }
    };
    let caller = user.caller();
    let confirmation = match form.confirmation_token.as_str() {
        "" => Confirmation::None,
        token => Confirmation::Token(token),
    };
    // Kept for a confirmation token, which is bound to the call's arguments.
    let asked = arguments.clone();
    match invoke(
        &state,
        &caller,
        None,
        &name,
        arguments,
        Via::Console,
        confirmation,
    )
    .await
    {
        Ok(answer) => {
            let result = answer.value;
            let output = serde_json::json!({
                "connection_id": result.connection_id,
                "output": result.output,
            });
            let outcome = Outcome {
                output: Some(&output),
                ..Outcome::default()
            };
            Ok(tool_markup(&user, &tool, &form.arguments, outcome).into_response())
        }
        Err(ToolError::NeedsConfirmation { rule }) => {
            let token = resumption::confirmation_token(&state, &caller, &name, &asked)
                .map_err(|error| ConsoleError::from(error).for_user(&user))?;
            let outcome = Outcome {
                held: Some((&rule, &token)),
                ..Outcome::default()
            };
            let markup = tool_markup(&user, &tool, &form.arguments, outcome);
            Ok((StatusCode::CONFLICT, markup).into_response())
        }
        Err(error) => {
            let error = ApiError::from(error);
            let status = error.http_status();
            Ok(refused(status, &error.message, error.details.as_ref()))
        }
    }
}
