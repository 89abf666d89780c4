//! 500 concurrent calls on a connection whose OAuth token has expired.

use std::time::{Duration, Instant};

use connector_tests::harness::{OAuthSetup, OAuthTimings};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct RefreshStormResult {
    pub calls: usize,
    pub succeeded: usize,
    pub token_requests: u64,
    pub total_ms: f64,
}

pub async fn run() -> anyhow::Result<RefreshStormResult> {
    let timings = OAuthTimings {
        access_ttl: Duration::from_secs(1),
        margin: 0,
        ..OAuthTimings::default()
    };
    let setup = OAuthSetup::start(timings, false).await;
    let id = setup.connect().await;
    setup.auth.set_access_ttl(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(2100)).await;

    const CALLS: usize = 500;
    let url = format!("{}/api/v1/connections/{id}/containers", setup.server.base);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CALLS)
        .build()?;
    let started = Instant::now();
    let calls = (0..CALLS).map(|_| {
        let (client, url, key) = (client.clone(), url.clone(), setup.key.clone());
        tokio::spawn(async move {
            client
                .get(url)
                .bearer_auth(key)
                .send()
                .await
                .map(|r| r.status().is_success())
        })
    });
    let succeeded = futures::future::join_all(calls)
        .await
        .into_iter()
        .filter(|r| matches!(r, Ok(Ok(true))))
        .count();
    let total_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(RefreshStormResult {
        calls: CALLS,
        succeeded,
        token_requests: setup.auth.refresh_requests(),
        total_ms,
    })
}
