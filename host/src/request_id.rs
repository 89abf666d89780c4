//! The request id: taken from the client's `X-Request-Id` or generated, kept for the request's
//! task, echoed in the answer and written into every error envelope.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// Header carrying the request id, taken from the client or generated, and echoed.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-supplied id kept; longer or non-printable ones are replaced.
const MAX_CLIENT_ID: usize = 128;

tokio::task_local! {
    /// The id of the request this task serves; read by envelopes and errors when they render,
    /// so no handler has to pass it along.
    static REQUEST_ID: String;
}

/// The id of the request being served (empty outside a request).
pub fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Takes a sane `X-Request-Id` from the client or makes one, serves the request inside its
/// scope, and echoes it on the response.
pub async fn propagate(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= MAX_CLIENT_ID && v.bytes().all(|b| b.is_ascii_graphic())
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    let mut response =
        tracing::Instrument::instrument(REQUEST_ID.scope(id.clone(), next.run(request)), span)
            .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}
