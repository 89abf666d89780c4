//! The GitHub connector through the host's REST API, against a behavioural GitHub fake, with
//! every request checked against GitHub's own REST API description.

use std::time::Duration;

use connector_host::egress::{Credential, HostPattern};
use connector_host::runtime::wit::webhooks::{Delivery, Registration, Target};
use connector_host::runtime::{CallContext, Operation, OperationOutput};
use connector_tests::contract::{ApiSpec, assert_conforms};
use connector_tests::fakes::oauth_server::Flavor;
use connector_tests::fakes::{GitHubFake, OAuthServer};
use connector_tests::harness::{self, TenantSession, connect_with_oauth, host_for_oauth};
use reqwest::Method;
use serde_json::{Value, json};

const TOKEN: &str = "ghp_test0123456789abcdefghijklmnopqrstu";

struct Hub {
    fake: GitHubFake,
    api: TenantSession,
}

impl Hub {
    async fn start() -> Self {
        Self {
            fake: GitHubFake::start(TOKEN).await,
            api: TenantSession::start().await,
        }
    }

    async fn connect(&self, token: &str) -> (u16, Value) {
        self.api
            .connect_bearer("github", &self.fake.origin(), token)
            .await
    }
}

#[tokio::test]
async fn a_token_connection_browses_searches_creates_and_acts() {
    let hub = Hub::start().await;
    let (status, refused) = hub.connect("ghp_wrong").await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("VALIDATION")),
        "{refused}"
    );
    let (status, created) = hub.connect(TOKEN).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["principal"]["id"], "583231");
    assert_eq!(created["data"]["values"]["login"], "octocat");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/connections/{id}");

    let (repos, pages) = hub.api.ids(&format!("{base}/containers?limit=3")).await;
    assert_eq!(
        repos,
        [
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"
        ]
        .map(|r| format!("octocat/{r}"))
    );
    assert_eq!(pages, 3, "Link paging across three pages");

    let (issues, pages) = hub
        .api
        .ids(&format!("{base}/containers/octocat%2Falpha/items?limit=2"))
        .await;
    assert_eq!(
        issues,
        [5, 4, 3, 2, 1].map(|n| format!("octocat/alpha#{n}")),
        "most recently updated first"
    );
    assert_eq!(pages, 3);
    let (status, page) = hub
        .api
        .send(
            Method::GET,
            &format!("{base}/containers/octocat%2Falpha/items?limit=1"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["data"]["entries"][0]["kind"], "pull_request",
        "PRs are told apart"
    );
    let (recent, _) = hub
        .api
        .ids(&format!(
            "{base}/containers/octocat%2Falpha/items?updated_since=2026-11-04T00:00:00Z"
        ))
        .await;
    assert_eq!(recent, ["octocat/alpha#5", "octocat/alpha#4"], "since=");

    let (status, issue) = hub
        .api
        .send(
            Method::GET,
            &format!("{base}/items/octocat%2Falpha%233"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{issue}");
    assert_eq!(issue["data"]["kind"], "issue");
    assert_eq!(issue["data"]["title"], "alpha issue 3");
    assert_eq!(issue["data"]["body"], "Steps for **alpha** #3");
    assert_eq!(issue["data"]["body_format"], "markdown");
    assert_eq!(issue["data"]["attributes"]["state"], "open");
    assert_eq!(
        issue["data"]["url"],
        "https://github.com/octocat/alpha/issues/3"
    );

    let (comments, pages) = hub
        .api
        .ids(&format!(
            "{base}/items/octocat%2Falpha%233/comments?limit=3"
        ))
        .await;
    assert_eq!(comments.len(), 4);
    assert_eq!(pages, 2);

    let (found, _) = hub
        .api
        .ids(&format!("{base}/search?q=charlie%20issue%202"))
        .await;
    assert_eq!(found, ["octocat/charlie#2"]);
    let searched = hub.fake.recorder.to_path("/search/issues");
    assert!(
        searched[0]
            .query
            .as_deref()
            .unwrap_or_default()
            .contains("user%3Aoctocat"),
        "search is scoped to the account: {:?}",
        searched[0].query
    );

    let (status, created) = hub
        .api.send(
            Method::POST,
            &format!("{base}/containers/octocat%2Fdelta/items"),
            Some(json!({"title": "From the host", "body": "Seen in **prod**", "attributes": {"labels": "bug, ui"}})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["id"], "octocat/delta#6");
    assert_eq!(created["data"]["attributes"]["labels"], "bug,ui");
    let (status, read) = hub
        .api
        .send(
            Method::GET,
            &format!("{base}/items/octocat%2Fdelta%236"),
            None,
        )
        .await;
    assert_eq!(
        (status, read["data"]["title"].as_str()),
        (200, Some("From the host"))
    );
    let (status, comment) = hub
        .api
        .send(
            Method::POST,
            &format!("{base}/items/octocat%2Fdelta%236/comments"),
            Some(json!({"body": "Reproduced."})),
        )
        .await;
    assert_eq!(status, 201, "{comment}");
    let (status, listed) = hub
        .api
        .send(
            Method::GET,
            &format!("{base}/items/octocat%2Fdelta%236/comments"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["data"]["entries"][0]["body"], "Reproduced.");
    let (status, edited) = hub
        .api
        .send(
            Method::PATCH,
            &format!("{base}/items/octocat%2Fdelta%236"),
            Some(json!({"title": "From the host, retitled"})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["data"]["title"], "From the host, retitled");
    let (status, refused) = hub
        .api
        .send(
            Method::POST,
            &format!("{base}/containers/octocat%2Fdelta/items"),
            Some(json!({"title": "x", "attributes": {"milestone": "1"}})),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("VALIDATION"))
    );

    let (status, closed) = hub
        .api
        .send(
            Method::POST,
            &format!("{base}/actions/close_issue"),
            Some(json!({"issue": "octocat/delta#6", "reason": "not_planned"})),
        )
        .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["data"]["output"]["state"], "closed");
    let held = hub.fake.issue("octocat/delta", 6).unwrap();
    assert_eq!(
        (held["state"].as_str(), held["state_reason"].as_str()),
        (Some("closed"), Some("not_planned"))
    );
    let (status, labelled) = hub
        .api
        .send(
            Method::POST,
            &format!("{base}/actions/add_labels"),
            Some(json!({"issue": "octocat/delta#6", "labels": ["triaged"]})),
        )
        .await;
    assert_eq!(status, 200, "{labelled}");
    assert_eq!(
        labelled["data"]["output"]["labels"],
        json!(["bug", "ui", "triaged"])
    );
    let (status, reopened) = hub
        .api
        .send(
            Method::POST,
            &format!("{base}/actions/reopen_issue"),
            Some(json!({"issue": "octocat/delta#6"})),
        )
        .await;
    assert_eq!(
        (status, reopened["data"]["output"]["state"].as_str()),
        (200, Some("open"))
    );

    let (status, missing) = hub
        .api
        .send(
            Method::GET,
            &format!("{base}/items/octocat%2Fdelta%23999"),
            None,
        )
        .await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let (status, bad) = hub
        .api
        .send(
            Method::GET,
            &format!("{base}/items/octocat%2F..%2Fx%231"),
            None,
        )
        .await;
    assert_eq!(status, 404, "not an id, never a path: {bad}");

    let requests = hub.fake.recorder.requests();
    assert!(
        requests.iter().all(|r| r
            .header("authorization")
            .is_some_and(|a| a == format!("Bearer {TOKEN}") || a == "Bearer ghp_wrong")),
        "bearer token on every request"
    );
    let covered = assert_conforms(&ApiSpec::github(), &requests, "github");
    assert_eq!(
        covered,
        requests.len(),
        "every request is in GitHub's description"
    );
}

#[tokio::test]
async fn the_rate_limit_waits_until_the_reset_and_a_revoked_token_needs_reauth() {
    let hub = Hub::start().await;
    let (status, created) = hub.connect(TOKEN).await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/connections/{id}");

    // Search also covers the organizations the connection names; a value that is not an
    // organization login is refused before anything is stored.
    let with_orgs = |orgs: &str| {
        json!({
            "connector": "github",
            "config": {"api_url": hub.fake.origin(), "search_orgs": orgs},
            "credentials": {"type": "bearer", "token": TOKEN},
        })
    };
    let (status, refused) = hub
        .api
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(with_orgs("acme, x repo:evil/y")),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("VALIDATION")),
        "{refused}"
    );
    let (status, orgs) = hub
        .api
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(with_orgs("octo-org, acme")),
        )
        .await;
    assert_eq!(status, 201, "{orgs}");
    let orgs_id = orgs["data"]["id"].as_str().unwrap();
    let (status, _) = hub
        .api
        .send(
            Method::GET,
            &format!("/api/v1/connections/{orgs_id}/search?q=golf"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let query = hub.fake.recorder.to_path("/search/issues")[0]
        .query
        .clone()
        .unwrap_or_default();
    assert!(
        query.contains("user%3Aoctocat+org%3Aocto-org+org%3Aacme"),
        "{query}"
    );

    hub.fake.throttle_next(1);
    let response = hub.api.get_response(&format!("{base}/containers")).await;
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((29..=31).contains(&wait), "until x-ratelimit-reset: {wait}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    let (status, _) = hub
        .api
        .send(Method::GET, &format!("{base}/containers"), None)
        .await;
    assert_eq!(status, 200, "served again once the limit lifts");

    hub.fake.revoke(TOKEN);
    hub.api
        .assert_needs_reauth(&base, &format!("{base}/containers"))
        .await;
}

#[tokio::test]
async fn an_oauth_app_connects_through_githubs_token_endpoint() {
    let auth = OAuthServer::start_as(Flavor::GitHub, Duration::from_secs(3600)).await;
    let fake = GitHubFake::start_checking(auth.token_checker()).await;
    let (server, key, browser) = host_for_oauth(&auth, "github", |_| {}).await;

    let body = json!({"config": {"api_url": fake.origin()}});
    let (status, created) = connect_with_oauth(&server, &key, &browser, "github", body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["auth_method"], "oauth");
    assert_eq!(created["data"]["values"]["login"], "octocat");
    let authorize = &auth.authorize_queries()[0];
    assert_eq!(authorize["scope"], "repo read:user");
    assert_eq!(
        authorize["code_challenge_method"], "S256",
        "GitHub accepts PKCE for OAuth apps since 2025"
    );
    let id = created["data"]["id"].as_str().unwrap();
    let (repos, _) = server
        .all_pages(&key, &format!("/api/v1/connections/{id}/containers"))
        .await;
    assert_eq!(repos.len(), 7, "the OAuth token reaches GitHub");
    let sent = fake.recorder.requests();
    assert!(
        sent.iter().all(|r| r
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer gho_"))),
        "the token GitHub issued, as a bearer token"
    );
}

/// The GitHub plugin in a bare runtime, allowed to reach the fake on loopback.
async fn github_runtime(fake: &GitHubFake) -> (connector_host::runtime::Runtime, CallContext) {
    let mut policy = harness::loopback_policy();
    policy.connector_hosts.insert(
        "github".into(),
        vec![HostPattern::parse("127.0.0.1").unwrap()],
    );
    let runtime = harness::runtime(policy, harness::test_limits(), None);
    runtime
        .load_file(&harness::plugin_path("github"))
        .await
        .expect("github loads");
    let context = CallContext {
        tenant: "acme".into(),
        connection: "conn-gh".into(),
        config: vec![("api_url".into(), fake.origin())],
        values: vec![("login".into(), "octocat".into())],
        credential: Some(Credential::Bearer {
            token: TOKEN.into(),
        }),
        auth_method: Some("token".into()),
        credential_from_grant: false,
        bound_origin: Some(fake.origin()),
        timeout: None,
        background: false,
        secret_substitution: None,
    };
    (runtime, context)
}

#[tokio::test]
async fn repository_hooks_are_registered_and_deliveries_become_changes() {
    let fake = GitHubFake::start(TOKEN).await;
    let (runtime, context) = github_runtime(&fake).await;
    let manifest = &runtime.plugin("github").unwrap().manifest;
    let webhooks = manifest
        .webhooks
        .as_ref()
        .expect("GitHub declares webhooks");
    assert_eq!(
        webhooks.delivery_id_header.as_deref(),
        Some("x-github-delivery")
    );

    let target = |container: Option<&str>, events: &[&str]| Target {
        url: "https://host.example/webhooks/v1/github/r-7f3a".into(),
        secret_placeholder: "{{webhook-secret:9b1c}}".into(),
        container_id: container.map(str::to_owned),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
    };
    let output = runtime
        .call(
            "github",
            context.clone(),
            Operation::RegisterWebhook {
                target: target(Some("octocat/alpha"), &[]),
            },
        )
        .await
        .unwrap();
    let OperationOutput::Registered(registration) = output else {
        panic!("{output:?}")
    };
    let hooks = fake.hooks("octocat/alpha");
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["id"].to_string(), registration.id);
    assert_eq!(hooks[0]["events"], json!(["issues", "issue_comment"]));
    assert_eq!(hooks[0]["config"]["content_type"], "json");
    assert_eq!(
        hooks[0]["config"]["secret"], "{{webhook-secret:9b1c}}",
        "the plugin writes the host's placeholder, never a secret"
    );

    for refused in [target(None, &[]), target(Some("octocat/alpha"), &["push"])] {
        let error = runtime
            .call(
                "github",
                context.clone(),
                Operation::RegisterWebhook { target: refused },
            )
            .await
            .unwrap_err();
        assert!(error.to_string().contains("GitHub"), "{error}");
    }

    let delivery = Delivery {
        headers: vec![
            ("x-github-event".into(), "issue_comment".into()),
            ("x-github-delivery".into(), "d-1".into()),
        ],
        body: json!({
            "action": "created",
            "issue": fake.issue("octocat/alpha", 2).unwrap(),
            "comment": {"id": 42, "body": "On it", "user": {"login": "hubot", "id": 7},
                "created_at": "2026-11-24T09:00:00Z", "updated_at": "2026-11-24T09:00:00Z",
                "html_url": "https://github.com/octocat/alpha/issues/2#issuecomment-42"},
            "repository": {"full_name": "octocat/alpha"},
        })
        .to_string()
        .into_bytes(),
    };
    let output = runtime
        .call(
            "github",
            context.clone(),
            Operation::WebhookEvent {
                delivery,
                routed: true,
            },
        )
        .await
        .unwrap();
    let OperationOutput::Webhook(outcome) = output else {
        panic!("{output:?}")
    };
    assert_eq!(outcome.events.len(), 1);
    assert_eq!(
        outcome.events[0].item_id.as_deref(),
        Some("octocat/alpha#2")
    );
    assert_eq!(outcome.events[0].comment.as_ref().unwrap().body, "On it");

    for _ in 0..2 {
        // Removing a hook twice is fine: the second finds it gone.
        runtime
            .call(
                "github",
                context.clone(),
                Operation::UnregisterWebhook {
                    registration: Registration {
                        id: registration.id.clone(),
                        container_id: registration.container_id.clone(),
                        expires_at: None,
                    },
                },
            )
            .await
            .unwrap();
    }
    assert!(fake.hooks("octocat/alpha").is_empty());
    let requests = fake.recorder.requests();
    assert_eq!(
        assert_conforms(&ApiSpec::github(), &requests, "github"),
        requests.len()
    );
}
