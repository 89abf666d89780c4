//! Declarative connectors end to end: the tracker fixture as a manifest
//! (`plugins/fixtures/manifests/tracker-manifest.yaml`), loaded from the watched dir and run by the
//! bundled interpreter, passes the same contract 0.3 scenarios as the Rust tracker; broken and
//! hostile manifests are refused at upload with a JSON pointer to the fault while the running
//! version serves; a manifest hot-swaps and rolls back like a component.

use connector_tests::fakes::TrackerFake;
use connector_tests::harness::{ADMIN_TOKEN, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

use crate::contract_v0_3::{action_input_scenario, connect_tracker, front_page_scenario};

const TRACKER: &str = include_str!("../../../plugins/fixtures/manifests/tracker-manifest.yaml");
const ID: &str = "tracker-manifest";

/// Sends a manifest to `PUT /admin/v1/plugins/{id}`.
pub(crate) async fn upload(
    server: &TestServer,
    id: &str,
    manifest: impl Into<Vec<u8>>,
) -> (u16, Value) {
    let response = server
        .client
        .put(format!("{}/admin/v1/plugins/{id}", server.base))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/yaml")
        .body(manifest.into())
        .send()
        .await
        .expect("upload sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON envelope"))
}

fn with(from: &str, to: &str) -> String {
    assert!(TRACKER.contains(from), "the fixture has `{from}`");
    TRACKER.replacen(from, to, 1)
}

#[tokio::test]
async fn the_tracker_manifest_passes_the_front_page_scenario() {
    front_page_scenario(ID).await;
}

#[tokio::test]
async fn the_tracker_manifest_checks_action_input_before_its_sandbox() {
    action_input_scenario(ID).await;
}

#[tokio::test]
async fn a_manifest_offers_what_it_declares_and_the_interpreter_is_no_connector() {
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let (status, connector) = server
        .send(
            Method::GET,
            &format!("/api/v1/connectors/{ID}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{connector}");
    assert_eq!(
        connector["data"]["operations"],
        json!([
            "containers",
            "items",
            "item",
            "comments",
            "search",
            "create_item"
        ]),
        "{connector}"
    );
    assert_eq!(connector["data"]["auth_methods"][0]["id"], "token");

    // The interpreter is loaded (the operator sees it), but no tenant can connect to it.
    let (status, plugin) = server
        .send(
            Method::GET,
            "/admin/v1/plugins/declarative",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200, "{plugin}");
    let (_, listed) = server
        .send(Method::GET, "/api/v1/connectors", Some(&key), None)
        .await;
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        ids.contains(&ID) && !ids.contains(&"declarative"),
        "{ids:?}"
    );
    let (status, _) = server
        .send(
            Method::GET,
            "/api/v1/connectors/declarative",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, refused) = server
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(&key),
            Some(json!({"connector": "declarative", "config": {}, "credentials": {"type": "bearer", "token": "t"}})),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("VALIDATION")),
        "{refused}"
    );

    // An operation the manifest does not declare is answered without a sandbox.
    let vendor = TrackerFake::start().await;
    let id = connect_tracker(&server, &key, &vendor, ID).await;
    let (status, unsupported) = server
        .send(
            Method::PATCH,
            &format!("/api/v1/connections/{id}/items/1"),
            Some(&key),
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(
        (status, unsupported["error"]["code"].as_str()),
        (501, Some("UNSUPPORTED")),
        "{unsupported}"
    );
}

