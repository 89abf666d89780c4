//! The Notion connector through the host's REST API, against a behavioural Notion fake, with
//! every request checked against Notion's own API description.

use std::time::Duration;

use connector_tests::contract::{ApiSpec, assert_conforms};
use connector_tests::fakes::notion::{
    BASE_TIME, BOT_ID, COMMENTS, DATA_SOURCES, LONG_PAGE_BLOCKS, data_source_id, page_id,
};
use connector_tests::fakes::oauth_server::Flavor;
use connector_tests::fakes::{NotionFake, OAuthServer};
use connector_tests::harness::{
    TenantSession, connect_with_oauth, connection_path, host_for_oauth,
};
use reqwest::Method;
use serde_json::{Value, json};

const TOKEN: &str = "ntn_4711internalintegrationsecret";

struct Workspace {
    fake: NotionFake,
    api: TenantSession,
}

impl Workspace {
    async fn start() -> Self {
        Self {
            fake: NotionFake::start(TOKEN).await,
            api: TenantSession::start().await,
        }
    }

    async fn connect(&self, token: &str) -> (u16, Value) {
        self.api
            .connect_bearer("notion", &self.fake.api_url(), token)
            .await
    }
}

#[tokio::test]
async fn an_integration_reads_data_sources_and_pages_as_markdown_and_writes_pages_and_comments() {
    let notion = Workspace::start().await;
    let (status, refused) = notion.connect("ntn_wrong").await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("VALIDATION")),
        "{refused}"
    );
    let (status, created) = notion.connect(TOKEN).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["principal"]["id"], BOT_ID);
    assert_eq!(created["data"]["values"]["workspace_name"], "Acme");
    let base = connection_path(&created);

    let (sources, pages) = notion.api.ids(&format!("{base}/containers?limit=2")).await;
    let expected: Vec<String> = (0..DATA_SOURCES.len()).map(data_source_id).collect();
    assert_eq!(sources, expected, "most recently edited first");
    assert_eq!(pages, 3, "start_cursor paging across three pages");
    let listed = notion.api.get(&format!("{base}/containers?limit=1")).await;
    assert_eq!(listed["data"]["entries"][0]["name"], "Roadmap");
    assert_eq!(listed["data"]["entries"][0]["kind"], "data_source");

    let roadmap = data_source_id(0);
    let (items, pages) = notion
        .api
        .ids(&format!("{base}/containers/{roadmap}/items?limit=3"))
        .await;
    let newest_first: Vec<String> = (1..=7).rev().map(|n| page_id(0, n)).collect();
    assert_eq!(items, newest_first);
    assert_eq!(pages, 3);
    let since = "2026-11-01T14:00:00Z"; // BASE_TIME + 5 h
    assert_eq!(BASE_TIME + 5 * 3600, 1_793_541_600);
    let (recent, _) = notion
        .api
        .ids(&format!(
            "{base}/containers/{roadmap}/items?updated_since={since}"
        ))
        .await;
    assert_eq!(recent, [page_id(0, 7), page_id(0, 6), page_id(0, 5)]);

    let first = page_id(0, 1);
    let page = notion.api.get(&format!("{base}/items/{first}")).await;
    let body = page["data"]["body"].as_str().unwrap();
    assert_eq!(page["data"]["title"], "Roadmap 1");
    assert_eq!(page["data"]["body_format"], "markdown");
    assert_eq!(page["data"]["container_id"], roadmap);
    assert!(
        body.starts_with(
            "# Goals\n\n- Ship the connector host\n  - with WASM plugins\n- [x] Write the launch post\nLine 4\n"
        ),
        "{body}"
    );
    assert!(
        body.ends_with(&format!("Line {LONG_PAGE_BLOCKS}")),
        "block children paged to the end: {body}"
    );
    assert_eq!(
        page["data"]["attributes"]["Status"], "In progress",
        "{page}"
    );

    let (comments, pages) = notion
        .api
        .ids(&format!("{base}/items/{first}/comments?limit=2"))
        .await;
    assert_eq!(comments.len() as u64, COMMENTS);
    assert_eq!(pages, 2);

    let (found, pages) = notion
        .api
        .ids(&format!("{base}/search?q=roadmap&limit=3"))
        .await;
    assert_eq!(found, newest_first, "pages only, newest first");
    assert_eq!(pages, 3);
    let handbook = notion.api.get(&format!("{base}/search?q=handbook")).await;
    assert_eq!(handbook["data"]["entries"][0]["container_id"], "workspace");

    let (status, made) = notion
        .api
        .send(
            Method::POST,
            &format!("{base}/containers/{roadmap}/items"),
            Some(json!({"title": "Launch checklist", "body": "Before launch:\n- docs\n- demo"})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let made_id = made["data"]["id"].as_str().unwrap().to_owned();
    let read = notion.api.get(&format!("{base}/items/{made_id}")).await;
    assert_eq!(read["data"]["title"], "Launch checklist");
    assert_eq!(read["data"]["body"], "Before launch:\n\n- docs\n- demo");
    let (listed, _) = notion
        .api
        .ids(&format!("{base}/containers/{roadmap}/items"))
        .await;
    assert!(listed.contains(&made_id));

    // Over 100 blocks: the first 100 come with the page, the rest are appended.
    let long: String = (1..=150).map(|n| format!("Step {n}\n")).collect();
    let (status, long_page) = notion
        .api
        .send(
            Method::POST,
            &format!("{base}/containers/{roadmap}/items"),
            Some(json!({"title": "Runbook", "body": long})),
        )
        .await;
    assert_eq!(status, 201, "{long_page}");
    let read = notion
        .api
        .get(&format!(
            "{base}/items/{}",
            long_page["data"]["id"].as_str().unwrap()
        ))
        .await;
    let body = read["data"]["body"].as_str().unwrap();
    assert_eq!(body.matches("Step ").count(), 150);
    assert!(body.ends_with("Step 150"));

    // An append that fails leaves no half-written page: it goes to the trash.
    notion.fake.fail_next_append();
    let (status, failed) = notion
        .api
        .send(
            Method::POST,
            &format!("{base}/containers/{roadmap}/items"),
            Some(json!({"title": "Half a runbook", "body": long})),
        )
        .await;
    assert_eq!(
        (status, failed["error"]["code"].as_str()),
        (503, Some("VENDOR_ERROR")),
        "{failed}"
    );
    assert_eq!(notion.fake.trashed("Half a runbook"), Some(true));
    let (listed, _) = notion
        .api
        .ids(&format!("{base}/containers/{roadmap}/items"))
        .await;
    assert_eq!(
        listed.len(),
        9,
        "the seven seeded pages and the two written"
    );

    let (status, comment) = notion
        .api
        .send(
            Method::POST,
            &format!("{base}/items/{made_id}/comments"),
            Some(json!({"body": "Looks good"})),
        )
        .await;
    assert_eq!(status, 201, "{comment}");
    let thread = notion
        .api
        .get(&format!("{base}/items/{made_id}/comments"))
        .await;
    assert_eq!(thread["data"]["entries"][0]["body"], "Looks good");
    assert_eq!(thread["data"]["entries"][0]["author"]["id"], BOT_ID);

    let (status, refused) = notion
        .api
        .send(
            Method::POST,
            &format!("{base}/containers/{roadmap}/items"),
            Some(json!({"title": "x", "attributes": {"Status": "Done"}})),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("VALIDATION")),
        "{refused}"
    );
    let unknown = data_source_id(77);
    let (status, missing) = notion
        .api
        .send(
            Method::GET,
            &format!("{base}/containers/{unknown}/items"),
            None,
        )
        .await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{missing}"
    );
    let before = notion.fake.recorder.requests().len();
    for bad in [
        "..%2F..%2Fusers",
        "not-a-uuid",
        "9a000000-0000-4000-8000-00000000000z",
    ] {
        let (status, _) = notion
            .api
            .send(Method::GET, &format!("{base}/items/{bad}"), None)
            .await;
        assert_eq!(status, 404, "{bad}");
    }
    assert_eq!(
        notion.fake.recorder.requests().len(),
        before,
        "ids that are not Notion's never reach it"
    );

    let requests = notion.fake.recorder.requests();
    assert!(requests.iter().all(|r| {
        r.header("notion-version") == Some("2025-09-03")
            && r.header("authorization")
                .is_some_and(|a| a == format!("Bearer {TOKEN}") || a == "Bearer ntn_wrong")
    }));
    let covered = assert_conforms(&ApiSpec::notion(), &requests, "notion");
    assert_eq!(
        covered,
        requests.len(),
        "every request is in Notion's description"
    );
}

