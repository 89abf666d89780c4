//! The unified resources of a connection: containers, items, comments, search, create.

use axum::extract::State;
use serde::Deserialize;

use super::auth::TenantCaller;
use super::connection_calls::call;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::openapi::{ErrorEnvelope, Success};
use super::page_cursor::Listing;
use super::views::{BodyFormat, CommentView, ContainerView, ItemView, PageView};
use super::{ApiError, AppState, Envelope, ErrorCode};
use crate::runtime::wit::{NewComment, NewItem, PageRequest};
use crate::runtime::{Operation, OperationOutput};

/// Page size when the client names none.
const DEFAULT_LIMIT: u32 = 25;
/// Largest page size.
const MAX_LIMIT: u32 = 100;
/// Longest title, body or query accepted.
const MAX_TEXT: usize = 64 * 1024;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContainersQuery {
    cursor: Option<String>,
    limit: Option<u32>,
    parent: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    cursor: Option<String>,
    limit: Option<u32>,
    updated_since: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    q: String,
    cursor: Option<String>,
    limit: Option<u32>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateItem {
    title: String,
    body: Option<String>,
    #[serde(default)]
    body_format: BodyFormat,
    #[serde(default)]
    attributes: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateComment {
    body: String,
    #[serde(default)]
    body_format: BodyFormat,
}

fn limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        _ => Err(ApiError::new(
            ErrorCode::Validation,
            format!("limit must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

fn text(field: &str, value: &str, required: bool) -> Result<(), ApiError> {
    if required && value.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("{field} must not be empty"),
        ));
    }
    if value.len() > MAX_TEXT {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("{field} is longer than {MAX_TEXT} bytes"),
        ));
    }
    Ok(())
}

fn unexpected() -> ApiError {
    ApiError::new(
        ErrorCode::PluginFault,
        "the connector answered with the wrong kind of result",
    )
}

fn listing<'a>(caller: &'a TenantCaller, connection: &'a str, name: String) -> Listing<'a> {
    Listing {
        tenant: &caller.tenant,
        connection,
        name,
    }
}

/// `GET /api/v1/connections/{id}/containers`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/containers", tag = "resources", params(("id" = String, Path, description = "connection id"), ContainersQuery), responses((status = 200, description = "a page of containers", body = Success<PageView<ContainerView>>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn containers(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ContainersQuery>,
) -> Result<Envelope<PageView<ContainerView>>, ApiError> {
    let listing = listing(
        &caller,
        &id,
        format!("containers:{}", query.parent.as_deref().unwrap_or("")),
    );
    let page = PageRequest {
        cursor: listing.unwrap(state.store.keys(), query.cursor.as_deref())?,
        limit: limit(query.limit)?,
    };
    let (_, output) = call(
        &state,
        &caller.tenant,
        &id,
        Operation::Containers {
            parent: query.parent.clone(),
            page,
        },
    )
    .await?;
    let OperationOutput::Containers(found) = output else {
        return Err(unexpected());
    };
    Ok(Envelope::ok(PageView {
        next_cursor: listing.wrap(state.store.keys(), found.next_cursor)?,
        entries: found.entries.into_iter().map(Into::into).collect(),
    }))
}

/// `GET /api/v1/connections/{id}/containers/{container}/items`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/containers/{container}/items", tag = "resources", params(("id" = String, Path, description = "connection id"), ("container" = String, Path), ItemsQuery), responses((status = 200, description = "a page of items", body = Success<PageView<ItemView>>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn items(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath((id, container)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<ItemsQuery>,
) -> Result<Envelope<PageView<ItemView>>, ApiError> {
    if let Some(since) = &query.updated_since
        && humantime::parse_rfc3339_weak(since).is_err()
    {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "updated_since must be an RFC 3339 time such as 2026-11-01T00:00:00Z",
        ));
    }
    let listing = listing(
        &caller,
        &id,
        format!(
            "items:{container}:{}",
            query.updated_since.as_deref().unwrap_or("")
        ),
    );
    let page = PageRequest {
        cursor: listing.unwrap(state.store.keys(), query.cursor.as_deref())?,
        limit: limit(query.limit)?,
    };
    let operation = Operation::Items {
        container_id: container,
        updated_since: query.updated_since,
        page,
    };
    let (_, output) = call(&state, &caller.tenant, &id, operation).await?;
    let OperationOutput::Items(found) = output else {
        return Err(unexpected());
    };
    Ok(Envelope::ok(PageView {
        next_cursor: listing.wrap(state.store.keys(), found.next_cursor)?,
        entries: found.entries.into_iter().map(Into::into).collect(),
    }))
}

