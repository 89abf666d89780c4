//! A behavioural OAuth 2.0 authorization server: authorization code with PKCE (S256), client
//! authentication by HTTP Basic or in the body, rotating refresh tokens where a used or revoked one is
//! `invalid_grant`, RFC 7009 revocation, and counters of every token request.
//!
//! A [`Flavor`] adds one vendor's quirks to the token endpoint, as its documentation describes
//! them: GitHub, Slack (OAuth v2), Notion, Figma and Salesforce.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::FakeServer;

pub const CLIENT_ID: &str = "probe-client";
pub const CLIENT_SECRET: &str = "probe-client-secret-5e8f1a";

struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: Option<String>,
    scope: String,
    /// Slack's `user_scope`: a user token is issued under `authed_user` when not empty.
    user_scope: String,
}

/// Whose token endpoint this server plays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Flavor {
    /// RFC 6749 as written.
    #[default]
    Standard,
    /// GitHub OAuth apps: answers form-encoded unless `Accept: application/json`, errors with a
    /// `200` (`bad_verification_code`), tokens that do not expire and no refresh token.
    GitHub,
    /// Slack OAuth v2 (`oauth.v2.access`) with token rotation on: `{"ok": ...}` answers,
    /// errors with a `200` (`invalid_code`), comma-separated `scope`/`user_scope`, the bot
    /// token at the top and the user token under `authed_user`, team and app ids beside them.
    Slack,
    /// Notion public integrations: HTTP Basic client authentication and a JSON body only,
    /// workspace fields in the answer, no expiry.
    Notion,
    /// Figma: HTTP Basic client authentication, `user_id_string` beside the tokens, and
    /// refresh grants only at their own endpoint (`/refresh` here, Figma's
    /// `/v1/oauth/refresh`), which answers a new access token and keeps the refresh token.
    Figma,
    /// Salesforce's web-server flow: `instance_url` (the org's origin) and the identity URL
    /// `id` beside the tokens, no `expires_in`, and refreshes that keep the refresh token.
    Salesforce,
}

#[derive(Default)]
struct AuthState {
    clients: HashMap<String, String>,
    codes: HashMap<String, Grant>,
    access: HashMap<String, Instant>,
    /// Refresh tokens and whether they may still be used.
    refresh: HashMap<String, bool>,
    access_ttl: u64,
    deny_next: bool,
    issued: u64,
    code_requests: u64,
    refresh_requests: u64,
    revoked: Vec<String>,
    authorize_queries: Vec<HashMap<String, String>>,
    flavor: Flavor,
    /// The org origin a Salesforce grant names.
    instance_url: String,
    /// Access tokens that are user tokens (Slack), to answer refreshes with the right type.
    user_refresh: std::collections::HashSet<String>,
    /// When set, refresh grants wait for a permit before they are answered.
    refresh_gate: Option<Arc<tokio::sync::Semaphore>>,
    /// Refresh grants that arrived while the gate was set.
    refreshes_held: u64,
}

/// A running authorization server.
#[derive(Clone)]
pub struct OAuthServer {
    state: Arc<Mutex<AuthState>>,
    origin: String,
    _server: Arc<FakeServer>,
}

impl OAuthServer {
    /// Starts with one client (`CLIENT_ID`/`CLIENT_SECRET`) and access tokens valid for `access_ttl`.
    pub async fn start(access_ttl: Duration) -> Self {
        Self::start_as(Flavor::Standard, access_ttl).await
    }

