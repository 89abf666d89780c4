//! OAuth routes: a tenant's own OAuth client, `authorize`, and the callback (the browser's
//! GET, or a client's authenticated POST).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};
use crate::app::audit::{audit, audit_failure};
use crate::app::callers::TenantCaller;
use crate::app::connections::create_from_oauth;
use crate::connection::views::ConnectionView;
use crate::credentials::{
    Authorization, AuthorizeRequest, CallbackCaller, OAuthError, StartPage, TokenError,
};
use crate::source_limit::PeerAddr;
use crate::store::OAuthApp;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutOAuthApp {
    client_id: String,
    client_secret: String,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OAuthAppView {
    connector: String,
    client_id: String,
    scopes: Vec<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeBody {
    #[serde(default)]
    #[schema(value_type = Object)]
    config: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    scopes: Vec<String>,
    redirect_uri: Option<String>,
    return_to: Option<String>,
    name: Option<String>,
    /// Which of the connector's OAuth methods (Slack: `oauth_bot` or `oauth_user`); its first
    /// when absent.
    auth_method: Option<String>,
    /// Re-authorize this connection of the tenant (one in `needs_reauth`, say): the grant
    /// replaces its credential, keeping its id, syncs and history, instead of creating a
    /// connection. Its config is used; `config` must be empty.
    connection_id: Option<String>,
}

/// What the vendor sends back. Unknown parameters (`iss`, `session_state`) are ignored.
#[derive(Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl From<OAuthError> for ApiError {
    fn from(error: OAuthError) -> Self {
        let message = error.to_string();
        match error {
            OAuthError::NotInstalled(_) => Self::new(ErrorCode::NotFound, message),
            OAuthError::NoOAuth(_) => Self::new(ErrorCode::Unsupported, message),
            OAuthError::NoClient(_)
            | OAuthError::InvalidRequest(_)
            | OAuthError::ConfigRejected(_) => Self::new(ErrorCode::Validation, message),
            OAuthError::State(_) => {
                Self::new(ErrorCode::Validation, message).with_status(StatusCode::BAD_REQUEST)
            }
            OAuthError::Replayed => Self::new(ErrorCode::Conflict, message),
            OAuthError::WrongTenant | OAuthError::OtherBrowser => {
                Self::new(ErrorCode::Forbidden, message)
            }
            OAuthError::Quota(_) => Self::new(ErrorCode::Conflict, message),
            OAuthError::Denied { error, .. } => Self::new(ErrorCode::Forbidden, message)
                .with_details(json!({ "vendor_error": error })),
            OAuthError::Exchange(TokenError::InvalidGrant(_) | TokenError::Rejected { .. }) => {
                Self::new(ErrorCode::Validation, message).with_status(StatusCode::BAD_REQUEST)
            }
            OAuthError::Exchange(TokenError::Failed(_)) => {
                Self::new(ErrorCode::VendorError, message)
            }
            OAuthError::Store(error) => error.into(),
            OAuthError::Plugin(error) => ApiError::from_call(error),
        }
    }
}

/// `PUT /api/v1/connectors/{connector}/oauth-app`: the tenant's own OAuth client (secret sealed).
#[utoipa::path(put, path = "/api/v1/connectors/{connector}/oauth-app", tag = "oauth",
    params(("connector" = String, Path)), request_body = PutOAuthApp,
    responses((status = 200, description = "stored; the secret is never returned", body = Success<OAuthAppView>),
        ErrorResponses),
    security(("tenant_key" = [])))]
pub async fn put_app(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(connector): ApiPath<String>,
    ApiJson(body): ApiJson<PutOAuthApp>,
) -> Result<Envelope<OAuthAppView>, ApiError> {
    let plugin = state
        .runtime
        .connector_for(&caller.tenant, &connector)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("connector `{connector}` is not installed"),
            )
        })?;
    if crate::credentials::OAuthEndpoints::of(&plugin).is_none() {
        return Err(OAuthError::NoOAuth(connector).into());
    }
    if body.client_id.trim().is_empty() || body.client_secret.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "client_id and client_secret must not be empty",
        ));
    }
    let app = OAuthApp {
        client_id: body.client_id,
        client_secret: body.client_secret,
        scopes: body.scopes,
    };
    state
        .store
        .put_oauth_app(&caller.tenant, &connector, &app)
        .await?;
    audit(
        &state,
        &caller,
        "oauth_app.set",
        &connector,
        json!({ "client_id": app.client_id }),
    )
    .await;
    Ok(Envelope::ok(OAuthAppView {
        connector,
        client_id: app.client_id,
        scopes: app.scopes,
    }))
}

