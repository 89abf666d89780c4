//! A behavioural Trello (REST API 1): the API key and token in the query string (`key`,
//! `token`), a wrong one answered as Trello does (401, `text/plain` "invalid key" or "invalid
//! token"), boards of the member, a board's cards as one unpaged array, comments as
//! `commentCard` actions, search answering `{"cards": [...]}` capped by `cards_limit`, writes
//! that take their fields as query parameters (`idList` required to create a card), and 429
//! on demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{FakeServer, Recorder};

pub const TRELLO_KEY: &str = "0123456789abcdef0123456789abcdef";
pub const TRELLO_TOKEN: &str =
    "ATTAfeedc0ffee0123456789abcdef0123456789abcdef0123456789abcdef012345";
pub const MEMBER_ID: &str = "5f0c0ffee0c0ffee0c0ffee0";
/// Boards with how many cards each holds; the last one is closed.
pub const BOARDS: [(&str, &str, usize); 3] = [
    ("60aaaaaaaaaaaaaaaaaaaa01", "Product", 4),
    ("60aaaaaaaaaaaaaaaaaaaa02", "Ops", 1),
    ("60aaaaaaaaaaaaaaaaaaaa03", "Old", 0),
];

pub fn list_id(board: usize) -> String {
    format!("61bbbbbbbbbbbbbbbbbbbb{board:02}")
}

pub fn card_id(board: usize, n: usize) -> String {
    format!("62cccccccccccccccccc{board:02}{n:02}")
}

fn at(hours: usize) -> String {
    super::hours_after_seed(hours, true)
}

fn member() -> Value {
    json!({"id": MEMBER_ID, "fullName": "Ada Lovelace", "username": "ada", "email": "ada@acme.example"})
}

#[derive(Default)]
struct Data {
    cards: Vec<Value>,
    comments: HashMap<String, Vec<Value>>,
    next_id: u64,
    throttle: u32,
}

type Shared = Arc<Mutex<Data>>;

/// A running Trello fake.
pub struct TrelloFake {
    pub server: FakeServer,
    pub recorder: Recorder,
    data: Shared,
}

fn card(board: usize, n: usize, name: &str, desc: &str, hours: usize) -> Value {
    let id = card_id(board, n);
    json!({"id": id, "name": name, "desc": desc, "closed": false, "idBoard": BOARDS[board].0,
        "idList": list_id(board), "due": null, "dateLastActivity": at(hours),
        "url": format!("https://trello.com/c/{id}"), "idMembers": [], "labels": []})
}

fn seed() -> Data {
    let mut data = Data {
        next_id: 0x63dd_0000_0000,
        ..Data::default()
    };
    for (b, (_, name, count)) in BOARDS.iter().enumerate() {
        for n in 1..=*count {
            data.cards.push(card(
                b,
                n,
                &format!("{name} card {n}"),
                &format!("**{name}** card {n}"),
                10 * n,
            ));
        }
    }
    let first = card_id(0, 1);
    let comments = (1..=2)
        .map(|n| {
            json!({"id": format!("64eeeeeeeeeeeeeeeeeeee{n:02}"), "type": "commentCard",
                "date": at(50 + n), "idMemberCreator": MEMBER_ID, "memberCreator": member(),
                "data": {"text": format!("Comment {n}"), "card": {"id": first}}})
        })
        .collect();
    data.comments.insert(first, comments);
    data
}

fn text(status: StatusCode, message: &str) -> Response {
    (
        status,
        [("content-type", "text/plain; charset=utf-8")],
        message.to_owned(),
    )
        .into_response()
}

