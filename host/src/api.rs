//! The HTTP surface: REST API v1, the admin API, health and metrics. Every answer, the
//! framework's own 404/405/413/422 included, is in the envelope and carries `X-Request-Id`.

mod actions;
pub(crate) mod admin;
pub(crate) mod api_keys;
mod audit;
pub mod auth;
mod changes;
mod close_on_refused_body;
pub(crate) mod connection_calls;
pub(crate) mod connections;
mod connectors;
mod cursors;
mod envelope;
mod error;
mod extract;
mod health;
mod mcp;
mod metrics;
mod oauth;
pub mod openapi;
mod page_cursor;
mod plugins;
pub mod request_id;
mod resources;
pub mod served_by;
mod syncs;
mod tenant_settings;
mod timestamp;
pub(crate) mod tools;
pub(crate) mod unified;
mod vendor_webhooks;
pub(crate) mod views;
mod webhook_endpoints;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;

pub use admin::{create_tenant_in, issue_key_in, rotate_keys_in};
pub use auth::{AuthSettings, KeyRateLimit};
pub use envelope::Envelope;
pub use error::{ApiError, ErrorCode};

use std::sync::Arc;
use std::time::Duration;

use crate::config::QuotasConfig;
use crate::credentials::{OAuthFlow, Refresher};
use crate::loader::Loader;
use crate::runtime::Runtime;
use crate::store::Store;

/// What the API enforces besides authentication (from `HostConfig`).
#[derive(Clone, Debug)]
pub struct ApiSettings {
    /// Deadline of the checks a client waits for on create and update. Default: 10 s.
    pub connect_timeout: Duration,
    /// Per-tenant quotas.
    pub quotas: QuotasConfig,
    /// `/metrics` answers without the admin token. Default: false.
    pub metrics_public: bool,
    /// Time one request may take from its headers to its response. Default: 60 s.
    pub request_timeout: Duration,
    /// This host's public base URL (`public_url`, else `http://LISTEN`), for links it hands
    /// out. Default: `http://127.0.0.1:8080`.
    pub public_url: String,
    /// Browser origins, besides the host's own, that may call `/mcp`. Default: none.
    pub mcp_allowed_origins: Vec<String>,
    /// Syncs and the changes feed.
    pub syncs: crate::syncs::SyncSettings,
    /// Webhook deliveries to tenants.
    pub webhooks: crate::tenant_webhooks::WebhookSettings,
    /// Vendors' webhook deliveries in.
    pub vendor_webhooks: crate::vendor_webhooks::VendorWebhookSettings,
    /// Requests per source address on the surfaces that need no credentials.
    pub sources: crate::source_limit::SourceRate,
}

/// Wakes the background loops when the API gives them work, so a "run now" or a test event
/// does not wait for the next tick.
#[derive(Clone, Default)]
pub struct Background {
    pub syncs: Arc<tokio::sync::Notify>,
    pub deliveries: Arc<tokio::sync::Notify>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            quotas: QuotasConfig::default(),
            metrics_public: false,
            request_timeout: Duration::from_secs(60),
            public_url: "http://127.0.0.1:8080".into(),
            mcp_allowed_origins: Vec::new(),
            syncs: crate::syncs::SyncSettings::default(),
            webhooks: crate::tenant_webhooks::WebhookSettings::default(),
            vendor_webhooks: crate::vendor_webhooks::VendorWebhookSettings::default(),
            sources: crate::source_limit::SourceRate::default(),
        }
    }
}

/// Shared state of every handler. One `Arc`: the router clones it for every layer of every
/// request, so a clone must be one atomic increment, not ~40 (the store's trees, the Arcs).
#[derive(Clone)]
pub struct AppState(Arc<AppStateParts>);

