//! A behavioural Datadog (API v1 and v2): the API key in `DD-API-KEY` and the application key in
//! `DD-APPLICATION-KEY` (`/api/v1/validate` needs only the first; a wrong or revoked key is a
//! bare 403 `{"errors": ["Forbidden"]}`, as Datadog answers), monitors paged by `id_offset`
//! and searched, incidents paged by `page[offset]` with their todos, dashboards paged by
//! `start`/`count`, events posted (v1) and searched (v2, cursor in `meta.page.after`),
//! downtimes that mute a monitor, strict request bodies, and HTTP 429 with Datadog's
//! `X-RateLimit-*` headers on demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{FakeServer, Recorder};

pub const API_KEY: &str = "0123456789abcdef0123456789abcdef";
pub const APP_KEY: &str = "0123456789abcdef0123456789abcdef01234567";
/// The application key's owner.
pub const USER_ID: &str = "3ad549bf-eba0-11e9-a77a-0705486660d0";
pub const MONITORS: u64 = 7;
pub const INCIDENTS: u64 = 5;
pub const DASHBOARDS: u64 = 5;
pub const EVENTS: u64 = 6;
/// Todos on the first incident.
pub const TODOS: u64 = 3;
/// 2026-11-01T09:00:00Z; entry `n` of each kind was last modified `n` hours later.
pub const BASE_TIME: i64 = 1_793_523_600;

pub fn monitor_id(n: u64) -> u64 {
    1000 + n
}

pub fn incident_id(n: u64) -> String {
    format!("00000000-0000-0000-4567-{n:012}")
}

pub fn dashboard_id(n: u64) -> String {
    format!("ab{n}-cde-fgh")
}

pub fn event_id(n: u64) -> u64 {
    7_000_000_000_000_000_000 + n
}

fn rfc3339(unix: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

fn at(n: u64) -> i64 {
    BASE_TIME + n as i64 * 3600
}

#[derive(Default)]
struct Data {
    api_keys: Vec<String>,
    app_keys: Vec<String>,
    monitors: Vec<Value>,
    incidents: Vec<Value>,
    todos: HashMap<String, Vec<Value>>,
    dashboards: Vec<Value>,
    events: Vec<Value>,
    /// Downtime id, monitor id, active.
    downtimes: Vec<(String, u64, bool)>,
    next: u64,
    throttle: u32,
}

type Shared = Arc<Mutex<Data>>;

/// A running Datadog fake.
pub struct DatadogFake {
    pub server: FakeServer,
    pub recorder: Recorder,
    data: Shared,
}

fn monitor(n: u64) -> Value {
    let name = if n == 3 {
        "Checkout latency high".to_owned()
    } else {
        format!("Monitor {n}")
    };
    json!({"id": monitor_id(n), "name": name, "type": "metric alert",
        "query": format!("avg(last_5m):avg:system.load.1{{host:web-{n}}} > 4"),
        "message": format!("Load is high on web-{n}. @pagerduty"),
        "overall_state": if n.is_multiple_of(3) { "Alert" } else { "OK" }, "priority": 2,
        "tags": ["team:sre", format!("service:web-{n}")], "options": {},
        "created": rfc3339(BASE_TIME), "modified": rfc3339(at(n)),
        "creator": {"email": "ada@acme.example", "handle": "ada@acme.example", "name": "Ada Lovelace"}})
}

fn incident(n: u64, title: &str, impacted: bool, modified: i64) -> Value {
    json!({"id": incident_id(n), "type": "incidents", "attributes": {
        "title": title, "public_id": n, "customer_impacted": impacted, "severity": "SEV-2",
        "state": "active", "created": rfc3339(BASE_TIME), "modified": rfc3339(modified),
        "resolved": null, "fields": {"state": {"type": "dropdown", "value": "active"}}}})
}

fn event(n: u64, title: &str, text: &str, tags: Vec<String>, happened: i64) -> Value {
    json!({"id": event_id(n), "id_str": event_id(n).to_string(), "title": title, "text": text,
        "date_happened": happened, "tags": tags, "url": format!("/event/event?id={}", event_id(n)),
        "alert_type": "info", "priority": "normal"})
}

fn seed() -> Data {
    let mut data = Data {
        api_keys: vec![API_KEY.into()],
        app_keys: vec![APP_KEY.into()],
        next: 100,
        ..Data::default()
    };
    data.monitors = (1..=MONITORS).map(monitor).collect();
    data.incidents = (1..=INCIDENTS)
        .map(|n| incident(n, &format!("Incident {n}"), n == 1, at(n)))
        .collect();
    let todos = (1..=TODOS)
        .map(|n| {
            json!({"id": format!("00000000-0000-0000-0000-0000000000{n:02}"), "type": "incident_todos",
                "attributes": {"content": format!("Todo {n}"), "assignees": [],
                    "completed": if n == 1 { json!(rfc3339(at(2))) } else { Value::Null },
                    "created": rfc3339(BASE_TIME + n as i64 * 60), "modified": rfc3339(BASE_TIME + n as i64 * 60),
                    "incident_id": incident_id(1)}})
        })
        .collect();
    data.todos.insert(incident_id(1), todos);
    data.dashboards = (1..=DASHBOARDS)
        .map(|n| {
            json!({"id": dashboard_id(n), "title": format!("Dashboard {n}"), "description": "Service health",
                "layout_type": "ordered", "url": format!("/dashboard/{}/dashboard-{n}", dashboard_id(n)),
                "author_handle": "ada@acme.example", "is_read_only": false,
                "created_at": rfc3339(BASE_TIME), "modified_at": rfc3339(at(n))})
        })
        .collect();
    data.events = (1..=EVENTS)
        .map(|n| {
            event(
                n,
                &format!("Deploy {n}"),
                "shipped",
                vec!["env:prod".into()],
                at(n),
            )
        })
        .collect();
    data
}

fn errors(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"errors": [message]}))).into_response()
}

