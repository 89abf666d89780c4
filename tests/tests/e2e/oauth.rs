//! OAuth 2.0: the authorization-code flow with PKCE against a loopback authorization server,
//! its rejections, and token refresh that never races.

use std::time::Duration;

use connector_tests::fakes::oauth_server::{CLIENT_ID, CLIENT_SECRET};
use connector_tests::harness::{OAuthSetup, OAuthTimings, log_capture};
use reqwest::Method;
use serde_json::json;

/// A setup with access tokens living `ttl`, refresh `margin`, sweeps every `sweep` and
/// states valid `state_ttl` (seconds).
async fn setup(ttl: Duration, margin: u64, sweep: u64, state_ttl: u64) -> OAuthSetup {
    OAuthSetup::start(
        OAuthTimings {
            access_ttl: ttl,
            margin,
            sweep,
            state_ttl,
        },
        true,
    )
    .await
}

async fn default_setup() -> OAuthSetup {
    OAuthSetup::start(OAuthTimings::default(), true).await
}

#[tokio::test]
async fn the_authorization_code_flow_with_pkce_creates_a_working_connection() {
    let setup = default_setup().await;
    let authorization = setup.authorize(&setup.key, setup.authorize_body()).await;
    let start = authorization["authorization_url"].as_str().unwrap();
    assert!(
        start.starts_with(&format!("{}/api/v1/oauth/start?state=", setup.server.base)),
        "authorize sends the user to the host's start page first: {start}"
    );
    let (page, vendor) = setup.browser.open_start_page(start).await;
    assert!(
        page.contains("<strong>acme</strong>") && page.contains("Connect Probe"),
        "the start page names the tenant and the connector: {page}"
    );
    let url = url::Url::parse(&vendor).unwrap();
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], CLIENT_ID);
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["code_challenge"].len(), 43);
    assert_eq!(
        query["scope"], "read write",
        "connector defaults ∪ requested"
    );
    assert_eq!(
        query["audience"], "probe",
        "the connector's extra parameter"
    );
    assert_eq!(query["state"], authorization["state"].as_str().unwrap());
    assert!(query["redirect_uri"].ends_with("/api/v1/oauth/callback"));

    // The same browser may open the start page again.
    let callback = setup.consent(start).await;
    let (status, _, body) = setup.callback(&callback).await;
    assert_eq!(status, 201, "{body}");
    let connection = &body["data"];
    assert_eq!(connection["credential_type"], "oauth2");
    assert_eq!(connection["auth_method"], "oauth");
    assert_eq!(connection["principal"]["id"], "u-1");
    let id = connection["id"].as_str().unwrap();

    let (status, page) = setup.containers(id).await;
    assert_eq!(status, 200, "{page}");
    let bearer = setup.vendor.recorder.to_path("/containers")[0]
        .header("authorization")
        .unwrap()
        .to_owned();
    assert!(
        bearer.starts_with("Bearer at-"),
        "the plugin call went out with the access token"
    );
    assert_eq!(setup.auth.code_requests(), 1);

    // Re-verifying it (a config PATCH) matches the grant's token to its OAuth method by the
    // same table a call uses; the create-time table had no row for a grant's token (422).
    let config = connection["config"].clone();
    let (status, body) = setup
        .server
        .send(
            Method::PATCH,
            &format!("/api/v1/connections/{id}"),
            Some(&setup.key),
            Some(json!({ "config": config })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["auth_method"], "oauth");
    assert_eq!(body["data"]["credential_type"], "oauth2");
}

#[tokio::test]
async fn return_to_gets_a_redirect_with_the_connection_id() {
    let setup = default_setup().await;
    let mut body = setup.authorize_body();
    body["return_to"] = json!("https://app.example/connected?from=oauth");
    // Not an origin the tenant registered: refused, no open redirect.
    let (status, refused) = setup.try_authorize(&setup.key, body.clone()).await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("redirect_origins"),
        "{refused}"
    );
    let (status, settings) = setup
        .server
        .send(
            Method::PUT,
            "/api/v1/settings",
            Some(&setup.key),
            Some(json!({"redirect_origins": ["https://app.example"]})),
        )
        .await;
    assert_eq!(status, 200, "{settings}");
    let authorization = setup.authorize(&setup.key, body).await;
    let callback = setup
        .consent(authorization["authorization_url"].as_str().unwrap())
        .await;
    let (status, location, _) = setup.callback(&callback).await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert!(
        location.starts_with("https://app.example/connected?from=oauth&connection_id=conn_"),
        "{location}"
    );
}

