use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Largest request body a fake keeps.
const MAX_RECORDED_BODY: usize = 16 << 20;

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl RecordedRequest {
    /// First value of a header (lower-case name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every request a fake received, in order.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl Recorder {
    /// Snapshot of what was received.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().expect("recorder lock").clone()
    }

    /// Requests to `path`.
    pub fn to_path(&self, path: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Wraps `router` so that every request it receives is recorded first.
    pub fn layer(&self, router: axum::Router) -> axum::Router {
        let recorder = self.clone();
        router.layer(axum::middleware::from_fn(move |request, next| {
            recorder.clone().record(request, next)
        }))
    }

    /// Middleware that records (body included), then passes the request on.
    pub async fn record(self, request: Request, next: Next) -> Response {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_RECORDED_BODY)
            .await
            .unwrap_or_default();
        let recorded = RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        v.to_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            body: (!bytes.is_empty()).then(|| bytes.to_vec()),
        };
        self.requests.lock().expect("recorder lock").push(recorded);
        next.run(Request::from_parts(parts, Body::from(bytes)))
            .await
    }
}