fn invalid(message: &str) -> Response {
    errors(StatusCode::BAD_REQUEST, message)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl DatadogFake {
    pub async fn start() -> Self {
        let recorder = Recorder::default();
        let data = Arc::new(Mutex::new(seed()));
        let router = Router::new()
            .route("/api/v1/validate", get(validate))
            .route(
                "/api/v2/current_user/application_keys",
                get(application_keys),
            )
            .route("/api/v1/monitor", get(list_monitors))
            .route("/api/v1/monitor/search", get(search_monitors))
            .route("/api/v1/monitor/{id}", get(read_monitor))
            .route(
                "/api/v2/incidents",
                get(list_incidents).post(create_incident),
            )
            .route(
                "/api/v2/incidents/{id}",
                get(read_incident).patch(update_incident),
            )
            .route(
                "/api/v2/incidents/{id}/relationships/todos",
                get(list_todos).post(create_todo),
            )
            .route("/api/v1/dashboard", get(list_dashboards))
            .route("/api/v1/dashboard/{id}", get(read_dashboard))
            .route("/api/v1/events", post(create_event))
            .route("/api/v1/events/{id}", get(read_event))
            .route("/api/v2/events/search", post(search_events))
            .route("/api/v2/downtime", post(create_downtime))
            .route(
                "/api/v2/downtime/{id}",
                axum::routing::delete(cancel_downtime),
            )
            .route(
                "/api/v2/monitor/{id}/downtime_matches",
                get(downtime_matches),
            )
            .layer(axum::middleware::from_fn_with_state(data.clone(), gate))
            .with_state(data.clone());
        Self {
            server: FakeServer::start(recorder.layer(router)).await,
            recorder,
            data,
        }
    }

    pub fn api_url(&self) -> String {
        self.server.origin()
    }

    /// Both keys stop working.
    pub fn revoke_keys(&self) {
        let mut data = self.data.lock().unwrap();
        data.api_keys.clear();
        data.app_keys.clear();
    }

    /// The next `count` requests get HTTP 429 with `X-RateLimit-Reset: 12`.
    pub fn throttle_next(&self, count: u32) {
        self.data.lock().unwrap().throttle = count;
    }

    /// Monitor `id`'s downtimes that are in force.
    pub fn active_downtimes(&self, id: u64) -> usize {
        let data = self.data.lock().unwrap();
        data.downtimes
            .iter()
            .filter(|(_, m, active)| *m == id && *active)
            .count()
    }
}

/// Throttling and the two keys before any route.
async fn gate(State(data): State<Shared>, request: Request, next: Next) -> Response {
    {
        let mut data = data.lock().unwrap();
        if data.throttle > 0 {
            data.throttle -= 1;
            let mut limited = errors(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
            for (name, value) in [
                ("x-ratelimit-limit", "100"),
                ("x-ratelimit-period", "60"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "12"),
                ("x-ratelimit-name", "monitors"),
            ] {
                limited.headers_mut().insert(name, value.parse().unwrap());
            }
            return limited;
        }
        let headers = request.headers();
        let api =
            header(headers, "dd-api-key").is_some_and(|k| data.api_keys.iter().any(|a| a == k));
        let app = header(headers, "dd-application-key")
            .is_some_and(|k| data.app_keys.iter().any(|a| a == k));
        let needs_app = request.uri().path() != "/api/v1/validate";
        let in_query = request
            .uri()
            .query()
            .is_some_and(|q| q.contains("api_key") || q.contains("application_key"));
        if !api || (needs_app && !app) || in_query {
            return errors(StatusCode::FORBIDDEN, "Forbidden");
        }
    }
    next.run(request).await
}

async fn validate() -> Json<Value> {
    Json(json!({"valid": true}))
}

async fn application_keys(Query(query): Query<HashMap<String, String>>) -> Json<Value> {
    let mut answer = json!({"data": [{"id": "a1b2c3", "type": "application_keys",
        "attributes": {"name": "connector", "last4": "4567", "created_at": rfc3339(BASE_TIME)},
        "relationships": {"owned_by": {"data": {"id": USER_ID, "type": "users"}}}}],
        "meta": {"page": {"total_filtered_count": 1}}});
    if query.get("include").is_some_and(|i| i == "owned_by") {
        answer["included"] = json!([{"id": USER_ID, "type": "users", "attributes": {
            "name": "Ada Lovelace", "handle": "ada@acme.example", "email": "ada@acme.example"}}]);
    }
    Json(answer)
}

/// An integer query parameter; the error is Datadog's message.
fn number(query: &HashMap<String, String>, name: &str, default: u64) -> Result<u64, String> {
    match query.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("Invalid parameter {name}: not an integer")),
    }
}

