//! `GET|PUT /api/v1/settings`: a tenant's own settings. Today: the origins its OAuth
//! `return_to` and `redirect_uri` may point at, besides the host's own.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::ApiJson;
use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};
use crate::app::audit::audit;
use crate::app::callers::TenantCaller;

/// Most origins one tenant may register.
const MAX_REDIRECT_ORIGINS: usize = 20;

/// A tenant's settings.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Origins (`https://app.example.com`, no path) OAuth may send the user back to.
    #[serde(default)]
    redirect_origins: Vec<String>,
}

/// `GET /api/v1/settings`.
#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", responses((status = 200, description = "the tenant's settings", body = Success<TenantSettings>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn get(
    State(state): State<App>,
    caller: TenantCaller,
) -> Result<Envelope<TenantSettings>, ApiError> {
    let tenant = state
        .store
        .tenant(&caller.tenant)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "tenant not found"))?;
    Ok(Envelope::ok(TenantSettings {
        redirect_origins: tenant.redirect_origins,
    }))
}

/// `PUT /api/v1/settings`: replaces the settings.
#[utoipa::path(put, path = "/api/v1/settings", tag = "settings", request_body = TenantSettings, responses((status = 200, description = "stored", body = Success<TenantSettings>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn put(
    State(state): State<App>,
    caller: TenantCaller,
    ApiJson(body): ApiJson<TenantSettings>,
) -> Result<Envelope<TenantSettings>, ApiError> {
    if body.redirect_origins.len() > MAX_REDIRECT_ORIGINS {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("at most {MAX_REDIRECT_ORIGINS} redirect_origins"),
        ));
    }
    let origins = body
        .redirect_origins
        .iter()
        .map(|value| canonical_origin(value))
        .collect::<Result<Vec<_>, _>>()?;
    let mut tenant = state
        .store
        .tenant(&caller.tenant)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "tenant not found"))?;
    tenant.redirect_origins = origins.clone();
    state.store.update_tenant(&tenant).await?;
    audit(
        &state,
        &caller,
        "settings.update",
        &caller.tenant,
        json!({ "redirect_origins": origins }),
    )
    .await;
    Ok(Envelope::ok(TenantSettings {
        redirect_origins: origins,
    }))
}

/// `https://host[:port]` exactly: an origin, not a URL with a path, query or credentials.
fn canonical_origin(value: &str) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::new(
            ErrorCode::Validation,
            format!("`{value}` is not an origin like https://app.example.com"),
        )
    };
    let url = url::Url::parse(value).map_err(|_| invalid())?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "https" | "http")
        || !bare
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(invalid());
    }
    Ok(url.origin().ascii_serialization())
}
