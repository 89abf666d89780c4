//! The consent page of the MCP authorization server (`/console/authorize`): a signed-in
//! tenant sees which client asks, where the answer goes (its redirect URI's host), which MCP
//! endpoint and scopes, and allows or denies. Not signed in, the sign-in page comes first and
//! brings the user back here. A client's metadata document is fetched only for a signed-in
//! tenant. The form carries the session's CSRF token; every parameter is checked again when
//! it comes back.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{ConsoleError, alert, page};
use super::session::ConsoleUser;
use crate::app::App;
use crate::app::mcp_authorization::clients::ClientSource;
use crate::app::mcp_authorization::request::{AuthorizationParams, RequestError};
use crate::app::mcp_authorization::{AuthorizationRequest, OAuthError, grants, issuer};
use crate::credentials::unix_now;

/// `GET /console/authorize`.
pub async fn page_for(
    State(state): State<App>,
    user: Result<ConsoleUser, Response>,
    Query(params): Query<AuthorizationParams>,
    uri: axum::http::Uri,
) -> Result<Response, ConsoleError> {
    if !state.settings.mcp_authorization.enabled {
        return Err(ConsoleError::new(
            StatusCode::NOT_FOUND,
            "this host's MCP authorization server is turned off",
        ));
    }
    let Ok(user) = user else {
        return Ok(super::session::sign_in_first(&uri, "/console/authorize"));
    };
    let request = match checked(&state, &user, &params).await {
        Ok(request) => request,
        Err(response) => return Ok(response),
    };
    let mut response = consent_page(&state, &user, &request, &params).into_response();
    allow_form_to(&mut response, &request.redirect_uri);
    Ok(response)
}

/// The consent form's fields.
#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(flatten)]
    params: AuthorizationParams,
}

/// `POST /console/authorize`: the tenant's answer.
pub async fn decide(
    State(state): State<App>,
    user: ConsoleUser,
    Form(form): Form<ConsentForm>,
) -> Result<Response, ConsoleError> {
    if !state.settings.mcp_authorization.enabled {
        return Err(ConsoleError::new(
            StatusCode::NOT_FOUND,
            "this host's MCP authorization server is turned off",
        ));
    }
    user.check_csrf(&form.csrf)?;
    let request = match checked(&state, &user, &form.params).await {
        Ok(request) => request,
        Err(response) => return Ok(response),
    };
    let location = if form.decision == "allow" {
        match grants::consent(&state, &user.tenant, &user.actor(), &request, unix_now()).await {
            Ok(location) => location,
            Err(error) => {
                return Ok(refused(
                    &state,
                    Some(&user),
                    RequestError::Redirect {
                        error,
                        redirect_uri: request.redirect_uri,
                        state: request.state,
                    },
                ));
            }
        }
    } else {
        error_location(
            &state,
            &request.redirect_uri,
            request.state.as_deref(),
            &OAuthError::AccessDenied,
        )
    };
    let mut response = see_other(&location);
    allow_form_to(&mut response, &request.redirect_uri);
    Ok(response)
}

/// The request checked for this tenant: its parameters, the connection its resource names,
/// and a registration's age.
async fn checked(
    state: &App,
    user: &ConsoleUser,
    params: &AuthorizationParams,
) -> Result<AuthorizationRequest, Response> {
    let request = AuthorizationRequest::check(state, params)
        .await
        .map_err(|error| refused(state, Some(user), error))?;
    if let ClientSource::Registered { issued_at } = request.client.source {
        let ttl = state.settings.mcp_authorization.registration_ttl.as_secs();
        let expired = issued_at.saturating_add(ttl) <= unix_now();
        if expired
            && !grants::holds_grant_for(state, &user.tenant, &request.client.id)
                .await
                .unwrap_or(false)
        {
            return Err(refused(
                state,
                Some(user),
                RequestError::Show(OAuthError::InvalidClient(
                    "the client's registration expired unused; the client must register again"
                        .into(),
                )),
            ));
        }
    }
    if let Some(connection) = &request.connection
        && crate::connection::load(state, &user.tenant, connection)
            .await
            .is_err()
    {
        return Err(refused(
            state,
            Some(user),
            RequestError::Redirect {
                error: OAuthError::InvalidTarget(
                    "the resource names a connection this tenant does not have".into(),
                ),
                redirect_uri: request.redirect_uri.clone(),
                state: request.state.clone(),
            },
        ));
    }
    if let Some(pack) = request.pack()
        && !matches!(
            crate::app::tools::packs::pack(state, &user.tenant, pack).await,
            Ok(Some(_))
        )
    {
        return Err(refused(
            state,
            Some(user),
            RequestError::Redirect {
                error: OAuthError::InvalidScope(format!("this tenant has no tool pack `{pack}`")),
                redirect_uri: request.redirect_uri.clone(),
                state: request.state.clone(),
            },
        ));
    }
    Ok(request)
}

