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
    ConsoleUser, CsrfForm, SESSION_TTL_SECS, cookie, digest, random_token, stored_session,
};
use crate::api::AppState;
use crate::credentials::unix_now;
use crate::store::ConsoleSession;

/// The tenant name of operator sessions.
const OPERATOR: &str = "_operator";
/// The audit log's name for what the operator does (the admin API uses the same).
const ACTOR: &str = "admin";

/// The operator's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/operator", get(home))
        .route("/console/operator/sign-in", post(sign_in))
        .route("/console/operator/sign-out", post(sign_out))
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

fn current(state: &AppState, headers: &HeaderMap) -> Option<ConsoleOperator> {
    let (session, digest) = stored_session(state, headers, unix_now())?;
    (session.tenant == OPERATOR).then_some(ConsoleOperator(ConsoleUser {
        tenant: session.tenant,
        key_id: session.key_id,
        csrf: session.csrf,
        digest,
    }))
}

impl FromRequestParts<AppState> for ConsoleOperator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        current(state, &parts.headers)
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
async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match current(&state, &headers) {
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
    State(state): State<AppState>,
    Form(form): Form<TokenForm>,
) -> Result<Response, ConsoleError> {
    if !crate::api::auth::digests_equal(&digest(form.token.trim()), &state.auth.admin_token_sha256)
    {
        return Ok((
            StatusCode::UNAUTHORIZED,
            sign_in_markup(Some("That is not the admin token.")),
        )
            .into_response());
    }
    let token = random_token()?;
    let session = ConsoleSession {
        tenant: OPERATOR.into(),
        key_id: ACTOR.into(),
        csrf: random_token()?,
        expires_at: unix_now() + SESSION_TTL_SECS,
    };
    state
        .store
        .create_console_session(&digest(&token), &session)
        .await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie(&state, &token, SESSION_TTL_SECS)),
            (header::LOCATION, "/console/operator/plugins".to_owned()),
        ],
    )
        .into_response())
}

/// `POST /console/operator/sign-out`.
async fn sign_out(
    State(state): State<AppState>,
    operator: ConsoleOperator,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    state
        .store
        .delete_console_session(&operator.0.digest)
        .await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie(&state, "", 0)),
            (header::LOCATION, "/console/operator".to_owned()),
        ],
    )
        .into_response())
}
