//! The plugin registry on a shared store: an upload, rollback or unload through one host's
//! admin API serves on every host within 2 s, and on hosts started later; bytes the database
//! returns are checked like an upload; a host with another master key is refused.

use std::time::{Duration, Instant};

use connector_host::config::ConfigSecret;
use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::{
    self, ADMIN_TOKEN, TestDatabase, TestServer, plugin_path, plugin_variant, sha256_hex,
};
use reqwest::Method;
use serde_json::Value;

async fn start(database: &TestDatabase) -> TestServer {
    TestServer::start_with(|config| database.configure(config)).await
}

/// Which probe version answers a containers call on `host` (`""` when none does).
async fn answered_by(host: &TestServer, key: &str, connection: &str) -> String {
    let response = host
        .client
        .get(format!(
            "{}/api/v1/connections/{connection}/containers?limit=1",
            host.base
        ))
        .bearer_auth(key)
        .send()
        .await
        .expect("request sent");
    response
        .headers()
        .get("x-plugin-sha256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Waits until `host` answers with version `sha` ("" for unloaded); returns how long it took.
async fn serves_within(
    host: &TestServer,
    key: &str,
    connection: &str,
    sha: &str,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let answered = answered_by(host, key, connection).await;
        if answered == sha {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "still answered by `{answered}`, not `{sha}`, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn upload(host: &TestServer, wasm: Vec<u8>) -> (u16, Value) {
    let response = host
        .client
        .put(format!("{}/admin/v1/plugins/probe", host.base))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/wasm")
        .body(wasm)
        .send()
        .await
        .expect("upload sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON envelope"))
}

/// An upload on A serves on B within 2 s, a rollback on B serves on A, an unload on A stops
/// B, and a host started afterwards serves the registry's versions over its directory's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plugin_changes_on_one_host_serve_on_every_host_within_two_seconds() {
    let database = TestDatabase::create().await;
    let vendor = ProbeVendor::start().await;
    let host_a = start(&database).await;
    let host_b = start(&database).await;
    let key = host_a.tenant("ops").await;
    let connection = host_a
        .probe_connection(&key, &vendor.origin(), "probe-token")
        .await;
    let original = std::fs::read(plugin_path("probe")).expect("probe.wasm");
    let (first, second) = (plugin_variant(&original, 1), plugin_variant(&original, 2));
    let (original, first_sha, second_sha) = (
        sha256_hex(&original),
        sha256_hex(&first),
        sha256_hex(&second),
    );
    assert_eq!(answered_by(&host_b, &key, &connection).await, original);

    let (status, body) = upload(&host_a, first).await;
    assert_eq!(status, 200, "{body}");
    let took = serves_within(
        &host_b,
        &key,
        &connection,
        &first_sha,
        Duration::from_secs(2),
    )
    .await;
    eprintln!("an upload on A served on B after {took:?}");

    let (status, body) = host_b
        .send(
            Method::POST,
            "/admin/v1/plugins/probe/rollback",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["current"]["sha256"], original.as_str());
    let took = serves_within(
        &host_a,
        &key,
        &connection,
        &original,
        Duration::from_secs(2),
    )
    .await;
    eprintln!("a rollback on B served on A after {took:?}");
    let (_, entry) = host_a
        .send(
            Method::GET,
            "/admin/v1/plugins/probe",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(
        entry["data"]["previous"]["sha256"],
        first_sha.as_str(),
        "A can roll back to what B rolled back from: {entry}"
    );

    let (status, body) = host_a
        .send(
            Method::DELETE,
            "/admin/v1/plugins/probe",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    serves_within(&host_b, &key, &connection, "", Duration::from_secs(2)).await;
    let (status, body) = host_b
        .send(
            Method::GET,
            &format!("/api/v1/connections/{connection}/containers"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("NOT_CONNECTED")),
        "an unload on A stops B: {body}"
    );

    let (status, body) = upload(&host_b, second).await;
    assert_eq!(status, 201, "a new version after the unload: {body}");
    serves_within(
        &host_a,
        &key,
        &connection,
        &second_sha,
        Duration::from_secs(2),
    )
    .await;

    // A host started now serves the registry's version at once, not its directory's.
    let host_c = start(&database).await;
    assert_eq!(answered_by(&host_c, &key, &connection).await, second_sha);
    let (_, plugins) = host_c
        .send(
            Method::GET,
            "/admin/v1/plugins/probe",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(plugins["data"]["current"]["origin"]["source"], "upload");
    assert_eq!(plugins["data"]["previous"]["sha256"], original.as_str());

    // Every change was audited once, by the host that made it.
    for (host, action) in [
        (&host_a, "plugin.load"),
        (&host_b, "plugin.rollback"),
        (&host_a, "plugin.unload"),
    ] {
        let events = host.host_audit(ADMIN_TOKEN).await;
        assert!(
            events
                .iter()
                .any(|e| e["action"] == action && e["target"] == "probe"),
            "{action} audited"
        );
    }
}

/// Component bytes the database hands back are checked like an upload: bytes that do not
/// hash to the entry's sha256 (a tampered row) are not run; the host serves its own version
/// and says why.
#[tokio::test]
async fn tampered_registry_bytes_are_never_run() {
    let database = TestDatabase::create().await;
    let vendor = ProbeVendor::start().await;
    let host_a = start(&database).await;
    let key = host_a.tenant("ops").await;
    let connection = host_a
        .probe_connection(&key, &vendor.origin(), "probe-token")
        .await;
    let original = std::fs::read(plugin_path("probe")).expect("probe.wasm");
    let uploaded = plugin_variant(&original, 7);
    let (status, body) = upload(&host_a, uploaded.clone()).await;
    assert_eq!(status, 200, "{body}");

    let (client, driver) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
        .await
        .expect("database");
    let driver = tokio::spawn(driver);
    let swapped = plugin_variant(&original, 8);
    let changed = client
        .execute(
            "UPDATE plugin_blobs SET wasm = $1 WHERE sha256 = $2",
            &[&swapped, &sha256_hex(&uploaded)],
        )
        .await
        .expect("tamper");
    assert_eq!(changed, 1);
    drop(client);
    let _ = driver.await;

    let host_b = start(&database).await;
    assert_eq!(
        answered_by(&host_b, &key, &connection).await,
        sha256_hex(&original),
        "B serves its own version, never the swapped bytes"
    );
    let logged = harness::log_capture::captured();
    assert!(
        logged.contains(&format!(
            "the store's bytes for {} hash to",
            sha256_hex(&uploaded)
        )),
        "B says why it did not apply the entry"
    );
    assert_eq!(
        answered_by(&host_a, &key, &connection).await,
        sha256_hex(&uploaded)
    );
}

/// Hosts sharing a database seal with one key: a host started with another master key is
/// refused at start, before it writes anything.
#[tokio::test]
async fn a_host_with_another_master_key_is_refused() {
    let database = TestDatabase::create().await;
    let host_a = start(&database).await;
    let _ = host_a.tenant("acme").await;
    let refused = connector_host::Server::start({
        let mut config = host_a.config.clone();
        config.master_key = Some(ConfigSecret::new(
            "b3RoZXItbWFzdGVyLWtleS1mb3ItcG9zdGdyZXMtMzI=",
        ));
        let dir = tempfile::tempdir().unwrap();
        config.data_dir = dir.keep();
        config
    })
    .await
    .err()
    .expect("refused with another key");
    assert!(
        format!("{refused:#}").contains("not one this store is sealed under"),
        "{refused:#}"
    );
}
