//! The PagerDuty connector, a declarative manifest (`plugins/manifests/pagerduty.yaml`),
//! through the host's REST API against a behavioural PagerDuty fake, with every request
//! checked against PagerDuty's own API description.

use connector_tests::contract::{ApiSpec, assert_conforms};
use connector_tests::fakes::PagerDutyFake;
use connector_tests::fakes::pagerduty::{FROM, PAGERDUTY_TOKEN, SERVICES, USER_ID, incident_id};
use connector_tests::harness::{TenantSession, connection_path, entries, error_code};
use reqwest::Method;
use serde_json::json;

async fn connect(session: &TenantSession, fake: &PagerDutyFake, from: Option<&str>) -> String {
    let mut config = json!({"api_url": fake.origin()});
    if let Some(from) = from {
        config["from_email"] = json!(from);
    }
    let body = json!({
        "connector": "pagerduty",
        "config": config,
        "credentials": {"type": "bearer", "token": PAGERDUTY_TOKEN},
    });
    let (status, created) = session
        .send(Method::POST, "/api/v1/connections", Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["principal"]["id"], USER_ID);
    connection_path(&created)
}

#[tokio::test]
async fn pagerduty_services_incidents_and_notes_through_the_manifest() {
    let fake = PagerDutyFake::start().await;
    let session = TenantSession::start().await;
    let base = connect(&session, &fake, Some(FROM)).await;

    let (services, pages) = session.ids(&format!("{base}/containers?limit=2")).await;
    let expected: Vec<String> = SERVICES.iter().map(|(id, ..)| id.to_string()).collect();
    assert_eq!(
        (services, pages),
        (expected, 2),
        "offset paging with `more`"
    );

    // Every incident of the service (date_range=all), paged; then those changed since a time.
    let checkout = SERVICES[0].0;
    let (incidents, pages) = session
        .ids(&format!("{base}/containers/{checkout}/items?limit=2"))
        .await;
    assert_eq!((incidents.len(), pages), (5, 3));
    let recent = session
        .get(&format!(
            "{base}/containers/{checkout}/items?updated_since=2026-11-02T15:00:00Z"
        ))
        .await;
    assert_eq!(entries(&recent).len(), 3, "{recent}");
    let first = incident_id(0, 1);
    let item = session.get(&format!("{base}/items/{first}")).await;
    assert_eq!(item["data"]["attributes"]["status"], "triggered");
    assert_eq!(item["data"]["container_id"], checkout);
    let notes = session.get(&format!("{base}/items/{first}/comments")).await;
    assert_eq!(entries(&notes).len(), 2);
    assert_eq!(entries(&notes)[0]["author"]["display_name"], "Ada Lovelace");

    // Writes, each made as the configured user (From).
    let (status, created) = session
        .send(
            Method::POST,
            &format!("{base}/containers/{checkout}/items"),
            Some(json!({"title": "Checkout is slow", "body": "p99 above 2 s"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let new_id = created["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["data"]["body"], "Checkout is slow",
        "the description is the title"
    );
    let (status, renamed) = session
        .send(
            Method::PATCH,
            &format!("{base}/items/{new_id}"),
            Some(json!({"title": "Checkout is very slow"})),
        )
        .await;
    assert_eq!(
        (status, renamed["data"]["title"].as_str()),
        (200, Some("Checkout is very slow")),
        "{renamed}"
    );
    let (status, note) = session
        .send(
            Method::POST,
            &format!("{base}/items/{new_id}/comments"),
            Some(json!({"body": "Rolling back"})),
        )
        .await;
    assert_eq!(
        (status, note["data"]["body"].as_str()),
        (201, Some("Rolling back")),
        "{note}"
    );
    for (action, status_after) in [
        ("acknowledge_incident", "acknowledged"),
        ("resolve_incident", "resolved"),
    ] {
        let (status, done) = session
            .send(
                Method::POST,
                &format!("{base}/actions/{action}"),
                Some(json!({"incident": new_id})),
            )
            .await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(
            done["data"]["output"],
            json!({"id": new_id, "status": status_after})
        );
    }
    assert_eq!(fake.incident(&new_id).unwrap()["status"], "resolved");

    // PagerDuty's errors: an unknown incident, and its rate limit with its own wait header.
    let missing = session
        .send(Method::GET, &format!("{base}/items/QNOPE"), None)
        .await;
    assert_eq!(
        error_code(&missing),
        (404, Some("NOT_FOUND")),
        "{}",
        missing.1
    );
    fake.throttle_next(1);
    session
        .assert_rate_limited(&format!("{base}/containers"), "5")
        .await;

    let requests = fake.recorder.requests();
    let other_types: Vec<_> = requests
        .iter()
        .filter(|r| r.header("accept") != Some("application/vnd.pagerduty+json;version=2"))
        .map(|r| {
            (
                r.method.clone(),
                r.path.clone(),
                r.header("accept").map(str::to_owned),
            )
        })
        .collect();
    assert!(other_types.is_empty(), "{other_types:?}");
    assert!(
        requests
            .iter()
            .filter(|r| r.method != "GET")
            .all(|r| r.header("from") == Some(FROM))
    );
    let covered = assert_conforms(&ApiSpec::pagerduty(), &requests, "");
    assert!(
        covered >= 15,
        "{covered} requests checked against PagerDuty's description"
    );
}

#[tokio::test]
async fn pagerduty_writes_without_a_from_user_are_refused_before_pagerduty_is_asked() {
    let fake = PagerDutyFake::start().await;
    let session = TenantSession::start().await;
    let base = connect(&session, &fake, None).await;
    let checkout = SERVICES[0].0;
    let refused = session
        .send(
            Method::POST,
            &format!("{base}/containers/{checkout}/items"),
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(
        error_code(&refused),
        (422, Some("VALIDATION")),
        "{}",
        refused.1
    );
    assert!(
        refused.1["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("`from` needs a value")
    );
    assert!(
        fake.recorder.requests().iter().all(|r| r.method == "GET"),
        "nothing was written"
    );
}
