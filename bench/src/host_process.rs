//! The release `connector-host` binary as its own process, the way it is deployed, for the
//! scenarios that load it from outside: its tokio runtime then serves only the host, so a guest
//! running on a worker never delays the bench's load generator or loopback vendors, and `perf
//! record -p PID` sees the host alone.

use connector_tests::harness::{self, HostProcess};
use serde_json::{Value, json};

const ADMIN: &str = "bench-admin-token-0123456789";
/// Sandbox slots: 256 for API calls at once (the memory scenario's load) plus the loader's two.
const CALLS: &str = "258";

/// A running host with one tenant, and a client for it.
pub struct BenchHost {
    process: HostProcess,
    client: reqwest::Client,
    /// The tenant's API key.
    pub key: String,
    _data: tempfile::TempDir,
}

impl BenchHost {
    /// Starts the host quietly (`warn` logs) with `env` added, and creates tenant `tenant`.
    pub async fn start(tenant: &str, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let mut all = vec![
            ("CONNECTOR_HOST_ADMIN_TOKEN", ADMIN),
            ("CONNECTOR_HOST_LOG", "warn"),
            // The realistic vendor serves the Jira and Confluence "site" on loopback.
            ("CONNECTOR_HOST_CONNECTOR_HOSTS__JIRA", r#"["127.0.0.1"]"#),
            (
                "CONNECTOR_HOST_CONNECTOR_HOSTS__CONFLUENCE",
                r#"["127.0.0.1"]"#,
            ),
            // The Jira-shaped manifest (a test fixture) reads the same site.
            (
                "CONNECTOR_HOST_CONNECTOR_HOSTS__JIRA-MANIFEST",
                r#"["127.0.0.1"]"#,
            ),
            // The bench drives one tenant and one connection as hard as the whole host may be
            // driven; the per-tenant caps have tests of their own.
            (
                "CONNECTOR_HOST_LIMITS__MAX_CONCURRENT_CALLS_PER_TENANT",
                CALLS,
            ),
            (
                "CONNECTOR_HOST_LIMITS__MAX_CONCURRENT_CALLS_PER_CONNECTION",
                CALLS,
            ),
            ("CONNECTOR_HOST_LIMITS__MAX_CONCURRENT_CALLS", CALLS),
        ];
        all.extend_from_slice(env);
        let process = HostProcess::start(data.path(), &harness::plugins_dir(), &all).await;
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?;
        let mut host = Self {
            process,
            client,
            key: String::new(),
            _data: data,
        };
        host.post(
            "/admin/v1/tenants",
            ADMIN,
            json!({"id": tenant, "name": tenant}),
        )
        .await?;
        let issued = host
            .post(
                &format!("/admin/v1/tenants/{tenant}/api-keys"),
                ADMIN,
                json!({}),
            )
            .await?;
        host.key = text(&issued["data"]["key"])?;
        Ok(host)
    }

    /// The host's base URL.
    pub fn base(&self) -> &str {
        &self.process.base
    }

    /// The process id (for RSS, or `perf record -p`).
    pub fn pid(&self) -> u32 {
        self.process.child.id()
    }

    /// A client pooling up to 256 connections to the host (enough for the memory scenario).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Connects the probe connector to a `ProbeVendor` at `origin` with bearer `token`.
    pub async fn connect_probe(&self, origin: &str, token: &str) -> anyhow::Result<String> {
        self.connect(
            "probe",
            json!({"base_url": origin}),
            json!({"type": "bearer", "token": token}),
        )
        .await
    }

    /// Creates a connection of the tenant; returns its id.
    pub async fn connect(
        &self,
        connector: &str,
        config: Value,
        credentials: Value,
    ) -> anyhow::Result<String> {
        let body = json!({"connector": connector, "config": config, "credentials": credentials});
        let created = self.post("/api/v1/connections", &self.key, body).await?;
        text(&created["data"]["id"])
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(format!("{}{path}", self.process.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let answer: Value = response.json().await?;
        anyhow::ensure!(status.is_success(), "POST {path}: {status}: {answer}");
        Ok(answer)
    }
}

fn text(value: &Value) -> anyhow::Result<String> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("expected a string, got {value}"))
}
