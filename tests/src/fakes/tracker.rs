//! The vendor behind the `tracker` fixture (the SDK's front-page example): a small issue
//! tracker with bearer-token auth, `Link` paging (`per_page`, `page`), `since` filtering, search,
//! issue creation, `PATCH` to close an issue, and webhook subscriptions per project (`POST
//! /projects/{key}/hooks` with the URL and the secret to sign with, `DELETE /hooks/{id}`). State
//! lives in memory per fake.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{FakeServer, Recorder};

/// The token the fake accepts.
pub const TRACKER_TOKEN: &str = "tracker-token";

#[derive(Clone)]
struct Tracker {
    issues: Arc<Mutex<Vec<Value>>>,
    hooks: Arc<Mutex<Vec<Value>>>,
}

/// A running tracker vendor.
pub struct TrackerFake {
    pub server: FakeServer,
    pub recorder: Recorder,
    hooks: Arc<Mutex<Vec<Value>>>,
}

impl TrackerFake {
    /// Projects `CORE` (five issues, updated a day apart from 2026-11-01) and `WEB` (one).
    pub async fn start() -> Self {
        let mut issues: Vec<Value> = (1..=5)
            .map(|n| {
                issue(
                    n,
                    "CORE",
                    &format!("Core issue {n}"),
                    &format!("2026-11-0{n}T09:00:00Z"),
                )
            })
            .collect();
        issues.push(issue(6, "WEB", "Web issue", "2026-11-02T12:00:00Z"));
        let state = Tracker {
            issues: Arc::new(Mutex::new(issues)),
            hooks: Arc::default(),
        };
        let hooks = state.hooks.clone();
        let recorder = Recorder::default();
        let router = Router::new()
            .route(
                "/me",
                get(|| async { Json(json!({"id": "acct-7", "name": "Ada"})) }),
            )
            .route("/projects", get(projects))
            .route(
                "/projects/{key}/issues",
                get(project_issues).post(create_issue),
            )
            .route("/issues/{id}", get(one_issue).patch(patch_issue))
            .route("/issues/{id}/comments", get(comments))
            .route("/search", get(search))
            .route("/projects/{key}/hooks", axum::routing::post(create_hook))
            .route("/hooks/{id}", delete(delete_hook))
            .with_state(state)
            .layer(axum::middleware::from_fn(require_token));
        let server = FakeServer::start(recorder.layer(router)).await;
        Self {
            server,
            recorder,
            hooks,
        }
    }

    pub fn origin(&self) -> String {
        self.server.origin()
    }

    /// The webhook subscriptions the fake holds: `id`, `project`, `url`, `secret`, `events`.
    pub fn hooks(&self) -> Vec<Value> {
        self.hooks.lock().unwrap().clone()
    }
}

/// Subscribes `url` to a project's events; deliveries are signed with `secret`.
async fn create_hook(
    State(state): State<Tracker>,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let (Some(url), Some(secret)) = (body["url"].as_str(), body["secret"].as_str()) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"message": "url and secret are required"})),
        )
            .into_response();
    };
    let mut hooks = state.hooks.lock().unwrap();
    let hook = json!({"id": format!("h{}", hooks.len() + 1), "project": key, "url": url,
        "secret": secret, "events": body["events"]});
    hooks.push(hook.clone());
    let mut answer = hook;
    answer.as_object_mut().map(|o| o.remove("secret"));
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn delete_hook(State(state): State<Tracker>, Path(id): Path<String>) -> StatusCode {
    let mut hooks = state.hooks.lock().unwrap();
    let before = hooks.len();
    hooks.retain(|hook| hook["id"] != id.as_str());
    if hooks.len() < before {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

fn issue(id: u64, project: &str, title: &str, updated_at: &str) -> Value {
    json!({"id": id, "project": project, "title": title, "body": format!("Body of {title}"),
        "state": "open", "updated_at": updated_at})
}

async fn require_token(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let expected = format!("Bearer {TRACKER_TOKEN}");
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if given != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "bad token"})),
        )
            .into_response();
    }
    next.run(request).await
}

