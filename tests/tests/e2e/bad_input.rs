//! Bad input answers with a clear envelope error and the right status, and stores nothing.

use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::TestServer;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn malformed_bodies_get_their_own_statuses_and_store_nothing() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let url = format!("{}/api/v1/connections", server.base);
    let post = |body: Vec<u8>, content_type: &'static str| {
        server
            .client
            .post(&url)
            .bearer_auth(&key)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let cases: Vec<(Vec<u8>, &str, u16, &str)> = vec![
        (b"{\"connector\": ".to_vec(), "application/json", 400, "not valid JSON"),
        (b"{}".to_vec(), "text/plain", 415, "content-type"),
        (br#"{"connector":"probe"}"#.to_vec(), "application/json", 422, "credentials"),
        (
            json!({"connector": "probe", "credentials": {"type": "bearer", "token": "t"}, "surprise": 1}).to_string().into_bytes(),
            "application/json",
            422,
            "surprise",
        ),
        (
            json!({"connector": "probe", "credentials": {"type": "password", "token": "t"}}).to_string().into_bytes(),
            "application/json",
            422,
            "password",
        ),
        (
            json!({"connector": "nope", "credentials": {"type": "bearer", "token": "t"}}).to_string().into_bytes(),
            "application/json",
            422,
            "not installed",
        ),
        (
            json!({"connector": "probe", "config": {"base_url": vendor.origin()}, "credentials": {"type": "bearer", "token": ""}})
                .to_string()
                .into_bytes(),
            "application/json",
            422,
            "must not be empty",
        ),
        (vec![b' '; 2 << 20], "application/json", 413, ""),
    ];
    for (body, content_type, status, needle) in cases {
        let response = post(body, content_type).await.unwrap();
        assert_eq!(response.status().as_u16(), status);
        if status == 413 {
            // Answered before the body was read: the connection cannot be reused, and the
            // client is told so rather than sending its next request into a closing socket.
            assert_eq!(
                response.headers().get("connection").map(|v| v.as_bytes()),
                Some(&b"close"[..])
            );
        }
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["ok"], false);
        assert_eq!(body["error"]["code"], "VALIDATION");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(needle),
            "{status}: `{message}` should mention `{needle}`"
        );
    }
    let (_, listed) = server
        .send(Method::GET, "/api/v1/connections", Some(&key), None)
        .await;
    assert_eq!(listed["data"]["entries"], json!([]), "nothing was stored");
    assert!(
        vendor.recorder.requests().is_empty(),
        "nothing reached the vendor"
    );
}

#[tokio::test]
async fn bad_queries_and_cursors_are_validation_errors() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let id = server.probe_connection(&key, &vendor.origin(), "tok").await;
    let base = format!("/api/v1/connections/{id}");
    for path in [
        format!("{base}/containers?limit=0"),
        format!("{base}/containers?limit=1000"),
        format!("{base}/containers?limit=abc"),
        format!("{base}/containers?cursor=bogus"),
        format!("{base}/containers?unknown=1"),
        format!("{base}/containers/c1/items?updated_since=yesterday"),
        format!("{base}/search"),
        format!("{base}/search?q="),
        format!("{base}/cursors/bad%20stream"),
    ] {
        let (status, body) = server.send(Method::GET, &path, Some(&key), None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("VALIDATION")),
            "{path}: {body}"
        );
    }
    let (status, body) = server
        .send(
            Method::POST,
            &format!("{base}/containers/c1/items"),
            Some(&key),
            Some(json!({"title": " "})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("VALIDATION"))
    );
    let (status, body) = server
        .send(
            Method::POST,
            "/admin/v1/tenants",
            Some(connector_tests::harness::ADMIN_TOKEN),
            Some(json!({"id": "Bad Id!", "name": "x"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("VALIDATION"))
    );
    let (status, body) = server
        .send(
            Method::POST,
            "/admin/v1/tenants",
            Some(connector_tests::harness::ADMIN_TOKEN),
            Some(json!({"id": "acme", "name": "again"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("CONFLICT"))
    );
}
