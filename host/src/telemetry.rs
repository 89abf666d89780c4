//! OpenTelemetry traces: one server span per request, child spans down to each vendor request,
//! exported over OTLP (HTTP/protobuf or gRPC) when `[telemetry]` enables it.
//!
//! Spans are `tracing` spans with the target `otel`, made by [`otel_span!`](crate::otel_span):
//! while telemetry is off that macro makes no span at all (one relaxed atomic load), so the
//! call path pays nothing; while on, only these spans reach the exporter (never the host's log
//! lines, a library's span or the `request` span that carries the raw path), with a plugin's
//! own log lines as events of its call's span, and the log output is the same as with
//! telemetry off. What a span may carry is decided where it is made: route
//! templates, ids the tenant chose (`tenant.id`, `connection.id`), plugin ids, vendor hosts,
//! statuses and error codes; never a query string, a header, a body, a secret.

mod export_queue;
mod http_server;
mod propagation;
mod sampler;
mod settings;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::SdkTracerProvider;

pub use http_server::{method_label, server_span};
pub use propagation::{continue_trace, traceparent_header};
pub use settings::{OtlpProtocol, TelemetrySettings};

/// Set once at start when spans are exported.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// The `metrics` recorder that turns the host's instruments into OpenTelemetry ones, when
/// metrics are exported; the Prometheus recorder fans out to it (`api::metrics`).
static METRICS: std::sync::OnceLock<metrics_exporter_opentelemetry::Recorder> =
    std::sync::OnceLock::new();

/// The recorder feeding the OTLP metrics exporter, when `telemetry.export_metrics` is on.
pub fn metrics_recorder() -> Option<metrics_exporter_opentelemetry::Recorder> {
    METRICS.get().cloned()
}

tokio::task_local! {
    /// Set for a request whose server span the sampler dropped: nothing under it would be
    /// exported, so no span is made under it at all.
    static UNTRACED: bool;
}

/// Whether spans are exported here: telemetry is on and this task does not serve a request
/// whose trace was not sampled. [`otel_span!`](crate::otel_span) makes none otherwise.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed) && !UNTRACED.try_with(|untraced| *untraced).unwrap_or(false)
}

/// Whether `span` will be exported (its trace was sampled). Starts the span: call it after
/// [`continue_trace`].
pub fn is_sampled(span: &tracing::Span) -> bool {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    !span.is_disabled() && span.context().span().span_context().is_sampled()
}

