//! The tenant's webhook endpoints: each with its latest deliveries (replay a finished one),
//! a form to register one (its signing secret shown once, on the page that answers the form),
//! send a test event, enable or disable, rotate the secret, delete. The same use cases as
//! `/api/v1/webhook-endpoints`, audited alike.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::layout::{ConsoleError, alert, page};
use super::session::{ConsoleUser, CsrfForm};
use crate::app::App;
use crate::app::audit::audit;
use crate::error::{ApiError, ErrorCode};
use crate::store::{DeliveryStatus, EventType};
use crate::tenant_webhooks::{self, EndpointPatch, NewEndpoint};

/// Deliveries shown per endpoint.
const RECENT_DELIVERIES: usize = 5;

/// A secret to show once, with what it belongs to.
struct ShownSecret<'a> {
    endpoint: &'a str,
    secret: &'a str,
}

/// What the register form had, kept when it is refused.
#[derive(Default)]
struct Typed {
    url: String,
    events: Vec<String>,
    description: String,
}

async fn endpoints_markup(
    state: &App,
    user: &ConsoleUser,
    message: Option<&str>,
    typed: &Typed,
    secret: Option<ShownSecret<'_>>,
) -> Result<Markup, ConsoleError> {
    let store_error = |e: crate::store::StoreError| ConsoleError::from(e).for_user(user);
    let endpoints = state
        .store
        .endpoints(&user.tenant)
        .await
        .map_err(store_error)?;
    let mut rows = Vec::new();
    for endpoint in endpoints {
        let deliveries = state
            .store
            .deliveries(&user.tenant, &endpoint.id, None, RECENT_DELIVERIES)
            .await
            .map_err(store_error)?;
        rows.push((endpoint, deliveries));
    }
    Ok(page(
        "Webhooks",
        Some(user),
        html! {
            h1 { "Webhook endpoints" }
            (alert(message))
            @if let Some(shown) = &secret {
                section class="secret" aria-labelledby="secret-title" {
                    h2 id="secret-title" { "Signing secret of " code { (shown.endpoint) } }
                    p { "Copy it now: it is shown this once. Deliveries are signed with it (Standard Webhooks)." }
                    label for="signing-secret" { "Signing secret" }
                    input id="signing-secret" readonly value=(shown.secret);
                }
            }
            @if rows.is_empty() { p { "No endpoints yet." } }
            @for (endpoint, deliveries) in &rows {
                @let base = format!("/console/webhooks/{}", endpoint.id);
                section aria-label={ "Endpoint " (endpoint.url) } {
                    h2 { (endpoint.url) }
                    p {
                        code { (endpoint.id) } " · "
                        (if endpoint.enabled { "enabled" } else { "disabled" })
                        @if let Some(reason) = &endpoint.disabled_reason { " (" (reason) ")" }
                        " · events: " (endpoint.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "))
                        @if let Some(text) = &endpoint.description { br; span class="hint" { (text) } }
                    }
                    p {
                        @for (action, label, class) in [
                            ("test", "Send test event", "secondary"),
                            (if endpoint.enabled { "disable" } else { "enable" }, if endpoint.enabled { "Disable" } else { "Enable" }, "secondary"),
                            ("rotate-secret", "Rotate secret", "secondary"),
                            ("delete", "Delete", "danger"),
                        ] {
                            form class="inline" method="post" action={ (base) "/" (action) } {
                                input type="hidden" name="csrf" value=(user.csrf);
                                button class=(class) type="submit" aria-label={ (label) " for " (endpoint.url) } { (label) }
                            }
                            " "
                        }
                    }
                    table {
                        caption class="hint" { "Latest deliveries" }
                        thead { tr { th scope="col" { "Delivery" } th scope="col" { "Event" } th scope="col" { "Status" } th scope="col" { "Last attempt" } th scope="col" { "Actions" } } }
                        tbody {
                            @for delivery in deliveries {
                                tr {
                                    td { code { (delivery.id) } }
                                    td { (delivery.event_type.as_str()) }
                                    td { (format!("{:?}", delivery.status).to_lowercase()) " " span class="hint" { "(" (delivery.attempts.len()) " attempts)" } }
                                    td {
                                        @if let Some(last) = delivery.attempts.last() {
                                            @if let Some(code) = last.status_code { "HTTP " (code) }
                                            @if let Some(error) = &last.error { (error) }
                                        } @else { "not yet" }
                                    }
                                    td {
                                        @if delivery.status != DeliveryStatus::Pending {
                                            form class="inline" method="post" action={ (base) "/deliveries/" (delivery.id) "/replay" } {
                                                input type="hidden" name="csrf" value=(user.csrf);
                                                button class="secondary" type="submit" aria-label={ "Replay " (delivery.id) } { "Replay" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Register an endpoint" }
            form method="post" action="/console/webhooks" {
                input type="hidden" name="csrf" value=(user.csrf);
                label for="url" { "URL " span class="hint" { "(https; private addresses are refused)" } }
                input id="url" name="url" type="url" required maxlength="2048" value=(typed.url) placeholder="https://example.com/hooks";
                fieldset {
                    legend { "Events" }
                    @for kind in EventType::SUBSCRIBABLE {
                        @let name = kind.as_str();
                        @let id = format!("event-{}", name.replace('.', "-"));
                        label class="check" for=(id) {
                            input id=(id) name="events" type="checkbox" value=(name) checked[typed.events.iter().any(|e| e == name)];
                            " " (name)
                        }
                    }
                }
                label for="description" { "Description " span class="hint" { "(optional)" } }
                input id="description" name="description" maxlength="500" value=(typed.description);
                button type="submit" { "Register endpoint" }
            }
        },
    ))
}

/// `GET /console/webhooks`.
pub async fn list(State(state): State<App>, user: ConsoleUser) -> Result<Markup, ConsoleError> {
    endpoints_markup(&state, &user, None, &Typed::default(), None).await
}

/// A page that shows a secret: never cached.
fn secret_page(status: StatusCode, markup: Markup) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], markup).into_response()
}

/// `POST /console/webhooks` (`csrf`, `url`, `events` repeated, `description`).
pub async fn create(
    State(state): State<App>,
    user: ConsoleUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let mut csrf = "";
    let mut typed = Typed::default();
    for (name, value) in &pairs {
        match name.as_str() {
            "csrf" => csrf = value,
            "url" => typed.url = value.trim().to_owned(),
            "events" => typed.events.push(value.clone()),
            "description" => typed.description = value.trim().to_owned(),
            _ => {}
        }
    }
    user.check_csrf(csrf)?;
    let new = NewEndpoint {
        url: typed.url.clone(),
        events: typed.events.clone(),
        description: Some(typed.description.clone()).filter(|d| !d.is_empty()),
    };
    match tenant_webhooks::create(&state.tenant_webhooks, &user.tenant, new).await {
        Ok((endpoint, secret)) => {
            audit(
                &state,
                &user.caller(),
                "webhook_endpoint.create",
                &endpoint.id,
                serde_json::Value::Null,
            )
            .await;
            let shown = ShownSecret {
                endpoint: &endpoint.id,
                secret: &secret,
            };
            let markup =
                endpoints_markup(&state, &user, None, &Typed::default(), Some(shown)).await?;
            Ok(secret_page(StatusCode::CREATED, markup))
        }
        Err(error) => Ok((
            error.http_status(),
            endpoints_markup(&state, &user, Some(&error.message), &typed, None).await?,
        )
            .into_response()),
    }
}

/// `POST /console/webhooks/{eid}/{action}` (`test`, `enable`, `disable`, `rotate-secret`,
/// `delete`).
pub async fn action(
    State(state): State<App>,
    user: ConsoleUser,
    Path((eid, action)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form.csrf)?;
    let fail = |e: ApiError| ConsoleError::from(e).for_user(&user);
    let tenant = &user.tenant;
    let audited = match action.as_str() {
        "test" => {
            let wake = &state.background.deliveries;
            tenant_webhooks::send_test(&state.tenant_webhooks, wake, tenant, &eid)
                .await
                .map_err(fail)?;
            // Not audited, as through the REST API: a test changes nothing.
            return Ok(Redirect::to("/console/webhooks").into_response());
        }
        "enable" | "disable" => {
            let patch = EndpointPatch {
                enabled: Some(action == "enable"),
                ..EndpointPatch::default()
            };
            tenant_webhooks::patch(&state.tenant_webhooks, tenant, &eid, patch)
                .await
                .map_err(fail)?;
            "webhook_endpoint.update"
        }
        "rotate-secret" => {
            let (secret, _) = tenant_webhooks::rotate_secret(&state.tenant_webhooks, tenant, &eid)
                .await
                .map_err(fail)?;
            audit(
                &state,
                &user.caller(),
                "webhook_endpoint.rotate_secret",
                &eid,
                serde_json::Value::Null,
            )
            .await;
            let shown = ShownSecret {
                endpoint: &eid,
                secret: &secret,
            };
            let message =
                "The previous secret keeps signing too for a while, so receivers can switch over.";
            let markup =
                endpoints_markup(&state, &user, Some(message), &Typed::default(), Some(shown))
                    .await?;
            return Ok(secret_page(StatusCode::OK, markup));
        }
        "delete" => {
            tenant_webhooks::delete(&state.tenant_webhooks, tenant, &eid)
                .await
                .map_err(fail)?;
            "webhook_endpoint.delete"
        }
        _ => {
            return Err(fail(ApiError::new(
                ErrorCode::NotFound,
                format!("no endpoint action `{action}`"),
            )));
        }
    };
    audit(
        &state,
        &user.caller(),
        audited,
        &eid,
        serde_json::Value::Null,
    )
    .await;
    Ok(Redirect::to("/console/webhooks").into_response())
}

/// `POST /console/webhooks/{eid}/deliveries/{did}/replay`.
pub async fn replay(
    State(state): State<App>,
    user: ConsoleUser,
    Path((eid, did)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form.csrf)?;
    let wake = &state.background.deliveries;
    tenant_webhooks::replay(&state.tenant_webhooks, wake, &user.tenant, &eid, &did)
        .await
        .map_err(|e| ConsoleError::from(e).for_user(&user))?;
    audit(
        &state,
        &user.caller(),
        "webhook_delivery.replay",
        &did,
        serde_json::Value::Null,
    )
    .await;
    Ok(Redirect::to("/console/webhooks").into_response())
}
