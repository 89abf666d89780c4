//! The Figma connector through the host's REST API, against a behavioural Figma fake, with
//! every request checked against Figma's own API description.

use std::time::Duration;

use connector_tests::contract::{ApiSpec, assert_conforms};
use connector_tests::fakes::figma::{
    BASE_TIME, COMMENTS, PROJECTS, TEAM_ID, TEAM_NAME, USER_ID, file_key, project_id,
};
use connector_tests::fakes::oauth_server::{FIGMA_USER_ID, Flavor};
use connector_tests::fakes::{FigmaFake, OAuthServer};
use connector_tests::harness::{
    TenantSession, connect_with_oauth, connection_path, error_code, host_for_oauth,
};
use reqwest::Method;
use serde_json::{Value, json};

const TOKEN: &str = "figd_4711personalaccesstoken";

struct Team {
    fake: FigmaFake,
    api: TenantSession,
}

impl Team {
    async fn start() -> Self {
        Self {
            fake: FigmaFake::start(TOKEN).await,
            api: TenantSession::start().await,
        }
    }

    async fn connect(&self, team_id: &str, token: &str) -> (u16, Value) {
        let body = json!({
            "connector": "figma",
            "config": {"team_id": team_id, "api_url": self.fake.api_url()},
            "credentials": {"type": "api_key", "key": token},
        });
        self.api
            .send(Method::POST, "/api/v1/connections", Some(body))
            .await
    }

    async fn connected(&self) -> String {
        let (status, created) = self.connect(TEAM_ID, TOKEN).await;
        assert_eq!(status, 201, "{created}");
        connection_path(&created)
    }
}

#[tokio::test]
async fn a_personal_token_browses_projects_files_and_comments_and_posts_a_comment() {
    let figma = Team::start().await;
    let refused = figma.connect(TEAM_ID, "figd_wrong").await;
    assert_eq!(
        error_code(&refused),
        (422, Some("VALIDATION")),
        "{}",
        refused.1
    );
    let other_team = figma.connect("42", TOKEN).await;
    assert_eq!(
        error_code(&other_team),
        (422, Some("VALIDATION")),
        "{}",
        other_team.1
    );
    let not_a_team = figma.connect("../me", TOKEN).await;
    assert_eq!(
        error_code(&not_a_team),
        (422, Some("VALIDATION")),
        "{}",
        not_a_team.1
    );

    let (status, created) = figma.connect(TEAM_ID, TOKEN).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["principal"]["id"], USER_ID);
    assert_eq!(created["data"]["principal"]["email"], "ada@acme.example");
    assert_eq!(created["data"]["values"]["team_name"], TEAM_NAME);
    let base = connection_path(&created);

    let (projects, pages) = figma.api.ids(&format!("{base}/containers?limit=3")).await;
    let expected: Vec<String> = (0..PROJECTS.len()).map(project_id).collect();
    assert_eq!(projects, expected);
    assert_eq!(pages, 3, "seven projects, three to a page");
    let first = figma.api.get(&format!("{base}/containers?limit=1")).await;
    assert_eq!(first["data"]["entries"][0]["name"], "Mobile app");
    assert_eq!(first["data"]["entries"][0]["kind"], "project");

    let mobile = project_id(0);
    let (files, pages) = figma
        .api
        .ids(&format!("{base}/containers/{mobile}/items?limit=4"))
        .await;
    let newest_first: Vec<String> = (1..=9)
        .rev()
        .map(|n| format!("{mobile}:{}", file_key(0, n)))
        .collect();
    assert_eq!(files, newest_first);
    assert_eq!(pages, 3);
    let since = "2026-11-01T16:00:00Z"; // BASE_TIME + 7 h
    assert_eq!(BASE_TIME + 7 * 3600, 1_793_548_800);
    let (recent, _) = figma
        .api
        .ids(&format!(
            "{base}/containers/{mobile}/items?updated_since={since}"
        ))
        .await;
    assert_eq!(recent, newest_first[..3]);

    let file_id = format!("{mobile}:{}", file_key(0, 1));
    let file = figma.api.get(&format!("{base}/items/{file_id}")).await;
    assert_eq!(file["data"]["title"], "Mobile app 1");
    assert_eq!(file["data"]["container_id"], mobile);
    assert_eq!(file["data"]["body_format"], "markdown");
    assert_eq!(
        file["data"]["body"],
        "## Cover\n- Hero (frame)\n\n## Flows\n- Sign in (frame)\n- Checkout (section)\n- Primary button (component)"
    );
    assert_eq!(
        file["data"]["url"],
        format!("https://www.figma.com/design/{}", file_key(0, 1))
    );
    let by_key = figma
        .api
        .get(&format!("{base}/items/{}", file_key(0, 1)))
        .await;
    assert_eq!(
        by_key["data"]["title"], "Mobile app 1",
        "a bare key from a link"
    );

    let (comments, pages) = figma
        .api
        .ids(&format!("{base}/items/{file_id}/comments?limit=2"))
        .await;
    let oldest_first: Vec<String> = (1..=COMMENTS).map(|n| format!("{}", 900 + n)).collect();
    assert_eq!(comments, oldest_first);
    assert_eq!(pages, 3);
    let listed = figma
        .api
        .get(&format!("{base}/items/{file_id}/comments?limit=1"))
        .await;
    assert_eq!(listed["data"]["entries"][0]["body"], "Comment **1**");
    assert_eq!(listed["data"]["entries"][0]["body_format"], "markdown");
    assert_eq!(
        listed["data"]["entries"][0]["author"]["display_name"],
        "Ada Lovelace"
    );

    let posted = figma
        .api
        .send(
            Method::POST,
            &format!("{base}/items/{file_id}/comments"),
            Some(json!({"body": "Ship it"})),
        )
        .await;
    assert_eq!(posted.0, 201, "{}", posted.1);
    let (after, _) = figma
        .api
        .ids(&format!("{base}/items/{file_id}/comments"))
        .await;
    assert_eq!(after.len() as u64, COMMENTS + 1);
    assert_eq!(
        after.last(),
        posted.1["data"]["id"].as_str().map(str::to_owned).as_ref()
    );
    let empty = figma
        .api
        .send(
            Method::POST,
            &format!("{base}/items/{file_id}/comments"),
            Some(json!({"body": "  "})),
        )
        .await;
    assert_eq!(error_code(&empty), (422, Some("VALIDATION")), "{}", empty.1);

    let search = figma
        .api
        .send(Method::GET, &format!("{base}/search?q=button"), None)
        .await;
    assert_eq!(
        error_code(&search),
        (501, Some("UNSUPPORTED")),
        "Figma has no search"
    );
    let missing = figma
        .api
        .send(
            Method::GET,
            &format!("{base}/containers/4400077/items"),
            None,
        )
        .await;
    assert_eq!(
        error_code(&missing),
        (404, Some("NOT_FOUND")),
        "{}",
        missing.1
    );

    let before = figma.fake.recorder.requests().len();
    for bad in [
        "..%2Fme",
        "1:..%2F..%2Fme",
        "x1:AbC",
        "AbC%3Fdepth%3D9",
        "12:",
    ] {
        let answer = figma
            .api
            .send(Method::GET, &format!("{base}/items/{bad}"), None)
            .await;
        assert_eq!(answer.0, 404, "{bad}: {}", answer.1);
    }
    let bad_project = figma
        .api
        .send(Method::GET, &format!("{base}/containers/abc/items"), None)
        .await;
    assert_eq!(bad_project.0, 404);
    assert_eq!(
        figma.fake.recorder.requests().len(),
        before,
        "ids that are not Figma's never reach it"
    );

    let requests = figma.fake.recorder.requests();
    assert!(requests.iter().all(|r| {
        r.header("authorization").is_none()
            && r.header("x-figma-token")
                .is_some_and(|t| t == TOKEN || t == "figd_wrong")
    }));
    let covered = assert_conforms(&ApiSpec::figma(), &requests, "figma");
    assert_eq!(
        covered,
        requests.len(),
        "every request is in Figma's description"
    );
}

