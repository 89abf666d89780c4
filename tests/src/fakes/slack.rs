//! A behavioural Slack (Web API under `/api/`): bearer tokens of two kinds (bot `xoxb-`, user
//! `xoxp-`), every answer HTTP 200 with `{"ok": ...}` (`invalid_auth`, `token_revoked`,
//! `channel_not_found`, `not_allowed_token_type`, `invalid_cursor`, `no_text`, ...),
//! `conversations.list`/`history`/`replies` paged by opaque cursors in
//! `response_metadata.next_cursor`, `oldest`/`latest`/`inclusive`, `search.messages` paged by
//! `page`/`count` for user tokens only, `chat.postMessage` with threads, and HTTP 429 with
//! `Retry-After` on demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::github::TokenChecker;
use super::oauth_server::SLACK_TEAM_ID;
use super::{FakeServer, Recorder, bearer_token};

/// Channels as `(id, name, private, archived)`; the archived one is never listed.
pub const CHANNELS: [(&str, &str, bool, bool); 8] = [
    ("C0100000001", "general", false, false),
    ("C0100000002", "random", false, false),
    ("C0100000003", "eng", true, false),
    ("C0100000004", "design", false, false),
    ("C0100000005", "ops", false, false),
    ("C0100000006", "sales", false, false),
    ("C0100000007", "support", false, false),
    ("C0100000008", "old-launch", false, true),
];
/// Messages per channel; message `n` (1-based) was posted `n` hours after [`BASE_TS`].
pub const MESSAGES_PER_CHANNEL: u64 = 5;
/// Replies in the thread of each channel's second message.
pub const REPLIES: u64 = 4;
/// 2025-11-24T12:00:00Z.
pub const BASE_TS: u64 = 1_763_985_600;
/// The bot user bot tokens act as, and the person user tokens act as.
pub const BOT_USER: &str = "U0BOT0001";
pub const PERSON: &str = "U0USER1";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bot,
    User,
}

#[derive(Default)]
struct Data {
    tokens: HashMap<String, Kind>,
    checker: Option<TokenChecker>,
    revoked: Vec<String>,
    /// Messages by channel, oldest first.
    messages: HashMap<String, Vec<Value>>,
    /// Replies by `channel:thread_ts`, oldest first.
    replies: HashMap<String, Vec<Value>>,
    posted: u64,
    throttle: u32,
}

type Shared = Arc<Mutex<Data>>;

/// A running Slack fake.
pub struct SlackFake {
    pub server: FakeServer,
    pub recorder: Recorder,
    data: Shared,
}

fn ts(seconds: u64, sequence: u64) -> String {
    format!("{seconds}.{sequence:06}")
}

fn seed() -> Data {
    let mut data = Data::default();
    for (channel, name, _, _) in CHANNELS {
        let mut messages = Vec::new();
        for n in 1..=MESSAGES_PER_CHANNEL {
            let at = ts(BASE_TS + n * 3600, 100);
            let mut message = json!({"type": "message", "user": "U0ADA0001",
                "text": format!("Update {n} in #{name}\nmore detail on {name}"), "ts": at,
                "team": SLACK_TEAM_ID});
            if n == 2 {
                message["thread_ts"] = json!(at);
                message["reply_count"] = json!(REPLIES);
                let replies = (1..=REPLIES)
                    .map(|r| {
                        json!({"type": "message", "user": "U0BOB0001", "text": format!("Reply {r}"),
                            "ts": ts(BASE_TS + n * 3600 + r * 60, 100), "thread_ts": at})
                    })
                    .collect();
                data.replies.insert(format!("{channel}:{at}"), replies);
            }
            messages.push(message);
        }
        data.messages.insert(channel.to_owned(), messages);
    }
    data
}

impl SlackFake {
    /// A Slack accepting `bot_token` (bot) and `user_token` (user).
    pub async fn start(bot_token: &str, user_token: &str) -> Self {
        let mut data = seed();
        data.tokens.insert(bot_token.to_owned(), Kind::Bot);
        data.tokens.insert(user_token.to_owned(), Kind::User);
        Self::start_with(data).await
    }