/// What [`AppState`] shares; reached through `Deref`.
pub struct AppStateParts {
    pub runtime: Runtime,
    pub loader: Loader,
    pub store: Store,
    pub auth: AuthSettings,
    pub oauth: Arc<OAuthFlow>,
    pub refresher: Arc<Refresher>,
    pub metrics: PrometheusHandle,
    pub settings: ApiSettings,
    pub background: Background,
    /// The vendor webhook receiver's limiter and its worker's wake-up.
    pub inbound: Arc<crate::vendor_webhooks::Inbound>,
    /// The per-source limit in front of every surface that needs no credentials.
    pub sources: crate::source_limit::SourceLimiter,
    /// The sampled log line of refusals on those surfaces.
    pub refusal_log: crate::source_limit::LogSampler,
}

impl AppState {
    pub fn new(
        loader: Loader,
        store: Store,
        auth: AuthSettings,
        oauth: Arc<OAuthFlow>,
        refresher: Arc<Refresher>,
        settings: ApiSettings,
    ) -> Self {
        Self(Arc::new(AppStateParts {
            runtime: loader.runtime().clone(),
            loader,
            store,
            auth,
            oauth,
            refresher,
            metrics: metrics::handle(),
            inbound: crate::vendor_webhooks::Inbound::new(&settings.vendor_webhooks),
            sources: crate::source_limit::SourceLimiter::new(settings.sources),
            refusal_log: crate::source_limit::LogSampler::default(),
            settings,
            background: Background::default(),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateParts;

    fn deref(&self) -> &AppStateParts {
        &self.0
    }
}

/// `GET /openapi.json`.
async fn openapi_json() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        openapi::json(),
    )
        .into_response()
}

/// Largest request body accepted. Default: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The router of the operator's own metrics address (`metrics_listen`): `/metrics` only.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::render_open))
        .fallback(error::not_found)
        .with_state(state)
}

/// Answers 503 in the envelope when a request runs past `request_timeout` (the request's work
/// is dropped; a plugin call is bounded by its own, shorter deadline anyway).
async fn request_timeout(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let limit = state.settings.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut error = ApiError::new(
                ErrorCode::InternalError,
                format!(
                    "the request took longer than the host allows ({} s)",
                    limit.as_secs()
                ),
            )
            .with_status(axum::http::StatusCode::SERVICE_UNAVAILABLE);
            error.retry_after_secs = Some(1);
            error.into_response()
        }
    }
}

/// The API reference UI at `/docs`: Swagger UI's files from the binary, reading the document
/// at `/openapi.json`, under a Content Security Policy that runs only this origin's scripts
/// (the console shares the origin, so a third-party script here could act as a signed-in user).
fn reference_ui() -> Router<AppState> {
    use axum::http::{HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    let ui = utoipa_swagger_ui::SwaggerUi::new("/docs")
        .config(utoipa_swagger_ui::Config::from("/openapi.json"));
    Router::from(ui).layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'",
        ),
    ))
}

