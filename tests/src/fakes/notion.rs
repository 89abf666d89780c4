//! A behavioural Notion (API version 2025-09-03): bearer tokens (`401 unauthorized`, revocable),
//! the `Notion-Version` header required (`400 missing_version`), error objects
//! `{"object": "error", "status", "code", "message"}`, lists paged by `start_cursor` (the id
//! of the next object, as Notion does) with `has_more`/`next_cursor`, `page_size` ≤ 100,
//! strict request bodies (`400 validation_error` on unknown fields), `/v1/search` over data
//! sources and pages, data-source queries with a `last_edited_time` filter, pages with block
//! children (nested), comments, page creation with children (≤ 100 per request, text runs ≤
//! 2000 characters), and HTTP 429 with `Retry-After` on demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::github::TokenChecker;
use super::{FakeServer, Recorder, bearer_token};

/// The data sources, as `(title, pages in it)`; listed most recently edited first.
pub const DATA_SOURCES: [(&str, u64); 5] = [
    ("Roadmap", 7),
    ("Meeting notes", 2),
    ("Docs", 2),
    ("Hiring", 1),
    ("Reading list", 1),
];
/// Blocks at the top of the first Roadmap page: more than one page of block children.
pub const LONG_PAGE_BLOCKS: u64 = 130;
/// Comments on the first Roadmap page.
pub const COMMENTS: u64 = 3;
/// 2026-11-01T09:00:00Z; page `n` of a data source was last edited `n` hours later.
pub const BASE_TIME: i64 = 1_793_523_600;
/// The integration's bot user.
pub const BOT_ID: &str = "b0700000-0000-4000-8000-000000000001";
const PERSON: &str = "a1100000-0000-4000-8000-000000000001";

/// The API version the fake serves.
const VERSION: &str = "2025-09-03";

pub fn data_source_id(n: usize) -> String {
    format!("d5000000-0000-4000-8000-{n:012}")
}

pub fn page_id(source: usize, n: u64) -> String {
    format!("9a000000-0000-4000-8{source:03}-{n:012}")
}

/// A time as Notion writes it (`2026-11-01T09:00:00.000Z`).
fn rfc3339(unix: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix as u64);
    humantime::format_rfc3339_millis(at).to_string()
}

fn rich(text: &str) -> Value {
    json!({"type": "text", "text": {"content": text, "link": null},
        "annotations": {"bold": false, "italic": false, "strikethrough": false,
            "underline": false, "code": false, "color": "default"},
        "plain_text": text, "href": null})
}

struct PageRecord {
    id: String,
    /// Index into the data sources, or `None` for a page at the top of the workspace.
    source: Option<usize>,
    title: String,
    edited: i64,
    in_trash: bool,
}

#[derive(Default)]
struct Data {
    tokens: Vec<String>,
    checker: Option<TokenChecker>,
    revoked: Vec<String>,
    pages: Vec<PageRecord>,
    /// Block children by parent (page or block) id, in order.
    blocks: HashMap<String, Vec<Value>>,
    comments: HashMap<String, Vec<Value>>,
    next: u64,
    throttle: u32,
    fail_append: bool,
}

type Shared = Arc<Mutex<Data>>;

/// A running Notion fake.
pub struct NotionFake {
    pub server: FakeServer,
    pub recorder: Recorder,
    data: Shared,
}

fn paragraph(id: String, text: &str) -> Value {
    json!({"object": "block", "id": id, "type": "paragraph", "has_children": false,
        "paragraph": {"rich_text": [rich(text)], "color": "default"}})
}

