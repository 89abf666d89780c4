//! The REST face: API v1, the admin API, health and metrics, over the application layer
//! (`app`); every handler parses, runs one use case and writes the envelope. Every answer, the
//! framework's own 404/405/413/422 included, is in the envelope and carries `X-Request-Id`.

mod actions;
mod admin;
mod api_keys;
mod audit;
mod changes;
mod close_on_refused_body;
mod connections;
mod connectors;
mod cursors;
mod envelope;
mod extract;
mod health;
mod metrics;
mod oauth;
pub mod openapi;
mod plugins;
mod resources;
mod served_by;
mod syncs;
mod tenant_settings;
mod tools;
mod vendor_webhooks;
mod webhook_endpoints;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};

pub use envelope::Envelope;
pub use metrics::handle as metrics_handle;

use crate::app::App;
use crate::error::{self, ApiError, ErrorCode};
use crate::request_id;

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
pub fn metrics_router(state: App) -> Router {
    Router::new()
        .route("/metrics", get(metrics::render_open))
        .fallback(error::not_found)
        .with_state(state)
}

/// Answers 503 in the envelope when a request runs past `request_timeout` (the request's work
/// is dropped; a plugin call is bounded by its own, shorter deadline anyway).
async fn request_timeout(
    State(state): State<App>,
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
fn reference_ui() -> Router<App> {
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
pub fn router(state: App) -> Router {
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
        .merge(crate::mcp::router(state.clone()))
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
        .layer(axum::middleware::from_fn(close_on_refused_body::mark))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            error::panic_response,
        ))
        .layer(axum::middleware::from_fn(request_id::propagate))
        .with_state(state)
}
