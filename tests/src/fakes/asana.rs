//! A behavioural Asana (REST API 1.0): personal access tokens as `Authorization: Bearer`, a
//! wrong token answered as Asana does (401 `{"errors": [{"message": "Not Authorized"}]}`),
//! every body wrapped in `data`, compact records unless `opt_fields` names more (so a
//! connector that forgets it gets no notes), opaque `offset` tokens with `next_page` only when
//! `limit` was sent, `modified_since` on tasks, stories that mix comments with system events,
//! search in a workspace, writes that check their body, and 429 with `Retry-After` on demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::{FakeServer, Recorder, bearer_token};

/// The token the fake accepts.
pub const ASANA_TOKEN: &str = "2/1200000000000001/asana-pat";
/// The workspace with projects, and an empty one.
pub const WORKSPACE: &str = "1200000000000100";
pub const OTHER_WORKSPACE: &str = "1200000000000200";
/// Projects of the workspace, with how many tasks each holds.
pub const PROJECTS: [(&str, &str, usize); 3] = [
    ("1200000000001001", "Launch", 5),
    ("1200000000001002", "Roadmap", 2),
    ("1200000000001003", "Empty", 0),
];
/// The user every token belongs to.
pub const USER_GID: &str = "1200000000000001";

fn task_gid(project: usize, n: usize) -> String {
    format!("12000000000{project}{n:04}")
}

fn at(hours: usize) -> String {
    super::hours_after_seed(hours, true)
}

fn user() -> Value {
    json!({"gid": USER_GID, "resource_type": "user", "name": "Ada Lovelace", "email": "ada@acme.example"})
}

#[derive(Default)]
struct Data {
    tasks: Vec<Value>,
    stories: HashMap<String, Vec<Value>>,
    next_gid: u64,
    throttle: u32,
}

type Shared = Arc<Mutex<Data>>;

/// A running Asana fake.
pub struct AsanaFake {
    pub server: FakeServer,
    pub recorder: Recorder,
    data: Shared,
}

fn seed() -> Data {
    let mut data = Data {
        next_gid: 1_200_000_000_900_000,
        ..Data::default()
    };
    for (p, (project, name, count)) in PROJECTS.iter().enumerate() {
        for n in 1..=*count {
            data.tasks.push(json!({
                "gid": task_gid(p, n), "resource_type": "task",
                "name": format!("{name} task {n}"), "notes": format!("Notes of {name} task {n}"),
                "permalink_url": format!("https://app.asana.com/0/{project}/{}", task_gid(p, n)),
                "completed": false, "due_on": null,
                "created_at": at(n), "modified_at": at(10 * n),
                "created_by": user(), "assignee": null,
                "memberships": [{"project": {"gid": project, "resource_type": "project", "name": name}}],
            }));
        }
    }
    let first = task_gid(0, 1);
    let stories = (1..=4)
        .map(|n| {
            let comment = n % 2 == 1;
            json!({"gid": format!("12000000008000{n:02}"), "resource_type": "story",
                "type": if comment { "comment" } else { "system" },
                "text": if comment { format!("Comment {n}") } else { "moved this task".into() },
                "created_at": at(20 + n), "created_by": user()})
        })
        .collect();
    data.stories.insert(first, stories);
    data
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"errors": [{"message": message}]}))).into_response()
}

/// A record as Asana answers it: `gid`, `resource_type` and `name`, plus what `opt_fields`
/// names (`created_by.name` brings `created_by` with its `gid` and `name`).
fn compact(record: &Value, query: &HashMap<String, String>) -> Value {
    let mut out = Map::new();
    for key in ["gid", "resource_type", "name"] {
        if let Some(value) = record.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    for field in query
        .get("opt_fields")
        .into_iter()
        .flat_map(|f| f.split(','))
    {
        let top = field.split('.').next().unwrap_or_default();
        if let Some(value) = record.get(top) {
            out.insert(top.into(), value.clone());
        }
    }
    Value::Object(out)
}

/// One page of `records`: Asana's opaque offset token, `next_page` only when `limit` was sent.
fn page(records: Vec<Value>, query: &HashMap<String, String>, path: &str) -> Response {
    let start = match query.get("offset") {
        None => 0,
        Some(token) => match token
            .strip_prefix("eyJvZmZzZXQiOi")
            .and_then(|n| n.parse().ok())
        {
            Some(n) => n,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "offset: Your pagination token is invalid.",
                );
            }
        },
    };
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => None,
        Some(Ok(l)) if (1..=100).contains(&l) => Some(l),
        Some(_) => return error(StatusCode::BAD_REQUEST, "limit: Must be between 1 and 100"),
    };
    let end = limit.map_or(records.len(), |l| (start + l).min(records.len()));
    let data: Vec<Value> = records[start.min(end)..end]
        .iter()
        .map(|r| compact(r, query))
        .collect();
    let next = match limit {
        Some(_) if end < records.len() => {
            let token = format!("eyJvZmZzZXQiOi{end}");
            json!({"offset": token, "path": format!("{path}?limit={}&offset={token}", limit.unwrap_or(0)),
                "uri": format!("https://app.asana.com/api/1.0{path}?offset={token}")})
        }
        _ => Value::Null,
    };
    let mut body = json!({"data": data});
    if limit.is_some() {
        body["next_page"] = next;
    }
    Json(body).into_response()
}

