//! Tenant-private connectors: a tenant uploads a declarative manifest with its own API key
//! (`PUT /api/v1/connectors/{id}`). Only it sees and uses the connector; its egress is bound
//! to the hosts the operator opened to tenant connectors; it cannot take the operator's or
//! another tenant's id; uploads are counted against a quota and audited in its own log; with
//! no hosts opened (the default) uploads are off.

use connector_tests::fakes::{TRACKER_TOKEN, TrackerFake};
use connector_tests::harness::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

const TRACKER: &str = include_str!("../../../plugins/fixtures/manifests/tracker-manifest.yaml");

/// The tracker manifest as tenant connector `id`.
fn manifest(id: &str) -> String {
    TRACKER.replacen("id: tracker-manifest", &format!("id: {id}"), 1)
}

async fn put(server: &TestServer, key: &str, id: &str, body: impl Into<Vec<u8>>) -> (u16, Value) {
    let response = server
        .client
        .put(format!("{}/api/v1/connectors/{id}", server.base))
        .bearer_auth(key)
        .header("content-type", "application/yaml")
        .body(body.into())
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("an envelope"))
}

async fn open_server() -> TestServer {
    TestServer::start_with(|config| {
        config.tenant_connectors.allowed_hosts = vec!["127.0.0.1".into()];
        config.tenant_connectors.max_per_tenant = 2;
    })
    .await
}

fn code(answer: &(u16, Value)) -> (u16, Option<&str>) {
    (answer.0, answer.1["error"]["code"].as_str())
}

#[tokio::test]
async fn a_tenant_connector_is_its_own_and_nobody_elses() {
    let vendor = TrackerFake::start().await;
    let server = open_server().await;
    let acme = server.tenant("acme").await;
    let other = server.tenant("other").await;

    let (status, created) = put(&server, &acme, "acme-tracker", manifest("acme-tracker")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["id"], "acme-tracker");

    // Acme connects and browses through it.
    let body = json!({"connector": "acme-tracker", "config": {"base_url": vendor.origin()},
        "credentials": {"type": "bearer", "token": TRACKER_TOKEN}});
    let (status, connection) = server
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(&acme),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 201, "{connection}");
    let id = connection["data"]["id"].as_str().unwrap().to_owned();
    let (ids, _) = server
        .all_pages(&acme, &format!("/api/v1/connections/{id}/containers"))
        .await;
    assert_eq!(ids, ["CORE", "WEB", "OPS"]);

    // The other tenant sees nothing and cannot connect to it.
    let (status, _) = server
        .send(
            Method::GET,
            "/api/v1/connectors/acme-tracker",
            Some(&other),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (_, listed) = server
        .send(Method::GET, "/api/v1/connectors", Some(&other), None)
        .await;
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != "acme-tracker"),
        "{listed}"
    );
    let refused = server
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(&other),
            Some(body),
        )
        .await;
    assert_eq!(code(&refused), (422, Some("VALIDATION")), "{}", refused.1);
    let refused = server
        .send(
            Method::DELETE,
            "/api/v1/connectors/acme-tracker",
            Some(&other),
            None,
        )
        .await;
    assert_eq!(code(&refused), (404, Some("NOT_FOUND")), "{}", refused.1);

    // Nobody's id can be taken: not another tenant's, not the operator's (nor the reverse).
    for (key, taken) in [
        (&other, "acme-tracker"),
        (&acme, "tracker"),
        (&acme, "tracker-manifest"),
    ] {
        let answer = put(&server, key, taken, manifest(taken)).await;
        assert_eq!(
            code(&answer),
            (409, Some("CONFLICT")),
            "{taken}: {}",
            answer.1
        );
    }
    let operator = server
        .client
        .put(format!("{}/admin/v1/plugins/acme-tracker", server.base))
        .bearer_auth(connector_tests::harness::ADMIN_TOKEN)
        .body(manifest("acme-tracker"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        operator.status().as_u16(),
        409,
        "the operator cannot take a tenant's id either"
    );

    // The upload is in acme's own audit log, not in the other tenant's.
    let (_, audit) = server
        .send(Method::GET, "/api/v1/audit", Some(&acme), None)
        .await;
    let loads = |audit: &Value| {
        audit["data"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "plugin.load" && e["target"] == "acme-tracker")
            .count()
    };
    assert_eq!(loads(&audit), 1, "{audit}");
    let (_, theirs) = server
        .send(Method::GET, "/api/v1/audit", Some(&other), None)
        .await;
    assert_eq!(loads(&theirs), 0, "{theirs}");

    // Removed, its connections answer as for an unloaded connector.
    let (status, _) = server
        .send(
            Method::DELETE,
            "/api/v1/connectors/acme-tracker",
            Some(&acme),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let gone = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{id}/containers"),
            Some(&acme),
            None,
        )
        .await;
    assert_ne!(gone.0, 200, "{}", gone.1);
}

