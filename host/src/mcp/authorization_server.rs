//! The authorization server's unauthenticated endpoints (the consent page is the console's):
//! its metadata (RFC 8414), client registration (RFC 7591), the token endpoint and token
//! revocation (RFC 7009). Each takes one request from the source's allowance before it reads
//! anything, writes nothing but on a code or refresh token it can match, and answers errors as
//! RFC 6749 §5.2 says, with `Cache-Control: no-store`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json, Router};
use serde_json::json;

use crate::app::App;
use crate::app::mcp_authorization::{
    OAuthError, RegistrationRequest, SCOPES, TokenRequest, clients, grants, issuer,
};
use crate::credentials::unix_now;
use crate::source_limit::PeerAddr;

/// Where the metadata is served (the issuer has no path, so no suffix).
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// The consent page, in the console (its session cookie is scoped to `/console`).
pub const AUTHORIZE_PATH: &str = "/console/authorize";
const REGISTER_PATH: &str = "/oauth/register";
const TOKEN_PATH: &str = "/oauth/token";
const REVOKE_PATH: &str = "/oauth/revoke";
/// The surface refusals are counted on.
const SURFACE: &str = "mcp_oauth";

/// The routes, when the operator left the authorization server on.
pub fn router(state: &App) -> Router<App> {
    if !state.settings.mcp_authorization.enabled {
        return Router::new();
    }
    Router::new()
        .route(METADATA_PATH, axum::routing::get(metadata))
        .route(REGISTER_PATH, axum::routing::post(register))
        .route(TOKEN_PATH, axum::routing::post(token))
        .route(REVOKE_PATH, axum::routing::post(revoke))
}

/// An OAuth error body, `no-store`.
pub fn oauth_error(status: StatusCode, error: &OAuthError) -> Response {
    if let OAuthError::Server(source) = error {
        tracing::error!(error = %source, "the MCP authorization server failed");
    }
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "error": error.code(), "error_description": error.to_string() })),
    )
        .into_response()
}

/// 429 `slow_down` for a source past its allowance.
pub(super) fn throttled() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::RETRY_AFTER, "1"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Json(json!({
            "error": "slow_down",
            "error_description": "too many requests from this address; wait a moment",
        })),
    )
        .into_response()
}

/// A form body, or `invalid_request` saying what was `expected`.
fn form<T>(
    request: Result<Form<T>, axum::extract::rejection::FormRejection>,
    expected: &str,
) -> Result<T, OAuthError> {
    request
        .map(|Form(body)| body)
        .map_err(|_| OAuthError::InvalidRequest(expected.to_owned()))
}

/// Takes one request from the source's allowance for this surface.
pub(super) fn admitted(state: &App, source: PeerAddr) -> bool {
    state
        .sources
        .admit_on(source.0, &state.refusal_log, SURFACE)
}

/// `GET /.well-known/oauth-authorization-server`.
async fn metadata(State(state): State<App>, source: PeerAddr) -> Response {
    if !admitted(&state, source) {
        return throttled();
    }
    let base = issuer(&state.public_url);
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{base}{TOKEN_PATH}"),
        "registration_endpoint": format!("{base}{REGISTER_PATH}"),
        "revocation_endpoint": format!("{base}{REVOKE_PATH}"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": format!("{base}/docs"),
    }))
    .into_response()
}

/// `POST /oauth/register`: nothing is stored; the answer's `client_id` is the registration.
async fn register(State(state): State<App>, source: PeerAddr, body: axum::body::Bytes) -> Response {
    if !admitted(&state, source) {
        return throttled();
    }
    let request: RegistrationRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                &OAuthError::InvalidClientMetadata(format!(
                    "the body is not a registration request: {error}"
                )),
            );
        }
    };
    match clients::register(state.store.keys(), request, unix_now()) {
        Ok(registration) => (
            StatusCode::CREATED,
            [(header::CACHE_CONTROL, "no-store")],
            Json(registration),
        )
            .into_response(),
        Err(error) => oauth_error(StatusCode::BAD_REQUEST, &error),
    }
}

/// `POST /oauth/token` (form-encoded, as RFC 6749 says).
async fn token(
    State(state): State<App>,
    source: PeerAddr,
    headers: HeaderMap,
    request: Result<Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    if !admitted(&state, source) {
        return throttled();
    }
    let request = match form(
        request,
        "the body must be application/x-www-form-urlencoded token request parameters",
    ) {
        Ok(request) => request,
        Err(error) => return oauth_error(StatusCode::BAD_REQUEST, &error),
    };
    if headers.contains_key(header::AUTHORIZATION) {
        // Public clients only: a secret sent here would be one this server never issued.
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            &OAuthError::InvalidClient(
                "clients of this server are public (token_endpoint_auth_method none): send client_id in the body, no Authorization header"
                    .into(),
            ),
        );
    }
    match grants::token(&state, request, unix_now()).await {
        Ok(issued) => (
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            Json(issued),
        )
            .into_response(),
        Err(error @ OAuthError::Server(_)) => {
            oauth_error(StatusCode::INTERNAL_SERVER_ERROR, &error)
        }
        Err(error) => oauth_error(StatusCode::BAD_REQUEST, &error),
    }
}

#[derive(serde::Deserialize)]
struct RevokeRequest {
    #[serde(default)]
    token: String,
}

/// `POST /oauth/revoke`: 200 whether or not the token was known (RFC 7009 §2.2).
async fn revoke(
    State(state): State<App>,
    source: PeerAddr,
    request: Result<Form<RevokeRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    if !admitted(&state, source) {
        return throttled();
    }
    let request = match form(request, "the body must name the token to revoke") {
        Ok(request) => request,
        Err(error) => return oauth_error(StatusCode::BAD_REQUEST, &error),
    };
    match grants::revoke_token(&state, &request.token).await {
        Ok(()) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response(),
        Err(error) => oauth_error(StatusCode::SERVICE_UNAVAILABLE, &error),
    }
}
