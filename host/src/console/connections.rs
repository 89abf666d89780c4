//! The connections dashboard: status, last success and error, a reconnect button for a
//! connection whose grant died (the OAuth flow again, replacing its credential in place), and
//! a delete button.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::layout::{ConsoleError, page};
use super::session::{ConsoleUser, CsrfForm};
use crate::app::App;
use crate::store::ConnectionStatus;

fn status_text(status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Active => "active",
        ConnectionStatus::InvalidCredentials => "invalid_credentials",
        ConnectionStatus::NeedsReauth => "needs_reauth",
        ConnectionStatus::Error => "error",
    }
}

/// `GET /console/connections`.
pub async fn dashboard(
    State(state): State<App>,
    user: ConsoleUser,
) -> Result<Markup, ConsoleError> {
    let mut connections = state
        .store
        .connections(&user.tenant)
        .await
        .map_err(|e| ConsoleError::from(e).for_user(&user))?;
    connections.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(page(
        "Connections",
        Some(&user),
        html! {
            h1 { "Connections" }
            @if connections.is_empty() {
                p { "No connections yet. " a href="/console/connectors" { "Connect an account" } "." }
            } @else {
                table {
                    caption class="hint" { (connections.len()) " connection(s)" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Connector" } th scope="col" { "Status" } th scope="col" { "Last success" } th scope="col" { "Actions" } } }
                    tbody {
                        @for connection in &connections {
                            @let status = status_text(connection.status);
                            tr {
                                td { a href={ "/console/connections/" (connection.id) } { (connection.name) } }
                                td { (connection.connector) }
                                td {
                                    span class={ "status-" (status) } { (status) }
                                    @if let Some(error) = &connection.last_error {
                                        br; span class="hint" { (error) }
                                    }
                                    @if connection.status == ConnectionStatus::NeedsReauth {
                                        form method="post" action={ "/console/connectors/" (connection.connector) "/oauth" } {
                                            input type="hidden" name="csrf" value=(user.csrf);
                                            input type="hidden" name="reconnect" value=(connection.id);
                                            button type="submit" aria-label={ "Reconnect " (connection.name) } { "Reconnect" }
                                        }
                                    }
                                }
                                td { (connection.last_success_at.as_deref().unwrap_or("never")) }
                                td {
                                    form class="inline" method="post" action={ "/console/connections/" (connection.id) "/delete" } {
                                        input type="hidden" name="csrf" value=(user.csrf);
                                        button class="danger" type="submit" aria-label={ "Delete " (connection.name) } { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// `POST /console/connections/{id}/delete`.
pub async fn delete(
    State(state): State<App>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form.csrf)?;
    crate::app::connections::remove(&state, &user.caller(), &id)
        .await
        .map_err(|e| ConsoleError::from(e).for_user(&user))?;
    Ok(Redirect::to("/console/connections").into_response())
}
