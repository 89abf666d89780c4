//! Bounded storage and API key lifecycle: quotas with clear errors, paginated listings,
//! revocable and expiring keys, a per-key request rate, and a gateway that must prove itself.

use std::time::Duration;

use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::{ADMIN_TOKEN, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

fn probe_body(origin: &str, config_extra: Value) -> Value {
    let mut config = json!({"base_url": origin});
    if let (Some(config), Some(extra)) = (config.as_object_mut(), config_extra.as_object()) {
        config.extend(extra.clone());
    }
    json!({
        "connector": "probe",
        "config": config,
        "credentials": {"type": "bearer", "token": "tok"},
    })
}

#[tokio::test]
async fn oversized_configs_and_over_quota_creates_get_clear_errors() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start_with(|config| {
        config.quotas.max_connections_per_tenant = 2;
        config.quotas.max_cursors_per_connection = 2;
    })
    .await;
    let key = server.tenant("acme").await;

    let big = probe_body(&vendor.origin(), json!({"notes": "x".repeat(20_000)}));
    let (status, refused) = server
        .send(Method::POST, "/api/v1/connections", Some(&key), Some(big))
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("16384")
    );
    assert!(
        vendor.recorder.requests().is_empty(),
        "refused before any call"
    );

    let first = server.probe_connection(&key, &vendor.origin(), "t").await;
    server.probe_connection(&key, &vendor.origin(), "t").await;
    let (status, refused) = server
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(&key),
            Some(probe_body(&vendor.origin(), json!({}))),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "CONFLICT");
    assert_eq!(
        refused["error"]["details"]["quota"],
        "max_connections_per_tenant"
    );

    let cursors = format!("/api/v1/connections/{first}/cursors");
    for stream in ["a", "b"] {
        let (status, _) = server
            .send(
                Method::PUT,
                &format!("{cursors}/{stream}"),
                Some(&key),
                Some(json!({"cursor": "1"})),
            )
            .await;
        assert_eq!(status, 200);
    }
    let (status, refused) = server
        .send(
            Method::PUT,
            &format!("{cursors}/c"),
            Some(&key),
            Some(json!({"cursor": "1"})),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    let (status, _) = server
        .send(
            Method::PUT,
            &format!("{cursors}/a"),
            Some(&key),
            Some(json!({"cursor": "2"})),
        )
        .await;
    assert_eq!(
        status, 200,
        "updating an existing stream is within the quota"
    );
}

#[tokio::test]
async fn connections_are_listed_a_page_at_a_time() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(server.probe_connection(&key, &vendor.origin(), "t").await);
    }
    created.sort();
    let (listed, pages) = server.all_pages(&key, "/api/v1/connections?limit=2").await;
    assert_eq!(listed, created);
    assert_eq!(pages, 3);
    let (status, _) = server
        .send(
            Method::GET,
            "/api/v1/connections?cursor=../other",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 422);
}

async fn admin(server: &TestServer, method: Method, path: &str) -> (u16, Value) {
    server.send(method, path, Some(ADMIN_TOKEN), None).await
}

