//! A closed-loop load generator: `concurrency` workers send back-to-back requests for a fixed
//! time, recording every latency. A measurement may be split into rounds interleaved with
//! other measurements ([`Rounds`]), so a slow spell of this shared machine lands on all of
//! them instead of on one.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::stats::{Summary, median};

/// What a load run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    pub concurrency: usize,
    /// Successful requests per second (with rounds, the median of the rounds' rates).
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
    let mut rounds = Rounds::new(concurrency);
    rounds.push(sample(client, url, token, concurrency, duration).await);
    rounds.result()
}

/// What one round recorded.
pub struct Round {
    latencies: Vec<Duration>,
    errors: usize,
    requests_per_second: f64,
}

impl Round {
    pub fn requests_per_second(&self) -> f64 {
        self.requests_per_second
    }
}

/// The rounds of one measurement, summarized together: latencies over every sample, the
/// request rate as the median of the rounds' rates.
pub struct Rounds {
    concurrency: usize,
    latencies: Vec<Duration>,
    errors: usize,
    rates: Vec<f64>,
}

impl Rounds {
    pub fn new(concurrency: usize) -> Self {
        Self {
            concurrency,
            latencies: Vec::new(),
            errors: 0,
            rates: Vec::new(),
        }
    }

    pub fn push(&mut self, mut round: Round) {
        self.latencies.append(&mut round.latencies);
        self.errors += round.errors;
        self.rates.push(round.requests_per_second);
    }

    pub fn result(mut self) -> LoadResult {
        LoadResult {
            concurrency: self.concurrency,
            requests_per_second: median(&mut self.rates),
            errors: self.errors,
            latency: Summary::of(&mut self.latencies),
        }
    }
}

/// One round: GET `url` from `concurrency` workers for `duration`.
pub async fn sample(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    concurrency: usize,
    duration: Duration,
) -> Round {
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
    Round {
        requests_per_second: latencies.len() as f64 / elapsed,
        latencies,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_pool_latencies_and_take_the_median_rate() {
        let round = |micros: &[u64], rate: f64, errors: usize| Round {
            latencies: micros.iter().copied().map(Duration::from_micros).collect(),
            errors,
            requests_per_second: rate,
        };
        let mut rounds = Rounds::new(32);
        rounds.push(round(&[10, 30], 100.0, 0));
        rounds.push(round(&[20], 900.0, 1));
        rounds.push(round(&[40, 50], 200.0, 2));
        let result = rounds.result();
        assert_eq!(result.concurrency, 32);
        assert_eq!(result.requests_per_second, 200.0);
        assert_eq!(result.errors, 3);
        assert_eq!(result.latency.count, 5);
        assert_eq!(result.latency.median_us, 30.0);
    }
}
