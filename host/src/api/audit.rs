//! Audit logs: `GET /api/v1/audit` (the tenant's own events) and `GET /admin/v1/audit` (the
//! host's), oldest first.

use axum::extract::State;
use serde::Deserialize;

use super::extract::ApiQuery;
use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};
use crate::app::callers::{Admin, TenantCaller};
use crate::connection::views::PageView;
use crate::store::{AuditEvent, SYSTEM_TENANT};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery), responses((status = 200, description = "the tenant's audit events", body = Success<PageView<AuditEvent>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn list(
    State(state): State<App>,
    caller: TenantCaller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Envelope<PageView<AuditEvent>>, ApiError> {
    page(&state, &caller.tenant, query).await
}

/// `GET /admin/v1/audit`: the host's own events (plugin loads, refusals, rollbacks, unloads,
/// key rotations), oldest first.
#[utoipa::path(get, path = "/admin/v1/audit", tag = "admin", params(AuditQuery), responses((status = 200, description = "the host's audit events", body = Success<PageView<AuditEvent>>), ErrorResponses), security(("admin_token" = [])))]
pub async fn admin_list(
    State(state): State<App>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Envelope<PageView<AuditEvent>>, ApiError> {
    page(&state, SYSTEM_TENANT, query).await
}

async fn page(
    state: &App,
    tenant: &str,
    query: AuditQuery,
) -> Result<Envelope<PageView<AuditEvent>>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "limit must be between 1 and 500",
        ));
    }
    let after = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            ApiError::new(
                ErrorCode::Validation,
                "`cursor` is not one this listing issued",
            )
        })?),
    };
    let events = state
        .store
        .audit_events(tenant, after, limit as usize)
        .await?;
    let next_cursor = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.seq.to_string()))
        .flatten();
    Ok(Envelope::ok(PageView {
        entries: events,
        next_cursor,
        deleted: None,
    }))
}
