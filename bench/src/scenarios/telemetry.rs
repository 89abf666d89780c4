//! The call path with telemetry off and on: three hosts (spans off; exported at 100%; at 1%),
//! each exporting to a collector in this process (one that drops what it gets undecoded, as a
//! collector on another machine would cost this one nothing), measured in turns in the same rounds on the
//! probe's small page (where a fixed cost shows most) and the Jira issues page.

use std::time::Duration;

use connector_tests::fakes::realistic::RealisticVendor;
use connector_tests::fakes::{OtlpCollector, ProbeVendor};
use serde::Serialize;
use serde_json::json;

use crate::host_process::BenchHost;
use crate::load::{self, LoadResult, Rounds};

#[derive(Debug, Serialize)]
pub struct TelemetryResult {
    pub cases: Vec<TelemetryCase>,
    /// Export requests the collector received over the run.
    pub exports_received: u32,
}

#[derive(Debug, Serialize)]
pub struct TelemetryCase {
    pub name: &'static str,
    pub concurrency: usize,
    pub off: LoadResult,
    pub sampled_all: LoadResult,
    pub sampled_1_percent: LoadResult,
    /// p50 with every trace exported over p50 with telemetry off.
    pub all_over_off_latency: f64,
    /// req/s with every trace exported over req/s off.
    pub all_over_off_throughput: f64,
    pub one_percent_over_off_latency: f64,
    pub one_percent_over_off_throughput: f64,
}

const ROUNDS: u32 = 3;

pub async fn run(duration: Duration) -> anyhow::Result<TelemetryResult> {
    let probe = ProbeVendor::start().await;
    let vendor = RealisticVendor::start().await;
    let collector = OtlpCollector::sink().await;
    let endpoint = collector.http_endpoint();
    let mut hosts = Vec::new();
    for ratio in [None, Some("1.0"), Some("0.01")] {
        let mut env = vec![];
        if let Some(ratio) = ratio {
            env = vec![
                ("CONNECTOR_HOST_TELEMETRY__ENABLED", "true"),
                ("CONNECTOR_HOST_TELEMETRY__ENDPOINT", endpoint.as_str()),
                ("CONNECTOR_HOST_TELEMETRY__SAMPLE_RATIO", ratio),
            ];
        }
        let host = BenchHost::start("bench", &env).await?;
        let probe_id = host.connect_probe(&probe.origin(), "bench-token").await?;
        let jira = host
            .connect(
                "jira",
                json!({"site_url": vendor.origin()}),
                json!({"type": "basic", "username": "bench@example.com", "password": "bench-token"}),
            )
            .await?;
        let urls = [
            format!(
                "{}/api/v1/connections/{probe_id}/containers?limit=5",
                host.base()
            ),
            format!(
                "{}/api/v1/connections/{jira}/containers/OPS/items?limit=50",
                host.base()
            ),
        ];
        hosts.push((host, urls));
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let mut cases = Vec::new();
    for (index, name) in [
        (0, "probe page (5 containers)"),
        (1, "jira issues page (50 issues)"),
    ] {
        for concurrency in [1, 32] {
            eprintln!("bench: telemetry: {name} at c={concurrency}");
            for (host, urls) in &hosts {
                load::run(
                    &client,
                    &urls[index],
                    Some(&host.key),
                    concurrency,
                    Duration::from_millis(300),
                )
                .await;
            }
            let mut rounds: Vec<Rounds> = (0..3).map(|_| Rounds::new(concurrency)).collect();
            for _ in 0..ROUNDS {
                for ((host, urls), rounds) in hosts.iter().zip(&mut rounds) {
                    rounds.push(
                        load::sample(
                            &client,
                            &urls[index],
                            Some(&host.key),
                            concurrency,
                            duration / ROUNDS,
                        )
                        .await,
                    );
                }
            }
            let results: Vec<LoadResult> = rounds.into_iter().map(Rounds::result).collect();
            let [off, all, one] = <[LoadResult; 3]>::try_from(results)
                .map_err(|_| anyhow::anyhow!("three hosts were measured"))?;
            let latency =
                |way: &LoadResult| way.latency.median_us / off.latency.median_us.max(1e-9);
            let throughput =
                |way: &LoadResult| way.requests_per_second / off.requests_per_second.max(1e-9);
            cases.push(TelemetryCase {
                name,
                concurrency,
                all_over_off_latency: latency(&all),
                all_over_off_throughput: throughput(&all),
                one_percent_over_off_latency: latency(&one),
                one_percent_over_off_throughput: throughput(&one),
                off,
                sampled_all: all,
                sampled_1_percent: one,
            });
        }
    }
    Ok(TelemetryResult {
        cases,
        exports_received: collector.exports(),
    })
}