/// A refusal: shown (400) when the client is not known good, else sent back to it.
fn refused(state: &App, user: Option<&ConsoleUser>, error: RequestError) -> Response {
    match error {
        RequestError::Show(error) => {
            if let OAuthError::Server(source) = &error {
                tracing::error!(error = %source, "the consent page failed");
            }
            let status = match error {
                OAuthError::Server(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            let message = format!("{} ({})", error, error.code());
            (
                status,
                page(
                    "Authorization refused",
                    user,
                    html! {
                        h1 { "This authorization request cannot be used" }
                        (alert(Some(&message)))
                        p { "Nothing was granted. Go back to the application and connect again; if this keeps happening, its registration or redirect address is not one this host accepts." }
                    },
                ),
            )
                .into_response()
        }
        RequestError::Redirect {
            error,
            redirect_uri,
            state: client_state,
        } => {
            let location = error_location(state, &redirect_uri, client_state.as_deref(), &error);
            let mut response = see_other(&location);
            allow_form_to(&mut response, &redirect_uri);
            response
        }
    }
}

/// The client's redirect URI with `error`, `error_description`, `state` and `iss`.
fn error_location(
    state: &App,
    redirect_uri: &str,
    client_state: Option<&str>,
    error: &OAuthError,
) -> String {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return redirect_uri.to_owned();
    };
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("error", error.code());
        query.append_pair("error_description", &error.to_string());
        if let Some(client_state) = client_state {
            query.append_pair("state", client_state);
        }
        query.append_pair("iss", &issuer(&state.public_url));
    }
    url.into()
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => ConsoleError::new(
            StatusCode::BAD_REQUEST,
            "the redirect URI cannot be sent as a location",
        )
        .into_response(),
    }
}

/// The console's policy, with the consent form allowed to land on the client's redirect URI
/// (browsers hold a form's redirect to `form-action`).
fn allow_form_to(response: &mut Response, redirect_uri: &str) {
    let Ok(url) = url::Url::parse(redirect_uri) else {
        return;
    };
    let source = match url.scheme() {
        "http" | "https" => url.origin().ascii_serialization(),
        scheme => format!("{scheme}:"),
    };
    let policy = super::CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {source}"),
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

fn consent_page(
    state: &App,
    user: &ConsoleUser,
    request: &AuthorizationRequest,
    params: &AuthorizationParams,
) -> Markup {
    let redirect_host = url::Url::parse(&request.redirect_uri)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| request.redirect_uri.clone());
    let endpoint = format!("{}{}", issuer(&state.public_url), request.resource);
    let hidden = [
        ("response_type", params.response_type.as_deref()),
        ("client_id", Some(request.client.id.as_str())),
        ("redirect_uri", Some(request.redirect_uri.as_str())),
        ("code_challenge", Some(request.challenge.as_str())),
        (
            "code_challenge_method",
            params.code_challenge_method.as_deref(),
        ),
        ("state", request.state.as_deref()),
        ("scope", Some(request.scope.as_str())),
        ("resource", params.resource.as_deref()),
    ];
    page(
        "Authorize an MCP client",
        Some(user),
        html! {
            h1 { "Authorize " (request.client.name) }
            p {
                strong { (request.client.name) } " asks to use the tools of tenant "
                strong { (user.tenant) } " through this host's MCP server."
            }
            dl {
                dt { "Client" }
                dd {
                    @match request.client.source {
                        ClientSource::MetadataDocument => { "described at " code { (request.client.id) } }
                        ClientSource::Registered { .. } => { "registered with this host (the name is the client's own claim)" }
                    }
                }
                dt { "Answers go to" }
                dd { code { (redirect_host) } }
                dt { "Endpoint" }
                dd {
                    code { (endpoint) }
                    @if let Some(connection) = &request.connection {
                        " (only connection " code { (connection) } ")"
                    } @else {
                        " (every connection of the tenant)"
                    }
                    @if let Some(pack) = request.pack() {
                        ", only the tools of pack " code { (pack) }
                    }
                }
                dt { "Scopes" }
                dd { code { (request.scope) } ": list and call the tools, as an API key of this tenant could" }
            }
            p class="hint" { "Allow only if you started this from that application. You can revoke it any time under Authorized clients." }
            form method="post" action="/console/authorize" {
                input type="hidden" name="csrf" value=(user.csrf);
                @for (name, value) in hidden {
                    @if let Some(value) = value {
                        input type="hidden" name=(name) value=(value);
                    }
                }
                button type="submit" name="decision" value="allow" { "Allow" }
                " "
                button class="secondary" type="submit" name="decision" value="deny" { "Deny" }
            }
        },
    )
}
