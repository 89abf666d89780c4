//! A host whose OAuth client for one connector points at a loopback authorization server
//! playing that vendor, and the user's browser through the whole flow.

use connector_host::config::{ConfigSecret, HostConfig};
use connector_host::credentials::OAuthClientConfig;
use reqwest::Method;
use serde_json::Value;

use super::{Browser, TestServer};
use crate::fakes::OAuthServer;
use crate::fakes::oauth_server::{CLIENT_ID, CLIENT_SECRET};

/// Sets the operator's OAuth client for `connector` to the loopback server `auth` (pinned
/// endpoints, which is what lets a loopback token URL stand in for the vendor's).
pub fn use_oauth_server(config: &mut HostConfig, connector: &str, auth: &OAuthServer) {
    config.oauth.insert(
        connector.to_owned(),
        OAuthClientConfig {
            client_id: Some(CLIENT_ID.into()),
            client_secret: Some(ConfigSecret::new(CLIENT_SECRET)),
            authorize_url: Some(auth.url("/authorize")),
            token_url: Some(auth.url("/token")),
            refresh_url: None,
            revoke_url: None,
            allowed_scopes: Vec::new(),
        },
    );
}

/// A host whose `connector` uses the loopback authorization server `auth` (`adjust` changes
/// its config further), with tenant `acme`'s API key and a browser: where each connector's
/// OAuth test starts.
pub async fn host_for_oauth(
    auth: &OAuthServer,
    connector: &str,
    adjust: impl FnOnce(&mut HostConfig) + Send + 'static,
) -> (TestServer, String, Browser) {
    let auth = auth.clone();
    let connector = connector.to_owned();
    let server = TestServer::start_with(move |config| {
        use_oauth_server(config, &connector, &auth);
        adjust(config);
    })
    .await;
    let key = server.tenant("acme").await;
    (server, key, Browser::new())
}

/// `POST /api/v1/oauth/{connector}/authorize` with `body`, consent in `browser`, then the
/// vendor's redirect back to the host: returns the callback's status and body.
pub async fn connect_with_oauth(
    server: &TestServer,
    key: &str,
    browser: &Browser,
    connector: &str,
    body: Value,
) -> (u16, Value) {
    let (status, authorization) = server
        .send(
            Method::POST,
            &format!("/api/v1/oauth/{connector}/authorize"),
            Some(key),
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{authorization}");
    let url = authorization["data"]["authorization_url"]
        .as_str()
        .expect("an authorization URL");
    let callback = browser.consent(url).await;
    let response = browser.get(&callback).await;
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}
