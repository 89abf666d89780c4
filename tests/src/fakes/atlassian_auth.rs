//! How the Atlassian fakes authenticate: e-mail + API token (Basic) on the site, OAuth bearer
//! tokens on the `api.atlassian.com` gateway, which also lists the sites a grant can reach.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

/// A site a grant can reach.
#[derive(Debug, Clone)]
pub struct Site {
    pub cloud_id: String,
    pub url: String,
}

type TokenCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Accepted credentials of an Atlassian fake.
#[derive(Clone)]
pub struct AtlassianAuth {
    pub email: String,
    pub api_token: String,
    /// Sites the OAuth grant covers, in the order `accessible-resources` lists them.
    sites: Arc<Mutex<Vec<Site>>>,
    bearer_valid: TokenCheck,
}

impl AtlassianAuth {
    pub fn new(
        email: &str,
        api_token: &str,
        bearer_valid: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            email: email.into(),
            api_token: api_token.into(),
            sites: Arc::default(),
            bearer_valid: Arc::new(bearer_valid),
        }
    }

    /// Adds a site the grant covers (after the fake started, when its origin is known).
    pub fn add_site(&self, cloud_id: &str, url: &str) {
        self.sites.lock().expect("sites").push(Site {
            cloud_id: cloud_id.into(),
            url: url.into(),
        });
    }

    fn sites(&self) -> Vec<Site> {
        self.sites.lock().expect("sites").clone()
    }

    fn unauthorized() -> Response {
        (StatusCode::UNAUTHORIZED, Json(json!({"message": "Client must be authenticated to access this resource.", "status-code": 401})))
            .into_response()
    }

    /// The 401 for a request without Basic e-mail:token, as the site accepts; `None` when it
    /// has them.
    pub fn site_refusal(&self, headers: &HeaderMap) -> Option<Response> {
        let expected = format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.email, self.api_token))
        );
        match headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            Some(value) if value == expected => None,
            _ => Some(Self::unauthorized()),
        }
    }

    fn bearer_ok(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|token| (self.bearer_valid)(token))
    }

    /// The refusal for a gateway request without a bearer token of the grant, or for a cloud
    /// id the grant does not cover; `None` when it may pass.
    pub fn gateway_refusal(
        &self,
        headers: &HeaderMap,
        cloud_id: &str,
        _product: &str,
    ) -> Option<Response> {
        if !self.bearer_ok(headers) {
            return Some(Self::unauthorized());
        }
        if !self.sites().iter().any(|s| s.cloud_id == cloud_id) {
            return Some(
                (
                    StatusCode::NOT_FOUND,
                    Json(json!({"message": "Cloud id not found or not accessible"})),
                )
                    .into_response(),
            );
        }
        None
    }

    /// `GET /oauth/token/accessible-resources`.
    pub fn accessible_resources(&self, headers: &HeaderMap, product: &str) -> Response {
        if !self.bearer_ok(headers) {
            return Self::unauthorized();
        }
        let sites: Vec<_> = self
            .sites()
            .iter()
            .map(|s| json!({"id": s.cloud_id, "url": s.url, "name": s.url, "scopes": [format!("read:{product}-work")], "avatarUrl": ""}))
            .collect();
        Json(sites).into_response()
    }
}
