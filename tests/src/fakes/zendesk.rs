//! A behavioural Zendesk Support (API v2): an API token as HTTP Basic (`email/token:TOKEN`) or an
//! OAuth token as Bearer, a wrong one answered as Zendesk does (401 `{"error": "Couldn't
//! authenticate you"}`), groups, search over tickets (`type:ticket group:ID`, free text)
//! answering `results` with an absolute `next_page` URL (`/api/v2/search.json?page=N`), ticket
//! comments paged by cursor (`page[size]`, `page[after]` → `meta.has_more`,
//! `meta.after_cursor`), ticket writes whose answer carries the audit, and 429 with
//! `Retry-After` on demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{FakeServer, Recorder, bearer_token};

pub const AGENT_EMAIL: &str = "ada@acme.example";
pub const ZENDESK_TOKEN: &str = "zd-api-token-6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv";
pub const USER_ID: u64 = 3_600_000_001;
/// Groups with how many tickets each holds.
pub const GROUPS: [(u64, &str, usize); 3] = [
    (360_001, "Support", 5),
    (360_002, "Billing", 1),
    (360_003, "Escalations", 0),
];

pub fn ticket_id(group: usize, n: usize) -> u64 {
    (group as u64 + 1) * 1000 + n as u64
}

fn at(hours: usize) -> String {
    super::hours_after_seed(hours, false)
}

#[derive(Default)]
struct Data {
    tickets: Vec<Value>,
    comments: HashMap<u64, Vec<Value>>,
    next: u64,
    throttle: u32,
}

type Shared = Arc<Mutex<Data>>;

/// A running Zendesk fake.
pub struct ZendeskFake {
    pub server: FakeServer,
    pub recorder: Recorder,
    data: Shared,
}

fn ticket(group: usize, id: u64, subject: &str, hours: usize) -> Value {
    json!({"id": id, "url": format!("https://acme.zendesk.com/api/v2/tickets/{id}.json"),
        "subject": subject, "description": format!("Description of {subject}"), "status": "open",
        "priority": "normal", "type": "question", "tags": ["vip", "web"], "group_id": GROUPS[group].0,
        "requester_id": USER_ID, "created_at": at(hours), "updated_at": at(10 * hours)})
}

fn seed() -> Data {
    let mut data = Data {
        next: 9000,
        ..Data::default()
    };
    for (g, (_, name, count)) in GROUPS.iter().enumerate() {
        for n in 1..=*count {
            data.tickets
                .push(ticket(g, ticket_id(g, n), &format!("{name} ticket {n}"), n));
        }
    }
    let first = ticket_id(0, 1);
    let comments = (1..=3)
        .map(|n| {
            json!({"id": 7000 + n, "type": "Comment", "body": format!("Comment {n}"),
            "html_body": format!("<p>Comment {n}</p>"), "public": true, "author_id": USER_ID,
            "created_at": at(40 + n)})
        })
        .collect();
    data.comments.insert(first, comments);
    data
}

fn error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "description": description})),
    )
        .into_response()
}

impl ZendeskFake {
    pub async fn start() -> Self {
        let recorder = Recorder::default();
        let data = Arc::new(Mutex::new(seed()));
        let router = Router::new()
            .route("/api/v2/users/me", get(me))
            .route("/api/v2/groups", get(groups))
            .route("/api/v2/search", get(search))
            .route("/api/v2/search.json", get(search))
            .route("/api/v2/tickets", axum::routing::post(create_ticket))
            .route("/api/v2/tickets/{id}", get(get_ticket).put(update_ticket))
            .route("/api/v2/tickets/{id}/comments", get(comments))
            .layer(axum::middleware::from_fn_with_state(data.clone(), gate))
            .with_state(data.clone());
        Self {
            server: FakeServer::start(recorder.layer(router)).await,
            recorder,
            data,
        }
    }

    /// The origin to put in config `site_url`.
    pub fn origin(&self) -> String {
        self.server.origin()
    }

    /// The next `count` requests get HTTP 429 with `Retry-After: 9`.
    pub fn throttle_next(&self, count: u32) {
        self.data.lock().unwrap().throttle = count;
    }