    /// Starts playing `flavor`'s token endpoint.
    pub async fn start_as(flavor: Flavor, access_ttl: Duration) -> Self {
        let state = Arc::new(Mutex::new(AuthState {
            access_ttl: access_ttl.as_secs(),
            flavor,
            ..AuthState::default()
        }));
        state
            .lock()
            .unwrap()
            .clients
            .insert(CLIENT_ID.into(), CLIENT_SECRET.into());
        let router = Router::new()
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/revoke", post(revoke))
            .route("/refresh", post(figma_refresh))
            .with_state(state.clone());
        let server = FakeServer::start(router).await;
        Self {
            state,
            origin: server.origin(),
            _server: Arc::new(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// Whether a bearer token is one of this server's live access tokens, for a vendor fake's
    /// `start_checking`.
    pub fn token_checker(&self) -> super::github::TokenChecker {
        let server = self.clone();
        Arc::new(move |token| server.access_token_valid(token))
    }

    /// The `instance_url` Salesforce grants name.
    pub fn set_instance_url(&self, origin: &str) {
        self.state.lock().unwrap().instance_url = origin.to_owned();
    }

    /// Registers another client.
    pub fn add_client(&self, id: &str, secret: &str) {
        self.state
            .lock()
            .unwrap()
            .clients
            .insert(id.into(), secret.into());
    }

    /// Code exchanges so far.
    pub fn code_requests(&self) -> u64 {
        self.state.lock().unwrap().code_requests
    }

    /// Refresh requests so far.
    /// Refresh grants wait, unanswered, until [`OAuthServer::release_refreshes`].
    pub fn hold_refreshes(&self) {
        self.state.lock().unwrap().refresh_gate = Some(Arc::new(tokio::sync::Semaphore::new(0)));
    }

    /// Refresh grants that arrived while they were held.
    pub fn refreshes_held(&self) -> u64 {
        self.state.lock().unwrap().refreshes_held
    }

    /// Answers the held refresh grants, and no longer holds new ones.
    pub fn release_refreshes(&self) {
        if let Some(gate) = self.state.lock().unwrap().refresh_gate.take() {
            gate.add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
        }
    }

    pub fn refresh_requests(&self) -> u64 {
        self.state.lock().unwrap().refresh_requests
    }

    /// The next authorization is refused by the "user" (`error=access_denied`).
    pub fn deny_next(&self) {
        self.state.lock().unwrap().deny_next = true;
    }

    /// Revokes every refresh token (the user removed the app at the vendor).
    pub fn revoke_all_refresh_tokens(&self) {
        for active in self.state.lock().unwrap().refresh.values_mut() {
            *active = false;
        }
    }

    /// Invalidates every access token (the vendor rotated its keys).
    pub fn expire_all_access_tokens(&self) {
        self.state.lock().unwrap().access.clear();
    }

    /// Sets the lifetime of access tokens issued from now on.
    pub fn set_access_ttl(&self, ttl: Duration) {
        self.state.lock().unwrap().access_ttl = ttl.as_secs();
    }

    /// Whether `token` is a live access token (the vendor fake asks this).
    pub fn access_token_valid(&self, token: &str) -> bool {
        self.state
            .lock()
            .unwrap()
            .access
            .get(token)
            .is_some_and(|expires| *expires > Instant::now())
    }

    /// Tokens revoked through the revocation endpoint.
    pub fn revoked(&self) -> Vec<String> {
        self.state.lock().unwrap().revoked.clone()
    }

    /// Query parameters of every authorize request.
    pub fn authorize_queries(&self) -> Vec<HashMap<String, String>> {
        self.state.lock().unwrap().authorize_queries.clone()
    }

    /// Every token this server issued (to scan logs and responses for them).
    pub fn issued_tokens(&self) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state
            .access
            .keys()
            .chain(state.refresh.keys())
            .cloned()
            .collect()
    }
}

async fn authorize(
    State(state): State<Arc<Mutex<AuthState>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().unwrap();
    state.authorize_queries.push(query.clone());
    let (Some(redirect_uri), Some(client_id)) = (query.get("redirect_uri"), query.get("client_id"))
    else {
        return (
            StatusCode::BAD_REQUEST,
            "redirect_uri and client_id are required",
        )
            .into_response();
    };
    if !state.clients.contains_key(client_id)
        || query.get("response_type").map(String::as_str) != Some("code")
    {
        return (StatusCode::BAD_REQUEST, "unknown client or response type").into_response();
    }
    if query.contains_key("code_challenge")
        && query.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return (StatusCode::BAD_REQUEST, "only S256").into_response();
    }
    let mut target = url::Url::parse(redirect_uri).expect("redirect_uri");
    if std::mem::take(&mut state.deny_next) {
        target
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "The user declined")
            .append_pair(
                "state",
                query.get("state").map(String::as_str).unwrap_or_default(),
            );
    } else {
        state.issued += 1;
        let code = format!("code-{}-{}", state.issued, uuid_like());
        state.codes.insert(
            code.clone(),
            Grant {
                client_id: client_id.clone(),
                redirect_uri: redirect_uri.clone(),
                challenge: query.get("code_challenge").cloned(),
                scope: query.get("scope").cloned().unwrap_or_default(),
                user_scope: query.get("user_scope").cloned().unwrap_or_default(),
            },
        );
        target
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair(
                "state",
                query.get("state").map(String::as_str).unwrap_or_default(),
            );
    }
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

fn uuid_like() -> String {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("random");
    URL_SAFE_NO_PAD.encode(bytes)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// An error as `flavor` answers it.
fn flavored_error(flavor: Flavor, status: StatusCode, error: &str, description: &str) -> Response {
    match flavor {
        Flavor::GitHub => {
            let error = if error == "invalid_grant" {
                "bad_verification_code"
            } else {
                error
            };
            oauth_error(StatusCode::OK, error, description)
        }
        Flavor::Slack => {
            let error = match error {
                "invalid_grant" => "invalid_code",
                "invalid_client" => "invalid_client_id",
                other => other,
            };
            Json(json!({"ok": false, "error": error})).into_response()
        }
        Flavor::Standard | Flavor::Notion | Flavor::Figma | Flavor::Salesforce => {
            oauth_error(status, error, description)
        }
    }
}

fn basic_client(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(value).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// A fresh access and refresh token pair, recorded as live.
fn mint(state: &mut AuthState, prefix: &str) -> (String, String) {
    state.issued += 1;
    let access = format!("{prefix}at-{}-{}", state.issued, uuid_like());
    let refresh = format!("{prefix}rt-{}-{}", state.issued, uuid_like());
    state.access.insert(
        access.clone(),
        Instant::now() + Duration::from_secs(state.access_ttl),
    );
    state.refresh.insert(refresh.clone(), true);
    (access, refresh)
}

fn issue(state: &mut AuthState, scope: &str) -> Response {
    let (access, refresh) = mint(state, "");
    Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": state.access_ttl,
        "refresh_token": refresh,
        "scope": scope,
    }))
    .into_response()
}

