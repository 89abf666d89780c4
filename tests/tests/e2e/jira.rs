//! The Jira connector through the host's REST API, against a behavioural Jira fake, with every
//! request checked against Atlassian's Jira platform v3 OpenAPI document.

use connector_tests::contract::{ApiSpec, assert_conforms};
use connector_tests::fakes::JiraFake;
use serde_json::json;

use super::atlassian_setup::{API_TOKEN, Atlassian, AtlassianFake, EMAIL};

async fn setup() -> Atlassian<JiraFake> {
    Atlassian::start("jira", JiraFake::start).await
}

#[tokio::test]
async fn an_api_token_connection_browses_searches_and_creates() {
    let jira = setup().await;
    let bad = json!({
        "connector": "jira", "config": {"site_url": jira.fake.origin()},
        "credentials": {"type": "basic", "username": EMAIL, "password": "wrong-token"},
    });
    let (status, body) = jira.post("/api/v1/connections", bad).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("VALIDATION")),
        "{body}"
    );

    let id = jira.connect_with_token("jira").await;
    let base = format!("/api/v1/connections/{id}");

    let (projects, pages) = jira.all_pages(&format!("{base}/containers?limit=3")).await;
    assert_eq!(
        projects,
        [
            "ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF"
        ]
    );
    assert_eq!(pages, 3);

    let (issues, pages) = jira
        .all_pages(&format!("{base}/containers/ALPHA/items?limit=2"))
        .await;
    assert_eq!(
        issues,
        ["ALPHA-5", "ALPHA-4", "ALPHA-3", "ALPHA-2", "ALPHA-1"],
        "most recently updated first"
    );
    assert_eq!(pages, 3);

    let (recent, _) = jira
        .all_pages(&format!(
            "{base}/containers/ALPHA/items?updated_since=2026-11-04T00:00:00Z"
        ))
        .await;
    assert_eq!(recent, ["ALPHA-5", "ALPHA-4"], "incremental sync");

    let (status, issue) = jira.get(&format!("{base}/items/ALPHA-3")).await;
    assert_eq!(status, 200, "{issue}");
    assert_eq!(issue["data"]["title"], "ALPHA issue 3");
    assert_eq!(
        issue["data"]["body"], "Steps for **ALPHA-3**",
        "ADF as Markdown"
    );
    assert_eq!(issue["data"]["body_format"], "markdown");
    assert_eq!(issue["data"]["attributes"]["status"], "To Do");
    assert_eq!(issue["data"]["updated_at"], "2026-11-03T10:00:00.000+00:00");
    assert!(
        issue["data"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/browse/ALPHA-3")
    );
    assert!(issue["data"].get("raw").is_none(), "raw only on request");
    let (status, issue) = jira
        .get(&format!("{base}/items/ALPHA-3?include_raw=true"))
        .await;
    assert_eq!(status, 200, "{issue}");
    assert_eq!(
        issue["data"]["raw"]["key"], "ALPHA-3",
        "the vendor JSON is kept"
    );

    let (comments, pages) = jira
        .all_pages(&format!("{base}/items/ALPHA-1/comments?limit=3"))
        .await;
    assert_eq!(comments.len(), 4);
    assert_eq!(pages, 2);
    let (_, first) = jira
        .get(&format!("{base}/items/ALPHA-1/comments?limit=1"))
        .await;
    assert_eq!(first["data"]["entries"][0]["body"], "Comment 1 on ALPHA-1");

    let (status, found) = jira
        .get(&format!("{base}/search?q=BRAVO%20issue%202"))
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["data"]["entries"][0]["id"], "BRAVO-2");

    let new = json!({"title": "Ship the connector", "body": "First line\n\nSecond paragraph", "attributes": {"issuetype": "Bug"}});
    let (status, created) = jira
        .post(&format!("{base}/containers/CHARLIE/items"), new)
        .await;
    assert_eq!(status, 201, "{created}");
    let key = created["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(key, "CHARLIE-6");
    let (_, read) = jira.get(&format!("{base}/items/{key}")).await;
    assert_eq!(read["data"]["title"], "Ship the connector");
    assert_eq!(read["data"]["body"], "First line\n\nSecond paragraph");
    assert_eq!(read["data"]["attributes"]["issuetype"], "Bug");

    let (status, comment) = jira
        .post(
            &format!("{base}/items/{key}/comments"),
            json!({"body": "Looks good"}),
        )
        .await;
    assert_eq!(status, 201, "{comment}");
    let (_, listed) = jira.get(&format!("{base}/items/{key}/comments")).await;
    assert_eq!(listed["data"]["entries"][0]["body"], "Looks good");

    // update-item (contract 0.2.0): PUT /rest/api/3/issue/{key}, then read back.
    let patch = json!({"title": "Ship the connector, v2", "body": "Now with edits", "attributes": {"priority": "High", "labels": "hot, loaded"}});
    let (status, updated) = jira.patch(&format!("{base}/items/{key}"), patch).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["title"], "Ship the connector, v2");
    assert_eq!(updated["data"]["body"], "Now with edits");
    assert_eq!(updated["data"]["attributes"]["priority"], "High");
    let (_, read) = jira.get(&format!("{base}/items/{key}")).await;
    assert_eq!(
        read["data"]["title"], "Ship the connector, v2",
        "the edit is stored at the vendor"
    );
    let (status, body) = jira
        .patch(
            &format!("{base}/items/{key}"),
            json!({"attributes": {"colour": "red"}}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("VALIDATION")),
        "unknown edit attributes are refused: {body}"
    );
    let (status, body) = jira.patch(&format!("{base}/items/{key}"), json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("VALIDATION")),
        "an empty edit is refused before the plugin runs: {body}"
    );

    let (status, body) = jira
        .post(
            &format!("{base}/containers/ALPHA/items"),
            json!({"title": "x", "attributes": {"colour": "red"}}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("VALIDATION")),
        "unknown attributes are refused"
    );

    let requests = jira.fake.recorder().requests();
    assert!(
        requests
            .iter()
            .filter(|r| r.path.starts_with("/rest/"))
            .all(|r| r
                .header("authorization")
                .is_some_and(|a| a.starts_with("Basic ")))
    );
    let covered = assert_conforms(&ApiSpec::jira(), &requests, "jira");
    assert_eq!(
        covered,
        requests.len(),
        "every request the connector sent is in the Jira v3 spec"
    );
}

