//! Tenants and their API keys: list and create tenants, issue a key (shown once, on the page
//! that answers the form, never stored readable), revoke one. The same use cases as
//! `/admin/v1`, audited in the tenant's log as `admin`.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::{ACTOR, ConsoleOperator, operator_page};
use crate::app::App;
use crate::app::tenants::{self, IssuedKey};
use crate::console::layout::{ConsoleError, alert};
use crate::console::session::CsrfForm;
use crate::credentials::unix_now;
use crate::error::{ApiError, ErrorCode};

/// Longest expiry a console-issued key may get: ten years, in days.
const MAX_EXPIRY_DAYS: u64 = 3650;

async fn tenants_markup(
    state: &App,
    operator: &ConsoleOperator,
    message: Option<&str>,
) -> Result<Markup, ConsoleError> {
    let mut tenants = state.store.tenants().await?;
    tenants.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(operator_page(
        "Tenants",
        operator,
        html! {
            h1 { "Tenants" }
            (alert(message))
            @if tenants.is_empty() { p { "No tenants yet." } }
            table {
                thead { tr { th scope="col" { "Tenant" } th scope="col" { "Name" } th scope="col" { "Created" } } }
                tbody {
                    @for tenant in &tenants {
                        tr {
                            td { a href={ "/console/operator/tenants/" (tenant.id) } { (tenant.id) } }
                            td { (tenant.name) }
                            td { (tenant.created_at) }
                        }
                    }
                }
            }
            h2 { "New tenant" }
            form method="post" action="/console/operator/tenants" {
                input type="hidden" name="csrf" value=(operator.csrf());
                label for="id" { "Tenant id " span class="hint" { "(a-z 0-9 - _, at most 64)" } }
                input id="id" name="id" required maxlength="64" pattern="[a-z0-9][a-z0-9_-]*" autocomplete="off";
                label for="name" { "Name" }
                input id="name" name="name" required maxlength="200";
                button type="submit" { "Create tenant" }
            }
        },
    ))
}

/// `GET /console/operator/tenants`.
pub async fn list(
    State(state): State<App>,
    operator: ConsoleOperator,
) -> Result<Markup, ConsoleError> {
    tenants_markup(&state, &operator, None).await
}

#[derive(Deserialize)]
pub struct NewTenantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

/// `POST /console/operator/tenants`: then the new tenant's page, to issue its first key.
pub async fn create(
    State(state): State<App>,
    operator: ConsoleOperator,
    Form(form): Form<NewTenantForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    let id = form.id.trim();
    match tenants::create(&state.store, id, form.name.trim(), ACTOR).await {
        Ok(tenant) => {
            Ok(Redirect::to(&format!("/console/operator/tenants/{}", tenant.id)).into_response())
        }
        Err(error) => Ok((
            error.http_status(),
            tenants_markup(&state, &operator, Some(&error.message)).await?,
        )
            .into_response()),
    }
}

fn tenant_not_found(tenant: &str) -> ConsoleError {
    ApiError::new(ErrorCode::NotFound, format!("tenant `{tenant}` not found")).into()
}

