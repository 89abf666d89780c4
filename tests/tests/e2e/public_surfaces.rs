//! What anyone can reach without credentials costs the host O(1) and writes nothing that grows
//! with it: junk on the vendor webhook receiver and failed OAuth callbacks leave no metric label
//! of their own and no audit record; one source past its allowance is refused before any
//! lookup; unsigned posts cannot spend the budget of the shared app route that genuine
//! deliveries of every tenant come through.

use connector_host::config::ConfigSecret;
use connector_tests::harness::{ADMIN_TOKEN, TestServer};
use hmac::{Hmac, Mac as _};
use reqwest::Method;
use serde_json::json;
use sha2::Sha256;

const SLACK_SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

async fn post(server: &TestServer, path: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    let mut request = server
        .client
        .post(format!("{}{path}", server.base))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_on_the_receiver_and_the_oauth_callback_leaves_nothing_behind() {
    let server = TestServer::start_with(|config| {
        // The flood below comes from one address; the per-source limit has its own test.
        config.limits.unauthenticated_per_second = 10_000;
        config.limits.unauthenticated_burst = 10_000;
    })
    .await;
    let audit_before = server.host_audit(ADMIN_TOKEN).await.len();
    for n in 0..150 {
        let status = post(
            &server,
            &format!("/webhooks/v1/junkconnector{n}zq/route{n}"),
            &[],
            b"{}",
        )
        .await;
        assert_eq!(status, 404);
    }
    // Paths the host could never have handed out: refused the same way, before any lookup.
    for path in [
        format!("/webhooks/v1/{}/app", "a".repeat(300)),
        format!("/webhooks/v1/slack/{}", "r".repeat(300)),
        "/webhooks/v1/sl%20ack/app".to_owned(),
        "/webhooks/v1/slack/ap%2Fp".to_owned(),
    ] {
        assert_eq!(post(&server, &path, &[], b"{}").await, 404, "{path}");
    }
    for n in 0..50 {
        let response = server
            .client
            .get(format!(
                "{}/api/v1/oauth/callback?state=forged{n}&code=c{n}",
                server.base
            ))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{}", response.status());
    }
    let text = server.metrics().await;
    assert!(
        !text.contains("junkconnector"),
        "no raw path segment became a label"
    );
    assert!(
        text.contains("connector=\"unknown\""),
        "refusals are counted"
    );
    assert!(text.contains("unauthenticated_refusals_total"));
    let audit = server.host_audit(ADMIN_TOKEN).await;
    assert_eq!(
        audit.len(),
        audit_before,
        "no audit record per refusal: {audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_past_its_allowance_is_refused_before_any_lookup() {
    let server = TestServer::start_with(|config| {
        config.limits.unauthenticated_per_second = 1;
        config.limits.unauthenticated_burst = 5;
    })
    .await;
    let mut statuses = Vec::new();
    for n in 0..12 {
        statuses.push(post(&server, &format!("/webhooks/v1/github/r{n}"), &[], b"{}").await);
    }
    assert_eq!(&statuses[..5], &[404; 5], "{statuses:?}");
    assert!(
        statuses[5..].iter().filter(|s| **s == 429).count() >= 6,
        "{statuses:?}"
    );
    // The OAuth start page and callback and the console sign-in share the source's allowance.
    let response = server
        .client
        .get(format!("{}/api/v1/oauth/start?state=x", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let response = server
        .client
        .get(format!(
            "{}/api/v1/oauth/callback?state=x&code=y",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let response = server
        .client
        .post(format!("{}/console/sign-in", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("key=chk_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    // Authenticated API calls are not on that budget.
    let (status, _) = server
        .send(Method::GET, "/admin/v1/tenants", Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(status, 200);
}

fn slack_headers(timestamp: u64, body: &[u8]) -> Vec<(&'static str, String)> {
    let mut mac = Hmac::<Sha256>::new_from_slice(SLACK_SIGNING_SECRET.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    vec![
        ("x-slack-request-timestamp", timestamp.to_string()),
        (
            "x-slack-signature",
            format!("v0={}", hex::encode(mac.finalize().into_bytes())),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_posts_do_not_close_the_shared_app_route() {
    let server = TestServer::start_with(|config| {
        config.limits.unauthenticated_per_second = 10_000;
        config.limits.unauthenticated_burst = 10_000;
        config.vendor_webhooks.per_route_per_second = 1;
        config.vendor_webhooks.per_route_burst = 3;
        config
            .vendor_webhooks
            .app_secrets
            .insert("slack".into(), ConfigSecret::new(SLACK_SIGNING_SECRET));
    })
    .await;
    let body = json!({"type": "url_verification", "challenge": "still-open", "token": "x"})
        .to_string()
        .into_bytes();
    for _ in 0..60 {
        assert_eq!(
            post(&server, "/webhooks/v1/slack/app", &[], &body).await,
            401
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let status = post(
        &server,
        "/webhooks/v1/slack/app",
        &slack_headers(now, &body),
        &body,
    )
    .await;
    assert_eq!(status, 200, "a genuine delivery still passes");
}