#[tokio::test]
async fn forged_replayed_foreign_and_denied_callbacks_create_nothing() {
    let setup = default_setup().await;

    // A name the connection could not be stored with, or a config key the schema does not
    // list, is refused before the user is sent to the vendor for a grant.
    let mut body = setup.authorize_body();
    body["name"] = json!("n".repeat(500));
    let (status, refused) = setup.try_authorize(&setup.key, body).await;
    assert_eq!(status, 422, "{refused}");
    let mut body = setup.authorize_body();
    body["config"]["team_id"] = json!("T0VICTIM1");
    let (status, refused) = setup.try_authorize(&setup.key, body).await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused.to_string().contains("team_id"), "{refused}");

    // Forged: a state this host did not sign.
    let authorization = setup.authorize(&setup.key, setup.authorize_body()).await;
    let callback = setup
        .consent(authorization["authorization_url"].as_str().unwrap())
        .await;
    let state = authorization["state"].as_str().unwrap();
    let (payload, _) = state.split_once('.').unwrap();
    let forged = callback.replace(
        state,
        &format!("{payload}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    );
    let (status, _, body) = setup.callback(&forged).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not issued by this host")
    );

    // Another tenant posting this tenant's state: refused, and the real flow still works.
    let other = setup.server.tenant("other").await;
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (status, body) = setup
        .server
        .send(
            Method::POST,
            "/api/v1/oauth/callback",
            Some(&other),
            Some(json!({"code": code, "state": state})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "{body}"
    );

    // The genuine callback works once; replaying it is refused.
    let (status, _, _) = setup.callback(&callback).await;
    assert_eq!(status, 201);
    let (status, _, body) = setup.callback(&callback).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("CONFLICT")),
        "{body}"
    );

    // The user declines at the vendor.
    setup.auth.deny_next();
    let authorization = setup.authorize(&setup.key, setup.authorize_body()).await;
    let callback = setup
        .consent(authorization["authorization_url"].as_str().unwrap())
        .await;
    let (status, _, body) = setup.callback(&callback).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("access_denied")
    );
    assert_eq!(body["error"]["details"]["vendor_error"], "access_denied");

    assert_eq!(
        setup.connections().await,
        1,
        "only the genuine flow created a connection"
    );
    assert_eq!(
        setup.auth.code_requests(),
        1,
        "no rejected callback reached the token endpoint"
    );
}

#[tokio::test]
async fn a_code_delivered_with_another_flows_state_fails_pkce() {
    let setup = default_setup().await;
    let first = setup.authorize(&setup.key, setup.authorize_body()).await;
    let second = setup.authorize(&setup.key, setup.authorize_body()).await;
    let callback_first = setup
        .consent(first["authorization_url"].as_str().unwrap())
        .await;
    // The same browser opened the second flow's start page too, so the browser check passes
    // and the PKCE check is what refuses the injection.
    setup
        .browser
        .open_start_page(second["authorization_url"].as_str().unwrap())
        .await;
    // An attacker injects the first flow's code into the second flow: the host sends the second
    // flow's verifier, which does not match the first code's challenge.
    let injected = callback_first.replace(
        first["state"].as_str().unwrap(),
        second["state"].as_str().unwrap(),
    );
    let (status, _, body) = setup.callback(&injected).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION")),
        "{body}"
    );
    assert!(
        body["error"]["message"].as_str().unwrap().contains("PKCE"),
        "{body}"
    );
    assert_eq!(setup.connections().await, 0);
}

