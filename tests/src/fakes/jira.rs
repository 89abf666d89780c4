//! A behavioural Jira Cloud (REST API v3): projects with startAt/maxResults/isLast paging,
//! issues through `/search/jql` with nextPageToken, comments, issue and comment creation that
//! reads back, workflow transitions, assignment and deletion, Basic auth on the site and bearer auth on the `/ex/jira/{cloudId}` gateway,
//! `accessible-resources`, and 429 with Retry-After on demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::atlassian_auth::AtlassianAuth;
use super::{FakeServer, Recorder};

/// Project keys the fake holds.
pub const PROJECTS: [&str; 7] = [
    "ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF",
];
/// Issues per project; issue N was last updated on 2026-11-0N.
pub const ISSUES_PER_PROJECT: usize = 5;
/// Comments per issue.
pub const COMMENTS_PER_ISSUE: usize = 4;

#[derive(Default)]
struct Data {
    issues: Vec<Value>,
    comments: HashMap<String, Vec<Value>>,
    next_id: u64,
    /// Dynamic webhooks as registered (`POST /rest/api/3/webhook`), with their url.
    webhooks: Vec<Value>,
}

#[derive(Clone)]
struct Fake {
    data: Arc<Mutex<Data>>,
}

/// A running Jira fake.
pub struct JiraFake {
    pub server: FakeServer,
    pub recorder: Recorder,
    auth: AtlassianAuth,
    data: Arc<Mutex<Data>>,
}

fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

fn user(id: &str, name: &str) -> Value {
    json!({"accountId": id, "displayName": name, "emailAddress": format!("{id}@example.com"), "active": true})
}

fn seed() -> Data {
    let mut data = Data {
        next_id: 10_000,
        ..Data::default()
    };
    for (p, project) in PROJECTS.iter().enumerate() {
        for n in 1..=ISSUES_PER_PROJECT {
            let key = format!("{project}-{n}");
            data.next_id += 1;
            data.issues.push(json!({
                "id": data.next_id.to_string(),
                "key": key,
                "self": format!("/rest/api/3/issue/{}", data.next_id),
                "fields": {
                    "summary": format!("{project} issue {n}"),
                    "description": {"type": "doc", "version": 1, "content": [
                        {"type": "paragraph", "content": [
                            {"type": "text", "text": "Steps for "},
                            {"type": "text", "text": key.clone(), "marks": [{"type": "strong"}]}
                        ]}
                    ]},
                    "status": {"name": "To Do"},
                    "issuetype": {"name": "Task"},
                    "project": {"key": project, "id": (100 + p).to_string()},
                    "reporter": user("acct-1", "Ada Lovelace"),
                    "created": "2026-10-01T09:00:00.000+0000",
                    "updated": format!("2026-11-0{n}T10:00:00.000+0000"),
                },
            }));
            let comments = (1..=COMMENTS_PER_ISSUE)
                .map(|c| {
                    json!({"id": format!("{}{c}", data.next_id), "author": user("acct-2", "Grace Hopper"),
                        "body": adf(&format!("Comment {c} on {key}")), "created": "2026-11-01T12:00:00.000+0000",
                        "updated": "2026-11-01T12:00:00.000+0000"})
                })
                .collect();
            data.comments.insert(key, comments);
        }
    }
    data
}

