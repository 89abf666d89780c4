//! Signing in and out, and the guard of every page. The cookie holds a random session token;
//! the store keeps only its SHA-256 with the tenant, the API key's id and a CSRF token. A
//! session ends at sign-out, after `SESSION_TTL`, or as soon as its API key is revoked or
//! expires. The cookie is `SameSite=Lax`, not `Strict`: the user comes back from an OAuth
//! consent at the vendor through a cross-site redirect, and must land signed in; cross-site
//! POSTs still carry no cookie, and every form's CSRF token is checked anyway.

use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use maud::html;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::layout::{ConsoleError, alert, page};
use crate::app::App;
use crate::credentials::unix_now;
use crate::source_limit::PeerAddr;
use crate::store::ConsoleSession;

/// The session cookie.
const COOKIE: &str = "ch_console";
/// How long a sign-in lasts: 12 hours.
pub(super) const SESSION_TTL_SECS: u64 = 12 * 3600;
/// Live console sessions one tenant may hold; a new sign-in beyond ends the oldest.
pub(super) const MAX_SESSIONS_PER_TENANT: usize = 20;

/// What every sign-in form checks before it looks anything up: the source's allowance (429),
/// then that the form was posted from this console (403). Each refusal is counted on
/// `surface`.
pub(super) fn sign_in_allowed(
    state: &App,
    source: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    surface: &'static str,
) -> Result<(), ConsoleError> {
    if !state.sources.admit_on(source, &state.refusal_log, surface) {
        return Err(ConsoleError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many sign-in attempts from this address; wait a moment and try again",
        ));
    }
    if !same_origin(headers) {
        crate::source_limit::refused(&state.refusal_log, surface, "cross_site");
        return Err(ConsoleError::new(
            StatusCode::FORBIDDEN,
            "this sign-in form was not sent from this console; open the console and sign in there",
        ));
    }
    Ok(())
}

/// Whether a sign-in form was posted from this host's own pages. A cross-site page must not
/// sign a victim's browser into the attacker's tenant (login CSRF): browsers say where a
/// request came from in `Sec-Fetch-Site`, and older ones in `Origin`, which must then name the
/// host the request was sent to. A request with neither (a script, a test client) carries no
/// victim's browser state and passes.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((origin_host, host), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

/// The signed-in tenant of a console request.
#[derive(Clone, Debug)]
pub struct ConsoleUser {
    pub tenant: String,
    pub key_id: String,
    pub csrf: String,
    pub(super) digest: [u8; 32],
}

impl ConsoleUser {
    /// `key:<id>`, as the audit log names API-key callers.
    pub fn actor(&self) -> String {
        format!("key:{}", self.key_id)
    }

    /// The caller as the API's use cases take it.
    pub fn caller(&self) -> crate::app::callers::TenantCaller {
        crate::app::callers::TenantCaller {
            tenant: self.tenant.clone(),
            actor: self.actor(),
        }
    }

    /// The tenant's connection `id`, or the API's 404 as a page in the signed-in frame.
    pub async fn connection(
        &self,
        state: &App,
        id: &str,
    ) -> Result<crate::store::ConnectionRecord, ConsoleError> {
        crate::connection::load(state, &self.tenant, id)
            .await
            .map_err(|e| ConsoleError::from(e).for_user(self))
    }

    /// Refuses a form whose CSRF token is not this session's (403).
    pub fn check_csrf(&self, presented: &str) -> Result<(), ConsoleError> {
        let same = crate::app::callers::digests_equal(&digest(&self.csrf), &digest(presented));
        if same && !presented.is_empty() {
            Ok(())
        } else {
            Err(ConsoleError::new(
                StatusCode::FORBIDDEN,
                "this form is not from your console session (missing or stale CSRF token); reload the page and try again",
            )
            .for_user(self))
        }
    }
}

pub(super) fn token_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

pub(super) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub(super) fn random_token() -> Result<String, ConsoleError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| {
        ConsoleError::new(StatusCode::INTERNAL_SERVER_ERROR, "no randomness available")
    })?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The unexpired stored session a request's cookie names, with the cookie token's digest
/// (tenant and operator sessions alike).
pub(super) async fn stored_session(
    state: &App,
    headers: &HeaderMap,
    now: u64,
) -> Option<(ConsoleSession, [u8; 32])> {
    let digest = digest(&token_of(headers)?);
    let session = state.store.console_session(&digest, now).await.ok()??;
    Some((session, digest))
}

/// The session of a request, if it is live and its API key still valid.
async fn current(state: &App, headers: &HeaderMap) -> Option<ConsoleUser> {
    let now = unix_now();
    let (session, digest) = stored_session(state, headers, now).await?;
    let key_live = state
        .store
        .api_keys(&session.tenant)
        .await
        .ok()?
        .iter()
        .any(|key| key.id == session.key_id && !key.expired(now));
    key_live.then_some(ConsoleUser {
        tenant: session.tenant,
        key_id: session.key_id,
        csrf: session.csrf,
        digest,
    })
}

