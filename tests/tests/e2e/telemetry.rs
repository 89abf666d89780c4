//! OpenTelemetry traces from the real binary to a collector fake: one trace per request down to
//! the vendor call, a client's `traceparent` continued (HTTP header and MCP `_meta`), tool
//! errors marked, nothing secret in any attribute, and a dead or stalled collector costing the
//! requests nothing while the dropped spans are counted.

use std::time::Duration;

use connector_tests::fakes::{CollectedSpan, OtlpCollector, ProbeVendor};
use connector_tests::harness::{self, HostProcess, PROCESS_ADMIN_TOKEN, ProcessApi};
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation, ProtocolVersion,
    RequestMetaObject,
};
use rmcp::service::{ClientLifecycleMode, serve_client_with_lifecycle};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;

/// The vendor token of the probe connection: no exported attribute may carry it.
const VENDOR_TOKEN: &str = "vendor-token-5ee3c0a1b2";

/// A probe vendor, a host process exporting to `collector`, tenant `traced` with one
/// connection.
struct Traced {
    _vendor: ProbeVendor,
    _data: tempfile::TempDir,
    host: HostProcess,
    api: ProcessApi,
    key: String,
    connection: String,
}

impl Traced {
    async fn start(telemetry: &[(&str, &str)]) -> Self {
        connector_host::install_crypto_provider();
        let vendor = ProbeVendor::start().await;
        let data = tempfile::tempdir().unwrap();
        let plugins = data.path().join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::copy(harness::plugin_path("probe"), plugins.join("probe.wasm")).unwrap();
        let mut env = vec![
            ("CONNECTOR_HOST_ADMIN_TOKEN", PROCESS_ADMIN_TOKEN),
            ("CONNECTOR_HOST_TELEMETRY__ENABLED", "true"),
            ("CONNECTOR_HOST_TELEMETRY__EXPORT_DELAY_MS", "50"),
        ];
        env.extend_from_slice(telemetry);
        let host = HostProcess::start(data.path(), &plugins, &env).await;
        let api = ProcessApi::of(&host);
        let key = api.tenant_key("traced").await;
        let (status, created) = api
            .create(&key, &vendor.origin(), VENDOR_TOKEN)
            .await
            .unwrap();
        assert_eq!(status, 201, "{created}");
        let connection = created["data"]["id"].as_str().unwrap().to_owned();
        Self {
            _vendor: vendor,
            _data: data,
            host,
            api,
            key,
            connection,
        }
    }
}

/// An MCP client of the host at `base` with `key`, on the current protocol (stateless).
async fn mcp_client(
    base: &str,
    key: &str,
) -> rmcp::service::RunningService<rmcp::service::RoleClient, ClientConfig> {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp"))
        .auth_header(key.to_owned());
    let info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("connector-tests", "1"),
    );
    serve_client_with_lifecycle(
        info,
        StreamableHttpClientTransport::from_config(config),
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::LATEST],
        },
    )
    .await
    .expect("the MCP client connects")
}

