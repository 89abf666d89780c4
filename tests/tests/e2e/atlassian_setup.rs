//! A host with the Jira and Confluence connectors, a loopback Atlassian fake, and a loopback
//! authorization server standing in for auth.atlassian.com.

use std::time::Duration;

use connector_host::config::ConfigSecret;
use connector_host::credentials::OAuthClientConfig;
use connector_tests::fakes::atlassian_auth::AtlassianAuth;
use connector_tests::fakes::oauth_server::{CLIENT_ID, CLIENT_SECRET};
use connector_tests::fakes::{OAuthServer, Recorder};
use connector_tests::harness::{Browser, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

pub const EMAIL: &str = "ada@example.com";
pub const API_TOKEN: &str = "atl-api-token-7c1e4b";
/// A site the grant also covers, listed first, which the connector must not pick.
pub const OTHER_SITE: &str = "https://other-site.atlassian.net";

pub struct Atlassian<F> {
    pub auth: OAuthServer,
    pub atlassian: AtlassianAuth,
    pub fake: F,
    pub server: TestServer,
    pub key: String,
    pub browser: Browser,
}

/// What the tests need from a fake.
pub trait AtlassianFake {
    fn origin(&self) -> String;
    fn recorder(&self) -> &Recorder;
}

impl<F: AtlassianFake> Atlassian<F> {
    /// Starts the authorization server, the fake (through `start`), and a host whose OAuth
    /// settings for `connector` point at the loopback servers.
    pub async fn start<Fut>(connector: &str, start: impl FnOnce(AtlassianAuth) -> Fut) -> Self
    where
        Fut: std::future::Future<Output = F>,
    {
        Self::start_adjusted(connector, start, |_| {}).await
    }

    /// [`Atlassian::start`] after `adjust` has changed the host's config.
    pub async fn start_adjusted<Fut>(
        connector: &str,
        start: impl FnOnce(AtlassianAuth) -> Fut,
        adjust: impl FnOnce(&mut connector_host::config::HostConfig) + Send + 'static,
    ) -> Self
    where
        Fut: std::future::Future<Output = F>,
    {
        let auth = OAuthServer::start(Duration::from_secs(3600)).await;
        let checker = auth.clone();
        let atlassian = AtlassianAuth::new(EMAIL, API_TOKEN, move |token| {
            checker.access_token_valid(token)
        });
        atlassian.add_site("cloud-other", OTHER_SITE);
        let fake = start(atlassian.clone()).await;
        let endpoints = auth.clone();
        let connector_id = connector.to_owned();
        let server = TestServer::start_with(move |config| {
            config.oauth.insert(
                connector_id,
                OAuthClientConfig {
                    client_id: Some(CLIENT_ID.into()),
                    client_secret: Some(ConfigSecret::new(CLIENT_SECRET)),
                    authorize_url: Some(endpoints.url("/authorize")),
                    token_url: Some(endpoints.url("/token")),
                    refresh_url: None,
                    revoke_url: None,
                    allowed_scopes: Vec::new(),
                },
            );
            adjust(config);
        })
        .await;
        let key = server.tenant("acme").await;
        let browser = Browser::new();
        Self {
            auth,
            atlassian,
            fake,
            server,
            key,
            browser,
        }
    }

    /// A connection with e-mail and API token on the site; returns its id.
    pub async fn connect_with_token(&self, connector: &str) -> String {
        let body = json!({
            "connector": connector,
            "config": {"site_url": self.fake.origin()},
            "credentials": {"type": "basic", "username": EMAIL, "password": API_TOKEN},
        });
        let (status, created) = self
            .server
            .send(
                Method::POST,
                "/api/v1/connections",
                Some(&self.key),
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["data"]["principal"]["id"], "acct-1");
        created["data"]["id"].as_str().unwrap().to_owned()
    }

    /// An OAuth 2.0 (3LO) connection through the authorization server; returns the callback's
    /// status and body.
    pub async fn connect_with_oauth(&self, connector: &str) -> (u16, Value) {
        let origin = self.fake.origin();
        let body = json!({"config": {"site_url": origin, "api_url": origin}});
        let (status, authorization) = self
            .server
            .send(
                Method::POST,
                &format!("/api/v1/oauth/{connector}/authorize"),
                Some(&self.key),
                Some(body),
            )
            .await;
        assert_eq!(status, 200, "{authorization}");
        let url = authorization["data"]["authorization_url"].as_str().unwrap();
        let callback = self.browser.consent(url).await;
        let response = self.browser.get(&callback).await;
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// Every page of a listing; returns the ids and how many pages it took.
    pub async fn all_pages(&self, path: &str) -> (Vec<String>, usize) {
        self.server.all_pages(&self.key, path).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.server
            .send(Method::GET, path, Some(&self.key), None)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.server
            .send(Method::POST, path, Some(&self.key), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.server
            .send(Method::PATCH, path, Some(&self.key), Some(body))
            .await
    }
}

impl AtlassianFake for connector_tests::fakes::JiraFake {
    fn origin(&self) -> String {
        self.origin()
    }
    fn recorder(&self) -> &Recorder {
        &self.recorder
    }
}

impl AtlassianFake for connector_tests::fakes::ConfluenceFake {
    fn origin(&self) -> String {
        self.origin()
    }
    fn recorder(&self) -> &Recorder {
        &self.recorder
    }
}