/// Builds the router with every route and the cross-cutting layers.
pub fn router(state: AppState) -> Router {
    let connection = "/api/v1/connections/{id}";
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .route("/openapi.json", get(openapi_json))
        .merge(reference_ui())
        .route(
            "/admin/v1/tenants",
            post(admin::create_tenant).get(admin::list_tenants),
        )
        .route(
            "/admin/v1/tenants/{tenant}/api-keys",
            post(admin::issue_key).get(api_keys::list),
        )
        .route(
            "/admin/v1/tenants/{tenant}/api-keys/{id}",
            axum::routing::delete(api_keys::revoke),
        )
        .route("/api/v1/api-keys/rotate", post(api_keys::rotate))
        .route(
            "/api/v1/settings",
            get(tenant_settings::get).put(tenant_settings::put),
        )
        .route("/admin/v1/keys/rotate", post(admin::rotate_keys))
        .route("/admin/v1/audit", get(audit::admin_list))
        .route("/admin/v1/plugins", get(plugins::list))
        .route(
            "/admin/v1/plugins/{id}",
            get(plugins::get)
                .put(plugins::upload)
                .delete(plugins::unload),
        )
        .route("/admin/v1/plugins/{id}/rollback", post(plugins::rollback))
        .route("/api/v1/connectors", get(connectors::list))
        .route("/api/v1/connectors/{connector}", get(connectors::get))
        .route(
            "/api/v1/connections",
            post(connections::create).get(connections::list),
        )
        .route(
            connection,
            get(connections::get)
                .patch(connections::patch)
                .delete(connections::delete),
        )
        .route(
            &format!("{connection}/validate"),
            post(connections::validate),
        )
        .route(
            &format!("{connection}/containers"),
            get(resources::containers),
        )
        .route(&format!("{connection}/actions"), get(actions::list))
        .route(
            &format!("{connection}/actions/{{name}}"),
            post(actions::invoke),
        )
        .route(
            &format!("{connection}/containers/{{container}}/items"),
            get(resources::items).post(resources::create_item),
        )
        .route(
            &format!("{connection}/items/{{item}}"),
            get(resources::item).patch(resources::update_item),
        )
        .route(
            &format!("{connection}/items/{{item}}/comments"),
            get(resources::comments).post(resources::create_comment),
        )
        .route(&format!("{connection}/search"), get(resources::search))
        .route(&format!("{connection}/cursors"), get(cursors::list))
        .route(
            &format!("{connection}/cursors/{{stream}}"),
            get(cursors::get).put(cursors::put).delete(cursors::delete),
        )
        .route(
            &format!("{connection}/syncs"),
            post(syncs::create).get(syncs::list),
        )
        .route(
            &format!("{connection}/syncs/{{sid}}"),
            get(syncs::get).patch(syncs::patch).delete(syncs::delete),
        )
        .route(
            &format!("{connection}/syncs/{{sid}}/pause"),
            post(syncs::pause),
        )
        .route(
            &format!("{connection}/syncs/{{sid}}/resume"),
            post(syncs::resume),
        )
        .route(&format!("{connection}/syncs/{{sid}}/run"), post(syncs::run))
        .route(
            &format!("{connection}/syncs/{{sid}}/runs"),
            get(syncs::runs),
        )
        .route(&format!("{connection}/changes"), get(changes::list))
        .route(
            "/api/v1/webhook-endpoints",
            post(webhook_endpoints::create).get(webhook_endpoints::list),
        )
        .route(
            "/api/v1/webhook-endpoints/{eid}",
            get(webhook_endpoints::get)
                .patch(webhook_endpoints::patch)
                .delete(webhook_endpoints::delete),
        )
        .route(
            "/api/v1/webhook-endpoints/{eid}/rotate-secret",
            post(webhook_endpoints::rotate),
        )
        .route(
            "/api/v1/webhook-endpoints/{eid}/test",
            post(webhook_endpoints::test),
        )
        .route(
            "/api/v1/webhook-endpoints/{eid}/deliveries",
            get(webhook_endpoints::deliveries),
        )
        .route(
            "/api/v1/webhook-endpoints/{eid}/deliveries/{did}",
            get(webhook_endpoints::delivery),
        )
        .route(
            "/api/v1/webhook-endpoints/{eid}/deliveries/{did}/replay",
            post(webhook_endpoints::replay),
        )
        .route(
            &format!("{connection}/webhooks"),
            post(vendor_webhooks::register).get(vendor_webhooks::list),
        )
        .route(
            &format!("{connection}/webhooks/{{wid}}"),
            axum::routing::delete(vendor_webhooks::unregister),
        )
        .route(
            "/webhooks/v1/{connector}/{route}",
            post(vendor_webhooks::receive),
        )
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/tools", get(tools::list))
        .route("/api/v1/tools/invoke", post(tools::invoke_tool))
        .merge(mcp::router(state.clone()))
        .merge(crate::console::router())
        .route(
            "/api/v1/connectors/{connector}/oauth-app",
            axum::routing::put(oauth::put_app),
        )
        .route(
            "/api/v1/oauth/{connector}/authorize",
            post(oauth::authorize),
        )
        .route("/api/v1/oauth/start", get(oauth::start))
        .route(
            "/api/v1/oauth/callback",
            get(oauth::callback_browser).post(oauth::callback_client),
        )
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_timeout,
        ))
        .layer(axum::middleware::from_fn(served_by::annotate))
        .layer(axum::middleware::from_fn(close_on_refused_body::mark))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            error::panic_response,
        ))
        .layer(axum::middleware::from_fn(request_id::propagate))
        .with_state(state)
}