/// The answer to a code exchange, as `state.flavor` words it.
fn issue_for_code(state: &mut AuthState, grant: &Grant, accept_json: bool) -> Response {
    match state.flavor {
        Flavor::Standard => issue(state, &grant.scope),
        Flavor::GitHub => {
            let (access, _) = mint(state, "gho_");
            let scope = grant.scope.replace(' ', ",");
            if accept_json {
                Json(json!({"access_token": access, "token_type": "bearer", "scope": scope}))
                    .into_response()
            } else {
                let form = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("access_token", &access)
                    .append_pair("scope", &scope)
                    .append_pair("token_type", "bearer")
                    .finish();
                (
                    [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
                    form,
                )
                    .into_response()
            }
        }
        Flavor::Slack => {
            let mut answer = json!({
                "ok": true, "app_id": "A0KRD7HC3", "token_type": "bot",
                "team": {"id": SLACK_TEAM_ID, "name": "Acme"}, "enterprise": null,
                "is_enterprise_install": false,
                "authed_user": {"id": "U0USER1"},
            });
            if !grant.scope.is_empty() {
                let (access, refresh) = mint(state, "xoxe.xoxb-");
                answer["access_token"] = json!(access);
                answer["refresh_token"] = json!(refresh);
                answer["expires_in"] = json!(state.access_ttl);
                answer["scope"] = json!(grant.scope);
                answer["bot_user_id"] = json!("U0BOT1");
            }
            if !grant.user_scope.is_empty() {
                let (access, refresh) = mint(state, "xoxe.xoxp-");
                state.user_refresh.insert(refresh.clone());
                answer["authed_user"] = json!({
                    "id": "U0USER1", "scope": grant.user_scope, "token_type": "user",
                    "access_token": access, "refresh_token": refresh,
                    "expires_in": state.access_ttl,
                });
            }
            Json(answer).into_response()
        }
        Flavor::Notion => notion_tokens(state),
        Flavor::Salesforce => salesforce_tokens(state, true),
        Flavor::Figma => {
            let (access, refresh) = mint(state, "figu_");
            Json(json!({
                "user_id_string": FIGMA_USER_ID, "user_id": 1_055_117_218_765_812_310_u64,
                "access_token": access, "token_type": "bearer", "refresh_token": refresh,
                "expires_in": state.access_ttl,
            }))
            .into_response()
        }
    }
}

/// Salesforce's token answer; `rotate` issues a refresh token too (a code exchange).
fn salesforce_tokens(state: &mut AuthState, rotate: bool) -> Response {
    let (access, refresh) = mint(state, "00DA0000000SFxx!");
    if !rotate {
        state.refresh.remove(&refresh);
    }
    let mut answer = json!({
        "access_token": access, "signature": "c2lnbmF0dXJl", "scope": "api refresh_token",
        "instance_url": state.instance_url,
        "id": format!("https://login.salesforce.com/id/{SALESFORCE_ORG_ID}/{SALESFORCE_USER_ID}"),
        "token_type": "Bearer", "issued_at": "1793523600000",
    });
    if rotate {
        answer["refresh_token"] = json!(refresh);
    }
    Json(answer).into_response()
}

/// The org and user every Salesforce grant belongs to.
pub const SALESFORCE_ORG_ID: &str = "00DA0000000SFxxMAA";
pub const SALESFORCE_USER_ID: &str = "005A0000001AdaXIAS";

/// The Figma user every Figma grant belongs to.
pub const FIGMA_USER_ID: &str = "1055117218765812310";

/// Figma's refresh endpoint: HTTP Basic client authentication, a form with the refresh token,
/// a new access token in the answer; the refresh token is not rotated.
async fn figma_refresh(
    State(state): State<Arc<Mutex<AuthState>>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().unwrap();
    if state.flavor != Flavor::Figma {
        return StatusCode::NOT_FOUND.into_response();
    }
    let authenticated =
        basic_client(&headers).is_some_and(|(id, secret)| state.clients.get(&id) == Some(&secret));
    if !authenticated {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Figma wants HTTP Basic client authentication",
        );
    }
    state.refresh_requests += 1;
    let presented = form.get("refresh_token").cloned().unwrap_or_default();
    if state.refresh.get(&presented) != Some(&true) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "refresh token revoked",
        );
    }
    state.issued += 1;
    let access = format!("figu_at-{}-{}", state.issued, uuid_like());
    let expires = Instant::now() + Duration::from_secs(state.access_ttl);
    state.access.insert(access.clone(), expires);
    Json(json!({"access_token": access, "token_type": "bearer", "expires_in": state.access_ttl}))
        .into_response()
}