/// `GET /api/v1/connections/{id}/items/{item}`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/items/{item}", tag = "resources", params(("id" = String, Path, description = "connection id"), ("item" = String, Path)), responses((status = 200, description = "one item with its body", body = Success<ItemView>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn item(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath((id, item)): ApiPath<(String, String)>,
) -> Result<Envelope<ItemView>, ApiError> {
    let (_, output) = call(
        &state,
        &caller.tenant,
        &id,
        Operation::Item { item_id: item },
    )
    .await?;
    let OperationOutput::Item(found) = output else {
        return Err(unexpected());
    };
    Ok(Envelope::ok(found.into()))
}

/// `GET /api/v1/connections/{id}/items/{item}/comments`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/items/{item}/comments", tag = "resources", params(("id" = String, Path, description = "connection id"), ("item" = String, Path), PageQuery), responses((status = 200, description = "a page of comments", body = Success<PageView<CommentView>>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn comments(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath((id, item)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Envelope<PageView<CommentView>>, ApiError> {
    let listing = listing(&caller, &id, format!("comments:{item}"));
    let page = PageRequest {
        cursor: listing.unwrap(state.store.keys(), query.cursor.as_deref())?,
        limit: limit(query.limit)?,
    };
    let (_, output) = call(
        &state,
        &caller.tenant,
        &id,
        Operation::Comments {
            item_id: item,
            page,
        },
    )
    .await?;
    let OperationOutput::Comments(found) = output else {
        return Err(unexpected());
    };
    Ok(Envelope::ok(PageView {
        next_cursor: listing.wrap(state.store.keys(), found.next_cursor)?,
        entries: found.entries.into_iter().map(Into::into).collect(),
    }))
}

/// `GET /api/v1/connections/{id}/search?q=`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/search", tag = "resources", params(("id" = String, Path, description = "connection id"), SearchQuery), responses((status = 200, description = "a page of matching items", body = Success<PageView<ItemView>>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn search(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Envelope<PageView<ItemView>>, ApiError> {
    text("q", &query.q, true)?;
    let listing = listing(&caller, &id, format!("search:{}", query.q));
    let page = PageRequest {
        cursor: listing.unwrap(state.store.keys(), query.cursor.as_deref())?,
        limit: limit(query.limit)?,
    };
    let (_, output) = call(
        &state,
        &caller.tenant,
        &id,
        Operation::Search {
            query: query.q.clone(),
            page,
        },
    )
    .await?;
    let OperationOutput::Items(found) = output else {
        return Err(unexpected());
    };
    Ok(Envelope::ok(PageView {
        next_cursor: listing.wrap(state.store.keys(), found.next_cursor)?,
        entries: found.entries.into_iter().map(Into::into).collect(),
    }))
}

/// `POST /api/v1/connections/{id}/containers/{container}/items`. Never retried by the host.
#[utoipa::path(post, path = "/api/v1/connections/{id}/containers/{container}/items", tag = "resources", params(("id" = String, Path, description = "connection id"), ("container" = String, Path)), request_body = CreateItem, responses((status = 201, description = "the created item", body = Success<ItemView>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn create_item(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath((id, container)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<CreateItem>,
) -> Result<Envelope<ItemView>, ApiError> {
    text("title", &body.title, true)?;
    text("body", body.body.as_deref().unwrap_or(""), false)?;
    let item = NewItem {
        title: body.title,
        body: body.body,
        body_format: body.body_format.into(),
        attributes: body.attributes.into_iter().collect(),
    };
    let (_, output) = call(
        &state,
        &caller.tenant,
        &id,
        Operation::CreateItem {
            container_id: container,
            item,
        },
    )
    .await?;
    let OperationOutput::Item(created) = output else {
        return Err(unexpected());
    };
    Ok(Envelope::created(created.into()))
}

/// `POST /api/v1/connections/{id}/items/{item}/comments`. Never retried by the host.
#[utoipa::path(post, path = "/api/v1/connections/{id}/items/{item}/comments", tag = "resources", params(("id" = String, Path, description = "connection id"), ("item" = String, Path)), request_body = CreateComment, responses((status = 201, description = "the created comment", body = Success<CommentView>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn create_comment(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath((id, item)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<CreateComment>,
) -> Result<Envelope<CommentView>, ApiError> {
    text("body", &body.body, true)?;
    let comment = NewComment {
        body: body.body,
        body_format: body.body_format.into(),
    };
    let (_, output) = call(
        &state,
        &caller.tenant,
        &id,
        Operation::CreateComment {
            item_id: item,
            comment,
        },
    )
    .await?;
    let OperationOutput::Comment(created) = output else {
        return Err(unexpected());
    };
    Ok(Envelope::created(created.into()))
}
