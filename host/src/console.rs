//! The web console at `/console`: server-rendered pages (maud) with plain HTML forms, so it
//! works without JavaScript, builds without Node, and every page is one request a browser test
//! can follow. A tenant signs in with an API key (a session cookie: HttpOnly, SameSite=Strict,
//! Secure over https; a CSRF token in every form), then connects accounts and browses them
//! through the same use cases as the REST API.
//!
//! `session` signs in and out and guards every page, `layout` is the page frame, `connect` the
//! catalogue and the connect form, `connections` the dashboard, `browse` containers, items and
//! comments, `syncs` a connection's syncs and cursors, `webhooks` the tenant's endpoints,
//! `tools` the agent tools, `audit` the audit logs, `operator` the admin token's pages
//! (plugins, tenants and API keys, the host's audit log).

mod assets;
mod audit;
mod authorize;
mod browse;
mod connect;
mod connections;
mod layout;
mod mcp_clients;
mod operator;
mod session;
mod syncs;
mod tools;
mod usage;
mod webhooks;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::App;

/// The console's content security policy (the consent page widens `form-action` to the
/// client's redirect URI).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What every console answer carries: only the console's own stylesheet and script run (no
/// inline script, so injected markup cannot execute), forms post only to this origin, and no
/// other site may frame a page (a framed console button is a clickjacking target).
const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
];

/// The console's routes, merged into the API router.
pub fn router() -> Router<App> {
    let mut router = pages();
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router
}

fn pages() -> Router<App> {
    Router::new()
        .route("/console", get(session::home))
        .route(
            "/console/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/assets/console.css", get(assets::css))
        .route("/console/assets/console.js", get(assets::js))
        .route("/console/connections/{id}/search", get(browse::search))
        .route(
            "/console/connections/{id}/containers/{container}/items",
            post(browse::create_item),
        )
        .route("/console/connections", get(connections::dashboard))
        .route(
            "/console/connections/{id}/delete",
            post(connections::delete),
        )
        .route("/console/connections/{id}", get(browse::containers))
        .route(
            "/console/connections/{id}/containers/{container}",
            get(browse::items),
        )
        .route("/console/connections/{id}/items/{item}", get(browse::item))
        .route(
            "/console/connections/{id}/items/{item}/comments",
            post(browse::add_comment),
        )
        .route("/console/connectors", get(connect::catalogue))
        .route("/console/audit", get(audit::tenant_log))
        .route("/console/usage", get(usage::show))
        .route(
            "/console/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route("/console/webhooks/{eid}/{action}", post(webhooks::action))
        .route(
            "/console/webhooks/{eid}/deliveries/{did}/replay",
            post(webhooks::replay),
        )
        .route("/console/tools", get(tools::list))
        .route("/console/tools/{name}", get(tools::show).post(tools::run))
        .route(
            "/console/connections/{id}/syncs",
            get(syncs::list).post(syncs::create),
        )
        .route(
            "/console/connections/{id}/syncs/{sid}/{action}",
            post(syncs::action),
        )
        .route(
            "/console/connections/{id}/cursors/{stream}/delete",
            post(syncs::delete_cursor),
        )
        .route(
            "/console/connectors/{connector}/connect",
            get(connect::form).post(connect::submit),
        )
        .route(
            "/console/connectors/{connector}/oauth",
            post(connect::submit_oauth),
        )
        .route("/console/oauth/landed", get(connect::landed))
        .route(
            "/console/authorize",
            get(authorize::page_for).post(authorize::decide),
        )
        .route("/console/mcp-clients", get(mcp_clients::list))
        .route(
            "/console/mcp-clients/{id}/revoke",
            post(mcp_clients::revoke),
        )
        .merge(operator::router())
}
