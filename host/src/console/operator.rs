//! The operator's pages, signed in with the admin token: the plugin registry (version, sha256,
//! contract version, calls and faults of the current and previous version) with upload,
//! rollback and unload. An operator session is a console session of the reserved tenant
//! `_operator` (no tenant id may start with `_`), so it never opens a tenant's pages and a
//! tenant's session never opens these.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, extract::FromRequestParts, http::request::Parts};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{ConsoleError, alert, page};
use super::session::{
    ConsoleUser, CsrfForm, SESSION_TTL_SECS, cookie, digest, random_token, token_of,
};
use crate::api::AppState;
use crate::credentials::unix_now;
use crate::loader::LoadRequest;
use crate::runtime::PluginOrigin;
use crate::store::ConsoleSession;

/// The tenant name of operator sessions.
const OPERATOR: &str = "_operator";

/// A signed-in operator.
pub struct ConsoleOperator(ConsoleUser);

fn current(state: &AppState, headers: &HeaderMap) -> Option<ConsoleOperator> {
    let token = token_of(headers)?;
    let digest = digest(&token);
    let session = state.store.console_session(&digest, unix_now()).ok()??;
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
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match current(&state, &headers) {
        Some(_) => Redirect::to("/console/operator/plugins").into_response(),
        None => sign_in_markup(None).into_response(),
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: String,
}

/// `POST /console/operator/sign-in`.
pub async fn sign_in(
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
        key_id: "admin".into(),
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

fn plugins_markup(state: &AppState, operator: &ConsoleOperator, message: Option<&str>) -> Markup {
    let user = &operator.0;
    let mut slots = state.runtime.slots();
    slots.sort_by(|a, b| a.0.cmp(&b.0));
    let version = |plugin: &crate::runtime::Plugin| {
        html! {
            (plugin.manifest.version) br;
            span class="hint" { "sha256 " code { (&plugin.sha256[..12.min(plugin.sha256.len())]) } } br;
            span class="hint" { "contract " (plugin.wit_version) " · " (plugin.calls()) " calls · " (plugin.faults()) " faults" }
        }
    };
    page(
        "Plugins",
        None,
        html! {
            h1 { "Plugins" }
            (alert(message))
            table {
                thead { tr { th scope="col" { "Plugin" } th scope="col" { "Serving" } th scope="col" { "Previous" } th scope="col" { "Actions" } } }
                tbody {
                    @for (id, slot) in &slots {
                        tr {
                            td { (id) }
                            td { @if let Some(current) = &slot.current { (version(current)) } @else { "unloaded" } }
                            td { @if let Some(previous) = &slot.previous { (version(previous)) } @else { "none" } }
                            td {
                                @if slot.previous.is_some() {
                                    form class="inline" method="post" action={ "/console/operator/plugins/" (id) "/rollback" } {
                                        input type="hidden" name="csrf" value=(user.csrf);
                                        button class="secondary" type="submit" aria-label={ "Roll back " (id) } { "Roll back" }
                                    }
                                }
                                @if slot.current.is_some() {
                                    form class="inline" method="post" action={ "/console/operator/plugins/" (id) "/unload" } {
                                        input type="hidden" name="csrf" value=(user.csrf);
                                        button class="danger" type="submit" aria-label={ "Unload " (id) } { "Unload" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Upload a version" }
            form method="post" action="/console/operator/plugins/upload" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(user.csrf);
                label for="id" { "Plugin id " span class="hint" { "(must equal the component's own id)" } }
                input id="id" name="id" required;
                label for="component" { "Component (.wasm)" }
                input id="component" name="component" type="file" accept=".wasm,application/wasm" required;
                button type="submit" { "Upload" }
            }
            form method="post" action="/console/operator/sign-out" {
                input type="hidden" name="csrf" value=(user.csrf);
                button class="secondary" type="submit" { "Sign out" }
            }
        },
    )
}

/// `GET /console/operator/plugins`.
pub async fn plugins(State(state): State<AppState>, operator: ConsoleOperator) -> Markup {
    plugins_markup(&state, &operator, None)
}

/// Back to the registry after a rollback or unload; a refusal (409) shows above it.
fn after_change<E: std::fmt::Display>(
    state: &AppState,
    operator: &ConsoleOperator,
    result: Result<(), E>,
) -> Response {
    match result {
        Ok(()) => Redirect::to("/console/operator/plugins").into_response(),
        Err(error) => (
            StatusCode::CONFLICT,
            plugins_markup(state, operator, Some(&error.to_string())),
        )
            .into_response(),
    }
}

/// `POST /console/operator/plugins/{id}/rollback`.
pub async fn rollback(
    State(state): State<AppState>,
    operator: ConsoleOperator,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operator.0.check_csrf(&form.csrf)?;
    let result = state.loader.rollback(&id, "admin").await.map(|_| ());
    Ok(after_change(&state, &operator, result))
}

/// `POST /console/operator/plugins/{id}/unload`.
pub async fn unload(
    State(state): State<AppState>,
    operator: ConsoleOperator,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operator.0.check_csrf(&form.csrf)?;
    let result = state.loader.unload(&id, "admin").await.map(|_| ());
    Ok(after_change(&state, &operator, result))
}

/// `POST /console/operator/plugins/upload` (multipart: `csrf`, `id`, `component`).
pub async fn upload(
    State(state): State<AppState>,
    operator: ConsoleOperator,
    mut multipart: Multipart,
) -> Result<Response, ConsoleError> {
    let max = state.loader.settings().max_plugin_bytes;
    let (mut csrf, mut id, mut wasm) = (String::new(), String::new(), None);
    let bad = |message: String| ConsoleError::new(StatusCode::UNPROCESSABLE_ENTITY, message);
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| bad(format!("the upload is not a valid form: {e}")))?
    {
        match field.name().unwrap_or_default() {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "id" => id = field.text().await.unwrap_or_default().trim().to_owned(),
            "component" => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| bad(format!("the component did not arrive: {e}")))?;
                if bytes.len() > max {
                    return Err(bad(format!("the component is larger than {max} bytes")));
                }
                wasm = Some(bytes.to_vec());
            }
            _ => {}
        }
    }
    operator.0.check_csrf(&csrf)?;
    let Some(wasm) = wasm.filter(|w| !w.is_empty()) else {
        return Err(bad("choose a component file".into()));
    };
    let request = LoadRequest {
        wasm,
        expected_id: Some(id.clone()),
        sha256_pin: None,
        signature: None,
        origin: PluginOrigin {
            source: "console upload".into(),
            ..PluginOrigin::default()
        },
        actor: "admin".into(),
        accept_manifest_changes: false,
    };
    match state.loader.load(request).await {
        Ok(_) => Ok(Redirect::to("/console/operator/plugins").into_response()),
        Err(failure) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            plugins_markup(
                &state,
                &operator,
                Some(&format!("plugin `{id}` not loaded: {failure}")),
            ),
        )
            .into_response()),
    }
}

/// `POST /console/operator/sign-out`.
pub async fn sign_out(
    State(state): State<AppState>,
    operator: ConsoleOperator,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operator.0.check_csrf(&form.csrf)?;
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
