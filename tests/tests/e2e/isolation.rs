//! Tenant B can neither see nor touch tenant A's connection: every attempt answers 404, exactly
//! as for an id that does not exist, so ids do not leak.

use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::TestServer;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn another_tenant_gets_404_for_everything() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key_a = server.tenant("tenant-a").await;
    let key_b = server.tenant("tenant-b").await;
    let id = server
        .probe_connection(&key_a, &vendor.origin(), "tok-a")
        .await;
    let base = format!("/api/v1/connections/{id}");
    let before = vendor.recorder.requests().len();

    let attempts = [
        (Method::GET, base.clone(), None),
        (Method::POST, format!("{base}/validate"), None),
        (
            Method::PATCH,
            base.clone(),
            Some(json!({"name": "mine now"})),
        ),
        (
            Method::PATCH,
            base.clone(),
            Some(json!({"credentials": {"type": "bearer", "token": "tok-b"}})),
        ),
        (Method::GET, format!("{base}/containers"), None),
        (Method::GET, format!("{base}/containers/c1/items"), None),
        (
            Method::POST,
            format!("{base}/containers/c1/items"),
            Some(json!({"title": "x"})),
        ),
        (Method::GET, format!("{base}/items/c1-i1"), None),
        (Method::GET, format!("{base}/items/c1-i1/comments"), None),
        (Method::GET, format!("{base}/search?q=observe"), None),
        (Method::GET, format!("{base}/cursors"), None),
        (
            Method::PUT,
            format!("{base}/cursors/s"),
            Some(json!({"cursor": "x"})),
        ),
        (Method::DELETE, base.clone(), None),
    ];
    for (method, path, body) in attempts {
        let (status, answer) = server
            .send(method.clone(), &path, Some(&key_b), body.clone())
            .await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
        let (status_missing, missing) = server
            .send(
                method.clone(),
                &path.replace(&id, "conn_doesnotexist"),
                Some(&key_b),
                body,
            )
            .await;
        assert_eq!(status_missing, 404);
        assert_eq!(
            answer["error"]["message"]
                .as_str()
                .map(|m| m.replace(&id, "ID")),
            missing["error"]["message"]
                .as_str()
                .map(|m| m.replace("conn_doesnotexist", "ID")),
            "the answer for someone else's id is the one for a missing id"
        );
    }
    let (_, listed) = server
        .send(Method::GET, "/api/v1/connections", Some(&key_b), None)
        .await;
    assert_eq!(listed["data"]["entries"], json!([]));
    assert_eq!(
        vendor.recorder.requests().len(),
        before,
        "no call reached the vendor for tenant B"
    );

    // Tenant A's connection is untouched.
    let (status, own) = server.send(Method::GET, &base, Some(&key_a), None).await;
    assert_eq!(
        (status, own["data"]["name"].as_str()),
        (200, Some("Probe (test fixture)"))
    );
}

#[tokio::test]
async fn a_page_cursor_from_another_tenant_or_listing_is_refused() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key_a = server.tenant("tenant-a").await;
    let key_b = server.tenant("tenant-b").await;
    let id_a = server
        .probe_connection(&key_a, &vendor.origin(), "tok-a")
        .await;
    let id_b = server
        .probe_connection(&key_b, &vendor.origin(), "tok-b")
        .await;

    let (_, page) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{id_a}/containers?limit=2"),
            Some(&key_a),
            None,
        )
        .await;
    let cursor = page["data"]["next_cursor"].as_str().unwrap().to_owned();
    for (key, path) in [
        (
            &key_b,
            format!("/api/v1/connections/{id_b}/containers?cursor={cursor}"),
        ),
        (
            &key_a,
            format!("/api/v1/connections/{id_a}/containers/c1/items?cursor={cursor}"),
        ),
        (
            &key_a,
            format!("/api/v1/connections/{id_a}/containers?cursor=o:2"),
        ),
    ] {
        let (status, body) = server.send(Method::GET, &path, Some(key), None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("VALIDATION")),
            "{path}: {body}"
        );
    }
    let (status, _) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{id_a}/containers?cursor={cursor}"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(status, 200, "the cursor works where it was issued");
}
