//! W3C Trace Context in and out: a client's `traceparent` (an HTTP header, or `params._meta`
//! of an MCP request) makes the host's span a child of the client's, and answers carry the
//! host's own `traceparent` so a client can find its request in the collector.

use axum::http::{HeaderMap, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The two W3C Trace Context fields, wherever they came from.
struct TraceFields<'a> {
    traceparent: Option<&'a str>,
    tracestate: Option<&'a str>,
}

impl Extractor for TraceFields<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => self.traceparent,
            "tracestate" => self.tracestate,
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent", "tracestate"]
    }
}

/// Makes `span` a child of the client's trace, when `traceparent` is a valid one; anything
/// else (absent, malformed, all-zero ids) leaves the span a root. The values are parsed by
/// the SDK's propagator, which refuses what the W3C format does not allow.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>, tracestate: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let fields = TraceFields {
        traceparent: Some(traceparent),
        tracestate,
    };
    let context = TraceContextPropagator::new().extract(&fields);
    if context.span().span_context().is_valid() {
        let _ = span.set_parent(context);
    }
}

/// [`continue_trace`] from HTTP headers.
pub(super) fn continue_from_headers(span: &tracing::Span, headers: &HeaderMap) {
    let field = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    continue_trace(span, field("traceparent"), field("tracestate"));
}

struct OneHeader(Option<String>);

impl Injector for OneHeader {
    fn set(&mut self, key: &str, value: String) {
        if key == "traceparent" {
            self.0 = Some(value);
        }
    }
}

/// The `traceparent` of `span`, for an answer's headers; `None` when it is not exported.
pub fn traceparent_header(span: &tracing::Span) -> Option<HeaderValue> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut header = OneHeader(None);
    TraceContextPropagator::new().inject_context(&context, &mut header);
    header
        .0
        .and_then(|value| HeaderValue::from_str(&value).ok())
}
