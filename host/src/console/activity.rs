//! What runs on its own and what happened: a connection's syncs (with run now, pause and
//! resume), the tenant's webhook endpoints with their last deliveries, and the audit log.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{ConsoleError, page};
use super::session::{ConsoleUser, CsrfForm};
use crate::api::AppState;
use crate::store::rfc3339_of_ms;
use crate::syncs::{self, SyncPatch};

/// `?after=` of the audit page.
#[derive(Default, Deserialize)]
pub struct AfterQuery {
    after: Option<u64>,
}

/// `GET /console/audit`: the tenant's audit log, oldest first, 50 a page.
pub async fn audit(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(query): Query<AfterQuery>,
) -> Result<Markup, ConsoleError> {
    let events = state
        .store
        .audit_events(&user.tenant, query.after, 50)
        .map_err(|e| ConsoleError::from(e).for_user(&user))?;
    let next = (events.len() == 50)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    Ok(page(
        "Audit log",
        Some(&user),
        html! {
            h1 { "Audit log" }
            table {
                thead { tr { th scope="col" { "When" } th scope="col" { "Action" } th scope="col" { "Target" } th scope="col" { "Who" } th scope="col" { "Outcome" } } }
                tbody {
                    @for event in &events {
                        tr {
                            td { (event.at) }
                            td { (event.action) }
                            td { (event.target) }
                            td { (event.actor) }
                            td { (format!("{:?}", event.outcome).to_lowercase()) }
                        }
                    }
                }
            }
            @if events.is_empty() { p { "Nothing recorded yet." } }
            @if let Some(after) = next { p { a href={ "/console/audit?after=" (after) } { "Next page" } } }
        },
    ))
}

/// `GET /console/connections/{id}/syncs`.
pub async fn syncs_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Markup, ConsoleError> {
    let fail = |e: crate::api::ApiError| ConsoleError::from(e).for_user(&user);
    let connection = crate::api::connection_calls::load(&state, &user.tenant, &id).map_err(fail)?;
    let list = state
        .store
        .syncs_of(&user.tenant, &id)
        .map_err(|e| ConsoleError::from(e).for_user(&user))?;
    let base = format!("/console/connections/{id}/syncs");
    Ok(page(
        "Syncs",
        Some(&user),
        html! {
            p class="crumbs" {
                a href="/console/connections" { "Connections" } " / "
                a href={ "/console/connections/" (id) } { (connection.name) } " / syncs"
            }
            h1 { "Syncs of " (connection.name) }
            @if list.is_empty() {
                p { "No syncs. Create one with " code { "POST /api/v1/connections/" (id) "/syncs" } "." }
            }
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
                                        button class="secondary" type="submit" aria-label={ "Run " (sync.container) " now" } { "Run now" }
                                    }
                                }
                                form class="inline" method="post" action={ (base) "/" (sync.id) (if sync.paused { "/resume" } else { "/pause" }) } {
                                    input type="hidden" name="csrf" value=(user.csrf);
                                    button class="secondary" type="submit" { (if sync.paused { "Resume" } else { "Pause" }) }
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

/// `POST /console/connections/{id}/syncs/{sid}/{action}` (`run`, `pause`, `resume`).
pub async fn sync_action(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((id, sid, action)): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form.csrf)?;
    let fail = |e: crate::api::ApiError| ConsoleError::from(e).for_user(&user);
    let wake = &state.background.syncs;
    match action.as_str() {
        "run" => syncs::run_now(&state, wake, &user.tenant, &id, &sid)
            .await
            .map(|_| ()),
        "pause" | "resume" => {
            let patch = SyncPatch {
                paused: Some(action == "pause"),
                ..SyncPatch::default()
            };
            syncs::patch(&state, wake, &user.tenant, &id, &sid, patch)
                .await
                .map(|_| ())
        }
        _ => Err(crate::api::ApiError::new(
            crate::api::ErrorCode::NotFound,
            format!("no sync action `{action}`"),
        )),
    }
    .map_err(fail)?;
    Ok(Redirect::to(&format!("/console/connections/{id}/syncs")).into_response())
}

/// `GET /console/webhooks`: the tenant's webhook endpoints and their latest deliveries.
pub async fn webhooks(
    State(state): State<AppState>,
    user: ConsoleUser,
) -> Result<Markup, ConsoleError> {
    let endpoints = state
        .store
        .endpoints(&user.tenant)
        .map_err(|e| ConsoleError::from(e).for_user(&user))?;
    let mut rows = Vec::new();
    for endpoint in endpoints {
        let deliveries = state
            .store
            .deliveries(&user.tenant, &endpoint.id, None, 5)
            .map_err(|e| ConsoleError::from(e).for_user(&user))?;
        rows.push((endpoint, deliveries));
    }
    Ok(page(
        "Webhooks",
        Some(&user),
        html! {
            h1 { "Webhook endpoints" }
            @if rows.is_empty() {
                p { "No endpoints. Register one with " code { "POST /api/v1/webhook-endpoints" } "." }
            }
            @for (endpoint, deliveries) in &rows {
                section {
                    h2 { (endpoint.url) }
                    p {
                        (if endpoint.enabled { "enabled" } else { "disabled" })
                        @if let Some(reason) = &endpoint.disabled_reason { " (" (reason) ")" }
                        " · events: " (endpoint.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "))
                    }
                    table {
                        thead { tr { th scope="col" { "Delivery" } th scope="col" { "Event" } th scope="col" { "Status" } th scope="col" { "Attempts" } } }
                        tbody {
                            @for delivery in deliveries {
                                tr {
                                    td { code { (delivery.id) } }
                                    td { (delivery.event_type.as_str()) }
                                    td { (format!("{:?}", delivery.status).to_lowercase()) }
                                    td { (delivery.attempts.len()) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}