impl JiraFake {
    pub async fn start(auth: AtlassianAuth) -> Self {
        let recorder = Recorder::default();
        let data = Arc::new(Mutex::new(seed()));
        let fake = Fake { data: data.clone() };
        let api = Router::new()
            .route("/rest/api/3/myself", get(myself))
            .route("/rest/api/3/project/search", get(projects))
            .route("/rest/api/3/search/jql", get(search))
            .route("/rest/api/3/issue", axum::routing::post(create_issue))
            .route(
                "/rest/api/3/issue/{key}",
                get(issue).put(edit_issue).delete(delete_issue),
            )
            .route(
                "/rest/api/3/issue/{key}/transitions",
                get(transitions).post(apply_transition),
            )
            .route(
                "/rest/api/3/issue/{key}/assignee",
                axum::routing::put(assign),
            )
            .route(
                "/rest/api/3/issue/{key}/comment",
                get(comments).post(create_comment),
            )
            .route(
                "/rest/api/3/webhook",
                get(list_webhooks)
                    .post(register_webhooks)
                    .delete(delete_webhooks),
            );
        let router = auth.serve(api.with_state(fake), "jira", 7);
        Self {
            server: FakeServer::start(recorder.layer(router)).await,
            recorder,
            auth,
            data,
        }
    }

    pub fn origin(&self) -> String {
        self.server.origin()
    }

    /// The issue as the fake holds it now (`None` once deleted).
    pub fn issue(&self, key: &str) -> Option<Value> {
        let data = self.data.lock().unwrap();
        data.issues.iter().find(|i| i["key"] == key).cloned()
    }

    /// The dynamic webhooks registered now (each with `id`, `url`, `events`, `jqlFilter`).
    pub fn webhooks(&self) -> Vec<Value> {
        self.data.lock().unwrap().webhooks.clone()
    }

    /// The next `count` requests are answered 429 with `Retry-After: 7`.
    pub fn throttle_next(&self, count: u32) {
        self.auth.throttle_next(count);
    }
}

async fn myself() -> Json<Value> {
    Json(user("acct-1", "Ada Lovelace"))
}

fn number(query: &HashMap<String, String>, key: &str, default: usize) -> usize {
    query
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn projects(Query(query): Query<HashMap<String, String>>) -> Json<Value> {
    let start = number(&query, "startAt", 0);
    let max = number(&query, "maxResults", 50).max(1);
    let end = PROJECTS.len().min(start + max);
    let values: Vec<Value> = PROJECTS[start.min(end)..end]
        .iter()
        .enumerate()
        .map(|(i, key)| json!({"id": (100 + start + i).to_string(), "key": key, "name": format!("Project {key}"), "projectTypeKey": "software"}))
        .collect();
    Json(
        json!({"startAt": start, "maxResults": max, "total": PROJECTS.len(), "isLast": end >= PROJECTS.len(), "values": values}),
    )
}

/// The JQL this fake understands: `project = "KEY"`, `AND updated >= "yyyy-MM-dd HH:mm"`,
/// `text ~ "words"`, and `ORDER BY ...` (ignored: issues are kept newest first).
fn matches(issue: &Value, jql: &str) -> Result<bool, String> {
    let clauses = jql.split(" ORDER BY").next().unwrap_or_default();
    for clause in clauses.split(" AND ") {
        let clause = clause.trim();
        let quoted = |prefix: &str| {
            clause
                .strip_prefix(prefix)
                .map(|v| v.trim().trim_matches('"').replace("\\\"", "\""))
        };
        if let Some(key) = quoted("project =") {
            if issue["fields"]["project"]["key"] != key.as_str() {
                return Ok(false);
            }
        } else if let Some(since) = quoted("updated >=") {
            let updated = issue["fields"]["updated"]
                .as_str()
                .unwrap_or_default()
                .replace('T', " ");
            if updated[..16] < *since.as_str() {
                return Ok(false);
            }
        } else if let Some(words) = quoted("text ~") {
            let haystack = format!(
                "{} {}",
                issue["fields"]["summary"], issue["fields"]["description"]
            )
            .to_lowercase();
            if !haystack.contains(&words.to_lowercase()) {
                return Ok(false);
            }
        } else {
            return Err(format!("unsupported JQL clause: {clause}"));
        }
    }
    Ok(true)
}

async fn search(
    State(fake): State<Fake>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let jql = query.get("jql").cloned().unwrap_or_default();
    if !jql.contains("project =") && !jql.contains("text ~") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errorMessages": ["Unbounded JQL queries are not allowed here."]})),
        )
            .into_response();
    }
    let data = fake.data.lock().unwrap();
    let mut found = Vec::new();
    for issue in data.issues.iter().rev() {
        match matches(issue, &jql) {
            Ok(true) => found.push(issue.clone()),
            Ok(false) => {}
            Err(message) => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"errorMessages": [message]})),
                )
                    .into_response();
            }
        }
    }
    found.sort_by(|a, b| {
        b["fields"]["updated"]
            .as_str()
            .cmp(&a["fields"]["updated"].as_str())
    });
    let start = number(&query, "nextPageToken", 0);
    let max = number(&query, "maxResults", 50).max(1);
    let end = found.len().min(start + max);
    let page = found[start.min(end)..end].to_vec();
    let mut body = json!({"issues": page, "isLast": end >= found.len()});
    if end < found.len() {
        body["nextPageToken"] = json!(end.to_string());
    }
    Json(body).into_response()
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"errorMessages": [format!("{what} does not exist or you do not have permission to see it.")], "errors": {}}))).into_response()
}

