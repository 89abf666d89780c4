//! API key lifecycle: the operator lists and revokes a tenant's keys
//! (`GET|DELETE /admin/v1/tenants/{tenant}/api-keys[/{id}]`); a tenant rotates the key it calls
//! with (`POST /api/v1/api-keys/rotate`: a new key, the calling one revoked).

use axum::extract::State;
use serde_json::json;

use super::extract::ApiPath;
use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};
use crate::app::audit::audit;
use crate::app::callers::{Admin, TenantCaller};
use crate::app::tenants::{self, IssuedKey};
use crate::store::ApiKeyRecord;

/// `GET /admin/v1/tenants/{tenant}/api-keys`: ids, creation and expiry; never a secret.
#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/api-keys", tag = "admin", params(("tenant" = String, Path)), responses((status = 200, description = "the tenant's keys", body = Success<Vec<ApiKeyRecord>>), ErrorResponses), security(("admin_token" = [])))]
pub async fn list(
    State(state): State<App>,
    _admin: Admin,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Envelope<Vec<ApiKeyRecord>>, ApiError> {
    if state.store.tenant(&tenant).await?.is_none() {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("tenant `{tenant}` not found"),
        ));
    }
    Ok(Envelope::ok(state.store.api_keys(&tenant).await?))
}

/// `DELETE /admin/v1/tenants/{tenant}/api-keys/{id}`: the key answers 401 from now on.
#[utoipa::path(delete, path = "/admin/v1/tenants/{tenant}/api-keys/{id}", tag = "admin", params(("tenant" = String, Path), ("id" = String, Path)), responses((status = 200, description = "revoked", body = Success<serde_json::Value>), ErrorResponses), security(("admin_token" = [])))]
pub async fn revoke(
    State(state): State<App>,
    _admin: Admin,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    tenants::revoke_key(&state.store, &tenant, &id, "admin").await?;
    Ok(Envelope::ok(json!({ "id": id, "revoked": true })))
}

/// `POST /api/v1/api-keys/rotate`: issues a new key for the caller's tenant (same expiry
/// period, if the calling key had one) and revokes the calling key. The new key is shown once.
#[utoipa::path(post, path = "/api/v1/api-keys/rotate", tag = "api-keys", responses((status = 201, description = "the new key, shown once; the calling key is revoked", body = Success<IssuedKey>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn rotate(
    State(state): State<App>,
    caller: TenantCaller,
) -> Result<Envelope<IssuedKey>, ApiError> {
    let Some(old_id) = caller.key_id() else {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "only a caller authenticated by an API key can rotate it",
        ));
    };
    let old = state
        .store
        .api_keys(&caller.tenant)
        .await?
        .into_iter()
        .find(|record| record.id == old_id);
    let period = old
        .as_ref()
        .and_then(|r| Some(r.expires_at?.saturating_sub(seconds_of(&r.created_at)?)));
    let issued = tenants::issue_key(&state.store, &caller.tenant, &caller.actor, period).await?;
    state.store.revoke_api_key(&caller.tenant, old_id).await?;
    audit(
        &state,
        &caller,
        "api_key.rotate",
        old_id,
        json!({ "new_key": issued.id }),
    )
    .await;
    Ok(Envelope::created(issued))
}

fn seconds_of(rfc3339: &str) -> Option<u64> {
    humantime::parse_rfc3339_weak(rfc3339)
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}
