use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::RequestId;

/// A successful answer: `{"ok": true, "data": ..., "request_id": "..."}`.
pub struct Envelope<T> {
    pub data: T,
    pub request_id: RequestId,
}

#[derive(Serialize)]
struct Body<'a, T> {
    ok: bool,
    data: &'a T,
    request_id: &'a str,
}

impl<T: Serialize> Envelope<T> {
    pub fn new(request_id: RequestId, data: T) -> Self {
        Self { data, request_id }
    }
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(Body {
            ok: true,
            data: &self.data,
            request_id: &self.request_id.0,
        })
        .into_response()
    }
}
