//! The unified operations of a connection (containers, items, comments, search, create,
//! update) as use cases: checked input in, views out, with the plugin version that served them. The REST handlers (`resources.rs`) and
//! the agent tools (`tools.rs`) both run them, so a tool call and a REST call behave alike.

use serde::Deserialize;

use super::App;
use super::page_cursor::Listing;
use super::timestamp::canonical_rfc3339;
use crate::connection::views::{
    BodyFormat, CommentView, ContainerView, FromRecord, ItemView, PageView,
};
use crate::connection::{self, Answer, CallOptions};
use crate::error::{ApiError, ErrorCode};
use crate::runtime::wit::{ItemPatch, NewComment, NewItem, PageRequest};
use crate::runtime::{Operation, OperationOutput};

/// Page size when the client names none.
const DEFAULT_LIMIT: u32 = 25;
/// Largest page size.
const MAX_LIMIT: u32 = 100;
/// Longest title, body or query accepted.
const MAX_TEXT: usize = 64 * 1024;

/// `GET .../containers` query.
#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContainersQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Entries per page, 1 to 100. Default: 25.
    pub limit: Option<u32>,
    /// Only the containers under this one.
    pub parent: Option<String>,
    /// Include the vendor's JSON of each entry as `raw`. Default: false.
    pub include_raw: Option<bool>,
}

/// `GET .../containers/{container}/items` query.
#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Entries per page, 1 to 100. Default: 25.
    pub limit: Option<u32>,
    /// Only items updated at or after this RFC 3339 time.
    pub updated_since: Option<String>,
    /// Include the vendor's JSON of each entry as `raw`. Default: false.
    pub include_raw: Option<bool>,
}

/// A page of comments: the query.
#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Entries per page, 1 to 100. Default: 25.
    pub limit: Option<u32>,
    /// Include the vendor's JSON of each entry as `raw`. Default: false.
    pub include_raw: Option<bool>,
}

/// `GET .../search` query.
#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// What to search for, in the vendor's own search.
    pub q: String,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Entries per page, 1 to 100. Default: 25.
    pub limit: Option<u32>,
    /// Include the vendor's JSON of each entry as `raw`. Default: false.
    pub include_raw: Option<bool>,
}

/// The query of a single read or a write: whether to include the vendor's JSON.
#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RawQuery {
    /// Include the vendor's JSON as `raw`. Default: false.
    pub include_raw: Option<bool>,
}

/// `POST .../containers/{container}/items` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateItem {
    /// The item's title.
    pub title: String,
    /// Its body, in `body_format`.
    pub body: Option<String>,
    /// How `body` is written: `plain`, `markdown` or `html`. Default: `plain`.
    #[serde(default)]
    pub body_format: BodyFormat,
    /// Connector-specific fields (an issue's type, a priority), as strings.
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// What to change on an item; omitted fields stay as they are.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateItem {
    /// A new title.
    pub title: Option<String>,
    /// A new body, in `body_format`.
    pub body: Option<String>,
    /// How `body` is written. Default: `plain`.
    #[serde(default)]
    pub body_format: BodyFormat,
    /// Connector-specific fields to change.
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// `POST .../items/{item}/comments` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateComment {
    /// The comment, in `body_format`.
    pub body: String,
    /// How `body` is written. Default: `plain`.
    #[serde(default)]
    pub body_format: BodyFormat,
}

/// The page size a client asked for: default 25, 1 to 100.
pub fn limit(limit: Option<u32>) -> Result<u32, ApiError> {
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
    state: &App,
    tenant: &str,
    ask: PageAsk<'_>,
    operation: impl FnOnce(PageRequest) -> Operation,
    page_of: impl FnOnce(OperationOutput) -> Option<Found<E>>,
) -> Result<Answer<PageView<V>>, ApiError> {
    let listing = Listing {
        tenant,
        connection: ask.connection,
        name: ask.listing,
    };
    let include_raw = ask.include_raw.unwrap_or(false);
    let page = PageRequest {
        cursor: listing.unwrap(state.store.keys(), ask.cursor)?,
        limit: limit(ask.limit)?,
        include_raw,
    };
    let answer = call_on(state, tenant, ask.connection, operation(page)).await?;
    let served_by = answer.served_by;
    let output = answer.value;
    let found = page_of(output).ok_or_else(unexpected)?;
    let page = PageView {
        next_cursor: listing.wrap(state.store.keys(), found.next_cursor)?,
        entries: found
            .entries
            .into_iter()
            .map(|entry| V::from_record(entry, include_raw))
            .collect(),
        deleted: found
            .deleted
            .map(|deleted| deleted.into_iter().map(Into::into).collect()),
    };
    Ok(Answer {
        value: page,
        served_by,
    })
}

