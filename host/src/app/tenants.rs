//! Tenants and their API keys, and the rotation of the master key: the use cases the admin
//! API, the tenant's own key rotation, the operator's console and the CLI share.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::json;

use super::callers::API_KEY_PREFIX;
use crate::error::{ApiError, ErrorCode};
use crate::store::{ApiKeyRecord, Store, StoreError, Tenant, now_rfc3339};

/// A freshly issued API key: shown once, stored only as a hash.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IssuedKey {
    /// The key's id (`key_...`), for listing and revoking it.
    pub id: String,
    /// The tenant it belongs to.
    pub tenant: String,
    /// The key itself (`chk_...`): shown this once, stored only as a hash.
    pub key: String,
    /// Unix seconds after which the key stops working; `null`: never.
    pub expires_at: Option<u64>,
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
pub async fn create(store: &Store, id: &str, name: &str, actor: &str) -> Result<Tenant, ApiError> {
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
        monthly_call_limit: None,
        tool_packs: Default::default(),
        tool_policy: Default::default(),
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
pub async fn issue_key(
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
pub async fn rotate_keys(store: &Store, actor: &str) -> anyhow::Result<serde_json::Value> {
    let _one_at_a_time = store.keys().rotation_guard().await;
    let new_key = store.keys().begin_rotation()?;
    let resealed = store.reseal_all().await?;
    // A value written under an old key while the re-seal ran (a write that loaded the ring just
    // before the switch) keeps that key alive until the next rotation.
    let in_use = store.keys_in_use().await?;
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

/// Revokes one of a tenant's API keys, audited in the tenant's log (shared by the admin API
/// and the operator's console).
pub async fn revoke_key(
    store: &Store,
    tenant: &str,
    id: &str,
    actor: &str,
) -> Result<(), ApiError> {
    if !store.revoke_api_key(tenant, id).await? {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("tenant `{tenant}` has no API key `{id}`"),
        ));
    }
    let _ = store
        .audit(
            Some(tenant),
            actor,
            "api_key.revoke",
            id,
            serde_json::Value::Null,
        )
        .await;
    Ok(())
}
