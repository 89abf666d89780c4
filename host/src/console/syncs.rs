//! A connection's syncs and sync cursors: the syncs with their last run, a form to create one,
//! run now, pause, resume and delete; the cursors the tenant stored per stream, with delete.
//! The same use cases as `/api/v1/connections/{id}/syncs` and `.../cursors`, audited alike.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{ConsoleError, alert, page};
use super::session::{ConsoleUser, CsrfForm};
use crate::app::App;
use crate::app::audit::audit;
use crate::error::{ApiError, ErrorCode};
use crate::store::rfc3339_of_ms;
use crate::syncs::{self, NewSync, SyncPatch};

/// Longest cursor text shown; the REST API returns the whole value.
const MAX_CURSOR_SHOWN: usize = 80;

fn shortened(text: &str) -> String {
    match text.char_indices().nth(MAX_CURSOR_SHOWN) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// What the create form had, kept when it is refused.
#[derive(Default, Deserialize)]
pub struct NewSyncForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    container: String,
    /// Empty: `syncs.default_interval_secs`.
    #[serde(default)]
    interval_secs: String,
    /// A checkbox: present when ticked.
    paused: Option<String>,
}

async fn syncs_markup(
    state: &App,
    user: &ConsoleUser,
    id: &str,
    message: Option<&str>,
    typed: &NewSyncForm,
) -> Result<Markup, ConsoleError> {
    let connection = user.connection(state, id).await?;
    let list = state
        .store
        .syncs_of(&user.tenant, id)
        .await
        .map_err(|e| ConsoleError::from(e).for_user(user))?;
    let cursors = state
        .store
        .cursors(&user.tenant, id)
        .await
        .map_err(|e| ConsoleError::from(e).for_user(user))?;
    let base = format!("/console/connections/{id}/syncs");
    let default_interval = state.syncs.settings.default_interval.as_secs();
    let min_interval = state.syncs.settings.min_interval.as_secs();
    Ok(page(
        "Syncs",
        Some(user),
        html! {
            p class="crumbs" {
                a href="/console/connections" { "Connections" } " / "
                a href={ "/console/connections/" (id) } { (connection.name) } " / syncs"
            }
            h1 { "Syncs of " (connection.name) }
            (alert(message))
            @if list.is_empty() { p { "No syncs yet." } }
            table {
                thead { tr { th scope="col" { "Container" } th scope="col" { "Every" } th scope="col" { "Last run" } th scope="col" { "Next run" } th scope="col" { "Actions" } } }
                tbody {
                    @for sync in &list {
                        tr {
                            td { (sync.container) }
                            td { (sync.interval_secs) " s" }
                            td {
                                @if let Some(run) = &sync.last_run {
                                    (format!("{:?}", run.status).to_lowercase())
                                    br; span class="hint" { (run.counts.created) " created · " (run.counts.updated) " updated · " (run.counts.deleted) " deleted" }
                                    @if let Some(error) = &run.error { br; span class="hint" { (error) } }
                                } @else { "never" }
                            }
                            td { @if sync.paused { "paused" } @else { (rfc3339_of_ms(sync.next_run_at_ms)) } }
                            td {
                                @if !sync.paused {
                                    form class="inline" method="post" action={ (base) "/" (sync.id) "/run" } {
                                        input type="hidden" name="csrf" value=(user.csrf);
                                        button class="secondary" type="submit" aria-label={ "Run now " (sync.container) } { "Run now" }
                                    }
                                }
                                form class="inline" method="post" action={ (base) "/" (sync.id) (if sync.paused { "/resume" } else { "/pause" }) } {
                                    input type="hidden" name="csrf" value=(user.csrf);
                                    button class="secondary" type="submit" aria-label={ (if sync.paused { "Resume " } else { "Pause " }) (sync.container) } { (if sync.paused { "Resume" } else { "Pause" }) }
                                }
                                form class="inline" method="post" action={ (base) "/" (sync.id) "/delete" } {
                                    input type="hidden" name="csrf" value=(user.csrf);
                                    button class="danger" type="submit" aria-label={ "Delete the sync of " (sync.container) } { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "New sync" }
            form method="post" action=(base) {
                input type="hidden" name="csrf" value=(user.csrf);
                label for="container" { "Container id " span class="hint" { "(a project key, a channel id, ... as the connection lists them)" } }
                input id="container" name="container" required maxlength="256" value=(typed.container) autocomplete="off";
                label for="interval_secs" { "Every (seconds) " span class="hint" { "(empty: " (default_interval) "; at least " (min_interval) ")" } }
                input id="interval_secs" name="interval_secs" type="number" min=(min_interval) inputmode="numeric" value=(typed.interval_secs);
                label class="check" for="paused" {
                    input id="paused" name="paused" type="checkbox" value="on" checked[typed.paused.is_some()];
                    " Create it paused"
                }
                button type="submit" { "Create sync" }
            }
            h2 { "Sync cursors" }
            p class="hint" { "Cursors your own sync code stored per stream with " code { "PUT /api/v1/connections/" (id) "/cursors/{stream}" } "." }
            @if cursors.is_empty() { p { "No cursors stored." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Stream" } th scope="col" { "Cursor" } th scope="col" { "Actions" } } }
                    tbody {
                        @for (stream, cursor) in &cursors {
                            tr {
                                td { code { (stream) } }
                                td { code { (shortened(cursor)) } }
                                td {
                                    form class="inline" method="post" action={ "/console/connections/" (id) "/cursors/" (stream) "/delete" } {
                                        input type="hidden" name="csrf" value=(user.csrf);
                                        button class="danger" type="submit" aria-label={ "Delete cursor " (stream) } { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p { a href={ "/api/v1/connections/" (id) "/changes" } { "The changes feed (JSON, with your API key)" } }
        },
    ))
}

/// `GET /console/connections/{id}/syncs`.
pub async fn list(
    State(state): State<App>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Markup, ConsoleError> {
    syncs_markup(&state, &user, &id, None, &NewSyncForm::default()).await
}

fn parsed_interval(text: &str) -> Result<Option<u64>, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        ApiError::new(
            ErrorCode::Validation,
            "interval must be a whole number of seconds, or empty",
        )
    })
}

/// `POST /console/connections/{id}/syncs`: a refused form comes back with the reason and what
/// was typed.
pub async fn create(
    State(state): State<App>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<NewSyncForm>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form.csrf)?;
    let created = async {
        let new = NewSync {
            container: form.container.clone(),
            interval_secs: parsed_interval(&form.interval_secs)?,
            full_pass_interval_secs: None,
            paused: form.paused.is_some(),
        };
        syncs::create(
            &state.syncs,
            &state.background.syncs,
            &user.tenant,
            &id,
            new,
        )
        .await
    }
    .await;
    match created {
        Ok(sync) => {
            audit(
                &state,
                &user.caller(),
                "sync.create",
                &sync.id,
                serde_json::Value::Null,
            )
            .await;
            Ok(Redirect::to(&format!("/console/connections/{id}/syncs")).into_response())
        }
        // Another tenant's or a missing connection stays a plain 404 page.
        Err(error) if error.code == ErrorCode::NotFound => {
            Err(ConsoleError::from(error).for_user(&user))
        }
        Err(error) => Ok((
            error.http_status(),
            syncs_markup(&state, &user, &id, Some(&error.message), &form).await?,
        )
            .into_response()),
    }
}

/// `POST /console/connections/{id}/syncs/{sid}/{action}` (`run`, `pause`, `resume`, `delete`).
pub async fn action(
    State(state): State<App>,
    user: ConsoleUser,
    Path((id, sid, action)): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form.csrf)?;
    let fail = |e: ApiError| ConsoleError::from(e).for_user(&user);
    let wake = &state.background.syncs;
    let audited = match action.as_str() {
        "run" => {
            syncs::run_now(&state.syncs, wake, &user.tenant, &id, &sid)
                .await
                .map_err(fail)?;
            None
        }
        "pause" | "resume" => {
            let patch = SyncPatch {
                paused: Some(action == "pause"),
                ..SyncPatch::default()
            };
            syncs::patch(&state.syncs, wake, &user.tenant, &id, &sid, patch)
                .await
                .map_err(fail)?;
            Some("sync.update")
        }
        "delete" => {
            syncs::delete(&state.syncs, &user.tenant, &id, &sid)
                .await
                .map_err(fail)?;
            Some("sync.delete")
        }
        _ => {
            return Err(fail(ApiError::new(
                ErrorCode::NotFound,
                format!("no sync action `{action}`"),
            )));
        }
    };
    if let Some(name) = audited {
        audit(&state, &user.caller(), name, &sid, serde_json::Value::Null).await;
    }
    Ok(Redirect::to(&format!("/console/connections/{id}/syncs")).into_response())
}

/// `POST /console/connections/{id}/cursors/{stream}/delete`.
pub async fn delete_cursor(
    State(state): State<App>,
    user: ConsoleUser,
    Path((id, stream)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form.csrf)?;
    let fail = |e: ApiError| ConsoleError::from(e).for_user(&user);
    user.connection(&state, &id).await?;
    let deleted = state
        .store
        .delete_cursor(&user.tenant, &id, &stream)
        .await
        .map_err(|e| ConsoleError::from(e).for_user(&user))?;
    if !deleted {
        return Err(fail(ApiError::new(
            ErrorCode::NotFound,
            format!("no cursor stored for stream `{stream}`"),
        )));
    }
    Ok(Redirect::to(&format!("/console/connections/{id}/syncs")).into_response())
}

#[cfg(test)]
mod tests {
    use super::{parsed_interval, shortened};

    #[test]
    fn an_empty_interval_means_the_default_and_garbage_is_refused() {
        assert_eq!(parsed_interval("").ok(), Some(None));
        assert_eq!(parsed_interval(" 120 ").ok(), Some(Some(120)));
        assert!(parsed_interval("2m").is_err());
        assert!(parsed_interval("-5").is_err());
    }

    #[test]
    fn long_cursors_are_shortened_on_a_char_boundary() {
        assert_eq!(shortened("abc"), "abc");
        let long = "ü".repeat(100);
        assert_eq!(shortened(&long).chars().count(), 81);
    }
}