#[tokio::test]
async fn a_tenant_connector_reaches_only_the_hosts_the_operator_opened() {
    let vendor = TrackerFake::start().await;
    let server = open_server().await;
    let acme = server.tenant("acme").await;

    // A fixed base elsewhere is refused at upload.
    let elsewhere = manifest("acme-elsewhere").replacen(
        "origin_config: base_url",
        "url: https://api.elsewhere.example",
        1,
    );
    let refused = put(&server, &acme, "acme-elsewhere", elsewhere).await;
    assert_eq!(code(&refused), (422, Some("VALIDATION")), "{}", refused.1);
    assert!(
        refused.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api.elsewhere.example")
    );

    // A connection whose origin is another host than the opened one is refused before any
    // credential is bound to it (`localhost` is the same machine, but not an opened host).
    let (status, _) = put(&server, &acme, "acme-tracker", manifest("acme-tracker")).await;
    assert_eq!(status, 201);
    let elsewhere_origin = vendor.origin().replace("127.0.0.1", "localhost");
    let refused = server
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(&acme),
            Some(
                json!({"connector": "acme-tracker", "config": {"base_url": elsewhere_origin},
                "credentials": {"type": "bearer", "token": TRACKER_TOKEN}}),
            ),
        )
        .await;
    assert_eq!(code(&refused), (422, Some("VALIDATION")), "{}", refused.1);
    assert!(
        vendor.recorder.requests().is_empty(),
        "the vendor saw nothing"
    );

    // A component is not a tenant connector; nor is a manifest past the quota.
    let refused = put(&server, &acme, "acme-probe", b"\0asm\x01\0\0\0".to_vec()).await;
    assert_eq!(code(&refused), (422, Some("VALIDATION")), "{}", refused.1);
    let (status, _) = put(&server, &acme, "acme-second", manifest("acme-second")).await;
    assert_eq!(status, 201);
    let refused = put(&server, &acme, "acme-third", manifest("acme-third")).await;
    assert_eq!(
        code(&refused),
        (429, Some("QUOTA_EXCEEDED")),
        "{}",
        refused.1
    );
    let (status, _) = put(&server, &acme, "acme-second", manifest("acme-second")).await;
    assert_eq!(status, 200, "replacing one's own is not a new one");
}

#[tokio::test]
async fn tenant_connectors_are_off_until_the_operator_opens_hosts() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let refused = put(&server, &acme, "acme-tracker", manifest("acme-tracker")).await;
    assert_eq!(code(&refused), (403, Some("FORBIDDEN")), "{}", refused.1);
    let (status, _) = server
        .send(
            Method::GET,
            "/api/v1/connectors/acme-tracker",
            Some(&acme),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let unauthenticated = server
        .client
        .put(format!("{}/api/v1/connectors/acme-tracker", server.base))
        .body(manifest("acme-tracker"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);
}