impl FromRequestParts<App> for ConsoleUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Response> {
        current(state, &parts.headers)
            .await
            .ok_or_else(|| Redirect::to("/console/sign-in").into_response())
    }
}

pub(super) fn cookie(state: &App, value: &str, max_age: u64) -> String {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE}={value}; Path=/console; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// `GET /console`.
pub async fn home(State(state): State<App>, headers: HeaderMap) -> Redirect {
    match current(&state, &headers).await {
        Some(_) => Redirect::to("/console/connections"),
        None => Redirect::to("/console/sign-in"),
    }
}

/// Where a sign-in may continue to: a console page of this host (the consent page sends its
/// user through sign-in and back), never another origin.
fn continue_to(next: Option<&str>) -> Option<&str> {
    next.filter(|next| {
        next.starts_with("/console/")
            && !next.starts_with("//")
            && !next.contains("/../")
            && !next.chars().any(|c| c == '\\' || c.is_control())
    })
}

/// The sign-in page, continuing to the page `uri` asked for once signed in: for pages a
/// person reaches from a link outside the console (an MCP client's consent, an agent's
/// connect link).
pub(super) fn sign_in_first(uri: &axum::http::Uri, fallback: &str) -> Response {
    let next = uri.path_and_query().map_or(fallback, |pq| pq.as_str());
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    Redirect::to(&format!("/console/sign-in?{query}")).into_response()
}

/// `?next=` of the sign-in page.
#[derive(Deserialize, Default)]
pub struct SignInQuery {
    #[serde(default)]
    next: Option<String>,
}

fn sign_in_markup(message: Option<&str>, next: Option<&str>) -> maud::Markup {
    page(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            p { "Sign in with your tenant's API key (" code { "chk_..." } "), as issued by the operator." }
            (alert(message))
            form method="post" action="/console/sign-in" {
                @if let Some(next) = continue_to(next) {
                    input type="hidden" name="next" value=(next);
                }
                label for="key" { "API key" }
                input id="key" name="key" type="password" autocomplete="off" required;
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// `GET /console/sign-in`.
pub async fn sign_in_page(
    State(state): State<App>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<SignInQuery>,
) -> Response {
    let next = continue_to(query.next.as_deref());
    if current(&state, &headers).await.is_some() {
        return Redirect::to(next.unwrap_or("/console/connections")).into_response();
    }
    sign_in_markup(None, next).into_response()
}

#[derive(Deserialize)]
pub struct SignInForm {
    key: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /console/sign-in`.
pub async fn sign_in(
    State(state): State<App>,
    PeerAddr(source): PeerAddr,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, ConsoleError> {
    sign_in_allowed(&state, source, &headers, "console_sign_in")?;
    let now = unix_now();
    let record = match state.store.api_key(form.key.trim()).await? {
        Some(record) if !record.expired(now) => record,
        _ => {
            crate::source_limit::refused(&state.refusal_log, "console_sign_in", "bad_key");
            return Ok((
                StatusCode::UNAUTHORIZED,
                sign_in_markup(
                    Some("That API key is not valid (or has expired)."),
                    form.next.as_deref(),
                ),
            )
                .into_response());
        }
    };
    let token = random_token()?;
    let session = ConsoleSession {
        tenant: record.tenant.clone(),
        key_id: record.id.clone(),
        csrf: random_token()?,
        expires_at: now + SESSION_TTL_SECS,
        started_at: now,
    };
    state
        .store
        .create_console_session(&digest(&token), &session, MAX_SESSIONS_PER_TENANT)
        .await?;
    let _ = state
        .store
        .audit(
            Some(&record.tenant),
            &format!("key:{}", record.id),
            "console.sign_in",
            &record.id,
            serde_json::Value::Null,
        )
        .await;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie(&state, &token, SESSION_TTL_SECS)),
            (
                header::LOCATION,
                continue_to(form.next.as_deref())
                    .unwrap_or("/console/connections")
                    .to_owned(),
            ),
        ],
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /console/sign-out`.
pub async fn sign_out(
    State(state): State<App>,
    user: ConsoleUser,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form.csrf)?;
    state.store.delete_console_session(&user.digest).await?;
    let _ = state
        .store
        .audit(
            Some(&user.tenant),
            &user.actor(),
            "console.sign_out",
            &user.key_id,
            serde_json::Value::Null,
        )
        .await;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie(&state, "", 0)),
            (header::LOCATION, "/console/sign-in".to_owned()),
        ],
    )
        .into_response())
}