/// One `Link`-paged answer: `page` (1-based) of `per_page`, with `rel="next"` while more remain.
fn paged(path: &str, all: Vec<Value>, query: &HashMap<String, String>) -> Response {
    let per_page: usize = query
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page: usize = query
        .get("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let start = (page - 1) * per_page;
    let entries: Vec<Value> = all.iter().skip(start).take(per_page).cloned().collect();
    let mut response = Json(Value::Array(entries)).into_response();
    if start + per_page < all.len() {
        let mut next: Vec<String> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "page")
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        next.sort();
        next.push(format!("page={}", page + 1));
        let link = format!(r#"<{path}?{}>; rel="next""#, next.join("&"));
        let headers: &mut HeaderMap = response.headers_mut();
        headers.insert(header::LINK, link.parse().expect("link header"));
    }
    response
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn projects(Query(query): Query<HashMap<String, String>>) -> Response {
    let all = ["CORE", "WEB", "OPS"]
        .iter()
        .enumerate()
        .map(|(n, key)| json!({"key": key, "name": format!("Project {}", n + 1)}))
        .collect();
    paged("/projects", all, &query)
}

async fn project_issues(
    State(state): State<Tracker>,
    Path(key): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let issues = state.issues.lock().expect("issues").clone();
    let since = query.get("since").cloned();
    let all = issues
        .into_iter()
        .filter(|i| i["project"] == key.as_str())
        // Canonical RFC 3339 UTC compares correctly as text; the host sends nothing else.
        .filter(|i| {
            since
                .as_deref()
                .is_none_or(|s| i["updated_at"].as_str().unwrap_or("") >= s)
        })
        .collect();
    paged(&format!("/projects/{key}/issues"), all, &query)
}

async fn one_issue(State(state): State<Tracker>, Path(id): Path<String>) -> Response {
    let issues = state.issues.lock().expect("issues");
    match issues.iter().find(|i| i["id"].as_u64() == id.parse().ok()) {
        Some(found) => Json(found.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "no such issue"})),
        )
            .into_response(),
    }
}

async fn patch_issue(
    State(state): State<Tracker>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut issues = state.issues.lock().expect("issues");
    let Some(found) = issues
        .iter_mut()
        .find(|i| i["id"].as_u64() == id.parse().ok())
    else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "no such issue"})),
        )
            .into_response();
    };
    if let Some(new_state) = body.get("state") {
        found["state"] = new_state.clone();
        found["updated_at"] = json!("2026-11-20T00:00:00Z");
    }
    Json(found.clone()).into_response()
}

async fn create_issue(
    State(state): State<Tracker>,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(title) = body
        .get("title")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"message": "title is required"})),
        )
            .into_response();
    };
    let mut issues = state.issues.lock().expect("issues");
    let id = issues.len() as u64 + 1;
    let mut created = issue(id, &key, title, "2026-11-21T00:00:00Z");
    created["body"] = body.get("body").cloned().unwrap_or(Value::Null);
    issues.push(created.clone());
    (StatusCode::CREATED, Json(created)).into_response()
}

async fn comments(
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let all = (1..=3)
        .map(|n| json!({"id": n, "body": format!("Comment {n} on {id}")}))
        .collect();
    paged(&format!("/issues/{id}/comments"), all, &query)
}

async fn search(
    State(state): State<Tracker>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let q = query.get("q").cloned().unwrap_or_default().to_lowercase();
    let issues = state.issues.lock().expect("issues").clone();
    let all = issues
        .into_iter()
        .filter(|i| {
            i["title"]
                .as_str()
                .unwrap_or("")
                .to_lowercase()
                .contains(&q)
        })
        .collect();
    paged("/search", all, &query)
}
