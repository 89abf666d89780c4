//! Every knob of trace export, with its default, in one place. Where a key is left unset the
//! standard `OTEL_*` variable of the OpenTelemetry specification decides, then the default.

use std::time::Duration;

/// How traces are exported (`[telemetry]`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// Export traces over OTLP. Off by default, and then no span is made at all: the call path
    /// pays nothing. `OTEL_SDK_DISABLED=true` turns it off whatever this says.
    pub enabled: bool,
    /// Where spans go. Over HTTP, the full URL (`http://collector:4318/v1/traces`); over gRPC,
    /// the collector's address (`http://collector:4317`). Unset: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
    /// then `OTEL_EXPORTER_OTLP_ENDPOINT` (with `/v1/traces` added over HTTP), then localhost
    /// on the protocol's standard port.
    pub endpoint: Option<String>,
    /// `http/protobuf` or `grpc`. Unset: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, then
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`, then `http/protobuf`.
    pub protocol: Option<OtlpProtocol>,
    /// Share of traces kept, from 0.0 to 1.0, for requests that start a trace here. A client's
    /// sampled `traceparent` is kept at the same rate, decided by the host's own random draw
    /// (the client chooses its trace ids, so they cannot decide). Unset:
    /// `OTEL_TRACES_SAMPLER_ARG`, then 1.0.
    pub sample_ratio: Option<f64>,
    /// `service.name` of every span and metric. Unset: `OTEL_SERVICE_NAME`, then
    /// `connector-host`.
    pub service_name: Option<String>,
    /// Also export the metrics (the instruments `/metrics` serves) over OTLP.
    pub export_metrics: bool,
    /// Where metrics go. Unset: `endpoint` with `/v1/traces` made `/v1/metrics` over HTTP (the
    /// same address over gRPC); without `endpoint`, `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, then
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, then localhost.
    pub metrics_endpoint: Option<String>,
    /// How often metrics are exported.
    pub metrics_interval_ms: u64,
    /// Finished spans waiting for export; past this, new spans are dropped and counted
    /// (`telemetry_spans_dropped_total`), so a slow or absent collector costs bounded memory.
    pub max_queued_spans: usize,
    /// Most spans in one export request.
    pub max_export_batch: usize,
    /// Longest a finished span waits for its batch to fill before it is sent.
    pub export_delay_ms: u64,
    /// Longest one export may take, retries included; its spans are dropped and counted past it.
    pub export_timeout_ms: u64,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            enabled: false,
            endpoint: None,
            protocol: None,
            sample_ratio: None,
            service_name: None,
            export_metrics: false,
            metrics_endpoint: None,
            metrics_interval_ms: 60_000,
            max_queued_spans: 2048,
            max_export_batch: 512,
            export_delay_ms: 1000,
            export_timeout_ms: 10_000,
        }
    }
}

/// The OTLP transport.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub enum OtlpProtocol {
    /// Protobuf over HTTP POST.
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// gRPC.
    #[serde(rename = "grpc")]
    Grpc,
}

impl TelemetrySettings {
    /// [`Self::export_delay_ms`] as a duration.
    pub fn export_delay(&self) -> Duration {
        Duration::from_millis(self.export_delay_ms)
    }

    /// [`Self::export_timeout_ms`] as a duration.
    pub fn export_timeout(&self) -> Duration {
        Duration::from_millis(self.export_timeout_ms)
    }

    /// Whether spans are exported, `OTEL_SDK_DISABLED` considered.
    pub fn active(&self) -> bool {
        self.enabled && !env_is("OTEL_SDK_DISABLED", "true")
    }

