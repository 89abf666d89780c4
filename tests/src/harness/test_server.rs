//! The real server, in process, on a temporary data dir, with the test plugins installed.

use connector_host::Server;
use connector_host::config::{ConfigSecret, HostConfig};
use reqwest::Method;
use serde_json::{Value, json};

use std::path::Path;

use super::{TestDatabase, log_capture, plugin_path, plugins_dir, postgres_run};

/// Compile-cache key of test servers (base64 of 32 bytes), so they share one cache.
const TEST_CACHE_KEY: &str = "dGVzdC1jb21waWxlLWNhY2hlLWtleS0zMi1ieXRlcyE=";

/// Admin token of test servers.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A running server and a client for it.
pub struct TestServer {
    pub server: Server,
    pub base: String,
    pub client: reqwest::Client,
    pub data: tempfile::TempDir,
    /// The config it was started with (a restart reuses it).
    pub config: HostConfig,
    /// The PostgreSQL database it keeps its records in, on a PostgreSQL run.
    pub database: Option<TestDatabase>,
}

impl TestServer {
    /// Starts a server with private egress allowed (the fakes are on loopback).
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `adjust` has changed the config.
    pub async fn start_with(adjust: impl FnOnce(&mut HostConfig)) -> Self {
        log_capture::install();
        Self::start_quiet_with(adjust).await
    }

