//! A behavioural Figma (REST API v1): personal access tokens in `X-Figma-Token` or OAuth
//! tokens as `Authorization: Bearer`, a wrong or revoked token answered as Figma does (403
//! `{"status": 403, "err": "Invalid token"}`), one team's projects, each project's files
//! (unpaged lists, as Figma serves them), files read with `depth`, comments listed (`as_md`)
//! and posted (a strict body: `message` required, unknown fields refused), and HTTP 429 with
//! `Retry-After` and Figma's rate-limit headers on demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::github::TokenChecker;
use super::{FakeServer, Recorder, bearer_token};

/// The team the fake serves.
pub const TEAM_ID: &str = "1152921504606846976";
pub const TEAM_NAME: &str = "Acme Design";
/// Projects of the team, with how many files each holds.
pub const PROJECTS: [(&str, u64); 7] = [
    ("Mobile app", 9),
    ("Website", 2),
    ("Design system", 3),
    ("Marketing", 1),
    ("Brand", 1),
    ("Research", 1),
    ("Archive", 0),
];
/// Comments on the first file of the first project.
pub const COMMENTS: u64 = 5;
/// 2026-11-01T09:00:00Z; file `n` of a project was last modified `n` hours later.
pub const BASE_TIME: i64 = 1_793_523_600;
/// The user every token belongs to.
pub const USER_ID: &str = "1055117218765812310";
pub const USER_HANDLE: &str = "Ada Lovelace";

pub fn project_id(n: usize) -> String {
    format!("{}", 4_400_000 + n)
}

/// File keys are 22 letters and digits, like Figma's.
pub fn file_key(project: usize, n: u64) -> String {
    format!("Fk{project:02}x{n:04}AbCdEfGhIjKlMn")
}

fn rfc3339(unix: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

fn user() -> Value {
    json!({"id": USER_ID, "handle": USER_HANDLE, "img_url": "https://s3-alpha.figma.com/profile/ada"})
}

#[derive(Default)]
struct Data {
    tokens: Vec<String>,
    checker: Option<TokenChecker>,
    revoked: Vec<String>,
    comments: HashMap<String, Vec<Value>>,
    next_comment: u64,
    throttle: u32,
}

type Shared = Arc<Mutex<Data>>;

/// A running Figma fake.
pub struct FigmaFake {
    pub server: FakeServer,
    pub recorder: Recorder,
    data: Shared,
}

fn seed() -> Data {
    let mut data = Data {
        next_comment: 100,
        ..Data::default()
    };
    let first = file_key(0, 1);
    let comments = (1..=COMMENTS)
        .map(|n| {
            json!({"id": format!("{}", 900 + n), "file_key": first, "parent_id": "",
                "user": user(), "created_at": rfc3339(BASE_TIME + n as i64 * 60),
                "resolved_at": null, "message": format!("Comment **{n}**"),
                "client_meta": {"x": 10.0, "y": 20.0}, "order_id": format!("{n}"),
                "reactions": []})
        })
        .collect();
    data.comments.insert(first, comments);
    data
}

/// Figma's error payload (`err` style).
fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"status": status.as_u16(), "err": message})),
    )
        .into_response()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not found")
}

fn project_index(id: &str) -> Option<usize> {
    let n: usize = id.parse::<usize>().ok()?.checked_sub(4_400_000)?;
    (n < PROJECTS.len()).then_some(n)
}

/// The project and file number of a key the fake knows.
fn file_of(key: &str) -> Option<(usize, u64)> {
    (0..PROJECTS.len()).find_map(|p| {
        (1..=PROJECTS[p].1)
            .find(|n| file_key(p, *n) == key)
            .map(|n| (p, n))
    })
}

fn file_name(project: usize, n: u64) -> String {
    format!("{} {n}", PROJECTS[project].0)
}

impl FigmaFake {
    /// A Figma accepting the personal access token `token`.
    pub async fn start(token: &str) -> Self {
        let mut data = seed();
        data.tokens.push(token.to_owned());
        Self::start_with(data).await
    }

    /// A Figma accepting the bearer tokens `checker` calls live (OAuth grants).
    pub async fn start_checking(checker: TokenChecker) -> Self {
        let mut data = seed();
        data.checker = Some(checker);
        Self::start_with(data).await
    }