#[tokio::test]
async fn revoked_and_expired_keys_answer_401_and_a_tenant_rotates_its_own() {
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let (status, listed) = admin(&server, Method::GET, "/admin/v1/tenants/acme/api-keys").await;
    assert_eq!(status, 200);
    let keys = listed["data"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let id = keys[0]["id"].as_str().unwrap().to_owned();
    let secret_part = key.trim_start_matches("chk_");
    assert!(
        !secret_part.contains(id.trim_start_matches("key_")),
        "the id is not derived from the secret"
    );
    assert!(
        !listed.to_string().contains(secret_part),
        "no secret is listed"
    );

    // Rotation by the tenant: the new key works, the calling one stops.
    let (status, rotated) = server
        .send(Method::POST, "/api/v1/api-keys/rotate", Some(&key), None)
        .await;
    assert_eq!(status, 201, "{rotated}");
    let new_key = rotated["data"]["key"].as_str().unwrap().to_owned();
    let (status, _) = server
        .send(Method::GET, "/api/v1/connections", Some(&key), None)
        .await;
    assert_eq!(status, 401, "the rotated-out key is revoked");
    let (status, _) = server
        .send(Method::GET, "/api/v1/connections", Some(&new_key), None)
        .await;
    assert_eq!(status, 200);

    // Revocation by the operator.
    let new_id = rotated["data"]["id"].as_str().unwrap();
    let (status, _) = admin(
        &server,
        Method::DELETE,
        &format!("/admin/v1/tenants/acme/api-keys/{new_id}"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = server
        .send(Method::GET, "/api/v1/connections", Some(&new_key), None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("UNAUTHORIZED"))
    );
    let (status, _) = admin(
        &server,
        Method::DELETE,
        &format!("/admin/v1/tenants/acme/api-keys/{new_id}"),
    )
    .await;
    assert_eq!(status, 404, "already revoked");

    // Expiry.
    let (status, issued) = admin(
        &server,
        Method::POST,
        "/admin/v1/tenants/acme/api-keys?expires_in_secs=1",
    )
    .await;
    assert_eq!(status, 201, "{issued}");
    let short = issued["data"]["key"].as_str().unwrap().to_owned();
    let (status, _) = server
        .send(Method::GET, "/api/v1/connections", Some(&short), None)
        .await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = server
        .send(Method::GET, "/api/v1/connections", Some(&short), None)
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn one_key_over_its_rate_is_limited_and_another_is_not() {
    let server = TestServer::start_with(|config| {
        config.limits.api_key_requests_per_second = 1;
        config.limits.api_key_burst = 3;
    })
    .await;
    let fast = server.tenant("fast").await;
    let calm = server.tenant("calm").await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = server
            .client
            .get(format!("{}/api/v1/connections", server.base))
            .bearer_auth(&fast)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "RATE_LIMITED");
        }
    }
    assert_eq!(&statuses[..3], &[200, 200, 200], "{statuses:?}");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    let (status, _) = server
        .send(Method::GET, "/api/v1/connections", Some(&calm), None)
        .await;
    assert_eq!(status, 200, "another key has its own allowance");
}

#[tokio::test]
async fn a_trusted_tenant_header_needs_the_gateway_secret_when_one_is_set() {
    let server = TestServer::start_with(|config| {
        config.trust_tenant_header = true;
        config.gateway_secret = Some(connector_host::config::ConfigSecret::new(
            "gateway-shared-secret-0123",
        ));
    })
    .await;
    server.tenant("acme").await;
    let url = format!("{}/api/v1/connections", server.base);
    let response = server
        .client
        .get(&url)
        .header("x-tenant-id", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "the header alone is not trusted");
    let response = server
        .client
        .get(&url)
        .header("x-tenant-id", "acme")
        .header("x-gateway-secret", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = server
        .client
        .get(&url)
        .header("x-tenant-id", "acme")
        .header("x-gateway-secret", "gateway-shared-secret-0123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// A source sending wrong API keys past its budget is refused (429) before any lookup, while a
/// key the host already holds still works from the same address; a bearer that is not shaped
/// like a key this host issues is refused without asking the store.
#[tokio::test]
async fn a_source_guessing_api_keys_is_shut_out_while_known_keys_still_work() {
    let server = TestServer::start_with(|config| {
        config.limits.unauthenticated_per_second = 1;
        config.limits.unauthenticated_burst = 5;
    })
    .await;
    let key = server.tenant("acme").await;
    let list = |key: String| {
        let server = &server;
        async move {
            server
                .send(Method::GET, "/api/v1/connections", Some(&key), None)
                .await
        }
    };
    assert_eq!(
        list(key.clone()).await.0,
        200,
        "the good key, known from now on"
    );
    let guess = format!("chk_{}", "A".repeat(43));
    for attempt in 0..6 {
        let (status, body) = list(guess.clone()).await;
        assert_eq!(status, 401, "attempt {attempt}: {body}");
    }
    let (status, body) = list(guess.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("RATE_LIMITED")),
        "past the budget of 5: {body}"
    );
    assert_eq!(list(key.clone()).await.0, 200, "a known key still works");
    let (status, _) = list("not-a-key".into()).await;
    assert_eq!(status, 429, "the address is still shut for unknown keys");
}