impl AsanaFake {
    pub async fn start() -> Self {
        let recorder = Recorder::default();
        let data = Arc::new(Mutex::new(seed()));
        let router = Router::new()
            .route("/api/1.0/users/{user}", get(me))
            .route("/api/1.0/workspaces", get(workspaces))
            .route("/api/1.0/workspaces/{workspace}/projects", get(projects))
            .route("/api/1.0/workspaces/{workspace}/tasks/search", get(search))
            .route("/api/1.0/tasks", get(tasks).post(create_task))
            .route("/api/1.0/tasks/{task}", get(task).put(update_task))
            .route(
                "/api/1.0/tasks/{task}/stories",
                get(stories).post(create_story),
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
    pub fn origin(&self) -> String {
        self.server.origin()
    }

    /// The next `count` requests get HTTP 429 with `Retry-After: 7`.
    pub fn throttle_next(&self, count: u32) {
        self.data.lock().unwrap().throttle = count;
    }

    /// A task as the fake holds it.
    pub fn task(&self, gid: &str) -> Option<Value> {
        let data = self.data.lock().unwrap();
        data.tasks.iter().find(|t| t["gid"] == gid).cloned()
    }
}

async fn gate(State(data): State<Shared>, request: Request, next: Next) -> Response {
    {
        let mut data = data.lock().unwrap();
        if data.throttle > 0 {
            data.throttle -= 1;
            let mut limited = error(
                StatusCode::TOO_MANY_REQUESTS,
                "You have made too many requests recently.",
            );
            limited
                .headers_mut()
                .insert(header::RETRY_AFTER, "7".parse().unwrap());
            return limited;
        }
    }
    if bearer_token(request.headers()).as_deref() != Some(ASANA_TOKEN) {
        return error(StatusCode::UNAUTHORIZED, "Not Authorized");
    }
    next.run(request).await
}

async fn me(
    Path(user_gid): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if user_gid != "me" && user_gid != USER_GID {
        return error(StatusCode::NOT_FOUND, "user: Unknown object");
    }
    Json(json!({"data": compact(&user(), &query)})).into_response()
}

async fn workspaces(Query(query): Query<HashMap<String, String>>) -> Response {
    let records = vec![
        json!({"gid": WORKSPACE, "resource_type": "workspace", "name": "Acme"}),
        json!({"gid": OTHER_WORKSPACE, "resource_type": "workspace", "name": "Personal"}),
    ];
    page(records, &query, "/workspaces")
}

async fn projects(
    Path(workspace): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let records = if workspace == WORKSPACE {
        PROJECTS
            .iter()
            .map(|(gid, name, _)| json!({"gid": gid, "resource_type": "project", "name": name,
                "notes": format!("About {name}"), "permalink_url": format!("https://app.asana.com/0/{gid}")}))
            .collect()
    } else if workspace == OTHER_WORKSPACE {
        Vec::new()
    } else {
        return error(StatusCode::NOT_FOUND, "workspace: Unknown object");
    };
    page(
        records,
        &query,
        &format!("/workspaces/{workspace}/projects"),
    )
}

fn in_project(task: &Value, project: &str) -> bool {
    task["memberships"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["project"]["gid"] == project))
}

async fn tasks(
    State(data): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(project) = query.get("project") else {
        return error(
            StatusCode::BAD_REQUEST,
            "Must specify exactly one of project, tag, section, user task list, or assignee + workspace",
        );
    };
    if !PROJECTS.iter().any(|(gid, ..)| gid == project) {
        return error(StatusCode::NOT_FOUND, "project: Unknown object");
    }
    let since = query
        .get("modified_since")
        .map(|s| humantime::parse_rfc3339(s));
    let since = match since {
        Some(Ok(t)) => Some(t),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "modified_since: Not a valid date-time",
            );
        }
        None => None,
    };
    let data = data.lock().unwrap();
    let records: Vec<Value> = data
        .tasks
        .iter()
        .filter(|t| in_project(t, project))
        .filter(|t| {
            since.is_none_or(|since| {
                let modified = t["modified_at"].as_str().unwrap_or_default();
                humantime::parse_rfc3339(modified).is_ok_and(|m| m >= since)
            })
        })
        .cloned()
        .collect();
    page(records, &query, "/tasks")
}

