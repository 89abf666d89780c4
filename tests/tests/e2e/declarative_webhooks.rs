//! Webhooks declared in a manifest: the tracker manifest with a `webhooks` block registers a
//! subscription through its own request (the vendor gets the host's generated secret, the
//! interpreter only the placeholder), the host's verifier checks every delivery before the
//! interpreter sees it, verified deliveries become changes through the manifest's mappings,
//! and deleting the connection removes the subscription at the vendor. Broken declarations
//! are refused at upload with a pointer.

use connector_tests::fakes::TrackerFake;
use connector_tests::harness::TestServer;
use hmac::{Hmac, Mac as _};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

const TRACKER: &str = include_str!("../../../plugins/fixtures/manifests/tracker-manifest.yaml");
const ID: &str = "tracker-hooks";

/// What the tracker manifest adds to receive the fake tracker's webhooks.
const WEBHOOKS: &str = r#"
webhooks:
  signature: {type: hmac_sha256, header: x-tracker-signature, prefix: "sha256="}
  delivery_id_header: x-tracker-delivery
  event: {header: x-tracker-event}
  events:
    issue.opened: {object: item, kind: created, record: /issue}
    issue.changed: {object: item, kind: updated, record: /issue}
    issue.deleted: {object: item, kind: deleted, container_id: "{issue.project}", item_id: "{issue.id}"}
    comment.created:
      object: comment
      kind: created
      record: /comment
      container_id: "{issue.project}"
      item_id: "{issue.id}"
  register:
    request:
      method: POST
      path: "/projects/{$container_id}/hooks"
      body: {url: "{$target.url}", secret: "{$target.secret}", events: "{$target.events}"}
    id: "{id}"
  unregister: {method: DELETE, path: "/hooks/{$registration_id}"}
"#;

fn manifest_with(webhooks: &str) -> String {
    let renamed = TRACKER.replacen("id: tracker-manifest", &format!("id: {ID}"), 1);
    format!("{renamed}{webhooks}")
}

async fn upload(server: &TestServer, manifest: String) -> (u16, Value) {
    crate::declarative::upload(server, ID, manifest).await
}

fn signed(secret: &str, event: &str, delivery: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(body);
    vec![
        ("x-tracker-event", event.to_owned()),
        ("x-tracker-delivery", delivery.to_owned()),
        (
            "x-tracker-signature",
            format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
        ),
    ]
}

/// Posts `body` to `url` as the tracker does: signed with `secret`, named `event`.
async fn signed_delivery(
    url: &str,
    secret: &str,
    event: &str,
    delivery: &str,
    body: &str,
) -> (u16, String) {
    let headers = signed(secret, event, delivery, body.as_bytes());
    deliver(url, &headers, body.as_bytes()).await
}

