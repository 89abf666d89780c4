//! Connecting an account inside an agent run. A `tools/call` for a connector the tenant has no
//! working connection to answers, to a client on MCP 2026-07-28 that declared URL elicitation,
//! with an `input_required` result (SEP-2322 multi round-trip): one URL-mode elicitation
//! naming the console page where the person connects, and a sealed `requestState`
//! ([`resumption`]). The client retries the same call with the state once the person is done,
//! and the call runs; any host of a cluster can take the retry. Other clients get the standard
//! missing-capability error (-32021) with the link in its message, never a wait.

use rmcp::model::{
    CallToolResponse, CallToolResult, ElicitRequest, ElicitRequestParams, InputRequest,
    InputRequests, InputRequiredResult, InputResponses, ProtocolVersion,
};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Value, json};

use crate::app::App;
use crate::app::callers::TenantCaller;
use crate::app::tools::ConnectLink;
use crate::app::tools::resumption::{self, ResumptionError};
use crate::credentials::unix_now;

/// The key of the one input request the host sends.
const INPUT_KEY: &str = "connect";

/// Whether the client can take an `input_required` result with a URL elicitation.
fn takes_url_elicitation(context: &RequestContext<RoleServer>) -> bool {
    // ISO dates compare as strings the way they do as dates.
    let multi_round_trip = context
        .protocol_version()
        .is_some_and(|version| version.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
    let url_mode = context
        .client_capabilities()
        .and_then(|capabilities| capabilities.elicitation)
        .is_some_and(|elicitation| elicitation.url.is_some());
    multi_round_trip && url_mode
}

/// What the client gets for a call that needs `link` first.
pub fn ask(
    state: &App,
    caller: &TenantCaller,
    context: &RequestContext<RoleServer>,
    link: &ConnectLink,
    tool: &str,
    arguments: &Value,
) -> Result<CallToolResponse, rmcp::ErrorData> {
    if !takes_url_elicitation(context) {
        return Err(rmcp::ErrorData::new(
            rmcp::model::ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY,
            format!(
                "{} (this client did not declare URL elicitation, so it cannot be asked to open it)",
                link.message()
            ),
            Some(json!({
                "requiredCapabilities": { "elicitation": { "url": {} } },
                "connect_url": link.url,
            })),
        ));
    }
    let request_state = resumption::issue(state, caller, tool, arguments, unix_now() * 1000)
        .map_err(|error| {
            tracing::error!(%error, "could not seal a request state");
            rmcp::ErrorData::internal_error("could not issue a request state", None)
        })?;
    let elicitation = ElicitRequest::new(ElicitRequestParams::UrlElicitationParams {
        meta: None,
        message: link.message(),
        url: link.url.clone(),
        // Removed by 2026-07-28: the request state identifies the round instead.
        elicitation_id: String::new(),
    });
    let mut requests = InputRequests::new();
    requests.insert(INPUT_KEY.to_owned(), InputRequest::Elicitation(elicitation));
    Ok(CallToolResponse::InputRequired(InputRequiredResult::new(
        Some(requests),
        Some(request_state),
    )))
}

/// A retry carrying `request_state`: the state must be this caller's, for this call, unexpired
/// and unused. `Some(result)` when the call must not run: the person declined or cancelled.
pub async fn resume(
    state: &App,
    caller: &TenantCaller,
    request_state: &str,
    responses: Option<&InputResponses>,
    tool: &str,
    arguments: &Value,
) -> Result<Option<CallToolResult>, rmcp::ErrorData> {
    resumption::redeem(
        state,
        caller,
        request_state,
        tool,
        arguments,
        unix_now() * 1000,
    )
    .await
    .map_err(|error| match error {
        ResumptionError::Store(error) => {
            tracing::warn!(%error, "could not record a request state's use");
            rmcp::ErrorData::internal_error("the store is out of reach; retry", None)
        }
        refused => rmcp::ErrorData::invalid_params(refused.to_string(), None),
    })?;
    let action = responses
        .and_then(|responses| responses.get(INPUT_KEY))
        .and_then(|response| response.get("action"))
        .and_then(Value::as_str);
    Ok(match action {
        Some("decline" | "cancel") => Some(CallToolResult::structured_error(json!({
            "code": "NOT_CONNECTED",
            "message": "the account was not connected, so the tool was not called",
        }))),
        _ => None,
    })
}
