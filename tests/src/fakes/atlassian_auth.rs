//! What the Atlassian fakes share: e-mail + API token (Basic) on the site, OAuth bearer tokens
//! on the `api.atlassian.com` gateway (which also lists the sites a grant can reach), and 429s
//! on demand.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::routing::get;

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
    throttled: Arc<AtomicU32>,
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
            throttled: Arc::default(),
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
    pub fn gateway_refusal(&self, headers: &HeaderMap, cloud_id: &str) -> Option<Response> {
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

/// A product's auth: which gateway path (`jira`, `confluence`) and the accepted credentials.
#[derive(Clone)]
struct Gate {
    auth: AtlassianAuth,
    product: &'static str,
}

impl AtlassianAuth {
    /// The next `count` requests are answered 429 with `Retry-After: retry_after` seconds.
    pub fn throttle_next(&self, count: u32) {
        self.throttled.store(count, Ordering::SeqCst);
    }

    /// Serves `api` on the site (Basic auth) and under `/ex/{product}/{cloudId}` (bearer auth),
    /// with `accessible-resources`, answering 429 (with `retry_after` seconds) while throttled.
    pub fn serve(&self, api: Router, product: &'static str, retry_after: u32) -> Router {
        let gate = Gate {
            auth: self.clone(),
            product,
        };
        let throttled = self.throttled.clone();
        Router::new()
            .merge(api.clone().route_layer(middleware::from_fn_with_state(gate.clone(), site_auth)))
            .nest(&format!("/ex/{product}/{{cloud_id}}"), api.route_layer(middleware::from_fn_with_state(gate.clone(), gateway_auth)))
            .route("/oauth/token/accessible-resources", get(accessible_resources).with_state(gate))
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                let throttled = throttled.clone();
                async move {
                    let was = throttled.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
                    if was.is_ok() {
                        return (
                            StatusCode::TOO_MANY_REQUESTS,
                            [(header::RETRY_AFTER, retry_after.to_string())],
                            Json(json!({"errorMessages": ["Rate limit exceeded."], "message": "Too many requests"})),
                        )
                            .into_response();
                    }
                    next.run(request).await
                }
            }))
    }
}

async fn site_auth(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    match gate.auth.site_refusal(request.headers()) {
        None => next.run(request).await,
        Some(refusal) => refusal,
    }
}

async fn gateway_auth(
    State(gate): State<Gate>,
    Path(params): Path<HashMap<String, String>>,
    request: Request,
    next: Next,
) -> Response {
    let cloud_id = params
        .get("cloud_id")
        .map(String::as_str)
        .unwrap_or_default();
    match gate.auth.gateway_refusal(request.headers(), cloud_id) {
        None => next.run(request).await,
        Some(refusal) => refusal,
    }
}

async fn accessible_resources(State(gate): State<Gate>, request: Request) -> Response {
    gate.auth
        .accessible_resources(request.headers(), gate.product)
}