    async fn start_with(data: Data) -> Self {
        let recorder = Recorder::default();
        let data = Arc::new(Mutex::new(data));
        let router = Router::new()
            .route("/v1/me", get(me))
            .route("/v1/teams/{team_id}/projects", get(team_projects))
            .route("/v1/projects/{project_id}/files", get(project_files))
            .route("/v1/files/{key}", get(file))
            .route(
                "/v1/files/{key}/comments",
                get(list_comments).post(post_comment),
            )
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

    /// The next `count` requests get HTTP 429 with `Retry-After: 30`.
    pub fn throttle_next(&self, count: u32) {
        self.data.lock().unwrap().throttle = count;
    }
}

fn live(data: &Data, headers: &HeaderMap) -> bool {
    let pat = headers
        .get("x-figma-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let usable = |token: &String| !data.revoked.contains(token);
    match (pat, bearer_token(headers)) {
        (Some(pat), None) => usable(&pat) && data.tokens.contains(&pat),
        (None, Some(bearer)) => {
            usable(&bearer) && data.checker.as_ref().is_some_and(|check| check(&bearer))
        }
        _ => false,
    }
}

/// Throttling and auth before any route.
async fn gate(State(data): State<Shared>, request: Request, next: Next) -> Response {
    {
        let mut data = data.lock().unwrap();
        if data.throttle > 0 {
            data.throttle -= 1;
            let mut limited = error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
            let headers = limited.headers_mut();
            headers.insert(header::RETRY_AFTER, "30".parse().unwrap());
            headers.insert("x-figma-plan-tier", "pro".parse().unwrap());
            headers.insert("x-figma-rate-limit-type", "low".parse().unwrap());
            return limited;
        }
        if !live(&data, request.headers()) {
            return error(StatusCode::FORBIDDEN, "Invalid token");
        }
    }
    next.run(request).await
}

async fn me() -> Response {
    let mut me = user();
    me["email"] = json!("ada@acme.example");
    Json(me).into_response()
}

async fn team_projects(Path(team): Path<String>) -> Response {
    if team != TEAM_ID {
        return not_found();
    }
    let projects: Vec<Value> = (0..PROJECTS.len())
        .map(|p| json!({"id": project_id(p), "name": PROJECTS[p].0}))
        .collect();
    Json(json!({"name": TEAM_NAME, "projects": projects})).into_response()
}

async fn project_files(Path(project): Path<String>) -> Response {
    let Some(p) = project_index(&project) else {
        return not_found();
    };
    // Figma's order is not by time: oldest first here, so the connector has to sort.
    let files: Vec<Value> = (1..=PROJECTS[p].1)
        .map(|n| {
            json!({"key": file_key(p, n), "name": file_name(p, n),
                "thumbnail_url": format!("https://s3-alpha.figma.com/thumbnails/{n}"),
                "last_modified": rfc3339(BASE_TIME + n as i64 * 3600)})
        })
        .collect();
    Json(json!({"name": PROJECTS[p].0, "files": files})).into_response()
}

fn node(id: String, name: &str, kind: &str, children: Option<Vec<Value>>) -> Value {
    let mut node = json!({"id": id, "name": name, "type": kind, "visible": true});
    if let Some(children) = children {
        node["children"] = json!(children);
    }
    node
}

async fn file(Path(key): Path<String>, Query(query): Query<HashMap<String, String>>) -> Response {
    let Some((p, n)) = file_of(&key) else {
        return not_found();
    };
    let depth = match query.get("depth").map(|d| d.parse::<u32>()) {
        None => u32::MAX,
        Some(Ok(d)) if d >= 1 => d,
        Some(_) => return error(StatusCode::BAD_REQUEST, "Invalid depth"),
    };
    let page = |index: u32, name: &str, frames: &[(&str, &str)]| {
        let children = (depth >= 2).then(|| {
            frames
                .iter()
                .enumerate()
                .map(|(i, (name, kind))| {
                    // Below depth 2 the frames' own layers would follow: left out unless asked.
                    let layers = (depth >= 3)
                        .then(|| vec![node(format!("{index}:{i}:0"), "Layer", "RECTANGLE", None)]);
                    node(format!("{index}:{i}"), name, kind, layers)
                })
                .collect()
        });
        node(format!("0:{index}"), name, "CANVAS", children)
    };
    let pages = vec![
        page(1, "Cover", &[("Hero", "FRAME")]),
        page(
            2,
            "Flows",
            &[
                ("Sign in", "FRAME"),
                ("Checkout", "SECTION"),
                ("Primary button", "COMPONENT"),
            ],
        ),
    ];
    Json(json!({
        "name": file_name(p, n),
        "role": "editor",
        "lastModified": rfc3339(BASE_TIME + n as i64 * 3600),
        "editorType": "figma",
        "thumbnailUrl": "https://s3-alpha.figma.com/thumbnails/x",
        "version": format!("{}", 3000 + n),
        "document": node("0:0".into(), "Document", "DOCUMENT", Some(pages)),
        "components": {}, "componentSets": {}, "schemaVersion": 0, "styles": {}
    }))
    .into_response()
}

async fn list_comments(
    State(data): State<Shared>,
    Path(key): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if file_of(&key).is_none() {
        return not_found();
    }
    let as_md = query.get("as_md").is_some_and(|v| v == "true");
    let data = data.lock().unwrap();
    let mut comments = data.comments.get(&key).cloned().unwrap_or_default();
    if !as_md {
        for comment in &mut comments {
            let plain = comment["message"].as_str().unwrap_or("").replace("**", "");
            comment["message"] = json!(plain);
        }
    }
    // Figma lists newest first.
    comments.reverse();
    Json(json!({"comments": comments})).into_response()
}

async fn post_comment(
    State(data): State<Shared>,
    Path(key): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    if file_of(&key).is_none() {
        return not_found();
    }
    let Some(Json(Value::Object(body))) = body else {
        return error(StatusCode::BAD_REQUEST, "Invalid JSON body");
    };
    if let Some(unknown) = body
        .keys()
        .find(|k| !["message", "comment_id", "client_meta"].contains(&k.as_str()))
    {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Unknown parameter {unknown}"),
        );
    }
    let Some(message) = body.get("message").and_then(Value::as_str) else {
        return error(StatusCode::BAD_REQUEST, "Parameter message is required");
    };
    let mut data = data.lock().unwrap();
    data.next_comment += 1;
    let count = data.comments.get(&key).map_or(0, Vec::len);
    let created = json!({"id": format!("{}", data.next_comment), "file_key": key,
        "parent_id": "", "user": user(),
        "created_at": rfc3339(BASE_TIME + 86_400 + data.next_comment as i64),
        "resolved_at": null, "message": message, "client_meta": {"x": 0.0, "y": 0.0},
        "order_id": format!("{}", count + 1), "reactions": []});
    data.comments.entry(key).or_default().push(created.clone());
    Json(created).into_response()
}
