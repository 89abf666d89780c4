//! The operator's pages, signed in with the admin token: the plugin registry (`plugins`), the
//! tenants with their API keys (`tenants`), and the host's audit log (`audit`). An operator
//! session is a console session of the reserved tenant `_operator` (no tenant id may start
//! with `_`), so it never opens a tenant's pages and a tenant's session never opens these.

mod audit;
mod plugins;
mod tenants;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{ConsoleError, alert, frame, page};
use super::session::{
    ConsoleUser, CsrfForm, MAX_SESSIONS_PER_TENANT, cookie, digest, random_token, sign_in_allowed,
    stored_session,
};
use crate::app::App;
use crate::credentials::unix_now;
use crate::source_limit::PeerAddr;
use crate::store::ConsoleSession;

/// The tenant name of operator sessions.
const OPERATOR: &str = "_operator";
/// The audit log's name for what the operator does (the admin API uses the same).
const ACTOR: &str = "admin";
/// An operator session ends after this long without a request. 30 minutes.
const OPERATOR_IDLE_SECS: u64 = 30 * 60;
/// And at the latest this long after sign-in, however busy. 8 hours.
const OPERATOR_MAX_SECS: u64 = 8 * 3600;

/// What an operator session is bound to: a fingerprint of the admin token in force when it
/// signed in (a digest of its digest, so the store never holds anything that opens the admin
/// API). A restart with a new admin token ends every operator session signed in with the old.
fn token_generation(state: &App) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"connector-host operator console session\0");
    hasher.update(state.auth.admin_token_sha256);
    format!("{ACTOR}:{}", hex::encode(&hasher.finalize()[..16]))
}

/// The operator's routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/console/operator", get(home))
        .route("/console/operator/sign-in", post(sign_in))
        .route("/console/operator/sign-out", post(sign_out))
        .route("/console/operator/sessions/end", post(end_sessions))
        .route("/console/operator/plugins", get(plugins::list))
        .route(
            "/console/operator/plugins/upload",
            post(plugins::upload).layer(axum::extract::DefaultBodyLimit::max(64 << 20)),
        )
        .route(
            "/console/operator/plugins/{id}/rollback",
            post(plugins::rollback),
        )
        .route(
            "/console/operator/plugins/{id}/unload",
            post(plugins::unload),
        )
        .route(
            "/console/operator/tenants",
            get(tenants::list).post(tenants::create),
        )
        .route("/console/operator/tenants/{tenant}", get(tenants::keys))
        .route(
            "/console/operator/tenants/{tenant}/api-keys",
            post(tenants::issue_key),
        )
        .route(
            "/console/operator/tenants/{tenant}/api-keys/{id}/revoke",
            post(tenants::revoke_key),
        )
        .route("/console/operator/audit", get(audit::host_log))
}

/// A signed-in operator.
pub struct ConsoleOperator(ConsoleUser);

impl ConsoleOperator {
    fn csrf(&self) -> &str {
        &self.0.csrf
    }

    fn check_csrf(&self, presented: &str) -> Result<(), ConsoleError> {
        self.0.check_csrf(presented).map_err(|mut error| {
            // The tenant frame would show `_operator` as a tenant; the operator's has no nav.
            error.user = None;
            error
        })
    }
}

async fn current(state: &App, headers: &HeaderMap) -> Option<ConsoleOperator> {
    let now = unix_now();
    let (session, digest) = stored_session(state, headers, now).await?;
    if session.tenant != OPERATOR || session.key_id != token_generation(state) {
        return None;
    }
    // The idle timeout slides with use (one write a minute at most), within the absolute limit.
    let slid = (now + OPERATOR_IDLE_SECS).min(session.started_at + OPERATOR_MAX_SECS);
    if slid > session.expires_at + 60 {
        let _ = state.store.touch_console_session(&digest, slid).await;
    }
    Some(ConsoleOperator(ConsoleUser {
        tenant: session.tenant,
        key_id: session.key_id,
        csrf: session.csrf,
        digest,
    }))
}

impl FromRequestParts<App> for ConsoleOperator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Response> {
        current(state, &parts.headers)
            .await
            .ok_or_else(|| Redirect::to("/console/operator").into_response())
    }
}