fn seed() -> Data {
    let mut data = Data::default();
    for (s, (title, count)) in DATA_SOURCES.iter().enumerate() {
        for n in 1..=*count {
            data.pages.push(PageRecord {
                id: page_id(s, n),
                source: Some(s),
                title: format!("{title} {n}"),
                edited: BASE_TIME + n as i64 * 3600,
                in_trash: false,
            });
        }
    }
    data.pages.push(PageRecord {
        id: page_id(999, 1),
        source: None,
        title: "Team handbook".into(),
        edited: BASE_TIME,
        in_trash: false,
    });
    let first = page_id(0, 1);
    let mut blocks = vec![
        json!({"object": "block", "id": "b1000000-0000-4000-8000-000000000001",
            "type": "heading_1", "has_children": false,
            "heading_1": {"rich_text": [rich("Goals")], "is_toggleable": false}}),
        json!({"object": "block", "id": "b1000000-0000-4000-8000-000000000002",
            "type": "bulleted_list_item", "has_children": true,
            "bulleted_list_item": {"rich_text": [rich("Ship the connector host")]}}),
        json!({"object": "block", "id": "b1000000-0000-4000-8000-000000000003",
            "type": "to_do", "has_children": false,
            "to_do": {"rich_text": [rich("Write the launch post")], "checked": true}}),
    ];
    for n in 4..=LONG_PAGE_BLOCKS {
        blocks.push(paragraph(
            format!("b1000000-0000-4000-8000-{n:012}"),
            &format!("Line {n}"),
        ));
    }
    data.blocks.insert(first.clone(), blocks);
    data.blocks.insert(
        "b1000000-0000-4000-8000-000000000002".into(),
        vec![
            json!({"object": "block", "id": "b2000000-0000-4000-8000-000000000001",
            "type": "bulleted_list_item", "has_children": false,
            "bulleted_list_item": {"rich_text": [rich("with WASM plugins")]}}),
        ],
    );
    let comments = (1..=COMMENTS)
        .map(|n| {
            json!({"object": "comment", "id": format!("c0000000-0000-4000-8000-{n:012}"),
                "parent": {"type": "page_id", "page_id": first},
                "discussion_id": "de000000-0000-4000-8000-000000000001",
                "created_time": rfc3339(BASE_TIME + n as i64 * 60),
                "last_edited_time": rfc3339(BASE_TIME + n as i64 * 60),
                "created_by": {"object": "user", "id": PERSON},
                "rich_text": [rich(&format!("Comment {n}"))]})
        })
        .collect();
    data.comments.insert(first, comments);
    data
}

/// Notion's error object.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(
            json!({"object": "error", "status": status.as_u16(), "code": code,
            "message": message, "request_id": "0c0c0c0c-0000-4000-8000-000000000000"}),
        ),
    )
        .into_response()
}

fn invalid(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "validation_error", message)
}

fn not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "object_not_found",
        &format!(
            "Could not find object with ID: {id}. Make sure the relevant pages and databases are shared with your integration."
        ),
    )
}

/// Ids match with or without dashes, as Notion's do.
fn same_id(a: &str, b: &str) -> bool {
    a.replace('-', "") == b.replace('-', "")
}

impl NotionFake {
    /// A Notion accepting `token`.
    pub async fn start(token: &str) -> Self {
        let mut data = seed();
        data.tokens.push(token.to_owned());
        Self::start_with(data).await
    }

    /// A Notion accepting the tokens `checker` calls live (OAuth grants).
    pub async fn start_checking(checker: TokenChecker) -> Self {
        let mut data = seed();
        data.checker = Some(checker);
        Self::start_with(data).await
    }

    async fn start_with(data: Data) -> Self {
        let recorder = Recorder::default();
        let data = Arc::new(Mutex::new(data));
        let router = Router::new()
            .route("/v1/users/me", get(me))
            .route("/v1/search", post(search))
            .route("/v1/data_sources/{id}/query", post(query))
            .route("/v1/pages", post(create_page))
            .route("/v1/pages/{id}", get(read_page).patch(update_page))
            .route(
                "/v1/blocks/{id}/children",
                get(children).patch(append_children),
            )
            .route("/v1/comments", get(list_comments).post(create_comment))
            .layer(axum::middleware::from_fn_with_state(data.clone(), gate))
            .with_state(data.clone());
        Self {
            server: FakeServer::start(recorder.layer(router)).await,
            recorder,
            data,
        }
    }

    /// The origin to put in config `api_url`.
    pub fn api_url(&self) -> String {
        self.server.origin()
    }

    /// The token stops working.
    pub fn revoke(&self, token: &str) {
        let mut data = self.data.lock().unwrap();
        data.tokens.retain(|t| t != token);
        data.revoked.push(token.to_owned());
    }

    /// The next `count` requests get HTTP 429 with `Retry-After: 5`.
    pub fn throttle_next(&self, count: u32) {
        self.data.lock().unwrap().throttle = count;
    }

