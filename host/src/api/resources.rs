//! The unified resources of a connection: containers, items, comments, search, create.

use axum::extract::State;
use serde::Deserialize;

use super::auth::TenantCaller;
use super::connection_calls::call;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::openapi::{ErrorEnvelope, Success};
use super::page_cursor::Listing;
use super::timestamp::canonical_rfc3339;
use super::views::{BodyFormat, CommentView, ContainerView, FromRecord, ItemView, PageView};
use super::{ApiError, AppState, Envelope, ErrorCode};
use crate::runtime::wit::{ItemPatch, NewComment, NewItem, PageRequest};
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
    /// Include the vendor's JSON of each entry as `raw`. Default: false.
    include_raw: Option<bool>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    cursor: Option<String>,
    limit: Option<u32>,
    updated_since: Option<String>,
    /// Include the vendor's JSON of each entry as `raw`. Default: false.
    include_raw: Option<bool>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    cursor: Option<String>,
    limit: Option<u32>,
    /// Include the vendor's JSON of each entry as `raw`. Default: false.
    include_raw: Option<bool>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    q: String,
    cursor: Option<String>,
    limit: Option<u32>,
    /// Include the vendor's JSON of each entry as `raw`. Default: false.
    include_raw: Option<bool>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RawQuery {
    /// Include the vendor's JSON as `raw`. Default: false.
    include_raw: Option<bool>,
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

/// What to change on an item; omitted fields stay as they are.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateItem {
    title: Option<String>,
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

/// Which page of which listing a client asked for.
struct PageAsk<'a> {
    connection: &'a str,
    /// Names the listing the cursor is bound to (`items:PROJ:`).
    listing: String,
    cursor: Option<&'a str>,
    limit: Option<u32>,
    include_raw: Option<bool>,
}

/// One page of a listing: unwraps the client's cursor (refusing one this listing did not
/// issue), calls the plugin, and seals the plugin's next cursor for the client.
async fn list_page<E, V: FromRecord<E> + serde::Serialize>(
    state: &AppState,
    caller: &TenantCaller,
    ask: PageAsk<'_>,
    operation: impl FnOnce(PageRequest) -> Operation,
    page_of: impl FnOnce(OperationOutput) -> Option<Found<E>>,
) -> Result<Envelope<PageView<V>>, ApiError> {
    let listing = Listing {
        tenant: &caller.tenant,
        connection: ask.connection,
        name: ask.listing,
    };
    let include_raw = ask.include_raw.unwrap_or(false);
    let page = PageRequest {
        cursor: listing.unwrap(state.store.keys(), ask.cursor)?,
        limit: limit(ask.limit)?,
        include_raw,
    };
    let (_, output) = call(state, &caller.tenant, ask.connection, operation(page)).await?;
    let found = page_of(output).ok_or_else(unexpected)?;
    Ok(Envelope::ok(PageView {
        next_cursor: listing.wrap(state.store.keys(), found.next_cursor)?,
        entries: found
            .entries
            .into_iter()
            .map(|entry| V::from_record(entry, include_raw))
            .collect(),
        deleted: found
            .deleted
            .map(|deleted| deleted.into_iter().map(Into::into).collect()),
    }))
}

/// One page as a plugin answered it: entries, its own next cursor, and for item listings the
/// tombstones it reported.
struct Found<E> {
    entries: Vec<E>,
    next_cursor: Option<String>,
    deleted: Option<Vec<crate::runtime::wit::Tombstone>>,
}

impl<E> Found<E> {
    fn page(entries: Vec<E>, next_cursor: Option<String>) -> Self {
        Self {
            entries,
            next_cursor,
            deleted: None,
        }
    }
}

/// An item page, with its tombstones.
fn items_found(page: crate::runtime::wit::ItemPage) -> Found<crate::runtime::wit::Item> {
    Found {
        entries: page.entries,
        next_cursor: page.next_cursor,
        deleted: Some(page.deleted),
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
    let listing = format!("containers:{}", query.parent.as_deref().unwrap_or(""));
    let parent = query.parent.clone();
    list_page(
        &state,
        &caller,
        PageAsk {
            connection: &id,
            listing,
            cursor: query.cursor.as_deref(),
            limit: query.limit,
            include_raw: query.include_raw,
        },
        |page| Operation::Containers { parent, page },
        |output| match output {
            OperationOutput::Containers(found) => {
                Some(Found::page(found.entries, found.next_cursor))
            }
            _ => None,
        },
    )
    .await
}

/// `GET /api/v1/connections/{id}/containers/{container}/items`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/containers/{container}/items", tag = "resources", params(("id" = String, Path, description = "connection id"), ("container" = String, Path), ItemsQuery), responses((status = 200, description = "a page of items", body = Success<PageView<ItemView>>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn items(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath((id, container)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<ItemsQuery>,
) -> Result<Envelope<PageView<ItemView>>, ApiError> {
    // Canonical before the plugin sees it: one form for every connector, UTC with seconds.
    let updated_since = match &query.updated_since {
        Some(since) => Some(canonical_rfc3339(since).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Validation,
                "updated_since must be an RFC 3339 time with a zone, such as 2026-11-01T00:00:00Z",
            )
            .with_details(serde_json::json!({ "field": "updated_since" }))
        })?),
        None => None,
    };
    let listing = format!(
        "items:{container}:{}",
        updated_since.as_deref().unwrap_or("")
    );
    list_page(
        &state,
        &caller,
        PageAsk {
            connection: &id,
            listing,
            cursor: query.cursor.as_deref(),
            limit: query.limit,
            include_raw: query.include_raw,
        },
        |page| Operation::Items {
            container_id: container,
            updated_since,
            page,
        },
        |output| match output {
            OperationOutput::Items(found) => Some(items_found(found)),
            _ => None,
        },
    )
    .await
}

