//! An OpenTelemetry collector for the telemetry tests: it takes OTLP trace exports over
//! HTTP/protobuf (`POST /v1/traces`) and over gRPC (`TraceService/Export`, HTTP/2 without TLS),
//! decodes them with the protocol's own messages (`opentelemetry-proto`), and keeps every span
//! flattened for assertions. It can also stall, like a collector that accepts and never
//! answers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message as _;

use super::FakeServer;

/// One exported span, flattened.
#[derive(Debug, Clone)]
pub struct CollectedSpan {
    /// Lowercase hex, 32 digits.
    pub trace_id: String,
    /// Lowercase hex, 16 digits.
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    /// The span name.
    pub name: String,
    /// 1 internal, 2 server, 3 client (the protocol's numbers).
    pub kind: i32,
    /// 0 unset, 1 ok, 2 error.
    pub status: i32,
    /// Every attribute, its value as text.
    pub attributes: BTreeMap<String, String>,
    /// The resource's attributes (`service.name`, ...).
    pub resource: BTreeMap<String, String>,
    /// The span's events: name and attributes.
    pub events: Vec<(String, BTreeMap<String, String>)>,
}

impl CollectedSpan {
    /// An attribute's value as text.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// Metrics received: name -> the attributes of each data point of its latest export.
pub type CollectedMetrics = BTreeMap<String, Vec<BTreeMap<String, String>>>;

/// The collector.
pub struct OtlpCollector {
    server: FakeServer,
    spans: Arc<Mutex<Vec<CollectedSpan>>>,
    metrics: Arc<Mutex<CollectedMetrics>>,
    exports: Arc<Mutex<u32>>,
}

#[derive(Clone)]
struct Shared {
    /// Count exports and drop them undecoded (a collector on another machine, for the bench).
    discard: bool,
    spans: Arc<Mutex<Vec<CollectedSpan>>>,
    /// Metric name -> the attribute sets of its data points, latest export.
    metrics: Arc<Mutex<CollectedMetrics>>,
    exports: Arc<Mutex<u32>>,
    stall: bool,
}

impl OtlpCollector {
    /// A collector that answers every export at once.
    pub async fn start() -> Self {
        Self::start_with(false, false).await
    }

    /// A collector that accepts exports and never answers them.
    pub async fn stalled() -> Self {
        Self::start_with(true, false).await
    }

    /// A collector that answers at once and keeps nothing but the count of exports: for
    /// measuring the host, where decoding would take the CPU the host is measured on.
    pub async fn sink() -> Self {
        Self::start_with(false, true).await
    }

    async fn start_with(stall: bool, discard: bool) -> Self {
        let shared = Shared {
            discard,
            spans: Arc::default(),
            metrics: Arc::default(),
            exports: Arc::default(),
            stall,
        };
        let router = axum::Router::new()
            .route("/v1/traces", post(http_export))
            .route("/v1/metrics", post(http_metrics))
            .route(
                "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                post(grpc_export),
            )
            .with_state(shared.clone());
        Self {
            server: FakeServer::start(router).await,
            spans: shared.spans,
            metrics: shared.metrics,
            exports: shared.exports,
        }
    }

    /// The HTTP endpoint: `http://127.0.0.1:PORT/v1/traces`.
    pub fn http_endpoint(&self) -> String {
        format!("{}/v1/traces", self.server.origin())
    }

    /// The gRPC endpoint: `http://127.0.0.1:PORT`.
    pub fn grpc_endpoint(&self) -> String {
        self.server.origin()
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<CollectedSpan> {
        self.spans.lock().unwrap().clone()
    }

    /// Metrics received: name -> the attributes of each data point.
    pub fn metrics(&self) -> CollectedMetrics {
        self.metrics.lock().unwrap().clone()
    }

    /// Export requests received (answered or not).
    pub fn exports(&self) -> u32 {
        *self.exports.lock().unwrap()
    }

    /// Waits (up to 15 s) until a span matching `found` arrived; all spans then.
    pub async fn wait_for(&self, found: impl Fn(&CollectedSpan) -> bool) -> Vec<CollectedSpan> {
        self.wait_until(|spans| spans.iter().any(&found)).await
    }

    /// Waits (up to 15 s) until the spans received satisfy `done`; all spans then.
    pub async fn wait_until(&self, done: impl Fn(&[CollectedSpan]) -> bool) -> Vec<CollectedSpan> {
        for _ in 0..300 {
            let spans = self.spans();
            if done(&spans) {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the span never arrived; received: {:#?}",
            self.spans()
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        );
    }
}

fn record(shared: &Shared, request: ExportTraceServiceRequest) {
    let mut spans = shared.spans.lock().unwrap();
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|r| flatten(r.attributes))
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                spans.push(CollectedSpan {
                    trace_id: hex::encode(&span.trace_id),
                    span_id: hex::encode(&span.span_id),
                    parent_span_id: hex::encode(&span.parent_span_id),
                    name: span.name,
                    kind: span.kind,
                    status: span.status.map_or(0, |s| s.code),
                    attributes: flatten(span.attributes),
                    resource: resource.clone(),
                    events: span
                        .events
                        .into_iter()
                        .map(|event| (event.name, flatten(event.attributes)))
                        .collect(),
                });
            }
        }
    }
}

