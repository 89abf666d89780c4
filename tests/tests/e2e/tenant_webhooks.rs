//! Webhooks to tenants (Standard Webhooks): signed deliveries that a receiver verifies with an
//! independent implementation, retries with one `webhook-id`, `Retry-After`, 410, a circuit
//! breaker, secret rotation with both signatures, replay, connection events, and endpoints
//! refused on private addresses or for another tenant.

use std::time::{Duration, Instant};

use connector_host::config::HostConfig;
use connector_tests::fakes::{ProbeVendor, WebhookReceiver};
use connector_tests::harness::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

use super::syncs::sync_config;

struct Tenant {
    server: TestServer,
    key: String,
}

impl Tenant {
    async fn start(adjust: impl FnOnce(&mut HostConfig)) -> Self {
        let server = TestServer::start_with(|config| {
            sync_config(config);
            adjust(config);
        })
        .await;
        let key = server.tenant("acme").await;
        Self { server, key }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.server.send(method, path, Some(&self.key), body).await
    }

    /// Registers `url` for `events`; returns (id, secret).
    async fn endpoint(&self, url: &str, events: Value) -> (String, String) {
        let (status, body) = self
            .send(
                Method::POST,
                "/api/v1/webhook-endpoints",
                Some(json!({"url": url, "events": events})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let data = &body["data"];
        (
            data["id"].as_str().unwrap().to_owned(),
            data["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// Sends a test event; returns the delivery id.
    async fn test_event(&self, endpoint: &str) -> String {
        let (status, body) = self
            .send(
                Method::POST,
                &format!("/api/v1/webhook-endpoints/{endpoint}/test"),
                None,
            )
            .await;
        assert_eq!(status, 202, "{body}");
        body["data"]["id"].as_str().unwrap().to_owned()
    }

    /// Waits until the delivery is no longer pending; returns it.
    async fn settled(&self, endpoint: &str, delivery: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = self
                .send(
                    Method::GET,
                    &format!("/api/v1/webhook-endpoints/{endpoint}/deliveries/{delivery}"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            if body["data"]["status"] != "pending" {
                return body["data"].clone();
            }
            assert!(Instant::now() < deadline, "still pending: {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn statuses(delivery: &Value) -> Vec<u64> {
    delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_u64().unwrap_or(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_failing_twice_gets_three_signed_attempts_with_one_webhook_id() {
    let receiver = WebhookReceiver::start(&[(500, None), (500, None)], 200).await;
    let tenant = Tenant::start(|_| {}).await;
    let (endpoint, secret) = tenant.endpoint(&receiver.url(), json!(["*"])).await;
    let delivery = tenant.test_event(&endpoint).await;
    let settled = tenant.settled(&endpoint, &delivery).await;
    assert_eq!(settled["status"], "delivered", "{settled}");
    assert_eq!(statuses(&settled), [500, 500, 200]);
    assert!(settled["delivered_at"].is_string());

    let received = receiver.received();
    assert_eq!(received.len(), 3);
    let webhook = standardwebhooks::Webhook::new(&secret).unwrap();
    for attempt in &received {
        assert_eq!(
            attempt.header("webhook-id"),
            delivery,
            "one id for every attempt"
        );
        assert_eq!(attempt.header("content-type"), "application/json");
        webhook
            .verify(&attempt.body, &attempt.headers)
            .expect("the signature verifies with the standardwebhooks crate");
        let body = attempt.json();
        assert_eq!(body["type"], "webhook.test");
        assert_eq!(body["data"]["endpoint_id"], endpoint.as_str());
    }
    // Another secret does not verify it: the signature is really keyed.
    let stranger =
        standardwebhooks::Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    assert!(
        stranger
            .verify(&received[0].body, &received[0].headers)
            .is_err()
    );
    assert!(received[1].at.duration_since(received[0].at) >= Duration::from_millis(150));

    // Replay: the same message again, with its id.
    let (status, body) = tenant
        .send(
            Method::POST,
            &format!("/api/v1/webhook-endpoints/{endpoint}/deliveries/{delivery}/replay"),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let replayed = tenant.settled(&endpoint, &delivery).await;
    assert_eq!(replayed["status"], "delivered");
    let received = receiver.received();
    assert_eq!(received.len(), 4);
    assert_eq!(received[3].header("webhook-id"), delivery);
    assert_eq!(received[3].body, received[0].body, "the same body");

    let (_, log) = tenant
        .send(
            Method::GET,
            &format!("/api/v1/webhook-endpoints/{endpoint}/deliveries"),
            None,
        )
        .await;
    assert_eq!(log["data"]["entries"][0]["id"], delivery.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_and_a_410_disables_the_endpoint() {
    let receiver = WebhookReceiver::start(&[(429, Some(2)), (200, None), (410, None)], 200).await;
    let tenant = Tenant::start(|_| {}).await;
    let (endpoint, _) = tenant.endpoint(&receiver.url(), json!(["*"])).await;
    let first = tenant.test_event(&endpoint).await;
    let settled = tenant.settled(&endpoint, &first).await;
    assert_eq!(statuses(&settled), [429, 200]);
    let received = receiver.received();
    assert!(
        received[1].at.duration_since(received[0].at) >= Duration::from_millis(1900),
        "waited for Retry-After: 2"
    );

    let gone = tenant.test_event(&endpoint).await;
    let settled = tenant.settled(&endpoint, &gone).await;
    assert_eq!(settled["status"], "failed");
    assert_eq!(statuses(&settled), [410], "410 is not retried");
    let (_, after) = tenant
        .send(
            Method::GET,
            &format!("/api/v1/webhook-endpoints/{endpoint}"),
            None,
        )
        .await;
    assert_eq!(after["data"]["enabled"], false, "{after}");
    assert!(
        after["data"]["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
    let refused = tenant.test_event(&endpoint).await;
    let settled = tenant.settled(&endpoint, &refused).await;
    assert_eq!(settled["status"], "failed");
    assert_eq!(
        receiver.received().len(),
        3,
        "a disabled endpoint gets nothing"
    );

    // Re-enabled, it receives again.
    let (status, _) = tenant
        .send(
            Method::PATCH,
            &format!("/api/v1/webhook-endpoints/{endpoint}"),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, 200);
    let again = tenant.test_event(&endpoint).await;
    assert_eq!(
        tenant.settled(&endpoint, &again).await["status"],
        "delivered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_opens_the_breaker_and_attempts_end() {
    let receiver = WebhookReceiver::start(&[], 500).await;
    let tenant = Tenant::start(|config| {
        config.webhooks.max_attempts = 3;
        config.webhooks.retry_initial = std::time::Duration::from_millis(50);
        config.webhooks.breaker_threshold = 2;
        config.webhooks.breaker_cooldown = std::time::Duration::from_secs(1);
    })
    .await;
    let (endpoint, _) = tenant.endpoint(&receiver.url(), json!(["*"])).await;
    let delivery = tenant.test_event(&endpoint).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = tenant
            .send(
                Method::GET,
                &format!("/api/v1/webhook-endpoints/{endpoint}"),
                None,
            )
            .await;
        if body["data"]["breaker_open_until"].is_string() {
            assert!(body["data"]["consecutive_failures"].as_u64().unwrap() >= 2);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the breaker never opened: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let settled = tenant.settled(&endpoint, &delivery).await;
    assert_eq!(settled["status"], "failed");
    assert_eq!(
        statuses(&settled),
        [500, 500, 500],
        "max_attempts, then failed"
    );
    let received = receiver.received();
    assert!(
        received[2].at.duration_since(received[1].at) >= Duration::from_millis(800),
        "the third attempt waited for the breaker's cooldown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_a_rotation_deliveries_carry_both_signatures() {
    let receiver = WebhookReceiver::start(&[], 200).await;
    let tenant = Tenant::start(|_| {}).await;
    let (endpoint, old) = tenant.endpoint(&receiver.url(), json!(["*"])).await;
    let (status, body) = tenant
        .send(
            Method::POST,
            &format!("/api/v1/webhook-endpoints/{endpoint}/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let new = body["data"]["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let delivery = tenant.test_event(&endpoint).await;
    tenant.settled(&endpoint, &delivery).await;
    let received = &receiver.received()[0];
    assert_eq!(received.header("webhook-signature").split(' ').count(), 2);
    for secret in [&old, &new] {
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .verify(&received.body, &received.headers)
            .expect("both the old and the new secret verify");
    }
    let (_, listed) = tenant
        .send(Method::GET, "/api/v1/webhook-endpoints", None)
        .await;
    assert!(
        !listed.to_string().contains("whsec_"),
        "secrets are shown on create and rotate only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_events_reach_subscribed_endpoints_only() {
    let vendor = ProbeVendor::start().await;
    let all = WebhookReceiver::start(&[], 200).await;
    let changes_only = WebhookReceiver::start(&[], 200).await;
    let tenant = Tenant::start(|_| {}).await;
    tenant
        .endpoint(
            &all.url(),
            json!(["connection.created", "connection.deleted"]),
        )
        .await;
    tenant
        .endpoint(&changes_only.url(), json!(["records.changed"]))
        .await;
    let connection = tenant
        .server
        .probe_connection(&tenant.key, &vendor.origin(), "tok")
        .await;
    let (status, _) = tenant
        .send(
            Method::DELETE,
            &format!("/api/v1/connections/{connection}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while all.received().len() < 2 {
        assert!(Instant::now() < deadline, "connection events not delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let types: Vec<Value> = all
        .received()
        .iter()
        .map(|d| d.json()["type"].clone())
        .collect();
    assert_eq!(
        types,
        [json!("connection.created"), json!("connection.deleted")]
    );
    let created = all.received()[0].json();
    assert_eq!(created["data"]["connection_id"], connection.as_str());
    assert_eq!(created["data"]["connector"], "probe");
    assert!(
        !created.to_string().contains("tok\""),
        "no credential in events"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(changes_only.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_on_private_addresses_or_of_another_tenant_are_refused() {
    let receiver = WebhookReceiver::start(&[], 200).await;
    // The operator allows private egress for plugins, not private endpoints.
    let tenant = Tenant::start(|config| config.webhooks.allow_private_endpoints = false).await;
    for (url, status, code) in [
        ("https://127.0.0.1:9/hook", 403, "EGRESS_DENIED"),
        ("https://localhost/hook", 403, "EGRESS_DENIED"),
        ("https://10.0.0.8/hook", 403, "EGRESS_DENIED"),
        ("https://[::1]/hook", 403, "EGRESS_DENIED"),
        ("https://[::ffff:127.0.0.1]/hook", 403, "EGRESS_DENIED"),
        ("https://169.254.169.254/latest", 403, "EGRESS_DENIED"),
        (receiver.url().as_str(), 422, "VALIDATION"),
        ("ftp://example.com/hook", 422, "VALIDATION"),
        ("https://user:pw@example.com/hook", 422, "VALIDATION"),
        ("not a url", 422, "VALIDATION"),
    ] {
        let (got, body) = tenant
            .send(
                Method::POST,
                "/api/v1/webhook-endpoints",
                Some(json!({"url": url, "events": ["*"]})),
            )
            .await;
        assert_eq!(
            (got, body["error"]["code"].as_str().unwrap()),
            (status, code),
            "{url}: {body}"
        );
        // The tenant is not told what a name resolves to (the operator's log is).
        if url.contains("localhost") {
            let message = body["error"]["message"].as_str().unwrap();
            assert!(
                !message.contains("127.0.0.1") && !message.contains("loopback"),
                "{message}"
            );
        }
    }
    let (_, listed) = tenant
        .send(Method::GET, "/api/v1/webhook-endpoints", None)
        .await;
    assert_eq!(listed["data"], json!([]), "nothing half-written");

    // Metadata addresses stay refused even where private endpoints are allowed.
    let open = Tenant::start(|_| {}).await;
    let (status, _) = open
        .send(
            Method::POST,
            "/api/v1/webhook-endpoints",
            Some(json!({"url": "http://169.254.169.254/latest", "events": ["*"]})),
        )
        .await;
    assert_eq!(status, 403);
    for body in [
        json!({"url": receiver.url(), "events": []}),
        json!({"url": receiver.url(), "events": ["records.exploded"]}),
        json!({"url": receiver.url(), "events": ["*"], "secret": "mine"}),
        json!({"url": format!("{}/{}", receiver.url(), "x".repeat(3000)), "events": ["*"]}),
    ] {
        let (status, answer) = open
            .send(Method::POST, "/api/v1/webhook-endpoints", Some(body))
            .await;
        assert_eq!(status, 422, "{answer}");
    }
    let (endpoint, _) = open.endpoint(&receiver.url(), json!(["*"])).await;
    let delivery = open.test_event(&endpoint).await;
    let intruder = open.server.tenant("intruder").await;
    for (method, path) in [
        (Method::GET, format!("/api/v1/webhook-endpoints/{endpoint}")),
        (
            Method::PATCH,
            format!("/api/v1/webhook-endpoints/{endpoint}"),
        ),
        (
            Method::POST,
            format!("/api/v1/webhook-endpoints/{endpoint}/test"),
        ),
        (
            Method::POST,
            format!("/api/v1/webhook-endpoints/{endpoint}/rotate-secret"),
        ),
        (
            Method::GET,
            format!("/api/v1/webhook-endpoints/{endpoint}/deliveries"),
        ),
        (
            Method::POST,
            format!("/api/v1/webhook-endpoints/{endpoint}/deliveries/{delivery}/replay"),
        ),
        (
            Method::DELETE,
            format!("/api/v1/webhook-endpoints/{endpoint}"),
        ),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"enabled": false}));
        let (status, answer) = open
            .server
            .send(method.clone(), &path, Some(&intruder), body)
            .await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
    }
    let (_, listed) = open
        .server
        .send(
            Method::GET,
            "/api/v1/webhook-endpoints",
            Some(&intruder),
            None,
        )
        .await;
    assert_eq!(listed["data"], json!([]));
    let (status, _) = open
        .send(
            Method::DELETE,
            &format!("/api/v1/webhook-endpoints/{endpoint}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "the owner still can");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_grant_is_announced_once_as_connection_needs_reauth() {
    use connector_tests::harness::{OAuthSetup, OAuthTimings};
    let receiver = WebhookReceiver::start(&[], 200).await;
    let setup = OAuthSetup::start_adjusted(OAuthTimings::default(), sync_config).await;
    let (status, body) = setup
        .server
        .send(
            Method::POST,
            "/api/v1/webhook-endpoints",
            Some(&setup.key),
            Some(json!({"url": receiver.url(), "events": ["connection.needs_reauth"]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = setup.connect().await;
    setup.auth.revoke_all_refresh_tokens();
    setup.auth.expire_all_access_tokens();
    for _ in 0..3 {
        let (status, _) = setup.containers(&id).await;
        assert_eq!(status, 409);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while receiver.received().is_empty() {
        assert!(Instant::now() < deadline, "needs_reauth not delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1, "once, not per refused call");
    let event = received[0].json();
    assert_eq!(event["type"], "connection.needs_reauth");
    assert_eq!(event["data"]["connection_id"], id.as_str());
    assert!(
        event["data"]["error"]
            .as_str()
            .unwrap()
            .contains("invalid_grant")
    );
}

/// Issue 41 (7): one tenant's slow receiver does not delay another tenant's deliveries, and
/// its slow answers count towards its breaker. `acme`'s receiver takes 1.5 s to answer and has
/// eight deliveries queued; while the dispatcher is on them, `globex`'s test event arrives in
/// well under the time `acme`'s queue takes, and `acme`'s breaker opens after two slow answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_delays_no_other_tenant_and_trips_its_breaker() {
    let slow = WebhookReceiver::start(&[], 200).await;
    slow.set_delay(Duration::from_millis(1500));
    let fast = WebhookReceiver::start(&[], 200).await;
    let acme = Tenant::start(|config| {
        config.webhooks.slow_answer = std::time::Duration::from_millis(1000);
        config.webhooks.breaker_threshold = 2;
        config.webhooks.breaker_cooldown = std::time::Duration::from_secs(600);
    })
    .await;
    let (slow_endpoint, _) = acme.endpoint(&slow.url(), json!(["*"])).await;
    for _ in 0..8 {
        acme.test_event(&slow_endpoint).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while slow.received().is_empty() {
        assert!(Instant::now() < deadline, "the slow receiver got nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let globex_key = acme.server.tenant("globex").await;
    let (status, body) = acme
        .server
        .send(
            Method::POST,
            "/api/v1/webhook-endpoints",
            Some(&globex_key),
            Some(json!({"url": fast.url(), "events": ["*"]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let fast_endpoint = body["data"]["id"].as_str().unwrap().to_owned();
    let sent = Instant::now();
    let (status, body) = acme
        .server
        .send(
            Method::POST,
            &format!("/api/v1/webhook-endpoints/{fast_endpoint}/test"),
            Some(&globex_key),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    while fast.received().is_empty() {
        assert!(
            sent.elapsed() < Duration::from_secs(4),
            "globex waited behind acme's slow receiver"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Two slow answers opened acme's breaker: the rest of its queue waits for the cooldown.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(slow.received().len(), 2, "the breaker held the rest back");
    let (_, endpoint) = acme
        .send(
            Method::GET,
            &format!("/api/v1/webhook-endpoints/{slow_endpoint}"),
            None,
        )
        .await;
    assert!(
        endpoint["data"]["breaker_open_until"].is_string()
            || endpoint["data"]["breaker_open_until_ms"].is_number(),
        "{endpoint}"
    );
}

/// One tenant gets its share of the dispatcher, not all of it: with `concurrency` 4 a tenant
/// is served on one endpoint at a time (a quarter), so of `acme`'s two slow receivers (1 s an
/// answer) the second starts only after the first's turn, while `globex`'s receiver is served
/// at once. The delays are the receivers' own, not the host's speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_gets_its_share_of_the_dispatcher_not_all_of_it() {
    let first = WebhookReceiver::start(&[], 200).await;
    let second = WebhookReceiver::start(&[], 200).await;
    for slow in [&first, &second] {
        slow.set_delay(Duration::from_millis(1000));
    }
    let other = WebhookReceiver::start(&[], 200).await;
    let acme = Tenant::start(|config| {
        config.webhooks.concurrency = 4;
        config.webhooks.slow_answer = std::time::Duration::from_millis(60_000);
    })
    .await;
    let (first_endpoint, _) = acme.endpoint(&first.url(), json!(["*"])).await;
    let (second_endpoint, _) = acme.endpoint(&second.url(), json!(["*"])).await;
    let globex_key = acme.server.tenant("globex").await;
    let (status, body) = acme
        .server
        .send(
            Method::POST,
            "/api/v1/webhook-endpoints",
            Some(&globex_key),
            Some(json!({"url": other.url(), "events": ["*"]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let other_endpoint = body["data"]["id"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        acme.test_event(&first_endpoint).await;
        acme.test_event(&second_endpoint).await;
    }
    let (status, _) = acme
        .server
        .send(
            Method::POST,
            &format!("/api/v1/webhook-endpoints/{other_endpoint}/test"),
            Some(&globex_key),
            None,
        )
        .await;
    assert_eq!(status, 202);
    let deadline = Instant::now() + Duration::from_secs(20);
    while first.received().len() + second.received().len() < 4 || other.received().is_empty() {
        assert!(Instant::now() < deadline, "deliveries did not all arrive");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let starts = |receiver: &WebhookReceiver| receiver.received()[0].at;
    let (a, b) = (starts(&first), starts(&second));
    let gap = if a > b { a - b } else { b - a };
    assert!(
        gap >= Duration::from_millis(900),
        "acme's endpoints were served at once ({gap:?} apart)"
    );
    let earliest_acme = a.min(b);
    let globex = starts(&other);
    assert!(
        globex < earliest_acme + Duration::from_millis(900),
        "globex waited for acme's turn"
    );
}
