//! The vendor behind the `probe` fixture plugin: offset-paged containers, token-paged items,
//! Link-paged comments, item creation, and endpoints that redirect, stall or flood.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{FakeServer, Recorder};

/// Containers the fake holds: `c1`..`c7`.
pub const CONTAINERS: usize = 7;
/// Items in each container.
pub const ITEMS_PER_CONTAINER: usize = 5;
/// Comments on each item.
pub const COMMENTS_PER_ITEM: usize = 4;

type TokenCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

#[derive(Clone, Default)]
struct VendorState {
    created: Arc<Mutex<Vec<Value>>>,
}

/// A running probe vendor.
pub struct ProbeVendor {
    pub server: FakeServer,
    pub recorder: Recorder,
}

impl ProbeVendor {
    pub async fn start() -> Self {
        Self::start_with_token_check(None).await
    }

    /// A vendor that answers 401 unless the bearer token is one `valid` accepts (tokens from
    /// an [`super::OAuthServer`], which may expire or be revoked).
    pub async fn start_checking_tokens(
        valid: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self::start_with_token_check(Some(Arc::new(valid))).await
    }

    async fn start_with_token_check(valid: Option<TokenCheck>) -> Self {
        let recorder = Recorder::default();
        let state = VendorState::default();
        let router = Router::new()
            .route("/me", get(me))
            .route("/observe", get(observe))
            .route("/ok", get(|| async { "ok" }))
            .route("/containers", get(containers))
            .route("/containers/{id}/items", get(items).post(create_item))
            .route("/items/{id}", get(item))
            .route("/items/{id}/comments", get(comments))
            .route("/redirect", get(redirect))
            .route("/big", get(big))
            .route("/stream", get(stream))
            .route("/hops/{n}", get(hops))
            .route("/slow", get(slow))
            .with_state(state)
            .layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    let valid = valid.clone();
                    async move {
                        if let Some(valid) = valid {
                            let token = request
                                .headers()
                                .get(header::AUTHORIZATION)
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.strip_prefix("Bearer "))
                                .unwrap_or_default();
                            if !valid(token) {
                                return (
                                    StatusCode::UNAUTHORIZED,
                                    Json(json!({"message": "token expired or revoked"})),
                                )
                                    .into_response();
                            }
                        }
                        next.run(request).await
                    }
                },
            ));
        Self {
            server: FakeServer::start(recorder.layer(router)).await,
            recorder,
        }
    }

    /// `http://127.0.0.1:PORT`, the connection's `base_url`.
    pub fn origin(&self) -> String {
        self.server.origin()
    }
}

fn page_params(query: &HashMap<String, String>, key: &str) -> usize {
    query.get(key).and_then(|v| v.parse().ok()).unwrap_or(0)
}

async fn me(headers: HeaderMap) -> Response {
    // Any of the probe's placements counts; the key pair needs both halves.
    let key_pair =
        headers.contains_key("x-probe-api-key") && headers.contains_key("x-probe-app-key");
    if !headers.contains_key(header::AUTHORIZATION)
        && !headers.contains_key("x-probe-key")
        && !key_pair
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "no credential"})),
        )
            .into_response();
    }
    Json(json!({"id": "u-1", "name": "Probe User"})).into_response()
}

async fn observe() -> Response {
    (
        [("x-vendor", "probe")],
        Json(json!({"hello": "from the vendor"})),
    )
        .into_response()
}

async fn containers(Query(query): Query<HashMap<String, String>>) -> Json<Value> {
    let offset = page_params(&query, "offset");
    let limit = page_params(&query, "limit").max(1);
    let page: Vec<Value> = (offset..CONTAINERS.min(offset + limit))
        .map(|n| json!({"id": format!("c{}", n + 1), "name": format!("Container {}", n + 1)}))
        .collect();
    Json(Value::Array(page))
}

async fn items(
    Path(container): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Json<Value> {
    let start = page_params(&query, "pageToken");
    let limit = page_params(&query, "limit").max(1);
    let end = ITEMS_PER_CONTAINER.min(start + limit);
    let page: Vec<Value> = (start..end)
        .map(
            |n| json!({"id": format!("{container}-i{}", n + 1), "name": format!("Item {}", n + 1)}),
        )
        .collect();
    let next = (end < ITEMS_PER_CONTAINER).then(|| end.to_string());
    // With `since`, the page also reports what was deleted since then (and the time it was
    // given, so a test sees the form the plugin sent).
    match query.get("since") {
        Some(since) => Json(json!({
            "items": page,
            "nextPageToken": next,
            "deleted": [format!("{container}-gone"), format!("since={since}")],
        })),
        None => Json(json!({"items": page, "nextPageToken": next})),
    }
}

async fn item(Path(id): Path<String>) -> Response {
    if id == "missing" {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "no such item"})),
        )
            .into_response();
    }
    Json(json!({"id": id, "name": format!("Item {id}")})).into_response()
}

async fn comments(
    Path(item): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let after = page_params(&query, "after");
    let limit = page_params(&query, "limit").max(1);
    let end = COMMENTS_PER_ITEM.min(after + limit);
    let page: Vec<Value> = (after..end)
        .map(|n| json!({"id": format!("{item}-m{}", n + 1), "name": format!("Comment {}", n + 1)}))
        .collect();
    let mut response = Json(Value::Array(page)).into_response();
    if end < COMMENTS_PER_ITEM {
        let link = format!(r#"</items/{item}/comments?limit={limit}&after={end}>; rel="next""#);
        response
            .headers_mut()
            .insert(header::LINK, link.parse().expect("link header"));
    }
    response
}

async fn create_item(
    State(state): State<VendorState>,
    Path(container): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut created = state.created.lock().expect("created lock");
    let id = format!("{container}-new{}", created.len() + 1);
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    created.push(json!({"id": id, "name": name}));
    (StatusCode::CREATED, Json(json!({"id": id, "name": name}))).into_response()
}

async fn redirect(Query(query): Query<HashMap<String, String>>) -> Response {
    let to = query.get("to").cloned().unwrap_or_else(|| "/ok".to_owned());
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

async fn big(Query(query): Query<HashMap<String, String>>) -> Response {
    let bytes = page_params(&query, "bytes");
    let chunked = query.contains_key("chunked");
    let body = vec![b'x'; bytes];
    if chunked {
        // No Content-Length: the host has to count while reading.
        let stream = futures::stream::iter(
            body.chunks(8192)
                .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                .collect::<Vec<_>>(),
        );
        return axum::body::Body::from_stream(stream).into_response();
    }
    body.into_response()
}

/// `bytes` of `x`, generated while sent (no Content-Length), so the fake itself holds only a
/// chunk however large the answer.
async fn stream(Query(query): Query<HashMap<String, String>>) -> Response {
    let total = page_params(&query, "bytes");
    let chunks = futures::stream::unfold(0usize, move |sent| async move {
        (sent < total).then(|| {
            let size = (total - sent).min(64 << 10);
            (Ok::<_, std::io::Error>(vec![b'x'; size]), sent + size)
        })
    });
    axum::body::Body::from_stream(chunks).into_response()
}

/// Redirects to `/hops/{n-1}` until 0, which answers 200: `n` redirect hops in all.
async fn hops(axum::extract::Path(n): axum::extract::Path<u32>) -> Response {
    if n == 0 {
        return "landed".into_response();
    }
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("/hops/{}", n - 1))],
    )
        .into_response()
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "too late"
}