    /// Marks page `id` edited at `unix`.
    pub fn edit(&self, id: &str, unix: i64) {
        let mut data = self.data.lock().unwrap();
        if let Some(page) = data.pages.iter_mut().find(|p| same_id(&p.id, id)) {
            page.edited = unix;
        }
    }

    /// Whether the page titled `title` is in the trash (`None`: there is no such page).
    pub fn trashed(&self, title: &str) -> Option<bool> {
        let data = self.data.lock().unwrap();
        data.pages
            .iter()
            .find(|p| p.title == title)
            .map(|p| p.in_trash)
    }

    /// The next append of block children fails with Notion's `503 service_unavailable`.
    pub fn fail_next_append(&self) {
        self.data.lock().unwrap().fail_append = true;
    }
}

/// Throttling, auth and the version header before any route.
async fn gate(State(data): State<Shared>, request: Request, next: Next) -> Response {
    {
        let mut data = data.lock().unwrap();
        if data.throttle > 0 {
            data.throttle -= 1;
            let mut limited = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "You have been rate limited. Please try again in a few minutes.",
            );
            limited
                .headers_mut()
                .insert(header::RETRY_AFTER, "5".parse().unwrap());
            return limited;
        }
        let live = bearer_token(request.headers()).is_some_and(|token| {
            !data.revoked.contains(&token)
                && (data.tokens.contains(&token)
                    || data.checker.as_ref().is_some_and(|check| check(&token)))
        });
        if !live {
            return error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "API token is invalid.",
            );
        }
    }
    match request.headers().get("notion-version") {
        None => error(
            StatusCode::BAD_REQUEST,
            "missing_version",
            "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.",
        ),
        Some(v) if v != VERSION => invalid("this fake serves Notion-Version 2025-09-03 only"),
        Some(_) => next.run(request).await,
    }
}

/// `page_size` (1-100, default 100) and `start_cursor` from a body or query.
fn paging(
    page_size: Option<&Value>,
    cursor: Option<&Value>,
) -> Result<(usize, Option<String>), String> {
    let size = match page_size {
        None => 100,
        Some(v) => {
            match v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            {
                Some(n @ 1..=100) => n as usize,
                _ => {
                    return Err("body failed validation: body.page_size should be ≤ `100`, instead was above.".into());
                }
            }
        }
    };
    Ok((size, cursor.and_then(Value::as_str).map(str::to_owned)))
}

/// One page of `all` starting at the object whose id is `cursor`.
fn list(all: Vec<Value>, size: usize, cursor: Option<String>, kind: &str) -> Response {
    let start = match cursor {
        None => 0,
        Some(cursor) => match all.iter().position(|o| o["id"] == cursor.as_str()) {
            Some(at) => at,
            None => return invalid("start_cursor provided is invalid"),
        },
    };
    let end = (start + size).min(all.len());
    let next = all.get(end).map(|o| o["id"].clone()).unwrap_or(Value::Null);
    Json(
        json!({"object": "list", "results": all[start..end], "next_cursor": next,
        "has_more": end < all.len(), "type": kind, kind: {}}),
    )
    .into_response()
}

/// Refuses fields outside `allowed`, as Notion's body validation does.
fn only(body: &Value, allowed: &[&str]) -> Result<(), String> {
    let Some(object) = body.as_object() else {
        return Err("body failed validation: body should be an object.".into());
    };
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(format!(
            "body failed validation: body.{key} should be not present, instead was present."
        )),
        None => Ok(()),
    }
}

fn source_json(s: usize, edited: i64) -> Value {
    let (title, _) = DATA_SOURCES[s];
    json!({"object": "data_source", "id": data_source_id(s),
        "created_time": rfc3339(BASE_TIME - 86_400), "last_edited_time": rfc3339(edited),
        "created_by": {"object": "user", "id": PERSON},
        "title": [rich(title)], "description": [rich(&format!("All about {title}"))],
        "parent": {"type": "database_id", "database_id": format!("db000000-0000-4000-8000-{s:012}")},
        "properties": {"Name": {"id": "title", "name": "Name", "type": "title", "title": {}},
            "Status": {"id": "st", "name": "Status", "type": "status", "status": {}}},
        "archived": false, "in_trash": false, "is_inline": false})
}

