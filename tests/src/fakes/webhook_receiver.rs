//! A tenant's webhook receiver on loopback: records every delivery (headers, body, when) and
//! answers with scripted statuses (`[500, 500]` then 200), optionally with `Retry-After`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::FakeServer;

/// One delivery as received.
#[derive(Debug, Clone)]
pub struct ReceivedDelivery {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl ReceivedDelivery {
    /// A header's value, or "".
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("delivery body is JSON")
    }
}

#[derive(Default)]
struct Script {
    answers: VecDeque<(u16, Option<u64>)>,
    otherwise: u16,
    received: Vec<ReceivedDelivery>,
    /// How long each answer takes (a slow receiver).
    delay: std::time::Duration,
}

/// A running receiver.
#[derive(Clone)]
pub struct WebhookReceiver {
    pub server: Arc<FakeServer>,
    script: Arc<Mutex<Script>>,
}

impl WebhookReceiver {
    /// Answers `answers` in turn (status, `Retry-After` seconds), then `otherwise` forever.
    pub async fn start(answers: &[(u16, Option<u64>)], otherwise: u16) -> Self {
        let script = Arc::new(Mutex::new(Script {
            answers: answers.iter().copied().collect(),
            otherwise,
            received: Vec::new(),
            delay: std::time::Duration::ZERO,
        }));
        let router = Router::new()
            .route("/hook", post(receive))
            .with_state(script.clone());
        Self {
            server: Arc::new(FakeServer::start(router).await),
            script,
        }
    }

    /// `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        format!("{}/hook", self.server.origin())
    }

    /// Makes every later answer take `delay` (recorded on arrival, answered after).
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.script.lock().unwrap_or_else(|p| p.into_inner()).delay = delay;
    }

    /// Every delivery so far.
    pub fn received(&self) -> Vec<ReceivedDelivery> {
        self.script
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .received
            .clone()
    }
}

async fn receive(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (status, retry_after, delay) = {
        let mut script = script.lock().unwrap_or_else(|p| p.into_inner());
        script.received.push(ReceivedDelivery {
            headers,
            body,
            at: Instant::now(),
        });
        let (status, retry_after) = script
            .answers
            .pop_front()
            .unwrap_or((script.otherwise, None));
        (status, retry_after, script.delay)
    };
    tokio::time::sleep(delay).await;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    match retry_after {
        Some(secs) => (status, [(header::RETRY_AFTER, secs.to_string())], "").into_response(),
        None => (status, "").into_response(),
    }
}
