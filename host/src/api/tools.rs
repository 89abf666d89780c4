//! Agent tools over REST: `GET /api/v1/tools` lists the caller's catalogue,
//! `POST /api/v1/tools/invoke` runs one (the use cases are `app::tools`).

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::tools::resumption;
use crate::app::tools::{
    CONNECTION_ARGUMENT, Catalogue, Confirmation, ToolError, ToolResult, ToolView, Via, invoke,
};

use super::extract::{ApiJson, ApiQuery};
use super::openapi::{ErrorEnvelope, ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};
use crate::app::callers::TenantCaller;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ToolsQuery {
    /// Only the tools of this connection (without a `connection_id` argument).
    connection_id: Option<String>,
}

/// `POST /api/v1/tools/invoke`. `name` or `tool_name` are accepted for `tool`, and `input` or
/// `params` for `arguments`
/// (the shapes earlier tool APIs used), and `connection_id` at the top level as well as among
/// the arguments.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvokeTool {
    /// The tool's name, as `GET /api/v1/tools` lists it.
    #[serde(alias = "name", alias = "tool_name")]
    tool: String,
    /// Arguments matching the tool's input schema. Default: `{}`.
    #[serde(default, alias = "input", alias = "params")]
    #[schema(value_type = Option<Object>)]
    arguments: Option<Value>,
    /// Which connection to use, when the tenant has several of the tool's connector.
    connection_id: Option<String>,
    /// For a call a policy rule holds: the token its 409 answered, sent back with the same
    /// tool and arguments to confirm it (once, within 5 minutes).
    confirmation_token: Option<String>,
}

/// `GET /api/v1/tools`: the caller's tools, in a stable order.
#[utoipa::path(get, path = "/api/v1/tools", tag = "tools", params(ToolsQuery), responses((status = 200, description = "the tenant's tools", body = Success<Vec<ToolView>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn list(
    State(state): State<App>,
    caller: TenantCaller,
    ApiQuery(query): ApiQuery<ToolsQuery>,
) -> Result<Envelope<Vec<ToolView>>, ApiError> {
    let scope = query.connection_id.as_deref();
    let catalogue = Catalogue::for_tenant(&state, &caller.tenant, scope).await?;
    Ok(Envelope::ok(catalogue.into_views()))
}

/// `POST /api/v1/tools/invoke`: runs one tool. Arguments are checked against its schema
/// before any plugin runs. Never retried by the host.
#[utoipa::path(post, path = "/api/v1/tools/invoke", tag = "tools", request_body = InvokeTool, responses((status = 200, description = "what the tool answered", body = Success<ToolResult>), (status = 404, description = "no such tool for this tenant", body = ErrorEnvelope), (status = 409, description = "the tenant has no working connection for this tool (NOT_CONNECTED, or REAUTH_REQUIRED; details.connect_url is where the person connects), or a policy rule holds the call (CONFLICT; details.confirmation_token confirms it)", body = ErrorEnvelope), (status = 403, description = "a policy rule refuses the tool (details.rule)", body = ErrorEnvelope), (status = 422, description = "arguments do not match the schema; details.errors name each path", body = ErrorEnvelope), ErrorResponses), security(("tenant_key" = [])))]
pub async fn invoke_tool(
    State(state): State<App>,
    caller: TenantCaller,
    ApiJson(body): ApiJson<InvokeTool>,
) -> Result<Envelope<ToolResult>, ApiError> {
    let mut arguments = body
        .arguments
        .unwrap_or_else(|| Value::Object(Default::default()));
    if let Some(id) = body.connection_id {
        let Some(object) = arguments.as_object_mut() else {
            return Err(ApiError::new(
                ErrorCode::Validation,
                "arguments must be a JSON object",
            ));
        };
        match object.get(CONNECTION_ARGUMENT) {
            Some(inner) if inner != id.as_str() => {
                return Err(ApiError::new(
                    ErrorCode::Validation,
                    "connection_id is given twice, with different values",
                ));
            }
            _ => {
                object.insert(CONNECTION_ARGUMENT.to_owned(), Value::String(id));
            }
        }
    }
    let confirmation = match &body.confirmation_token {
        Some(token) => Confirmation::Token(token),
        None => Confirmation::None,
    };
    // Kept for a confirmation token, which is bound to the call's arguments.
    let asked = arguments.clone();
    match invoke(
        &state,
        &caller,
        None,
        &body.tool,
        arguments,
        Via::Rest,
        confirmation,
    )
    .await
    {
        Ok(answer) => Ok(Envelope::served(answer)),
        Err(ToolError::NeedsConfirmation { rule }) => {
            let token = resumption::confirmation_token(&state, &caller, &body.tool, &asked)?;
            Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "policy rule `{rule}` asks for a confirmation: send the same call again with \
                     `confirmation_token` once the person agreed"
                ),
            )
            .with_details(json!({
                "rule": rule,
                "confirmation_token": token,
                "expires_in_secs": resumption::CONFIRMATION_TTL.as_secs(),
            })))
        }
        Err(error) => Err(error.into()),
    }
}
