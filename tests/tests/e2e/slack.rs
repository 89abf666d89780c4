//! The Slack connector through the host's REST API, against a behavioural Slack fake, with
//! every request checked against Slack's own Web API description.

use std::time::Duration;

use connector_tests::contract::{ApiSpec, assert_conforms};
use connector_tests::fakes::oauth_server::{Flavor, SLACK_TEAM_ID};
use connector_tests::fakes::slack::{BASE_TS, BOT_USER, PERSON};
use connector_tests::fakes::{OAuthServer, SlackFake};
use connector_tests::harness::{
    TenantSession, connect_with_oauth, connection_path, host_for_oauth,
};
use reqwest::Method;
use serde_json::{Value, json};

const BOT_TOKEN: &str = "xoxb-1111-2222-botbotbotbot";
const USER_TOKEN: &str = "xoxp-1111-3333-useruseruser";
const GENERAL: &str = "C0100000001";

/// The id of message `n` (1-based) of a seeded channel.
fn message(channel: &str, n: u64) -> String {
    format!("{channel}:{}.000100", BASE_TS + n * 3600)
}

struct Workspace {
    fake: SlackFake,
    api: TenantSession,
}

impl Workspace {
    async fn start() -> Self {
        Self {
            fake: SlackFake::start(BOT_TOKEN, USER_TOKEN).await,
            api: TenantSession::start().await,
        }
    }

    async fn connect(&self, token: &str) -> (u16, Value) {
        self.api
            .connect_bearer("slack", &self.fake.api_url(), token)
            .await
    }
}

