//! A behavioural Confluence Cloud: v2 spaces, pages and footer comments with cursor paging
//! (`_links.next` and a `Link` header), page and comment creation that reads back, v1 CQL
//! search, Basic auth on the site and bearer auth on `/ex/confluence/{cloudId}`, and 429 on
//! demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::atlassian_auth::AtlassianAuth;
use super::{FakeServer, Recorder};

/// Spaces the fake holds, ids 1001..=1007.
pub const SPACES: usize = 7;
/// Pages per space; page N of a space was last modified on 2026-11-0N.
pub const PAGES_PER_SPACE: usize = 5;
/// Footer comments per page.
pub const COMMENTS_PER_PAGE: usize = 4;

#[derive(Default)]
struct Data {
    pages: Vec<Value>,
    comments: Vec<Value>,
    next_id: u64,
}

#[derive(Clone)]
struct Fake {
    data: Arc<Mutex<Data>>,
}

/// A running Confluence fake.
pub struct ConfluenceFake {
    pub server: FakeServer,
    pub recorder: Recorder,
    auth: AtlassianAuth,
}

fn space(n: usize) -> Value {
    json!({"id": (1000 + n).to_string(), "key": format!("S{n}"), "name": format!("Space {n}"), "type": "global",
        "status": "current", "_links": {"webui": format!("/spaces/S{n}")}})
}

fn storage(value: &str) -> Value {
    json!({"storage": {"representation": "storage", "value": value}})
}

fn seed() -> Data {
    let mut data = Data {
        next_id: 2000,
        ..Data::default()
    };
    for s in 1..=SPACES {
        for n in 1..=PAGES_PER_SPACE {
            data.next_id += 1;
            let id = data.next_id.to_string();
            data.pages.push(json!({
                "id": id, "status": "current", "title": format!("Space {s} page {n}"), "spaceId": (1000 + s).to_string(),
                "authorId": "acct-1", "createdAt": "2026-10-01T09:00:00.000Z",
                "version": {"number": 1, "createdAt": format!("2026-11-0{n}T10:00:00.000Z"), "authorId": "acct-1"},
                "body": storage(&format!("<h1>Page {n}</h1><p>Notes for space {s} &amp; friends</p>")),
                "_links": {"webui": format!("/spaces/S{s}/pages/{id}")},
            }));
            for c in 1..=COMMENTS_PER_PAGE {
                data.next_id += 1;
                data.comments.push(json!({
                    "id": data.next_id.to_string(), "status": "current", "pageId": id, "title": format!("Re: page {n}"),
                    "version": {"number": 1, "createdAt": format!("2026-11-0{c}T12:00:00.000Z"), "authorId": "acct-2"},
                    "body": storage(&format!("<p>Comment {c}</p>")),
                    "_links": {"webui": format!("/spaces/S{s}/pages/{id}?focusedCommentId={}", data.next_id)},
                }));
            }
        }
    }
    data
}

impl ConfluenceFake {
    pub async fn start(auth: AtlassianAuth) -> Self {
        let recorder = Recorder::default();
        let data = Arc::new(Mutex::new(seed()));
        let fake = Fake { data: data.clone() };
        let api = Router::new()
            .route("/wiki/rest/api/user/current", get(current_user))
            .route("/wiki/rest/api/search", get(search))
            .route("/wiki/api/v2/spaces", get(spaces))
            .route("/wiki/api/v2/spaces/{id}/pages", get(pages))
            .route("/wiki/api/v2/pages", post(create_page))
            .route("/wiki/api/v2/pages/{id}", get(page))
            .route(
                "/wiki/api/v2/pages/{id}/footer-comments",
                get(footer_comments),
            )
            .route("/wiki/api/v2/footer-comments", post(create_comment));
        let router = auth.serve(api.with_state(fake), "confluence", 5);
        Self {
            server: FakeServer::start(recorder.layer(router)).await,
            recorder,
            auth,
        }
    }

    pub fn origin(&self) -> String {
        self.server.origin()
    }

    /// The next `count` requests are answered 429 with `Retry-After: 5`.
    pub fn throttle_next(&self, count: u32) {
        self.auth.throttle_next(count);
    }
}

async fn current_user() -> Json<Value> {
    Json(
        json!({"type": "known", "accountId": "acct-1", "accountType": "atlassian", "email": "ada@example.com", "displayName": "Ada Lovelace"}),
    )
}

