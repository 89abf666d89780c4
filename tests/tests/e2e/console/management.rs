//! What the console manages beyond browsing: syncs and sync cursors, webhook endpoints (the
//! signing secret shown once, and it really signs), agent tools run from a form, and the
//! operator's tenants, API keys and host audit log. Each with its refusals: no CSRF token,
//! bad input (the envelope's message on the page, nothing written), another tenant's URLs.

use connector_tests::fakes::{ProbeVendor, SyncVendor, WebhookReceiver};
use connector_tests::harness::{ADMIN_TOKEN, TestServer};
use reqwest::Method;
use serde_json::json;

use super::{Browser, csrf};

/// The value of the read-only input `id`: a secret a page shows once.
fn shown_once(html: &str, id: &str) -> String {
    html.split(&format!("id=\"{id}\" readonly value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the page shows `{id}`"))
        .to_owned()
}

fn syncs_of(body: &serde_json::Value) -> usize {
    body["data"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_and_sync_cursors_are_managed_from_the_console() {
    let vendor = SyncVendor::start(3, true).await;
    let server = TestServer::start_with(crate::syncs::sync_config).await;
    let key = server.tenant("acme").await;
    let connection = server.probe_connection(&key, &vendor.origin(), "tok").await;
    let api_syncs = format!("/api/v1/connections/{connection}/syncs");
    let mut browser = Browser::new(&server.base);
    browser.sign_in(&key).await;
    let syncs = format!("/console/connections/{connection}/syncs");
    let page = browser.get(&syncs).await;
    assert!(page.html.contains("No syncs yet"), "{}", page.html);
    let token = csrf(&page.html);

    let page = browser.post(&syncs, &[("container", "box")]).await;
    assert_eq!(page.status, 403, "no CSRF token");
    for (container, interval, why) in [
        ("", "", "container must be"),
        ("box", "2m", "whole number of seconds"),
        ("box", "0", "interval_secs must be between"),
    ] {
        let page = browser
            .post(
                &syncs,
                &[
                    ("csrf", token.as_str()),
                    ("container", container),
                    ("interval_secs", interval),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{container:?} {interval:?}");
        assert!(page.html.contains(why), "{why}: {}", page.html);
        assert!(
            page.html.contains(&format!("value=\"{interval}\"")),
            "what was typed stays"
        );
    }
    let (_, listed) = server.send(Method::GET, &api_syncs, Some(&key), None).await;
    assert_eq!(syncs_of(&listed), 0, "nothing half-written: {listed}");

    let form = [
        ("csrf", token.as_str()),
        ("container", "box"),
        ("interval_secs", "60"),
        ("paused", "on"),
    ];
    let page = browser.post(&syncs, &form).await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (303, Some(syncs.as_str()))
    );
    let (_, listed) = server.send(Method::GET, &api_syncs, Some(&key), None).await;
    assert_eq!(listed["data"][0]["container"], "box", "{listed}");
    assert_eq!(listed["data"][0]["interval_secs"], 60);
    assert_eq!(listed["data"][0]["paused"], true);
    let sid = listed["data"][0]["id"].as_str().unwrap().to_owned();
    let page = browser.post(&syncs, &form).await;
    assert_eq!(page.status, 409, "the same container twice");
    assert!(
        page.html.contains("already syncs container"),
        "{}",
        page.html
    );

    // Cursors the tenant's own code stored show up, and can be deleted.
    let cursor = format!("/api/v1/connections/{connection}/cursors/issues.main");
    let (status, _) = server
        .send(
            Method::PUT,
            &cursor,
            Some(&key),
            Some(json!({"cursor": "page-7"})),
        )
        .await;
    assert_eq!(status, 200);
    let page = browser.get(&syncs).await;
    assert!(page.html.contains("issues.main") && page.html.contains("page-7"));

    // Another tenant sees and changes none of it.
    let other = server.tenant("intruder").await;
    let mut intruder = Browser::new(&server.base);
    intruder.sign_in(&other).await;
    let their_token = csrf(&intruder.get("/console/connections").await.html);
    let theirs = [("csrf", their_token.as_str()), ("container", "other")];
    assert_eq!(intruder.post(&syncs, &theirs).await.status, 404);
    let delete_cursor = format!("/console/connections/{connection}/cursors/issues.main/delete");
    let delete_sync = format!("{syncs}/{sid}/delete");
    for path in [&delete_cursor, &delete_sync] {
        let page = intruder.post(path, &[("csrf", their_token.as_str())]).await;
        assert_eq!(page.status, 404, "{path}");
    }
    assert_eq!(
        browser
            .post(&delete_cursor, &[("csrf", "stale")])
            .await
            .status,
        403
    );

    let page = browser
        .post(&delete_cursor, &[("csrf", token.as_str())])
        .await;
    assert_eq!(page.status, 303);
    let (status, _) = server.send(Method::GET, &cursor, Some(&key), None).await;
    assert_eq!(status, 404, "the cursor is gone");
    let page = browser
        .post(&delete_sync, &[("csrf", token.as_str())])
        .await;
    assert_eq!(page.status, 303);
    let (_, listed) = server.send(Method::GET, &api_syncs, Some(&key), None).await;
    assert_eq!(syncs_of(&listed), 0, "{listed}");
    let audit = browser.get("/console/audit").await.html;
    assert!(audit.contains("sync.create") && audit.contains("sync.delete"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_endpoint_registered_in_the_console_signs_with_the_secret_it_showed() {
    let receiver = WebhookReceiver::start(&[], 200).await;
    let server = TestServer::start_with(crate::syncs::sync_config).await;
    let key = server.tenant("acme").await;
    let mut browser = Browser::new(&server.base);
    browser.sign_in(&key).await;
    let page = browser.get("/console/webhooks").await;
    assert!(page.html.contains("No endpoints yet"));
    let token = csrf(&page.html);
    let url = receiver.url();

    let page = browser
        .post(
            "/console/webhooks",
            &[("url", url.as_str()), ("events", "*")],
        )
        .await;
    assert_eq!(page.status, 403);
    for (target, events, why) in [
        (url.as_str(), &[][..], "at least one event type"),
        (
            url.as_str(),
            &["records.exploded"][..],
            "unknown event type",
        ),
        ("ftp://example.com/hook", &["records.changed"][..], "https"),
    ] {
        let mut form = vec![("csrf", token.as_str()), ("url", target)];
        form.extend(events.iter().map(|e| ("events", *e)));
        let page = browser.post("/console/webhooks", &form).await;
        assert_eq!(page.status, 422, "{target} {events:?}: {}", page.html);
        assert!(page.html.contains(why), "{why}: {}", page.html);
    }
    let (_, listed) = server
        .send(Method::GET, "/api/v1/webhook-endpoints", Some(&key), None)
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 0, "{listed}");

    let page = browser
        .send(
            Method::POST,
            "/console/webhooks",
            Some(&[
                ("csrf", token.as_str()),
                ("url", url.as_str()),
                ("events", "records.changed"),
                ("events", "connection.created"),
                ("description", "from the console"),
            ]),
        )
        .await;
    assert_eq!(page.status, 201, "{}", page.html);
    let secret = shown_once(&page.html, "signing-secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let page = browser.get("/console/webhooks").await;
    assert!(!page.html.contains(&secret), "shown once, never again");
    assert!(page.html.contains("records.changed, connection.created"));
    let (_, listed) = server
        .send(Method::GET, "/api/v1/webhook-endpoints", Some(&key), None)
        .await;
    let eid = listed["data"][0]["id"].as_str().unwrap().to_owned();

    let page = browser
        .post(
            &format!("/console/webhooks/{eid}/test"),
            &[("csrf", token.as_str())],
        )
        .await;
    assert_eq!(page.status, 303);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while receiver.received().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no test delivery");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let delivery = &receiver.received()[0];
    standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(&delivery.body, &delivery.headers)
        .expect("signed with the secret the console showed");
    assert_eq!(delivery.json()["type"], "webhook.test");

    let other = server.tenant("intruder").await;
    let mut intruder = Browser::new(&server.base);
    intruder.sign_in(&other).await;
    let their_token = csrf(&intruder.get("/console/webhooks").await.html);
    assert!(!intruder.get("/console/webhooks").await.html.contains(&url));
    for action in ["delete", "disable", "rotate-secret", "test"] {
        let page = intruder
            .post(
                &format!("/console/webhooks/{eid}/{action}"),
                &[("csrf", their_token.as_str())],
            )
            .await;
        assert_eq!(page.status, 404, "{action}");
    }

    let page = browser
        .post(
            &format!("/console/webhooks/{eid}/disable"),
            &[("csrf", token.as_str())],
        )
        .await;
    assert_eq!(page.status, 303);
    assert!(
        browser
            .get("/console/webhooks")
            .await
            .html
            .contains("disabled by the tenant")
    );
    let page = browser
        .post(
            &format!("/console/webhooks/{eid}/rotate-secret"),
            &[("csrf", token.as_str())],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("signing-secret") && !page.html.contains(&secret));
    let page = browser
        .post(
            &format!("/console/webhooks/{eid}/delete"),
            &[("csrf", token.as_str())],
        )
        .await;
    assert_eq!(page.status, 303);
    let (_, listed) = server
        .send(Method::GET, "/api/v1/webhook-endpoints", Some(&key), None)
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 0);
    let audit = browser.get("/console/audit").await.html;
    for action in [
        "webhook_endpoint.create",
        "webhook_endpoint.update",
        "webhook_endpoint.rotate_secret",
        "webhook_endpoint.delete",
    ] {
        assert!(audit.contains(action), "{action}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_tools_are_listed_and_run_from_the_console() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("umbrella").await;
    let mut browser = Browser::new(&server.base);
    browser.sign_in(&key).await;
    assert!(
        browser
            .get("/console/tools")
            .await
            .html
            .contains("No tools yet")
    );
    server.probe_connection(&key, &vendor.origin(), "tok").await;
    let page = browser.get("/console/tools").await;
    assert!(page.html.contains("probe.search"), "{}", page.html);
    assert!(page.html.contains("/console/tools/probe.action_search"));
    let page = browser.get("/console/tools/probe.action_search").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Input schema"));
    let token = csrf(&page.html);
    let tool = "/console/tools/probe.action_search";

    let run =
        |arguments: &'static str| [("csrf", token.clone()), ("arguments", arguments.to_owned())];
    let form = run(r#"{"text": "one two three"}"#);
    let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(browser.post(tool, &borrowed[1..]).await.status, 403);
    let page = browser.post(tool, &borrowed).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("3 words"), "{}", page.html);

    for (arguments, status, why) in [
        ("{not json", 422, "not JSON"),
        (r#"{"text": 5}"#, 422, "/text"),
    ] {
        let form = run(arguments);
        let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = browser.post(tool, &borrowed).await;
        assert_eq!(page.status, status, "{arguments}: {}", page.html);
        assert!(page.html.contains(why), "{why}: {}", page.html);
        assert!(!page.html.contains("3 words"));
    }
    assert_eq!(browser.get("/console/tools/jira.search").await.status, 404);
    let (_, audit) = server
        .send(Method::GET, "/api/v1/audit?limit=100", Some(&key), None)
        .await;
    assert!(audit.to_string().contains("\"via\":\"console\""), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_creates_a_tenant_issues_a_key_and_revokes_it() {
    let server = TestServer::start().await;
    let mut operator = Browser::new(&server.base);
    operator
        .post("/console/operator/sign-in", &[("token", ADMIN_TOKEN)])
        .await;
    let page = operator.get("/console/operator/tenants").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let token = csrf(&page.html);

    let new_tenant = [
        ("csrf", token.as_str()),
        ("id", "globex"),
        ("name", "Globex"),
    ];
    let page = operator
        .post("/console/operator/tenants", &new_tenant[1..])
        .await;
    assert_eq!(page.status, 403, "no CSRF token");
    let bad = [("csrf", token.as_str()), ("id", "Not OK"), ("name", "x")];
    let page = operator.post("/console/operator/tenants", &bad).await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("tenant id must be"), "{}", page.html);
    let page = operator
        .post("/console/operator/tenants", &new_tenant)
        .await;
    assert_eq!(
        page.location.as_deref(),
        Some("/console/operator/tenants/globex")
    );
    let page = operator
        .post("/console/operator/tenants", &new_tenant)
        .await;
    assert_eq!(page.status, 409, "already exists");

    let keys = "/console/operator/tenants/globex/api-keys";
    let page = operator
        .post(keys, &[("csrf", token.as_str()), ("expires_in_days", "0")])
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("whole number of days"));
    let page = operator
        .post(keys, &[("csrf", token.as_str()), ("expires_in_days", "30")])
        .await;
    assert_eq!(page.status, 201, "{}", page.html);
    let key = shown_once(&page.html, "issued-key");
    let page = operator.get("/console/operator/tenants/globex").await;
    assert!(!page.html.contains(&key), "shown once");
    let key_id = page
        .html
        .split("api-keys/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("a revoke form")
        .to_owned();
    let (status, _) = server
        .send(Method::GET, "/api/v1/connections", Some(&key), None)
        .await;
    assert_eq!(status, 200, "the issued key works");
    let (_, listed) = server
        .send(
            Method::GET,
            "/admin/v1/tenants/globex/api-keys",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert!(listed["data"][0]["expires_at"].is_u64(), "{listed}");

    // The tenant signs in with it; a tenant session opens no operator page, and the other way.
    let mut tenant = Browser::new(&server.base);
    assert_eq!(tenant.sign_in(&key).await.status, 303);
    for path in [
        "/console/operator/tenants",
        "/console/operator/tenants/globex",
        "/console/operator/audit",
    ] {
        let page = tenant.get(path).await;
        assert_eq!(
            page.location.as_deref(),
            Some("/console/operator"),
            "{path}"
        );
    }
    let page = tenant
        .post(
            &format!("{keys}/{key_id}/revoke"),
            &[("csrf", token.as_str())],
        )
        .await;
    assert_eq!(page.location.as_deref(), Some("/console/operator"));
    assert_eq!(
        operator
            .get("/console/connections")
            .await
            .location
            .as_deref(),
        Some("/console/sign-in")
    );
    assert_eq!(
        operator
            .get("/console/operator/tenants/nobody")
            .await
            .status,
        404
    );

    let revoke = format!("{keys}/{key_id}/revoke");
    assert_eq!(operator.post(&revoke, &[("csrf", "x")]).await.status, 403);
    let page = operator.post(&revoke, &[("csrf", token.as_str())]).await;
    assert_eq!(page.status, 303, "{}", page.html);
    let (status, _) = server
        .send(Method::GET, "/api/v1/connections", Some(&key), None)
        .await;
    assert_eq!(status, 401, "revoked");
    assert_eq!(
        tenant.get("/console/connections").await.location.as_deref(),
        Some("/console/sign-in"),
        "its console session ended"
    );
    assert_eq!(
        operator
            .post(&revoke, &[("csrf", token.as_str())])
            .await
            .status,
        404
    );

    let audit = server.host_audit(ADMIN_TOKEN).await;
    let page = operator.get("/console/operator/audit").await;
    assert_eq!(page.status, 200);
    let first_action = audit[0]["action"].as_str().unwrap();
    assert!(page.html.contains(first_action), "{first_action}");
    let (_, keys_left) = server
        .send(
            Method::GET,
            "/admin/v1/tenants/globex/api-keys",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(
        keys_left["data"].as_array().unwrap().len(),
        0,
        "the revoked key is no longer listed: {keys_left}"
    );
}
