//! The plugin registry: version, sha256, contract version, calls and faults of the serving and
//! the previous version; upload (multipart), rollback and unload.

use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::{ACTOR, ConsoleOperator, operator_page};
use crate::app::App;
use crate::console::layout::{ConsoleError, alert};
use crate::console::session::CsrfForm;
use crate::loader::LoadRequest;
use crate::runtime::PluginOrigin;

fn plugins_markup(state: &App, operator: &ConsoleOperator, message: Option<&str>) -> Markup {
    let mut slots = state.runtime.slots();
    slots.sort_by(|a, b| a.0.cmp(&b.0));
    let version = |plugin: &crate::runtime::Plugin| {
        html! {
            (plugin.manifest.version) br;
            span class="hint" { "sha256 " code { (&plugin.sha256[..12.min(plugin.sha256.len())]) } } br;
            span class="hint" { "contract " (plugin.wit_version) " · " (plugin.calls()) " calls · " (plugin.faults()) " faults" }
        }
    };
    operator_page(
        "Plugins",
        operator,
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
                                        input type="hidden" name="csrf" value=(operator.csrf());
                                        button class="secondary" type="submit" aria-label={ "Roll back " (id) } { "Roll back" }
                                    }
                                }
                                @if slot.current.is_some() {
                                    form class="inline" method="post" action={ "/console/operator/plugins/" (id) "/unload" } {
                                        input type="hidden" name="csrf" value=(operator.csrf());
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
                input type="hidden" name="csrf" value=(operator.csrf());
                label for="id" { "Plugin id " span class="hint" { "(must equal the component's own id)" } }
                input id="id" name="id" required;
                label for="component" { "Component (.wasm)" }
                input id="component" name="component" type="file" accept=".wasm,application/wasm" required;
                button type="submit" { "Upload" }
            }
        },
    )
}

/// `GET /console/operator/plugins`.
pub async fn list(State(state): State<App>, operator: ConsoleOperator) -> Markup {
    plugins_markup(&state, &operator, None)
}

/// Back to the registry after a rollback or unload; a refusal (409) shows above it.
fn after_change<E: std::fmt::Display>(
    state: &App,
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
    State(state): State<App>,
    operator: ConsoleOperator,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    let result = state.loader.rollback(&id, ACTOR).await.map(|_| ());
    Ok(after_change(&state, &operator, result))
}

/// `POST /console/operator/plugins/{id}/unload`.
pub async fn unload(
    State(state): State<App>,
    operator: ConsoleOperator,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    let result = state.loader.unload(&id, ACTOR).await.map(|_| ());
    Ok(after_change(&state, &operator, result))
}

/// `POST /console/operator/plugins/upload` (multipart: `csrf`, `id`, `component`).
pub async fn upload(
    State(state): State<App>,
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
    operator.check_csrf(&csrf)?;
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
        actor: ACTOR.into(),
        accept_manifest_changes: false,
        shared: true,
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