fn named<'a>(spans: &'a [CollectedSpan], name: &str) -> Vec<&'a CollectedSpan> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn child_of<'a>(spans: &'a [CollectedSpan], parent: &CollectedSpan) -> Vec<&'a CollectedSpan> {
    spans
        .iter()
        .filter(|s| s.parent_span_id == parent.span_id && s.trace_id == parent.trace_id)
        .collect()
}

/// No attribute of any span (or its resource) carries a secret, the tenant's API key, a query
/// string or a header.
fn assert_nothing_secret(spans: &[CollectedSpan], secrets: &[&str]) {
    assert!(!spans.is_empty());
    for span in spans {
        let events = span
            .events
            .iter()
            .flat_map(|(name, attributes)| std::iter::once((name, name)).chain(attributes.iter()));
        for (key, value) in span
            .attributes
            .iter()
            .chain(span.resource.iter())
            .chain(events)
        {
            for secret in secrets {
                assert!(
                    !value.contains(secret) && !key.contains(secret),
                    "span `{}` exports a secret in `{key}`: {value}",
                    span.name
                );
            }
            assert!(
                !value.contains('?') && !value.to_ascii_lowercase().contains("bearer"),
                "span `{}` exports a query or a header in `{key}`: {value}",
                span.name
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_call_is_one_trace_from_the_clients_traceparent_down_to_the_vendor_request() {
    let collector = OtlpCollector::start().await;
    let endpoint = collector.http_endpoint();
    let traced = Traced::start(&[("CONNECTOR_HOST_TELEMETRY__ENDPOINT", &endpoint)]).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let client_span = "00f067aa0ba902b7";
    let response = traced
        .api
        .client
        .get(format!(
            "{}/api/v1/connections/{}/containers?limit=5",
            traced.host.base, traced.connection
        ))
        .bearer_auth(&traced.key)
        .header("traceparent", format!("00-{trace_id}-{client_span}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The answer names the host's span in the same trace.
    let answered = response.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        answered.starts_with(&format!("00-{trace_id}-")) && !answered.contains(client_span),
        "{answered}"
    );

    let route = "GET /api/v1/connections/{id}/containers";
    // A span ends after its children: once the server span is in, the chain is.
    let spans = collector.wait_for(|s| s.name == route).await;
    let server = named(&spans, route);
    assert_eq!(server.len(), 1, "one server span: {spans:#?}");
    let server = server[0];
    assert_eq!(server.trace_id, trace_id);
    assert_eq!(
        server.parent_span_id, client_span,
        "a child of the client's span"
    );
    assert_eq!(answered, format!("00-{trace_id}-{}-01", server.span_id));
    assert_eq!(server.kind, 2, "server");
    assert_eq!(
        server.attr("http.route"),
        Some("/api/v1/connections/{id}/containers")
    );
    assert_eq!(server.attr("http.response.status_code"), Some("200"));
    assert_eq!(server.attr("tenant.id"), Some("traced"));
    assert_eq!(
        server.resource.get("service.name").map(String::as_str),
        Some("connector-host")
    );

    // The plugin call under it, and the vendor request under that.
    let call = child_of(&spans, server)
        .into_iter()
        .find(|s| s.name == "probe containers")
        .unwrap_or_else(|| panic!("no plugin call span under the server span: {spans:#?}"));
    assert_eq!(call.attr("connector"), Some("probe"));
    assert_eq!(call.attr("operation"), Some("containers"));
    assert_eq!(call.attr("tenant.id"), Some("traced"));
    assert_eq!(call.attr("connection.id"), Some(traced.connection.as_str()));
    assert_eq!(call.attr("outcome"), Some("ok"));
    assert_eq!(call.attr("plugin.contract"), Some("0.3.0"));
    assert_eq!(call.attr("egress.requests"), Some("1"));
    assert!(
        call.attr("wasm.memory.bytes")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    let egress = child_of(&spans, call);
    assert_eq!(egress.len(), 1, "{spans:#?}");
    assert_eq!(egress[0].name, "GET");
    assert_eq!(egress[0].kind, 3, "client");
    assert_eq!(egress[0].attr("server.address"), Some("127.0.0.1"));
    assert_eq!(egress[0].attr("http.response.status_code"), Some("200"));
    assert_nothing_secret(&spans, &[VENDOR_TOKEN, &traced.key]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_tool_call_continues_the_meta_traceparent_and_a_tool_error_is_a_span_error() {
    let collector = OtlpCollector::start().await;
    let endpoint = collector.http_endpoint();
    let traced = Traced::start(&[("CONNECTOR_HOST_TELEMETRY__ENDPOINT", &endpoint)]).await;
    let client = mcp_client(&traced.host.base, &traced.key).await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let agent_span = "b7ad6b7169203331";
    let mut meta = RequestMetaObject::default();
    meta.set_traceparent(format!("00-{trace_id}-{agent_span}-01"));
    let mut listed = CallToolRequestParams::new("probe.list_containers")
        .with_arguments(json!({}).as_object().unwrap().clone());
    listed.meta = Some(meta);
    let ok = client.call_tool(listed).await.unwrap();
    assert_ne!(ok.is_error, Some(true), "{ok:?}");
    let missing = CallToolRequestParams::new("probe.get_item")
        .with_arguments(json!({"item_id": "missing"}).as_object().unwrap().clone());
    let failed = client.call_tool(missing).await.unwrap();
    assert_eq!(failed.is_error, Some(true), "{failed:?}");

    // The HTTP request's span of the failed call ends after everything under it; the listed
    // call's tool span is a root of the agent's trace.
    let spans = collector
        .wait_until(|spans| {
            let under_http = named(spans, "tools/call probe.get_item")
                .iter()
                .any(|tool| {
                    spans
                        .iter()
                        .any(|s| s.name == "POST /mcp" && s.span_id == tool.parent_span_id)
                });
            under_http && !named(spans, "tools/call probe.list_containers").is_empty()
        })
        .await;
    let listed = named(&spans, "tools/call probe.list_containers");
    assert_eq!(listed.len(), 1, "{spans:#?}");
    let listed = listed[0];
    assert_eq!(listed.trace_id, trace_id, "the agent's trace continues");
    assert_eq!(listed.parent_span_id, agent_span);
    assert_eq!(listed.attr("mcp.method.name"), Some("tools/call"));
    assert_eq!(
        listed.attr("gen_ai.tool.name"),
        Some("probe.list_containers")
    );
    assert_eq!(listed.attr("gen_ai.operation.name"), Some("execute_tool"));
    assert_eq!(listed.attr("tenant.id"), Some("traced"));
    assert_eq!(
        listed.status, 0,
        "a successful tool leaves the status unset"
    );
    let call = child_of(&spans, listed);
    assert!(
        call.iter().any(|s| s.name == "probe containers"),
        "{spans:#?}"
    );

    // The failed tool: a JSON-RPC success, an error span; under the HTTP request's span.
    let failed = named(&spans, "tools/call probe.get_item")[0];
    assert_eq!(failed.status, 2, "error");
    assert_eq!(failed.attr("error.type"), Some("NOT_FOUND"));
    let http = spans
        .iter()
        .find(|s| s.span_id == failed.parent_span_id)
        .expect("the HTTP request's span is its parent");
    assert_eq!(http.name, "POST /mcp");
    assert_eq!(http.status, 0, "the HTTP answer was a 200");
    let item = child_of(&spans, failed)
        .into_iter()
        .find(|s| s.name == "probe item")
        .unwrap();
    assert_eq!(item.status, 2);
    assert_eq!(item.attr("error.type"), Some("connector.not_found"));
    assert_nothing_secret(&spans, &[VENDOR_TOKEN, &traced.key]);
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_a_grpc_collector_too() {
    let collector = OtlpCollector::start().await;
    let endpoint = collector.grpc_endpoint();
    let traced = Traced::start(&[
        ("CONNECTOR_HOST_TELEMETRY__PROTOCOL", "grpc"),
        ("CONNECTOR_HOST_TELEMETRY__ENDPOINT", &endpoint),
    ])
    .await;
    let (status, _) = traced
        .api
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/connections/{}/containers", traced.connection),
            &traced.key,
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    let spans = collector.wait_for(|s| s.name == "probe containers").await;
    assert!(named(&spans, "GET /api/v1/connections/{id}/containers").len() == 1);
}

/// `/metrics` of the host, as its operator reads it.
async fn metrics_text(traced: &Traced) -> String {
    traced
        .api
        .client
        .get(format!("{}/metrics", traced.host.base))
        .bearer_auth(PROCESS_ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// `telemetry_spans_dropped_total{reason}` from the host's metrics.
async fn dropped(traced: &Traced, reason: &str) -> u64 {
    let text = metrics_text(traced).await;
    text.lines()
        .filter(|line| {
            line.starts_with("telemetry_spans_dropped_total")
                && line.contains(&format!("reason=\"{reason}\""))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

async fn serve_calls(traced: &Traced, calls: usize) {
    for _ in 0..calls {
        let (status, body) = traced
            .api
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/connections/{}/containers", traced.connection),
                &traced.key,
                None,
            )
            .await
            .unwrap();
        assert_eq!(status, 200, "requests are unaffected: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_or_absent_collector_costs_requests_nothing_and_drops_are_counted() {
    // A collector that takes the export and never answers: the export times out, the queue
    // (16 spans) fills, and every span past it is dropped and counted.
    let stalled = OtlpCollector::stalled().await;
    let endpoint = stalled.http_endpoint();
    let traced = Traced::start(&[
        ("CONNECTOR_HOST_TELEMETRY__ENDPOINT", &endpoint),
        ("CONNECTOR_HOST_TELEMETRY__MAX_QUEUED_SPANS", "16"),
        ("CONNECTOR_HOST_TELEMETRY__EXPORT_TIMEOUT_MS", "30000"),
    ])
    .await;
    serve_calls(&traced, 40).await;
    assert!(stalled.exports() >= 1, "the host tried to export");
    let full = dropped(&traced, "queue_full").await;
    assert!(full >= 40, "dropped spans are counted: {full}");
    // An unauthenticated flood on the surfaces that need no credentials (MCP without a key, a
    // vendor webhook route that does not exist) is refused as before; its server spans find
    // the queue full and are dropped and counted, never held.
    for n in 0..200 {
        let (path, method) = if n % 2 == 0 {
            ("/mcp", reqwest::Method::POST)
        } else {
            ("/webhooks/v1/probe/no-such-route", reqwest::Method::POST)
        };
        let status = traced
            .api
            .client
            .request(method, format!("{}{path}", traced.host.base))
            .body("{}")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert!((400..500).contains(&status), "{path}: {status}");
    }
    let after = dropped(&traced, "queue_full").await;
    assert!(
        after >= full + 200,
        "the flood's spans were dropped: {full} then {after}"
    );

    // Nothing listens at all: exports fail fast, requests are still served.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{closed}/v1/traces");
    let traced = Traced::start(&[
        ("CONNECTOR_HOST_TELEMETRY__ENDPOINT", &endpoint),
        ("CONNECTOR_HOST_TELEMETRY__EXPORT_TIMEOUT_MS", "500"),
    ])
    .await;
    serve_calls(&traced, 10).await;
    let mut lost = 0;
    for _ in 0..100 {
        lost = dropped(&traced, "export_failed").await + dropped(&traced, "export_timeout").await;
        if lost > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(lost > 0, "failed exports are counted");
}

/// The instruments the operate docs and the Grafana dashboard name are exported: request,
/// plugin, vendor-request and MCP histograms with bounded labels, sandbox slots, and the
/// queues' depths; every metric the dashboard queries is documented.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboards_metrics_are_exported_with_bounded_labels() {
    use connector_tests::harness::TestServer;
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start_with(|config| config.oauth_sweep_interval_secs = 1).await;
    let key = server.tenant("measured").await;
    let connection = server.probe_connection(&key, &vendor.origin(), "t").await;
    let (status, _) = server
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/connections/{connection}/items/missing"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let client = mcp_client(&server.base, &key).await;
    let failed = client
        .call_tool(
            CallToolRequestParams::new("probe.get_item")
                .with_arguments(json!({"item_id": "missing"}).as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    assert_eq!(failed.is_error, Some(true));
    client.cancel().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let text = server.metrics().await;
    for expected in [
        r#"plugin_call_duration_seconds_count{plugin="probe",operation="item",outcome="connector_error"}"#,
        r#"egress_request_duration_seconds_count{requester="probe",outcome="4xx"}"#,
        r#"egress_request_duration_seconds_count{requester="probe",outcome="2xx"}"#,
        r#"mcp_operation_duration_seconds_count{method="tools/call",outcome="tool_error"}"#,
        r#"sandbox_slots_in_use{kind="api"}"#,
        r#"sandbox_slots_in_use_by_tenant{tenant="measured"} 0"#,
        "sync_runs_due ",
        "webhook_deliveries_due ",
        "vendor_webhooks_queued ",
    ] {
        assert!(
            text.lines().any(|line| line.starts_with(expected)),
            "`{expected}` is not exported:\n{text}"
        );
    }
    assert!(!text.contains(&connection), "no connection id in a label");

    // Every metric the dashboard queries is one the operate docs list.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/src/operate");
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let docs = std::fs::read_to_string(format!("{root}/metrics.md")).unwrap();
    let mut queried = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let mut rest = expr;
            while let Some(start) = rest.find(|c: char| c.is_ascii_lowercase()) {
                let tail = &rest[start..];
                let end = tail
                    .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                    .unwrap_or(tail.len());
                let (word, after) = tail.split_at(end);
                rest = after;
                // A function or a label is not a metric; metrics have a `_` and are followed
                // by a selector, a range or a closing parenthesis.
                if !word.contains('_') || !after.starts_with(['{', '[', ')']) {
                    continue;
                }
                let metric = ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|suffix| word.strip_suffix(suffix))
                    .unwrap_or(word);
                assert!(
                    docs.contains(&format!("| `{metric}` |")),
                    "the dashboard queries `{metric}`, which the metrics page does not list"
                );
                queried += 1;
            }
        }
    }
    assert!(queried >= 15, "{queried}");
}

/// With `export_metrics`, the instruments `/metrics` serves also go to the collector over OTLP,
/// with the same labels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_go_over_otlp_too() {
    let collector = OtlpCollector::start().await;
    let endpoint = collector.http_endpoint();
    let traced = Traced::start(&[
        ("CONNECTOR_HOST_TELEMETRY__ENDPOINT", &endpoint),
        ("CONNECTOR_HOST_TELEMETRY__EXPORT_METRICS", "true"),
        ("CONNECTOR_HOST_TELEMETRY__METRICS_INTERVAL_MS", "200"),
    ])
    .await;
    serve_calls(&traced, 2).await;
    // Exports run every 200 ms: wait for one taken after the calls (an earlier one may hold
    // only the connection's `validate`).
    let served = |metrics: &connector_tests::fakes::CollectedMetrics| {
        metrics.get("plugin_calls_total").is_some_and(|calls| {
            calls
                .iter()
                .any(|labels| labels.get("operation").map(String::as_str) == Some("containers"))
        }) && metrics.contains_key("plugin_call_duration_seconds")
    };
    let mut metrics = collector.metrics();
    for _ in 0..100 {
        if served(&metrics) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        metrics = collector.metrics();
    }
    let calls = metrics
        .get("plugin_calls_total")
        .unwrap_or_else(|| panic!("no plugin calls metric: {:?}", metrics.keys()));
    assert!(
        calls.iter().any(
            |labels| labels.get("plugin").map(String::as_str) == Some("probe")
                && labels.get("operation").map(String::as_str) == Some("containers")
                && labels.get("outcome").map(String::as_str) == Some("ok")
        ),
        "{calls:?}"
    );
    assert!(
        metrics.contains_key("http_requests_total"),
        "{:?}",
        metrics.keys()
    );
    assert!(metrics.contains_key("egress_request_duration_seconds"));
    // The Prometheus endpoint still answers the same instruments.
    let text = metrics_text(&traced).await;
    assert!(
        text.contains(r#"plugin_calls_total{plugin="probe",operation="containers",outcome="ok"}"#)
    );
}

/// A client's sampled `traceparent` does not force a trace past the host's ratio: at ratio 0
/// nothing reaches the collector, nothing is queued or dropped, and no `traceparent` comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_sampled_flag_does_not_force_export_past_the_ratio() {
    let collector = OtlpCollector::start().await;
    let endpoint = collector.http_endpoint();
    let traced = Traced::start(&[
        ("CONNECTOR_HOST_TELEMETRY__ENDPOINT", &endpoint),
        ("CONNECTOR_HOST_TELEMETRY__SAMPLE_RATIO", "0"),
    ])
    .await;
    for _ in 0..5 {
        let response = traced
            .api
            .client
            .get(format!(
                "{}/api/v1/connections/{}/containers",
                traced.host.base, traced.connection
            ))
            .bearer_auth(&traced.key)
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("traceparent").is_none());
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(collector.spans().is_empty(), "{:#?}", collector.spans());
    assert_eq!(collector.exports(), 0);
    let text = metrics_text(&traced).await;
    assert!(
        !text.contains("telemetry_spans_dropped_total"),
        "nothing made, nothing dropped"
    );
}

/// A plugin's log lines are events of its call's span: when each was written, the same escaped
/// text the host log gets, at most the per-call limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugins_log_lines_are_events_of_its_call_span() {
    let collector = OtlpCollector::start().await;
    let endpoint = collector.http_endpoint();
    let traced = Traced::start(&[
        ("CONNECTOR_HOST_TELEMETRY__ENDPOINT", &endpoint),
        ("CONNECTOR_HOST_LIMITS__MAX_LOG_LINES_PER_CALL", "20"),
    ])
    .await;
    // The probe's search runs a command; `chatter` writes 10,000 log lines.
    let (status, body) = traced
        .api
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/connections/{}/search?q=chatter", traced.connection),
            &traced.key,
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let spans = collector
        .wait_for(|s| s.name == "GET /api/v1/connections/{id}/search")
        .await;
    let call = named(&spans, "probe search");
    assert_eq!(call.len(), 1, "{spans:#?}");
    let events = &call[0].events;
    assert_eq!(events.len(), 20, "the per-call limit holds: {events:?}");
    let (name, attributes) = &events[0];
    assert_eq!(name, "chatter");
    assert_eq!(
        attributes.get("plugin.log.level").map(String::as_str),
        Some("info")
    );
    assert_eq!(
        attributes.get("plugin.log.fields").map(String::as_str),
        Some("n=0")
    );
    assert_nothing_secret(&spans, &[VENDOR_TOKEN, &traced.key]);
}