    /// A ticket as the fake holds it.
    pub fn ticket(&self, id: u64) -> Option<Value> {
        self.data
            .lock()
            .unwrap()
            .tickets
            .iter()
            .find(|t| t["id"] == id)
            .cloned()
    }
}

fn authenticated(headers: &HeaderMap) -> bool {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    basic.as_deref() == Some(&format!("{AGENT_EMAIL}/token:{ZENDESK_TOKEN}"))
        || bearer_token(headers).as_deref() == Some(ZENDESK_TOKEN)
}

async fn gate(State(data): State<Shared>, request: Request, next: Next) -> Response {
    {
        let mut data = data.lock().unwrap();
        if data.throttle > 0 {
            data.throttle -= 1;
            let mut limited = error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Rate limit exceeded",
            );
            limited
                .headers_mut()
                .insert(header::RETRY_AFTER, "9".parse().unwrap());
            return limited;
        }
    }
    if !authenticated(request.headers()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "Couldn't authenticate you"})),
        )
            .into_response();
    }
    next.run(request).await
}

async fn me() -> Response {
    Json(json!({"user": {"id": USER_ID, "name": "Ada Lovelace", "email": AGENT_EMAIL, "role": "agent"}})).into_response()
}

async fn groups() -> Response {
    let groups: Vec<Value> = GROUPS
        .iter()
        .map(|(id, name, _)| json!({"id": id, "name": name, "description": format!("The {name} team"), "deleted": false}))
        .collect();
    Json(json!({"groups": groups, "next_page": null, "previous_page": null, "count": groups.len()}))
        .into_response()
}

/// Search: `type:ticket`, then `group:ID` or words; offset pages with an absolute `next_page`.
async fn search(
    State(data): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(text) = query.get("query") else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidSearch",
            "query is required",
        );
    };
    let mut group = None;
    let mut words = Vec::new();
    for term in text.split_whitespace() {
        match term.split_once(':') {
            Some(("type", "ticket")) => {}
            Some(("group", id)) => match id.parse::<u64>() {
                Ok(id) => group = Some(id),
                Err(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidSearch",
                        "group must be an id",
                    );
                }
            },
            Some(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidSearch",
                    "unsupported search term",
                );
            }
            None => words.push(term.to_lowercase()),
        }
    }
    let page: usize = query
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let per_page: usize = query
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let data = data.lock().unwrap();
    let mut found: Vec<Value> = data
        .tickets
        .iter()
        .filter(|t| group.is_none_or(|g| t["group_id"] == g))
        .filter(|t| {
            let subject = t["subject"].as_str().unwrap_or_default().to_lowercase();
            words.iter().all(|w| subject.contains(w.as_str()))
        })
        .map(|t| {
            let mut t = t.clone();
            t["result_type"] = json!("ticket");
            t
        })
        .collect();
    if query.get("sort_by").map(String::as_str) == Some("updated_at") {
        found.sort_by(|a, b| b["updated_at"].as_str().cmp(&a["updated_at"].as_str()));
    }
    let count = found.len();
    let results: Vec<Value> = found
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let next_page = (page * per_page < count).then(|| {
        let mut next = url::form_urlencoded::Serializer::new(String::new());
        next.append_pair("page", &(page + 1).to_string())
            .append_pair("per_page", &per_page.to_string())
            .append_pair("query", text);
        // Zendesk's next page keeps the search's order.
        for name in ["sort_by", "sort_order"] {
            if let Some(value) = query.get(name) {
                next.append_pair(name, value);
            }
        }
        format!("http://{host}/api/v2/search.json?{}", next.finish())
    });
    Json(json!({"results": results, "count": count, "next_page": next_page, "previous_page": null}))
        .into_response()
}

fn id_of(text: &str) -> Option<u64> {
    text.trim_end_matches(".json").parse().ok()
}