#[tokio::test]
async fn a_throttled_call_surfaces_rate_limited_with_the_wait() {
    let jira = setup().await;
    let id = jira.connect_with_token("jira").await;
    jira.fake.throttle_next(1);
    let response = jira
        .server
        .client
        .get(format!(
            "{}/api/v1/connections/{id}/containers",
            jira.server.base
        ))
        .bearer_auth(&jira.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    assert_eq!(body["error"]["retry_after"], 7);
}

#[tokio::test]
async fn oauth_binds_the_configured_site_among_several_and_calls_the_gateway() {
    let jira = setup().await;
    jira.atlassian.add_site("cloud-main", &jira.fake.origin());
    let (status, created) = jira.connect_with_oauth("jira").await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["data"]["values"]["cloud_id"], "cloud-main",
        "not the first site of the grant"
    );
    assert_eq!(jira.auth.code_requests(), 1);
    let id = created["data"]["id"].as_str().unwrap();

    let (projects, _) = jira
        .all_pages(&format!("/api/v1/connections/{id}/containers?limit=5"))
        .await;
    assert_eq!(projects.len(), 7);
    let (status, issue) = jira
        .get(&format!("/api/v1/connections/{id}/items/DELTA-2"))
        .await;
    assert_eq!(
        (status, issue["data"]["id"].as_str()),
        (200, Some("DELTA-2"))
    );

    let requests = jira.fake.recorder().requests();
    let gateway: Vec<_> = requests
        .iter()
        .filter(|r| r.path.starts_with("/ex/jira/"))
        .collect();
    assert!(gateway.len() >= 3);
    assert!(
        gateway
            .iter()
            .all(|r| r.path.starts_with("/ex/jira/cloud-main/"))
    );
    assert!(gateway.iter().all(|r| {
        r.header("authorization")
            .is_some_and(|a| a.starts_with("Bearer at-"))
    }));
    assert_conforms(&ApiSpec::jira(), &requests, "jira");
}

#[tokio::test]
async fn a_grant_that_does_not_cover_the_site_creates_nothing() {
    let jira = setup().await;
    let (status, body) = jira.connect_with_oauth("jira").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("VALIDATION")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not cover"),
        "{body}"
    );
    let (_, listed) = jira.get("/api/v1/connections").await;
    assert_eq!(listed["data"]["entries"], json!([]));
    let _ = API_TOKEN;
}