/// Runs `operation` on the tenant's connection `id`.
async fn call_on(
    state: &App,
    tenant: &str,
    id: &str,
    operation: Operation,
) -> Result<Answer, ApiError> {
    let record = connection::load(state, tenant, id).await?;
    let (_, answer) = connection::call(state, record, operation, CallOptions::default()).await?;
    Ok(answer)
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

/// A page of the connection's containers (under `parent` when given).
pub async fn list_containers(
    state: &App,
    tenant: &str,
    connection: &str,
    query: ContainersQuery,
) -> Result<Answer<PageView<ContainerView>>, ApiError> {
    let listing = format!("containers:{}", query.parent.as_deref().unwrap_or(""));
    let parent = query.parent;
    list_page(
        state,
        tenant,
        PageAsk {
            connection,
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

/// A page of a container's items, with the tombstones the connector reports.
pub async fn list_items(
    state: &App,
    tenant: &str,
    connection: &str,
    container: String,
    query: ItemsQuery,
) -> Result<Answer<PageView<ItemView>>, ApiError> {
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
        state,
        tenant,
        PageAsk {
            connection,
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

/// One item with its body.
pub async fn read_item(
    state: &App,
    tenant: &str,
    connection: &str,
    item: String,
    include_raw: bool,
) -> Result<Answer<ItemView>, ApiError> {
    let answer = call_on(state, tenant, connection, Operation::Item { item_id: item }).await?;
    let served_by = answer.served_by;
    let output = answer.value;
    let OperationOutput::Item(found) = output else {
        return Err(unexpected());
    };
    Ok(Answer {
        value: ItemView::from_record(found, include_raw),
        served_by,
    })
}

/// A page of an item's comments.
pub async fn list_comments(
    state: &App,
    tenant: &str,
    connection: &str,
    item: String,
    query: PageQuery,
) -> Result<Answer<PageView<CommentView>>, ApiError> {
    let listing = format!("comments:{item}");
    list_page(
        state,
        tenant,
        PageAsk {
            connection,
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

/// A page of the items matching `query.q`, in the connector's own search language.
pub async fn search_items(
    state: &App,
    tenant: &str,
    connection: &str,
    query: SearchQuery,
) -> Result<Answer<PageView<ItemView>>, ApiError> {
    text("q", &query.q, true)?;
    let listing = format!("search:{}", query.q);
    let search = query.q.clone();
    list_page(
        state,
        tenant,
        PageAsk {
            connection,
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

/// Creates an item in a container. Never retried by the host.
pub async fn create_item(
    state: &App,
    tenant: &str,
    connection: &str,
    container: String,
    body: CreateItem,
    include_raw: bool,
) -> Result<Answer<ItemView>, ApiError> {
    text("title", &body.title, true)?;
    text("body", body.body.as_deref().unwrap_or(""), false)?;
    let item = NewItem {
        title: body.title,
        body: body.body,
        body_format: body.body_format.into(),
        attributes: body.attributes.into_iter().collect(),
    };
    let operation = Operation::CreateItem {
        container_id: container,
        item,
    };
    let answer = call_on(state, tenant, connection, operation).await?;
    let served_by = answer.served_by;
    let output = answer.value;
    let OperationOutput::Item(created) = output else {
        return Err(unexpected());
    };
    Ok(Answer {
        value: ItemView::from_record(created, include_raw),
        served_by,
    })
}

/// Changes an item (connectors of contract 0.2.0 and later that offer `update_item`; others
/// answer `UNSUPPORTED`). Never retried by the host.
pub async fn update_item(
    state: &App,
    tenant: &str,
    connection: &str,
    item_id: String,
    body: UpdateItem,
    include_raw: bool,
) -> Result<Answer<ItemView>, ApiError> {
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
    let operation = Operation::UpdateItem { item_id, patch };
    let answer = call_on(state, tenant, connection, operation).await?;
    let served_by = answer.served_by;
    let output = answer.value;
    let OperationOutput::Item(updated) = output else {
        return Err(unexpected());
    };
    Ok(Answer {
        value: ItemView::from_record(updated, include_raw),
        served_by,
    })
}

/// Adds a comment to an item. Never retried by the host.
pub async fn create_comment(
    state: &App,
    tenant: &str,
    connection: &str,
    item: String,
    body: CreateComment,
    include_raw: bool,
) -> Result<Answer<CommentView>, ApiError> {
    text("body", &body.body, true)?;
    let comment = NewComment {
        body: body.body,
        body_format: body.body_format.into(),
    };
    let operation = Operation::CreateComment {
        item_id: item,
        comment,
    };
    let answer = call_on(state, tenant, connection, operation).await?;
    let served_by = answer.served_by;
    let output = answer.value;
    let OperationOutput::Comment(created) = output else {
        return Err(unexpected());
    };
    Ok(Answer {
        value: CommentView::from_record(created, include_raw),
        served_by,
    })
}