/// Whether telemetry is on at all, whatever the sampler decided for the request being served.
pub fn active() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Makes a span with `make` even inside a request the sampler dropped (an MCP tool call that
/// continues the agent's own trace).
pub fn regardless_of_request<R>(make: impl FnOnce() -> R) -> R {
    UNTRACED.sync_scope(false, make)
}

/// Runs `work` with spans made (`sampled`) or not made at all under it.
pub async fn sampled_scope<F: std::future::Future>(sampled: bool, work: F) -> F::Output {
    UNTRACED.scope(!sampled, work).await
}

/// A span for export (target `otel`, level INFO), or [`tracing::Span::none`] while telemetry
/// is off. Takes what `tracing::info_span!` takes after the target.
#[macro_export]
macro_rules! otel_span {
    ($($arguments:tt)+) => {
        if $crate::telemetry::enabled() {
            ::tracing::info_span!(target: "otel", $($arguments)+)
        } else {
            ::tracing::Span::none()
        }
    };
}

/// Records `tenant.id` on the current span (the request's server span) once the caller is
/// known; a no-op without one.
pub fn record_tenant(tenant: &str) {
    if enabled() {
        tracing::Span::current().record("tenant.id", tenant);
    }
}

/// The running exporter; [`Telemetry::shutdown`] sends what is queued.
pub struct Telemetry {
    provider: SdkTracerProvider,
    closer: export_queue::QueueCloser,
    meters: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
}

impl Telemetry {
    /// Starts the exporter (on the current tokio runtime) and answers the `tracing` layer that
    /// feeds it, filtered to `otel` spans; `None` when telemetry is off.
    pub fn start<S>(
        settings: &TelemetrySettings,
    ) -> anyhow::Result<Option<(impl tracing_subscriber::Layer<S> + use<S>, Self)>>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        use tracing_subscriber::Layer as _;
        if !settings.active() {
            return Ok(None);
        }
        let exporter = match settings.resolved_protocol()? {
            OtlpProtocol::HttpProtobuf => {
                let builder = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_timeout(settings.export_timeout());
                match &settings.endpoint {
                    Some(endpoint) => builder.with_endpoint(endpoint).build(),
                    None => builder.build(),
                }
            }
            OtlpProtocol::Grpc => {
                let builder = opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_timeout(settings.export_timeout());
                match &settings.endpoint {
                    Some(endpoint) => builder.with_endpoint(endpoint).build(),
                    None => builder.build(),
                }
            }
        }
        .context("could not set up the OTLP span exporter")?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(settings.resolved_service_name())
            .with_attribute(opentelemetry::KeyValue::new(
                "service.version",
                env!("CARGO_PKG_VERSION"),
            ))
            .build();
        // The queue owns the exporter, so the resource is given to it here rather than
        // through the provider (which hands it to processors, not to what they wrap).
        let mut exporter = exporter;
        opentelemetry_sdk::trace::SpanExporter::set_resource(&mut exporter, &resource);
        let queue = export_queue::ExportQueue::start(
            exporter,
            export_queue::QueueLimits {
                max_queued: settings.max_queued_spans,
                max_batch: settings.max_export_batch,
                delay: settings.export_delay(),
                timeout: settings.export_timeout(),
            },
        );
        let closer = queue.closer();
        let meters = if settings.export_metrics {
            Some(start_metrics(settings, resource.clone())?)
        } else {
            None
        };
        let provider = SdkTracerProvider::builder()
            .with_span_processor(queue)
            .with_sampler(sampler::for_ratio(settings.resolved_ratio()?))
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("connector-host");
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_level(false)
            .with_tracked_inactivity(false)
            // Contexts are read from the spans themselves (`OpenTelemetrySpanExt::context`),
            // never from `Context::current()`: attaching one on every poll of every
            // instrumented future cost the call path for nothing.
            .with_context_activation(false)
            // Only the host's own spans, and the events written for them (a plugin's log
            // lines), ever reach the exporter.
            .with_filter(tracing_subscriber::filter::filter_fn(|metadata| {
                metadata.target() == "otel"
            }));
        ENABLED.store(true, Ordering::Relaxed);
        Ok(Some((
            layer,
            Self {
                provider,
                closer,
                meters,
            },
        )))
    }

    /// Stops making spans and sends what is queued, waiting at most `deadline`.
    pub async fn shutdown(self, deadline: Duration) {
        ENABLED.store(false, Ordering::Relaxed);
        self.closer.close(deadline).await;
        let _ = self.provider.shutdown();
        if let Some(meters) = self.meters {
            // The reader's shutdown exports once more and waits for it on this thread.
            let _ = tokio::time::timeout(
                deadline,
                tokio::task::spawn_blocking(move || meters.shutdown()),
            )
            .await;
        }
    }
}

/// Starts exporting the host's metrics over OTLP every `metrics_interval_ms`, read on the
/// tokio runtime, and makes the recorder [`metrics_recorder`] answers.
fn start_metrics(
    settings: &TelemetrySettings,
    resource: opentelemetry_sdk::Resource,
) -> anyhow::Result<opentelemetry_sdk::metrics::SdkMeterProvider> {
    use opentelemetry::metrics::MeterProvider as _;
    let protocol = settings.resolved_protocol()?;
    let endpoint = settings.resolved_metrics_endpoint(protocol);
    let exporter = match protocol {
        OtlpProtocol::HttpProtobuf => {
            let builder = opentelemetry_otlp::MetricExporter::builder()
                .with_http()
                .with_timeout(settings.export_timeout());
            match endpoint {
                Some(endpoint) => builder.with_endpoint(endpoint).build(),
                None => builder.build(),
            }
        }
        OtlpProtocol::Grpc => {
            let builder = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_timeout(settings.export_timeout());
            match endpoint {
                Some(endpoint) => builder.with_endpoint(endpoint).build(),
                None => builder.build(),
            }
        }
    }
    .context("could not set up the OTLP metric exporter")?;
    let reader =
        opentelemetry_sdk::metrics::periodic_reader_with_async_runtime::PeriodicReader::builder(
            exporter,
            opentelemetry_sdk::runtime::Tokio,
        )
        .with_interval(std::time::Duration::from_millis(
            settings.metrics_interval_ms.max(100),
        ))
        .build();
    let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(reader)
        .with_resource(resource)
        .build();
    let recorder =
        metrics_exporter_opentelemetry::Recorder::with_meter(provider.meter("connector-host"));
    let _ = METRICS.set(recorder);
    Ok(provider)
}