async fn list_monitors(
    State(data): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (after, size) = match (
        number(&query, "id_offset", 0),
        number(&query, "page_size", 100),
    ) {
        (Ok(a), Ok(s)) if (1..=1000).contains(&s) => (a, s as usize),
        (Err(e), _) | (_, Err(e)) => return invalid(&e),
        _ => return invalid("page_size must be between 1 and 1000"),
    };
    let data = data.lock().unwrap();
    let page: Vec<Value> = data
        .monitors
        .iter()
        .filter(|m| m["id"].as_u64().is_some_and(|id| id > after))
        .take(size)
        .cloned()
        .collect();
    Json(page).into_response()
}

async fn search_monitors(
    State(data): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (page, per_page) = match (number(&query, "page", 0), number(&query, "per_page", 30)) {
        (Ok(p), Ok(s)) if s >= 1 => (p as usize, s as usize),
        (Err(e), _) | (_, Err(e)) => return invalid(&e),
        _ => return invalid("per_page must be at least 1"),
    };
    let text = query
        .get("query")
        .map(|q| q.to_lowercase())
        .unwrap_or_default();
    let data = data.lock().unwrap();
    let hits: Vec<Value> = data
        .monitors
        .iter()
        .filter(|m| {
            text.split_whitespace()
                .all(|term| match term.strip_prefix("status:") {
                    Some(status) => m["overall_state"]
                        .as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(status)),
                    None => m["name"]
                        .as_str()
                        .is_some_and(|n| n.to_lowercase().contains(term)),
                })
        })
        .map(|m| {
            json!({"id": m["id"], "name": m["name"], "status": m["overall_state"],
            "type": m["type"], "query": m["query"], "tags": m["tags"]})
        })
        .collect();
    let page_count = hits.len().div_ceil(per_page);
    let slice: Vec<Value> = hits
        .iter()
        .skip(page * per_page)
        .take(per_page)
        .cloned()
        .collect();
    Json(json!({"monitors": slice, "counts": {},
        "metadata": {"page": page, "page_count": page_count, "per_page": per_page, "total_count": hits.len()}}))
    .into_response()
}

