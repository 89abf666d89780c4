//! The HTTP surface: envelope, errors, routes.

mod connectors;
mod envelope;
mod error;
mod health;
mod request_id;

use axum::Router;
use axum::routing::get;

pub use envelope::Envelope;
pub use error::{ApiError, ErrorCode};
pub use request_id::RequestId;

use crate::runtime::Runtime;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub runtime: Runtime,
}

/// Largest request body accepted. Default: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Builds the router with every route and the cross-cutting layers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/v1/connectors", get(connectors::list))
        .route("/api/v1/connectors/{connector}", get(connectors::get))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(request_id::propagate))
        .with_state(state)
}