#[tokio::test]
async fn throttling_waits_as_figma_says_and_a_revoked_token_needs_reauth() {
    let figma = Team::start().await;
    let base = figma.connected().await;

    figma.fake.throttle_next(1);
    figma
        .api
        .assert_rate_limited(&format!("{base}/containers"), "30")
        .await;
    figma.api.get(&format!("{base}/containers")).await;

    // Figma answers a revoked token with 403 "Invalid token".
    figma.fake.revoke(TOKEN);
    figma
        .api
        .assert_needs_reauth(&base, &format!("{base}/containers"))
        .await;
}

#[tokio::test]
async fn an_oauth_app_connects_and_refreshes_at_figmas_separate_refresh_endpoint() {
    let auth = OAuthServer::start_as(Flavor::Figma, Duration::from_secs(3600)).await;
    let fake = FigmaFake::start_checking(auth.token_checker()).await;
    let refresh_url = auth.url("/refresh");
    let (server, key, browser) = host_for_oauth(&auth, "figma", move |config| {
        if let Some(figma) = config.oauth.get_mut("figma") {
            figma.refresh_url = Some(refresh_url);
        }
    })
    .await;

    let body = json!({"config": {"team_id": TEAM_ID, "api_url": fake.api_url()}});
    let (status, connection) = connect_with_oauth(&server, &key, &browser, "figma", body).await;
    assert_eq!(status, 201, "{connection}");
    assert_eq!(connection["data"]["auth_method"], "oauth");
    assert_eq!(
        connection["data"]["values"]["user_id_string"],
        FIGMA_USER_ID
    );
    assert_eq!(connection["data"]["values"]["team_name"], TEAM_NAME);
    let asked = &auth.authorize_queries()[0];
    assert_eq!(
        asked["scope"],
        "current_user:read,projects:read,file_content:read,file_comments:read,file_comments:write"
    );
    assert!(!asked.contains_key("code_challenge"), "Figma takes no PKCE");
    let base = connection_path(&connection);
    let (status, listed) = server
        .send(Method::GET, &format!("{base}/containers"), Some(&key), None)
        .await;
    assert_eq!(status, 200, "{listed}");

    // An expired token: Figma answers 403 "Invalid token"; the host refreshes at the refresh
    // endpoint (the token endpoint refuses refresh grants, as Figma's does) and retries.
    auth.expire_all_access_tokens();
    let (status, again) = server
        .send(Method::GET, &format!("{base}/containers"), Some(&key), None)
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(auth.refresh_requests(), 1);
    let requests = fake.recorder.requests();
    assert!(requests.iter().all(|r| {
        r.header("x-figma-token").is_none()
            && r.header("authorization")
                .is_some_and(|a| a.starts_with("Bearer figu_at-"))
    }));
    assert_conforms(&ApiSpec::figma(), &requests, "figma");
}
