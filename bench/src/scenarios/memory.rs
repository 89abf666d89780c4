//! Resident memory of the real `connector-host` binary: idle with the plugins loaded, and at
//! the peak of 256 concurrent requests through a connector.

use std::time::Duration;

use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::{self, HostProcess};
use serde::Serialize;
use serde_json::json;

use crate::load;

#[derive(Debug, Serialize)]
pub struct MemoryResult {
    pub idle_rss_mib: f64,
    pub peak_rss_mib_at_256: f64,
    pub requests_per_second_at_256: f64,
}

const ADMIN: &str = "bench-admin-token-0123456789";

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
    let data = tempfile::tempdir()?;
    let env = [
        ("CONNECTOR_HOST_ADMIN_TOKEN", ADMIN),
        ("CONNECTOR_HOST_LOG", "warn"),
    ];
    let host = HostProcess::start(data.path(), &harness::plugins_dir(), &env).await;
    let pid = host.child.id();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let post = |path: &str, token: &str, body: serde_json::Value| {
        client
            .post(format!("{}{path}", host.base))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    post(
        "/admin/v1/tenants",
        ADMIN,
        json!({"id": "mem", "name": "mem"}),
    )
    .await?;
    let key: serde_json::Value = post("/admin/v1/tenants/mem/api-keys", ADMIN, json!({}))
        .await?
        .json()
        .await?;
    let key = key["data"]["key"].as_str().unwrap_or_default().to_owned();
    let body = json!({"connector": "probe", "config": {"base_url": vendor.origin()}, "credentials": {"type": "bearer", "token": "t"}});
    let created: serde_json::Value = post("/api/v1/connections", &key, body)
        .await?
        .json()
        .await?;
    let id = created["data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let url = format!("{}/api/v1/connections/{id}/containers?limit=5", host.base);
    load::run(&client, &url, Some(&key), 4, Duration::from_millis(300)).await;
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
    let loaded = load::run(&client, &url, Some(&key), 256, duration).await;
    let peak_rss_mib_at_256 = sampler.await.unwrap_or(0.0);
    Ok(MemoryResult {
        idle_rss_mib,
        peak_rss_mib_at_256,
        requests_per_second_at_256: loaded.requests_per_second,
    })
}
