//! `/api/v1/connections/{id}/cursors`: a tenant's sync cursors per stream, sealed at rest.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::{ApiJson, ApiPath};
use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};
use crate::app::callers::TenantCaller;
use crate::connection;

/// Longest stream name and cursor value.
const MAX_STREAM: usize = 128;
const MAX_VALUE: usize = 16 * 1024;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CursorView {
    stream: String,
    cursor: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutCursor {
    cursor: String,
}

fn check_stream(stream: &str) -> Result<(), ApiError> {
    let valid = !stream.is_empty()
        && stream.len() <= MAX_STREAM
        && stream
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'));
    if valid {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Validation,
            format!("stream names are 1-{MAX_STREAM} of A-Z a-z 0-9 . _ - :"),
        ))
    }
}

/// `GET .../cursors`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/cursors", tag = "cursors", params(("id" = String, Path, description = "connection id")), responses((status = 200, description = "stored sync cursors", body = Success<Vec<CursorView>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn list(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<Vec<CursorView>>, ApiError> {
    connection::load(&state, &caller.tenant, &id).await?;
    let cursors = state.store.cursors(&caller.tenant, &id).await?;
    Ok(Envelope::ok(
        cursors
            .into_iter()
            .map(|(stream, cursor)| CursorView { stream, cursor })
            .collect(),
    ))
}

/// `GET .../cursors/{stream}`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/cursors/{stream}", tag = "cursors", params(("id" = String, Path, description = "connection id"), ("stream" = String, Path)), responses((status = 200, description = "one cursor", body = Success<CursorView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn get(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, stream)): ApiPath<(String, String)>,
) -> Result<Envelope<CursorView>, ApiError> {
    check_stream(&stream)?;
    connection::load(&state, &caller.tenant, &id).await?;
    match state.store.cursor(&caller.tenant, &id, &stream).await? {
        Some(cursor) => Ok(Envelope::ok(CursorView { stream, cursor })),
        None => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no cursor stored for stream `{stream}`"),
        )),
    }
}

/// `PUT .../cursors/{stream}` with `{"cursor": "..."}`.
#[utoipa::path(put, path = "/api/v1/connections/{id}/cursors/{stream}", tag = "cursors", params(("id" = String, Path, description = "connection id"), ("stream" = String, Path)), request_body = PutCursor, responses((status = 200, description = "stored", body = Success<CursorView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn put(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, stream)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<PutCursor>,
) -> Result<Envelope<CursorView>, ApiError> {
    check_stream(&stream)?;
    if body.cursor.len() > MAX_VALUE {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("cursor is longer than {MAX_VALUE} bytes"),
        ));
    }
    connection::load(&state, &caller.tenant, &id).await?;
    let limit = state.settings.quotas.max_cursors_per_connection;
    let exists = state
        .store
        .cursor(&caller.tenant, &id, &stream)
        .await?
        .is_some();
    if !exists && state.store.cursor_count(&caller.tenant, &id).await? >= limit {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "this connection already has {limit} sync streams, its quota; delete one first"
            ),
        )
        .with_details(json!({ "quota": "max_cursors_per_connection", "limit": limit })));
    }
    state
        .store
        .put_cursor(&caller.tenant, &id, &stream, &body.cursor)
        .await?;
    Ok(Envelope::ok(CursorView {
        stream,
        cursor: body.cursor,
    }))
}

/// `DELETE .../cursors/{stream}`.
#[utoipa::path(delete, path = "/api/v1/connections/{id}/cursors/{stream}", tag = "cursors", params(("id" = String, Path, description = "connection id"), ("stream" = String, Path)), responses((status = 200, description = "deleted", body = Success<serde_json::Value>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn delete(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, stream)): ApiPath<(String, String)>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    check_stream(&stream)?;
    connection::load(&state, &caller.tenant, &id).await?;
    if !state
        .store
        .delete_cursor(&caller.tenant, &id, &stream)
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no cursor stored for stream `{stream}`"),
        ));
    }
    Ok(Envelope::ok(json!({ "stream": stream, "deleted": true })))
}
