//! Several hosts on one PostgreSQL database: what one host writes, every host serves; and a
//! database that goes away makes the hosts answer 503 with `Retry-After`, then recover.

use std::time::{Duration, Instant};

use connector_host::config::{ConfigSecret, HostConfig};
use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::{
    ADMIN_TOKEN, OAuthSetup, OAuthTimings, PG_ADMIN, PG_ADMIN_PASSWORD, PostgresServer,
    TEST_MASTER_KEY, TestDatabase, TestServer, run_cli_with,
};
use reqwest::Method;
use serde_json::json;

/// Two hosts on one database: a tenant and key made on A serve on B, a connection made on B
/// is browsed through A, and a key revoked on B stops on both at once (no host caches keys).
#[tokio::test]
async fn two_hosts_on_one_database_serve_the_same_tenants_keys_and_connections() {
    let database = TestDatabase::create().await;
    let vendor = ProbeVendor::start().await;
    let host_a = TestServer::start_with(|config| database.configure(config)).await;
    let host_b = TestServer::start_with(|config| database.configure(config)).await;

    let key = host_a.tenant("acme").await;
    let (status, body) = host_b
        .send(Method::GET, "/api/v1/connections", Some(&key), None)
        .await;
    assert_eq!(status, 200, "a key issued on A works on B: {body}");

    let connection = host_b
        .probe_connection(&key, &vendor.origin(), "tok-acme")
        .await;
    let (status, body) = host_a
        .send(
            Method::GET,
            &format!("/api/v1/connections/{connection}/containers"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200, "a connection made on B serves on A: {body}");

    let (status, keys) = host_b
        .send(
            Method::GET,
            "/admin/v1/tenants/acme/api-keys",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200, "{keys}");
    let id = keys["data"][0]["id"].as_str().expect("key id").to_owned();
    let (status, issued) = host_a
        .send(
            Method::POST,
            "/admin/v1/tenants/acme/api-keys",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let second = issued["data"]["key"].as_str().unwrap().to_owned();
    let (status, _) = host_b
        .send(
            Method::DELETE,
            &format!("/admin/v1/tenants/acme/api-keys/{id}"),
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = host_b
        .send(Method::GET, "/api/v1/connections", Some(&key), None)
        .await;
    assert_eq!(
        status, 401,
        "a revoked key stops at once where it was revoked: {body}"
    );
    // A cached the key: the revocation's notice reaches it within milliseconds.
    refused_within(&host_a, &key, Duration::from_secs(2)).await;

    // A rename on A shows on B (which cached the record) once the notice is in.
    let (status, _) = host_a
        .send(
            Method::PATCH,
            &format!("/api/v1/connections/{connection}"),
            Some(&second),
            Some(json!({"name": "renamed on A"})),
        )
        .await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let (_, body) = host_b
            .send(
                Method::GET,
                &format!("/api/v1/connections/{connection}"),
                Some(&second),
                None,
            )
            .await;
        if body["data"]["name"] == "renamed on A" {
            break;
        }
        assert!(Instant::now() < deadline, "B kept the old record: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `GET /api/v1/connections` with `key` until it answers 401.
async fn refused_within(host: &TestServer, key: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (status, _) = host
            .send(Method::GET, "/api/v1/connections", Some(key), None)
            .await;
        if status == 401 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "a revoked key still served ({status})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A host whose change listener is cut (the database ended its session) stops serving from
/// its cache until it listens again, so a revocation it could not hear of still stops the key.
#[tokio::test]
async fn a_host_that_missed_a_notice_never_serves_the_stale_entry() {
    let database = TestDatabase::create().await;
    let host_a = TestServer::start_with(|config| database.configure(config)).await;
    let host_b = TestServer::start_with(|config| database.configure(config)).await;
    let key = host_a.tenant("acme").await;
    for _ in 0..3 {
        let (status, _) = host_b
            .send(Method::GET, "/api/v1/connections", Some(&key), None)
            .await;
        assert_eq!(status, 200, "B serves (and caches) the key");
    }
    let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    // Both hosts' listeners go; the revocation below is made while they are down.
    let ended: i64 = client
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ended, 2, "each host listens on a connection of its own");
    let (_, keys) = host_a
        .send(
            Method::GET,
            "/admin/v1/tenants/acme/api-keys",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    let id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    client
        .execute("DELETE FROM api_keys WHERE id = $1", &[&id])
        .await
        .unwrap();
    refused_within(&host_b, &key, Duration::from_secs(5)).await;
}

/// The database stops under a running host: requests answer 503 `UNAVAILABLE` with
/// `Retry-After` and nothing half-written; when it is back, the same host serves again.
#[tokio::test]
async fn a_database_that_goes_away_answers_503_and_the_host_recovers() {
    let mut postgres = PostgresServer::start().await;
    let admin = postgres.admin("postgres").await;
    admin.batch_execute("CREATE DATABASE hosts").await.unwrap();
    drop(admin);
    let url = format!(
        "postgres://{PG_ADMIN}:{PG_ADMIN_PASSWORD}@127.0.0.1:{}/hosts",
        postgres.port
    );
    let configure = |config: &mut HostConfig| {
        config.store.url = ConfigSecret::new(url.clone());
        config.store.tls = connector_host::store::StoreTls::Disable;
        config.store.pool_size = 4;
        config.store.connect_timeout = Duration::from_secs(1);
        config.master_key = Some(ConfigSecret::new(TEST_MASTER_KEY));
    };
    let host = TestServer::start_with(configure).await;
    let key = host.tenant("acme").await;

    postgres.stop();
    let (status, body) = host
        .send(Method::GET, "/api/v1/connections", Some(&key), None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("UNAVAILABLE")),
        "{body}"
    );
    let response = host
        .client
        .post(format!("{}/admin/v1/tenants", host.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"id": "globex", "name": "Globex"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    // A bearer not shaped like a key this host issues never reaches the store.
    let (status, body) = host
        .send(Method::GET, "/api/v1/connections", Some("not-a-key"), None)
        .await;
    assert_eq!(status, 401, "no lookup, so no 503: {body}");
    // A flood of requests while it is away logs about one line a second, not one each.
    let started = Instant::now();
    for _ in 0..50 {
        let (status, _) = host
            .send(Method::GET, "/api/v1/connections", Some(&key), None)
            .await;
        assert_eq!(status, 503);
    }
    let lines = connector_tests::harness::log_capture::captured()
        .matches("store unavailable")
        .count();
    assert!(
        lines as u64 <= 2 + started.elapsed().as_secs(),
        "{lines} lines for 50 refused requests"
    );
    // A plugin upload the store cannot record is refused, and the running version serves on.
    let before = host
        .server
        .runtime
        .plugin("probe")
        .map(|p| p.sha256.clone());
    let variant = connector_tests::harness::plugin_variant(
        &std::fs::read(connector_tests::harness::plugin_path("probe")).unwrap(),
        21,
    );
    let response = host
        .client
        .put(format!("{}/admin/v1/plugins/probe", host.base))
        .bearer_auth(ADMIN_TOKEN)
        .body(variant)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["details"]["stage"], "store", "{body}");
    assert_eq!(
        host.server
            .runtime
            .plugin("probe")
            .map(|p| p.sha256.clone()),
        before,
        "nothing changed"
    );

    postgres.restart().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _) = host
            .send(Method::GET, "/api/v1/connections", Some(&key), None)
            .await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the host did not recover ({status})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The tenant refused while the database was away was not half-made.
    let (status, _) = host
        .send(
            Method::GET,
            "/admin/v1/tenants/globex/api-keys",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

/// A PostgreSQL store without a configured master key is refused at start: hosts sharing a
/// database must seal with one key, not each with one generated into its own data dir.
#[tokio::test]
async fn a_postgres_store_without_a_master_key_is_refused_at_start() {
    let database = TestDatabase::create().await;
    let mut config = HostConfig::default();
    database.configure(&mut config);
    config.master_key = None;
    let dir = tempfile::tempdir().unwrap();
    config.data_dir = dir.path().to_owned();
    config.listen = "127.0.0.1:0".parse().unwrap();
    let refused = connector_host::Server::start(config)
        .await
        .err()
        .expect("refused without a master key");
    assert!(format!("{refused:#}").contains("master_key"), "{refused:#}");
}

/// An embedded store moved into PostgreSQL with `connector-host store migrate` serves there:
/// the same key, the connection with its credential (the vendor gets the token), the cursor,
/// the uploaded plugin version. A second run copies nothing twice.
#[tokio::test]
async fn an_embedded_store_moves_into_postgres_and_serves_there() {
    let vendor = ProbeVendor::start().await;
    let on_sled = TestServer::start_with(|config| {
        config.store = connector_host::store::StoreSettings::default();
        config.master_key = Some(ConfigSecret::new(TEST_MASTER_KEY));
    })
    .await;
    let key = on_sled.tenant("acme").await;
    let connection = on_sled
        .probe_connection(&key, &vendor.origin(), "tok-acme")
        .await;
    let (status, _) = on_sled
        .send(
            Method::PUT,
            &format!("/api/v1/connections/{connection}/cursors/issues"),
            Some(&key),
            Some(json!({"cursor": "2026-12-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, 200);
    let uploaded = connector_tests::harness::plugin_variant(
        &std::fs::read(connector_tests::harness::plugin_path("probe")).unwrap(),
        11,
    );
    let response = on_sled
        .client
        .put(format!("{}/admin/v1/plugins/probe", on_sled.base))
        .bearer_auth(ADMIN_TOKEN)
        .body(uploaded.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let TestServer { server, data, .. } = on_sled;
    server.stop().await.unwrap();

    let database = TestDatabase::create().await;
    let env = [
        ("CONNECTOR_HOST_MASTER_KEY", TEST_MASTER_KEY),
        ("CONNECTOR_HOST_STORE__TLS", "disable"),
    ];
    for run in 0..2 {
        let printed = run_cli_with(
            data.path(),
            &env,
            &["store", "migrate", "--from", "sled", "--to", &database.url],
        );
        let report: serde_json::Value = serde_json::from_str(&printed).expect("a JSON report");
        assert_eq!(
            report["tables"]["connections"],
            json!([1, 1]),
            "run {run}: {report}"
        );
        assert_eq!(
            report["tables"]["tenants"],
            json!([1, 1]),
            "run {run}: {report}"
        );
        assert!(
            report["sealed_values_opened"].as_u64().unwrap() >= 2,
            "the credential and the cursor: {report}"
        );
        assert_eq!(
            report["tables"]["plugin_registry"],
            json!([1, 1]),
            "run {run}: {report}"
        );
    }

    let on_postgres = TestServer::start_with(|config| database.configure(config)).await;
    let (status, body) = on_postgres
        .send(
            Method::GET,
            &format!("/api/v1/connections/{connection}/cursors/issues"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["cursor"], "2026-12-01T00:00:00Z");
    let response = on_postgres
        .client
        .get(format!(
            "{}/api/v1/connections/{connection}/containers",
            on_postgres.base
        ))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "the migrated credential reaches the vendor"
    );
    let sha = connector_tests::harness::sha256_hex(&uploaded);
    assert_eq!(
        response.headers()["x-plugin-sha256"].to_str().unwrap(),
        sha,
        "the uploaded version serves after the move"
    );
}

/// Two hosts, 250 calls each at once, on one connection whose access token has expired, with
/// an authorization server that spends a refresh token when it is used (a reuse answers
/// `invalid_grant`): exactly one token request, and every call answers 200. The second host
/// waits on the database's lock for the first's refresh, then reads the new tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_storm_across_two_hosts_makes_one_token_request() {
    let database = TestDatabase::create().await;
    let shared = database.clone();
    let timings = OAuthTimings {
        access_ttl: Duration::from_secs(1),
        margin: 0,
        sweep: 3600,
        state_ttl: 600,
    };
    let setup = OAuthSetup::start_adjusted(timings, move |config| {
        shared.configure(config);
        // Each host takes half of a shared cap: 250 calls at once on each need 500 in all.
        config.limits.max_concurrent_calls_per_tenant = Some(512);
        config.limits.max_concurrent_calls_per_connection = Some(512);
    })
    .await;
    let config = setup.server.config.clone();
    let host_b = TestServer::start_with(move |c| *c = config).await;
    let id = setup.connect().await;
    setup.auth.set_access_ttl(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // B's first sweep (at its start) may have raced the connect and refreshed already: the
    // storm is counted from here, and the vendor refusing every token issued so far makes the
    // storm refresh whatever is stored.
    let before = setup.auth.refresh_requests();
    let held_before = setup.auth.refreshes_held();
    setup.auth.expire_all_access_tokens();

    let calls = [&setup.server, &host_b].into_iter().flat_map(|host| {
        (0..250).map(|_| {
            let (client, url, key) = (
                host.client.clone(),
                format!("{}/api/v1/connections/{id}/containers", host.base),
                setup.key.clone(),
            );
            tokio::spawn(async move {
                client
                    .get(url)
                    .bearer_auth(key)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
    });
    // The authorization server holds the refresh until both hosts have had time to reach
    // theirs: without a lock across hosts, the second would send the spent refresh token.
    setup.auth.hold_refreshes();
    let calls = calls.collect::<Vec<_>>();
    let deadline = Instant::now() + Duration::from_secs(10);
    while setup.auth.refreshes_held() == held_before {
        assert!(
            Instant::now() < deadline,
            "no refresh reached the authorization server"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    setup.auth.release_refreshes();
    let statuses: Vec<u16> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let failed = statuses.iter().filter(|s| **s != 200).count();
    assert_eq!(
        failed, 0,
        "every call on both hosts succeeded: {statuses:?}"
    );
    assert_eq!(
        setup.auth.refresh_requests() - before,
        1,
        "exactly one token request for 500 calls on two hosts"
    );
}
