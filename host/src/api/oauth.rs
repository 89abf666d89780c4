//! OAuth routes: a tenant's own OAuth client, `authorize`, and the callback (the browser's
//! GET, or a client's authenticated POST).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::TenantCaller;
use super::connections::{audit, create_from_oauth};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::openapi::{ErrorEnvelope, Success};
use super::views::ConnectionView;
use super::{ApiError, AppState, Envelope, ErrorCode};
use crate::credentials::{Authorization, AuthorizeRequest, OAuthError, TokenError};
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
            OAuthError::WrongTenant => Self::new(ErrorCode::Forbidden, message),
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
        (status = "4XX", description = "error envelope", body = ErrorEnvelope)),
    security(("tenant_key" = [])))]
pub async fn put_app(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath(connector): ApiPath<String>,
    ApiJson(body): ApiJson<PutOAuthApp>,
) -> Result<Envelope<OAuthAppView>, ApiError> {
    let plugin = state.runtime.plugin(&connector).ok_or_else(|| {
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
        (status = "4XX", description = "error envelope", body = ErrorEnvelope)),
    security(("tenant_key" = [])))]
pub async fn authorize(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath(connector): ApiPath<String>,
    ApiJson(body): ApiJson<AuthorizeBody>,
) -> Result<Envelope<Authorization>, ApiError> {
    let authorization = state
        .oauth
        .authorize(AuthorizeRequest {
            tenant: caller.tenant,
            connector,
            config: body.config,
            scopes: body.scopes,
            redirect_uri: body.redirect_uri,
            return_to: body.return_to,
            name: body.name,
        })
        .await?;
    Ok(Envelope::ok(authorization))
}

/// `GET /api/v1/oauth/callback`: where the vendor sends the user's browser. The signed state
/// names the tenant; JSON answer, or a 302 to `return_to` with `connection_id`.
#[utoipa::path(get, path = "/api/v1/oauth/callback", tag = "oauth", params(CallbackParams),
    responses((status = 201, description = "the connection", body = Success<ConnectionView>),
        (status = 302, description = "redirect to return_to?connection_id=..."),
        (status = "4XX", description = "error envelope", body = ErrorEnvelope)))]
pub async fn callback_browser(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<CallbackParams>,
) -> Result<Response, ApiError> {
    complete(&state, params, None).await
}

/// `POST /api/v1/oauth/callback`: a client that received the code itself completes the flow
/// with its API key; the state must be its own tenant's.
#[utoipa::path(post, path = "/api/v1/oauth/callback", tag = "oauth", request_body = CallbackParams,
    responses((status = 201, description = "the connection", body = Success<ConnectionView>),
        (status = "4XX", description = "error envelope", body = ErrorEnvelope)),
    security(("tenant_key" = [])))]
pub async fn callback_client(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiJson(params): ApiJson<CallbackParams>,
) -> Result<Response, ApiError> {
    complete(&state, params, Some(&caller.tenant)).await
}

async fn complete(
    state: &AppState,
    params: CallbackParams,
    caller_tenant: Option<&str>,
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
            caller_tenant,
        )
        .await?;
    let return_to = outcome.session.return_to.clone();
    let record = create_from_oauth(state, outcome).await?;
    if let Some(return_to) = return_to
        && let Ok(mut url) = url::Url::parse(&return_to)
    {
        url.query_pairs_mut()
            .append_pair("connection_id", &record.id);
        return Ok((StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response());
    }
    Ok(Envelope::created(ConnectionView::from(record)).into_response())
}