/// Notion's token answer, for a code and for a refresh alike: the workspace beside the tokens,
/// no expiry.
fn notion_tokens(state: &mut AuthState) -> Response {
    let (access, refresh) = mint(state, "ntn_");
    Json(json!({
        "access_token": access, "refresh_token": refresh, "token_type": "bearer",
        "bot_id": "b0t-1", "workspace_id": "w0rkspace-1", "workspace_name": "Acme",
        "workspace_icon": null, "duplicated_template_id": null, "request_id": "r-1",
        "owner": {"type": "user", "user": {"object": "user", "id": "u-owner"}},
    }))
    .into_response()
}

/// The answer to a refresh, as `state.flavor` words it (rotated tokens at the top level).
fn issue_for_refresh(state: &mut AuthState, spent: &str) -> Response {
    match state.flavor {
        Flavor::Slack => {
            let user = state.user_refresh.remove(spent);
            let prefix = if user { "xoxe.xoxp-" } else { "xoxe.xoxb-" };
            let (access, refresh) = mint(state, prefix);
            if user {
                state.user_refresh.insert(refresh.clone());
            }
            Json(json!({
                "ok": true, "app_id": "A0KRD7HC3", "access_token": access,
                "refresh_token": refresh, "expires_in": state.access_ttl,
                "token_type": if user { "user" } else { "bot" },
                "team": {"id": SLACK_TEAM_ID, "name": "Acme"},
            }))
            .into_response()
        }
        Flavor::Notion => notion_tokens(state),
        Flavor::Salesforce => {
            // Salesforce does not rotate: the presented refresh token stays usable.
            state.refresh.insert(spent.to_owned(), true);
            salesforce_tokens(state, false)
        }
        _ => issue(state, "read"),
    }
}