fn page_json(page: &PageRecord) -> Value {
    let parent = match page.source {
        Some(s) => json!({"type": "data_source_id", "data_source_id": data_source_id(s),
            "database_id": format!("db000000-0000-4000-8000-{s:012}")}),
        None => json!({"type": "workspace", "workspace": true}),
    };
    let slug = page.title.replace(' ', "-");
    let mut properties =
        json!({"Name": {"id": "title", "type": "title", "title": [rich(&page.title)]}});
    if page.source.is_some() {
        properties["Status"] = json!({"id": "st", "type": "status",
            "status": {"id": "s1", "name": "In progress", "color": "blue"}});
    }
    json!({"object": "page", "id": page.id, "created_time": rfc3339(BASE_TIME),
        "last_edited_time": rfc3339(page.edited),
        "created_by": {"object": "user", "id": PERSON},
        "last_edited_by": {"object": "user", "id": PERSON},
        "cover": null, "icon": null, "parent": parent, "archived": page.in_trash,
        "in_trash": page.in_trash, "is_locked": false, "properties": properties,
        "url": format!("https://www.notion.so/{slug}-{}", page.id.replace('-', "")),
        "public_url": null})
}

async fn me() -> Response {
    Json(json!({"object": "user", "id": BOT_ID, "name": "Connector host", "avatar_url": null,
        "type": "bot", "bot": {"owner": {"type": "workspace", "workspace": true},
            "workspace_name": "Acme", "workspace_limits": {"max_file_upload_size_in_bytes": 5_368_709_120_u64}}}))
    .into_response()
}

async fn search(State(data): State<Shared>, Json(body): Json<Value>) -> Response {
    if let Err(refused) = only(
        &body,
        &["query", "filter", "sort", "start_cursor", "page_size"],
    ) {
        return invalid(&refused);
    }
    let kind = match &body["filter"] {
        Value::Null => None,
        filter if filter["property"] == "object" => match filter["value"].as_str() {
            Some(v @ ("page" | "data_source")) => Some(v),
            _ => {
                return invalid(
                    "body failed validation: body.filter.value should be `\"page\"` or `\"data_source\"`.",
                );
            }
        },
        _ => {
            return invalid("body failed validation: body.filter.property should be `\"object\"`.");
        }
    };
    let (size, cursor) = match paging(body.get("page_size"), body.get("start_cursor")) {
        Ok(p) => p,
        Err(why) => return invalid(&why),
    };
    let words = body["query"].as_str().unwrap_or_default().to_lowercase();
    let data = data.lock().unwrap();
    let mut found: Vec<(i64, Value)> = Vec::new();
    if kind != Some("page") {
        for (s, (title, _)) in DATA_SOURCES.iter().enumerate() {
            if title.to_lowercase().contains(&words) {
                // Listed most recently edited first: the first data source is the newest.
                found.push((
                    BASE_TIME + 86_400 - s as i64,
                    source_json(s, BASE_TIME + 86_400 - s as i64),
                ));
            }
        }
    }
    if kind != Some("data_source") {
        for page in data.pages.iter().filter(|p| !p.in_trash) {
            if page.title.to_lowercase().contains(&words) {
                found.push((page.edited, page_json(page)));
            }
        }
    }
    let ascending = body["sort"]["direction"] == "ascending";
    found.sort_by_key(|(edited, _)| if ascending { *edited } else { -*edited });
    list(
        found.into_iter().map(|(_, v)| v).collect(),
        size,
        cursor,
        "page_or_data_source",
    )
}

async fn query(
    State(data): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(source) = (0..DATA_SOURCES.len()).find(|s| same_id(&data_source_id(*s), &id)) else {
        return not_found(&id);
    };
    if let Err(refused) = only(
        &body,
        &["filter", "sorts", "start_cursor", "page_size", "in_trash"],
    ) {
        return invalid(&refused);
    }
    let since = match &body["filter"] {
        Value::Null => None,
        filter if filter["timestamp"] == "last_edited_time" => {
            match filter["last_edited_time"]["on_or_after"]
                .as_str()
                .map(time_of)
            {
                Some(Some(t)) => Some(t),
                _ => {
                    return invalid(
                        "body failed validation: body.filter.last_edited_time.on_or_after should be an ISO 8601 date.",
                    );
                }
            }
        }
        _ => return invalid("this fake filters by last_edited_time only"),
    };
    let (size, cursor) = match paging(body.get("page_size"), body.get("start_cursor")) {
        Ok(p) => p,
        Err(why) => return invalid(&why),
    };
    let data = data.lock().unwrap();
    let mut pages: Vec<&PageRecord> = data
        .pages
        .iter()
        .filter(|p| p.source == Some(source) && !p.in_trash)
        // Notion keeps edit times to the minute.
        .filter(|p| since.is_none_or(|t| p.edited / 60 * 60 >= t))
        .collect();
    pages.sort_by_key(|p| -p.edited);
    list(
        pages.into_iter().map(page_json).collect(),
        size,
        cursor,
        "page_or_data_source",
    )
}