    /// A Slack accepting the tokens `checker` calls live; `xoxp` tokens are user tokens.
    pub async fn start_checking(checker: TokenChecker) -> Self {
        let mut data = seed();
        data.checker = Some(checker);
        Self::start_with(data).await
    }

    async fn start_with(data: Data) -> Self {
        let recorder = Recorder::default();
        let data = Arc::new(Mutex::new(data));
        let router = Router::new()
            .route("/api/{method}", get(method).post(method))
            .layer(axum::middleware::from_fn_with_state(data.clone(), gate))
            .with_state(data.clone());
        Self {
            server: FakeServer::start(recorder.layer(router)).await,
            recorder,
            data,
        }
    }

    /// The origin to put in config `api_url`; the Web API lives under its `/api`.
    pub fn api_url(&self) -> String {
        self.server.origin()
    }

    /// The token stops working (`token_revoked`).
    pub fn revoke(&self, token: &str) {
        let mut data = self.data.lock().unwrap();
        data.tokens.remove(token);
        data.revoked.push(token.to_owned());
    }

    /// The next `count` calls get HTTP 429 with `Retry-After: 30`.
    pub fn throttle_next(&self, count: u32) {
        self.data.lock().unwrap().throttle = count;
    }

    /// A channel's messages as the fake holds them, oldest first.
    pub fn messages(&self, channel: &str) -> Vec<Value> {
        let data = self.data.lock().unwrap();
        data.messages.get(channel).cloned().unwrap_or_default()
    }
}

fn failed(error: &str) -> Response {
    Json(json!({"ok": false, "error": error})).into_response()
}

/// Auth and throttling before any method; the token's kind travels to the method.
async fn gate(State(data): State<Shared>, mut request: Request, next: Next) -> Response {
    let token = bearer_token(request.headers());
    let kind = {
        let mut data = data.lock().unwrap();
        if data.throttle > 0 {
            data.throttle -= 1;
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "30")],
                Json(json!({"ok": false, "error": "ratelimited"})),
            )
                .into_response();
        }
        let Some(token) = token else {
            return failed("not_authed");
        };
        if data.revoked.contains(&token) {
            return failed("token_revoked");
        }
        match data.tokens.get(&token) {
            Some(kind) => *kind,
            None if data.checker.as_ref().is_some_and(|live| live(&token)) => {
                if token.contains("xoxp") {
                    Kind::User
                } else {
                    Kind::Bot
                }
            }
            None => return failed("invalid_auth"),
        }
    };
    request.extensions_mut().insert(kind);
    next.run(request).await
}

/// Parameters from the query string, a form body or a JSON body, as Slack reads them.
async fn params(request: Request) -> HashMap<String, String> {
    let mut params: HashMap<String, String> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    if json {
        if let Ok(Value::Object(object)) = serde_json::from_slice(&body) {
            for (k, v) in object {
                let text = v.as_str().map(str::to_owned).unwrap_or(v.to_string());
                params.insert(k, text);
            }
        }
    } else {
        params.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    params
}

/// The offset a `cursor` encodes; Slack's error code when it is not one of ours.
fn cursor_offset(params: &HashMap<String, String>) -> Result<usize, &'static str> {
    match params.get("cursor").filter(|c| !c.is_empty()) {
        None => Ok(0),
        Some(cursor) => STANDARD
            .decode(cursor)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.strip_prefix("offset:")?.parse().ok())
            .ok_or("invalid_cursor"),
    }
}

fn limit(params: &HashMap<String, String>, default: usize, max: usize) -> usize {
    params
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(default)
        .clamp(1, max)
}

/// A cursor-paged answer: `entries[offset..offset+limit]` under `key`.
fn cursor_page(key: &str, all: Vec<Value>, offset: usize, limit: usize) -> Response {
    let end = (offset + limit).min(all.len());
    let page: Vec<Value> = all[offset.min(end)..end].to_vec();
    let has_more = end < all.len();
    let next = if has_more {
        STANDARD.encode(format!("offset:{end}"))
    } else {
        String::new()
    };
    Json(json!({"ok": true, key: page, "has_more": has_more,
        "response_metadata": {"next_cursor": next}}))
    .into_response()
}