async fn read_monitor(State(data): State<Shared>, Path(id): Path<String>) -> Response {
    let data = data.lock().unwrap();
    match data
        .monitors
        .iter()
        .find(|m| m["id"].as_u64().is_some() && m["id"].as_u64() == id.parse().ok())
    {
        Some(m) => Json(m.clone()).into_response(),
        None => errors(StatusCode::NOT_FOUND, "Monitor not found"),
    }
}

async fn list_incidents(
    State(data): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (offset, size) = match (
        number(&query, "page[offset]", 0),
        number(&query, "page[size]", 10),
    ) {
        (Ok(o), Ok(s)) if (1..=100).contains(&s) => (o as usize, s as usize),
        (Err(e), _) | (_, Err(e)) => return invalid(&e),
        _ => return invalid("page[size] must be between 1 and 100"),
    };
    let data = data.lock().unwrap();
    let page: Vec<Value> = data
        .incidents
        .iter()
        .skip(offset)
        .take(size)
        .cloned()
        .collect();
    Json(json!({"data": page, "included": [],
        "meta": {"pagination": {"offset": offset, "next_offset": offset + size, "size": size}}}))
    .into_response()
}

fn find_incident<'a>(data: &'a mut Data, id: &str) -> Option<&'a mut Value> {
    data.incidents.iter_mut().find(|i| i["id"] == id)
}

async fn read_incident(State(data): State<Shared>, Path(id): Path<String>) -> Response {
    let mut data = data.lock().unwrap();
    match find_incident(&mut data, &id) {
        Some(i) => Json(json!({"data": i.clone()})).into_response(),
        None => errors(StatusCode::NOT_FOUND, "Incident not found"),
    }
}

/// `{"data": {"type": kind, "attributes": {...}}}` with the attributes' keys among `allowed`;
/// the error is Datadog's message.
fn data_attributes<'a>(
    body: &'a Value,
    kind: &str,
    allowed: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, String> {
    if body["data"]["type"] != kind {
        return Err(format!("data.type must be {kind}"));
    }
    let attributes = body["data"]["attributes"]
        .as_object()
        .ok_or_else(|| "data.attributes is required".to_owned())?;
    match attributes.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(format!("unknown attribute {unknown}")),
        None => Ok(attributes),
    }
}

async fn create_incident(State(data): State<Shared>, Json(body): Json<Value>) -> Response {
    let attributes = match data_attributes(
        &body,
        "incidents",
        &["title", "customer_impacted", "fields", "is_test"],
    ) {
        Ok(a) => a,
        Err(e) => return invalid(&e),
    };
    let (Some(title), Some(impacted)) = (
        attributes.get("title").and_then(Value::as_str),
        attributes.get("customer_impacted").and_then(Value::as_bool),
    ) else {
        return invalid("title and customer_impacted are required");
    };
    let mut data = data.lock().unwrap();
    let n = data.incidents.len() as u64 + 1;
    let created = incident(n, title, impacted, at(100));
    data.incidents.push(created.clone());
    (StatusCode::CREATED, Json(json!({"data": created}))).into_response()
}

async fn update_incident(
    State(data): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let attributes = match data_attributes(
        &body,
        "incidents",
        &["title", "fields", "customer_impacted"],
    ) {
        Ok(a) => a.clone(),
        Err(e) => return invalid(&e),
    };
    if body["data"]["id"] != id.as_str() {
        return invalid("data.id must match the path");
    }
    let mut data = data.lock().unwrap();
    let Some(incident) = find_incident(&mut data, &id) else {
        return errors(StatusCode::NOT_FOUND, "Incident not found");
    };
    if let Some(state) = attributes
        .get("fields")
        .and_then(|f| f["state"]["value"].as_str())
    {
        incident["attributes"]["fields"]["state"]["value"] = json!(state);
        incident["attributes"]["state"] = json!(state);
        if state == "resolved" {
            incident["attributes"]["resolved"] = json!(rfc3339(at(200)));
        }
    }
    Json(json!({"data": incident.clone()})).into_response()
}

