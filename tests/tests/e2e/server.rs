//! The `connector-host serve` server: health, installed connectors, envelope errors.

use connector_host::Server;
use connector_host::config::HostConfig;
use connector_tests::harness;

async fn start_server() -> (Server, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let plugins = data.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(harness::plugin_path("probe"), plugins.join("probe.wasm")).unwrap();
    std::fs::write(plugins.join("broken.wasm"), b"\0asm but not really").unwrap();
    let config = HostConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data.path().to_owned(),
        ..HostConfig::default()
    };
    (Server::start(config).await.unwrap(), data)
}

#[tokio::test]
async fn the_server_lists_loaded_connectors_and_skips_broken_files() {
    let (server, _data) = start_server().await;
    let base = format!("http://{}", server.local_addr);
    let client = reqwest::Client::new();

    let health: serde_json::Value = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["ok"], true);

    let response = client
        .get(format!("{base}/api/v1/connectors"))
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-42");
    let listed: serde_json::Value = response.json().await.unwrap();
    assert_eq!(listed["request_id"], "req-42");
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["probe"],
        "the broken file was skipped, the good one loaded"
    );
    assert_eq!(listed["data"][0]["plugin"]["wit_version"], "0.1.0");
    assert_eq!(
        listed["data"][0]["auth_methods"][2]["placement"],
        "header:x-probe-key"
    );

    let one = client
        .get(format!("{base}/api/v1/connectors/probe"))
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_routes_and_connectors_answer_in_the_envelope() {
    let (server, _data) = start_server().await;
    let base = format!("http://{}", server.local_addr);
    let client = reqwest::Client::new();

    let missing = client
        .get(format!("{base}/api/v1/connectors/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["ok"], false);
    assert_eq!(body["error"]["code"], "NOT_FOUND");
    assert!(body["request_id"].as_str().is_some_and(|id| !id.is_empty()));

    let route = client
        .get(format!("{base}/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_eq!(route.status(), 404);
    let wrong_method = client
        .delete(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    let body: serde_json::Value = wrong_method.json().await.unwrap();
    assert_eq!(body["ok"], false);
    server.stop().await.unwrap();
}