fn channel_json(id: &str, name: &str, private: bool, archived: bool) -> Value {
    json!({"id": id, "name": name, "is_channel": !private, "is_group": false, "is_im": false,
        "is_mpim": false, "is_private": private, "is_archived": archived, "is_member": true,
        "created": BASE_TS - 86_400 * 30, "creator": "U0ADA0001",
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": format!("All about {name}"), "creator": "U0ADA0001", "last_set": 0},
        "num_members": 4})
}

/// A timestamp parameter as a number; Slack's error code when it is not one.
fn ts_number(value: Option<&String>) -> Result<Option<f64>, &'static str> {
    match value {
        None => Ok(None),
        Some(text) => text
            .parse::<f64>()
            .map(Some)
            .map_err(|_| "invalid_ts_oldest"),
    }
}

async fn method(
    State(data): State<Shared>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let kind = request
        .extensions()
        .get::<Kind>()
        .copied()
        .unwrap_or(Kind::Bot);
    let params = params(request).await;
    let result = match name.as_str() {
        "auth.test" => Ok(auth_test(kind)),
        "conversations.list" => list(&params),
        "conversations.history" => history(&data, &params),
        "conversations.replies" => replies(&data, &params),
        "search.messages" => search(&data, &params, kind),
        "chat.postMessage" => post_message(&data, &params, kind),
        _ => Err("unknown_method"),
    };
    result.unwrap_or_else(failed)
}

/// A method's answer, or the `error` code of Slack's `{"ok": false}` answer.
type Answer = Result<Response, &'static str>;

fn auth_test(kind: Kind) -> Response {
    let mut answer = json!({"ok": true, "url": "https://acme.slack.com/", "team": "Acme",
        "team_id": SLACK_TEAM_ID, "is_enterprise_install": false});
    if kind == Kind::Bot {
        answer["user"] = json!("acme-bot");
        answer["user_id"] = json!(BOT_USER);
        answer["bot_id"] = json!("B0BOT0001");
    } else {
        answer["user"] = json!("ada");
        answer["user_id"] = json!(PERSON);
    }
    Json(answer).into_response()
}

fn list(params: &HashMap<String, String>) -> Answer {
    let exclude_archived = params.get("exclude_archived").is_some_and(|v| v == "true");
    let types = params
        .get("types")
        .cloned()
        .unwrap_or_else(|| "public_channel".into());
    let channels: Vec<Value> = CHANNELS
        .iter()
        .filter(|(_, _, _, archived)| !(exclude_archived && *archived))
        .filter(|(_, _, private, _)| {
            let wanted = if *private {
                "private_channel"
            } else {
                "public_channel"
            };
            types.split(',').any(|t| t == wanted)
        })
        .map(|(id, name, private, archived)| channel_json(id, name, *private, *archived))
        .collect();
    Ok(cursor_page(
        "channels",
        channels,
        cursor_offset(params)?,
        limit(params, 100, 1000),
    ))
}

fn history(data: &Shared, params: &HashMap<String, String>) -> Answer {
    let data = data.lock().unwrap();
    let channel = params.get("channel").cloned().unwrap_or_default();
    let messages = data.messages.get(&channel).ok_or("channel_not_found")?;
    let oldest = ts_number(params.get("oldest"))?;
    let latest = ts_number(params.get("latest"))?;
    let inclusive = params
        .get("inclusive")
        .is_some_and(|v| v == "true" || v == "1");
    let in_range = |m: &&Value| {
        let at: f64 = m["ts"].as_str().unwrap_or("0").parse().unwrap_or(0.0);
        let after = oldest.is_none_or(|o| if inclusive { at >= o } else { at > o });
        let before = latest.is_none_or(|l| if inclusive { at <= l } else { at < l });
        after && before
    };
    let newest_first: Vec<Value> = messages.iter().rev().filter(in_range).cloned().collect();
    Ok(cursor_page(
        "messages",
        newest_first,
        cursor_offset(params)?,
        limit(params, 100, 999),
    ))
}

