//! `/api/v1/connections`: create (verified with the vendor before anything is stored), list,
//! read, update, delete and validate a tenant's connections. Thin: the use cases are
//! `app::connections`.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};
use crate::app::audit::{audit, audit_failure};
use crate::app::callers::TenantCaller;
use crate::app::connections::{self, CreateConnection, PatchConnection};
use crate::connection;
use crate::connection::views::{ConnectionView, PageView};

/// `POST /api/v1/connections`.
#[utoipa::path(post, path = "/api/v1/connections", tag = "connections", request_body = CreateConnection, responses((status = 201, description = "verified and stored", body = Success<ConnectionView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn create(
    State(state): State<App>,
    caller: TenantCaller,
    ApiJson(body): ApiJson<CreateConnection>,
) -> Result<Envelope<ConnectionView>, ApiError> {
    let connector = body.connector.clone();
    let result = connections::create(&state, &caller, body).await;
    if let Err(error) = &result {
        audit_failure(&state, &caller, "credential.create", &connector, error).await;
    }
    let record = result?;
    audit(
        &state,
        &caller,
        "credential.create",
        &record.id,
        json!({"connector": record.connector}),
    )
    .await;
    Ok(Envelope::created(record.into()))
}

/// `GET /api/v1/connections` query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Connections per page, 1 to 200. Default: 50.
    limit: Option<u32>,
}

/// `GET /api/v1/connections`: the tenant's connections in id order, a page at a time.
#[utoipa::path(get, path = "/api/v1/connections", tag = "connections", params(ListQuery), responses((status = 200, description = "a page of the tenant's connections", body = Success<PageView<ConnectionView>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn list(
    State(state): State<App>,
    caller: TenantCaller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Envelope<PageView<ConnectionView>>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "limit must be between 1 and 200",
        ));
    }
    // The cursor is the last id of the previous page: ids are the tenant's own, and the
    // listing is scoped to the tenant, so nothing else can be reached through it.
    let after = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(cursor) if cursor.starts_with("conn_") && cursor.len() <= 64 => Some(cursor),
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::Validation,
                "`cursor` is not one this listing issued",
            ));
        }
    };
    let records = state
        .store
        .connections_page(&caller.tenant, after, limit as usize)
        .await?;
    let next_cursor = (records.len() == limit as usize)
        .then(|| records.last().map(|r| r.id.clone()))
        .flatten();
    Ok(Envelope::ok(PageView {
        entries: records.into_iter().map(Into::into).collect(),
        next_cursor,
        deleted: None,
    }))
}

/// `GET /api/v1/connections/{id}`.
#[utoipa::path(get, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = String, Path, description = "connection id")), responses((status = 200, description = "one connection", body = Success<ConnectionView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn get(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<ConnectionView>, ApiError> {
    Ok(Envelope::ok(
        connection::load(&state, &caller.tenant, &id).await?.into(),
    ))
}

/// `PATCH /api/v1/connections/{id}`: new name, config or credentials; config and credential
/// changes are verified with the vendor before anything is written.
#[utoipa::path(patch, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = String, Path, description = "connection id")), request_body = PatchConnection, responses((status = 200, description = "updated and re-verified", body = Success<ConnectionView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn patch(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PatchConnection>,
) -> Result<Envelope<ConnectionView>, ApiError> {
    let rotates = body.credentials.is_some();
    let result = connections::patch(&state, &caller, &id, body).await;
    let action = if rotates {
        "credential.rotate"
    } else {
        "connection.update"
    };
    match result {
        Ok(record) => {
            audit(&state, &caller, action, &record.id, serde_json::Value::Null).await;
            Ok(Envelope::ok(record.into()))
        }
        Err(error) => {
            audit_failure(&state, &caller, action, &id, &error).await;
            Err(error)
        }
    }
}

/// `DELETE /api/v1/connections/{id}`: the record, its credential and its cursors go together.
#[utoipa::path(delete, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = String, Path, description = "connection id")), responses((status = 200, description = "deleted with its secrets", body = Success<serde_json::Value>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn delete(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    connections::remove(&state, &caller, &id).await?;
    Ok(Envelope::ok(json!({ "id": id, "deleted": true })))
}

/// `POST /api/v1/connections/{id}/validate`: checks the stored credential with the vendor.
#[utoipa::path(post, path = "/api/v1/connections/{id}/validate", tag = "connections", params(("id" = String, Path, description = "connection id")), responses((status = 200, description = "the vendor accepted the credential", body = Success<ConnectionView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn validate(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<ConnectionView>, ApiError> {
    let record = connections::validate(&state, &caller.tenant, &id).await?;
    Ok(Envelope::ok(record.into()))
}
