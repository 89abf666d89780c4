//! Vendor webhooks in. A public receiver (`POST /webhooks/v1/{connector}/{route}`) verifies each
//! delivery as the connector's manifest declares, with a secret the plugin never holds (one per
//! registration, or the operator's app signing secret), refuses missing and wrong signatures,
//! stale timestamps, replayed delivery ids, unknown routes and oversized bodies, throttles per
//! route, queues the delivery durably, then lets the plugin turn it into change events that
//! enter the connection's feed and go out as `records.changed` and `vendor.event`.
//!
//! `verify` checks signatures, `receiver` is the receiving use case, `process` runs the plugin
//! on a queued delivery (and the worker that retries), `registration` creates and removes
//! vendor-side subscriptions.

mod process;
mod receiver;
mod registration;
mod settings;
mod verify;

pub use process::InboundWorker;
pub use receiver::{APP_ROUTE, Inbound, Received, Refusal, receive};
pub use registration::{NewWebhook, register, unregister, unregister_all};
pub use settings::VendorWebhookSettings;
pub use verify::{VerifyError, verify};

/// What the receiver, the worker and the registration use cases run on: the shared
/// services, the settings, and the per-route limiter.
#[derive(Clone)]
pub struct VendorWebhooks {
    services: crate::services::Services,
    /// `[vendor_webhooks]` of the configuration.
    pub settings: std::sync::Arc<VendorWebhookSettings>,
    /// The per-route limiter of verified deliveries.
    pub inbound: std::sync::Arc<Inbound>,
}

impl VendorWebhooks {
    /// The worker over `services` with `settings`.
    pub fn new(services: crate::services::Services, settings: VendorWebhookSettings) -> Self {
        let inbound = Inbound::new(&settings, services.runtime.cluster_view().clone());
        Self {
            services,
            settings: std::sync::Arc::new(settings),
            inbound,
        }
    }
}

impl std::ops::Deref for VendorWebhooks {
    type Target = crate::services::Services;

    fn deref(&self) -> &crate::services::Services {
        &self.services
    }
}
