//! OAuth is bound to the browser that started it: a consent link mailed to someone else lands
//! nothing in the sender's tenant. Redirects go only to registered origins, scopes only to
//! what the connector or the client allows, and abandoned authorizations are swept.

use std::time::Duration;

use connector_tests::harness::{Browser, OAuthSetup, OAuthTimings};
use reqwest::Method;
use serde_json::json;

async fn setup() -> OAuthSetup {
    OAuthSetup::start(OAuthTimings::default(), true).await
}

#[tokio::test]
async fn a_flow_completed_in_another_browser_creates_no_connection() {
    let setup = setup().await;
    let authorization = setup.authorize(&setup.key, setup.authorize_body()).await;
    let start = authorization["authorization_url"].as_str().unwrap();

    // Tenant A opens its start page (binding the flow to A's browser), then mails the genuine
    // vendor consent link to a victim, whose browser never saw the start page.
    let (page, vendor_link) = setup.browser.open_start_page(start).await;
    assert!(
        page.contains("acme"),
        "the start page names the tenant: {page}"
    );
    let victim = Browser::new();
    let response = victim.get(&vendor_link).await;
    assert_eq!(response.status(), 302, "the vendor shows its real consent");
    let callback = response.headers()["location"].to_str().unwrap().to_owned();
    let (status, _, body) = setup.callback_in(&victim, &callback).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "FORBIDDEN");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another browser")
    );
    assert_eq!(setup.connections().await, 0, "nothing landed in the tenant");
    assert_eq!(
        setup.auth.code_requests(),
        0,
        "the victim's code was never exchanged"
    );
    let (_, audit) = setup
        .server
        .send(Method::GET, "/api/v1/audit", Some(&setup.key), None)
        .await;
    assert!(
        audit["data"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "oauth.grant" && e["outcome"] == "failure"),
        "the refused callback is audited in the tenant's log: {audit}"
    );
}

#[tokio::test]
async fn a_start_page_opened_first_by_another_browser_is_refused_to_the_next() {
    let setup = setup().await;
    let authorization = setup.authorize(&setup.key, setup.authorize_body()).await;
    let start = authorization["authorization_url"].as_str().unwrap();
    let victim = Browser::new();
    let _ = victim.open_start_page(start).await;
    let response = setup.browser.get(start).await;
    assert_eq!(
        response.status(),
        403,
        "the flow belongs to the first browser"
    );
}

#[tokio::test]
async fn foreign_return_to_and_redirect_uri_and_undeclared_scopes_are_refused() {
    let setup = setup().await;
    for (field, value) in [
        ("return_to", json!("https://evil.example/steal")),
        ("redirect_uri", json!("https://evil.example/callback")),
        ("return_to", json!("javascript:alert(1)")),
    ] {
        let mut body = setup.authorize_body();
        body[field] = value;
        let (status, refused) = setup.try_authorize(&setup.key, body).await;
        assert_eq!(status, 422, "{field}: {refused}");
    }
    // The host's own origin is always allowed.
    let mut body = setup.authorize_body();
    body["return_to"] = json!(format!("{}/done", setup.server.base));
    setup.authorize(&setup.key, body).await;

    let mut body = setup.authorize_body();
    body["scopes"] = json!(["write", "admin:everything"]);
    let (status, refused) = setup.try_authorize(&setup.key, body).await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("admin:everything")
    );
}

#[tokio::test]
async fn expired_authorizations_are_swept() {
    let auth_timings = OAuthTimings {
        state_ttl: 1,
        sweep: 1,
        ..OAuthTimings::default()
    };
    let setup = OAuthSetup::start(auth_timings, true).await;
    for _ in 0..3 {
        setup.authorize(&setup.key, setup.authorize_body()).await;
    }
    let store = &setup.server.server.store;
    assert_eq!(store.pending_oauth_sessions("acme", 0).await.unwrap(), 3);
    let mut swept = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if store.pending_oauth_sessions("acme", 0).await.unwrap() == 0 {
            swept = true;
            break;
        }
    }
    assert!(swept, "expired authorizations were deleted");
}

#[tokio::test]
async fn a_tenant_cannot_pile_up_pending_authorizations() {
    let setup = OAuthSetup::start_adjusted(OAuthTimings::default(), |config| {
        config.quotas.max_pending_oauth_sessions_per_tenant = 2;
    })
    .await;
    for _ in 0..2 {
        setup.authorize(&setup.key, setup.authorize_body()).await;
    }
    let (status, refused) = setup
        .try_authorize(&setup.key, setup.authorize_body())
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "CONFLICT");
    // The quota is per tenant.
    let other = setup.server.tenant("other").await;
    let (status, _) = setup.try_authorize(&other, setup.authorize_body()).await;
    assert_eq!(status, 200, "another tenant's quota is its own");
}
