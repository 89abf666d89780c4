//! The Zendesk Support connector, a declarative manifest (`plugins/manifests/zendesk.yaml`),
//! through the host's REST API against a behavioural Zendesk fake, with every request checked
//! against Zendesk's own API description.

use connector_tests::contract::{ApiSpec, assert_conforms};
use connector_tests::fakes::ZendeskFake;
use connector_tests::fakes::zendesk::{AGENT_EMAIL, GROUPS, USER_ID, ZENDESK_TOKEN, ticket_id};
use connector_tests::harness::{TenantSession, connection_path, entries, error_code};
use reqwest::Method;
use serde_json::{Value, json};

async fn connect(session: &TenantSession, fake: &ZendeskFake, password: &str) -> (u16, Value) {
    let body = json!({
        "connector": "zendesk",
        "config": {"site_url": fake.origin()},
        "credentials": {"type": "basic", "username": format!("{AGENT_EMAIL}/token"), "password": password},
    });
    session
        .send(Method::POST, "/api/v1/connections", Some(body))
        .await
}

#[tokio::test]
async fn zendesk_groups_tickets_and_comments_through_the_manifest() {
    let fake = ZendeskFake::start().await;
    let session = TenantSession::start().await;
    let refused = connect(&session, &fake, "wrong").await;
    assert_eq!(
        error_code(&refused),
        (422, Some("VALIDATION")),
        "{}",
        refused.1
    );
    let (status, created) = connect(&session, &fake, ZENDESK_TOKEN).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["principal"]["id"], USER_ID.to_string());
    let base = connection_path(&created);

    let groups = session.get(&format!("{base}/containers")).await;
    assert_eq!(entries(&groups).len(), 3);
    let support = GROUPS[0].0;
    // A group's tickets, newest change first, following Zendesk's next_page URLs.
    let (tickets, pages) = session
        .ids(&format!("{base}/containers/{support}/items?limit=2"))
        .await;
    let newest_first: Vec<String> = (1..=5).rev().map(|n| ticket_id(0, n).to_string()).collect();
    assert_eq!((tickets, pages), (newest_first, 3));
    let recent = session
        .get(&format!(
            "{base}/containers/{support}/items?updated_since=2026-11-02T15:00:00Z"
        ))
        .await;
    assert_eq!(entries(&recent).len(), 3, "{recent}");
    let ticket = &entries(&recent)[0];
    assert_eq!(ticket["container_id"], support.to_string());
    assert_eq!(ticket["attributes"]["tags"], "vip, web");

    let first = ticket_id(0, 1);
    let item = session.get(&format!("{base}/items/{first}")).await;
    assert_eq!(item["data"]["title"], "Support ticket 1");
    let (comments, pages) = session
        .ids(&format!("{base}/items/{first}/comments?limit=2"))
        .await;
    assert_eq!((comments.len(), pages), (3, 2), "cursor pages");
    let found = session.get(&format!("{base}/search?q=billing")).await;
    assert_eq!(entries(&found).len(), 1, "{found}");

    // Writes: a ticket in the group (its id sent as a number), a new subject, a comment, solve.
    let (status, created) = session
        .send(
            Method::POST,
            &format!("{base}/containers/{support}/items"),
            Some(json!({"title": "Printer on fire", "body": "It is on fire."})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["container_id"], support.to_string());
    let new_id = created["data"]["id"].as_str().unwrap().to_owned();
    let (status, renamed) = session
        .send(
            Method::PATCH,
            &format!("{base}/items/{new_id}"),
            Some(json!({"title": "Printer still on fire"})),
        )
        .await;
    assert_eq!(
        (status, renamed["data"]["title"].as_str()),
        (200, Some("Printer still on fire")),
        "{renamed}"
    );
    let (status, comment) = session
        .send(
            Method::POST,
            &format!("{base}/items/{new_id}/comments"),
            Some(json!({"body": "Extinguisher sent"})),
        )
        .await;
    assert_eq!(
        (status, comment["data"]["body"].as_str()),
        (201, Some("Extinguisher sent")),
        "{comment}"
    );
    let (status, solved) = session
        .send(
            Method::POST,
            &format!("{base}/actions/solve_ticket"),
            Some(json!({"ticket": new_id})),
        )
        .await;
    assert_eq!(status, 200, "{solved}");
    assert_eq!(
        solved["data"]["output"],
        json!({"id": new_id, "status": "solved"})
    );
    assert_eq!(
        fake.ticket(new_id.parse().unwrap()).unwrap()["status"],
        "solved"
    );

    let missing = session
        .send(Method::GET, &format!("{base}/items/404"), None)
        .await;
    assert_eq!(
        error_code(&missing),
        (404, Some("NOT_FOUND")),
        "{}",
        missing.1
    );
    fake.throttle_next(1);
    session
        .assert_rate_limited(&format!("{base}/containers"), "9")
        .await;

    let requests = fake.recorder.requests();
    let covered = assert_conforms(&ApiSpec::zendesk(), &requests, "");
    assert!(
        covered >= 12,
        "{covered} requests checked against Zendesk's description"
    );
}
