//! The web console at `/console`: server-rendered pages (maud) with plain HTML forms, so it
//! works without JavaScript, builds without Node, and every page is one request a browser test
//! can follow. A tenant signs in with an API key (a session cookie: HttpOnly, SameSite=Strict,
//! Secure over https; a CSRF token in every form), then connects accounts and browses them
//! through the same use cases as the REST API.
//!
//! `session` signs in and out and guards every page, `layout` is the page frame, `connect` the
//! catalogue and the connect form, `connections` the dashboard, `browse` containers, items and
//! comments, `activity` syncs, webhook endpoints and the audit log, `operator` the admin
//! token's pages (the plugin registry).

mod activity;
mod assets;
mod browse;
mod connect;
mod connections;
mod layout;
mod operator;
mod session;

use axum::Router;
use axum::routing::{get, post};

use crate::api::AppState;

/// The console's routes, merged into the API router.
pub fn router() -> Router<AppState> {
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
        .route("/console/audit", get(activity::audit))
        .route("/console/webhooks", get(activity::webhooks))
        .route("/console/connections/{id}/syncs", get(activity::syncs_page))
        .route(
            "/console/connections/{id}/syncs/{sid}/{action}",
            post(activity::sync_action),
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
        .route("/console/operator", get(operator::home))
        .route("/console/operator/sign-in", post(operator::sign_in))
        .route("/console/operator/sign-out", post(operator::sign_out))
        .route("/console/operator/plugins", get(operator::plugins))
        .route(
            "/console/operator/plugins/upload",
            post(operator::upload).layer(axum::extract::DefaultBodyLimit::max(64 << 20)),
        )
        .route(
            "/console/operator/plugins/{id}/rollback",
            post(operator::rollback),
        )
        .route(
            "/console/operator/plugins/{id}/unload",
            post(operator::unload),
        )
}
