//! The unified resources of a connection over REST: containers, items, comments, search,
//! create, update. Thin: each handler runs the use case of the same name in `app::resources`.

use axum::extract::State;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope};
use crate::app::callers::TenantCaller;
use crate::app::resources::{
    self, ContainersQuery, CreateComment, CreateItem, ItemsQuery, PageQuery, RawQuery, SearchQuery,
    UpdateItem,
};
use crate::connection::views::{CommentView, ContainerView, ItemView, PageView};

/// `GET /api/v1/connections/{id}/containers`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/containers", tag = "resources", params(("id" = String, Path, description = "connection id"), ContainersQuery), responses((status = 200, description = "a page of containers", body = Success<PageView<ContainerView>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn containers(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ContainersQuery>,
) -> Result<Envelope<PageView<ContainerView>>, ApiError> {
    resources::list_containers(&state, &caller.tenant, &id, query)
        .await
        .map(Envelope::served)
}

/// `GET /api/v1/connections/{id}/containers/{container}/items`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/containers/{container}/items", tag = "resources", params(("id" = String, Path, description = "connection id"), ("container" = String, Path), ItemsQuery), responses((status = 200, description = "a page of items", body = Success<PageView<ItemView>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn items(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, container)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<ItemsQuery>,
) -> Result<Envelope<PageView<ItemView>>, ApiError> {
    resources::list_items(&state, &caller.tenant, &id, container, query)
        .await
        .map(Envelope::served)
}

/// `GET /api/v1/connections/{id}/items/{item}`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/items/{item}", tag = "resources", params(("id" = String, Path, description = "connection id"), ("item" = String, Path), RawQuery), responses((status = 200, description = "one item with its body", body = Success<ItemView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn item(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, item)): ApiPath<(String, String)>,
    ApiQuery(raw): ApiQuery<RawQuery>,
) -> Result<Envelope<ItemView>, ApiError> {
    let include_raw = raw.include_raw.unwrap_or(false);
    resources::read_item(&state, &caller.tenant, &id, item, include_raw)
        .await
        .map(Envelope::served)
}

/// `GET /api/v1/connections/{id}/items/{item}/comments`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/items/{item}/comments", tag = "resources", params(("id" = String, Path, description = "connection id"), ("item" = String, Path), PageQuery), responses((status = 200, description = "a page of comments", body = Success<PageView<CommentView>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn comments(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, item)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Envelope<PageView<CommentView>>, ApiError> {
    resources::list_comments(&state, &caller.tenant, &id, item, query)
        .await
        .map(Envelope::served)
}

/// `GET /api/v1/connections/{id}/search?q=`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/search", tag = "resources", params(("id" = String, Path, description = "connection id"), SearchQuery), responses((status = 200, description = "a page of matching items", body = Success<PageView<ItemView>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn search(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Envelope<PageView<ItemView>>, ApiError> {
    resources::search_items(&state, &caller.tenant, &id, query)
        .await
        .map(Envelope::served)
}

/// `POST /api/v1/connections/{id}/containers/{container}/items`. Never retried by the host.
#[utoipa::path(post, path = "/api/v1/connections/{id}/containers/{container}/items", tag = "resources", params(("id" = String, Path, description = "connection id"), ("container" = String, Path), RawQuery), request_body = CreateItem, responses((status = 201, description = "the created item", body = Success<ItemView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn create_item(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, container)): ApiPath<(String, String)>,
    ApiQuery(raw): ApiQuery<RawQuery>,
    ApiJson(body): ApiJson<CreateItem>,
) -> Result<Envelope<ItemView>, ApiError> {
    let include_raw = raw.include_raw.unwrap_or(false);
    resources::create_item(&state, &caller.tenant, &id, container, body, include_raw)
        .await
        .map(Envelope::served_created)
}

/// `PATCH /api/v1/connections/{id}/items/{item}`: needs a connector built against contract
/// 0.2.0 that offers `update_item`; others answer `UNSUPPORTED`. Never retried by the host.
#[utoipa::path(patch, path = "/api/v1/connections/{id}/items/{item}", tag = "resources", params(("id" = String, Path, description = "connection id"), ("item" = String, Path), RawQuery), request_body = UpdateItem, responses((status = 200, description = "the item as the vendor stored it", body = Success<ItemView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn update_item(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, item_id)): ApiPath<(String, String)>,
    ApiQuery(raw): ApiQuery<RawQuery>,
    ApiJson(body): ApiJson<UpdateItem>,
) -> Result<Envelope<ItemView>, ApiError> {
    let include_raw = raw.include_raw.unwrap_or(false);
    resources::update_item(&state, &caller.tenant, &id, item_id, body, include_raw)
        .await
        .map(Envelope::served)
}

/// `POST /api/v1/connections/{id}/items/{item}/comments`. Never retried by the host.
#[utoipa::path(post, path = "/api/v1/connections/{id}/items/{item}/comments", tag = "resources", params(("id" = String, Path, description = "connection id"), ("item" = String, Path), RawQuery), request_body = CreateComment, responses((status = 201, description = "the created comment", body = Success<CommentView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn create_comment(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, item)): ApiPath<(String, String)>,
    ApiQuery(raw): ApiQuery<RawQuery>,
    ApiJson(body): ApiJson<CreateComment>,
) -> Result<Envelope<CommentView>, ApiError> {
    let include_raw = raw.include_raw.unwrap_or(false);
    resources::create_comment(&state, &caller.tenant, &id, item, body, include_raw)
        .await
        .map(Envelope::served_created)
}
