//! The server span of every HTTP request, named `{method} {route}` by the route template
//! (never the concrete path, whose ids the tenant may not have chosen, nor the query).

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;
use tracing::field::Empty;

/// The label of a method: the standard ones by name, anything else `other` (a client controls
/// it, so metric labels and span names stay bounded).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Serves the request inside its server span (a child of the client's `traceparent`, if it
/// sent one) and answers with the span's own `traceparent`. A 5xx marks the span an error;
/// a 4xx is the client's, so it does not (the OpenTelemetry HTTP conventions).
pub async fn server_span(request: Request, next: Next) -> Response {
    if !super::enabled() {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_owned();
    let method = method_label(request.method());
    let span = crate::otel_span!(
        "http request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = route,
        http.response.status_code = Empty,
        otel.status_code = Empty,
        error.type = Empty,
        tenant.id = Empty,
    );
    super::propagation::continue_from_headers(&span, request.headers());
    // The sampler decides here, once for the request: an unsampled one makes no spans at all.
    if !super::is_sampled(&span) {
        drop(span);
        return super::sampled_scope(false, next.run(request)).await;
    }
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "error");
        span.record("error.type", status.as_str());
    }
    if let Some(traceparent) = super::traceparent_header(&span) {
        response.headers_mut().insert("traceparent", traceparent);
    }
    response
}
