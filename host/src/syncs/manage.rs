//! The use cases of syncs, checked: what the REST handlers run.

use serde::Deserialize;
use tokio::sync::Notify;

use super::Syncs;
use crate::connection;
use crate::error::{ApiError, ErrorCode};
use crate::store::{SyncRecord, now_rfc3339, unix_now_ms};

/// Longest container id a sync accepts.
const MAX_CONTAINER: usize = 1024;
/// Longest interval: 30 days.
const MAX_INTERVAL_SECS: u64 = 30 * 24 * 3600;

/// `POST /api/v1/connections/{id}/syncs`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSync {
    /// The container whose items are synced (a project key, a channel id, ...).
    pub container: String,
    /// Seconds between runs. Default: `syncs.default_interval_secs`.
    pub interval_secs: Option<u64>,
    /// Seconds between full passes (which find deletions without tombstones). Default:
    /// `syncs.default_full_pass_interval_secs`.
    pub full_pass_interval_secs: Option<u64>,
    /// Create it paused. Default: false.
    #[serde(default)]
    pub paused: bool,
}

/// `PATCH .../syncs/{sid}`: fields left out stay.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncPatch {
    /// A new interval.
    pub interval_secs: Option<u64>,
    /// A new full-pass interval.
    pub full_pass_interval_secs: Option<u64>,
    /// Pause or resume it.
    pub paused: Option<bool>,
}

fn interval(state: &Syncs, field: &str, secs: u64) -> Result<u64, ApiError> {
    let min = state.settings.min_interval.as_secs();
    if secs < min || secs > MAX_INTERVAL_SECS {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("{field} must be between {min} and {MAX_INTERVAL_SECS} seconds"),
        ));
    }
    Ok(secs)
}

fn sync_not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("sync `{id}` not found"))
}

/// The tenant's sync, or 404 (another tenant's answers the same).
pub async fn load(
    state: &Syncs,
    tenant: &str,
    connection: &str,
    id: &str,
) -> Result<SyncRecord, ApiError> {
    connection::load(state, tenant, connection).await?;
    state
        .store
        .sync(tenant, connection, id)
        .await?
        .ok_or_else(|| sync_not_found(id))
}

/// Creates a sync, due at once unless paused.
pub async fn create(
    state: &Syncs,
    wake: &Notify,
    tenant: &str,
    connection: &str,
    new: NewSync,
) -> Result<SyncRecord, ApiError> {
    connection::load(state, tenant, connection).await?;
    let container = new.container.trim();
    if container.is_empty()
        || container.len() > MAX_CONTAINER
        || container.contains(char::is_control)
    {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("container must be 1-{MAX_CONTAINER} characters without control characters"),
        ));
    }
    let settings = &state.settings;
    let interval_secs = interval(
        state,
        "interval_secs",
        new.interval_secs
            .unwrap_or(settings.default_interval.as_secs()),
    )?;
    let full_pass_interval_secs = interval(
        state,
        "full_pass_interval_secs",
        new.full_pass_interval_secs
            .unwrap_or(settings.default_full_pass_interval.as_secs()),
    )?;
    let existing = state.store.syncs_of(tenant, connection).await?;
    if existing.len() >= settings.max_syncs_per_connection {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "a connection may have {} syncs",
                settings.max_syncs_per_connection
            ),
        ));
    }
    if let Some(same) = existing.iter().find(|s| s.container == container) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("sync `{}` already syncs container `{container}`", same.id),
        ));
    }
    let now = now_rfc3339();
    let sync = SyncRecord {
        id: format!("sync_{}", uuid::Uuid::new_v4().simple()),
        tenant: tenant.to_owned(),
        connection: connection.to_owned(),
        container: container.to_owned(),
        interval_secs,
        full_pass_interval_secs,
        paused: new.paused,
        created_at: now.clone(),
        updated_at: now,
        next_run_at_ms: unix_now_ms(),
        last_full_pass_at_ms: None,
        last_run: None,
    };
    state.store.create_sync(&sync).await?;
    wake.notify_one();
    Ok(sync)
}

/// Changes a sync's schedule or pauses/resumes it.
pub async fn patch(
    state: &Syncs,
    wake: &Notify,
    tenant: &str,
    connection: &str,
    id: &str,
    patch: SyncPatch,
) -> Result<SyncRecord, ApiError> {
    load(state, tenant, connection, id).await?;
    let interval_secs = patch
        .interval_secs
        .map(|s| interval(state, "interval_secs", s))
        .transpose()?;
    let full_pass = patch
        .full_pass_interval_secs
        .map(|s| interval(state, "full_pass_interval_secs", s))
        .transpose()?;
    let now = now_rfc3339();
    let updated = state
        .store
        .update_sync(tenant, connection, id, |sync| {
            if let Some(secs) = interval_secs {
                sync.interval_secs = secs;
            }
            if let Some(secs) = full_pass {
                sync.full_pass_interval_secs = secs;
            }
            if let Some(paused) = patch.paused {
                sync.paused = paused;
            }
            sync.updated_at = now.clone();
        })
        .await?
        .ok_or_else(|| sync_not_found(id))?;
    wake.notify_one();
    Ok(updated)
}

/// Makes a sync due now; a paused sync answers 409.
pub async fn run_now(
    state: &Syncs,
    wake: &Notify,
    tenant: &str,
    connection: &str,
    id: &str,
) -> Result<SyncRecord, ApiError> {
    let sync = load(state, tenant, connection, id).await?;
    if sync.paused {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("sync `{id}` is paused; resume it first"),
        ));
    }
    let now = unix_now_ms();
    let updated = state
        .store
        .update_sync(tenant, connection, id, |sync| {
            sync.next_run_at_ms = sync.next_run_at_ms.min(now);
        })
        .await?
        .ok_or_else(|| sync_not_found(id))?;
    wake.notify_one();
    Ok(updated)
}

/// Deletes a sync (its changes stay in the feed).
pub async fn delete(
    state: &Syncs,
    tenant: &str,
    connection: &str,
    id: &str,
) -> Result<(), ApiError> {
    load(state, tenant, connection, id).await?;
    state.store.delete_sync(tenant, connection, id).await?;
    Ok(())
}