fn number(query: &HashMap<String, String>, key: &str, default: usize) -> usize {
    query
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Cursor paging: the cursor is an opaque index; the next page is announced in `_links.next`
/// and in a `Link` header, as Confluence does.
fn paged(all: Vec<Value>, query: &HashMap<String, String>, path: &str) -> Response {
    let start = query
        .get("cursor")
        .and_then(|c| c.strip_prefix("idx-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0usize);
    let limit = number(query, "limit", 25).clamp(1, 250);
    let end = all.len().min(start + limit);
    let mut body = json!({"results": all[start.min(end)..end], "_links": {"base": "https://example.atlassian.net/wiki"}});
    let mut response_link = None;
    if end < all.len() {
        let next = format!("{path}?limit={limit}&cursor=idx-{end}");
        body["_links"]["next"] = json!(next);
        response_link = Some(format!("<{next}>; rel=\"next\""));
    }
    let mut response = Json(body).into_response();
    if let Some(link) = response_link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

async fn spaces(Query(query): Query<HashMap<String, String>>) -> Response {
    paged(
        (1..=SPACES).map(space).collect(),
        &query,
        "/wiki/api/v2/spaces",
    )
}

fn without_body(page: &Value) -> Value {
    let mut page = page.clone();
    if let Some(object) = page.as_object_mut() {
        object.remove("body");
    }
    page
}

async fn pages(
    State(fake): State<Fake>,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let id = params.get("id").cloned().unwrap_or_default();
    let data = fake.data.lock().unwrap();
    let mut found: Vec<Value> = data
        .pages
        .iter()
        .filter(|p| p["spaceId"] == id.as_str())
        .map(without_body)
        .collect();
    if found.is_empty() && !(1001..=1000 + SPACES).any(|s| s.to_string() == id) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"errors": [{"status": 404, "title": "Not Found"}]})),
        )
            .into_response();
    }
    if query.get("sort").map(String::as_str) == Some("-modified-date") {
        found.sort_by(|a, b| {
            b["version"]["createdAt"]
                .as_str()
                .cmp(&a["version"]["createdAt"].as_str())
        });
    }
    paged(found, &query, &format!("/wiki/api/v2/spaces/{id}/pages"))
}

async fn page(State(fake): State<Fake>, Path(params): Path<HashMap<String, String>>) -> Response {
    let id = params.get("id").cloned().unwrap_or_default();
    let data = fake.data.lock().unwrap();
    match data.pages.iter().find(|p| p["id"] == id.as_str()) {
        Some(page) => Json(page.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"errors": [{"status": 404, "title": "Not Found"}]})),
        )
            .into_response(),
    }
}

async fn footer_comments(
    State(fake): State<Fake>,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let id = params.get("id").cloned().unwrap_or_default();
    let data = fake.data.lock().unwrap();
    let found: Vec<Value> = data
        .comments
        .iter()
        .filter(|c| c["pageId"] == id.as_str())
        .cloned()
        .collect();
    paged(
        found,
        &query,
        &format!("/wiki/api/v2/pages/{id}/footer-comments"),
    )
}

async fn create_page(State(fake): State<Fake>, Json(body): Json<Value>) -> Response {
    let (Some(space_id), Some(title)) = (body["spaceId"].as_str(), body["title"].as_str()) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": [{"title": "spaceId and title are required"}]})),
        )
            .into_response();
    };
    let mut data = fake.data.lock().unwrap();
    data.next_id += 1;
    let id = data.next_id.to_string();
    let page = json!({
        "id": id, "status": "current", "title": title, "spaceId": space_id, "authorId": "acct-1",
        "createdAt": "2026-11-22T08:00:00.000Z",
        "version": {"number": 1, "createdAt": "2026-11-22T08:00:00.000Z", "authorId": "acct-1"},
        "body": storage(body["body"]["value"].as_str().unwrap_or_default()),
        "_links": {"webui": format!("/spaces/x/pages/{id}")},
    });
    data.pages.push(page.clone());
    Json(page).into_response()
}

async fn create_comment(State(fake): State<Fake>, Json(body): Json<Value>) -> Response {
    let Some(page_id) = body["pageId"].as_str() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": [{"title": "pageId is required"}]})),
        )
            .into_response();
    };
    let mut data = fake.data.lock().unwrap();
    if !data.pages.iter().any(|p| p["id"] == page_id) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"errors": [{"status": 404, "title": "Not Found"}]})),
        )
            .into_response();
    }
    data.next_id += 1;
    let comment = json!({
        "id": data.next_id.to_string(), "status": "current", "pageId": page_id,
        "version": {"number": 1, "createdAt": "2026-11-22T08:00:00.000Z", "authorId": "acct-1"},
        "body": storage(body["body"]["value"].as_str().unwrap_or_default()),
    });
    data.comments.push(comment.clone());
    (StatusCode::CREATED, Json(comment)).into_response()
}

/// v1 CQL search; understands `type=page AND text ~ "words"`.
async fn search(
    State(fake): State<Fake>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let cql = query.get("cql").cloned().unwrap_or_default();
    let Some(words) = cql
        .split("text ~")
        .nth(1)
        .map(|w| w.trim().trim_matches('"').to_lowercase())
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Could not parse cql"})),
        )
            .into_response();
    };
    let data = fake.data.lock().unwrap();
    let hits: Vec<Value> = data
        .pages
        .iter()
        .filter(|p| format!("{} {}", p["title"], p["body"]).to_lowercase().contains(&words))
        .map(|p| json!({
            "content": {"id": p["id"], "type": "page", "status": "current", "title": p["title"], "space": {"id": p["spaceId"]}},
            "title": p["title"], "excerpt": "Notes for @@@hl@@@space@@@endhl@@@", "url": p["_links"]["webui"],
            "lastModified": p["version"]["createdAt"],
        }))
        .collect();
    let start = number(&query, "start", 0);
    let limit = number(&query, "limit", 25).max(1);
    let end = hits.len().min(start + limit);
    Json(json!({"results": hits[start.min(end)..end], "start": start, "limit": limit, "size": end.saturating_sub(start), "totalSize": hits.len()})).into_response()
}
