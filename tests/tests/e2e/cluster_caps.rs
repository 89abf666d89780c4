//! Call caps on a shared store hold cluster-wide: each live host takes its share of a tenant's
//! cap, and the shares follow the hosts that come and go.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use connector_host::config::HostConfig;
use connector_host::runtime::HEARTBEAT_INTERVAL;
use connector_tests::fakes::SlowVendor;
use connector_tests::harness::{TestDatabase, TestServer};
use reqwest::Method;

/// Sends `count` listings of `path` to each host at once; answers (successes, refusals).
async fn burst(hosts: &[&Arc<TestServer>], key: &str, path: &str, count: usize) -> (usize, usize) {
    let mut calls = Vec::new();
    for host in hosts {
        for _ in 0..count {
            let (host, key, path) = ((*host).clone(), key.to_owned(), path.to_owned());
            calls.push(tokio::spawn(async move {
                host.send(Method::GET, &path, Some(&key), None).await
            }));
        }
    }
    let (mut served, mut refused) = (0, 0);
    for call in calls {
        let (status, body) = call.await.expect("call");
        match status {
            200 => served += 1,
            429 => {
                assert_eq!(body["error"]["details"]["scope"], "tenant", "{body}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    (served, refused)
}

/// Tenant cap 8, two hosts, 32 slow calls (16 on each): never more than 8 run at once
/// cluster-wide. When B stops, A takes the whole cap; when C joins, A is back to its share.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenant_cap_holds_across_hosts_and_follows_membership() {
    let database = TestDatabase::create().await;
    let slow = SlowVendor::start(Duration::from_secs(2), StatusCode::OK).await;
    let configure = |config: &mut HostConfig| {
        database.configure(config);
        config.limits.max_concurrent_calls = 64;
        config.limits.max_concurrent_calls_per_tenant = Some(8);
        // Above the tenant cap, so the tenant's is the one that applies.
        config.limits.max_concurrent_calls_per_connection = Some(32);
        config.limits.call_timeout_ms = 10_000;
    };
    let host_a = Arc::new(TestServer::start_with(configure).await);
    let host_b = Arc::new(TestServer::start_with(configure).await);
    let key = host_a.tenant("busy").await;
    let id = host_a.probe_connection(&key, &slow.origin(), "a").await;
    let path = format!("/api/v1/connections/{id}/containers");
    let settle = HEARTBEAT_INTERVAL * 2 + Duration::from_millis(200);
    tokio::time::sleep(settle).await;

    let (served, refused) = burst(&[&host_a, &host_b], &key, &path, 16).await;
    assert_eq!((served, refused), (8, 24), "4 on each of two hosts");
    assert!(slow.peak() <= 8, "{} ran at once", slow.peak());

    // B stops (gracefully): A takes the whole cap at its next heartbeat.
    let host_b = Arc::try_unwrap(host_b).ok().expect("no call holds B");
    host_b.server.stop().await.expect("B stops");
    tokio::time::sleep(settle).await;
    let (served, refused) = burst(&[&host_a], &key, &path, 16).await;
    assert_eq!((served, refused), (8, 8), "A alone takes the whole cap");

    // C joins: A is back to its share before C serves.
    let host_c = Arc::new(TestServer::start_with(configure).await);
    tokio::time::sleep(settle).await;
    let (served, refused) = burst(&[&host_a, &host_c], &key, &path, 16).await;
    assert_eq!((served, refused), (8, 24), "4 on each of A and C");
    assert!(slow.peak() <= 8, "{} ran at once", slow.peak());
}

/// A host that dies is no longer counted once its stamp lapses: the others take its share.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_hosts_share_goes_to_the_living_after_the_lapse() {
    let database = TestDatabase::create().await;
    let slow = SlowVendor::start(Duration::from_secs(2), StatusCode::OK).await;
    let configure = |config: &mut HostConfig| {
        database.configure(config);
        config.limits.max_concurrent_calls = 64;
        config.limits.max_concurrent_calls_per_tenant = Some(6);
        config.limits.max_concurrent_calls_per_connection = Some(32);
        config.limits.call_timeout_ms = 10_000;
    };
    let host_a = Arc::new(TestServer::start_with(configure).await);
    let host_b = TestServer::start_with(configure).await;
    let key = host_a.tenant("busy").await;
    let id = host_a.probe_connection(&key, &slow.origin(), "a").await;
    let path = format!("/api/v1/connections/{id}/containers");
    tokio::time::sleep(HEARTBEAT_INTERVAL * 2).await;
    let (served, _) = burst(&[&host_a], &key, &path, 12).await;
    assert_eq!(served, 3, "half of 6 while B lives");

    // B vanishes without leaving (its heartbeat stops with it; its row stays).
    drop(host_b);
    tokio::time::sleep(connector_host::runtime::HOST_LAPSE + HEARTBEAT_INTERVAL * 2).await;
    let (served, _) = burst(&[&host_a], &key, &path, 12).await;
    assert_eq!(served, 6, "A takes the whole cap once B's stamp lapsed");
}

/// An API key's rate is shared by the live hosts: a burst of 10 on two hosts admits 10
/// requests between them (5 each), not 10 on each.
#[tokio::test]
async fn an_api_keys_rate_is_divided_by_the_live_hosts() {
    let database = TestDatabase::create().await;
    let configure = |config: &mut HostConfig| {
        database.configure(config);
        config.limits.api_key_requests_per_second = 1;
        config.limits.api_key_burst = 10;
    };
    let host_a = Arc::new(TestServer::start_with(configure).await);
    let host_b = Arc::new(TestServer::start_with(configure).await);
    tokio::time::sleep(HEARTBEAT_INTERVAL * 2).await;
    let key = host_a.tenant("steady").await;
    let mut admitted = 0;
    for round in 0..20 {
        let host = if round % 2 == 0 { &host_a } else { &host_b };
        let (status, _) = host
            .send(Method::GET, "/api/v1/connections", Some(&key), None)
            .await;
        admitted += usize::from(status == 200);
    }
    // One request may have been refilled while the rounds ran (1/s).
    assert!(
        (10..=12).contains(&admitted),
        "{admitted} of 20 admitted with a burst of 10 shared by two hosts"
    );
}
