//! A host wired to a loopback authorization server and a vendor that checks its tokens, with
//! helpers that play the user's browser through the authorization-code flow.

use std::time::Duration;

use connector_host::config::ConfigSecret;
use connector_host::credentials::OAuthClientConfig;
use reqwest::Method;
use serde_json::{Value, json};

use super::TestServer;
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
    pub browser: reqwest::Client,
}

impl OAuthSetup {
    /// Starts everything; `capture_logs` installs the test log capture.
    pub async fn start(timings: OAuthTimings, capture_logs: bool) -> Self {
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
                    revoke_url: Some(endpoints.url("/revoke")),
                },
            );
            config.oauth_refresh_margin_secs = timings.margin;
            config.oauth_sweep_interval_secs = timings.sweep;
            config.oauth_state_ttl_secs = timings.state_ttl;
        };
        let server = if capture_logs {
            TestServer::start_with(adjust).await
        } else {
            TestServer::start_quiet_with(adjust).await
        };
        let key = server.tenant("acme").await;
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
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
        let (status, answer) = self
            .server
            .send(
                Method::POST,
                "/api/v1/oauth/probe/authorize",
                Some(key),
                Some(body),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        answer["data"].clone()
    }

    /// The usual authorize body: the vendor fake as `base_url`, one extra scope.
    pub fn authorize_body(&self) -> Value {
        json!({"config": {"base_url": self.vendor.origin()}, "scopes": ["write"]})
    }

    /// Plays the user's browser at the vendor: returns the callback URL it redirects to.
    pub async fn consent(&self, authorization_url: &str) -> String {
        let response = self
            .browser
            .get(authorization_url)
            .send()
            .await
            .expect("authorize request");
        assert_eq!(response.status(), 302);
        response.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned()
    }

    /// Follows the vendor's redirect to the host; returns status, Location and body.
    pub async fn callback(&self, url: &str) -> (u16, Option<String>, Value) {
        let response = self
            .browser
            .get(url)
            .send()
            .await
            .expect("callback request");
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.json().await.unwrap_or(Value::Null);
        (status, location, body)
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
        listed["data"].as_array().map_or(0, Vec::len)
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