/// An operator page: the operator's navigation in the header, then `body`.
fn operator_page(title: &str, operator: &ConsoleOperator, body: Markup) -> Markup {
    let navigation = html! {
        nav aria-label="Operator" {
            a href="/console/operator/plugins" { "Plugins" }
            a href="/console/operator/tenants" { "Tenants" }
            a href="/console/operator/audit" { "Host audit" }
        }
        span { "Operator" }
        form class="inline" method="post" action="/console/operator/sessions/end" {
            input type="hidden" name="csrf" value=(operator.csrf());
            button class="secondary" type="submit" { "End all operator sessions" }
        }
        form class="inline" method="post" action="/console/operator/sign-out" {
            input type="hidden" name="csrf" value=(operator.csrf());
            button class="secondary" type="submit" { "Sign out" }
        }
    };
    frame(title, navigation, body)
}

fn sign_in_markup(message: Option<&str>) -> Markup {
    page(
        "Operator sign-in",
        None,
        html! {
            h1 { "Operator sign-in" }
            p { "Sign in with the host's admin token." }
            (alert(message))
            form method="post" action="/console/operator/sign-in" {
                label for="token" { "Admin token" }
                input id="token" name="token" type="password" autocomplete="off" required;
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// `GET /console/operator`.
async fn home(State(state): State<App>, headers: HeaderMap) -> Response {
    match current(&state, &headers).await {
        Some(_) => Redirect::to("/console/operator/plugins").into_response(),
        None => sign_in_markup(None).into_response(),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    token: String,
}

/// `POST /console/operator/sign-in`.
async fn sign_in(
    State(state): State<App>,
    PeerAddr(source): PeerAddr,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, ConsoleError> {
    sign_in_allowed(&state, source, &headers, "operator_sign_in")?;
    if !crate::app::callers::digests_equal(
        &digest(form.token.trim()),
        &state.auth.admin_token_sha256,
    ) {
        crate::source_limit::refused(&state.refusal_log, "operator_sign_in", "bad_token");
        return Ok((
            StatusCode::UNAUTHORIZED,
            sign_in_markup(Some("That is not the admin token.")),
        )
            .into_response());
    }
    let token = random_token()?;
    let now = unix_now();
    let session = ConsoleSession {
        tenant: OPERATOR.into(),
        key_id: token_generation(&state),
        csrf: random_token()?,
        expires_at: now + OPERATOR_IDLE_SECS,
        started_at: now,
    };
    state
        .store
        .create_console_session(&digest(&token), &session, MAX_SESSIONS_PER_TENANT)
        .await?;
    let _ = state
        .store
        .audit(
            None,
            ACTOR,
            "console.operator_sign_in",
            OPERATOR,
            serde_json::Value::Null,
        )
        .await;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                cookie(&state, &token, OPERATOR_MAX_SECS),
            ),
            (header::LOCATION, "/console/operator/plugins".to_owned()),
        ],
    )
        .into_response())
}

/// `POST /console/operator/sign-out`.
async fn sign_out(
    State(state): State<App>,
    operator: ConsoleOperator,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    state
        .store
        .delete_console_session(&operator.0.digest)
        .await?;
    Ok(signed_out(&state, "console.operator_sign_out", serde_json::Value::Null).await)
}

/// Audits an operator's sign-out as `action` in the host log, then clears the cookie and
/// sends the browser to the sign-in page.
async fn signed_out(state: &App, action: &str, details: serde_json::Value) -> Response {
    let _ = state
        .store
        .audit(None, ACTOR, action, OPERATOR, details)
        .await;
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie(state, "", 0)),
            (header::LOCATION, "/console/operator".to_owned()),
        ],
    )
        .into_response()
}

/// `POST /console/operator/sessions/end`: ends every operator session, this one included (a
/// browser left signed in elsewhere, a token that may have been seen); audited.
async fn end_sessions(
    State(state): State<App>,
    operator: ConsoleOperator,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    let ended = state.store.end_console_sessions(OPERATOR).await?;
    Ok(signed_out(
        &state,
        "console.operator_sessions_ended",
        serde_json::json!({ "ended": ended }),
    )
    .await)
}
