//! A call's status write touches only the status fields of the record as stored when the call
//! ends, so a slow call never reverts a change made while it ran.

use std::time::Duration;

use axum::http::StatusCode;
use connector_tests::fakes::SlowVendor;
use connector_tests::harness::TestServer;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_slow_call_never_reverts_a_concurrent_patch() {
    // Accepts the connection; later rejects the credential, slowly.
    let vendor = SlowVendor::start(Duration::from_millis(1500), StatusCode::UNAUTHORIZED).await;
    let server = std::sync::Arc::new(TestServer::start().await);
    let key = server.tenant("acme").await;
    let id = server.probe_connection(&key, &vendor.origin(), "tok").await;
    let path = format!("/api/v1/connections/{id}");

    let slow = {
        let (server, key, path) = (server.clone(), key.clone(), path.clone());
        tokio::spawn(async move {
            server
                .send(Method::GET, &format!("{path}/containers"), Some(&key), None)
                .await
        })
    };
    vendor.wait_for_held(1).await;
    let (status, patched) = server
        .send(
            Method::PATCH,
            &path,
            Some(&key),
            Some(json!({"name": "Renamed while a call ran"})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let (status, _) = slow.await.unwrap();
    assert_eq!(status, 409, "the vendor rejected the credential");

    let (_, record) = server.send(Method::GET, &path, Some(&key), None).await;
    assert_eq!(
        record["data"]["name"], "Renamed while a call ran",
        "the PATCH survived"
    );
    assert_eq!(
        record["data"]["status"], "invalid_credentials",
        "and the call's status landed"
    );
}
