//! A request refused for its body size (413) is answered before its body is read, so the
//! server cannot read the next request on that connection and closes it. Saying
//! `Connection: close` tells the client, which otherwise may put the connection back in its
//! pool and send its next request into the closing socket.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

pub async fn mark(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