#[tokio::test]
async fn broken_and_hostile_manifests_are_refused_at_upload_with_a_pointer() {
    let vendor = TrackerFake::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let connection = connect_tracker(&server, &key, &vendor, ID).await;

    let mut laughs =
        String::from("spec: connector-manifest/1\na: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    for (name, previous) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        let refs = vec![format!("*{previous}"); 9].join(",");
        laughs.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "a `..` segment in a path",
            with(
                "path: \"/issues/{$item_id}\"",
                "path: \"/issues/../admin/{$item_id}\"",
            ),
            "/item/request/path",
            "`..`",
        ),
        (
            "a path that names another host",
            with(
                "path: \"/issues/{$item_id}\"",
                "path: \"//evil.example/{$item_id}\"",
            ),
            "/item/request/path",
            "empty segment",
        ),
        (
            "the credential in a URL",
            with("{$query}", "{$credentials.token}"),
            "/search/request/query/q",
            "not a variable",
        ),
        (
            "a credential header of its own",
            with(
                "accept: application/json",
                "authorization: Bearer {$config.base_url}",
            ),
            "/containers/request/headers/authorization",
            "credentials",
        ),
        (
            "an insecure base",
            with("origin_config: base_url", "url: http://tracker.example"),
            "/base/url",
            "https://",
        ),
        ("a billion laughs", laughs, "", "not YAML"),
        (
            "ten megabytes",
            format!("{TRACKER}\n# {}\n", "x".repeat(10 << 20)),
            "",
            "most accepted",
        ),
    ];
    for (what, manifest, pointer, says) in cases {
        let (status, refused) = upload(&server, ID, manifest).await;
        assert_eq!(status, 422, "{what}: {refused}");
        let details = &refused["error"]["details"];
        assert_eq!(details["stage"], "manifest", "{what}: {refused}");
        assert_eq!(details["pointer"], pointer, "{what}: {refused}");
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{what}: {message}");
    }
    // A manifest uploaded under another id than its own.
    let (status, refused) = upload(&server, "someone-else", TRACKER).await;
    assert_eq!(
        (status, refused["error"]["details"]["stage"].as_str()),
        (422, Some("id")),
        "{refused}"
    );

    // The running version served throughout, and every refusal is audited.
    let (status, items) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{connection}/containers/CORE/items"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{items}");
    let audit = server.host_audit(ADMIN_TOKEN).await;
    let refusals = audit
        .iter()
        .filter(|event| event["action"] == "plugin.load_failed" && event["target"] == ID)
        .count();
    assert_eq!(refusals, 7, "{audit:?}");
}

#[tokio::test]
async fn a_manifest_hot_swaps_and_rolls_back_like_a_component() {
    let vendor = TrackerFake::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let connection = connect_tracker(&server, &key, &vendor, ID).await;

    let v2 = with("version: 0.1.0", "version: 0.2.0").replacen("kind: issue", "kind: ticket", 1);
    let (status, loaded) = upload(&server, ID, v2).await;
    assert_eq!(status, 200, "{loaded}");
    assert_eq!(loaded["data"]["current"]["version"], "0.2.0", "{loaded}");
    let kind = |item: &Value| item["data"]["kind"].as_str().map(str::to_owned);
    let item_path = format!("/api/v1/connections/{connection}/items/3");
    let (_, item) = server.send(Method::GET, &item_path, Some(&key), None).await;
    assert_eq!(kind(&item).as_deref(), Some("ticket"), "{item}");

    let (status, rolled) = server
        .send(
            Method::POST,
            &format!("/admin/v1/plugins/{ID}/rollback"),
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rolled}");
    assert_eq!(rolled["data"]["current"]["version"], "0.1.0", "{rolled}");
    let (_, item) = server.send(Method::GET, &item_path, Some(&key), None).await;
    assert_eq!(kind(&item).as_deref(), Some("issue"), "{item}");

    // A version that moves where requests go is held back, as for a component.
    let moved = with("auth:", "requested_hosts: [elsewhere.example]\nauth:");
    let (status, held) = upload(&server, ID, moved).await;
    assert_eq!(
        (status, held["error"]["details"]["stage"].as_str()),
        (409, Some("manifest_change")),
        "{held}"
    );
}