fn replies(data: &Shared, params: &HashMap<String, String>) -> Answer {
    let data = data.lock().unwrap();
    let channel = params.get("channel").cloned().unwrap_or_default();
    let ts = params.get("ts").cloned().unwrap_or_default();
    let messages = data.messages.get(&channel).ok_or("channel_not_found")?;
    let parent = messages
        .iter()
        .find(|m| m["ts"] == ts.as_str())
        .ok_or("thread_not_found")?;
    let mut thread = vec![parent.clone()];
    thread.extend(
        data.replies
            .get(&format!("{channel}:{ts}"))
            .cloned()
            .unwrap_or_default(),
    );
    Ok(cursor_page(
        "messages",
        thread,
        cursor_offset(params)?,
        limit(params, 10, 1000),
    ))
}

fn search(data: &Shared, params: &HashMap<String, String>, kind: Kind) -> Answer {
    if kind != Kind::User {
        return Err("not_allowed_token_type");
    }
    let query = params.get("query").cloned().unwrap_or_default();
    let words: Vec<String> = query
        .split_whitespace()
        .filter(|w| !w.contains(':'))
        .map(str::to_lowercase)
        .collect();
    let data = data.lock().unwrap();
    let mut matches: Vec<Value> = CHANNELS
        .iter()
        .filter(|(_, _, _, archived)| !archived)
        .flat_map(|(id, name, _, _)| {
            data.messages[*id].iter().map(move |m| {
                let mut hit = m.clone();
                hit["channel"] = json!({"id": id, "name": name, "is_channel": true});
                hit["permalink"] = json!(format!(
                    "https://acme.slack.com/archives/{id}/p{}",
                    m["ts"].as_str().unwrap_or_default().replace('.', "")
                ));
                hit["iid"] = json!(format!("{id}-{}", m["ts"].as_str().unwrap_or_default()));
                hit
            })
        })
        .filter(|m| {
            let text = m["text"].as_str().unwrap_or_default().to_lowercase();
            !words.is_empty() && words.iter().all(|w| text.contains(w))
        })
        .collect();
    matches.sort_by(|a, b| b["ts"].as_str().cmp(&a["ts"].as_str()));
    let count: usize = params
        .get("count")
        .and_then(|c| c.parse().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let page: usize = params
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let total = matches.len();
    let pages = total.div_ceil(count).max(1);
    let start = ((page - 1) * count).min(total);
    let shown: Vec<Value> = matches[start..(start + count).min(total)].to_vec();
    Ok(Json(json!({"ok": true, "query": query, "messages": {
        "total": total, "matches": shown,
        "paging": {"count": count, "total": total, "page": page, "pages": pages},
        "pagination": {"total_count": total, "page": page, "per_page": count, "page_count": pages,
            "first": start + 1, "last": (start + count).min(total)}}}))
    .into_response())
}

fn post_message(data: &Shared, params: &HashMap<String, String>, kind: Kind) -> Answer {
    let channel = params.get("channel").cloned().unwrap_or_default();
    let Some((_, _, _, archived)) = CHANNELS.iter().find(|(id, ..)| *id == channel) else {
        return Err("channel_not_found");
    };
    if *archived {
        return Err("is_archived");
    }
    let text = params.get("text").cloned().unwrap_or_default();
    if text.trim().is_empty() {
        return Err("no_text");
    }
    let mut data = data.lock().unwrap();
    data.posted += 1;
    let at = ts(BASE_TS + 86_400 + data.posted, 100);
    let mut message = json!({"type": "message", "text": text, "ts": at, "team": SLACK_TEAM_ID});
    if kind == Kind::Bot {
        message["user"] = json!(BOT_USER);
        message["bot_id"] = json!("B0BOT0001");
    } else {
        message["user"] = json!(PERSON);
    }
    match params.get("thread_ts") {
        Some(thread) => {
            let parent = data
                .messages
                .get_mut(&channel)
                .and_then(|all| all.iter_mut().find(|m| m["ts"] == thread.as_str()))
                .ok_or("thread_not_found")?;
            parent["thread_ts"] = json!(thread);
            parent["reply_count"] = json!(parent["reply_count"].as_u64().unwrap_or(0) + 1);
            message["thread_ts"] = json!(thread);
            data.replies
                .entry(format!("{channel}:{thread}"))
                .or_default()
                .push(message.clone());
        }
        None => data
            .messages
            .entry(channel.clone())
            .or_default()
            .push(message.clone()),
    }
    Ok(Json(json!({"ok": true, "channel": channel, "ts": at, "message": message})).into_response())
}
