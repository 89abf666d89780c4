//! A closed-loop load generator: `concurrency` workers send back-to-back requests for a fixed
//! time, recording every latency.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::stats::Summary;

/// What a load run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    pub concurrency: usize,
    pub requests_per_second: f64,
    pub errors: usize,
    pub latency: Summary,
}

/// Sends GET `url` (with an optional bearer token) from `concurrency` workers for `duration`.
pub async fn run(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    concurrency: usize,
    duration: Duration,
) -> LoadResult {
    let started = Instant::now();
    let deadline = started + duration;
    let workers = (0..concurrency).map(|_| {
        let (client, url, token) = (client.clone(), url.to_owned(), token.map(str::to_owned));
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let sent = Instant::now();
                let mut request = client.get(&url);
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                match request.send().await {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        latencies.push(sent.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        })
    });
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in futures::future::join_all(workers).await {
        let (mut samples, failed) = worker.unwrap_or_default();
        latencies.append(&mut samples);
        errors += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    LoadResult {
        concurrency,
        requests_per_second: latencies.len() as f64 / elapsed,
        errors,
        latency: Summary::of(&mut latencies),
    }
}