async fn issue(State(fake): State<Fake>, Path(params): Path<HashMap<String, String>>) -> Response {
    let key = params.get("key").cloned().unwrap_or_default();
    let mut data = fake.data.lock().unwrap();
    match find_issue(&mut data, &key) {
        Some(issue) => Json(issue.clone()).into_response(),
        None => not_found("Issue"),
    }
}

/// `PUT /rest/api/3/issue/{key}`: edits fields in place and answers 204, as Jira does.
async fn edit_issue(
    State(fake): State<Fake>,
    Path(params): Path<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let key = params.get("key").cloned().unwrap_or_default();
    let Some(fields) = body["fields"].as_object().filter(|f| !f.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errorMessages": ["No fields to edit."], "errors": {}})),
        )
            .into_response();
    };
    if fields
        .get("summary")
        .is_some_and(|s| s.as_str().is_none_or(str::is_empty))
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": {"summary": "You must specify a summary of the issue."}})),
        )
            .into_response();
    }
    let mut data = fake.data.lock().unwrap();
    let Some(issue) = find_issue(&mut data, &key) else {
        return not_found("Issue");
    };
    for (name, value) in fields {
        issue["fields"][name] = value.clone();
    }
    issue["fields"]["updated"] = json!("2026-11-22T09:00:00.000+0000");
    StatusCode::NO_CONTENT.into_response()
}

async fn comments(
    State(fake): State<Fake>,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let key = params.get("key").cloned().unwrap_or_default();
    let data = fake.data.lock().unwrap();
    let Some(all) = data.comments.get(&key) else {
        return not_found("Issue");
    };
    let start = number(&query, "startAt", 0);
    let max = number(&query, "maxResults", 50).max(1);
    let end = all.len().min(start + max);
    Json(json!({"startAt": start, "maxResults": max, "total": all.len(), "comments": all[start.min(end)..end]})).into_response()
}

async fn create_issue(State(fake): State<Fake>, Json(body): Json<Value>) -> Response {
    let fields = &body["fields"];
    let project = fields["project"]["key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let Some(summary) = fields["summary"].as_str().filter(|s| !s.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": {"summary": "You must specify a summary of the issue."}})),
        )
            .into_response();
    };
    if !PROJECTS.contains(&project.as_str()) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": {"project": "valid project is required"}})),
        )
            .into_response();
    }
    let mut data = fake.data.lock().unwrap();
    data.next_id += 1;
    let number = data
        .issues
        .iter()
        .filter(|i| i["fields"]["project"]["key"] == project.as_str())
        .count()
        + 1;
    let key = format!("{project}-{number}");
    let id = data.next_id.to_string();
    data.issues.push(json!({
        "id": id, "key": key, "self": format!("/rest/api/3/issue/{id}"),
        "fields": {
            "summary": summary,
            "description": fields.get("description").cloned().unwrap_or(Value::Null),
            "status": {"name": "To Do"},
            "issuetype": {"name": fields["issuetype"]["name"].as_str().unwrap_or("Task")},
            "project": {"key": project},
            "reporter": user("acct-1", "Ada Lovelace"),
            "created": "2026-11-22T08:00:00.000+0000",
            "updated": "2026-11-22T08:00:00.000+0000",
        },
    }));
    data.comments.insert(key.clone(), Vec::new());
    (
        StatusCode::CREATED,
        Json(json!({"id": id, "key": key, "self": format!("/rest/api/3/issue/{id}")})),
    )
        .into_response()
}

