//! One tenant on a fresh test server, seen through its API key: what every connector's
//! end-to-end test starts from (connect with a pasted token, page through lists, call).

use reqwest::Method;
use serde_json::{Value, json};

use super::TestServer;

/// Tenant `acme` on its own server, with its API key.
pub struct TenantSession {
    pub server: TestServer,
    pub key: String,
}

impl TenantSession {
    pub async fn start() -> Self {
        let server = TestServer::start().await;
        let key = server.tenant("acme").await;
        Self { server, key }
    }

    /// A call with the tenant's key: status and JSON body.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.server.send(method, path, Some(&self.key), body).await
    }

    /// A `GET` that must answer 200: its JSON body.
    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.send(Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// A `GET` as the raw response, to read its headers.
    pub async fn get_response(&self, path: &str) -> reqwest::Response {
        self.server
            .client
            .get(format!("{}{path}", self.server.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("the host answers")
    }

    /// The vendor throttles the next call: a `GET` of `path` answers 429 `RATE_LIMITED` with
    /// `Retry-After: retry_after` (seconds).
    pub async fn assert_rate_limited(&self, path: &str, retry_after: &str) {
        let response = self.get_response(path).await;
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], retry_after);
        let body: Value = response.json().await.expect("a JSON envelope");
        assert_eq!(body["error"]["code"], "RATE_LIMITED");
    }

    /// The vendor revoked the credential: a `GET` of `path` answers 409 `REAUTH_REQUIRED`, and
    /// the connection at `connection` shows `invalid_credentials`.
    pub async fn assert_needs_reauth(&self, connection: &str, path: &str) {
        let revoked = self.send(Method::GET, path, None).await;
        assert_eq!(
            error_code(&revoked),
            (409, Some("REAUTH_REQUIRED")),
            "{}",
            revoked.1
        );
        let (_, record) = self.send(Method::GET, connection, None).await;
        assert_eq!(record["data"]["status"], "invalid_credentials");
    }

    /// Every id of a paged list, and how many pages it took.
    pub async fn ids(&self, path: &str) -> (Vec<String>, usize) {
        self.server.all_pages(&self.key, path).await
    }

    /// Creates a `connector` connection to the vendor at `api_url` (its config key of that
    /// name) with a pasted bearer `token`.
    pub async fn connect_bearer(
        &self,
        connector: &str,
        api_url: &str,
        token: &str,
    ) -> (u16, Value) {
        let body = json!({
            "connector": connector,
            "config": {"api_url": api_url},
            "credentials": {"type": "bearer", "token": token},
        });
        self.send(Method::POST, "/api/v1/connections", Some(body))
            .await
    }

    /// [`TenantSession::connect_bearer`], which must succeed: the connection's path
    /// (`/api/v1/connections/{id}`).
    pub async fn connected_bearer(&self, connector: &str, api_url: &str, token: &str) -> String {
        let (status, created) = self.connect_bearer(connector, api_url, token).await;
        assert_eq!(status, 201, "{created}");
        connection_path(&created)
    }
}

/// The entries of a page's envelope.
pub fn entries(page: &Value) -> &Vec<Value> {
    page["data"]["entries"].as_array().expect("entries")
}

/// `/api/v1/connections/{id}` of a created connection's envelope.
pub fn connection_path(created: &Value) -> String {
    format!(
        "/api/v1/connections/{}",
        created["data"]["id"].as_str().expect("a connection id")
    )
}

/// The status and error code of an answer, to assert a refusal in one line
/// (`(422, Some("VALIDATION"))`).
pub fn error_code(answer: &(u16, Value)) -> (u16, Option<&str>) {
    (answer.0, answer.1["error"]["code"].as_str())
}
