//! Syncs and webhook deliveries: changes processed per second on a 10,000-item container
//! (the first full pass, then an incremental pass after 1,000 updates), the feed read back, and
//! signed deliveries per second to loopback receivers.

use std::time::{Duration, Instant};

use connector_tests::fakes::{SYNC_CONTAINER, SyncVendor, WebhookReceiver};
use connector_tests::harness::TestServer;
use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};

const ITEMS: usize = 10_000;
const UPDATES: usize = 1_000;
const ENDPOINTS: usize = 8;
const EVENTS_PER_ENDPOINT: usize = 125;

#[derive(Debug, Serialize)]
pub struct SyncsResult {
    pub items: usize,
    pub full_pass_ms: f64,
    pub full_pass_changes_per_second: f64,
    pub updates: usize,
    pub incremental_pass_ms: f64,
    /// Items looked at (changed or not) per second in the incremental pass.
    pub incremental_items_per_second: f64,
    pub feed_read_events_per_second: f64,
    pub deliveries: usize,
    pub deliveries_per_second: f64,
}

/// Waits for the pass that starts after run `after` to end, and returns its last run with the
/// counts of all the pass's runs added up: a pass yields its slot every `max_pages_per_turn`
/// pages (status `yielded`), so a 10,000-item pass takes several runs.
async fn last_run(
    server: &TestServer,
    key: &str,
    path: &str,
    after: Option<&str>,
) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let (_, body) = server.send(Method::GET, path, Some(key), None).await;
        let run = &body["data"]["last_run"];
        if run.is_object() && run["id"].as_str() != after && run["status"] != "yielded" {
            anyhow::ensure!(run["status"] == "succeeded", "sync run failed: {run}");
            let (_, runs) = server
                .send(
                    Method::GET,
                    &format!("{path}/runs?limit=100"),
                    Some(key),
                    None,
                )
                .await;
            let mut counts = serde_json::Map::new();
            let mut turns = 0;
            for earlier in runs["data"]["entries"].as_array().into_iter().flatten() {
                if earlier["id"].as_str() == after {
                    break;
                }
                turns += 1;
                for (name, value) in earlier["counts"].as_object().into_iter().flatten() {
                    let total = counts.get(name).and_then(Value::as_u64).unwrap_or(0)
                        + value.as_u64().unwrap_or(0);
                    counts.insert(name.clone(), json!(total));
                }
            }
            let mut pass = run.clone();
            pass["counts"] = Value::Object(counts);
            pass["turns"] = json!(turns);
            return Ok(pass);
        }
        anyhow::ensure!(Instant::now() < deadline, "sync did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn run() -> anyhow::Result<SyncsResult> {
    let vendor = SyncVendor::start(ITEMS, true).await;
    let server = TestServer::start_quiet_with(|config| {
        config.syncs.min_interval = std::time::Duration::from_secs(1);
        config.syncs.tick = std::time::Duration::from_millis(20);
        config.webhooks.allow_private_endpoints = true;
        config.webhooks.tick = std::time::Duration::from_millis(20);
    })
    .await;
    let key = server.tenant("bench").await;
    let connection = server
        .probe_connection(&key, &vendor.origin(), "bench-token")
        .await;
    let syncs = format!("/api/v1/connections/{connection}/syncs");

    let started = Instant::now();
    let (status, body) = server
        .send(
            Method::POST,
            &syncs,
            Some(&key),
            Some(json!({"container": SYNC_CONTAINER, "interval_secs": 3600})),
        )
        .await;
    anyhow::ensure!(status == 201, "sync not created: {body}");
    let sync = body["data"]["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("{syncs}/{sync}");
    let first = last_run(&server, &key, &path, None).await?;
    let full_pass = started.elapsed();
    anyhow::ensure!(first["counts"]["created"] == ITEMS, "{first}");

    for n in 1..=UPDATES {
        vendor.put(
            &format!("n{:05}", n * 7),
            &format!("Item {} (renamed)", n * 7),
        );
    }
    let started = Instant::now();
    let (status, body) = server
        .send(Method::POST, &format!("{path}/run"), Some(&key), None)
        .await;
    anyhow::ensure!(status == 202, "run refused: {body}");
    let second = last_run(&server, &key, &path, first["id"].as_str()).await?;
    let incremental = started.elapsed();
    anyhow::ensure!(second["counts"]["updated"] == UPDATES, "{second}");
    let looked_at = second["counts"]["updated"].as_u64().unwrap_or(0)
        + second["counts"]["unchanged"].as_u64().unwrap_or(0);

    let started = Instant::now();
    let mut read = 0usize;
    let mut cursor: Option<String> = None;
    loop {
        let mut page = format!("/api/v1/connections/{connection}/changes?limit=1000");
        if let Some(cursor) = &cursor {
            page.push_str(&format!("&cursor={cursor}"));
        }
        let (_, body) = server.send(Method::GET, &page, Some(&key), None).await;
        read += body["data"]["entries"].as_array().map_or(0, Vec::len);
        cursor = body["data"]["next_cursor"].as_str().map(str::to_owned);
        if body["data"]["has_more"] != true {
            break;
        }
    }
    let feed_read = started.elapsed();
    anyhow::ensure!(read == ITEMS + UPDATES, "feed holds {read}");

    let mut receivers = Vec::new();
    let mut endpoints = Vec::new();
    for _ in 0..ENDPOINTS {
        let receiver = WebhookReceiver::start(&[], 200).await;
        let (status, body) = server
            .send(
                Method::POST,
                "/api/v1/webhook-endpoints",
                Some(&key),
                Some(json!({"url": receiver.url(), "events": ["sync.failed"]})),
            )
            .await;
        anyhow::ensure!(status == 201, "endpoint not created: {body}");
        endpoints.push(body["data"]["id"].as_str().unwrap_or_default().to_owned());
        receivers.push(receiver);
    }
    let started = Instant::now();
    for _ in 0..EVENTS_PER_ENDPOINT {
        for endpoint in &endpoints {
            let (status, body) = server
                .send(
                    Method::POST,
                    &format!("/api/v1/webhook-endpoints/{endpoint}/test"),
                    Some(&key),
                    None,
                )
                .await;
            anyhow::ensure!(status == 202, "test event refused: {body}");
        }
    }
    let deliveries = ENDPOINTS * EVENTS_PER_ENDPOINT;
    let deadline = Instant::now() + Duration::from_secs(300);
    while receivers.iter().map(|r| r.received().len()).sum::<usize>() < deliveries {
        anyhow::ensure!(Instant::now() < deadline, "deliveries did not arrive");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivering = started.elapsed();

    Ok(SyncsResult {
        items: ITEMS,
        full_pass_ms: full_pass.as_secs_f64() * 1000.0,
        full_pass_changes_per_second: ITEMS as f64 / full_pass.as_secs_f64(),
        updates: UPDATES,
        incremental_pass_ms: incremental.as_secs_f64() * 1000.0,
        incremental_items_per_second: looked_at as f64 / incremental.as_secs_f64(),
        feed_read_events_per_second: read as f64 / feed_read.as_secs_f64(),
        deliveries,
        deliveries_per_second: deliveries as f64 / delivering.as_secs_f64(),
    })
}
