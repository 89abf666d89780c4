//! A vendor whose data changes while a test runs, behind the `probe` plugin's API: token-paged
//! items (`?limit=&pageToken=`), `since` filtering on each item's last change, and the ids
//! deleted since then (when it reports deletions). Tests create, update and delete items
//! between sync runs, slow its pages down, and make it answer 429 with `Retry-After`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{FakeServer, Recorder};

/// The one container it holds.
pub const SYNC_CONTAINER: &str = "box";

#[derive(Default)]
struct Data {
    /// id -> (name, last change)
    items: BTreeMap<String, (String, SystemTime)>,
    deletions: Vec<(String, SystemTime)>,
    report_deletions: bool,
    page_delay: Duration,
    /// Item listings still to refuse with 429, and the `Retry-After` seconds.
    refuse: u32,
    retry_after_secs: u64,
    /// Item listings answered so far (429s included).
    listings: u32,
    /// Refuse the listing with this number (1-based) instead of the next ones.
    refuse_listing: Option<u32>,
    /// Hold the listing with this number (1-based) once its answer is ready, until released.
    hold_listing: Option<(u32, Arc<Gate>)>,
    /// Item listings being answered now, per credential, and the most at once.
    in_flight: HashMap<String, u32>,
    peak_in_flight: u32,
}

/// A listing held before its answer is sent.
#[derive(Default)]
pub struct Gate {
    reached: tokio::sync::Notify,
    released: tokio::sync::Notify,
}

impl Gate {
    /// Waits until the held listing has its answer ready.
    pub async fn reached(&self) {
        self.reached.notified().await;
    }

    /// Sends the held answer.
    pub fn release(&self) {
        self.released.notify_one();
    }
}

/// A running vendor.
#[derive(Clone)]
pub struct SyncVendor {
    pub server: Arc<FakeServer>,
    pub recorder: Recorder,
    data: Arc<Mutex<Data>>,
}

fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

impl SyncVendor {
    /// `count` items `n0001`.. named `Item n`, changed now.
    pub async fn start(count: usize, report_deletions: bool) -> Self {
        let mut data = Data {
            report_deletions,
            ..Data::default()
        };
        let now = SystemTime::now();
        for n in 1..=count {
            data.items
                .insert(format!("n{n:05}"), (format!("Item {n}"), now));
        }
        let data = Arc::new(Mutex::new(data));
        let recorder = Recorder::default();
        let router = Router::new()
            .route("/me", get(me))
            .route("/containers", get(containers))
            .route("/containers/{id}/items", get(items))
            .route("/items/{id}", get(item))
            .with_state(data.clone());
        Self {
            server: Arc::new(FakeServer::start(recorder.layer(router)).await),
            recorder,
            data,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        self.server.origin()
    }

    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates or renames an item, changed now.
    pub fn put(&self, id: &str, name: &str) {
        self.data()
            .items
            .insert(id.to_owned(), (name.to_owned(), SystemTime::now()));
    }

    /// Deletes an item.
    pub fn delete(&self, id: &str) {
        let mut data = self.data();
        data.items.remove(id);
        data.deletions.push((id.to_owned(), SystemTime::now()));
    }

    /// Waits this long before answering each item listing.
    pub fn set_page_delay(&self, delay: Duration) {
        self.data().page_delay = delay;
    }

    /// Answers the `nth` item listing from now on (1 = the next) with 429 and `Retry-After`.
    pub fn refuse_listing(&self, nth: u32, retry_after_secs: u64) {
        let mut data = self.data();
        data.refuse_listing = Some(data.listings + nth);
        data.retry_after_secs = retry_after_secs;
    }

    /// Answers the next `times` item listings with 429 and `Retry-After`.
    pub fn refuse_next(&self, times: u32, retry_after_secs: u64) {
        let mut data = self.data();
        data.refuse = times;
        data.retry_after_secs = retry_after_secs;
    }

    /// Holds the `nth` item listing from now on (1 = the next) once its answer is ready, until
    /// the gate is released: the vendor has answered, the host has not read it yet.
    pub fn hold_listing(&self, nth: u32) -> Arc<Gate> {
        let gate = Arc::new(Gate::default());
        let mut data = self.data();
        data.hold_listing = Some((data.listings + nth, gate.clone()));
        gate
    }

    /// The most item listings one credential (one connection) had in flight at once.
    pub fn peak_in_flight_per_credential(&self) -> u32 {
        self.data().peak_in_flight
    }

    /// Item listings answered so far.
    pub fn listings(&self) -> u32 {
        self.data().listings
    }

    /// Ids of the items it holds now.
    pub fn ids(&self) -> Vec<String> {
        self.data().items.keys().cloned().collect()
    }
}

type Shared = Arc<Mutex<Data>>;

fn lock(data: &Shared) -> std::sync::MutexGuard<'_, Data> {
    data.lock().unwrap_or_else(|p| p.into_inner())
}

