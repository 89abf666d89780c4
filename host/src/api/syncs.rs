//! `/api/v1/connections/{id}/syncs`: sync jobs of a connection and their runs. Thin: the use
//! cases are in `crate::syncs`.

use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::{ApiJson, ApiPath};
use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope};
use crate::app::audit::audit;
use crate::app::callers::TenantCaller;
use crate::store::{RunRecord, SyncRecord, rfc3339_of_ms};
use crate::syncs::{self, NewSync, SyncPatch};

/// A sync as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SyncView {
    pub id: String,
    pub connection_id: String,
    pub container: String,
    pub interval_secs: u64,
    pub full_pass_interval_secs: u64,
    pub paused: bool,
    pub created_at: String,
    pub updated_at: String,
    /// When the next run is due (RFC 3339); `null` while paused.
    pub next_run_at: Option<String>,
    pub last_full_pass_at: Option<String>,
    pub last_run: Option<RunRecord>,
}

impl From<SyncRecord> for SyncView {
    fn from(sync: SyncRecord) -> Self {
        Self {
            next_run_at: (!sync.paused).then(|| rfc3339_of_ms(sync.next_run_at_ms)),
            last_full_pass_at: sync.last_full_pass_at_ms.map(rfc3339_of_ms),
            id: sync.id,
            connection_id: sync.connection,
            container: sync.container,
            interval_secs: sync.interval_secs,
            full_pass_interval_secs: sync.full_pass_interval_secs,
            paused: sync.paused,
            created_at: sync.created_at,
            updated_at: sync.updated_at,
            last_run: sync.last_run,
        }
    }
}

/// `GET .../runs` query.
#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    /// A run id: runs started before it (the page cursor).
    pub cursor: Option<String>,
    /// Default 25, at most 100.
    pub limit: Option<u32>,
}

/// A page of runs, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RunsPage {
    pub entries: Vec<RunRecord>,
    pub next_cursor: Option<String>,
}

/// `POST .../syncs`.
#[utoipa::path(post, path = "/api/v1/connections/{id}/syncs", tag = "syncs", params(("id" = String, Path, description = "connection id")), request_body = NewSync, responses((status = 201, description = "the sync, due at once unless paused", body = Success<SyncView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn create(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewSync>,
) -> Result<Envelope<SyncView>, ApiError> {
    let sync = syncs::create(
        &state.syncs,
        &state.background.syncs,
        &caller.tenant,
        &id,
        body,
    )
    .await?;
    audit(
        &state,
        &caller,
        "sync.create",
        &sync.id,
        serde_json::Value::Null,
    )
    .await;
    Ok(Envelope::created(sync.into()))
}

/// `GET .../syncs`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/syncs", tag = "syncs", params(("id" = String, Path, description = "connection id")), responses((status = 200, description = "the connection's syncs", body = Success<Vec<SyncView>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn list(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<Vec<SyncView>>, ApiError> {
    crate::connection::load(&state, &caller.tenant, &id).await?;
    let syncs = state.store.syncs_of(&caller.tenant, &id).await?;
    Ok(Envelope::ok(syncs.into_iter().map(Into::into).collect()))
}

/// `GET .../syncs/{sid}`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/syncs/{sid}", tag = "syncs", params(("id" = String, Path, description = "connection id"), ("sid" = String, Path, description = "sync id")), responses((status = 200, description = "one sync", body = Success<SyncView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn get(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, sid)): ApiPath<(String, String)>,
) -> Result<Envelope<SyncView>, ApiError> {
    Ok(Envelope::ok(
        syncs::load(&state.syncs, &caller.tenant, &id, &sid)
            .await?
            .into(),
    ))
}

/// `PATCH .../syncs/{sid}`: interval, full-pass interval, `paused`.
#[utoipa::path(patch, path = "/api/v1/connections/{id}/syncs/{sid}", tag = "syncs", params(("id" = String, Path, description = "connection id"), ("sid" = String, Path, description = "sync id")), request_body = SyncPatch, responses((status = 200, description = "the sync", body = Success<SyncView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn patch(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, sid)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<SyncPatch>,
) -> Result<Envelope<SyncView>, ApiError> {
    let sync = syncs::patch(
        &state.syncs,
        &state.background.syncs,
        &caller.tenant,
        &id,
        &sid,
        body,
    )
    .await?;
    audit(
        &state,
        &caller,
        "sync.update",
        &sid,
        serde_json::Value::Null,
    )
    .await;
    Ok(Envelope::ok(sync.into()))
}