impl TrelloFake {
    pub async fn start() -> Self {
        let recorder = Recorder::default();
        let data = Arc::new(Mutex::new(seed()));
        let router = Router::new()
            .route("/1/members/{id}", get(me))
            .route("/1/members/{id}/boards", get(boards))
            .route("/1/boards/{id}/cards", get(board_cards))
            .route("/1/cards", post(create_card))
            .route("/1/cards/{id}", get(get_card).put(update_card))
            .route("/1/cards/{id}/actions", get(actions))
            .route("/1/cards/{id}/actions/comments", post(comment))
            .route("/1/search", get(search))
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

    /// The next `count` requests get HTTP 429.
    pub fn throttle_next(&self, count: u32) {
        self.data.lock().unwrap().throttle = count;
    }

    /// A card as the fake holds it.
    pub fn card(&self, id: &str) -> Option<Value> {
        self.data
            .lock()
            .unwrap()
            .cards
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
    }
}

async fn gate(State(data): State<Shared>, request: Request, next: Next) -> Response {
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    {
        let mut data = data.lock().unwrap();
        if data.throttle > 0 {
            data.throttle -= 1;
            return (
                StatusCode::TOO_MANY_REQUESTS,
                Json(
                    json!({"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}),
                ),
            )
                .into_response();
        }
    }
    if query.get("key").map(String::as_str) != Some(TRELLO_KEY) {
        return text(StatusCode::UNAUTHORIZED, "invalid key");
    }
    if query.get("token").map(String::as_str) != Some(TRELLO_TOKEN) {
        return text(StatusCode::UNAUTHORIZED, "invalid token");
    }
    next.run(request).await
}

async fn me(Path(id): Path<String>) -> Response {
    if id != "me" && id != MEMBER_ID {
        return text(StatusCode::NOT_FOUND, "model not found");
    }
    Json(member()).into_response()
}

async fn boards(Path(id): Path<String>, Query(query): Query<HashMap<String, String>>) -> Response {
    if id != "me" && id != MEMBER_ID {
        return text(StatusCode::NOT_FOUND, "model not found");
    }
    let open_only = query.get("filter").map(String::as_str) == Some("open");
    let boards: Vec<Value> = BOARDS
        .iter()
        .enumerate()
        .filter(|(b, _)| !open_only || *b < 2)
        .map(|(b, (id, name, _))| {
            json!({"id": id, "name": name, "desc": format!("The {name} board"),
            "closed": b == 2, "url": format!("https://trello.com/b/{id}")})
        })
        .collect();
    Json(boards).into_response()
}

async fn board_cards(State(data): State<Shared>, Path(id): Path<String>) -> Response {
    if !BOARDS.iter().any(|(board, ..)| *board == id) {
        return text(
            StatusCode::NOT_FOUND,
            "The requested resource was not found.",
        );
    }
    let data = data.lock().unwrap();
    let cards: Vec<Value> = data
        .cards
        .iter()
        .filter(|c| c["idBoard"] == id && c["closed"] == false)
        .cloned()
        .collect();
    Json(cards).into_response()
}

fn valid_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn get_card(State(data): State<Shared>, Path(id): Path<String>) -> Response {
    if !valid_id(&id) {
        return text(StatusCode::BAD_REQUEST, "invalid id");
    }
    match data.lock().unwrap().cards.iter().find(|c| c["id"] == id) {
        Some(card) => Json(card.clone()).into_response(),
        None => text(
            StatusCode::NOT_FOUND,
            "The requested resource was not found.",
        ),
    }
}

async fn actions(
    State(data): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let data = data.lock().unwrap();
    if !data.cards.iter().any(|c| c["id"] == id) {
        return text(
            StatusCode::NOT_FOUND,
            "The requested resource was not found.",
        );
    }
    let wanted = query
        .get("filter")
        .cloned()
        .unwrap_or_else(|| "commentCard, updateCard:idList".into());
    let mut found: Vec<Value> = data
        .comments
        .get(&id)
        .into_iter()
        .flatten()
        .filter(|a| {
            wanted
                .split(',')
                .any(|f| f.trim() == a["type"].as_str().unwrap_or_default())
        })
        .cloned()
        .collect();
    // Trello lists actions newest first.
    found.reverse();
    Json(found).into_response()
}

async fn search(
    State(data): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(text_query) = query.get("query").filter(|q| !q.is_empty()) else {
        return text(StatusCode::BAD_REQUEST, "invalid value for query");
    };
    let limit = match query.get("cards_limit").map(|l| l.parse::<usize>()) {
        None => 10,
        Some(Ok(l)) if l <= 1000 => l,
        Some(_) => return text(StatusCode::BAD_REQUEST, "invalid value for cards_limit"),
    };
    let needle = text_query.to_lowercase();
    let data = data.lock().unwrap();
    let cards: Vec<Value> = data
        .cards
        .iter()
        .filter(|c| {
            c["name"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase()
                .contains(&needle)
        })
        .take(limit)
        .cloned()
        .collect();
    Json(json!({"options": {"terms": [{"text": text_query}], "modelTypes": ["cards"]}, "cards": cards})).into_response()
}

async fn create_card(
    State(data): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(board) = query
        .get("idList")
        .and_then(|list| (0..BOARDS.len()).find(|b| list_id(*b) == *list))
    else {
        return text(StatusCode::BAD_REQUEST, "invalid value for idList");
    };
    let mut data = data.lock().unwrap();
    data.next_id += 1;
    let id = format!("65ff{:020x}", data.next_id);
    let mut created = card(
        board,
        0,
        query.get("name").map_or("", String::as_str),
        query.get("desc").map_or("", String::as_str),
        100,
    );
    created["id"] = json!(id);
    created["url"] = json!(format!("https://trello.com/c/{id}"));
    data.cards.push(created.clone());
    Json(created).into_response()
}

async fn update_card(
    State(data): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut data = data.lock().unwrap();
    let Some(card) = data.cards.iter_mut().find(|c| c["id"] == id) else {
        return text(
            StatusCode::NOT_FOUND,
            "The requested resource was not found.",
        );
    };
    for (key, value) in &query {
        match key.as_str() {
            "name" | "desc" => card[key] = json!(value),
            "closed" => match value.as_str() {
                "true" | "false" => card["closed"] = json!(value == "true"),
                _ => return text(StatusCode::BAD_REQUEST, "invalid value for closed"),
            },
            "key" | "token" => {}
            other => {
                return text(
                    StatusCode::BAD_REQUEST,
                    &format!("invalid value for {other}"),
                );
            }
        }
    }
    card["dateLastActivity"] = json!(at(200));
    Json(card.clone()).into_response()
}

async fn comment(
    State(data): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(body) = query.get("text").filter(|t| !t.is_empty()) else {
        return text(StatusCode::BAD_REQUEST, "invalid value for text");
    };
    let mut data = data.lock().unwrap();
    if !data.cards.iter().any(|c| c["id"] == id) {
        return text(
            StatusCode::NOT_FOUND,
            "The requested resource was not found.",
        );
    }
    data.next_id += 1;
    let action = json!({"id": format!("66aa{:020x}", data.next_id), "type": "commentCard",
        "date": at(300), "idMemberCreator": MEMBER_ID, "memberCreator": member(),
        "data": {"text": body, "card": {"id": id}}});
    data.comments.entry(id).or_default().push(action.clone());
    Json(action).into_response()
}
