//! The same list request straight to a loopback vendor, and through the host's REST API and the
//! WASM connector to that vendor.

use std::time::Duration;

use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::TestServer;
use serde::Serialize;

use crate::load::{self, LoadResult};

#[derive(Debug, Serialize)]
pub struct CallPathResult {
    pub direct: Vec<LoadResult>,
    pub through_host: Vec<LoadResult>,
    /// Median latency through the host divided by direct, per concurrency.
    pub median_ratio: Vec<(usize, f64)>,
}

pub async fn run(duration: Duration) -> anyhow::Result<CallPathResult> {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start_quiet_with(|_| {}).await;
    let key = server.tenant("bench").await;
    let id = server
        .probe_connection(&key, &vendor.origin(), "bench-token")
        .await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let direct_url = format!("{}/containers?offset=0&limit=5", vendor.origin());
    let host_url = format!("{}/api/v1/connections/{id}/containers?limit=5", server.base);

    let mut result = CallPathResult {
        direct: Vec::new(),
        through_host: Vec::new(),
        median_ratio: Vec::new(),
    };
    for concurrency in [1, 32] {
        load::run(
            &client,
            &host_url,
            Some(&key),
            concurrency,
            Duration::from_millis(300),
        )
        .await;
        let direct = load::run(
            &client,
            &direct_url,
            Some("bench-token"),
            concurrency,
            duration,
        )
        .await;
        let through = load::run(&client, &host_url, Some(&key), concurrency, duration).await;
        result.median_ratio.push((
            concurrency,
            through.latency.median_us / direct.latency.median_us.max(1e-9),
        ));
        result.direct.push(direct);
        result.through_host.push(through);
    }
    Ok(result)
}
