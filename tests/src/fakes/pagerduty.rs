//! A behavioural PagerDuty (REST API v2): OAuth tokens as `Authorization: Bearer` (or API keys
//! as `Token token=`), a wrong one answered as PagerDuty does (401 `{"error": {"message":
//! "Authentication required", "code": 2006}}`), services and incidents paged by
//! `offset`/`limit` with `more`, incidents filtered by `service_ids[]` and by creation time
//! (`since`, unless `date_range=all`), notes, writes that need a `From` header and a typed body,
//! and 429 with PagerDuty's `ratelimit-reset` header on demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{FakeServer, Recorder, bearer_token};

pub const PAGERDUTY_TOKEN: &str = "pdus+_0XBPWCfake0auth0token";
pub const USER_ID: &str = "PXPGF42";
pub const FROM: &str = "ada@acme.example";
/// Services with how many incidents each has.
pub const SERVICES: [(&str, &str, usize); 3] = [
    ("PSVC001", "Checkout API", 5),
    ("PSVC002", "Search", 1),
    ("PSVC003", "Batch jobs", 0),
];

pub fn incident_id(service: usize, n: usize) -> String {
    format!("Q{service}INC{n:03}")
}

fn at(hours: usize) -> String {
    super::hours_after_seed(hours, false)
}

fn user() -> Value {
    json!({"id": USER_ID, "type": "user", "name": "Ada Lovelace", "email": FROM,
        "summary": "Ada Lovelace", "html_url": format!("https://acme.pagerduty.com/users/{USER_ID}")})
}

fn incident(service: usize, n: usize, number: usize, title: &str) -> Value {
    let id = incident_id(service, n);
    let (service_id, name, _) = SERVICES[service];
    json!({"id": id, "type": "incident", "incident_number": number, "title": title,
        "description": title, "status": "triggered", "urgency": "high",
        "created_at": at(n), "updated_at": at(10 * n),
        "service": {"id": service_id, "type": "service_reference", "summary": name},
        "priority": null, "html_url": format!("https://acme.pagerduty.com/incidents/{id}")})
}

#[derive(Default)]
struct Data {
    incidents: Vec<Value>,
    notes: HashMap<String, Vec<Value>>,
    next: usize,
    throttle: u32,
}

type Shared = Arc<Mutex<Data>>;

/// A running PagerDuty fake.
pub struct PagerDutyFake {
    pub server: FakeServer,
    pub recorder: Recorder,
    data: Shared,
}

fn seed() -> Data {
    let mut data = Data {
        next: 100,
        ..Data::default()
    };
    let mut number = 0;
    for (s, (_, name, count)) in SERVICES.iter().enumerate() {
        for n in 1..=*count {
            number += 1;
            data.incidents
                .push(incident(s, n, number, &format!("{name} incident {n}")));
        }
    }
    let first = incident_id(0, 1);
    let notes = (1..=2)
        .map(|n| json!({"id": format!("PNOTE{n:02}"), "content": format!("Note {n}"),
            "created_at": at(30 + n), "user": {"id": USER_ID, "type": "user_reference", "summary": "Ada Lovelace"}}))
        .collect();
    data.notes.insert(first, notes);
    data
}

fn error(status: StatusCode, message: &str, code: u32) -> Response {
    (
        status,
        Json(json!({"error": {"message": message, "code": code}})),
    )
        .into_response()
}

