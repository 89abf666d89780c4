//! The real `connector-host` binary as a child process, for tests that kill or restart it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The binary: `CONNECTOR_TEST_HOST_BIN` (set by `cargo xtask test`), else `target/debug`.
pub fn host_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CONNECTOR_TEST_HOST_BIN") {
        return PathBuf::from(path);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/connector-host");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo xtask test`",
        path.display()
    );
    path
}

/// A running host process on its own port and data dir. Killed when dropped.
pub struct HostProcess {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl HostProcess {
    /// Starts `connector-host serve` with `env` and waits until `/healthz` answers.
    pub async fn start(data_dir: &Path, plugins_dir: &Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = data_dir.join(format!("host-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(host_binary())
            .arg("serve")
            .env_clear()
            .env("CONNECTOR_HOST_LISTEN", format!("127.0.0.1:{port}"))
            .env("CONNECTOR_HOST_DATA_DIR", data_dir)
            .env("CONNECTOR_HOST_PLUGINS_DIR", plugins_dir)
            .env("CONNECTOR_HOST_ALLOW_PRIVATE_EGRESS", "true")
            .env("CONNECTOR_HOST_LOG_FORMAT", "json")
            // The process tests drive one key hard on purpose (crash safety, not rate limits).
            .env(
                "CONNECTOR_HOST_LIMITS__API_KEY_REQUESTS_PER_SECOND",
                "100000",
            )
            .env("CONNECTOR_HOST_LIMITS__API_KEY_BURST", "100000")
            .env(
                "CONNECTOR_HOST_LOG",
                "debug,connector_host=trace,plugin=trace",
            )
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start connector-host");
        let host = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        host.wait_ready().await;
        host
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::builder()
            // Below the server's idle keep-alive limit (`header_read_timeout_ms`), so the
            // client never reuses a connection the server is closing.
            .pool_idle_timeout(std::time::Duration::from_secs(5))
            .build()
            .expect("client");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if client
                .get(format!("{}/healthz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "connector-host did not become ready; log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait: the graceful path.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }

    /// What the process logged.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Runs `connector-host ARGS` to completion with the given data dir; returns stdout.
pub fn run_cli(data_dir: &Path, args: &[&str]) -> String {
    run_cli_with(data_dir, &[], args)
}

/// Like [`run_cli`], with `env` (`CONNECTOR_HOST_...` settings) added.
pub fn run_cli_with(data_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let output = Command::new(host_binary())
        .args(args)
        .env_clear()
        .env("CONNECTOR_HOST_DATA_DIR", data_dir)
        .envs(env.iter().copied())
        .output()
        .expect("run connector-host");
    assert!(
        output.status.success(),
        "connector-host {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The admin token of host processes the tests start (`CONNECTOR_HOST_ADMIN_TOKEN`).
pub const PROCESS_ADMIN_TOKEN: &str = "process-admin-token-0123456789";

/// A client of one host process, as its operator and its tenants.
pub struct ProcessApi {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The HTTP client.
    pub client: reqwest::Client,
}

impl ProcessApi {
    /// A client of `host`.
    pub fn of(host: &HostProcess) -> Self {
        Self {
            base: host.base.clone(),
            client: reqwest::Client::new(),
        }
    }

    /// Sends one request; answers the status and the JSON body (`null` when none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> reqwest::Result<(u16, Value)> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Creates `tenant` and answers a new API key of it.
    pub async fn tenant_key(&self, tenant: &str) -> String {
        let (status, _) = self
            .call(
                reqwest::Method::POST,
                "/admin/v1/tenants",
                PROCESS_ADMIN_TOKEN,
                Some(json!({"id": tenant, "name": tenant})),
            )
            .await
            .unwrap();
        assert_eq!(status, 201);
        let (_, key) = self
            .call(
                reqwest::Method::POST,
                &format!("/admin/v1/tenants/{tenant}/api-keys"),
                PROCESS_ADMIN_TOKEN,
                None,
            )
            .await
            .unwrap();
        key["data"]["key"].as_str().unwrap().to_owned()
    }

    /// Creates a `probe` connection to `origin` with a bearer token.
    pub async fn create(
        &self,
        key: &str,
        origin: &str,
        token: &str,
    ) -> reqwest::Result<(u16, Value)> {
        let body = json!({"connector": "probe", "config": {"base_url": origin}, "credentials": {"type": "bearer", "token": token}});
        self.call(
            reqwest::Method::POST,
            "/api/v1/connections",
            key,
            Some(body),
        )
        .await
    }

    /// Validates the connection and returns the bearer token the vendor received for it.
    pub async fn token_in_use(
        &self,
        key: &str,
        id: &str,
        vendor: &crate::fakes::ProbeVendor,
    ) -> String {
        let before = vendor.recorder.to_path("/me").len();
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/connections/{id}/validate"),
                key,
                None,
            )
            .await
            .unwrap();
        assert_eq!(status, 200, "{id}: {body}");
        let sent = vendor.recorder.to_path("/me");
        sent[before..]
            .last()
            .and_then(|r| r.header("authorization"))
            .unwrap_or_default()
            .trim_start_matches("Bearer ")
            .to_owned()
    }
}
