//! Authorized clients: the MCP clients the tenant allowed through the consent page, what each
//! may reach, and a button that revokes one (its tokens stop working at once).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::layout::{ConsoleError, page};
use super::session::{ConsoleUser, CsrfForm};
use crate::app::App;
use crate::app::mcp_authorization::grants;

/// `GET /console/mcp-clients`.
pub async fn list(State(state): State<App>, user: ConsoleUser) -> Result<Markup, ConsoleError> {
    let clients = grants::list(&state, &user.tenant)
        .await
        .map_err(|e| ConsoleError::from(e).for_user(&user))?;
    let base = state.public_url.trim_end_matches('/');
    Ok(page(
        "Authorized clients",
        Some(&user),
        html! {
            h1 { "Authorized clients" }
            p {
                "MCP clients (ChatGPT, Claude, IDEs) add this host by its URL, "
                code { (base) "/mcp" } ", and ask you here to allow them. "
                "Each holds a short-lived access token for one MCP endpoint and a refresh token; revoking ends both."
            }
            @if clients.is_empty() {
                p { "No client is authorized." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Client" } th scope="col" { "Answers go to" }
                        th scope="col" { "Endpoint" } th scope="col" { "Last used" } th scope="col" { "" }
                    } }
                    tbody {
                        @for client in &clients {
                            tr {
                                td {
                                    (client.client_name)
                                    @if client.pending { " " span class="badge" { "code not redeemed" } }
                                    br; span class="hint" { "allowed by " (client.granted_by) " at " (client.created_at) }
                                }
                                td { code { (client.redirect_host) } }
                                td { code { (client.resource) } }
                                td { (client.last_used_at) }
                                td {
                                    form class="inline" method="post" action={ "/console/mcp-clients/" (client.id) "/revoke" } {
                                        input type="hidden" name="csrf" value=(user.csrf);
                                        button class="secondary" type="submit" aria-label={ "Revoke " (client.client_name) } { "Revoke" }
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

/// `POST /console/mcp-clients/{id}/revoke`.
pub async fn revoke(
    State(state): State<App>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form.csrf)?;
    grants::revoke(&state, &user.caller(), &id)
        .await
        .map_err(|e| ConsoleError::from(e).for_user(&user))?;
    Ok((StatusCode::SEE_OTHER, Redirect::to("/console/mcp-clients")).into_response())
}
