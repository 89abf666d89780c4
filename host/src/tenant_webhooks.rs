//! Webhooks to tenants, as the Standard Webhooks spec describes them: endpoints a tenant
//! registers, events fanned out from the store's outbox to a durable delivery queue, each
//! attempt signed (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried with
//! backoff and jitter, `Retry-After` honoured, 410 disabling the endpoint, a circuit breaker
//! per endpoint.
//!
//! `endpoints` holds the use cases the REST API runs, `destination` checks where a delivery
//! may go, `signing` the signatures, `backoff` when to try again, `dispatcher` the loop.

mod backoff;
mod destination;
mod dispatcher;
mod endpoints;
mod settings;
pub mod signing;

pub use dispatcher::Dispatcher;
pub use endpoints::{
    EndpointPatch, NewEndpoint, create, delete, load, patch, replay, rotate_secret, send_test,
};
pub use settings::WebhookSettings;

/// What the endpoint use cases and the dispatcher run on: the shared services and the
/// webhooks' own settings.
#[derive(Clone)]
pub struct TenantWebhooks {
    services: crate::services::Services,
    /// `[webhooks]` of the configuration.
    pub settings: std::sync::Arc<WebhookSettings>,
}

impl TenantWebhooks {
    /// The worker over `services` with `settings`.
    pub fn new(services: crate::services::Services, settings: WebhookSettings) -> Self {
        Self {
            services,
            settings: std::sync::Arc::new(settings),
        }
    }
}

impl std::ops::Deref for TenantWebhooks {
    type Target = crate::services::Services;

    fn deref(&self) -> &crate::services::Services {
        &self.services
    }
}
