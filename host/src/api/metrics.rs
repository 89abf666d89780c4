//! Prometheus metrics: requests by route and status, latency, and plugin calls by outcome.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::{ApiError, App};
use crate::app::callers::Admin;

/// Latency buckets in seconds, from a cached call (~ms) to a slow vendor (~30 s).
const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process-wide recorder; installed once, shared by every server in the process.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (an embedding app); then this handle
            // renders nothing, which is better than failing to start. With metrics exported
            // over OTLP, every instrument goes to both.
            let _installed = match crate::telemetry::metrics_recorder() {
                Some(otlp) => metrics::set_global_recorder(
                    metrics_util::layers::FanoutBuilder::default()
                        .add_recorder(recorder)
                        .add_recorder(otlp)
                        .build(),
                )
                .is_ok(),
                None => metrics::set_global_recorder(recorder).is_ok(),
            };
            handle
        })
        .clone()
}

/// Counts and times every request by its route template (never the concrete path, whose ids
/// would make the label set unbounded) and its method, if a standard one: a client controls
/// both, so anything else is one label, `other`, and the label set stays bounded.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = crate::telemetry::method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "route" => route.clone(), "method" => method, "status" => status).increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: needs the admin token unless the operator made it public
/// (`metrics_public`) or serves it on its own address (`metrics_listen`).
pub async fn render(
    State(state): State<App>,
    admin: Result<Admin, ApiError>,
) -> Result<Response, ApiError> {
    if !state.settings.metrics_public {
        admin?;
    }
    Ok(render_open(State(state)).await)
}

/// `GET /metrics` on the operator's own metrics address: no token.
pub async fn render_open(State(state): State<App>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
        .into_response()
}
