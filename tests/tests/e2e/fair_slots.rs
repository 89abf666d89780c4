//! Sandbox slots are shared fairly: a tenant holding slow calls on every slot it may use gets
//! `RATE_LIMITED` beyond its cap while other tenants' calls succeed, and an operator can still
//! hot-load a plugin.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use connector_tests::fakes::{FakeServer, ProbeVendor};
use connector_tests::harness::{ADMIN_TOKEN, TestServer, plugin_path, plugin_variant};
use reqwest::Method;
use serde_json::json;

/// A vendor that accepts the connection, then holds every listing for `hold`.
async fn tarpit(hold: Duration) -> (FakeServer, Arc<AtomicUsize>) {
    let held = Arc::new(AtomicUsize::new(0));
    let counter = held.clone();
    let router = Router::new()
        .route(
            "/me",
            get(|| async { axum::Json(json!({"id": "u-1", "name": "Slow"})) }),
        )
        .route(
            "/containers",
            get(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(hold).await;
                    axum::Json(json!([]))
                }
            }),
        );
    (FakeServer::start(router).await, held)
}

async fn wait_for(count: &AtomicUsize, at_least: usize) {
    for _ in 0..200 {
        if count.load(Ordering::SeqCst) >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("only {} slow calls started", count.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_tenant_holding_its_slots_is_limited_while_others_and_the_loader_go_on() {
    let (slow, held) = tarpit(Duration::from_secs(8)).await;
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
    let mut holders = Vec::new();
    for _ in 0..4 {
        let (server, key, path) = (server.clone(), key_a.clone(), slow_path.clone());
        holders.push(tokio::spawn(async move {
            server.send(Method::GET, &path, Some(&key), None).await.0
        }));
    }
    wait_for(&held, 4).await;

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
    assert_eq!(held.load(Ordering::SeqCst), 4);

    // Tenant B is unaffected: as many concurrent calls as its own cap, all successful.
    let fast_path = format!("/api/v1/connections/{fast_id}/containers");
    let calls = (0..4).map(|_| server.send(Method::GET, &fast_path, Some(&key_b), None));
    for (status, body) in futures::future::join_all(calls).await {
        assert_eq!(status, 200, "{body}");
    }

    // The operator hot-loads a new version meanwhile.
    let wasm = plugin_variant(&std::fs::read(plugin_path("probe")).unwrap(), 4242);
    let response = server
        .client
        .put(format!("{}/admin/v1/plugins/probe", server.base))
        .bearer_auth(ADMIN_TOKEN)
        .body(wasm)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());

    for holder in holders {
        assert_eq!(holder.await.unwrap(), 200, "the slow calls finish");
    }
}

#[tokio::test]
async fn the_loaders_reserved_slots_stay_free_when_api_calls_fill_the_rest() {
    let (slow, held) = tarpit(Duration::from_secs(6)).await;
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
    let mut holders = Vec::new();
    for _ in 0..2 {
        let (server, key, path) = (server.clone(), key.clone(), path.clone());
        holders.push(tokio::spawn(async move {
            server.send(Method::GET, &path, Some(&key), None).await.0
        }));
    }
    wait_for(&held, 2).await;
    let (status, busy) = server.send(Method::GET, &path, Some(&key), None).await;
    assert_eq!(status, 503, "API slots are full: {busy}");

    let wasm = plugin_variant(&std::fs::read(plugin_path("probe")).unwrap(), 4343);
    let response = server
        .client
        .put(format!("{}/admin/v1/plugins/probe", server.base))
        .bearer_auth(ADMIN_TOKEN)
        .body(wasm)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "the loader's check ran on a reserved slot: {}",
        response.text().await.unwrap()
    );
    for holder in holders {
        assert_eq!(holder.await.unwrap(), 200);
    }
}