async fn create_comment(
    State(fake): State<Fake>,
    Path(params): Path<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let key = params.get("key").cloned().unwrap_or_default();
    if body.get("body").and_then(|b| b.get("type")) != Some(&json!("doc")) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": {"comment": "Comment body can not be empty!"}})),
        )
            .into_response();
    }
    let mut data = fake.data.lock().unwrap();
    data.next_id += 1;
    let comment = json!({"id": data.next_id.to_string(), "author": user("acct-1", "Ada Lovelace"), "body": body["body"],
        "created": "2026-11-22T08:00:00.000+0000", "updated": "2026-11-22T08:00:00.000+0000"});
    match data.comments.get_mut(&key) {
        Some(list) => {
            list.push(comment.clone());
            (StatusCode::CREATED, Json(comment)).into_response()
        }
        None => not_found("Issue"),
    }
}

/// The workflow every issue follows: (transition id, transition name, status it leads to).
const WORKFLOW: [(&str, &str, &str); 3] = [
    ("11", "To Do", "To Do"),
    ("21", "Start Progress", "In Progress"),
    ("31", "Done", "Done"),
];

/// Users the site knows, for assignment.
const ACCOUNTS: [(&str, &str); 3] = [
    ("acct-1", "Ada Lovelace"),
    ("acct-2", "Grace Hopper"),
    ("acct-3", "Barbara Liskov"),
];

fn find_issue<'a>(data: &'a mut Data, key: &str) -> Option<&'a mut Value> {
    data.issues
        .iter_mut()
        .find(|i| i["key"] == key || i["id"] == key)
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"errorMessages": [message], "errors": {}})),
    )
        .into_response()
}