#[tokio::test]
async fn an_expired_state_is_refused() {
    // States live 3 s: long enough for the start page to open on a loaded machine (with 1 s,
    // a busy CI run saw the state expire before the consent), and the wait after it is longer.
    let setup = setup(Duration::from_secs(3600), 300, 3600, 3).await;
    let authorization = setup.authorize(&setup.key, setup.authorize_body()).await;
    let callback = setup
        .consent(authorization["authorization_url"].as_str().unwrap())
        .await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, _, body) = setup.callback(&callback).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    assert_eq!(setup.connections().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_storm_makes_exactly_one_token_request() {
    // Tokens live 1 s and the host refreshes only when they are actually due.
    let setup = setup(Duration::from_secs(1), 0, 3600, 600).await;
    let id = setup.connect().await;
    setup.auth.set_access_ttl(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(setup.auth.refresh_requests() == 0);

    let calls = (0..200).map(|_| {
        let (client, url, key) = (
            setup.server.client.clone(),
            format!("{}/api/v1/connections/{id}/containers", setup.server.base),
            setup.key.clone(),
        );
        tokio::spawn(async move {
            client
                .get(url)
                .bearer_auth(key)
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    });
    let statuses: Vec<u16> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every call succeeded: {:?}",
        statuses.iter().filter(|s| **s != 200).count()
    );
    assert_eq!(
        setup.auth.refresh_requests(),
        1,
        "exactly one token request for 200 concurrent calls"
    );
}

#[tokio::test]
async fn a_vendor_401_refreshes_once_and_retries() {
    let setup = default_setup().await;
    let id = setup.connect().await;
    setup.auth.expire_all_access_tokens();
    let (status, body) = setup.containers(&id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(setup.auth.refresh_requests(), 1);
}

#[tokio::test]
async fn a_revoked_refresh_token_ends_in_needs_reauth_not_a_loop() {
    let setup = default_setup().await;
    let id = setup.connect().await;
    setup.auth.revoke_all_refresh_tokens();
    setup.auth.expire_all_access_tokens();

    let (status, body) = setup.containers(&id).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("REAUTH_REQUIRED")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked or already used"),
        "the vendor's words: {body}"
    );
    let (_, connection) = setup
        .server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{id}"),
            Some(&setup.key),
            None,
        )
        .await;
    assert_eq!(connection["data"]["status"], "needs_reauth");
    assert!(
        connection["data"]["last_error"]
            .as_str()
            .unwrap()
            .contains("invalid_grant")
    );

    let requests = setup.auth.refresh_requests();
    for _ in 0..3 {
        let (status, _) = setup.containers(&id).await;
        assert_eq!(status, 409);
    }
    assert_eq!(
        setup.auth.refresh_requests(),
        requests,
        "no further token requests: no loop"
    );
    let (_, audit) = setup
        .server
        .send(Method::GET, "/api/v1/audit", Some(&setup.key), None)
        .await;
    assert!(audit.to_string().contains("oauth.refresh_failed"));
}

#[tokio::test]
async fn idle_connections_are_refreshed_by_the_sweeper() {
    // Tokens live 3 s, the margin is 2 s and the sweeper runs every second.
    let setup = setup(Duration::from_secs(3), 2, 1, 600).await;
    setup.connect().await;
    setup.auth.set_access_ttl(Duration::from_secs(3600));
    for _ in 0..50 {
        if setup.auth.refresh_requests() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        setup.auth.refresh_requests(),
        1,
        "refreshed with no API call"
    );
}

#[tokio::test]
async fn deleting_revokes_the_grant_and_a_tenant_app_overrides_the_default_client() {
    let setup = default_setup().await;
    let id = setup.connect().await;
    let (status, _) = setup
        .server
        .send(
            Method::DELETE,
            &format!("/api/v1/connections/{id}"),
            Some(&setup.key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(setup.auth.revoked().len(), 1);
    assert!(
        setup.auth.revoked()[0].starts_with("rt-"),
        "the refresh token was revoked"
    );

    setup
        .auth
        .add_client("tenant-own-client", "tenant-own-secret-93b2");
    // The tenant's app allows the extra scope the usual authorize body asks for.
    let app = json!({
        "client_id": "tenant-own-client",
        "client_secret": "tenant-own-secret-93b2",
        "scopes": ["write"],
    });
    let (status, body) = setup
        .server
        .send(
            Method::PUT,
            "/api/v1/connectors/probe/oauth-app",
            Some(&setup.key),
            Some(app),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.to_string().contains("tenant-own-secret"),
        "the secret is not echoed"
    );
    setup.connect().await;
    let last = setup.auth.authorize_queries().last().cloned().unwrap();
    assert_eq!(last["client_id"], "tenant-own-client");
}

#[tokio::test]
async fn no_token_code_verifier_or_client_secret_reaches_a_response_or_log() {
    let setup = default_setup().await;
    let authorization = setup.authorize(&setup.key, setup.authorize_body()).await;
    let callback = setup
        .consent(authorization["authorization_url"].as_str().unwrap())
        .await;
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (_, _, created) = setup.callback(&callback).await;
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    setup.auth.expire_all_access_tokens();
    let (_, page) = setup.containers(&id).await;
    let (_, listed) = setup
        .server
        .send(Method::GET, "/api/v1/connections", Some(&setup.key), None)
        .await;
    let (_, audit) = setup
        .server
        .send(Method::GET, "/api/v1/audit", Some(&setup.key), None)
        .await;

    let responses = [
        authorization.to_string(),
        created.to_string(),
        page.to_string(),
        listed.to_string(),
        audit.to_string(),
    ];
    let logs = log_capture::captured();
    let mut secrets = setup.auth.issued_tokens();
    secrets.push(code);
    secrets.push(CLIENT_SECRET.to_owned());
    assert!(secrets.len() >= 5);
    for secret in &secrets {
        for response in &responses {
            assert!(
                !response.contains(secret.as_str()),
                "a response shows {secret}"
            );
        }
        assert!(!logs.contains(secret.as_str()), "a log line shows {secret}");
    }
    // The verifier never leaves the host except to the token endpoint: the authorize URL only
    // carries its S256 challenge.
    assert!(
        !authorization["authorization_url"]
            .as_str()
            .unwrap()
            .contains("code_verifier")
    );
}

/// A grant whose connection could not be created (here: the tenant's connection quota was
/// reached while the user was at the vendor) is revoked at the vendor, not left live.
#[tokio::test]
async fn a_grant_that_no_connection_holds_is_revoked_at_the_vendor() {
    let setup = OAuthSetup::start_adjusted(OAuthTimings::default(), |config| {
        config.quotas.max_connections_per_tenant = 1;
    })
    .await;
    let authorization = setup.authorize(&setup.key, setup.authorize_body()).await;
    // Meanwhile another connection takes the tenant's only slot.
    setup.connect().await;
    assert!(setup.auth.revoked().is_empty());
    let callback = setup
        .consent(authorization["authorization_url"].as_str().unwrap())
        .await;
    let (status, _, body) = setup.callback(&callback).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(setup.connections().await, 1);
    assert_eq!(
        setup.auth.revoked().len(),
        1,
        "the unused grant was revoked"
    );
}

/// A refresh that was waiting for the vendor when the user reconnected (a new grant written in
/// place) must not put the old grant's refreshed tokens over the new ones: the refresher's
/// write is a compare-and-swap on the credential it read. Before, the late refresh won and the
/// connection went back to the old grant.
#[tokio::test]
async fn a_refresh_that_raced_a_reconnect_leaves_the_new_grant_in_place() {
    let setup = default_setup().await;
    let id = setup.connect().await;
    setup.auth.hold_refreshes();
    setup.auth.expire_all_access_tokens();
    // The call meets a 401, and its refresh waits at the vendor.
    let waiting = {
        let (client, url, key) = (
            setup.server.client.clone(),
            format!("{}/api/v1/connections/{id}/containers", setup.server.base),
            setup.key.clone(),
        );
        tokio::spawn(async move {
            let response = client.get(url).bearer_auth(key).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while setup.auth.refreshes_held() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the refresh never came"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Meanwhile the user reconnects: a new grant replaces the credential in place.
    let mut body = setup.authorize_body();
    body["connection_id"] = json!(id);
    body["config"] = json!({});
    let authorization = setup.authorize(&setup.key, body).await;
    let callback = setup
        .consent(authorization["authorization_url"].as_str().unwrap())
        .await;
    let (status, _, answer) = setup.callback(&callback).await;
    assert!(status == 200 || status == 201, "{status} {answer}");
    let (status, page) = setup.containers(&id).await;
    assert_eq!(status, 200, "{page}");
    let bearer = |setup: &connector_tests::harness::OAuthSetup| {
        setup
            .vendor
            .recorder
            .to_path("/containers")
            .last()
            .unwrap()
            .header("authorization")
            .unwrap()
            .to_owned()
    };
    let reconnected = bearer(&setup);

    // The old grant's refresh now answers; it must not win.
    setup.auth.release_refreshes();
    let (status, page) = waiting.await.unwrap();
    assert_eq!(
        status, 200,
        "the waiting call went on with the new grant: {page}"
    );
    let (status, page) = setup.containers(&id).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        bearer(&setup),
        reconnected,
        "the connection still calls with the reconnected grant's token"
    );
    assert_eq!(setup.auth.refresh_requests(), 1);
}