fn unauthorized(headers: &HeaderMap) -> Option<Response> {
    (!headers.contains_key(header::AUTHORIZATION)).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "no credential"})),
        )
            .into_response()
    })
}

async fn me(headers: HeaderMap) -> Response {
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    Json(json!({"id": "u-sync", "name": "Sync User"})).into_response()
}

async fn containers(headers: HeaderMap) -> Response {
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    Json(json!([{"id": SYNC_CONTAINER, "name": "The box"}])).into_response()
}

async fn item(State(data): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    match lock(&data).items.get(&id) {
        Some((name, _)) => Json(json!({"id": id, "name": name})).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "no such item"})),
        )
            .into_response(),
    }
}

async fn items(
    State(data): State<Shared>,
    headers: HeaderMap,
    Path(container): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    let credential = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    {
        let mut data = lock(&data);
        let now = data.in_flight.entry(credential.clone()).or_default();
        *now += 1;
        let now = *now;
        data.peak_in_flight = data.peak_in_flight.max(now);
    }
    let response = answer_items(&data, container, query).await;
    let gate = {
        let mut data = lock(&data);
        if let Some(now) = data.in_flight.get_mut(&credential) {
            *now -= 1;
        }
        match &data.hold_listing {
            Some((nth, gate)) if *nth == data.listings => Some(gate.clone()),
            _ => None,
        }
    };
    if let Some(gate) = gate {
        gate.reached.notify_one();
        gate.released.notified().await;
    }
    response
}

async fn answer_items(
    data: &Shared,
    container: String,
    query: HashMap<String, String>,
) -> Response {
    let delay = lock(data).page_delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut data = lock(data);
    data.listings += 1;
    let refuse_this = data.refuse_listing == Some(data.listings);
    if data.refuse > 0 || refuse_this {
        data.refuse = data.refuse.saturating_sub(1);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, data.retry_after_secs.to_string())],
            Json(json!({"message": "slow down"})),
        )
            .into_response();
    }
    if container != SYNC_CONTAINER {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "no such container"})),
        )
            .into_response();
    }
    let since = query
        .get("since")
        .map(|s| humantime::parse_rfc3339_weak(s).map_err(|_| s.clone()));
    let since = match since {
        Some(Ok(at)) => Some(at),
        Some(Err(bad)) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": format!("bad since `{bad}`")})),
            )
                .into_response();
        }
        None => None,
    };
    let start: usize = query
        .get("pageToken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let matching: Vec<(&String, &(String, SystemTime))> = data
        .items
        .iter()
        .filter(|(_, (_, changed))| since.is_none_or(|since| *changed >= since))
        .collect();
    let end = matching.len().min(start + limit);
    let page: Vec<Value> = matching
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .map(|(id, (name, changed))| json!({"id": id, "name": name, "updated": rfc3339(*changed)}))
        .collect();
    let next = (end < matching.len()).then(|| end.to_string());
    let mut body = json!({"items": page, "nextPageToken": next});
    if let (Some(since), true) = (since, data.report_deletions) {
        let deleted: Vec<&String> = data
            .deletions
            .iter()
            .filter(|(_, at)| *at >= since)
            .map(|(id, _)| id)
            .collect();
        body["deleted"] = json!(deleted);
    }
    Json(body).into_response()
}
