//! What the host asks the person behind an MCP client, through SEP-2322 multi round-trip
//! requests (`input_required` on MCP 2026-07-28): to connect an account (a URL elicitation of
//! the console page where they connect) when a tool's connector has no working connection, and
//! to confirm a call a policy rule holds (a form elicitation with one yes/no field). Each carries
//! a sealed `requestState` ([`resumption`]); the client retries the same call with it and the
//! person's answer, and any host of a cluster can take the retry. Clients that cannot be asked
//! get the standard missing-capability error (-32021) at once, never a wait.

use rmcp::model::{
    CallToolResponse, CallToolResult, ElicitRequest, ElicitRequestParams, ElicitationSchema,
    InputRequest, InputRequests, InputRequiredResult, InputResponses, ProtocolVersion,
};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Value, json};

use crate::app::App;
use crate::app::callers::TenantCaller;
use crate::app::tools::ConnectLink;
use crate::app::tools::resumption::{self, Purpose, ResumptionError};
use crate::credentials::unix_now;

/// The key of the input request that asks to connect.
const CONNECT_KEY: &str = "connect";
/// The key of the input request that asks to confirm, and its one field.
const CONFIRM_KEY: &str = "confirm";

/// Which elicitation mode a client must have declared.
#[derive(Clone, Copy)]
enum Mode {
    Url,
    Form,
}

/// Whether the client can take an `input_required` result with an elicitation of `mode`.
fn can_be_asked(context: &RequestContext<RoleServer>, mode: Mode) -> bool {
    // ISO dates compare as strings the way they do as dates.
    let multi_round_trip = context
        .protocol_version()
        .is_some_and(|version| version.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
    let declared = context
        .client_capabilities()
        .and_then(|capabilities| capabilities.elicitation)
        .is_some_and(|elicitation| match mode {
            Mode::Url => elicitation.url.is_some(),
            // An `elicitation` capability naming no mode means form (the spec's default).
            Mode::Form => elicitation.form.is_some() || elicitation.url.is_none(),
        });
    multi_round_trip && declared
}

/// What the client gets for a call that needs `link` first.
pub fn ask_to_connect(
    state: &App,
    caller: &TenantCaller,
    context: &RequestContext<RoleServer>,
    link: &ConnectLink,
    tool: &str,
    arguments: &Value,
) -> Result<CallToolResponse, rmcp::ErrorData> {
    if !can_be_asked(context, Mode::Url) {
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
    let request_state = issue(state, caller, Purpose::Connect, tool, arguments)?;
    let elicitation = ElicitRequest::new(ElicitRequestParams::UrlElicitationParams {
        meta: None,
        message: link.message(),
        url: link.url.clone(),
        // Removed by 2026-07-28: the request state identifies the round instead.
        elicitation_id: String::new(),
    });
    Ok(input_required(CONNECT_KEY, elicitation, request_state))
}

/// What the client gets for a call policy rule `rule` holds: a yes/no form naming the tool
/// and its arguments. `outer` is the call the client sent (the state is sealed for it), `tool`
/// and `tool_arguments` the one that will run.
pub fn ask_to_confirm(
    state: &App,
    caller: &TenantCaller,
    context: &RequestContext<RoleServer>,
    rule: &str,
    (tool, tool_arguments): (&str, &Value),
    (outer, outer_arguments): (&str, &Value),
) -> Result<CallToolResponse, rmcp::ErrorData> {
    let mut shown = tool_arguments.to_string();
    if shown.len() > 500 {
        let cut = (0..=500)
            .rev()
            .find(|i| shown.is_char_boundary(*i))
            .unwrap_or(0);
        shown.truncate(cut);
        shown.push('…');
    }
    let message = format!("Policy rule `{rule}` asks you to confirm: run `{tool}` with {shown}?");
    if !can_be_asked(context, Mode::Form) {
        return Err(rmcp::ErrorData::new(
            rmcp::model::ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY,
            format!(
                "{message} This client did not declare form elicitation, so it cannot ask; nothing was called"
            ),
            Some(json!({
                "requiredCapabilities": { "elicitation": { "form": {} } },
                "rule": rule,
            })),
        ));
    }
    let request_state = issue(state, caller, Purpose::Confirm, outer, outer_arguments)?;
    let schema = ElicitationSchema::builder()
        .required_bool(CONFIRM_KEY)
        .build()
        .map_err(|error| rmcp::ErrorData::internal_error(error, None))?;
    let elicitation = ElicitRequest::new(ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema: schema,
    });
    Ok(input_required(CONFIRM_KEY, elicitation, request_state))
}

fn issue(
    state: &App,
    caller: &TenantCaller,
    purpose: Purpose,
    tool: &str,
    arguments: &Value,
) -> Result<String, rmcp::ErrorData> {
    resumption::issue(state, caller, purpose, tool, arguments, unix_now() * 1000).map_err(|error| {
        tracing::error!(%error, "could not seal a request state");
        rmcp::ErrorData::internal_error("could not issue a request state", None)
    })
}

fn input_required(key: &str, elicitation: ElicitRequest, state: String) -> CallToolResponse {
    let mut requests = InputRequests::new();
    requests.insert(key.to_owned(), InputRequest::Elicitation(elicitation));
    CallToolResponse::InputRequired(InputRequiredResult::new(Some(requests), Some(state)))
}

/// What a retry with a valid state leads to.
pub enum Resumed {
    /// Run the call; `confirmed` when the person confirmed a held one.
    Proceed { confirmed: bool },
    /// Do not: the person declined; this is the answer.
    Stop(CallToolResult),
}

/// A retry carrying `request_state`: the state must be this caller's, for this call, unexpired
/// and unused; then the person's answer decides.
pub async fn resume(
    state: &App,
    caller: &TenantCaller,
    request_state: &str,
    responses: Option<&InputResponses>,
    tool: &str,
    arguments: &Value,
) -> Result<Resumed, rmcp::ErrorData> {
    let purpose = resumption::redeem(
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
    let answer = |key: &str| responses.and_then(|responses| responses.get(key));
    Ok(match purpose {
        Purpose::Connect => {
            let action = answer(CONNECT_KEY)
                .and_then(|response| response.get("action"))
                .and_then(Value::as_str);
            match action {
                Some("decline" | "cancel") => {
                    Resumed::Stop(CallToolResult::structured_error(json!({
                        "code": "NOT_CONNECTED",
                        "message": "the account was not connected, so the tool was not called",
                    })))
                }
                _ => Resumed::Proceed { confirmed: false },
            }
        }
        Purpose::Confirm => {
            let response = answer(CONFIRM_KEY);
            let accepted = response
                .and_then(|response| response.get("action"))
                .and_then(Value::as_str)
                == Some("accept");
            let confirmed = response
                .and_then(|response| response.get("content"))
                .and_then(|content| content.get(CONFIRM_KEY))
                .and_then(Value::as_bool)
                == Some(true);
            if accepted && confirmed {
                Resumed::Proceed { confirmed: true }
            } else {
                Resumed::Stop(CallToolResult::structured_error(json!({
                    "code": "NOT_CONFIRMED",
                    "message": "the call was not confirmed, so the tool was not called",
                })))
            }
        }
    })
}
