//! A tenant connects the probe and browses it through REST API v1, paging with cursors.

use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

async fn page_through(server: &TestServer, key: &str, path: &str) -> (Vec<String>, usize) {
    server.all_pages(key, path).await
}

#[tokio::test]
async fn a_tenant_connects_browses_pages_and_creates() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;

    let body = json!({
        "connector": "probe",
        "name": "My probe",
        "config": {"base_url": vendor.origin()},
        "credentials": {"type": "bearer", "token": "tok-acme"},
    });
    let (status, created) = server
        .send(Method::POST, "/api/v1/connections", Some(&key), Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    let connection = &created["data"];
    assert_eq!(connection["status"], "active");
    assert_eq!(connection["principal"]["id"], "u-1");
    assert_eq!(
        connection["values"]["account_kind"], "probe",
        "discovered values kept"
    );
    assert_eq!(connection["auth_method"], "token");
    let id = connection["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/connections/{id}");

    let (status, listed) = server
        .send(Method::GET, "/api/v1/connections", Some(&key), None)
        .await;
    assert_eq!(
        (status, listed["data"]["entries"].as_array().unwrap().len()),
        (200, 1)
    );
    assert_eq!(listed["data"]["next_cursor"], Value::Null);

    let (containers, pages) =
        page_through(&server, &key, &format!("{base}/containers?limit=3")).await;
    assert_eq!(containers, ["c1", "c2", "c3", "c4", "c5", "c6", "c7"]);
    assert_eq!(pages, 3);
    let (items, pages) = page_through(
        &server,
        &key,
        &format!("{base}/containers/c3/items?limit=2"),
    )
    .await;
    assert_eq!(items, ["c3-i1", "c3-i2", "c3-i3", "c3-i4", "c3-i5"]);
    assert_eq!(pages, 3);
    let (comments, _) = page_through(
        &server,
        &key,
        &format!("{base}/items/c3-i1/comments?limit=3"),
    )
    .await;
    assert_eq!(comments.len(), 4);

    let (status, item) = server
        .send(
            Method::GET,
            &format!("{base}/items/c3-i2"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        (status, item["data"]["title"].as_str()),
        (200, Some("Item c3-i2"))
    );
    let (status, missing) = server
        .send(
            Method::GET,
            &format!("{base}/items/missing"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );

    let (status, created) = server
        .send(
            Method::POST,
            &format!("{base}/containers/c1/items"),
            Some(&key),
            Some(json!({"title": "Ship it"})),
        )
        .await;
    assert_eq!(
        (status, created["data"]["title"].as_str()),
        (201, Some("Ship it"))
    );

    let (status, found) = server
        .send(
            Method::GET,
            &format!("{base}/search?q=get:{}/ok", vendor.origin()),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        (status, found["data"]["entries"][0]["body"].as_str()),
        (200, Some("ok"))
    );

    // Sync cursors: stored sealed, read back, listed, deleted.
    let (status, _) = server
        .send(
            Method::PUT,
            &format!("{base}/cursors/issues"),
            Some(&key),
            Some(json!({"cursor": "2026-11-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, read) = server
        .send(
            Method::GET,
            &format!("{base}/cursors/issues"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(read["data"]["cursor"], "2026-11-01T00:00:00Z");
    let (_, all) = server
        .send(Method::GET, &format!("{base}/cursors"), Some(&key), None)
        .await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
    let (status, _) = server
        .send(
            Method::DELETE,
            &format!("{base}/cursors/issues"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .send(
            Method::GET,
            &format!("{base}/cursors/issues"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 404);

    let (status, audit) = server
        .send(Method::GET, "/api/v1/audit", Some(&key), None)
        .await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = audit["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["tenant.create", "api_key.issue", "credential.create"]
    );
}

#[tokio::test]
async fn rotating_credentials_revalidates_and_delete_erases() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let id = server
        .probe_connection(&key, &vendor.origin(), "tok-1")
        .await;
    let base = format!("/api/v1/connections/{id}");

    let patch = json!({"credentials": {"type": "bearer", "token": "tok-2"}});
    let (status, body) = server
        .send(Method::PATCH, &base, Some(&key), Some(patch))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = server
        .send(Method::POST, &format!("{base}/validate"), Some(&key), None)
        .await;
    assert_eq!(status, 200);
    let sent: Vec<String> = vendor
        .recorder
        .to_path("/me")
        .iter()
        .filter_map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        sent.last().map(String::as_str),
        Some("Bearer tok-2"),
        "the rotated token is in use: {sent:?}"
    );

    // A config the connector rejects changes nothing.
    let (status, body) = server
        .send(
            Method::PATCH,
            &base,
            Some(&key),
            Some(json!({"config": {"base_url": "not a url"}})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("VALIDATION")),
        "{body}"
    );
    let (_, current) = server.send(Method::GET, &base, Some(&key), None).await;
    assert_eq!(
        current["data"]["config"]["base_url"],
        Value::String(vendor.origin())
    );

    let (status, _) = server.send(Method::DELETE, &base, Some(&key), None).await;
    assert_eq!(status, 200);
    let (status, _) = server.send(Method::GET, &base, Some(&key), None).await;
    assert_eq!(status, 404);
    assert!(
        server
            .server
            .store
            .sealed_credential("acme", &id)
            .await
            .unwrap()
            .is_none(),
        "the sealed secret is gone"
    );
    let (status, _) = server.send(Method::DELETE, &base, Some(&key), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_rejected_credential_creates_nothing() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    // The probe vendor answers 401 when no credential header arrives: basic auth on a
    // connector whose basic method is named but with the query-key method, nothing is sent.
    let body = json!({
        "connector": "probe",
        "auth_method": "query_key",
        "config": {"base_url": vendor.origin()},
        "credentials": {"type": "api_key", "key": "k"},
    });
    let (status, body) = server
        .send(Method::POST, "/api/v1/connections", Some(&key), Some(body))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("VALIDATION")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rejected the credentials")
    );
    let (_, listed) = server
        .send(Method::GET, "/api/v1/connections", Some(&key), None)
        .await;
    assert_eq!(listed["data"]["entries"], json!([]));
}