async fn list_todos(State(data): State<Shared>, Path(id): Path<String>) -> Response {
    let mut data = data.lock().unwrap();
    if find_incident(&mut data, &id).is_none() {
        return errors(StatusCode::NOT_FOUND, "Incident not found");
    }
    let mut todos = data.todos.get(&id).cloned().unwrap_or_default();
    // Not in creation order: the connector sorts.
    todos.reverse();
    Json(json!({"data": todos, "included": []})).into_response()
}

async fn create_todo(
    State(data): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let attributes = match data_attributes(
        &body,
        "incident_todos",
        &["content", "assignees", "due_date"],
    ) {
        Ok(a) => a.clone(),
        Err(e) => return invalid(&e),
    };
    let (Some(content), Some(_)) = (
        attributes.get("content").and_then(Value::as_str),
        attributes.get("assignees").and_then(Value::as_array),
    ) else {
        return invalid("content and assignees are required");
    };
    let mut data = data.lock().unwrap();
    if find_incident(&mut data, &id).is_none() {
        return errors(StatusCode::NOT_FOUND, "Incident not found");
    }
    data.next += 1;
    let todo = json!({"id": format!("00000000-0000-0000-0000-000000000{:03}", data.next),
        "type": "incident_todos", "attributes": {"content": content, "assignees": [],
        "completed": null, "created": rfc3339(at(100) + data.next as i64), "modified": rfc3339(at(100)),
        "incident_id": id}});
    data.todos.entry(id).or_default().push(todo.clone());
    (StatusCode::CREATED, Json(json!({"data": todo}))).into_response()
}

async fn list_dashboards(
    State(data): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (start, count) = match (number(&query, "start", 0), number(&query, "count", 100)) {
        (Ok(s), Ok(c)) => (s as usize, c as usize),
        (Err(e), _) | (_, Err(e)) => return invalid(&e),
    };
    let data = data.lock().unwrap();
    let page: Vec<Value> = data
        .dashboards
        .iter()
        .skip(start)
        .take(count)
        .cloned()
        .collect();
    Json(json!({"dashboards": page})).into_response()
}

async fn read_dashboard(State(data): State<Shared>, Path(id): Path<String>) -> Response {
    let data = data.lock().unwrap();
    match data.dashboards.iter().find(|d| d["id"] == id.as_str()) {
        Some(d) => {
            let mut full = d.clone();
            full["widgets"] = json!([
                {"id": 1, "definition": {"type": "timeseries", "title": "Requests per second"}},
                {"id": 2, "definition": {"type": "query_value", "title": "Error rate"}},
                {"id": 3, "definition": {"type": "note", "content": "Runbook"}}
            ]);
            Json(full).into_response()
        }
        None => errors(StatusCode::NOT_FOUND, "Dashboard not found"),
    }
}

async fn create_event(State(data): State<Shared>, Json(body): Json<Value>) -> Response {
    let Some(object) = body.as_object() else {
        return invalid("body must be an object");
    };
    const KNOWN: [&str; 6] = [
        "title",
        "text",
        "tags",
        "alert_type",
        "priority",
        "date_happened",
    ];
    if let Some(unknown) = object.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return invalid(&format!("unknown field {unknown}"));
    }
    let (Some(title), Some(text)) = (body["title"].as_str(), body["text"].as_str()) else {
        return invalid("title and text are required");
    };
    let tags: Vec<String> = body["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut data = data.lock().unwrap();
    data.next += 1;
    let n = data.next;
    let mut created = event(n, title, text, tags, at(100) + n as i64);
    if let Some(alert) = body["alert_type"].as_str() {
        created["alert_type"] = json!(alert);
    }
    data.events.push(created.clone());
    (
        StatusCode::ACCEPTED,
        Json(json!({"status": "ok", "event": created})),
    )
        .into_response()
}

async fn read_event(State(data): State<Shared>, Path(id): Path<String>) -> Response {
    let data = data.lock().unwrap();
    match data
        .events
        .iter()
        .find(|e| e["id"].as_u64().is_some() && e["id"].as_u64() == id.parse().ok())
    {
        Some(e) => Json(json!({"event": e})).into_response(),
        None => errors(StatusCode::NOT_FOUND, "Event not found"),
    }
}

