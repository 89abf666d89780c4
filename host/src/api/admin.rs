//! `/admin/v1`: tenants, API keys and key rotation, for the operator (the use cases are
//! `app::tenants`).

use axum::extract::State;
use serde::Deserialize;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};
use crate::app::callers::Admin;
use crate::app::tenants::{self, IssuedKey};
use crate::store::Tenant;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    id: String,
    name: String,
}

/// `POST /admin/v1/tenants/{tenant}/api-keys` query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IssueKeyQuery {
    /// The key expires this many seconds after it is issued. Default: never.
    expires_in_secs: Option<u64>,
}

/// `POST /admin/v1/tenants`.
#[utoipa::path(post, path = "/admin/v1/tenants", tag = "admin", request_body = CreateTenant, responses((status = 201, description = "created", body = Success<Tenant>), ErrorResponses), security(("admin_token" = [])))]
pub async fn create_tenant(
    State(state): State<App>,
    _admin: Admin,
    ApiJson(body): ApiJson<CreateTenant>,
) -> Result<Envelope<Tenant>, ApiError> {
    Ok(Envelope::created(
        tenants::create(&state.store, &body.id, &body.name, "admin").await?,
    ))
}

/// `GET /admin/v1/tenants`.
#[utoipa::path(get, path = "/admin/v1/tenants", tag = "admin", responses((status = 200, description = "tenants", body = Success<Vec<Tenant>>), ErrorResponses), security(("admin_token" = [])))]
pub async fn list_tenants(
    State(state): State<App>,
    _admin: Admin,
) -> Result<Envelope<Vec<Tenant>>, ApiError> {
    Ok(Envelope::ok(state.store.tenants().await?))
}

/// `POST /admin/v1/tenants/{tenant}/api-keys`.
#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/api-keys", tag = "admin", params(("tenant" = String, Path), IssueKeyQuery), responses((status = 201, description = "the key, shown once", body = Success<IssuedKey>), ErrorResponses), security(("admin_token" = [])))]
pub async fn issue_key(
    State(state): State<App>,
    _admin: Admin,
    ApiPath(tenant): ApiPath<String>,
    ApiQuery(query): ApiQuery<IssueKeyQuery>,
) -> Result<Envelope<IssuedKey>, ApiError> {
    if query.expires_in_secs == Some(0) {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "expires_in_secs must be at least 1",
        ));
    }
    Ok(Envelope::created(
        tenants::issue_key(&state.store, &tenant, "admin", query.expires_in_secs).await?,
    ))
}

/// `POST /admin/v1/keys/rotate`.
#[utoipa::path(post, path = "/admin/v1/keys/rotate", tag = "admin", responses((status = 200, description = "rotation report", body = Success<serde_json::Value>), ErrorResponses), security(("admin_token" = [])))]
pub async fn rotate_keys(
    State(state): State<App>,
    _admin: Admin,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    match tenants::rotate_keys(&state.store, "admin").await {
        Ok(report) => Ok(Envelope::ok(report)),
        Err(error) => Err(ApiError::new(ErrorCode::Validation, format!("{error:#}"))),
    }
}