fn time_of(text: &str) -> Option<i64> {
    let at = humantime::parse_rfc3339(text).ok()?;
    Some(at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64)
}

async fn read_page(State(data): State<Shared>, Path(id): Path<String>) -> Response {
    let data = data.lock().unwrap();
    match data.pages.iter().find(|p| same_id(&p.id, &id)) {
        Some(page) => Json(page_json(page)).into_response(),
        None => not_found(&id),
    }
}

async fn update_page(
    State(data): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Err(refused) = only(
        &body,
        &["properties", "in_trash", "archived", "icon", "cover"],
    ) {
        return invalid(&refused);
    }
    let mut data = data.lock().unwrap();
    let Some(page) = data.pages.iter_mut().find(|p| same_id(&p.id, &id)) else {
        return not_found(&id);
    };
    if let Some(trash) = body["in_trash"].as_bool() {
        page.in_trash = trash;
    }
    Json(page_json(page)).into_response()
}

async fn children(
    State(data): State<Shared>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (size, cursor) = match paging(
        params.get("page_size").map(|s| json!(s)).as_ref(),
        params.get("start_cursor").map(|s| json!(s)).as_ref(),
    ) {
        Ok(p) => p,
        Err(why) => return invalid(&why),
    };
    let data = data.lock().unwrap();
    let known = data.pages.iter().any(|p| same_id(&p.id, &id))
        || data
            .blocks
            .values()
            .flatten()
            .any(|b| b["id"] == id.as_str());
    if !known {
        return not_found(&id);
    }
    let key = data.blocks.keys().find(|k| same_id(k, &id)).cloned();
    let blocks = key
        .and_then(|k| data.blocks.get(&k).cloned())
        .unwrap_or_default();
    list(blocks, size, cursor, "block")
}

/// Blocks a client sends, checked as Notion does and stored as Notion would answer them.
fn new_blocks(data: &mut Data, children: &Value) -> Result<Vec<Value>, String> {
    let Some(children) = children.as_array() else {
        return Err("body failed validation: body.children should be an array.".into());
    };
    if children.len() > 100 {
        return Err(format!(
            "body failed validation: body.children.length should be ≤ `100`, instead was `{}`.",
            children.len()
        ));
    }
    let mut made = Vec::new();
    for child in children {
        let kind = child["type"].as_str().unwrap_or_default();
        if !matches!(kind, "paragraph" | "bulleted_list_item") {
            return Err("this fake takes paragraph and bulleted_list_item blocks".into());
        }
        let mut runs = Vec::new();
        for run in child[kind]["rich_text"].as_array().into_iter().flatten() {
            let text = run["text"]["content"].as_str().unwrap_or_default();
            if text.chars().count() > 2000 {
                return Err("body failed validation: body.children[0].paragraph.rich_text[0].text.content.length should be ≤ `2000`.".into());
            }
            runs.push(rich(text));
        }
        data.next += 1;
        made.push(
            json!({"object": "block", "id": format!("b9000000-0000-4000-8000-{:012}", data.next),
            "type": kind, "has_children": false, kind: {"rich_text": runs}}),
        );
    }
    Ok(made)
}