async fn task(
    State(data): State<Shared>,
    Path(gid): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let data = data.lock().unwrap();
    match data.tasks.iter().find(|t| t["gid"] == gid) {
        Some(task) => Json(json!({"data": compact(task, &query)})).into_response(),
        None => error(StatusCode::NOT_FOUND, "task: Unknown object"),
    }
}

async fn search(
    Path(workspace): Path<String>,
    State(data): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if workspace != WORKSPACE {
        return error(StatusCode::NOT_FOUND, "workspace: Unknown object");
    }
    let text = query
        .get("text")
        .map(|t| t.to_lowercase())
        .unwrap_or_default();
    let data = data.lock().unwrap();
    let found: Vec<Value> = data
        .tasks
        .iter()
        .filter(|t| {
            t["name"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase()
                .contains(&text)
        })
        .map(|t| compact(t, &query))
        .collect();
    Json(json!({"data": found})).into_response()
}

/// The `data` object of a write, or the message of Asana's 400.
fn data_of(body: Option<Json<Value>>) -> Result<Map<String, Value>, &'static str> {
    match body {
        Some(Json(Value::Object(mut body))) => match body.remove("data") {
            Some(Value::Object(data)) => Ok(data),
            _ => Err("data: Missing input"),
        },
        _ => Err("Could not parse request data, invalid JSON"),
    }
}

async fn create_task(
    State(data): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    body: Option<Json<Value>>,
) -> Response {
    let input = match data_of(body) {
        Ok(input) => input,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };
    let Some(project) = input
        .get("projects")
        .and_then(|p| p[0].as_str())
        .map(str::to_owned)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "You should specify one of workspace, parent, projects",
        );
    };
    let Some(name) = PROJECTS
        .iter()
        .find(|(gid, ..)| *gid == project)
        .map(|(_, name, _)| *name)
    else {
        return error(StatusCode::NOT_FOUND, "projects: Unknown object");
    };
    let mut data = data.lock().unwrap();
    data.next_gid += 1;
    let gid = data.next_gid.to_string();
    let task = json!({
        "gid": gid, "resource_type": "task",
        "name": input.get("name").cloned().unwrap_or(json!("")),
        "notes": input.get("notes").cloned().unwrap_or(json!("")),
        "permalink_url": format!("https://app.asana.com/0/{project}/{gid}"),
        "completed": false, "due_on": null, "created_at": at(100), "modified_at": at(100),
        "created_by": user(), "assignee": null,
        "memberships": [{"project": {"gid": project, "resource_type": "project", "name": name}}],
    });
    data.tasks.push(task.clone());
    (
        StatusCode::CREATED,
        Json(json!({"data": compact(&task, &query)})),
    )
        .into_response()
}

async fn update_task(
    State(data): State<Shared>,
    Path(gid): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Option<Json<Value>>,
) -> Response {
    let input = match data_of(body) {
        Ok(input) => input,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };
    let mut data = data.lock().unwrap();
    let Some(task) = data.tasks.iter_mut().find(|t| t["gid"] == gid) else {
        return error(StatusCode::NOT_FOUND, "task: Unknown object");
    };
    for (key, value) in input {
        if !["name", "notes", "completed", "due_on"].contains(&key.as_str()) {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("{key}: Cannot write this property"),
            );
        }
        task[&key] = value;
    }
    task["modified_at"] = json!(at(200));
    Json(json!({"data": compact(task, &query)})).into_response()
}

async fn stories(
    State(data): State<Shared>,
    Path(gid): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let data = data.lock().unwrap();
    if !data.tasks.iter().any(|t| t["gid"] == gid) {
        return error(StatusCode::NOT_FOUND, "task: Unknown object");
    }
    let records = data.stories.get(&gid).cloned().unwrap_or_default();
    page(records, &query, &format!("/tasks/{gid}/stories"))
}

async fn create_story(
    State(data): State<Shared>,
    Path(gid): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Option<Json<Value>>,
) -> Response {
    let input = match data_of(body) {
        Ok(input) => input,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };
    let Some(text) = input.get("text").and_then(Value::as_str) else {
        return error(StatusCode::BAD_REQUEST, "text: Missing input");
    };
    let mut data = data.lock().unwrap();
    if !data.tasks.iter().any(|t| t["gid"] == gid) {
        return error(StatusCode::NOT_FOUND, "task: Unknown object");
    }
    data.next_gid += 1;
    let story = json!({"gid": data.next_gid.to_string(), "resource_type": "story", "type": "comment",
        "text": text, "created_at": at(300), "created_by": user()});
    data.stories.entry(gid).or_default().push(story.clone());
    (
        StatusCode::CREATED,
        Json(json!({"data": compact(&story, &query)})),
    )
        .into_response()
}
