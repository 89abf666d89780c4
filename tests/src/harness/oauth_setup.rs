//! A host wired to a loopback authorization server and a vendor that checks its tokens, with
//! helpers that play the user's browser through the authorization-code flow.

use std::time::Duration;

use connector_host::config::ConfigSecret;
use connector_host::credentials::OAuthClientConfig;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Browser, TestServer};
use crate::fakes::oauth_server::{CLIENT_ID, CLIENT_SECRET};
use crate::fakes::{OAuthServer, ProbeVendor};

/// OAuth timings of a setup.
#[derive(Debug, Clone, Copy)]
pub struct OAuthTimings {
    /// Lifetime of issued access tokens.
    pub access_ttl: Duration,
    /// `oauth_refresh_margin_secs`.
    pub margin: u64,
    /// `oauth_sweep_interval_secs`.
    pub sweep: u64,
    /// `oauth_state_ttl_secs`.
    pub state_ttl: u64,
}

impl Default for OAuthTimings {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(3600),
            margin: 300,
            sweep: 3600,
            state_ttl: 600,
        }
    }
}

pub struct OAuthSetup {
    pub auth: OAuthServer,
    pub vendor: ProbeVendor,
    pub server: TestServer,
    pub key: String,
    /// The user's browser: keeps the cookie the host's start page sets.
    pub browser: Browser,
}

impl OAuthSetup {
    /// Starts everything; `capture_logs` installs the test log capture.
    pub async fn start(timings: OAuthTimings, capture_logs: bool) -> Self {
        Self::start_inner(timings, capture_logs, |_| {}).await
    }

    /// Starts everything (logs captured) after `adjust` has changed the host's config.
    pub async fn start_adjusted(
        timings: OAuthTimings,
        adjust: impl FnOnce(&mut connector_host::config::HostConfig) + Send + 'static,
    ) -> Self {
        Self::start_inner(timings, true, adjust).await
    }

    async fn start_inner(
        timings: OAuthTimings,
        capture_logs: bool,
        extra: impl FnOnce(&mut connector_host::config::HostConfig) + Send + 'static,
    ) -> Self {
        let auth = OAuthServer::start(timings.access_ttl).await;
        let checker = auth.clone();
        let vendor =
            ProbeVendor::start_checking_tokens(move |token| checker.access_token_valid(token))
                .await;
        let endpoints = auth.clone();
        let adjust = move |config: &mut connector_host::config::HostConfig| {
            config.oauth.insert(
                "probe".into(),
                OAuthClientConfig {
                    client_id: Some(CLIENT_ID.into()),
                    client_secret: Some(ConfigSecret::new(CLIENT_SECRET)),
                    authorize_url: Some(endpoints.url("/authorize")),
                    token_url: Some(endpoints.url("/token")),
                    refresh_url: None,
                    revoke_url: Some(endpoints.url("/revoke")),
                    allowed_scopes: vec!["write".into()],
                },
            );
            config.oauth_refresh_margin_secs = timings.margin;
            config.oauth_sweep_interval_secs = timings.sweep;
            config.oauth_state_ttl_secs = timings.state_ttl;
            extra(config);
        };
        let server = if capture_logs {
            TestServer::start_with(adjust).await
        } else {
            TestServer::start_quiet_with(adjust).await
        };
        let key = server.tenant("acme").await;
        let browser = Browser::new();
        Self {
            auth,
            vendor,
            server,
            key,
            browser,
        }
    }

    /// `POST /api/v1/oauth/probe/authorize`; returns `data`.
    pub async fn authorize(&self, key: &str, body: Value) -> Value {
        let (status, answer) = self.try_authorize(key, body).await;
        assert_eq!(status, 200, "{answer}");
        answer["data"].clone()
    }

    /// `POST /api/v1/oauth/probe/authorize`, expecting it may be refused; returns the status and
    /// the whole answer.
    pub async fn try_authorize(&self, key: &str, body: Value) -> (u16, Value) {
        self.server
            .send(
                Method::POST,
                "/api/v1/oauth/probe/authorize",
                Some(key),
                Some(body),
            )
            .await
    }

    /// The usual authorize body: the vendor fake as `base_url`, one extra scope.
    pub fn authorize_body(&self) -> Value {
        json!({"config": {"base_url": self.vendor.origin()}, "scopes": ["write"]})
    }

    /// Plays the user's browser through the host's start page and the vendor: returns the
    /// callback URL the vendor redirects to.
    pub async fn consent(&self, authorization_url: &str) -> String {
        self.browser.consent(authorization_url).await
    }

    /// Follows the vendor's redirect to the host in the user's browser; returns status,
    /// Location and body.
    pub async fn callback(&self, url: &str) -> (u16, Option<String>, Value) {
        callback_in(&self.browser, url).await
    }

    /// Follows a callback URL in `browser` (another profile, say); returns status, Location
    /// and body.
    pub async fn callback_in(&self, browser: &Browser, url: &str) -> (u16, Option<String>, Value) {
        callback_in(browser, url).await
    }

    /// A full flow; returns the new connection's id.
    pub async fn connect(&self) -> String {
        let authorization = self.authorize(&self.key, self.authorize_body()).await;
        let callback = self
            .consent(authorization["authorization_url"].as_str().expect("url"))
            .await;
        let (status, _, body) = self.callback(&callback).await;
        assert_eq!(status, 201, "{body}");
        body["data"]["id"].as_str().expect("id").to_owned()
    }

    /// How many connections the tenant has.
    pub async fn connections(&self) -> usize {
        let (_, listed) = self
            .server
            .send(Method::GET, "/api/v1/connections", Some(&self.key), None)
            .await;
        listed["data"]["entries"].as_array().map_or(0, Vec::len)
    }

    /// `GET .../containers` of a connection.
    pub async fn containers(&self, id: &str) -> (u16, Value) {
        self.server
            .send(
                Method::GET,
                &format!("/api/v1/connections/{id}/containers"),
                Some(&self.key),
                None,
            )
            .await
    }
}

/// Follows a callback URL in `browser`; returns status, Location and body.
async fn callback_in(browser: &Browser, url: &str) -> (u16, Option<String>, Value) {
    let response = browser.get(url).await;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.json().await.unwrap_or(Value::Null);
    (status, location, body)
}