async fn create_page(State(data): State<Shared>, Json(body): Json<Value>) -> Response {
    if let Err(refused) = only(
        &body,
        &["parent", "properties", "children", "icon", "cover"],
    ) {
        return invalid(&refused);
    }
    let mut data = data.lock().unwrap();
    let parent = &body["parent"];
    let source = match parent["data_source_id"].as_str() {
        Some(id) => match (0..DATA_SOURCES.len()).find(|s| same_id(&data_source_id(*s), id)) {
            Some(s) => Some(s),
            None => return not_found(id),
        },
        None if parent["page_id"].is_string() => None,
        None => {
            return invalid(
                "body failed validation: body.parent.data_source_id should be defined.",
            );
        }
    };
    let title_runs = body["properties"]["title"]["title"]
        .as_array()
        .or(body["properties"]["Name"]["title"].as_array());
    let Some(title_runs) = title_runs else {
        return invalid("body failed validation: the title property is required.");
    };
    let title: String = title_runs
        .iter()
        .filter_map(|r| r["text"]["content"].as_str())
        .collect();
    let blocks = match new_blocks(&mut data, body.get("children").unwrap_or(&json!([]))) {
        Ok(blocks) => blocks,
        Err(why) => return invalid(&why),
    };
    data.next += 1;
    let page = PageRecord {
        id: format!("9a000000-0000-4000-8fff-{:012}", data.next),
        source,
        title,
        edited: BASE_TIME + 30 * 86_400,
        in_trash: false,
    };
    data.blocks.insert(page.id.clone(), blocks);
    let answer = page_json(&page);
    data.pages.push(page);
    Json(answer).into_response()
}

async fn append_children(
    State(data): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Err(refused) = only(&body, &["children", "after"]) {
        return invalid(&refused);
    }
    let mut data = data.lock().unwrap();
    if !data.pages.iter().any(|p| same_id(&p.id, &id)) {
        return not_found(&id);
    }
    if std::mem::take(&mut data.fail_append) {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Notion is unavailable, please try again later.",
        );
    }
    let made = match new_blocks(&mut data, &body["children"]) {
        Ok(made) => made,
        Err(why) => return invalid(&why),
    };
    let key = data
        .pages
        .iter()
        .find(|p| same_id(&p.id, &id))
        .map(|p| p.id.clone())
        .unwrap_or(id);
    data.blocks.entry(key).or_default().extend(made.clone());
    Json(
        json!({"object": "list", "results": made, "next_cursor": null, "has_more": false,
        "type": "block", "block": {}}),
    )
    .into_response()
}

async fn list_comments(
    State(data): State<Shared>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(block) = params.get("block_id") else {
        return invalid(
            "body failed validation: query.block_id should be defined, instead was `undefined`.",
        );
    };
    let (size, cursor) = match paging(
        params.get("page_size").map(|s| json!(s)).as_ref(),
        params.get("start_cursor").map(|s| json!(s)).as_ref(),
    ) {
        Ok(p) => p,
        Err(why) => return invalid(&why),
    };
    let data = data.lock().unwrap();
    if !data.pages.iter().any(|p| same_id(&p.id, block)) {
        return not_found(block);
    }
    let key = data.comments.keys().find(|k| same_id(k, block)).cloned();
    let comments = key
        .and_then(|k| data.comments.get(&k).cloned())
        .unwrap_or_default();
    list(comments, size, cursor, "comment")
}

async fn create_comment(State(data): State<Shared>, Json(body): Json<Value>) -> Response {
    if let Err(refused) = only(&body, &["parent", "rich_text", "discussion_id"]) {
        return invalid(&refused);
    }
    let Some(page) = body["parent"]["page_id"].as_str().map(str::to_owned) else {
        return invalid("body failed validation: body.parent.page_id should be defined.");
    };
    let text: String = body["rich_text"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["text"]["content"].as_str())
        .collect();
    if text.is_empty() {
        return invalid("body failed validation: body.rich_text should not be empty.");
    }
    let mut data = data.lock().unwrap();
    let Some(key) = data
        .pages
        .iter()
        .find(|p| same_id(&p.id, &page))
        .map(|p| p.id.clone())
    else {
        return not_found(&page);
    };
    data.next += 1;
    let comment = json!({"object": "comment", "id": format!("c9000000-0000-4000-8000-{:012}", data.next),
        "parent": {"type": "page_id", "page_id": key},
        "discussion_id": format!("de900000-0000-4000-8000-{:012}", data.next),
        "created_time": rfc3339(BASE_TIME + 30 * 86_400), "last_edited_time": rfc3339(BASE_TIME + 30 * 86_400),
        "created_by": {"object": "user", "id": BOT_ID}, "rich_text": [rich(&text)]});
    data.comments.entry(key).or_default().push(comment.clone());
    Json(comment).into_response()
}
