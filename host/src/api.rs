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
mod mcp_clients;
mod metrics;
mod oauth;
pub mod openapi;
mod plugins;
mod resources;
mod syncs;
mod tenant_settings;
mod tool_packs;
mod tool_policy;
mod tools;
mod usage;
mod vendor_webhooks;
mod webhook_endpoints;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

pub use crate::app::MAX_BODY_BYTES;

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

/// The REST face: every documented route, each declared once, by its handler's
/// `#[utoipa::path]` (the path, the method, the parameters and the answers), gathered here by
/// path; the OpenAPI document is built from the same list (`openapi::document`).
pub fn documented_routes() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        // The operator.
        .routes(routes!(admin::create_tenant, admin::list_tenants))
        .routes(routes!(admin::issue_key, api_keys::list))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(admin::rotate_keys))
        .routes(routes!(usage::all_usage))
        .routes(routes!(usage::set_limit))
        .routes(routes!(audit::admin_list))
        .routes(routes!(plugins::list))
        .routes(routes!(plugins::get, plugins::upload, plugins::unload))
        .routes(routes!(plugins::rollback))
        // A tenant's own settings and keys.
        .routes(routes!(api_keys::rotate))
        .routes(routes!(tenant_settings::get, tenant_settings::put))
        .routes(routes!(audit::list))
        // Connectors and connections.
        .routes(routes!(connectors::list))
        .routes(routes!(
            connectors::get,
            connectors::upload,
            connectors::remove
        ))
        .routes(routes!(connections::create, connections::list))
        .routes(routes!(
            connections::get,
            connections::patch,
            connections::delete
        ))
        .routes(routes!(connections::validate))
        .routes(routes!(oauth::put_app))
        .routes(routes!(oauth::authorize))
        .routes(routes!(oauth::start))
        .routes(routes!(oauth::callback_browser, oauth::callback_client))
        // Through a connection.
        .routes(routes!(resources::containers))
        .routes(routes!(resources::items, resources::create_item))
        .routes(routes!(resources::item, resources::update_item))
        .routes(routes!(resources::comments, resources::create_comment))
        .routes(routes!(resources::search))
        .routes(routes!(actions::list))
        .routes(routes!(actions::invoke))
        .routes(routes!(cursors::list))
        .routes(routes!(cursors::get, cursors::put, cursors::delete))
        .routes(routes!(mcp_clients::list))
        .routes(routes!(mcp_clients::revoke))
        // Usage.
        .routes(routes!(usage::tenant_usage))
        // Agent tools.
        .routes(routes!(tools::list))
        .routes(routes!(tools::invoke_tool))
        .routes(routes!(tool_packs::search))
        .routes(routes!(tool_packs::list))
        .routes(routes!(tool_packs::put, tool_packs::delete))
        .routes(routes!(tool_policy::get, tool_policy::put))
        // Syncs and the changes feed.
        .routes(routes!(syncs::create, syncs::list))
        .routes(routes!(syncs::get, syncs::patch, syncs::delete))
        .routes(routes!(syncs::pause))
        .routes(routes!(syncs::resume))
        .routes(routes!(syncs::run))
        .routes(routes!(syncs::runs))
        .routes(routes!(changes::list))
        // Webhooks out to a tenant's endpoints.
        .routes(routes!(webhook_endpoints::create, webhook_endpoints::list))
        .routes(routes!(
            webhook_endpoints::get,
            webhook_endpoints::patch,
            webhook_endpoints::delete
        ))
        .routes(routes!(webhook_endpoints::rotate))
        .routes(routes!(webhook_endpoints::test))
        .routes(routes!(webhook_endpoints::deliveries))
        .routes(routes!(webhook_endpoints::delivery))
        .routes(routes!(webhook_endpoints::replay))
        // Vendors' webhooks in.
        .routes(routes!(vendor_webhooks::register, vendor_webhooks::list))
        .routes(routes!(vendor_webhooks::unregister))
        .routes(routes!(vendor_webhooks::receive))
}

/// The REST face's router: the documented routes, then the few that are not API operations
/// (`/metrics`, the document itself and its reference UI).
pub fn router() -> Router<App> {
    let (router, _) = documented_routes().split_for_parts();
    router
        .route("/metrics", get(metrics::render))
        .route("/openapi.json", get(openapi_json))
        .merge(reference_ui())
}

/// Every face's routes under the layers they share: the envelope's 404 and 405, the body limit,
/// the request deadline, request metrics, the request's server span, a panic answered as a
/// 500, and the request id.
pub fn with_shared_layers(faces: Router<App>, state: App) -> Router {
    faces
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_timeout,
        ))
        .layer(axum::middleware::from_fn(close_on_refused_body::mark))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(crate::telemetry::server_span))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            error::panic_response,
        ))
        .layer(axum::middleware::from_fn(request_id::propagate))
        .with_state(state)
}
