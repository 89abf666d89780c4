//! Hot loading: how long an upload takes to be serving (compiled now, or from the cache), and
//! what the call path does while versions are swapped under it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::{self, ADMIN_TOKEN, TestServer};
use serde::Serialize;

use crate::load::{self, LoadResult};
use crate::stats::Summary;

/// Versions uploaded per measurement.
const VERSIONS: u64 = 5;
/// Concurrent clients in the load runs.
const CONCURRENCY: usize = 8;

#[derive(Debug, Serialize)]
pub struct HotSwapResult {
    /// `PUT /admin/v1/plugins/probe` until it answered, for versions never seen (compiled).
    pub upload_compiled: Summary,
    /// The same, for versions already in the compile cache.
    pub upload_cached: Summary,
    /// List requests with no swaps.
    pub steady: LoadResult,
    /// List requests while a cached version is swapped in every 100 ms.
    pub during_swaps: LoadResult,
    pub swaps: usize,
}

async fn upload(server: &TestServer, wasm: Vec<u8>) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let response = server
        .client
        .put(format!("{}/admin/v1/plugins/probe", server.base))
        .bearer_auth(ADMIN_TOKEN)
        .body(wasm)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "upload refused: {}",
        response.text().await?
    );
    Ok(started.elapsed())
}

pub async fn run(duration: Duration) -> anyhow::Result<HotSwapResult> {
    let vendor = ProbeVendor::start().await;
    let server = Arc::new(TestServer::start_quiet_with(|_| {}).await);
    let key = server.tenant("bench").await;
    let id = server
        .probe_connection(&key, &vendor.origin(), "bench-token")
        .await;
    let probe = std::fs::read(harness::plugin_path("probe"))?;
    // A salt no earlier run used, so "compiled" versions are not in the shared compile cache.
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;
    let versions: Vec<Vec<u8>> = (0..VERSIONS)
        .map(|i| harness::plugin_variant(&probe, salt.wrapping_add(i)))
        .collect();

    let mut compiled = Vec::new();
    for wasm in &versions {
        compiled.push(upload(&server, wasm.clone()).await?);
    }
    let mut cached = Vec::new();
    for wasm in &versions {
        cached.push(upload(&server, wasm.clone()).await?);
    }

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let url = format!("{}/api/v1/connections/{id}/containers?limit=5", server.base);
    load::run(
        &client,
        &url,
        Some(&key),
        CONCURRENCY,
        Duration::from_millis(300),
    )
    .await;
    let steady = load::run(&client, &url, Some(&key), CONCURRENCY, duration).await;

    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicUsize::new(0));
    let swapper = {
        let (server, stop, swaps) = (server.clone(), stop.clone(), swaps.clone());
        tokio::spawn(async move {
            for wasm in versions.iter().cycle() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if upload(&server, wasm.clone()).await.is_ok() {
                    swaps.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let during_swaps = load::run(&client, &url, Some(&key), CONCURRENCY, duration).await;
    stop.store(true, Ordering::Relaxed);
    swapper.await?;

    Ok(HotSwapResult {
        upload_compiled: Summary::of(&mut compiled),
        upload_cached: Summary::of(&mut cached),
        steady,
        during_swaps,
        swaps: swaps.load(Ordering::Relaxed),
    })
}
