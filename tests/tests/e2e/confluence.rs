//! The Confluence connector through the host's REST API, against a behavioural Confluence fake,
//! with every v2 request checked against Atlassian's Confluence v2 OpenAPI document (CQL search
//! is v1, outside it).

use connector_tests::contract::{ApiSpec, assert_conforms};
use connector_tests::fakes::ConfluenceFake;
use serde_json::json;

use super::atlassian_setup::{Atlassian, AtlassianFake};

async fn setup() -> Atlassian<ConfluenceFake> {
    Atlassian::start("confluence", ConfluenceFake::start).await
}

#[tokio::test]
async fn an_api_token_connection_browses_searches_and_creates() {
    let wiki = setup().await;
    let id = wiki.connect_with_token("confluence").await;
    let base = format!("/api/v1/connections/{id}");

    let (spaces, pages) = wiki.all_pages(&format!("{base}/containers?limit=3")).await;
    assert_eq!(
        spaces,
        ["1001", "1002", "1003", "1004", "1005", "1006", "1007"]
    );
    assert_eq!(pages, 3);

    let (items, pages) = wiki
        .all_pages(&format!("{base}/containers/1002/items?limit=2"))
        .await;
    assert_eq!(items.len(), 5);
    assert_eq!(pages, 3);
    let (_, first) = wiki
        .get(&format!("{base}/containers/1002/items?limit=1"))
        .await;
    assert_eq!(
        first["data"]["entries"][0]["title"], "Space 2 page 5",
        "most recently modified first"
    );

    let (recent, _) = wiki
        .all_pages(&format!(
            "{base}/containers/1002/items?limit=2&updated_since=2026-11-04T00:00:00Z"
        ))
        .await;
    assert_eq!(recent.len(), 2, "incremental sync stops at older pages");

    let page_id = &items[0];
    let (status, page) = wiki.get(&format!("{base}/items/{page_id}")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["data"]["body"], "Page 5\nNotes for space 2 & friends",
        "storage format as text"
    );

    let (comments, pages) = wiki
        .all_pages(&format!("{base}/items/{page_id}/comments?limit=3"))
        .await;
    assert_eq!(comments.len(), 4);
    assert_eq!(pages, 2);

    let (status, found) = wiki
        .get(&format!("{base}/search?q=Space%203%20page%204"))
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["data"]["entries"][0]["title"], "Space 3 page 4");

    let (status, created) = wiki
        .post(
            &format!("{base}/containers/1003/items"),
            json!({"title": "Runbook", "body": "Restart <service> & check"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let new_id = created["data"]["id"].as_str().unwrap().to_owned();
    let (_, read) = wiki.get(&format!("{base}/items/{new_id}")).await;
    assert_eq!(read["data"]["title"], "Runbook");
    assert_eq!(
        read["data"]["body"], "Restart <service> & check",
        "escaped on the way in, decoded on the way out"
    );

    let (status, comment) = wiki
        .post(
            &format!("{base}/items/{new_id}/comments"),
            json!({"body": "Reviewed"}),
        )
        .await;
    assert_eq!(status, 201, "{comment}");
    let (_, listed) = wiki.get(&format!("{base}/items/{new_id}/comments")).await;
    assert_eq!(listed["data"]["entries"][0]["body"], "Reviewed");

    let (status, missing) = wiki.get(&format!("{base}/items/not-a-number")).await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );

    let requests = wiki.fake.recorder().requests();
    let covered = assert_conforms(&ApiSpec::confluence_v2(), &requests, "confluence");
    let v1 = requests
        .iter()
        .filter(|r| r.path.starts_with("/wiki/rest/api/"))
        .count();
    assert_eq!(
        covered + v1,
        requests.len(),
        "every request is in the v2 spec, or one of the v1 calls v2 lacks"
    );
    assert!(
        requests.iter().any(|r| r.path == "/wiki/rest/api/search"),
        "search uses v1 CQL"
    );
}

#[tokio::test]
async fn a_throttled_call_surfaces_rate_limited_with_the_wait() {
    let wiki = setup().await;
    let id = wiki.connect_with_token("confluence").await;
    wiki.fake.throttle_next(1);
    let (status, body) = wiki
        .get(&format!("/api/v1/connections/{id}/containers"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("RATE_LIMITED")),
        "{body}"
    );
    assert_eq!(body["error"]["retry_after"], 5);
}

#[tokio::test]
async fn oauth_binds_the_configured_site_and_calls_the_gateway() {
    let wiki = setup().await;
    wiki.atlassian.add_site("cloud-wiki", &wiki.fake.origin());
    let (status, created) = wiki.connect_with_oauth("confluence").await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["values"]["cloud_id"], "cloud-wiki");
    let id = created["data"]["id"].as_str().unwrap();
    let (spaces, _) = wiki
        .all_pages(&format!("/api/v1/connections/{id}/containers?limit=4"))
        .await;
    assert_eq!(spaces.len(), 7);
    let requests = wiki.fake.recorder().requests();
    assert!(requests.iter().any(|r| {
        r.path
            .starts_with("/ex/confluence/cloud-wiki/wiki/api/v2/spaces")
    }));
    assert_conforms(&ApiSpec::confluence_v2(), &requests, "confluence");
}