/// `POST /api/v1/oauth/{connector}/authorize`.
#[utoipa::path(post, path = "/api/v1/oauth/{connector}/authorize", tag = "oauth",
    params(("connector" = String, Path)), request_body = AuthorizeBody,
    responses((status = 200, description = "send the user to authorization_url", body = Success<Authorization>),
        ErrorResponses),
    security(("tenant_key" = [])))]
pub async fn authorize(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(connector): ApiPath<String>,
    ApiJson(body): ApiJson<AuthorizeBody>,
) -> Result<Envelope<Authorization>, ApiError> {
    // The name is checked now, not when the vendor sends the user back with a grant that
    // could then not be kept.
    if let Some(name) = &body.name {
        crate::app::connections::check_name(name)?;
    }
    let mut config = body.config;
    if let Some(id) = &body.connection_id {
        config =
            crate::app::connections::reconnectable(&state, &caller.tenant, &connector, id, config)
                .await?;
    }
    let authorization = state
        .oauth
        .authorize(AuthorizeRequest {
            tenant: caller.tenant,
            connector,
            config,
            scopes: body.scopes,
            redirect_uri: body.redirect_uri,
            return_to: body.return_to,
            name: body.name,
            auth_method: body.auth_method,
            reconnect: body.connection_id,
        })
        .await?;
    Ok(Envelope::ok(authorization))
}

/// `GET /api/v1/oauth/start` query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartParams {
    state: String,
}

/// Anyone can reach the start page and the callback: a source past its allowance gets 429
/// before any lookup.
fn admit_source(
    state: &App,
    source: Option<std::net::IpAddr>,
    surface: &'static str,
) -> Result<(), ApiError> {
    if state.sources.admit_on(source, &state.refusal_log, surface) {
        return Ok(());
    }
    let mut error = ApiError::new(
        ErrorCode::RateLimited,
        "too many requests from this address; slow down",
    );
    error.retry_after_secs = Some(1);
    Err(error)
}

/// `GET /api/v1/oauth/start?state=...`: where `authorize` sends the user. Binds the flow to
/// this browser with an HttpOnly, SameSite=Lax cookie (the first browser to open it; the same
/// browser may reload it), and shows which tenant and connector are asking before the user
/// continues to the vendor.
#[utoipa::path(get, path = "/api/v1/oauth/start", tag = "oauth", params(StartParams),
    responses((status = 200, description = "an HTML page naming the tenant and connector, with a link to the vendor"),
        ErrorResponses))]
pub async fn start(
    State(state): State<App>,
    PeerAddr(source): PeerAddr,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<StartParams>,
) -> Result<Response, ApiError> {
    admit_source(&state, source, "oauth_start")?;
    let cookies = |name: &str| cookie(&headers, name);
    let page = state.oauth.start(&params.state, &cookies).await?;
    let secure = if state.oauth.secure_cookie() {
        "; Secure"
    } else {
        ""
    };
    let set_cookie = format!(
        "{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        page.cookie.0, page.cookie.1, page.max_age_secs
    );
    Ok((
        [
            (header::SET_COOKIE, set_cookie),
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
            (header::X_FRAME_OPTIONS, "DENY".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'".to_owned(),
            ),
        ],
        start_page_html(&page),
    )
        .into_response())
}