impl PagerDutyFake {
    pub async fn start() -> Self {
        let recorder = Recorder::default();
        let data = Arc::new(Mutex::new(seed()));
        let router = Router::new()
            .route("/users/me", get(me))
            .route("/services", get(services))
            .route("/incidents", get(incidents).post(create_incident))
            .route("/incidents/{id}", get(get_incident).put(update_incident))
            .route("/incidents/{id}/notes", get(notes).post(create_note))
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

    /// The next `count` requests get HTTP 429 with `ratelimit-reset: 5`.
    pub fn throttle_next(&self, count: u32) {
        self.data.lock().unwrap().throttle = count;
    }

    /// An incident as the fake holds it.
    pub fn incident(&self, id: &str) -> Option<Value> {
        self.data
            .lock()
            .unwrap()
            .incidents
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
    }
}

async fn gate(State(data): State<Shared>, request: Request, next: Next) -> Response {
    {
        let mut data = data.lock().unwrap();
        if data.throttle > 0 {
            data.throttle -= 1;
            let mut limited = error(StatusCode::TOO_MANY_REQUESTS, "Rate Limit Exceeded", 2020);
            let headers = limited.headers_mut();
            headers.insert("ratelimit-limit", "960".parse().unwrap());
            headers.insert("ratelimit-remaining", "0".parse().unwrap());
            headers.insert("ratelimit-reset", "5".parse().unwrap());
            return limited;
        }
    }
    let api_key = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Token token="))
        .map(str::to_owned);
    let token = bearer_token(request.headers()).or(api_key);
    if token.as_deref() != Some(PAGERDUTY_TOKEN) {
        return error(StatusCode::UNAUTHORIZED, "Authentication required", 2006);
    }
    next.run(request).await
}

/// The query, with PagerDuty's `name[]` parameters gathered into lists.
fn query_of(request_query: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(request_query.unwrap_or_default().as_bytes()) {
        query
            .entry(name.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    query
}

/// Classic pagination: `offset` and `limit` (at most 100) in, `limit`, `offset`, `more` out.
fn paged(key: &str, records: Vec<Value>, query: &HashMap<String, Vec<String>>) -> Response {
    let number = |name: &str, default: usize| {
        query
            .get(name)
            .and_then(|v| v.first())
            .map_or(Ok(default), |v| v.parse::<usize>())
    };
    let (Ok(offset), Ok(limit)) = (number("offset", 0), number("limit", 25)) else {
        return error(StatusCode::BAD_REQUEST, "Invalid Input Provided", 2001);
    };
    let limit = limit.clamp(1, 100);
    let page: Vec<Value> = records.iter().skip(offset).take(limit).cloned().collect();
    let more = offset + page.len() < records.len();
    Json(json!({key: page, "limit": limit, "offset": offset, "more": more, "total": null}))
        .into_response()
}

async fn me() -> Response {
    Json(json!({"user": user()})).into_response()
}

async fn services(request: Request) -> Response {
    let query = query_of(request.uri().query());
    let records = SERVICES
        .iter()
        .map(|(id, name, _)| json!({"id": id, "type": "service", "name": name, "description": format!("The {name} service"),
            "status": "active", "html_url": format!("https://acme.pagerduty.com/service-directory/{id}")}))
        .collect();
    paged("services", records, &query)
}

async fn incidents(State(data): State<Shared>, request: Request) -> Response {
    let query = query_of(request.uri().query());
    let services = query.get("service_ids[]").cloned().unwrap_or_default();
    let all = query
        .get("date_range")
        .is_some_and(|v| v.iter().any(|v| v == "all"));
    // Without `date_range=all`, PagerDuty lists the incidents created in the last 30 days (here:
    // since `since`, or none of the seeded ones, which are older).
    let since = query.get("since").and_then(|v| v.first()).cloned();
    let data = data.lock().unwrap();
    let records = data
        .incidents
        .iter()
        .filter(|i| services.is_empty() || services.iter().any(|s| i["service"]["id"] == *s))
        .filter(|i| {
            all || since
                .as_deref()
                .is_some_and(|since| i["created_at"].as_str().unwrap_or_default() >= since)
        })
        .cloned()
        .collect();
    paged("incidents", records, &query)
}

async fn get_incident(State(data): State<Shared>, Path(id): Path<String>) -> Response {
    match data
        .lock()
        .unwrap()
        .incidents
        .iter()
        .find(|i| i["id"] == id)
    {
        Some(incident) => Json(json!({"incident": incident})).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found", 2100),
    }
}

async fn notes(State(data): State<Shared>, Path(id): Path<String>) -> Response {
    let data = data.lock().unwrap();
    if !data.incidents.iter().any(|i| i["id"] == id) {
        return error(StatusCode::NOT_FOUND, "Not Found", 2100);
    }
    Json(json!({"notes": data.notes.get(&id).cloned().unwrap_or_default()})).into_response()
}

/// PagerDuty's refusal of a write without a known user's `From` header.
fn refused_without_from(headers: &HeaderMap) -> Option<Response> {
    match headers.get("from").and_then(|v| v.to_str().ok()) {
        Some(FROM) => None,
        Some(_) => Some(error(
            StatusCode::BAD_REQUEST,
            "Requester User Not Found",
            2100,
        )),
        None => Some(error(
            StatusCode::BAD_REQUEST,
            "You must specify a user's email address in the \"From\" header to perform this action",
            2001,
        )),
    }
}

async fn create_incident(
    State(data): State<Shared>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    if let Some(refused) = refused_without_from(&headers) {
        return refused;
    }
    let Some(Json(body)) = body else {
        return error(StatusCode::BAD_REQUEST, "Invalid Input Provided", 2001);
    };
    let input = &body["incident"];
    let service = SERVICES
        .iter()
        .position(|(id, ..)| input["service"]["id"] == *id);
    let (Some(service), Some(title), "incident") = (
        service,
        input["title"].as_str(),
        input["type"].as_str().unwrap_or_default(),
    ) else {
        return error(StatusCode::BAD_REQUEST, "Invalid Input Provided", 2001);
    };
    let mut data = data.lock().unwrap();
    data.next += 1;
    let number = data.next;
    let mut created = incident(service, number, number, title);
    created["created_at"] = json!(at(500));
    created["updated_at"] = json!(at(500));
    data.incidents.push(created.clone());
    (StatusCode::CREATED, Json(json!({"incident": created}))).into_response()
}

async fn update_incident(
    State(data): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    if let Some(refused) = refused_without_from(&headers) {
        return refused;
    }
    let Some(Json(body)) = body else {
        return error(StatusCode::BAD_REQUEST, "Invalid Input Provided", 2001);
    };
    let mut data = data.lock().unwrap();
    let Some(incident) = data.incidents.iter_mut().find(|i| i["id"] == id) else {
        return error(StatusCode::NOT_FOUND, "Not Found", 2100);
    };
    let input = &body["incident"];
    if let Some(status) = input["status"].as_str() {
        if !["acknowledged", "resolved", "triggered"].contains(&status) {
            return error(StatusCode::BAD_REQUEST, "Invalid Input Provided", 2001);
        }
        incident["status"] = json!(status);
    }
    if let Some(title) = input["title"].as_str() {
        incident["title"] = json!(title);
    }
    incident["updated_at"] = json!(at(600));
    Json(json!({"incident": incident})).into_response()
}

async fn create_note(
    State(data): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    if let Some(refused) = refused_without_from(&headers) {
        return refused;
    }
    let Some(content) = body
        .as_ref()
        .and_then(|Json(b)| b["note"]["content"].as_str())
        .map(str::to_owned)
    else {
        return error(StatusCode::BAD_REQUEST, "Invalid Input Provided", 2001);
    };
    let mut data = data.lock().unwrap();
    if !data.incidents.iter().any(|i| i["id"] == id) {
        return error(StatusCode::NOT_FOUND, "Not Found", 2100);
    }
    data.next += 1;
    let note = json!({"id": format!("PNOTE{}", data.next), "content": content, "created_at": at(700),
        "user": {"id": USER_ID, "type": "user_reference", "summary": "Ada Lovelace"}});
    data.notes.entry(id).or_default().push(note.clone());
    (StatusCode::CREATED, Json(json!({"note": note}))).into_response()
}
