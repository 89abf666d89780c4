//! Vendor webhooks in: deliveries signed the way GitHub and Slack document it (computed here,
//! not with the host's code) are verified by the host and show up as changes and as
//! `vendor.event` to the tenant; wrong, missing and stale signatures, replays, unknown routes and
//! oversized bodies are refused with nothing reaching the plugin; a flood on one route is
//! throttled while another's pass; registration puts the real secret at the vendor and never in
//! the plugin; deleting the connection removes the hook at the vendor.

use std::time::{Duration, Instant};

use connector_host::config::{ConfigSecret, HostConfig};
use connector_tests::fakes::oauth_server::SLACK_TEAM_ID;
use connector_tests::fakes::{GitHubFake, SlackFake, WebhookReceiver};
use connector_tests::harness::TestServer;
use hmac::{Hmac, Mac as _};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use super::syncs::sync_config;

const GITHUB_TOKEN: &str = "ghp_test0123456789abcdefghijklmnopqrstu";
const SLACK_BOT: &str = "xoxb-1111-2222-botbotbotbot";
const SLACK_USER: &str = "xoxp-1111-3333-useruseruser";
const SLACK_SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

fn hmac_hex(secret: &[u8], content: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(content);
    hex::encode(mac.finalize().into_bytes())
}

struct Host {
    server: TestServer,
    key: String,
    client: reqwest::Client,
}