/// The Slack workspace every Slack grant belongs to.
pub const SLACK_TEAM_ID: &str = "T0ACME001";

/// The token request's parameters: a form, or for Notion a JSON object (anything else is
/// refused there, with the `error_description` given).
fn token_params(
    flavor: Flavor,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<HashMap<String, String>, &'static str> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if flavor == Flavor::Notion && !json {
        return Err("body failed validation: the request body must be JSON");
    }
    if json {
        let object: HashMap<String, Value> =
            serde_json::from_slice(body).map_err(|_| "bad JSON")?;
        return Ok(object
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
            .collect());
    }
    Ok(url::form_urlencoded::parse(body).into_owned().collect())
}

async fn token(
    State(shared): State<Arc<Mutex<AuthState>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let refreshing = String::from_utf8_lossy(&body).contains("refresh_token");
    let gate = shared.lock().unwrap().refresh_gate.clone();
    if let Some(gate) = gate.filter(|_| refreshing) {
        shared.lock().unwrap().refreshes_held += 1;
        let _permit = gate.acquire().await;
    }
    let mut state = shared.lock().unwrap();
    let flavor = state.flavor;
    let form = match token_params(flavor, &headers, &body) {
        Ok(form) => form,
        Err(why) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", why),
    };
    if matches!(flavor, Flavor::Notion | Flavor::Figma) && basic_client(&headers).is_none() {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "this vendor wants HTTP Basic client authentication",
        );
    }
    let accept_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    // RFC 6749 §2.3.1: HTTP Basic, or the credentials in the form body.
    let body_client = form
        .get("client_id")
        .cloned()
        .zip(form.get("client_secret").cloned());
    let Some((client_id, secret)) = basic_client(&headers).or(body_client) else {
        return flavored_error(
            flavor,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is required",
        );
    };
    if state.clients.get(&client_id) != Some(&secret) {
        return flavored_error(
            flavor,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            state.code_requests += 1;
            let Some(grant) = form.get("code").and_then(|code| state.codes.remove(code)) else {
                return flavored_error(
                    flavor,
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown or used authorization code",
                );
            };
            if grant.client_id != client_id || form.get("redirect_uri") != Some(&grant.redirect_uri)
            {
                return flavored_error(
                    flavor,
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "client or redirect_uri mismatch",
                );
            }
            if let Some(challenge) = &grant.challenge {
                let verifier = form
                    .get("code_verifier")
                    .map(String::as_str)
                    .unwrap_or_default();
                if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != *challenge {
                    return flavored_error(
                        flavor,
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "PKCE verification failed",
                    );
                }
            }
            issue_for_code(&mut state, &grant, accept_json)
        }
        Some("refresh_token") if flavor == Flavor::Figma => flavored_error(
            flavor,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Figma refreshes at /v1/oauth/refresh",
        ),
        Some("refresh_token") => {
            state.refresh_requests += 1;
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            match state.refresh.get_mut(&presented) {
                Some(active) if *active => {
                    // Rotation: the presented token is spent.
                    *active = false;
                    issue_for_refresh(&mut state, &presented)
                }
                _ => flavored_error(
                    flavor,
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "refresh token revoked or already used",
                ),
            }
        }
        _ => flavored_error(
            flavor,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unsupported grant_type",
        ),
    }
}

async fn revoke(
    State(state): State<Arc<Mutex<AuthState>>>,
    Form(form): Form<HashMap<String, String>>,
) -> StatusCode {
    let mut state = state.lock().unwrap();
    if let Some(token) = form.get("token") {
        state.revoked.push(token.clone());
        if let Some(active) = state.refresh.get_mut(token) {
            *active = false;
        }
        state.access.remove(token);
    }
    StatusCode::OK
}