    /// Like [`TestServer::start_with`], without capturing logs (benchmarks).
    pub async fn start_quiet_with(adjust: impl FnOnce(&mut HostConfig)) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let plugins = data.path().join("plugins");
        std::fs::create_dir_all(&plugins).expect("plugins dir");
        for entry in std::fs::read_dir(plugins_dir())
            .expect("built plugins")
            .flatten()
        {
            // Fixtures built to be refused (`trap-*`) are uploaded only by the tests about that.
            if entry.file_name().to_string_lossy().starts_with("trap_") {
                continue;
            }
            std::fs::copy(entry.path(), plugins.join(entry.file_name())).expect("copy plugin");
        }
        plugin_path("probe");
        let mut config = HostConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            data_dir: data.path().to_owned(),
            // Shared across test servers: entries are keyed by content, written atomically and
            // authenticated under one key all test servers share.
            compile_cache_dir: Some(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-compile-cache"),
            ),
            compile_cache_key: Some(ConfigSecret::new(TEST_CACHE_KEY)),
            allow_private_egress: true,
            admin_token: Some(ConfigSecret::new(ADMIN_TOKEN)),
            // The vendor fakes serve the "site" on loopback; the connectors themselves ask
            // only for their vendors (*.atlassian.net, api.github.com).
            connector_hosts: [
                "jira",
                "confluence",
                "github",
                "slack",
                "notion",
                "figma",
                "datadog",
                "salesforce",
                "tracker",
                "tracker-manifest",
                "jira-manifest",
                "asana",
                "trello",
                "pagerduty",
                "zendesk",
                "scaffolded",
            ]
            .into_iter()
            .map(|id| (id.to_owned(), vec!["127.0.0.1".to_owned()]))
            .collect(),
            ..HostConfig::default()
        };
        // Tests and benchmarks drive one key and one connection hard; the caps have tests of
        // their own that set them low.
        config.limits.api_key_requests_per_second = 100_000;
        config.limits.api_key_burst = 100_000;
        config.limits.max_concurrent_calls_per_tenant = Some(config.limits.max_concurrent_calls);
        config.limits.max_concurrent_calls_per_connection =
            Some(config.limits.max_concurrent_calls);
        let database = if postgres_run() {
            let database = TestDatabase::create().await;
            database.configure(&mut config);
            Some(database)
        } else {
            None
        };
        adjust(&mut config);
        let server = Server::start(config.clone()).await.expect("server starts");
        Self::around(server, data, config, database)
    }

    fn around(
        server: Server,
        data: tempfile::TempDir,
        config: HostConfig,
        database: Option<TestDatabase>,
    ) -> Self {
        let base = format!("http://{}", server.local_addr);
        Self {
            server,
            base,
            client: reqwest::Client::builder()
                // Below the server's idle keep-alive limit (`header_read_timeout_ms`), so the
                // client never reuses a connection the server is closing.
                .pool_idle_timeout(std::time::Duration::from_secs(5))
                .build()
                .expect("client"),
            data,
            config,
            database,
        }
    }

    /// Stops the server and starts a new one in this process on the same data dir and config
    /// (on a new port), as an operator's restart would.
    pub async fn restart(self) -> Self {
        let Self {
            server,
            data,
            config,
            database,
            ..
        } = self;
        server.stop().await.expect("server stops");
        let server = Server::start(config.clone())
            .await
            .expect("server restarts on the same data dir");
        Self::around(server, data, config, database)
    }

    /// `/metrics` as the operator reads it (with the admin token).
    pub async fn metrics(&self) -> String {
        let response = self
            .client
            .get(format!("{}/metrics", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("metrics answer");
        assert_eq!(response.status(), 200);
        response.text().await.expect("metrics text")
    }

    /// The host's own audit log (`/admin/v1/audit`, newest 500), read with `admin_token`.
    pub async fn host_audit(&self, admin_token: &str) -> Vec<Value> {
        let (status, body) = self
            .send(
                Method::GET,
                "/admin/v1/audit?limit=500",
                Some(admin_token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["data"]["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Sends a request with an optional bearer token and JSON body; returns status and body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{path}: not JSON ({status}): {text}"));
        (status, body)
    }

    /// Creates tenant `id` and returns a fresh API key for it.
    pub async fn tenant(&self, id: &str) -> String {
        let (status, body) = self
            .send(
                Method::POST,
                "/admin/v1/tenants",
                Some(ADMIN_TOKEN),
                Some(json!({"id": id, "name": id})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = self
            .send(
                Method::POST,
                &format!("/admin/v1/tenants/{id}/api-keys"),
                Some(ADMIN_TOKEN),
                None,
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["data"]["key"].as_str().expect("key").to_owned()
    }

    /// Creates a probe connection to `origin` with a bearer token; returns its id.
    pub async fn probe_connection(&self, key: &str, origin: &str, token: &str) -> String {
        self.bearer_connection(key, "probe", origin, token).await["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// Creates a connection of `connector` (one whose origin key is `base_url`) to `origin`
    /// with a bearer token; returns the created connection (`data`).
    pub async fn bearer_connection(
        &self,
        key: &str,
        connector: &str,
        origin: &str,
        token: &str,
    ) -> Value {
        let body = json!({
            "connector": connector,
            "config": {"base_url": origin},
            "credentials": {"type": "bearer", "token": token},
        });
        let (status, mut body) = self
            .send(Method::POST, "/api/v1/connections", Some(key), Some(body))
            .await;
        assert_eq!(status, 201, "{body}");
        body["data"].take()
    }

    /// Follows `next_cursor` through every page of the listing at `path`; returns the entry
    /// ids and how many pages it took.
    pub async fn all_pages(&self, key: &str, path: &str) -> (Vec<String>, usize) {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let separator = if path.contains('?') { '&' } else { '?' };
            let url = cursor.as_ref().map_or_else(
                || path.to_owned(),
                |c| format!("{path}{separator}cursor={c}"),
            );
            let (status, body) = self.send(Method::GET, &url, Some(key), None).await;
            assert_eq!(status, 200, "{url}: {body}");
            pages += 1;
            let entries = body["data"]["entries"].as_array().expect("a page");
            ids.extend(
                entries
                    .iter()
                    .map(|e| e["id"].as_str().expect("an id").to_owned()),
            );
            match body["data"]["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return (ids, pages),
            }
        }
    }
}
