//! A credential goes only where it was validated: a tenant cannot re-point a stored secret at a
//! server of its choosing, and a connection's origin passes the same allow-list as every
//! request.

use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

async fn audit_events(server: &TestServer, key: &str) -> Vec<Value> {
    let (status, audit) = server
        .send(Method::GET, "/api/v1/audit?limit=500", Some(key), None)
        .await;
    assert_eq!(status, 200, "{audit}");
    audit["data"]["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn re_pointing_a_connection_without_its_credential_sends_nothing_anywhere() {
    let vendor = ProbeVendor::start().await;
    let collector = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let id = server
        .probe_connection(&key, &vendor.origin(), "stored-secret")
        .await;
    let path = format!("/api/v1/connections/{id}");

    // The attack: move the origin to a "collector" that answers like the vendor.
    let (status, refused) = server
        .send(
            Method::PATCH,
            &path,
            Some(&key),
            Some(json!({"config": {"base_url": collector.origin()}})),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "VALIDATION");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("supply the credentials again"),
        "{refused}"
    );
    assert_eq!(refused["error"]["details"]["keys"], json!(["base_url"]));
    assert!(
        collector.recorder.requests().is_empty(),
        "the collector received nothing"
    );
    let (_, record) = server.send(Method::GET, &path, Some(&key), None).await;
    assert_eq!(
        record["data"]["config"]["base_url"],
        vendor.origin(),
        "the record is unchanged"
    );
    let failure = audit_events(&server, &key)
        .await
        .into_iter()
        .find(|e| e["action"] == "connection.update" && e["outcome"] == "failure")
        .expect("the refused attempt is audited");
    assert_eq!(failure["target"], id);
    assert!(
        failure["details"]["reason"]
            .as_str()
            .unwrap()
            .contains("credentials")
    );

    // Calls keep going to the vendor the credential was bound to.
    let (status, _) = server
        .send(Method::GET, &format!("{path}/containers"), Some(&key), None)
        .await;
    assert_eq!(status, 200);
    assert!(collector.recorder.requests().is_empty());

    // With a new credential the move is a fresh connection: re-validated at the new origin,
    // and only the new secret goes there.
    let (status, moved) = server
        .send(
            Method::PATCH,
            &path,
            Some(&key),
            Some(json!({
                "config": {"base_url": collector.origin()},
                "credentials": {"type": "bearer", "token": "collector-secret"},
            })),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    let (status, _) = server
        .send(Method::GET, &format!("{path}/containers"), Some(&key), None)
        .await;
    assert_eq!(status, 200);
    let sent: Vec<String> = collector
        .recorder
        .requests()
        .iter()
        .filter_map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert!(!sent.is_empty());
    assert!(
        sent.iter().all(|h| h == "Bearer collector-secret"),
        "the old secret never reached the new origin: {sent:?}"
    );
}

#[tokio::test]
async fn a_config_change_that_keeps_the_origin_is_reverified_with_the_stored_credential() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let id = server.probe_connection(&key, &vendor.origin(), "tok").await;
    let (status, patched) = server
        .send(
            Method::PATCH,
            &format!("/api/v1/connections/{id}"),
            Some(&key),
            Some(json!({"config": {"base_url": vendor.origin(), "note": "x"}})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["data"]["config"]["note"], "x");
}

#[tokio::test]
async fn an_origin_outside_the_operators_allow_list_is_refused_at_create() {
    let vendor = ProbeVendor::start().await;
    // The probe requests localhost and 127.0.0.1; the operator allows only localhost.
    let server = TestServer::start_with(|config| {
        // The probe's OAuth token host too: a plugin whose secrets could go elsewhere would not
        // load at all.
        config.egress_allowed_hosts = vec!["localhost".into(), "auth.probe.example".into()];
    })
    .await;
    let key = server.tenant("acme").await;
    let (status, refused) = server
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(&key),
            Some(json!({
                "connector": "probe",
                "config": {"base_url": vendor.origin()},
                "credentials": {"type": "bearer", "token": "tok"},
            })),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["details"]["field"], "config.base_url");
    assert!(
        vendor.recorder.requests().is_empty(),
        "nothing reached the vendor"
    );
}

#[tokio::test]
async fn atlassian_sites_must_be_on_atlassian_net_unless_the_operator_lists_them() {
    let server = TestServer::start_with(|config| config.connector_hosts.clear()).await;
    let key = server.tenant("acme").await;
    for site in ["https://collector.example", "http://127.0.0.1:9"] {
        let (status, refused) = server
            .send(
                Method::POST,
                "/api/v1/connections",
                Some(&key),
                Some(json!({
                    "connector": "jira",
                    "config": {"site_url": site},
                    "credentials": {"type": "basic", "username": "a@b.c", "password": "t"},
                })),
            )
            .await;
        assert_eq!(status, 422, "{site}: {refused}");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains("connector_hosts.jira"), "{message}");
    }
    let failures = audit_events(&server, &key)
        .await
        .into_iter()
        .filter(|e| e["action"] == "credential.create" && e["outcome"] == "failure")
        .count();
    assert_eq!(failures, 2, "each refused create is audited");
}

#[tokio::test]
async fn the_checks_a_client_waits_for_run_under_the_short_connect_deadline() {
    use axum::Router;
    use axum::routing::get;
    use connector_tests::fakes::FakeServer;
    // A vendor that never answers `connect()` in time.
    let router = Router::new().route(
        "/me",
        get(|| async {
            tokio::time::sleep(std::time::Duration::from_secs(20)).await;
            axum::Json(json!({"id": "u-1", "name": "Late"}))
        }),
    );
    let vendor = FakeServer::start(router).await;
    let server = TestServer::start_with(|config| config.limits.connect_timeout_ms = 500).await;
    let key = server.tenant("acme").await;
    let started = std::time::Instant::now();
    let (status, refused) = server
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(&key),
            Some(json!({
                "connector": "probe",
                "config": {"base_url": vendor.origin()},
                "credentials": {"type": "bearer", "token": "tok"},
            })),
        )
        .await;
    // The request is clamped to the call's remaining time: the guest sees a timeout (a
    // transient vendor error, 503) or the call hits its deadline (a fault, 502).
    assert!(matches!(status, 502 | 503), "{status}: {refused}");
    let (_, listed) = server
        .send(Method::GET, "/api/v1/connections", Some(&key), None)
        .await;
    assert_eq!(listed["data"]["entries"], json!([]), "nothing stored");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "answered by the connect deadline, not the vendor"
    );
}
