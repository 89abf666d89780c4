//! The HTTP surface: REST API v1, the admin API, health and metrics. Every answer, the
//! framework's own 404/405/413/422 included, is in the envelope and carries `X-Request-Id`.

mod admin;
mod audit;
pub mod auth;
mod connection_calls;
mod connections;
mod connectors;
mod cursors;
mod envelope;
mod error;
mod extract;
mod health;
mod metrics;
mod oauth;
pub mod openapi;
mod page_cursor;
mod plugins;
pub mod request_id;
mod resources;
pub mod served_by;
mod views;

use axum::Router;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use utoipa_scalar::{Scalar, Servable as _};

pub use admin::{create_tenant_in, issue_key_in, rotate_keys_in};
pub use auth::AuthSettings;
pub use envelope::Envelope;
pub use error::{ApiError, ErrorCode};

use std::sync::Arc;

use crate::credentials::{OAuthFlow, Refresher};
use crate::loader::Loader;
use crate::runtime::Runtime;
use crate::store::Store;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub runtime: Runtime,
    pub loader: Loader,
    pub store: Store,
    pub auth: AuthSettings,
    pub oauth: Arc<OAuthFlow>,
    pub refresher: Arc<Refresher>,
    pub metrics: PrometheusHandle,
}

impl AppState {
    pub fn new(
        loader: Loader,
        store: Store,
        auth: AuthSettings,
        oauth: Arc<OAuthFlow>,
        refresher: Arc<Refresher>,
    ) -> Self {
        Self {
            runtime: loader.runtime().clone(),
            loader,
            store,
            auth,
            oauth,
            refresher,
            metrics: metrics::handle(),
        }
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

/// Builds the router with every route and the cross-cutting layers.
pub fn router(state: AppState) -> Router {
    let connection = "/api/v1/connections/{id}";
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .route("/openapi.json", get(openapi_json))
        .merge(Scalar::with_url(
            "/docs",
            <openapi::ApiDoc as utoipa::OpenApi>::openapi(),
        ))
        .route(
            "/admin/v1/tenants",
            post(admin::create_tenant).get(admin::list_tenants),
        )
        .route(
            "/admin/v1/tenants/{tenant}/api-keys",
            post(admin::issue_key),
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
        .route("/api/v1/audit", get(audit::list))
        .route(
            "/api/v1/connectors/{connector}/oauth-app",
            axum::routing::put(oauth::put_app),
        )
        .route(
            "/api/v1/oauth/{connector}/authorize",
            post(oauth::authorize),
        )
        .route(
            "/api/v1/oauth/callback",
            get(oauth::callback_browser).post(oauth::callback_client),
        )
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(served_by::annotate))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            error::panic_response,
        ))
        .layer(axum::middleware::from_fn(request_id::propagate))
        .with_state(state)
}