async fn deliver(url: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("delivery sent");
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_webhooks_register_verify_and_become_changes() {
    let vendor = TrackerFake::start().await;
    let server = TestServer::start_with(|config| {
        crate::syncs::sync_config(config);
        config
            .connector_hosts
            .insert(ID.into(), vec!["127.0.0.1".into()]);
    })
    .await;
    let (status, loaded) = upload(&server, manifest_with(WEBHOOKS)).await;
    assert_eq!(status, 201, "{loaded}");
    let key = server.tenant("acme").await;
    let connection = crate::contract_v0_3::connect_tracker(&server, &key, &vendor, ID).await;
    let webhooks = format!("/api/v1/connections/{connection}/webhooks");

    // An event the manifest does not handle is refused before anything reaches the vendor.
    let (status, refused) = server
        .send(
            Method::POST,
            &webhooks,
            Some(&key),
            Some(json!({"container_id": "CORE", "events": ["issue.exploded"]})),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(vendor.hooks().is_empty());

    let (status, registered) = server
        .send(
            Method::POST,
            &webhooks,
            Some(&key),
            Some(json!({"container_id": "CORE"})),
        )
        .await;
    assert_eq!(status, 201, "{registered}");
    let hooks = vendor.hooks();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let secret = hooks[0]["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64, "the host's generated secret: {secret}");
    assert_eq!(hooks[0]["project"], "CORE");
    assert_eq!(
        hooks[0]["events"],
        json!([
            "comment.created",
            "issue.changed",
            "issue.deleted",
            "issue.opened"
        ])
    );
    let url = hooks[0]["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/webhooks/v1/{ID}/", server.base)),
        "{url}"
    );

    // Verified deliveries become changes, mapped as the listing maps its records.
    let opened = json!({"issue": {"id": 7, "project": "CORE", "title": "From a hook",
        "body": "Hooked", "state": "open", "updated_at": "2026-12-01T10:00:00Z"}})
    .to_string();
    let (status, answer) = signed_delivery(&url, &secret, "issue.opened", "d-1", &opened).await;
    assert_eq!(status, 200, "{answer}");
    let comment = json!({"issue": {"id": 7, "project": "CORE"},
        "comment": {"id": 70, "body": "First!"}})
    .to_string();
    let (status, answer) = signed_delivery(&url, &secret, "comment.created", "d-2", &comment).await;
    assert_eq!(status, 200, "{answer}");
    let deleted = json!({"issue": {"id": 7, "project": "CORE"}}).to_string();
    let (status, answer) = signed_delivery(&url, &secret, "issue.deleted", "d-3", &deleted).await;
    assert_eq!(status, 200, "{answer}");
    // A ping the manifest does not name is acknowledged and makes no change.
    let ping = b"{\"zen\": \"hooks\"}";
    let (status, _) = deliver(&url, &signed(&secret, "ping", "d-4", ping), ping).await;
    assert_eq!(status, 200);

    // Forged, unsigned and replayed deliveries never reach the interpreter.
    let forged = json!({"issue": {"id": 8, "project": "CORE", "title": "Forged"}}).to_string();
    let (status, _) = deliver(
        &url,
        &signed("not-the-secret", "issue.opened", "d-5", forged.as_bytes()),
        forged.as_bytes(),
    )
    .await;
    assert_eq!(status, 401, "a wrong signature");
    let mut unsigned = signed(&secret, "issue.opened", "d-6", forged.as_bytes());
    unsigned.retain(|(name, _)| *name != "x-tracker-signature");
    let (status, _) = deliver(&url, &unsigned, forged.as_bytes()).await;
    assert_eq!(status, 401, "no signature");
    let (status, answer) = signed_delivery(&url, &secret, "issue.opened", "d-1", &opened).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("duplicate"), "a replay: {answer}");

    let entries = crate::declarative::changes(&server, &key, &connection).await;
    let seen: Vec<(&str, &str, Option<&str>)> = entries
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default(),
                e["item_id"].as_str().unwrap_or_default(),
                e["comment_id"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("created", "7", None),
            ("created", "7", Some("70")),
            ("deleted", "7", None),
        ],
        "{entries:?}"
    );
    assert_eq!(entries[0]["item"]["title"], "From a hook", "{entries:?}");
    assert_eq!(
        entries[0]["item"]["attributes"]["state"], "open",
        "{entries:?}"
    );
    assert_eq!(entries[1]["comment"]["body"], "First!", "{entries:?}");

    // Deleting the connection removes the subscription at the vendor, through the manifest.
    let (status, _) = server
        .send(
            Method::DELETE,
            &format!("/api/v1/connections/{connection}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(vendor.hooks().is_empty(), "{:?}", vendor.hooks());
    let (status, _) = signed_delivery(&url, &secret, "issue.changed", "d-7", &opened).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn broken_webhook_declarations_are_refused_at_upload_with_a_pointer() {
    let server = TestServer::start().await;
    let cases = [
        (
            "the secret in the URL",
            WEBHOOKS.replace(
                "path: \"/projects/{$container_id}/hooks\"",
                "path: \"/projects/{$container_id}/hooks/{$target.secret}\"",
            ),
            "/webhooks/register/request/path",
        ),
        (
            "a registration that never hands over the secret",
            WEBHOOKS.replace(", secret: \"{$target.secret}\"", ""),
            "/webhooks/register/request/body",
        ),
        (
            "a signature over less than the body",
            WEBHOOKS.replace(
                "prefix: \"sha256=\"}",
                "prefix: \"sha256=\", signed_content: \"{timestamp}\"}",
            ),
            "/webhooks/signature/signed_content",
        ),
        (
            "a per-connection secret nothing generates",
            WEBHOOKS[..WEBHOOKS.find("  register:").unwrap()].to_owned(),
            "/webhooks/secret_source",
        ),
        (
            "a change kind that is none",
            WEBHOOKS.replace("kind: updated", "kind: renamed"),
            "/webhooks/events/issue.changed/kind",
        ),
        (
            "a mapping that does not exist",
            WEBHOOKS.replace("kind: deleted,", "kind: \"{action | map(\\\"nope\\\")}\","),
            "/webhooks/events/issue.deleted/kind",
        ),
    ];
    for (what, webhooks, pointer) in cases {
        let (status, refused) = upload(&server, manifest_with(&webhooks)).await;
        assert_eq!(status, 422, "{what}: {refused}");
        assert_eq!(
            refused["error"]["details"]["pointer"], pointer,
            "{what}: {refused}"
        );
    }
}