/// Pauses or resumes a sync (the pause and resume routes).
async fn set_paused(
    state: &App,
    caller: &TenantCaller,
    id: &str,
    sid: &str,
    paused: bool,
) -> Result<Envelope<SyncView>, ApiError> {
    let body = SyncPatch {
        paused: Some(paused),
        ..SyncPatch::default()
    };
    let sync = syncs::patch(
        &state.syncs,
        &state.background.syncs,
        &caller.tenant,
        id,
        sid,
        body,
    )
    .await?;
    audit(state, caller, "sync.update", sid, serde_json::Value::Null).await;
    Ok(Envelope::ok(sync.into()))
}

/// `POST .../syncs/{sid}/pause`.
#[utoipa::path(post, path = "/api/v1/connections/{id}/syncs/{sid}/pause", tag = "syncs", params(("id" = String, Path, description = "connection id"), ("sid" = String, Path, description = "sync id")), responses((status = 200, description = "the sync, paused", body = Success<SyncView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn pause(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, sid)): ApiPath<(String, String)>,
) -> Result<Envelope<SyncView>, ApiError> {
    set_paused(&state, &caller, &id, &sid, true).await
}

/// `POST .../syncs/{sid}/resume`.
#[utoipa::path(post, path = "/api/v1/connections/{id}/syncs/{sid}/resume", tag = "syncs", params(("id" = String, Path, description = "connection id"), ("sid" = String, Path, description = "sync id")), responses((status = 200, description = "the sync, resumed", body = Success<SyncView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn resume(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, sid)): ApiPath<(String, String)>,
) -> Result<Envelope<SyncView>, ApiError> {
    set_paused(&state, &caller, &id, &sid, false).await
}

/// `POST .../syncs/{sid}/run`: due now.
#[utoipa::path(post, path = "/api/v1/connections/{id}/syncs/{sid}/run", tag = "syncs", params(("id" = String, Path, description = "connection id"), ("sid" = String, Path, description = "sync id")), responses((status = 202, description = "the sync, due now", body = Success<SyncView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn run(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, sid)): ApiPath<(String, String)>,
) -> Result<Envelope<SyncView>, ApiError> {
    let sync = syncs::run_now(
        &state.syncs,
        &state.background.syncs,
        &caller.tenant,
        &id,
        &sid,
    )
    .await?;
    Ok(Envelope {
        served_by: None,
        data: sync.into(),
        status: axum::http::StatusCode::ACCEPTED,
    })
}

/// `DELETE .../syncs/{sid}`.
#[utoipa::path(delete, path = "/api/v1/connections/{id}/syncs/{sid}", tag = "syncs", params(("id" = String, Path, description = "connection id"), ("sid" = String, Path, description = "sync id")), responses((status = 200, description = "deleted; its changes stay in the feed", body = Success<serde_json::Value>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn delete(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, sid)): ApiPath<(String, String)>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    syncs::delete(&state.syncs, &caller.tenant, &id, &sid).await?;
    audit(
        &state,
        &caller,
        "sync.delete",
        &sid,
        serde_json::Value::Null,
    )
    .await;
    Ok(Envelope::ok(json!({"id": sid, "deleted": true})))
}

/// `GET .../syncs/{sid}/runs`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/syncs/{sid}/runs", tag = "syncs", params(("id" = String, Path, description = "connection id"), ("sid" = String, Path, description = "sync id"), RunsQuery), responses((status = 200, description = "runs, newest first", body = Success<RunsPage>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn runs(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, sid)): ApiPath<(String, String)>,
    Query(query): Query<RunsQuery>,
) -> Result<Envelope<RunsPage>, ApiError> {
    let sync = syncs::load(&state.syncs, &caller.tenant, &id, &sid).await?;
    let limit = crate::app::resources::limit(query.limit)? as usize;
    let entries = state
        .store
        .runs(&sync, query.cursor.as_deref(), limit)
        .await?;
    let next_cursor = (entries.len() == limit)
        .then(|| entries.last().map(|r| r.id.clone()))
        .flatten();
    Ok(Envelope::ok(RunsPage {
        entries,
        next_cursor,
    }))
}
