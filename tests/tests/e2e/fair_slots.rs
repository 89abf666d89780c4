//! Sandbox slots are shared fairly: a tenant holding slow calls on every slot it may use gets
//! `RATE_LIMITED` beyond its cap while other tenants' calls succeed, and an operator can still
//! hot-load a plugin.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use connector_tests::fakes::{ProbeVendor, SlowVendor};
use connector_tests::harness::{ADMIN_TOKEN, TestServer, plugin_path, plugin_variant};
use reqwest::Method;

/// Uploads a distinct version of the probe as the operator; returns the status and body.
async fn upload_probe_variant(server: &TestServer, index: u64) -> (u16, String) {
    let wasm = plugin_variant(&std::fs::read(plugin_path("probe")).unwrap(), index);
    let response = server
        .client
        .put(format!("{}/admin/v1/plugins/probe", server.base))
        .bearer_auth(ADMIN_TOKEN)
        .body(wasm)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Starts `count` listings on `path` that the slow vendor will hold.
fn hold(
    server: &Arc<TestServer>,
    key: &str,
    path: &str,
    count: usize,
) -> Vec<tokio::task::JoinHandle<u16>> {
    (0..count)
        .map(|_| {
            let (server, key, path) = (server.clone(), key.to_owned(), path.to_owned());
            tokio::spawn(async move { server.send(Method::GET, &path, Some(&key), None).await.0 })
        })
        .collect()
}

#[tokio::test]
async fn a_tenant_holding_its_slots_is_limited_while_others_and_the_loader_go_on() {
    let slow = SlowVendor::start(Duration::from_secs(8), StatusCode::OK).await;
    let vendor = ProbeVendor::start().await;
    let server = Arc::new(
        TestServer::start_with(|config| {
            config.limits.max_concurrent_calls = 16;
            config.limits.max_concurrent_calls_per_tenant = Some(4);
            // Above the tenant cap, so the tenant's is the one that applies.
            config.limits.max_concurrent_calls_per_connection = Some(8);
            config.limits.call_timeout_ms = 12_000;
        })
        .await,
    );
    let key_a = server.tenant("tenant-a").await;
    let key_b = server.tenant("tenant-b").await;
    let slow_id = server.probe_connection(&key_a, &slow.origin(), "a").await;
    let fast_id = server.probe_connection(&key_b, &vendor.origin(), "b").await;

    let slow_path = format!("/api/v1/connections/{slow_id}/containers");
    let holders = hold(&server, &key_a, &slow_path, 4);
    slow.wait_for_held(4).await;

    // Tenant A is at its cap: refused at once, with Retry-After, without reaching the tarpit.
    let response = server
        .client
        .get(format!("{}{slow_path}", server.base))
        .bearer_auth(&key_a)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    assert_eq!(body["error"]["details"]["scope"], "tenant");
    assert_eq!(slow.held(), 4);

    // Tenant B is unaffected: as many concurrent calls as its own cap, all successful.
    let fast_path = format!("/api/v1/connections/{fast_id}/containers");
    let calls = (0..4).map(|_| server.send(Method::GET, &fast_path, Some(&key_b), None));
    for (status, body) in futures::future::join_all(calls).await {
        assert_eq!(status, 200, "{body}");
    }

    // The operator hot-loads a new version meanwhile.
    let (status, body) = upload_probe_variant(&server, 4242).await;
    assert_eq!(status, 200, "{body}");

    for holder in holders {
        assert_eq!(holder.await.unwrap(), 200, "the slow calls finish");
    }
}

#[tokio::test]
async fn the_loaders_reserved_slots_stay_free_when_api_calls_fill_the_rest() {
    let slow = SlowVendor::start(Duration::from_secs(6), StatusCode::OK).await;
    // Four slots: two for API calls, two kept for the loader.
    let server = Arc::new(
        TestServer::start_with(|config| {
            config.limits.max_concurrent_calls = 4;
            config.limits.max_concurrent_calls_per_tenant = Some(4);
            config.limits.max_concurrent_calls_per_connection = Some(4);
            config.limits.call_timeout_ms = 10_000;
        })
        .await,
    );
    let key = server.tenant("busy").await;
    let id = server.probe_connection(&key, &slow.origin(), "a").await;
    let path = format!("/api/v1/connections/{id}/containers");
    let holders = hold(&server, &key, &path, 2);
    slow.wait_for_held(2).await;
    let (status, busy) = server.send(Method::GET, &path, Some(&key), None).await;
    assert_eq!(status, 503, "API slots are full: {busy}");

    let (status, body) = upload_probe_variant(&server, 4343).await;
    assert_eq!(
        status, 200,
        "the loader's check ran on a reserved slot: {body}"
    );
    for holder in holders {
        assert_eq!(holder.await.unwrap(), 200);
    }
}