impl Host {
    async fn start(adjust: impl FnOnce(&mut HostConfig)) -> Self {
        let server = TestServer::start_with(|config| {
            sync_config(config);
            config
                .vendor_webhooks
                .app_secrets
                .insert("slack".into(), ConfigSecret::new(SLACK_SIGNING_SECRET));
            adjust(config);
        })
        .await;
        let key = server.tenant("acme").await;
        Self {
            server,
            key,
            client: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.server.send(method, path, Some(&self.key), body).await
    }

    async fn connect(&self, connector: &str, api_url: &str, token: &str) -> String {
        let (status, body) = self
            .send(
                Method::POST,
                "/api/v1/connections",
                Some(json!({
                    "connector": connector,
                    "config": {"api_url": api_url},
                    "credentials": {"type": "bearer", "token": token},
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["data"]["id"].as_str().unwrap().to_owned()
    }

    /// POSTs a delivery to `url` (absolute) with `headers`; status and body text.
    async fn deliver(&self, url: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn feed(&self, connection: &str) -> Vec<Value> {
        let (status, body) = self
            .send(
                Method::GET,
                &format!("/api/v1/connections/{connection}/changes?limit=1000"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["data"]["entries"].as_array().unwrap().clone()
    }
}

fn issue_event(action: &str, number: u64, title: &str) -> Vec<u8> {
    json!({
        "action": action,
        "issue": {
            "id": 9000 + number, "number": number, "title": title, "body": "from a webhook",
            "state": "open", "state_reason": null, "locked": false, "labels": [], "assignees": [],
            "comments": 0,
            "url": format!("https://api.github.com/repos/octocat/alpha/issues/{number}"),
            "repository_url": "https://api.github.com/repos/octocat/alpha",
            "html_url": format!("https://github.com/octocat/alpha/issues/{number}"),
            "user": {"login": "hubot", "id": 7},
            "created_at": "2026-12-01T09:00:00Z", "updated_at": "2026-12-03T09:00:00Z",
        },
        "repository": {"full_name": "octocat/alpha"},
    })
    .to_string()
    .into_bytes()
}

fn github_headers(secret: &str, delivery: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("x-github-event", "issues".into()),
        ("x-github-delivery", delivery.into()),
        (
            "x-hub-signature-256",
            format!("sha256={}", hmac_hex(secret.as_bytes(), body)),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_deliveries_are_verified_turned_into_changes_and_refused_when_forged() {
    let github = GitHubFake::start(GITHUB_TOKEN).await;
    let receiver = WebhookReceiver::start(&[], 200).await;
    let host = Host::start(|config| config.vendor_webhooks.max_body_bytes = 64 << 10).await;
    let (status, endpoint) = host
        .send(
            Method::POST,
            "/api/v1/webhook-endpoints",
            Some(json!({"url": receiver.url(), "events": ["vendor.event", "records.changed"]})),
        )
        .await;
    assert_eq!(status, 201, "{endpoint}");
    let connection = host.connect("github", &github.origin(), GITHUB_TOKEN).await;
    let webhooks = format!("/api/v1/connections/{connection}/webhooks");

    // Registration: the vendor gets the real secret and the host's route; the plugin only
    // ever held a placeholder.
    let (status, registered) = host
        .send(
            Method::POST,
            &webhooks,
            Some(json!({"container_id": "octocat/alpha"})),
        )
        .await;
    assert_eq!(status, 201, "{registered}");
    assert!(
        registered["data"].get("route").is_none(),
        "the route token is not echoed"
    );
    let hooks = github.hooks("octocat/alpha");
    assert_eq!(hooks.len(), 1);
    let secret = hooks[0]["config"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64, "a generated secret: {secret}");
    assert!(
        !secret.contains("connector-host-webhook-secret"),
        "not the placeholder"
    );
    let hook_url = hooks[0]["config"]["url"].as_str().unwrap().to_owned();
    assert!(hook_url.starts_with(&format!("{}/webhooks/v1/github/", host.server.base)));
    let (_, listed) = host.send(Method::GET, &webhooks, None).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&secret));

    // A genuine delivery.
    let body = issue_event("opened", 42, "Found by a webhook");
    let (status, answer) = host
        .deliver(&hook_url, &github_headers(&secret, "d-1", &body), &body)
        .await;
    assert_eq!(status, 200, "{answer}");
    let feed = host.feed(&connection).await;
    assert_eq!(feed.len(), 1, "{feed:?}");
    assert_eq!(feed[0]["kind"], "created");
    assert_eq!(feed[0]["item_id"], "octocat/alpha#42");
    assert_eq!(feed[0]["item"]["title"], "Found by a webhook");

    // Refusals: none reaches the plugin, so the feed stays as it is.
    let forged = issue_event("edited", 42, "Forged");
    let mut wrong = github_headers("not-the-secret", "d-2", &forged);
    let (status, _) = host.deliver(&hook_url, &wrong, &forged).await;
    assert_eq!(status, 401, "wrong signature");
    wrong.retain(|(name, _)| *name != "x-hub-signature-256");
    let (status, _) = host.deliver(&hook_url, &wrong, &forged).await;
    assert_eq!(status, 401, "missing signature");
    let (status, answer) = host
        .deliver(&hook_url, &github_headers(&secret, "d-1", &body), &body)
        .await;
    assert_eq!(status, 200, "a replay is acknowledged: {answer}");
    assert!(answer.contains("duplicate"));
    // The same captured delivery under a fresh delivery id: its signature was seen already.
    let (status, answer) = host
        .deliver(&hook_url, &github_headers(&secret, "d-fresh", &body), &body)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("duplicate"), "{answer}");
    let unknown = format!("{}/webhooks/v1/github/not-a-route", host.server.base);
    let (status, _) = host
        .deliver(&unknown, &github_headers(&secret, "d-3", &body), &body)
        .await;
    assert_eq!(status, 404, "unknown route");
    let big = vec![b' '; 65 * 1024];
    let (status, _) = host
        .deliver(&hook_url, &github_headers(&secret, "d-4", &big), &big)
        .await;
    assert_eq!(status, 413, "oversized");
    let (status, _) = host
        .deliver(
            &format!("{}/webhooks/v1/nosuch/x", host.server.base),
            &[],
            b"{}",
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        host.feed(&connection).await.len(),
        1,
        "nothing reached the plugin"
    );

    // Another genuine one: an update.
    let edited = issue_event("edited", 42, "Renamed by a webhook");
    let (status, _) = host
        .deliver(&hook_url, &github_headers(&secret, "d-5", &edited), &edited)
        .await;
    assert_eq!(status, 200);
    let feed = host.feed(&connection).await;
    assert_eq!(feed.len(), 2);
    assert_eq!(feed[1]["kind"], "updated");

    // The tenant hears of both.
    let deadline = Instant::now() + Duration::from_secs(10);
    while receiver
        .received()
        .iter()
        .filter(|d| d.json()["type"] == "vendor.event")
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "vendor.event not delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let vendor: Vec<Value> = receiver
        .received()
        .iter()
        .map(|d| d.json())
        .filter(|d| d["type"] == "vendor.event")
        .collect();
    assert_eq!(vendor[0]["data"]["connector"], "github");
    assert_eq!(vendor[0]["data"]["delivery_id"], "d-1");
    assert_eq!(vendor[0]["data"]["change_ids"][0], feed[0]["id"]);

    // Refusals are anyone's requests: counted under fixed labels, never an audit record each
    // (a flood of forged posts must not grow the tenant's log).
    let (_, audit) = host
        .send(Method::GET, "/api/v1/audit?limit=100", None)
        .await;
    let refused = audit["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "webhook.refused")
        .count();
    assert_eq!(refused, 0, "{audit}");
    let metrics = host.server.metrics().await;
    assert!(
        metrics.contains(r#"connector="github",outcome="bad_signature""#)
            || metrics.contains(r#"outcome="bad_signature",connector="github""#),
        "refusals are counted"
    );

    // Deleting the connection removes the hook at GitHub, and its route stops answering.
    let (status, _) = host
        .send(
            Method::DELETE,
            &format!("/api/v1/connections/{connection}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        github.hooks("octocat/alpha").is_empty(),
        "removed at the vendor"
    );
    let (status, _) = host
        .deliver(&hook_url, &github_headers(&secret, "d-6", &edited), &edited)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_is_removed_at_the_vendor_and_registration_is_checked() {
    let github = GitHubFake::start(GITHUB_TOKEN).await;
    let host = Host::start(|_| {}).await;
    let connection = host.connect("github", &github.origin(), GITHUB_TOKEN).await;
    let webhooks = format!("/api/v1/connections/{connection}/webhooks");
    for body in [
        json!({"container_id": "octocat/alpha", "events": ["push"]}),
        json!({"container_id": "octocat/alpha", "secret": "mine"}),
        json!({"container_id": ""}),
    ] {
        let (status, answer) = host.send(Method::POST, &webhooks, Some(body)).await;
        assert_eq!(status, 422, "{answer}");
    }
    let (status, registered) = host
        .send(
            Method::POST,
            &webhooks,
            Some(json!({"container_id": "octocat/alpha"})),
        )
        .await;
    assert_eq!(status, 201, "{registered}");
    let id = registered["data"]["id"].as_str().unwrap();
    let other = host.server.tenant("intruder").await;
    let (status, _) = host
        .server
        .send(
            Method::DELETE,
            &format!("{webhooks}/{id}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(status, 404, "another tenant cannot remove it");
    let (status, _) = host
        .server
        .send(Method::GET, &webhooks, Some(&other), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(github.hooks("octocat/alpha").len(), 1);
    let (status, _) = host
        .send(Method::DELETE, &format!("{webhooks}/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(github.hooks("octocat/alpha").is_empty());
    let (_, listed) = host.send(Method::GET, &webhooks, None).await;
    assert_eq!(listed["data"], json!([]));
}

fn slack_headers(secret: &str, timestamp: u64, body: &[u8]) -> Vec<(&'static str, String)> {
    let mut content = format!("v0:{timestamp}:").into_bytes();
    content.extend_from_slice(body);
    vec![
        ("x-slack-request-timestamp", timestamp.to_string()),
        (
            "x-slack-signature",
            format!("v0={}", hmac_hex(secret.as_bytes(), &content)),
        ),
    ]
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_events_are_verified_with_the_app_secret_and_routed_by_team() {
    let slack = SlackFake::start(SLACK_BOT, SLACK_USER).await;
    let host = Host::start(|_| {}).await;
    let connection = host.connect("slack", &slack.api_url(), SLACK_BOT).await;
    let url = format!("{}/webhooks/v1/slack/app", host.server.base);

    // Slack's URL check is answered with the challenge.
    let body = json!({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "token": "x"}).to_string();
    let (status, answer) = host
        .deliver(
            &url,
            &slack_headers(SLACK_SIGNING_SECRET, now_secs(), body.as_bytes()),
            body.as_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        answer["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );

    let event = |event_id: &str, text: &str| {
        json!({
            "type": "event_callback", "team_id": SLACK_TEAM_ID, "event_id": event_id,
            "event": {"type": "message", "channel": "C0GENERAL", "user": "U0ALICE01",
                      "text": text, "ts": "1764700000.000100"},
        })
        .to_string()
        .into_bytes()
    };
    let body = event("Ev01", "hello from Slack");
    let (status, answer) = host
        .deliver(
            &url,
            &slack_headers(SLACK_SIGNING_SECRET, now_secs(), &body),
            &body,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let feed = host.feed(&connection).await;
    assert_eq!(feed.len(), 1, "{feed:?}");
    assert_eq!(feed[0]["kind"], "created");
    assert_eq!(feed[0]["container_id"], "C0GENERAL");

    // Stale timestamp, wrong secret, replayed event id: refused or dropped, no new change.
    let stale = event("Ev02", "late");
    let (status, _) = host
        .deliver(
            &url,
            &slack_headers(SLACK_SIGNING_SECRET, now_secs() - 600, &stale),
            &stale,
        )
        .await;
    assert_eq!(status, 401, "outside the five-minute tolerance");
    let (status, _) = host
        .deliver(
            &url,
            &slack_headers("wrong-secret", now_secs(), &stale),
            &stale,
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = host.deliver(&url, &[], &stale).await;
    assert_eq!(status, 401, "unsigned");
    let (status, _) = host
        .deliver(
            &url,
            &slack_headers(SLACK_SIGNING_SECRET, now_secs(), &body),
            &body,
        )
        .await;
    assert_eq!(status, 200, "Slack retries get a 200");
    let other_team = json!({
        "type": "event_callback", "team_id": "T0OTHER99", "event_id": "Ev03",
        "event": {"type": "message", "channel": "C0X", "user": "U0X", "text": "x", "ts": "1.2"},
    })
    .to_string()
    .into_bytes();
    let (status, _) = host
        .deliver(
            &url,
            &slack_headers(SLACK_SIGNING_SECRET, now_secs(), &other_team),
            &other_team,
        )
        .await;
    assert_eq!(status, 200, "acknowledged, routed nowhere");
    assert_eq!(
        host.feed(&connection).await.len(),
        1,
        "a replay and other teams add nothing"
    );
    let wrong_route = format!("{}/webhooks/v1/slack/T0TEAM", host.server.base);
    let (status, _) = host
        .deliver(
            &wrong_route,
            &slack_headers(SLACK_SIGNING_SECRET, now_secs(), &body),
            &body,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_on_one_route_is_throttled_while_another_route_passes() {
    let github = GitHubFake::start(GITHUB_TOKEN).await;
    let host = Host::start(|config| {
        config.vendor_webhooks.per_route_per_second = 1;
        config.vendor_webhooks.per_route_burst = 3;
    })
    .await;
    let first = host.connect("github", &github.origin(), GITHUB_TOKEN).await;
    let second = host.connect("github", &github.origin(), GITHUB_TOKEN).await;
    let mut urls = Vec::new();
    for (connection, repo) in [(&first, "octocat/alpha"), (&second, "octocat/bravo")] {
        let (status, body) = host
            .send(
                Method::POST,
                &format!("/api/v1/connections/{connection}/webhooks"),
                Some(json!({"container_id": repo})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let hooks = github.hooks(repo);
        urls.push((
            hooks[0]["config"]["url"].as_str().unwrap().to_owned(),
            hooks[0]["config"]["secret"].as_str().unwrap().to_owned(),
        ));
    }
    let mut throttled = 0;
    for n in 0..10 {
        let body = issue_event("edited", 1, &format!("flood {n}"));
        let (status, _) = host
            .deliver(
                &urls[0].0,
                &github_headers(&urls[0].1, &format!("f-{n}"), &body),
                &body,
            )
            .await;
        if status == 429 {
            throttled += 1;
        } else {
            assert_eq!(status, 200);
        }
    }
    assert!(
        throttled >= 6,
        "the flood was throttled ({throttled} of 10)"
    );
    let body = issue_event("opened", 2, "meanwhile");
    let (status, _) = host
        .deliver(
            &urls[1].0,
            &github_headers(&urls[1].1, "other-1", &body),
            &body,
        )
        .await;
    assert_eq!(status, 200, "another connection's route passes");
    assert_eq!(host.feed(&second).await.len(), 1);
}

fn jwt(secret: &str, alg: &str, claims: Value) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let head = b64.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
    let body = b64.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{head}.{body}").as_bytes());
    format!("{head}.{body}.{}", b64.encode(mac.finalize().into_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_dynamic_webhooks_are_registered_with_jql_and_their_jwt_deliveries_verified() {
    use super::atlassian_setup::Atlassian;
    use connector_tests::contract::{ApiSpec, assert_conforms};
    use connector_tests::fakes::JiraFake;
    use connector_tests::fakes::oauth_server::CLIENT_SECRET;

    let jira = Atlassian::start_adjusted("jira", JiraFake::start, |config| {
        config
            .vendor_webhooks
            .app_secrets
            .insert("jira".into(), ConfigSecret::new(CLIENT_SECRET));
    })
    .await;
    jira.atlassian.add_site("cloud-main", &jira.fake.origin());
    let (status, created) = jira.connect_with_oauth("jira").await;
    assert_eq!(status, 201, "{created}");
    let connection = created["data"]["id"].as_str().unwrap().to_owned();
    let server = &jira.server;
    let webhooks = format!("/api/v1/connections/{connection}/webhooks");

    let (status, registered) = server
        .send(
            Method::POST,
            &webhooks,
            Some(&jira.key),
            Some(json!({"container_id": "ALPHA", "events": ["jira:issue_created", "jira:issue_updated"]})),
        )
        .await;
    assert_eq!(status, 201, "{registered}");
    let at_jira = jira.fake.webhooks();
    assert_eq!(at_jira.len(), 1);
    assert_eq!(at_jira[0]["jqlFilter"], "project = \"ALPHA\"");
    assert_eq!(
        at_jira[0]["events"],
        json!(["jira:issue_created", "jira:issue_updated"])
    );
    let url = at_jira[0]["url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("{}/webhooks/v1/jira/app", server.base));
    let (status, refused) = server
        .send(
            Method::POST,
            &webhooks,
            Some(&jira.key),
            Some(json!({"container_id": "not a key"})),
        )
        .await;
    assert_eq!(status, 404, "{refused}");

    let issue = |summary: &str| {
        json!({
            "timestamp": 1764754000000u64, "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic", "matchedWebhookIds": [at_jira[0]["id"]],
            "issue": {"id": "10001", "key": "ALPHA-1",
                "self": format!("{}/rest/api/3/issue/10001", jira.fake.origin()),
                "fields": {"summary": summary, "project": {"key": "ALPHA"},
                           "updated": "2026-12-03T09:00:00.000+0000"}},
        })
        .to_string()
        .into_bytes()
    };
    let now = now_secs();
    let claims = json!({"iss": "jira", "exp": now + 120, "iat": now});
    let deliver = |token: String, id: &str, body: Vec<u8>| {
        let url = url.clone();
        let host_client = reqwest::Client::new();
        let id = id.to_owned();
        async move {
            let response = host_client
                .post(url)
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .header("x-atlassian-webhook-identifier", id)
                .body(body)
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        }
    };
    assert_eq!(
        deliver(
            jwt(CLIENT_SECRET, "HS256", claims.clone()),
            "j-1",
            issue("Renamed in Jira")
        )
        .await,
        200
    );
    let (_, feed) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{connection}/changes"),
            Some(&jira.key),
            None,
        )
        .await;
    let entries = feed["data"]["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 1, "{feed}");
    assert_eq!(entries[0]["kind"], "updated");
    assert_eq!(entries[0]["item_id"], "ALPHA-1");
    assert_eq!(entries[0]["item"]["title"], "Renamed in Jira");

    for (token, why) in [
        (
            jwt("not-the-secret", "HS256", claims.clone()),
            "wrong secret",
        ),
        (jwt(CLIENT_SECRET, "none", claims.clone()), "alg none"),
        (
            jwt(
                CLIENT_SECRET,
                "HS256",
                json!({"exp": now - 3600, "iat": now - 7200}),
            ),
            "expired",
        ),
        ("not.a.jwt".into(), "garbage"),
    ] {
        assert_eq!(deliver(token, "j-2", issue("Forged")).await, 401, "{why}");
    }
    assert_eq!(
        deliver(
            jwt(CLIENT_SECRET, "HS256", claims.clone()),
            "j-1",
            issue("Replayed")
        )
        .await,
        200,
        "a replay is acknowledged"
    );
    let (_, feed) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{connection}/changes"),
            Some(&jira.key),
            None,
        )
        .await;
    assert_eq!(
        feed["data"]["entries"].as_array().unwrap().len(),
        1,
        "nothing forged or replayed got in"
    );

    // Removal at Jira, then the requests against Atlassian's description.
    let id = registered["data"]["id"].as_str().unwrap();
    let (status, _) = server
        .send(
            Method::DELETE,
            &format!("{webhooks}/{id}"),
            Some(&jira.key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(jira.fake.webhooks().is_empty());
    let requests = jira.fake.recorder.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.method == "DELETE" && r.path.ends_with("/rest/api/3/webhook"))
    );
    assert_conforms(&ApiSpec::jira(), &requests, "jira");
}

/// The attack of issue 41 (1): a tenant parks another workspace's routing key in its own
/// connection's config. Config keys outside the connector's schema are refused by name, on
/// create and on update, and routing reads only what the host learned under the credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_value_never_routes_another_workspaces_events() {
    let slack = SlackFake::start(SLACK_BOT, SLACK_USER).await;
    let host = Host::start(|_| {}).await;
    let victim = host.connect("slack", &slack.api_url(), SLACK_BOT).await;
    let evil_key = host.server.tenant("evil").await;
    let (status, refused) = host
        .server
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(&evil_key),
            Some(json!({
                "connector": "slack",
                "config": {"api_url": slack.api_url(), "team_id": "T0VICTIM1"},
                "credentials": {"type": "bearer", "token": SLACK_BOT},
            })),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "VALIDATION");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("team_id"),
        "{refused}"
    );
    assert_eq!(
        refused["error"]["details"]["unknown_keys"],
        json!(["team_id"])
    );
    // The same on update, before anything runs.
    let (status, refused) = host
        .send(
            Method::PATCH,
            &format!("/api/v1/connections/{victim}"),
            Some(json!({"config": {"api_url": slack.api_url(), "team": "anything"}})),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["details"]["unknown_keys"], json!(["team"]));
    // Values are not config: the victim's learned team id is what routes its deliveries.
    let (_, shown) = host
        .send(Method::GET, &format!("/api/v1/connections/{victim}"), None)
        .await;
    assert_eq!(shown["data"]["values"]["team_id"], SLACK_TEAM_ID, "{shown}");
    assert!(shown["data"]["config"].get("team_id").is_none());
}

/// A Jira delivery on the app route reaches the connection whose registration covers its
/// project on the site Atlassian named under that connection's grant; not a connection that
/// merely has the site in its config, and not one without a registration for the project.
/// A captured delivery token is accepted once, whatever body comes with it; a token that
/// would outlive the replay window is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_deliveries_are_routed_by_registration_and_their_tokens_used_once() {
    use super::atlassian_setup::{API_TOKEN, Atlassian, EMAIL};
    use connector_tests::fakes::JiraFake;
    use connector_tests::fakes::oauth_server::CLIENT_SECRET;

    let jira = Atlassian::start_adjusted("jira", JiraFake::start, |config| {
        config
            .vendor_webhooks
            .app_secrets
            .insert("jira".into(), ConfigSecret::new(CLIENT_SECRET));
    })
    .await;
    jira.atlassian.add_site("cloud-main", &jira.fake.origin());
    let (status, created) = jira.connect_with_oauth("jira").await;
    assert_eq!(status, 201, "{created}");
    let connection = created["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["data"]["values"]["site_url"],
        jira.fake.origin(),
        "the site as accessible-resources named it: {created}"
    );
    let server = &jira.server;
    let (status, registered) = server
        .send(
            Method::POST,
            &format!("/api/v1/connections/{connection}/webhooks"),
            Some(&jira.key),
            Some(json!({"container_id": "ALPHA"})),
        )
        .await;
    assert_eq!(status, 201, "{registered}");
    let webhook_id = jira.fake.webhooks()[0]["id"].clone();

    // Another tenant with an API token on the same site: its config names the site.
    let evil_key = server.tenant("evil").await;
    let (status, evil) = server
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(&evil_key),
            Some(json!({
                "connector": "jira",
                "config": {"site_url": jira.fake.origin()},
                "credentials": {"type": "basic", "username": EMAIL, "password": API_TOKEN},
            })),
        )
        .await;
    assert_eq!(status, 201, "{evil}");
    let evil = evil["data"]["id"].as_str().unwrap().to_owned();

    let url = format!("{}/webhooks/v1/jira/app", server.base);
    let issue = |project: &str, key: &str, summary: &str| {
        json!({
            "timestamp": 1764754000000u64, "webhookEvent": "jira:issue_updated",
            "matchedWebhookIds": [webhook_id],
            "issue": {"id": "10001", "key": key,
                "self": format!("{}/rest/api/3/issue/10001", jira.fake.origin()),
                "fields": {"summary": summary, "project": {"key": project},
                           "updated": "2026-12-03T09:00:00.000+0000"}},
        })
        .to_string()
        .into_bytes()
    };
    let client = reqwest::Client::new();
    let deliver = |token: String, id: &str, body: Vec<u8>| {
        let request = client
            .post(&url)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .header("x-atlassian-webhook-identifier", id)
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let feed = |tenant_key: String, id: String| async move {
        let (status, body) = server
            .send(
                Method::GET,
                &format!("/api/v1/connections/{id}/changes"),
                Some(&tenant_key),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["data"]["entries"].as_array().unwrap().clone()
    };
    // Each delivery carries a token of its own (`jti` keeps two in one second apart).
    let token = |nonce: &str| {
        let now = now_secs();
        jwt(
            CLIENT_SECRET,
            "HS256",
            json!({"iss": "jira", "exp": now + 120, "iat": now, "jti": nonce}),
        )
    };

    let first = token("t-1");
    let (status, answer) =
        deliver(first.clone(), "r-1", issue("ALPHA", "ALPHA-1", "Covered")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(feed(jira.key.clone(), connection.clone()).await.len(), 1);
    assert!(
        feed(evil_key.clone(), evil.clone()).await.is_empty(),
        "a site in config routes nothing"
    );

    // A project no registration covers reaches no one.
    let (status, _) = deliver(
        token("t-2"),
        "r-2",
        issue("BRAVO", "BRAVO-1", "Not covered"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(feed(jira.key.clone(), connection.clone()).await.len(), 1);

    // The first token again, with a new delivery id and another body: used already.
    let (status, answer) = deliver(first, "r-3", issue("ALPHA", "ALPHA-2", "Forged")).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("duplicate"), "{answer}");
    assert_eq!(feed(jira.key.clone(), connection.clone()).await.len(), 1);

    // A token living longer than the replay window is refused.
    let now = now_secs();
    let long = jwt(
        CLIENT_SECRET,
        "HS256",
        json!({"iss": "jira", "exp": now + 7200, "iat": now}),
    );
    let (status, _) = deliver(long, "r-4", issue("ALPHA", "ALPHA-3", "Long-lived")).await;
    assert_eq!(status, 401);
    assert_eq!(feed(jira.key.clone(), connection.clone()).await.len(), 1);
}
