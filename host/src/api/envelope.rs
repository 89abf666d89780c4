use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::request_id;

/// A successful answer: `{"ok": true, "data": ..., "request_id": "..."}`.
pub struct Envelope<T> {
    pub data: T,
    pub status: StatusCode,
}

#[derive(Serialize)]
struct Body<'a, T> {
    ok: bool,
    data: &'a T,
    request_id: String,
}

impl<T: Serialize> Envelope<T> {
    /// 200 OK.
    pub fn ok(data: T) -> Self {
        Self {
            data,
            status: StatusCode::OK,
        }
    }

    /// 201 Created.
    pub fn created(data: T) -> Self {
        Self {
            data,
            status: StatusCode::CREATED,
        }
    }
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        let body = Body {
            ok: true,
            data: &self.data,
            request_id: request_id::current(),
        };
        (self.status, Json(body)).into_response()
    }
}