/// The first 50 entries of a connection's changes feed.
pub(crate) async fn changes(server: &TestServer, key: &str, connection: &str) -> Vec<Value> {
    let (status, mut feed) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{connection}/changes?limit=50"),
            Some(key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{feed}");
    match feed["data"]["entries"].take() {
        Value::Array(entries) => entries,
        other => panic!("no entries: {other}"),
    }
}

/// Creates a sync of `container` and waits for its first run to end (not a yielded turn).
async fn first_run(server: &TestServer, key: &str, connection: &str, container: &str) -> Value {
    let syncs = format!("/api/v1/connections/{connection}/syncs");
    let (status, created) = server
        .send(
            Method::POST,
            &syncs,
            Some(key),
            Some(json!({"container": container})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let sync = created["data"]["id"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, body) = server
            .send(Method::GET, &format!("{syncs}/{sync}"), Some(key), None)
            .await;
        let run = body["data"]["last_run"].clone();
        if run["status"]
            .as_str()
            .is_some_and(|s| s != "running" && s != "yielded")
        {
            return run;
        }
        assert!(std::time::Instant::now() < deadline, "no run ended: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_manifest_connection_syncs_into_the_changes_feed_like_any_other() {
    let vendor = TrackerFake::start().await;
    let server = TestServer::start_with(crate::syncs::sync_config).await;
    let key = server.tenant("acme").await;
    let connection = connect_tracker(&server, &key, &vendor, ID).await;
    let run = first_run(&server, &key, &connection, "CORE").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["created"], 5, "{run}");
    let feed = changes(&server, &key, &connection).await;
    let items: Vec<&str> = feed.iter().filter_map(|e| e["item_id"].as_str()).collect();
    assert_eq!(items.len(), 5, "{feed:?}");
}

/// A Jira-shaped manifest: one issue, its ADF description read with `markdown("adf")`.
const JIRA_LITE: &str = r#"
spec: connector-manifest/1
id: jira-lite
name: Jira (manifest)
version: 0.1.0
base: {origin_config: site_url, example: "https://acme.atlassian.net"}
auth:
  - {id: api_token, label: E-mail and API token, type: basic}
connect:
  request: {path: /rest/api/3/myself}
  principal: {id: "{accountId}", display_name: "{displayName}"}
mappings:
  item:
    id: "{key}"
    container_id: "{fields.project.key}"
    kind: issue
    title: "{fields.summary}"
    body: "{fields.description | markdown(\"adf\")}"
    body_format: markdown
item:
  request: {path: "/rest/api/3/issue/{$item_id}"}
"#;

#[tokio::test]
async fn rich_text_reads_as_the_rust_connector_writes_it() {
    use crate::atlassian_setup::Atlassian;
    use connector_tests::fakes::JiraFake;

    let jira = Atlassian::start_adjusted("jira", JiraFake::start, |config| {
        config
            .connector_hosts
            .insert("jira-lite".into(), vec!["127.0.0.1".into()]);
    })
    .await;
    let (status, loaded) = upload(&jira.server, "jira-lite", JIRA_LITE).await;
    assert_eq!(status, 201, "{loaded}");
    let rust = jira.connect_with_token("jira").await;
    let manifest = jira.connect_with_token("jira-lite").await;
    let (_, by_rust) = jira
        .get(&format!("/api/v1/connections/{rust}/items/ALPHA-1"))
        .await;
    let (status, by_manifest) = jira
        .get(&format!("/api/v1/connections/{manifest}/items/ALPHA-1"))
        .await;
    assert_eq!(status, 200, "{by_manifest}");
    assert_eq!(by_manifest["data"]["body"], "Steps for **ALPHA-1**");
    assert_eq!(by_manifest["data"]["body"], by_rust["data"]["body"]);
    assert_eq!(
        by_manifest["data"]["body_format"],
        by_rust["data"]["body_format"]
    );
}

/// A manifest whose vendor misbehaves: its listing names the same next page forever, its item
/// is JSON nested far past any real answer, and its containers are larger than a call may read.
const HOSTILE_VENDOR: &str = r#"
spec: connector-manifest/1
id: hostile-vendor
name: Hostile vendor
version: 0.1.0
base: {origin_config: base_url, example: "https://vendor.example"}
auth:
  - {id: token, label: API token, type: bearer}
mappings:
  container: {id: "{id}", kind: box, name: "{id}"}
  item: {id: "{id}", container_id: box, kind: thing, title: "{id}"}
connect:
  request: {path: /me}
  principal: {id: "{id}"}
containers:
  request: {path: /huge}
items:
  request: {path: /endless}
  records: /records
  paginate: {type: cursor, cursor_param: page, next: {pointer: /next}}
item:
  request: {path: "/deep/{$item_id}"}
"#;

#[tokio::test]
async fn a_hostile_vendor_is_contained_at_call_time_and_an_endless_listing_ends() {
    use axum::routing::get;
    use connector_tests::fakes::FakeServer;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let endless_calls = Arc::new(AtomicUsize::new(0));
    let counted = endless_calls.clone();
    let deep = format!("{{\"id\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let router = axum::Router::new()
        .route("/me", get(|| async { axum::Json(json!({"id": "u1"})) }))
        .route(
            "/endless",
            get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { axum::Json(json!({"records": [{"id": "1"}], "next": "again"})) }
            }),
        )
        .route("/deep/{id}", get(move || async move { deep }))
        .route(
            "/huge",
            get(|| async {
                let filler = "x".repeat(48 << 20);
                format!("[{{\"id\":\"{filler}\"}}]")
            }),
        );
    let vendor = FakeServer::start(router).await;
    let server = TestServer::start_with(|config| {
        crate::syncs::sync_config(config);
        config
            .connector_hosts
            .insert("hostile-vendor".into(), vec!["127.0.0.1".into()]);
    })
    .await;
    let (status, loaded) = upload(&server, "hostile-vendor", HOSTILE_VENDOR).await;
    assert_eq!(status, 201, "{loaded}");
    let key = server.tenant("acme").await;
    let created = server
        .bearer_connection(&key, "hostile-vendor", &vendor.origin(), "t")
        .await;
    let connection = created["id"].as_str().unwrap().to_owned();
    let path = |rest: &str| format!("/api/v1/connections/{connection}/{rest}");

    // One page is one request, whatever the vendor says about the next one.
    let (status, page) = server
        .send(Method::GET, &path("containers/box/items"), Some(&key), None)
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page["data"]["next_cursor"].is_string(), "{page}");
    assert_eq!(endless_calls.load(Ordering::SeqCst), 1);

    // JSON nested past the parser's depth and a body past the response cap: clear errors.
    let (status, deep) = server
        .send(Method::GET, &path("items/1"), Some(&key), None)
        .await;
    assert_eq!(status, 502, "{deep}");
    let message = deep["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("unexpected response"), "{deep}");
    let (status, huge) = server
        .send(Method::GET, &path("containers"), Some(&key), None)
        .await;
    assert_eq!(status, 502, "{huge}");

    // A sync over the listing stops when the same next page comes back, instead of paging
    // forever a turn at a time.
    let run = first_run(&server, &key, &connection, "box").await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error_code"], "PLUGIN_FAULT", "{run}");
    let error = run["error"].as_str().unwrap_or_default();
    assert!(error.contains("same next page"), "{run}");
    assert!(endless_calls.load(Ordering::SeqCst) <= 4, "{run}");

    // The host is unaffected: the connection's healthy call still answers.
    let (status, page) = server
        .send(Method::GET, &path("containers/box/items"), Some(&key), None)
        .await;
    assert_eq!(status, 200, "{page}");
}

/// `plugins/fixtures/manifests/jira-manifest.yaml` (the bench's declarative Jira) answers the
/// Rust Jira connector's pages of realistic issues and projects, entry for entry; times are
/// compared as instants to the second, since the manifest writes them as the unified shape does
/// (whole seconds, UTC) where the connector keeps the vendor's offset and fraction.
#[tokio::test]
async fn the_jira_shaped_manifest_answers_what_the_rust_connector_answers() {
    use connector_tests::fakes::realistic::RealisticVendor;

    let vendor = RealisticVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let mut connections = Vec::new();
    for connector in ["jira", "jira-manifest"] {
        let (status, created) = server
            .send(
                Method::POST,
                "/api/v1/connections",
                Some(&key),
                Some(json!({
                    "connector": connector,
                    "config": {"site_url": vendor.origin()},
                    "credentials": {"type": "basic", "username": "a@example.com", "password": "p"},
                })),
            )
            .await;
        assert_eq!(status, 201, "{connector}: {created}");
        connections.push(created["data"]["id"].as_str().unwrap().to_owned());
    }
    for page in ["containers/OPS/items?limit=50", "containers?limit=50"] {
        let mut answers = Vec::new();
        for connection in &connections {
            let (status, body) = server
                .send(
                    Method::GET,
                    &format!("/api/v1/connections/{connection}/{page}"),
                    Some(&key),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{page}: {body}");
            let mut entries = body["data"]["entries"].clone();
            for entry in entries.as_array_mut().expect("entries") {
                for field in ["created_at", "updated_at"] {
                    if let Some(text) = entry[field].as_str() {
                        let instant: jiff::Timestamp = text.parse().expect("an RFC 3339 time");
                        entry[field] = json!(instant.as_second());
                    }
                }
            }
            answers.push(entries);
        }
        assert_eq!(answers[0].as_array().map(Vec::len), Some(50), "{page}");
        assert_eq!(answers[0], answers[1], "{page}");
    }
}

/// On a host that requires signed plugins, a manifest is signed like a component (the CLI's
/// `plugin sign`, over its bytes' digest), and so is the interpreter that runs it: an unsigned
/// or wrongly signed manifest is refused at the signature stage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_requires_signatures_requires_them_of_manifests() {
    use connector_tests::harness::{self, plugin_path};

    let keys = tempfile::tempdir().expect("temp dir");
    let key_file = |name: &str| keys.path().join(name);
    let printed = harness::run_cli(
        keys.path(),
        &[
            "plugin",
            "keygen",
            key_file("trusted.key").to_str().unwrap(),
        ],
    );
    let public = printed
        .lines()
        .find_map(|line| line.strip_prefix("public key (add to plugin_trusted_keys): "))
        .expect("public key printed")
        .to_owned();
    harness::run_cli(
        keys.path(),
        &[
            "plugin",
            "keygen",
            key_file("stranger.key").to_str().unwrap(),
        ],
    );
    let interpreter = key_file("declarative.wasm");
    std::fs::copy(plugin_path("declarative"), &interpreter).expect("interpreter copied");
    let manifest = key_file("tracker-manifest.yaml");
    std::fs::write(&manifest, TRACKER).expect("manifest written");
    let sign = |key: &str, file: &std::path::Path| -> String {
        let printed = harness::run_cli(
            keys.path(),
            &[
                "plugin",
                "sign",
                "--key",
                key_file(key).to_str().unwrap(),
                file.to_str().unwrap(),
            ],
        );
        printed
            .rsplit(": ")
            .next()
            .expect("the signature is printed")
            .trim()
            .to_owned()
    };

    let server = TestServer::start_with(|config| {
        config.require_signed_plugins = true;
        config.plugin_trusted_keys = vec![public.clone()];
    })
    .await;
    let signature = sign("trusted.key", &interpreter);
    let (status, loaded) = crate::hot_load::upload(
        &server,
        "declarative",
        std::fs::read(&interpreter).unwrap(),
        &[("x-plugin-signature", signature)],
    )
    .await;
    assert_eq!(status, 201, "the signed interpreter: {loaded}");

    let bytes = TRACKER.as_bytes().to_vec();
    for (case, headers) in [
        ("unsigned", vec![]),
        (
            "signed by a stranger",
            vec![("x-plugin-signature", sign("stranger.key", &manifest))],
        ),
    ] {
        let (status, refused) = crate::hot_load::upload(&server, ID, bytes.clone(), &headers).await;
        assert_eq!(status, 403, "{case}: {refused}");
        assert_eq!(refused["error"]["details"]["stage"], "signature", "{case}");
    }
    let signed = vec![("x-plugin-signature", sign("trusted.key", &manifest))];
    let (status, loaded) = crate::hot_load::upload(&server, ID, bytes, &signed).await;
    assert_eq!(status, 201, "{loaded}");
    assert!(
        loaded["data"]["current"]["origin"]["signed_by"].is_string(),
        "{loaded}"
    );
    let key = server.tenant("acme").await;
    let vendor = TrackerFake::start().await;
    let connection = connect_tracker(&server, &key, &vendor, ID).await;
    let (status, page) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{connection}/containers"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
}