fn start_page_html(page: &StartPage) -> String {
    let vendor_host = url::Url::parse(&page.vendor_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Connect {connector}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head>\
         <body style=\"font-family:sans-serif;max-width:36em;margin:4em auto\">\
         <h1>Connect {connector}</h1>\
         <p><strong>{tenant}</strong> (tenant <code>{tenant_id}</code>) asks to connect your \
         {connector} account. Continue only if you started this from {tenant}'s application.</p>\
         <p><a href=\"{url}\" rel=\"noreferrer\">Continue to {vendor_host}</a></p></body></html>",
        connector = html_escape(&page.connector_name),
        tenant = html_escape(&page.tenant_name),
        tenant_id = html_escape(&page.tenant_id),
        url = html_escape(&page.vendor_url),
        vendor_host = html_escape(&vendor_host),
    )
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The value of cookie `name` in the request, if any.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// `GET /api/v1/oauth/callback`: where the vendor sends the user's browser. The signed state
/// names the tenant, and the browser must carry the cookie the start page set; JSON answer,
/// or a 302 to `return_to` with `connection_id`.
#[utoipa::path(get, path = "/api/v1/oauth/callback", tag = "oauth", params(CallbackParams),
    responses((status = 201, description = "the connection", body = Success<ConnectionView>),
        (status = 302, description = "redirect to return_to?connection_id=..."),
        ErrorResponses))]
pub async fn callback_browser(
    State(state): State<App>,
    PeerAddr(source): PeerAddr,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<CallbackParams>,
) -> Result<Response, ApiError> {
    admit_source(&state, source, "oauth_callback")?;
    let cookies = |name: &str| cookie(&headers, name);
    complete(&state, params, CallbackCaller::Browser(&cookies)).await
}

/// `POST /api/v1/oauth/callback`: a client that received the code itself completes the flow
/// with its API key; the state must be its own tenant's.
#[utoipa::path(post, path = "/api/v1/oauth/callback", tag = "oauth", request_body = CallbackParams,
    responses((status = 201, description = "the connection", body = Success<ConnectionView>),
        ErrorResponses),
    security(("tenant_key" = [])))]
pub async fn callback_client(
    State(state): State<App>,
    caller: TenantCaller,
    ApiJson(params): ApiJson<CallbackParams>,
) -> Result<Response, ApiError> {
    complete(&state, params, CallbackCaller::Tenant(&caller.tenant)).await
}

async fn complete(
    state: &App,
    params: CallbackParams,
    caller: CallbackCaller<'_>,
) -> Result<Response, ApiError> {
    let tenant = match params.state.as_deref() {
        Some(signed) => state.oauth.state_tenant(signed).await,
        None => None,
    };
    let result = finish(state, &params, caller).await;
    if let Err(error) = &result {
        // A failure is audited in the log of the tenant the state names when its signature
        // holds (that tenant's log has retention). A callback with no valid state is anyone's
        // request: counted and sampled into the log, never an audit record each.
        let tenant = match (tenant, caller) {
            (Some(tenant), _) => Some(tenant),
            (None, CallbackCaller::Tenant(tenant)) => Some(tenant.to_owned()),
            (None, CallbackCaller::Browser(_)) => None,
        };
        match tenant {
            Some(tenant) => {
                let auditor = TenantCaller {
                    tenant,
                    actor: match caller {
                        CallbackCaller::Browser(_) => "browser".into(),
                        CallbackCaller::Tenant(_) => "oauth-client".into(),
                    },
                };
                audit_failure(state, &auditor, "oauth.grant", "callback", error).await;
            }
            None => {
                crate::source_limit::refused(&state.refusal_log, "oauth_callback", "invalid_state")
            }
        }
    }
    result
}

async fn finish(
    state: &App,
    params: &CallbackParams,
    caller: CallbackCaller<'_>,
) -> Result<Response, ApiError> {
    let vendor_error = params.error.as_deref().map(|error| {
        (
            error,
            params.error_description.as_deref().unwrap_or_default(),
        )
    });
    let outcome = state
        .oauth
        .callback(
            params.state.as_deref(),
            params.code.as_deref(),
            vendor_error,
            caller,
        )
        .await?;
    // `return_to` was checked against the tenant's registered origins when the flow began.
    let return_to = outcome.session.return_to.clone();
    let cookie_name = state.oauth.cookie_name(&outcome.session.id);
    let record = create_from_oauth(state, outcome).await?;
    let clear_cookie = format!("{cookie_name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    if let Some(return_to) = return_to
        && let Ok(mut url) = url::Url::parse(&return_to)
    {
        url.query_pairs_mut()
            .append_pair("connection_id", &record.id);
        return Ok((
            StatusCode::FOUND,
            [
                (header::LOCATION, url.to_string()),
                (header::SET_COOKIE, clear_cookie),
            ],
        )
            .into_response());
    }
    let mut response = Envelope::created(ConnectionView::from(record)).into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&clear_cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}
