//! The Scaffolded Manifest connector (a declarative manifest) through the host's REST API, against its
//! vendor's fake. Scaffolded by `cargo xtask new-connector --declarative scaffolded-manifest`: the manifest
//! starts as the tracker fixture's, so the fake is the tracker's; change them together.

use connector_tests::fakes::{TRACKER_TOKEN, TrackerFake};
use connector_tests::harness::TestServer;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn scaffolded_manifest_connects_and_lists_containers_and_items() {
    let vendor = TrackerFake::start().await;
    // The fake serves on loopback, which the operator must open to this connector.
    let server = TestServer::start_with(|config| {
        config
            .connector_hosts
            .insert("scaffolded-manifest".into(), vec!["127.0.0.1".into()]);
    })
    .await;
    let key = server.tenant("acme").await;
    let body = json!({
        "connector": "scaffolded-manifest",
        "config": {"base_url": vendor.origin()},
        "credentials": {"type": "bearer", "token": TRACKER_TOKEN},
    });
    let (status, created) = server
        .send(Method::POST, "/api/v1/connections", Some(&key), Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap();
    let base = format!("/api/v1/connections/{id}");
    let (containers, _) = server.all_pages(&key, &format!("{base}/containers")).await;
    assert_eq!(containers, ["CORE", "WEB", "OPS"]);
    let (items, _) = server
        .all_pages(&key, &format!("{base}/containers/CORE/items"))
        .await;
    assert_eq!(items.len(), 5);
}