fn flatten(
    attributes: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
) -> BTreeMap<String, String> {
    attributes
        .into_iter()
        .map(|kv| {
            let value = match kv.value.and_then(|v| v.value) {
                Some(AnyValue::StringValue(s)) => s,
                Some(AnyValue::IntValue(i)) => i.to_string(),
                Some(AnyValue::BoolValue(b)) => b.to_string(),
                Some(AnyValue::DoubleValue(d)) => d.to_string(),
                Some(other) => format!("{other:?}"),
                None => String::new(),
            };
            (kv.key, value)
        })
        .collect()
}

async fn arrive(shared: &Shared) {
    *shared.exports.lock().unwrap() += 1;
    if shared.stall {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

async fn http_export(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    arrive(&shared).await;
    if shared.discard {
        return (
            [("content-type", "application/x-protobuf")],
            Vec::<u8>::new(),
        )
            .into_response();
    }
    if headers.get("content-type").map(HeaderValue::as_bytes) != Some(b"application/x-protobuf") {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "protobuf only").into_response();
    }
    match ExportTraceServiceRequest::decode(body) {
        Ok(request) => {
            record(&shared, request);
            (
                [("content-type", "application/x-protobuf")],
                Vec::<u8>::new(),
            )
                .into_response()
        }
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

async fn http_metrics(State(shared): State<Shared>, body: Bytes) -> Response {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    arrive(&shared).await;
    let Ok(request) = ExportMetricsServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, "not OTLP metrics").into_response();
    };
    let mut metrics = shared.metrics.lock().unwrap();
    for resource in request.resource_metrics {
        for scope in resource.scope_metrics {
            for metric in scope.metrics {
                let points: Vec<BTreeMap<String, String>> = match metric.data {
                    Some(Data::Sum(sum)) => sum
                        .data_points
                        .into_iter()
                        .map(|p| flatten(p.attributes))
                        .collect(),
                    Some(Data::Gauge(gauge)) => gauge
                        .data_points
                        .into_iter()
                        .map(|p| flatten(p.attributes))
                        .collect(),
                    Some(Data::Histogram(histogram)) => histogram
                        .data_points
                        .into_iter()
                        .map(|p| flatten(p.attributes))
                        .collect(),
                    _ => Vec::new(),
                };
                metrics.insert(metric.name, points);
            }
        }
    }
    (
        [("content-type", "application/x-protobuf")],
        Vec::<u8>::new(),
    )
        .into_response()
}

/// A unary gRPC call: one length-prefixed message in, one (empty) out, `grpc-status` in the
/// trailers.
async fn grpc_export(State(shared): State<Shared>, body: Bytes) -> Response {
    arrive(&shared).await;
    let status = match body.get(5..).filter(|_| body.first() == Some(&0)) {
        Some(message) => match ExportTraceServiceRequest::decode(message) {
            Ok(request) => {
                record(&shared, request);
                "0"
            }
            Err(_) => "3",
        },
        None => "12", // compressed or truncated: not expected from the host
    };
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static(status));
    // An empty ExportTraceServiceResponse: flag 0, length 0.
    let frames = futures::stream::iter([
        Ok::<_, std::convert::Infallible>(http_body::Frame::data(Bytes::from_static(&[
            0, 0, 0, 0, 0,
        ]))),
        Ok(http_body::Frame::trailers(trailers)),
    ]);
    Response::builder()
        .header("content-type", "application/grpc")
        .body(Body::new(http_body_util::StreamBody::new(frames)))
        .unwrap()
}