async fn search_events(State(data): State<Shared>, Json(body): Json<Value>) -> Response {
    let limit = body["page"]["limit"].as_u64().unwrap_or(10) as usize;
    let start: usize = match body["page"]["cursor"].as_str() {
        None => 0,
        Some(c) => match c.strip_prefix("cur-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => return invalid("invalid cursor"),
        },
    };
    let from = body["filter"]["from"]
        .as_str()
        .and_then(|f| humantime::parse_rfc3339_weak(f.trim_end_matches('Z')).ok())
        .map(|t| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64);
    let text = body["filter"]["query"]
        .as_str()
        .unwrap_or("*")
        .to_lowercase();
    let data = data.lock().unwrap();
    let mut hits: Vec<&Value> = data
        .events
        .iter()
        .filter(|e| from.is_none_or(|from| e["date_happened"].as_i64().is_some_and(|t| t >= from)))
        .filter(|e| {
            text == "*"
                || text.is_empty()
                || e["title"]
                    .as_str()
                    .is_some_and(|t| t.to_lowercase().contains(&text))
        })
        .collect();
    if body["sort"] == "-timestamp" {
        hits.reverse();
    }
    let page: Vec<Value> = hits
        .iter()
        .skip(start)
        .take(limit)
        .map(|e| json!({"id": format!("AZ{}", e["id"]), "type": "event", "attributes": {
            "message": e["text"], "tags": e["tags"], "timestamp": rfc3339(e["date_happened"].as_i64().unwrap_or(0)),
            "attributes": {"title": e["title"], "evt": {"id": e["id"].to_string(), "source_id": 1}}}}))
        .collect();
    let mut meta = json!({"status": "done", "request_id": "r-1"});
    if start + page.len() < hits.len() {
        meta["page"] = json!({"after": format!("cur-{}", start + page.len())});
    }
    Json(json!({"data": page, "meta": meta})).into_response()
}

async fn create_downtime(State(data): State<Shared>, Json(body): Json<Value>) -> Response {
    let attributes = match data_attributes(
        &body,
        "downtime",
        &["scope", "monitor_identifier", "schedule", "message"],
    ) {
        Ok(a) => a.clone(),
        Err(e) => return invalid(&e),
    };
    let (Some(_), Some(monitor)) = (
        attributes.get("scope").and_then(Value::as_str),
        attributes
            .get("monitor_identifier")
            .and_then(|m| m["monitor_id"].as_u64()),
    ) else {
        return invalid("scope and monitor_identifier are required");
    };
    let mut data = data.lock().unwrap();
    if !data.monitors.iter().any(|m| m["id"] == monitor) {
        return errors(StatusCode::NOT_FOUND, "Monitor not found");
    }
    data.next += 1;
    let id = format!("00000000-0000-1234-0000-000000000{:03}", data.next);
    data.downtimes.push((id.clone(), monitor, true));
    (
        StatusCode::OK,
        Json(json!({"data": {"id": id, "type": "downtime",
        "attributes": {"status": "active", "scope": "*"}}})),
    )
        .into_response()
}

async fn cancel_downtime(State(data): State<Shared>, Path(id): Path<String>) -> Response {
    let mut data = data.lock().unwrap();
    match data.downtimes.iter_mut().find(|(d, ..)| *d == id) {
        Some(downtime) => {
            downtime.2 = false;
            StatusCode::NO_CONTENT.into_response()
        }
        None => errors(StatusCode::NOT_FOUND, "Downtime not found"),
    }
}

async fn downtime_matches(State(data): State<Shared>, Path(id): Path<String>) -> Response {
    let data = data.lock().unwrap();
    let matches: Vec<Value> = data
        .downtimes
        .iter()
        .filter(|(_, m, active)| m.to_string() == id && *active)
        .map(|(d, ..)| json!({"id": d, "type": "downtime_match", "attributes": {"scope": "*"}}))
        .collect();
    Json(json!({"data": matches, "meta": {"page": {"total_filtered_count": matches.len()}}}))
        .into_response()
}