/// `GET /rest/api/3/issue/{key}/transitions`: the transitions to every status but the current.
async fn transitions(
    State(fake): State<Fake>,
    Path(params): Path<HashMap<String, String>>,
) -> Response {
    let key = params.get("key").cloned().unwrap_or_default();
    let mut data = fake.data.lock().unwrap();
    let Some(issue) = find_issue(&mut data, &key) else {
        return not_found("Issue");
    };
    let current = issue["fields"]["status"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let available: Vec<Value> = WORKFLOW
        .iter()
        .filter(|(_, _, to)| *to != current)
        .map(|(id, name, to)| json!({"id": id, "name": name, "to": {"name": to}, "isAvailable": true}))
        .collect();
    Json(json!({"transitions": available})).into_response()
}

/// `POST /rest/api/3/issue/{key}/transitions`: 204, or 400 for a transition not available now.
async fn apply_transition(
    State(fake): State<Fake>,
    Path(params): Path<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let key = params.get("key").cloned().unwrap_or_default();
    let id = body["transition"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut data = fake.data.lock().unwrap();
    let Some(issue) = find_issue(&mut data, &key) else {
        return not_found("Issue");
    };
    let current = issue["fields"]["status"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match WORKFLOW
        .iter()
        .find(|(t, _, to)| *t == id && *to != current)
    {
        Some((_, _, to)) => {
            issue["fields"]["status"] = json!({"name": to});
            issue["fields"]["updated"] = json!("2026-11-22T09:30:00.000+0000");
            StatusCode::NO_CONTENT.into_response()
        }
        None => bad_request(&format!(
            "Transition id '{id}' is not valid for this issue."
        )),
    }
}

/// `PUT /rest/api/3/issue/{key}/assignee`: `{"accountId": id | null}`; 204.
async fn assign(
    State(fake): State<Fake>,
    Path(params): Path<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let key = params.get("key").cloned().unwrap_or_default();
    let assignee = match &body["accountId"] {
        Value::Null => Value::Null,
        Value::String(id) => match ACCOUNTS.iter().find(|(a, _)| a == id) {
            Some((id, name)) => user(id, name),
            None => return not_found("User"),
        },
        _ => return bad_request("accountId must be a string or null."),
    };
    let mut data = fake.data.lock().unwrap();
    let Some(issue) = find_issue(&mut data, &key) else {
        return not_found("Issue");
    };
    issue["fields"]["assignee"] = assignee;
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /rest/api/3/issue/{key}?deleteSubtasks=`: 204; the issue and its comments are gone.
async fn delete_issue(
    State(fake): State<Fake>,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let key = params.get("key").cloned().unwrap_or_default();
    if query
        .get("deleteSubtasks")
        .is_some_and(|v| v != "true" && v != "false")
    {
        return bad_request("deleteSubtasks must be true or false.");
    }
    let mut data = fake.data.lock().unwrap();
    let Some(at) = data
        .issues
        .iter()
        .position(|i| i["key"] == key.as_str() || i["id"] == key.as_str())
    else {
        return not_found("Issue");
    };
    let removed = data.issues.remove(at);
    if let Some(removed_key) = removed["key"].as_str() {
        data.comments.remove(removed_key);
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /rest/api/3/webhook`: each entry of `webhooks` registered (Jira caps an app at 5 per
/// user and wants a JQL filter), answered with `webhookRegistrationResult`.
async fn register_webhooks(State(fake): State<Fake>, Json(body): Json<Value>) -> Response {
    let Some(url) = body["url"].as_str() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errorMessages": ["url is required"]})),
        )
            .into_response();
    };
    let Some(entries) = body["webhooks"].as_array() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errorMessages": ["webhooks is required"]})),
        )
            .into_response();
    };
    let mut data = fake.data.lock().unwrap();
    let mut results = Vec::new();
    for entry in entries {
        let jql = entry["jqlFilter"].as_str().unwrap_or_default();
        let events = entry["events"].as_array().cloned().unwrap_or_default();
        if jql.is_empty() || events.is_empty() {
            results.push(json!({"errors": ["jqlFilter and events are required"]}));
            continue;
        }
        if data.webhooks.len() >= 5 {
            results.push(
                json!({"errors": ["Maximum number of webhooks for this app has been reached"]}),
            );
            continue;
        }
        data.next_id += 1;
        let id = 1000 + data.next_id;
        data.webhooks.push(
            json!({"id": id, "url": url, "events": events, "jqlFilter": jql,
            "expirationDate": "2027-01-02T09:00:00.000+0000"}),
        );
        results.push(json!({"createdWebhookId": id}));
    }
    Json(json!({"webhookRegistrationResult": results})).into_response()
}

/// `GET /rest/api/3/webhook`: the app's webhooks, paged.
async fn list_webhooks(State(fake): State<Fake>) -> Json<Value> {
    let data = fake.data.lock().unwrap();
    Json(
        json!({"startAt": 0, "maxResults": 100, "total": data.webhooks.len(), "isLast": true,
        "values": data.webhooks}),
    )
}

/// `DELETE /rest/api/3/webhook` with `{"webhookIds": [...]}`: 202.
async fn delete_webhooks(State(fake): State<Fake>, Json(body): Json<Value>) -> Response {
    let Some(ids) = body["webhookIds"].as_array() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errorMessages": ["webhookIds is required"]})),
        )
            .into_response();
    };
    let mut data = fake.data.lock().unwrap();
    data.webhooks.retain(|w| !ids.contains(&w["id"]));
    StatusCode::ACCEPTED.into_response()
}