#[tokio::test]
async fn throttling_waits_as_notion_says_and_a_revoked_token_needs_reauth() {
    let notion = Workspace::start().await;
    let base = notion
        .api
        .connected_bearer("notion", &notion.fake.api_url(), TOKEN)
        .await;

    notion.fake.throttle_next(1);
    notion
        .api
        .assert_rate_limited(&format!("{base}/containers"), "5")
        .await;
    notion.api.get(&format!("{base}/containers")).await;

    notion.fake.revoke(TOKEN);
    notion
        .api
        .assert_needs_reauth(&base, &format!("{base}/containers"))
        .await;
}

#[tokio::test]
async fn a_public_integration_connects_through_notions_oauth() {
    let auth = OAuthServer::start_as(Flavor::Notion, Duration::from_secs(3600)).await;
    let fake = NotionFake::start_checking(auth.token_checker()).await;
    let (server, key, browser) = host_for_oauth(&auth, "notion", |_| {}).await;

    // The loopback server plays Notion: it refuses a token request that is not JSON with
    // HTTP Basic client authentication, so a connection proves both.
    let body = json!({"config": {"api_url": fake.api_url()}});
    let (status, connection) = connect_with_oauth(&server, &key, &browser, "notion", body).await;
    assert_eq!(status, 201, "{connection}");
    assert_eq!(connection["data"]["auth_method"], "oauth");
    assert_eq!(connection["data"]["values"]["workspace_name"], "Acme");
    assert_eq!(connection["data"]["principal"]["id"], BOT_ID);
    let asked = &auth.authorize_queries()[0];
    assert_eq!(asked["owner"], "user", "Notion wants owner=user");
    assert!(!asked.contains_key("code_challenge"));
    let base = connection_path(&connection);
    let (status, listed) = server
        .send(Method::GET, &format!("{base}/containers"), Some(&key), None)
        .await;
    assert_eq!(status, 200, "{listed}");

    // An expired access token: Notion answers 401, the host refreshes (JSON, Basic) once.
    auth.expire_all_access_tokens();
    let (status, again) = server
        .send(Method::GET, &format!("{base}/containers"), Some(&key), None)
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(auth.refresh_requests(), 1);
    let requests = fake.recorder.requests();
    assert!(requests.iter().all(|r| {
        r.header("authorization")
            .is_some_and(|a| a.starts_with("Bearer ntn_"))
    }));
    assert_conforms(&ApiSpec::notion(), &requests, "notion");
}
