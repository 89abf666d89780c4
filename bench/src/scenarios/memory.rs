//! Resident memory of the real `connector-host` binary: idle with the plugins loaded, and at
//! the peak of 256 concurrent requests through a connector.

use std::time::Duration;

use connector_tests::fakes::ProbeVendor;
use serde::Serialize;

use crate::host_process::BenchHost;
use crate::load;

#[derive(Debug, Serialize)]
pub struct MemoryResult {
    pub idle_rss_mib: f64,
    pub peak_rss_mib_at_256: f64,
    pub requests_per_second_at_256: f64,
    /// Failed requests at 256 (refused by a cap, or errors): 0 when all 256 really ran.
    pub errors_at_256: usize,
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

pub async fn run(duration: Duration) -> anyhow::Result<MemoryResult> {
    let vendor = ProbeVendor::start().await;
    let host = BenchHost::start("mem", &[]).await?;
    let pid = host.pid();
    let client = host.client();
    let id = host.connect_probe(&vendor.origin(), "t").await?;
    let url = format!("{}/api/v1/connections/{id}/containers?limit=5", host.base());
    load::run(client, &url, Some(&host.key), 4, Duration::from_millis(300)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss_mib = rss_mib(pid);

    let sampler = tokio::spawn(async move {
        let mut peak: f64 = 0.0;
        for _ in 0..(duration.as_millis() / 50 + 10) {
            peak = peak.max(rss_mib(pid));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        peak
    });
    let loaded = load::run(client, &url, Some(&host.key), 256, duration).await;
    let peak_rss_mib_at_256 = sampler.await.unwrap_or(0.0);
    Ok(MemoryResult {
        idle_rss_mib,
        peak_rss_mib_at_256,
        requests_per_second_at_256: loaded.requests_per_second,
        errors_at_256: loaded.errors,
    })
}
