//! Contract 0.3.0 end to end: the SDK's front-page example (`tracker`) against its loopback
//! vendor, actions with schema-checked input, a two-header credential, operations answered
//! `UNSUPPORTED` without a sandbox, canonical `updated_since` and deletion tombstones.

use connector_tests::fakes::{ProbeVendor, TRACKER_TOKEN, TrackerFake};
use connector_tests::harness::{ADMIN_TOKEN, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

/// Connects `connector` (the Rust `tracker`, or the same tracker as a manifest) to `vendor`.
pub(crate) async fn connect_tracker(
    server: &TestServer,
    key: &str,
    vendor: &TrackerFake,
    connector: &str,
) -> String {
    let created = server
        .bearer_connection(key, connector, &vendor.origin(), TRACKER_TOKEN)
        .await;
    assert_eq!(created["principal"]["id"], "acct-7");
    created["id"].as_str().unwrap().to_owned()
}

async fn tracker_connection(server: &TestServer, key: &str, vendor: &TrackerFake) -> String {
    connect_tracker(server, key, vendor, "tracker").await
}

/// Calls made on a plugin's current version, from the operator API.
pub(crate) async fn plugin_calls(server: &TestServer, id: &str) -> u64 {
    let (status, entry) = server
        .send(
            Method::GET,
            &format!("/admin/v1/plugins/{id}"),
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200, "{entry}");
    entry["data"]["current"]["calls"].as_u64().unwrap()
}

#[tokio::test]
async fn the_front_page_example_works_end_to_end() {
    front_page_scenario("tracker").await;
}

/// Every operation of the tracker, through the REST API, against its loopback vendor.
pub(crate) async fn front_page_scenario(connector: &str) {
    let vendor = TrackerFake::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let id = connect_tracker(&server, &key, &vendor, connector).await;
    let base = format!("/api/v1/connections/{id}");

    let (projects, pages) = server
        .all_pages(&key, &format!("{base}/containers?limit=2"))
        .await;
    assert_eq!(
        (projects, pages),
        (vec!["CORE".to_owned(), "WEB".into(), "OPS".into()], 2)
    );
    let (issues, pages) = server
        .all_pages(&key, &format!("{base}/containers/CORE/items?limit=2"))
        .await;
    assert_eq!(
        (issues, pages),
        (
            vec![
                "1".to_owned(),
                "2".into(),
                "3".into(),
                "4".into(),
                "5".into()
            ],
            3
        )
    );

    // `updated_since` with an offset reaches the vendor as canonical UTC.
    let (status, recent) = server
        .send(
            Method::GET,
            &format!("{base}/containers/CORE/items?updated_since=2026-11-04T11:00:00%2B02:00"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{recent}");
    let ids: Vec<&str> = recent["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["4", "5"]);
    assert_eq!(
        recent["data"]["deleted"],
        json!([]),
        "tracker reports no deletions"
    );
    let sent = vendor.recorder.to_path("/projects/CORE/issues");
    assert!(
        sent.iter().any(|r| r
            .query
            .as_deref()
            .is_some_and(|q| q.contains("since=2026-11-04T09%3A00%3A00Z"))),
        "{sent:?}"
    );

    let (status, item) = server
        .send(Method::GET, &format!("{base}/items/3"), Some(&key), None)
        .await;
    assert_eq!(
        (status, item["data"]["title"].as_str()),
        (200, Some("Core issue 3"))
    );
    assert_eq!(item["data"]["attributes"]["state"], "open");
    let (comments, pages) = server
        .all_pages(&key, &format!("{base}/items/3/comments?limit=2"))
        .await;
    assert_eq!((comments.len(), pages), (3, 2));
    let (status, found) = server
        .send(
            Method::GET,
            &format!("{base}/search?q=web"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        (status, found["data"]["entries"][0]["id"].as_str()),
        (200, Some("6"))
    );
    let (status, created) = server
        .send(
            Method::POST,
            &format!("{base}/containers/WEB/items"),
            Some(&key),
            Some(json!({"title": "From the host", "body": "made through SDK 0.3"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["container_id"], "WEB");

    // The action: listed with its schema, run with valid input.
    let (status, actions) = server
        .send(Method::GET, &format!("{base}/actions"), Some(&key), None)
        .await;
    assert_eq!(status, 200, "{actions}");
    assert_eq!(actions["data"][0]["name"], "close_issue");
    assert_eq!(actions["data"][0]["annotations"]["idempotent"], true);
    let (status, closed) = server
        .send(
            Method::POST,
            &format!("{base}/actions/close_issue"),
            Some(&key),
            Some(json!({"issue": "2"})),
        )
        .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(
        closed["data"]["output"],
        json!({"id": "2", "state": "closed"})
    );
    assert!(
        vendor
            .recorder
            .requests()
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer tracker-token"))
    );
}

#[tokio::test]
async fn action_input_is_checked_before_the_plugin_runs() {
    action_input_scenario("tracker").await;
}

/// Action input refused before a sandbox runs, and an unknown action or tenant refused.
pub(crate) async fn action_input_scenario(connector: &str) {
    let vendor = TrackerFake::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let id = connect_tracker(&server, &key, &vendor, connector).await;
    let calls = plugin_calls(&server, connector).await;

    for (input, path) in [
        (json!({"issue": 2}), "/issue"),
        (json!({}), ""),
        (json!(["2"]), ""),
    ] {
        let (status, refused) = server
            .send(
                Method::POST,
                &format!("/api/v1/connections/{id}/actions/close_issue"),
                Some(&key),
                Some(input.clone()),
            )
            .await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (422, Some("VALIDATION")),
            "{input}: {refused}"
        );
        assert_eq!(
            refused["error"]["details"]["errors"][0]["path"], path,
            "{refused}"
        );
    }
    let (status, unknown) = server
        .send(
            Method::POST,
            &format!("/api/v1/connections/{id}/actions/delete_everything"),
            Some(&key),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, unknown["error"]["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{unknown}"
    );
    assert_eq!(
        plugin_calls(&server, connector).await,
        calls,
        "no sandbox for refused input"
    );
    assert!(
        vendor
            .recorder
            .requests()
            .iter()
            .all(|r| r.method != "PATCH"),
        "the vendor saw nothing"
    );

    // Another tenant cannot run the action on this connection, or see that it exists.
    let other = server.tenant("other").await;
    let (status, _) = server
        .send(
            Method::POST,
            &format!("/api/v1/connections/{id}/actions/close_issue"),
            Some(&other),
            Some(json!({"issue": "2"})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn operations_a_connector_lacks_answer_unsupported_without_a_sandbox() {
    let vendor = TrackerFake::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let id = tracker_connection(&server, &key, &vendor).await;
    let (_, connector) = server
        .send(Method::GET, "/api/v1/connectors/tracker", Some(&key), None)
        .await;
    let operations = &connector["data"]["operations"];
    assert_eq!(
        operations,
        &json!([
            "containers",
            "items",
            "item",
            "comments",
            "search",
            "create_item"
        ]),
        "generated from the impl block: {connector}"
    );
    let calls = plugin_calls(&server, "tracker").await;
    let (status, patched) = server
        .send(
            Method::PATCH,
            &format!("/api/v1/connections/{id}/items/1"),
            Some(&key),
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(
        (status, patched["error"]["code"].as_str()),
        (501, Some("UNSUPPORTED")),
        "{patched}"
    );
    let (status, _) = server
        .send(
            Method::POST,
            &format!("/api/v1/connections/{id}/items/1/comments"),
            Some(&key),
            Some(json!({"body": "x"})),
        )
        .await;
    assert_eq!(status, 501);
    assert_eq!(
        plugin_calls(&server, "tracker").await,
        calls,
        "no plugin call was made"
    );
    let (status, listed) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{id}/containers"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        plugin_calls(&server, "tracker").await,
        calls + 1,
        "the counter counts real calls"
    );
}

#[tokio::test]
async fn a_two_part_credential_goes_on_both_headers_and_never_to_the_plugin() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let body = |parts: Value| {
        json!({
            "connector": "probe",
            "auth_method": "key_pair",
            "config": {"base_url": vendor.origin()},
            "credentials": {"type": "parts", "parts": parts},
        })
    };
    let (status, refused) = server
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(&key),
            Some(body(json!({"api_key": "only-one"}))),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api_key, application_key"),
        "{refused}"
    );

    let (status, created) = server
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(&key),
            Some(body(
                json!({"api_key": "dd-api-secret", "application_key": "dd-app-secret"}),
            )),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["credential_type"], "parts");
    assert!(!created.to_string().contains("secret"), "{created}");
    let id = created["data"]["id"].as_str().unwrap();

    let (status, observed) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{id}/search?q=observe"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{observed}");
    let report = observed["data"]["entries"][0]["body"].as_str().unwrap();
    assert!(
        !report.contains("dd-api-secret") && !report.contains("dd-app-secret"),
        "the plugin saw a secret: {report}"
    );
    let report: Value = serde_json::from_str(report).unwrap();
    assert_eq!(report["auth_method"], "key_pair");
    let seen = vendor.recorder.to_path("/observe");
    let last = seen.last().unwrap();
    assert_eq!(last.header("x-probe-api-key"), Some("dd-api-secret"));
    assert_eq!(last.header("x-probe-app-key"), Some("dd-app-secret"));

    // A plugin cannot set the credential's headers itself.
    let (status, _) = server
        .send(
            Method::GET,
            &format!(
                "/api/v1/connections/{id}/search?q=forge-auth:{}/observe",
                vendor.origin()
            ),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let forged = vendor.recorder.to_path("/observe");
    assert!(
        forged.last().unwrap().header("x-probe-api-key").is_none(),
        "a guest-set credential header is dropped"
    );
}

#[tokio::test]
async fn item_pages_carry_tombstones_and_actions_list_per_connection() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let id = server.probe_connection(&key, &vendor.origin(), "tok").await;
    let (status, page) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{id}/containers/c2/items?updated_since=2026-11-01T10:30:00%2B02:00"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let deleted: Vec<&str> = page["data"]["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        deleted,
        ["c2-gone", "since=2026-11-01T08:30:00Z"],
        "tombstones, and the canonical time sent"
    );
    assert_eq!(page["data"]["deleted"][0]["container_id"], "c2");
    let (status, plain) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{id}/containers"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        plain["data"].get("deleted").is_none(),
        "only item listings carry tombstones"
    );
    let (status, refused) = server
        .send(
            Method::GET,
            &format!(
                "/api/v1/connections/{id}/containers/c2/items?updated_since=2026-11-01T10:30:00"
            ),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        (status, refused["error"]["details"]["field"].as_str()),
        (422, Some("updated_since"))
    );

    let (status, echoed) = server
        .send(
            Method::POST,
            &format!("/api/v1/connections/{id}/actions/echo"),
            Some(&key),
            Some(json!({"text": "hi", "times": 2})),
        )
        .await;
    assert_eq!(status, 200, "{echoed}");
    assert_eq!(
        echoed["data"]["output"],
        json!({"echo": "hihi", "auth_method": "token"})
    );
    let (status, refused) = server
        .send(
            Method::POST,
            &format!("/api/v1/connections/{id}/actions/echo"),
            Some(&key),
            Some(json!({"text": "hi", "times": 9})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        refused["error"]["details"]["errors"][0]["path"], "/times",
        "{refused}"
    );
}

/// The book (connectors/writing.md) shows the tracker fixture (which the SDK's front page includes as it is): what a
/// reader copies is the code these tests run.
#[test]
fn the_books_example_is_the_tested_fixture() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixture =
        std::fs::read_to_string(root.join("plugins/fixtures/tracker/src/lib.rs")).unwrap();
    let page = std::fs::read_to_string(root.join("docs/src/connectors/writing.md")).unwrap();
    assert!(
        page.contains(&format!("```rust\n{fixture}```")),
        "the example in docs/src/connectors/writing.md differs from plugins/fixtures/tracker/src/lib.rs"
    );
    let sdk = std::fs::read_to_string(root.join("sdk/src/lib.rs")).unwrap();
    assert!(sdk.contains(r#"include_str!("../../plugins/fixtures/tracker/src/lib.rs")"#));
    let lines = fixture.lines().count();
    assert!(lines <= 120, "the complete example is {lines} lines");
}