async fn keys_markup(
    state: &App,
    operator: &ConsoleOperator,
    tenant: &str,
    message: Option<&str>,
    issued: Option<&IssuedKey>,
) -> Result<Markup, ConsoleError> {
    let Some(record) = state.store.tenant(tenant).await? else {
        return Err(tenant_not_found(tenant));
    };
    let keys = state.store.api_keys(tenant).await?;
    let now = unix_now();
    let base = format!("/console/operator/tenants/{}", record.id);
    Ok(operator_page(
        "API keys",
        operator,
        html! {
            p class="crumbs" { a href="/console/operator/tenants" { "Tenants" } " / " (record.id) }
            h1 { "API keys of " (record.name) }
            (alert(message))
            @if let Some(issued) = issued {
                section class="secret" aria-labelledby="issued-title" {
                    h2 id="issued-title" { "New key " code { (issued.id) } }
                    p { "Copy it now: it is shown this once and stored only as a hash." }
                    label for="issued-key" { "API key" }
                    input id="issued-key" readonly value=(issued.key);
                }
            }
            @if keys.is_empty() { p { "This tenant has no API keys." } }
            table {
                thead { tr { th scope="col" { "Key" } th scope="col" { "Created" } th scope="col" { "Expires" } th scope="col" { "Actions" } } }
                tbody {
                    @for key in &keys {
                        tr {
                            td { code { (key.id) } @if key.expired(now) { " " span class="hint" { "(expired)" } } }
                            td { (key.created_at) }
                            td {
                                @match key.expires_at {
                                    Some(at) => (humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(at))),
                                    None => "never",
                                }
                            }
                            td {
                                form class="inline" method="post" action={ (base) "/api-keys/" (key.id) "/revoke" } {
                                    input type="hidden" name="csrf" value=(operator.csrf());
                                    button class="danger" type="submit" aria-label={ "Revoke " (key.id) } { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Issue a key" }
            form method="post" action={ (base) "/api-keys" } {
                input type="hidden" name="csrf" value=(operator.csrf());
                label for="expires_in_days" { "Expires after (days) " span class="hint" { "(empty: never)" } }
                input id="expires_in_days" name="expires_in_days" type="number" min="1" max=(MAX_EXPIRY_DAYS) inputmode="numeric";
                button type="submit" { "Issue key" }
            }
        },
    ))
}

/// `GET /console/operator/tenants/{tenant}`: the tenant's API keys.
pub async fn keys(
    State(state): State<App>,
    operator: ConsoleOperator,
    Path(tenant): Path<String>,
) -> Result<Markup, ConsoleError> {
    keys_markup(&state, &operator, &tenant, None, None).await
}

#[derive(Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    csrf: String,
    /// Empty: the key never expires.
    #[serde(default)]
    expires_in_days: String,
}

fn expiry_secs(days: &str) -> Result<Option<u64>, String> {
    let days = days.trim();
    if days.is_empty() {
        return Ok(None);
    }
    match days.parse::<u64>() {
        Ok(n) if (1..=MAX_EXPIRY_DAYS).contains(&n) => Ok(Some(n * 86_400)),
        _ => Err(format!(
            "expiry must be a whole number of days from 1 to {MAX_EXPIRY_DAYS}, or empty"
        )),
    }
}

/// `POST /console/operator/tenants/{tenant}/api-keys`: the answer shows the key once; it is
/// not cached, and reloading issues nothing (a POST the browser asks before repeating).
pub async fn issue_key(
    State(state): State<App>,
    operator: ConsoleOperator,
    Path(tenant): Path<String>,
    Form(form): Form<IssueForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    if state.store.tenant(&tenant).await?.is_none() {
        return Err(tenant_not_found(&tenant));
    }
    let expires = match expiry_secs(&form.expires_in_days) {
        Ok(expires) => expires,
        Err(message) => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                keys_markup(&state, &operator, &tenant, Some(&message), None).await?,
            )
                .into_response());
        }
    };
    let issued = tenants::issue_key(&state.store, &tenant, ACTOR, expires)
        .await
        .map_err(ConsoleError::from)?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        keys_markup(&state, &operator, &tenant, None, Some(&issued)).await?,
    )
        .into_response())
}

/// `POST /console/operator/tenants/{tenant}/api-keys/{id}/revoke`: the key answers 401 from
/// now on, and console sessions signed in with it end.
pub async fn revoke_key(
    State(state): State<App>,
    operator: ConsoleOperator,
    Path((tenant, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    tenants::revoke_key(&state.store, &tenant, &id, ACTOR)
        .await
        .map_err(ConsoleError::from)?;
    Ok(Redirect::to(&format!("/console/operator/tenants/{tenant}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::expiry_secs;

    #[test]
    fn expiry_is_whole_days_in_range_or_never() {
        assert_eq!(expiry_secs(""), Ok(None));
        assert_eq!(expiry_secs(" 2 "), Ok(Some(172_800)));
        assert!(expiry_secs("0").is_err());
        assert!(expiry_secs("3651").is_err());
        assert!(expiry_secs("1.5").is_err());
        assert!(expiry_secs("-1").is_err());
    }
}
