//! The success envelope: `{"ok": true, "data": ..., "request_id": "..."}`, written as JSON.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::connection::{Answer, ServedBy};
use crate::request_id;

/// Bytes reserved for an answer before it is written. Default: 8 KiB.
const INITIAL_BODY_BYTES: usize = 8 << 10;

/// A successful answer: `{"ok": true, "data": ..., "request_id": "..."}`.
pub struct Envelope<T> {
    /// What the answer carries, written as `data`.
    pub data: T,
    /// The HTTP status: 200, or 201 for what was created.
    pub status: StatusCode,
    /// The plugin version that served the answer, when a plugin did.
    pub served_by: Option<ServedBy>,
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
            served_by: None,
        }
    }

    /// 201 Created.
    pub fn created(data: T) -> Self {
        Self {
            status: StatusCode::CREATED,
            ..Self::ok(data)
        }
    }

    /// 200 OK with what a plugin answered, naming the version that served it.
    pub fn served(answer: Answer<T>) -> Self {
        Self {
            served_by: Some(answer.served_by),
            ..Self::ok(answer.value)
        }
    }

    /// 201 Created with what a plugin answered, naming the version that served it.
    pub fn served_created(answer: Answer<T>) -> Self {
        Self {
            status: StatusCode::CREATED,
            ..Self::served(answer)
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
        // Written straight into one `Vec` (serde_json's fastest writer) that starts at a size
        // most answers fit, instead of axum's `Json`, whose 128-byte `BytesMut` is written a
        // few bytes at a time and regrown a dozen times for a page of items.
        let mut bytes = Vec::with_capacity(INITIAL_BODY_BYTES);
        match serde_json::to_writer(&mut bytes, &body) {
            Ok(()) => {
                let mut response = (
                    self.status,
                    [(header::CONTENT_TYPE, "application/json")],
                    bytes,
                )
                    .into_response();
                if let Some(served_by) = &self.served_by {
                    served_by.annotate(response.headers_mut());
                }
                response
            }
            Err(error) => crate::error::ApiError::new(
                crate::error::ErrorCode::InternalError,
                format!("the answer could not be written as JSON: {error}"),
            )
            .into_response(),
        }
    }
}