    /// The protocol: the key, else the standard variables, else HTTP.
    pub fn resolved_protocol(&self) -> anyhow::Result<OtlpProtocol> {
        if let Some(protocol) = self.protocol {
            return Ok(protocol);
        }
        let named = [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
        match named.as_deref() {
            None | Some("http/protobuf") => Ok(OtlpProtocol::HttpProtobuf),
            Some("grpc") => Ok(OtlpProtocol::Grpc),
            Some(other) => anyhow::bail!(
                "OTEL_EXPORTER_OTLP_PROTOCOL `{other}` is not supported: use `http/protobuf` or `grpc`"
            ),
        }
    }

    /// The sample ratio: the key, else `OTEL_TRACES_SAMPLER_ARG`, else 1.0; refused outside
    /// 0.0..=1.0.
    pub fn resolved_ratio(&self) -> anyhow::Result<f64> {
        let ratio = match self.sample_ratio {
            Some(ratio) => ratio,
            None => match std::env::var("OTEL_TRACES_SAMPLER_ARG") {
                Ok(text) if !text.is_empty() => text.trim().parse().map_err(|_| {
                    anyhow::anyhow!("OTEL_TRACES_SAMPLER_ARG `{text}` is not a number")
                })?,
                _ => 1.0,
            },
        };
        anyhow::ensure!(
            (0.0..=1.0).contains(&ratio),
            "telemetry.sample_ratio must be between 0.0 and 1.0, not {ratio}"
        );
        Ok(ratio)
    }

    /// The metrics endpoint: `metrics_endpoint`, else `endpoint` turned from traces to
    /// metrics, else none (the standard variables decide).
    pub fn resolved_metrics_endpoint(&self, protocol: OtlpProtocol) -> Option<String> {
        if let Some(endpoint) = &self.metrics_endpoint {
            return Some(endpoint.clone());
        }
        let endpoint = self.endpoint.as_deref()?;
        Some(match protocol {
            OtlpProtocol::Grpc => endpoint.to_owned(),
            OtlpProtocol::HttpProtobuf => match endpoint.strip_suffix("/v1/traces") {
                Some(base) => format!("{base}/v1/metrics"),
                None => endpoint.to_owned(),
            },
        })
    }

    /// `service.name`: the key, else `OTEL_SERVICE_NAME`, else `connector-host`.
    pub fn resolved_service_name(&self) -> String {
        self.service_name
            .clone()
            .or_else(|| std::env::var("OTEL_SERVICE_NAME").ok())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "connector-host".to_owned())
    }
}

fn env_is(name: &str, value: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v.trim().eq_ignore_ascii_case(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_win_and_bad_values_are_refused() {
        let settings = TelemetrySettings {
            protocol: Some(OtlpProtocol::Grpc),
            sample_ratio: Some(0.25),
            service_name: Some("edge".into()),
            ..TelemetrySettings::default()
        };
        assert_eq!(settings.resolved_protocol().unwrap(), OtlpProtocol::Grpc);
        assert_eq!(settings.resolved_ratio().unwrap(), 0.25);
        assert_eq!(settings.resolved_service_name(), "edge");
        let wrong = TelemetrySettings {
            sample_ratio: Some(1.5),
            ..TelemetrySettings::default()
        };
        assert!(wrong.resolved_ratio().is_err());
        assert!(!TelemetrySettings::default().active(), "off by default");
        let http = TelemetrySettings {
            endpoint: Some("http://collector:4318/v1/traces".into()),
            ..TelemetrySettings::default()
        };
        assert_eq!(
            http.resolved_metrics_endpoint(OtlpProtocol::HttpProtobuf)
                .as_deref(),
            Some("http://collector:4318/v1/metrics")
        );
        assert_eq!(
            http.resolved_metrics_endpoint(OtlpProtocol::Grpc)
                .as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        assert_eq!(
            TelemetrySettings::default().resolved_metrics_endpoint(OtlpProtocol::Grpc),
            None
        );
    }

    #[test]
    fn the_protocol_reads_as_the_otel_variable_spells_it() {
        let parsed: TelemetrySettings =
            serde_json::from_value(serde_json::json!({"protocol": "http/protobuf"})).unwrap();
        assert_eq!(parsed.protocol, Some(OtlpProtocol::HttpProtobuf));
        assert!(
            serde_json::from_value::<TelemetrySettings>(serde_json::json!({"protocol": "udp"}))
                .is_err()
        );
    }
}