/// `GET /api/v1/connections/{id}/items/{item}`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/items/{item}", tag = "resources", params(("id" = String, Path, description = "connection id"), ("item" = String, Path), RawQuery), responses((status = 200, description = "one item with its body", body = Success<ItemView>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn item(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath((id, item)): ApiPath<(String, String)>,
    ApiQuery(raw): ApiQuery<RawQuery>,
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
    Ok(Envelope::ok(ItemView::from_record(
        found,
        raw.include_raw.unwrap_or(false),
    )))
}

/// `GET /api/v1/connections/{id}/items/{item}/comments`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/items/{item}/comments", tag = "resources", params(("id" = String, Path, description = "connection id"), ("item" = String, Path), PageQuery), responses((status = 200, description = "a page of comments", body = Success<PageView<CommentView>>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn comments(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath((id, item)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Envelope<PageView<CommentView>>, ApiError> {
    let listing = format!("comments:{item}");
    list_page(
        &state,
        &caller,
        PageAsk {
            connection: &id,
            listing,
            cursor: query.cursor.as_deref(),
            limit: query.limit,
            include_raw: query.include_raw,
        },
        |page| Operation::Comments {
            item_id: item,
            page,
        },
        |output| match output {
            OperationOutput::Comments(found) => Some(Found::page(found.entries, found.next_cursor)),
            _ => None,
        },
    )
    .await
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
    let listing = format!("search:{}", query.q);
    let search = query.q.clone();
    list_page(
        &state,
        &caller,
        PageAsk {
            connection: &id,
            listing,
            cursor: query.cursor.as_deref(),
            limit: query.limit,
            include_raw: query.include_raw,
        },
        |page| Operation::Search {
            query: search,
            page,
        },
        |output| match output {
            OperationOutput::Items(found) => Some(Found::page(found.entries, found.next_cursor)),
            _ => None,
        },
    )
    .await
}

/// `POST /api/v1/connections/{id}/containers/{container}/items`. Never retried by the host.
#[utoipa::path(post, path = "/api/v1/connections/{id}/containers/{container}/items", tag = "resources", params(("id" = String, Path, description = "connection id"), ("container" = String, Path), RawQuery), request_body = CreateItem, responses((status = 201, description = "the created item", body = Success<ItemView>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn create_item(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath((id, container)): ApiPath<(String, String)>,
    ApiQuery(raw): ApiQuery<RawQuery>,
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
    Ok(Envelope::created(ItemView::from_record(
        created,
        raw.include_raw.unwrap_or(false),
    )))
}

/// `PATCH /api/v1/connections/{id}/items/{item}`: needs a connector built against contract
/// 0.2.0 that offers `update_item`; others answer `UNSUPPORTED`. Never retried by the host.
#[utoipa::path(patch, path = "/api/v1/connections/{id}/items/{item}", tag = "resources", params(("id" = String, Path, description = "connection id"), ("item" = String, Path), RawQuery), request_body = UpdateItem, responses((status = 200, description = "the item as the vendor stored it", body = Success<ItemView>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn update_item(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath((id, item_id)): ApiPath<(String, String)>,
    ApiQuery(raw): ApiQuery<RawQuery>,
    ApiJson(body): ApiJson<UpdateItem>,
) -> Result<Envelope<ItemView>, ApiError> {
    if let Some(title) = &body.title {
        text("title", title, true)?;
    }
    text("body", body.body.as_deref().unwrap_or(""), false)?;
    if body.title.is_none() && body.body.is_none() && body.attributes.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "nothing to change: give `title`, `body` or `attributes`",
        ));
    }
    let patch = ItemPatch {
        title: body.title,
        body: body.body,
        body_format: body.body_format.into(),
        attributes: body.attributes.into_iter().collect(),
    };
    let (_, output) = call(
        &state,
        &caller.tenant,
        &id,
        Operation::UpdateItem { item_id, patch },
    )
    .await?;
    let OperationOutput::Item(updated) = output else {
        return Err(unexpected());
    };
    Ok(Envelope::ok(ItemView::from_record(
        updated,
        raw.include_raw.unwrap_or(false),
    )))
}

/// `POST /api/v1/connections/{id}/items/{item}/comments`. Never retried by the host.
#[utoipa::path(post, path = "/api/v1/connections/{id}/items/{item}/comments", tag = "resources", params(("id" = String, Path, description = "connection id"), ("item" = String, Path), RawQuery), request_body = CreateComment, responses((status = 201, description = "the created comment", body = Success<CommentView>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn create_comment(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath((id, item)): ApiPath<(String, String)>,
    ApiQuery(raw): ApiQuery<RawQuery>,
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
    Ok(Envelope::created(CommentView::from_record(
        created,
        raw.include_raw.unwrap_or(false),
    )))
}
