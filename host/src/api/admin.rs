//! `/admin/v1`: tenants, API keys and key rotation, for the operator.

use axum::extract::State;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::{API_KEY_PREFIX, Admin};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::openapi::{ErrorEnvelope, Success};
use super::{ApiError, AppState, Envelope, ErrorCode};
use crate::store::{ApiKeyRecord, Store, StoreError, Tenant, now_rfc3339};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    id: String,
    name: String,
}

/// A freshly issued API key: shown once, stored only as a hash.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IssuedKey {
    pub id: String,
    pub tenant: String,
    pub key: String,
    /// Unix seconds after which the key stops working; `null`: never.
    pub expires_at: Option<u64>,
}

/// `POST /admin/v1/tenants/{tenant}/api-keys` query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IssueKeyQuery {
    /// The key expires this many seconds after it is issued. Default: never.
    expires_in_secs: Option<u64>,
}

/// Tenant ids are path segments and storage prefixes: keep them plain.
pub fn check_tenant_id(id: &str) -> Result<(), ApiError> {
    let valid = !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('_')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Validation,
            "tenant id must be 1-64 of a-z 0-9 - _, not starting with _",
        ))
    }
}

/// Creates a tenant (shared by the admin API and the CLI).
pub async fn create_tenant_in(
    store: &Store,
    id: &str,
    name: &str,
    actor: &str,
) -> Result<Tenant, ApiError> {
    check_tenant_id(id)?;
    if name.trim().is_empty() || name.len() > 200 {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "name must be 1 to 200 characters",
        ));
    }
    let tenant = Tenant {
        id: id.to_owned(),
        name: name.to_owned(),
        created_at: now_rfc3339(),
        redirect_origins: Vec::new(),
    };
    store.create_tenant(&tenant).await.map_err(|e| match e {
        StoreError::Conflict => {
            ApiError::new(ErrorCode::Conflict, format!("tenant `{id}` already exists"))
        }
        other => other.into(),
    })?;
    let _ = store
        .audit(
            Some(id),
            actor,
            "tenant.create",
            id,
            serde_json::Value::Null,
        )
        .await;
    Ok(tenant)
}

/// Issues an API key for a tenant, valid for `expires_in_secs` if given (shared by the admin
/// API, the tenant's own rotation and the CLI).
pub async fn issue_key_in(
    store: &Store,
    tenant: &str,
    actor: &str,
    expires_in_secs: Option<u64>,
) -> Result<IssuedKey, ApiError> {
    let no_randomness = || ApiError::new(ErrorCode::InternalError, "no randomness available");
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|_| no_randomness())?;
    let key = format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    // The id is random on its own: nothing about the secret can be read from a listing.
    let mut id_bytes = [0u8; 6];
    getrandom::fill(&mut id_bytes).map_err(|_| no_randomness())?;
    let id = format!("key_{}", hex::encode(id_bytes));
    let expires_at = expires_in_secs.map(|secs| crate::credentials::unix_now() + secs);
    let record = ApiKeyRecord {
        id: id.clone(),
        tenant: tenant.to_owned(),
        created_at: now_rfc3339(),
        expires_at,
    };
    store
        .insert_api_key(&key, &record)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ApiError::new(ErrorCode::NotFound, format!("tenant `{tenant}` not found"))
            }
            other => other.into(),
        })?;
    let _ = store
        .audit(
            Some(tenant),
            actor,
            "api_key.issue",
            &id,
            json!({ "expires_at": expires_at }),
        )
        .await;
    Ok(IssuedKey {
        id,
        tenant: tenant.to_owned(),
        key,
        expires_at,
    })
}

/// Re-seals every secret under a new master key, then retires the old keys nothing is sealed
/// under any more (shared by the admin API and the CLI). Reads keep working throughout: an old
/// key opens until it is retired. Rotations run one at a time.
pub async fn rotate_keys_in(store: &Store, actor: &str) -> anyhow::Result<serde_json::Value> {
    let _one_at_a_time = store.keys().rotation_guard().await;
    let new_key = store.keys().begin_rotation()?;
    let resealed = store.reseal_all().await?;
    // A value written under an old key while the re-seal ran (a write that loaded the ring just
    // before the switch) keeps that key alive until the next rotation.
    let in_use = store.keys_in_use()?;
    let retired = store.keys().retire_old_keys(&in_use)?;
    let kept: Vec<&String> = in_use.iter().filter(|id| **id != new_key).collect();
    let report = json!({
        "current_key": new_key,
        "resealed": resealed,
        "retired_keys": retired,
        "kept_keys": kept,
    });
    store
        .audit(None, actor, "keys.rotate", &new_key, report.clone())
        .await?;
    Ok(report)
}

/// `POST /admin/v1/tenants`.
#[utoipa::path(post, path = "/admin/v1/tenants", tag = "admin", request_body = CreateTenant, responses((status = 201, description = "created", body = Success<Tenant>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("admin_token" = [])))]
pub async fn create_tenant(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(body): ApiJson<CreateTenant>,
) -> Result<Envelope<Tenant>, ApiError> {
    Ok(Envelope::created(
        create_tenant_in(&state.store, &body.id, &body.name, "admin").await?,
    ))
}

/// `GET /admin/v1/tenants`.
#[utoipa::path(get, path = "/admin/v1/tenants", tag = "admin", responses((status = 200, description = "tenants", body = Success<Vec<Tenant>>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("admin_token" = [])))]
pub async fn list_tenants(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Envelope<Vec<Tenant>>, ApiError> {
    Ok(Envelope::ok(state.store.tenants()?))
}

/// `POST /admin/v1/tenants/{tenant}/api-keys`.
#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/api-keys", tag = "admin", params(("tenant" = String, Path), IssueKeyQuery), responses((status = 201, description = "the key, shown once", body = Success<IssuedKey>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("admin_token" = [])))]
pub async fn issue_key(
    State(state): State<AppState>,
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
        issue_key_in(&state.store, &tenant, "admin", query.expires_in_secs).await?,
    ))
}

/// `POST /admin/v1/keys/rotate`.
#[utoipa::path(post, path = "/admin/v1/keys/rotate", tag = "admin", responses((status = 200, description = "rotation report", body = Success<serde_json::Value>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("admin_token" = [])))]
pub async fn rotate_keys(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    match rotate_keys_in(&state.store, "admin").await {
        Ok(report) => Ok(Envelope::ok(report)),
        Err(error) => Err(ApiError::new(ErrorCode::Validation, format!("{error:#}"))),
    }
}