async fn get_ticket(State(data): State<Shared>, Path(id): Path<String>) -> Response {
    let data = data.lock().unwrap();
    match id_of(&id).and_then(|id| data.tickets.iter().find(|t| t["id"] == id)) {
        Some(ticket) => Json(json!({"ticket": ticket})).into_response(),
        None => error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found"),
    }
}

async fn comments(
    State(data): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let data = data.lock().unwrap();
    let Some(id) = id_of(&id).filter(|id| data.tickets.iter().any(|t| t["id"] == *id)) else {
        return error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found");
    };
    let all = data.comments.get(&id).cloned().unwrap_or_default();
    let size: usize = query
        .get("page[size]")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let start = match query.get("page[after]") {
        None => 0,
        Some(cursor) => match cursor
            .strip_prefix("cur-")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => n,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidPaginationParameter",
                    "invalid cursor",
                );
            }
        },
    };
    let page: Vec<Value> = all.iter().skip(start).take(size).cloned().collect();
    let end = start + page.len();
    let has_more = end < all.len();
    Json(json!({"comments": page,
        "meta": {"has_more": has_more, "after_cursor": has_more.then(|| format!("cur-{end}")), "before_cursor": null},
        "links": {"next": null, "prev": null}}))
    .into_response()
}

async fn create_ticket(State(data): State<Shared>, body: Option<Json<Value>>) -> Response {
    let Some(Json(body)) = body else {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest", "Invalid JSON");
    };
    let input = &body["ticket"];
    let Some(comment) = input["comment"]["body"].as_str() else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "RecordInvalid",
            "Description: cannot be blank",
        );
    };
    let group = match &input["group_id"] {
        Value::Null => 0,
        Value::Number(n) => match GROUPS.iter().position(|(id, ..)| n.as_u64() == Some(*id)) {
            Some(g) => g,
            None => {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "RecordInvalid",
                    "Group: is invalid",
                );
            }
        },
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidValue",
                "group_id must be a number",
            );
        }
    };
    let mut data = data.lock().unwrap();
    data.next += 1;
    let id = data.next;
    let mut created = ticket(group, id, input["subject"].as_str().unwrap_or(comment), 50);
    created["description"] = json!(comment);
    data.tickets.push(created.clone());
    data.comments.insert(id, vec![json!({"id": id * 10, "type": "Comment", "body": comment, "public": true, "author_id": USER_ID, "created_at": at(50)})]);
    (StatusCode::CREATED, Json(json!({"ticket": created}))).into_response()
}

async fn update_ticket(
    State(data): State<Shared>,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let Some(Json(body)) = body else {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest", "Invalid JSON");
    };
    let input = &body["ticket"];
    let mut data = data.lock().unwrap();
    data.next += 1;
    let event_id = data.next;
    let Some(id) = id_of(&id).filter(|id| data.tickets.iter().any(|t| t["id"] == *id)) else {
        return error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found");
    };
    let mut events = Vec::new();
    if let Some(comment) = input["comment"]["body"].as_str() {
        // Audit events carry no time of their own (the audit does); the listed comment does.
        let event = json!({"id": event_id, "type": "Comment", "body": comment,
            "public": input["comment"]["public"].as_bool().unwrap_or(true), "author_id": USER_ID});
        let mut listed = event.clone();
        listed["created_at"] = json!(at(60));
        data.comments.entry(id).or_default().push(listed);
        events.push(event);
    }
    let ticket = data
        .tickets
        .iter_mut()
        .find(|t| t["id"] == id)
        .expect("checked above");
    for field in ["subject", "status"] {
        if let Some(value) = input[field].as_str() {
            if field == "status"
                && !["new", "open", "pending", "hold", "solved", "closed"].contains(&value)
            {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "RecordInvalid",
                    "Status: is invalid",
                );
            }
            events.push(
                json!({"id": event_id + 1, "type": "Change", "field_name": field, "value": value}),
            );
            ticket[field] = json!(value);
        }
    }
    ticket["updated_at"] = json!(at(70));
    let audit = json!({"id": event_id + 100, "ticket_id": id, "created_at": at(70), "author_id": USER_ID, "events": events});
    Json(json!({"ticket": ticket, "audit": audit})).into_response()
}