#[tokio::test]
async fn a_bot_token_browses_posts_and_replies_and_a_user_token_searches() {
    let slack = Workspace::start().await;
    let (status, refused) = slack.connect("xoxb-wrong").await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("VALIDATION")),
        "{refused}"
    );
    let (status, created) = slack.connect(BOT_TOKEN).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["principal"]["id"], BOT_USER);
    assert_eq!(created["data"]["values"]["team_id"], SLACK_TEAM_ID);
    assert_eq!(created["data"]["values"]["token_kind"], "bot");
    let base = connection_path(&created);

    let (channels, pages) = slack.api.ids(&format!("{base}/containers?limit=3")).await;
    assert_eq!(channels.len(), 7, "the archived channel is left out");
    assert_eq!(pages, 3, "cursor paging across three pages");
    let (status, first) = slack
        .api
        .send(Method::GET, &format!("{base}/containers?limit=3"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(first["data"]["entries"][0]["name"], "#general");
    assert_eq!(first["data"]["entries"][2]["kind"], "private_channel");

    let (messages, pages) = slack
        .api
        .ids(&format!("{base}/containers/{GENERAL}/items?limit=2"))
        .await;
    assert_eq!(
        messages,
        (1..=5)
            .rev()
            .map(|n| message(GENERAL, n))
            .collect::<Vec<_>>(),
        "newest first"
    );
    assert_eq!(pages, 3);
    let since = "2025-11-24T15:30:00Z"; // between messages 3 and 4
    let (recent, _) = slack
        .api
        .ids(&format!(
            "{base}/containers/{GENERAL}/items?updated_since={since}"
        ))
        .await;
    assert_eq!(recent, [message(GENERAL, 5), message(GENERAL, 4)]);

    let (status, item) = slack
        .api
        .send(
            Method::GET,
            &format!("{base}/items/{}", message(GENERAL, 2)),
            None,
        )
        .await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["data"]["title"], "Update 2 in #general");
    assert_eq!(
        item["data"]["body"],
        "Update 2 in #general\nmore detail on general"
    );
    assert_eq!(item["data"]["attributes"]["reply_count"], "4");
    assert_eq!(item["data"]["created_at"], "2025-11-24T14:00:00Z");
    assert_eq!(
        item["data"]["url"],
        format!(
            "https://acme.slack.com/archives/{GENERAL}/p{}000100",
            BASE_TS + 7200
        )
    );

    let (replies, pages) = slack
        .api
        .ids(&format!(
            "{base}/items/{}/comments?limit=3",
            message(GENERAL, 2)
        ))
        .await;
    assert_eq!(
        replies.len(),
        4,
        "the thread's first message is not a reply"
    );
    assert_eq!(pages, 2);

    let (status, forbidden) = slack
        .api
        .send(Method::GET, &format!("{base}/search?q=update"), None)
        .await;
    assert_eq!(
        (status, forbidden["error"]["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "{forbidden}"
    );
    assert!(
        forbidden["error"]["message"]
            .as_str()
            .unwrap()
            .contains("user token"),
        "{forbidden}"
    );

    let (status, posted) = slack
        .api
        .send(
            Method::POST,
            &format!("{base}/containers/C0100000004/items"),
            Some(json!({"title": "Release 4.2 is out", "body": "Notes in the wiki."})),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    let posted_id = posted["data"]["id"].as_str().unwrap().to_owned();
    let (status, read) = slack
        .api
        .send(Method::GET, &format!("{base}/items/{posted_id}"), None)
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(
        read["data"]["body"],
        "Release 4.2 is out\nNotes in the wiki."
    );
    assert_eq!(read["data"]["author"]["id"], BOT_USER);
    let (status, reply) = slack
        .api
        .send(
            Method::POST,
            &format!("{base}/items/{posted_id}/comments"),
            Some(json!({"body": "Thanks!"})),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    let (status, thread) = slack
        .api
        .send(
            Method::GET,
            &format!("{base}/items/{posted_id}/comments"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{thread}");
    assert_eq!(thread["data"]["entries"][0]["body"], "Thanks!");
    assert_eq!(thread["data"]["entries"][0]["id"], reply["data"]["id"]);

    let (status, refused) = slack
        .api
        .send(
            Method::POST,
            &format!("{base}/containers/C0100000008/items"),
            Some(json!({"title": "Anyone?"})),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "an archived channel: {refused}"
    );
    let (status, missing) = slack
        .api
        .send(
            Method::GET,
            &format!("{base}/containers/C0999999999/items"),
            None,
        )
        .await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let (status, _) = slack
        .api
        .send(Method::GET, &format!("{base}/items/C01:..%2F1.2"), None)
        .await;
    assert_eq!(status, 404, "not a message id, never a parameter");

    let user = slack
        .api
        .connected_bearer("slack", &slack.fake.api_url(), USER_TOKEN)
        .await;
    let (found, pages) = slack
        .api
        .ids(&format!("{user}/search?q=update%203&limit=3"))
        .await;
    assert_eq!(
        found.len(),
        7,
        "message 3 of each listed channel: {found:?}"
    );
    assert_eq!(pages, 3, "page/count paging");
    let (status, hit) = slack
        .api
        .send(Method::GET, &format!("{user}/search?q=update%203"), None)
        .await;
    assert_eq!(status, 200);
    assert!(
        hit["data"]["entries"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://acme.slack.com/archives/"),
        "Slack's permalink: {hit}"
    );
    let (_, me) = slack.api.send(Method::GET, &user, None).await;
    assert_eq!(me["data"]["principal"]["id"], PERSON);

    let requests = slack.fake.recorder.requests();
    assert!(requests.iter().all(|r| {
        r.header("authorization").is_some_and(|a| {
            a == format!("Bearer {BOT_TOKEN}")
                || a == format!("Bearer {USER_TOKEN}")
                || a == "Bearer xoxb-wrong"
        })
    }));
    let covered = assert_conforms(&ApiSpec::slack(), &requests, "slack");
    assert_eq!(
        covered,
        requests.len(),
        "every request is in Slack's description"
    );
}

#[tokio::test]
async fn throttling_waits_as_slack_says_and_a_revoked_token_needs_reauth() {
    let slack = Workspace::start().await;
    let base = slack
        .api
        .connected_bearer("slack", &slack.fake.api_url(), BOT_TOKEN)
        .await;

    slack.fake.throttle_next(1);
    slack
        .api
        .assert_rate_limited(&format!("{base}/containers"), "30")
        .await;
    let (status, _) = slack
        .api
        .send(Method::GET, &format!("{base}/containers"), None)
        .await;
    assert_eq!(status, 200, "served again once the limit lifts");

    slack.fake.revoke(BOT_TOKEN);
    slack
        .api
        .assert_needs_reauth(&base, &format!("{base}/containers"))
        .await;
}

#[tokio::test]
async fn slack_oauth_v2_yields_a_bot_or_a_user_token_and_rotates_them() {
    let auth = OAuthServer::start_as(Flavor::Slack, Duration::from_secs(3600)).await;
    let fake = SlackFake::start_checking(auth.token_checker()).await;
    let (server, key, browser) = host_for_oauth(&auth, "slack", |_| {}).await;
    let config = json!({"config": {"api_url": fake.api_url()}});

    let mut bot_body = config.clone();
    bot_body["auth_method"] = json!("oauth_bot");
    let (status, bot) = connect_with_oauth(&server, &key, &browser, "slack", bot_body).await;
    assert_eq!(status, 201, "{bot}");
    assert_eq!(bot["data"]["values"]["token_kind"], "bot");
    let asked = &auth.authorize_queries()[0];
    assert_eq!(
        asked["scope"], "channels:read,groups:read,channels:history,groups:history,chat:write",
        "comma-separated, as Slack wants"
    );
    assert!(!asked.contains_key("code_challenge"), "Slack takes no PKCE");

    // A method that is not OAuth (the pasted token) or that the connector lacks opens nothing.
    for wrong in ["token", "oauth_admin"] {
        let mut body = config.clone();
        body["auth_method"] = json!(wrong);
        let (status, refused) = server
            .send(
                Method::POST,
                "/api/v1/oauth/slack/authorize",
                Some(&key),
                Some(body),
            )
            .await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (422, Some("VALIDATION")),
            "{refused}"
        );
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("no OAuth method `{wrong}`")),
            "{refused}"
        );
    }
    assert_eq!(auth.authorize_queries().len(), 1, "no flow was started");

    let mut user_body = config;
    user_body["auth_method"] = json!("oauth_user");
    let (status, user) = connect_with_oauth(&server, &key, &browser, "slack", user_body).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["data"]["auth_method"], "oauth_user");
    assert_eq!(
        user["data"]["principal"]["id"], PERSON,
        "the token under authed_user"
    );
    assert!(auth.authorize_queries()[1]["user_scope"].contains("search:read"));
    let user_base = connection_path(&user);
    let (status, found) = server
        .send(
            Method::GET,
            &format!("{user_base}/search?q=update"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{found}");

    // Token rotation: once the access tokens expire, Slack answers `invalid_auth`; the host
    // refreshes at oauth.v2.access (the rotated user token comes back at the top level).
    auth.expire_all_access_tokens();
    let (status, again) = server
        .send(
            Method::GET,
            &format!("{user_base}/search?q=update"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(auth.refresh_requests(), 1);
    let (status, me) = server.send(Method::GET, &user_base, Some(&key), None).await;
    assert_eq!(status, 200);
    assert_eq!(me["data"]["status"], "active", "{me}");
}
