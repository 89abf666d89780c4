//! The Trello connector, a declarative manifest (`plugins/manifests/trello.yaml`), through the
//! host's REST API against a behavioural Trello fake, with every request checked against
//! Trello's own API description. The key and token are placed in the query by the host.

use connector_tests::contract::{ApiSpec, assert_conforms};
use connector_tests::fakes::TrelloFake;
use connector_tests::fakes::trello::{
    BOARDS, MEMBER_ID, TRELLO_KEY, TRELLO_TOKEN, card_id, list_id,
};
use connector_tests::harness::{TenantSession, connection_path, entries, error_code};
use reqwest::Method;
use serde_json::{Value, json};

async fn connect(session: &TenantSession, fake: &TrelloFake, token: &str) -> (u16, Value) {
    let body = json!({
        "connector": "trello",
        "config": {"api_url": fake.origin()},
        "credentials": {"type": "parts", "parts": {"key": TRELLO_KEY, "token": token}},
    });
    session
        .send(Method::POST, "/api/v1/connections", Some(body))
        .await
}

#[tokio::test]
async fn trello_boards_cards_and_comments_through_the_manifest() {
    let fake = TrelloFake::start().await;
    let session = TenantSession::start().await;
    let refused = connect(&session, &fake, "not-the-token").await;
    assert_eq!(
        error_code(&refused),
        (422, Some("VALIDATION")),
        "{}",
        refused.1
    );
    let (status, created) = connect(&session, &fake, TRELLO_TOKEN).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["principal"]["id"], MEMBER_ID);
    let base = connection_path(&created);

    // Open boards only; a board's cards, whole; the ones changed since a time.
    let boards = session.get(&format!("{base}/containers")).await;
    let names: Vec<&str> = entries(&boards)
        .iter()
        .filter_map(|b| b["name"].as_str())
        .collect();
    assert_eq!(names, ["Product", "Ops"]);
    let product = BOARDS[0].0;
    let cards = session
        .get(&format!("{base}/containers/{product}/items"))
        .await;
    assert_eq!(entries(&cards).len(), 4);
    let card = &entries(&cards)[0];
    assert_eq!(card["body"], "**Product** card 1");
    assert_eq!(card["body_format"], "markdown");
    assert_eq!(card["attributes"]["list"], list_id(0));
    let recent = session
        .get(&format!(
            "{base}/containers/{product}/items?updated_since=2026-11-02T14:00:00Z"
        ))
        .await;
    assert_eq!(
        entries(&recent).len(),
        2,
        "filtered by dateLastActivity: {recent}"
    );

    let first = card_id(0, 1);
    let item = session.get(&format!("{base}/items/{first}")).await;
    assert_eq!(item["data"]["title"], "Product card 1");
    let comments = session.get(&format!("{base}/items/{first}/comments")).await;
    let bodies: Vec<&str> = entries(&comments)
        .iter()
        .filter_map(|c| c["body"].as_str())
        .collect();
    assert_eq!(bodies, ["Comment 2", "Comment 1"]);
    assert_eq!(
        entries(&comments)[0]["author"]["display_name"],
        "Ada Lovelace"
    );
    let found = session.get(&format!("{base}/search?q=ops&limit=5")).await;
    assert_eq!(entries(&found).len(), 1, "{found}");

    // Writes go as query parameters; a card is created in a list.
    let (status, created) = session
        .send(
            Method::POST,
            &format!("{base}/containers/{product}/items"),
            Some(json!({"title": "From the host", "body": "Made by a manifest", "attributes": {"list": list_id(0)}})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let new_id = created["data"]["id"].as_str().unwrap().to_owned();
    let (status, updated) = session
        .send(
            Method::PATCH,
            &format!("{base}/items/{new_id}"),
            Some(json!({"body": "Changed"})),
        )
        .await;
    assert_eq!(
        (status, updated["data"]["body"].as_str()),
        (200, Some("Changed")),
        "{updated}"
    );
    assert_eq!(updated["data"]["title"], "From the host");
    let (status, comment) = session
        .send(
            Method::POST,
            &format!("{base}/items/{new_id}/comments"),
            Some(json!({"body": "Ship it"})),
        )
        .await;
    assert_eq!(
        (status, comment["data"]["body"].as_str()),
        (201, Some("Ship it")),
        "{comment}"
    );
    let (status, archived) = session
        .send(
            Method::POST,
            &format!("{base}/actions/archive_card"),
            Some(json!({"card": new_id})),
        )
        .await;
    assert_eq!(status, 200, "{archived}");
    assert_eq!(
        archived["data"]["output"],
        json!({"id": new_id, "closed": true})
    );
    assert_eq!(fake.card(&new_id).unwrap()["closed"], true);

    // Without a list there is no card to make: refused before Trello is asked.
    let (status, refused) = session
        .send(
            Method::POST,
            &format!("{base}/containers/{product}/items"),
            Some(json!({"title": "No list"})),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("`idList` needs a value"), "{message}");

    fake.throttle_next(1);
    session
        .assert_rate_limited(&format!("{base}/containers"), "1")
        .await;

    // The host put the key and the token in the query of every request, and only there.
    let requests = fake.recorder.requests();
    assert!(requests.iter().all(|r| r.header("authorization").is_none()));
    assert!(
        requests
            .iter()
            .filter(|r| r.query.as_deref().is_some_and(|q| q.contains(TRELLO_TOKEN)))
            .count()
            >= 12
    );
    let covered = assert_conforms(&ApiSpec::trello(), &requests, "");
    assert!(
        covered >= 12,
        "{covered} requests checked against Trello's description"
    );
}
