//! Sync jobs: the host lists a connection's container on a schedule, compares what it finds
//! with what it saw before, and records creates, updates and deletes in the connection's
//! changes feed, with a `records.changed` event for the tenant's webhook endpoints.
//!
//! `manage` holds the use cases the REST API runs (create, pause, run now, ...), `scheduler`
//! starts due runs under leases, `run` is one run (page by page, checkpointed), `classify`
//! compares a page with what the sync saw.

mod classify;
mod manage;
mod run;
mod scheduler;
mod settings;

pub use manage::{NewSync, SyncPatch, create, delete, load, patch, run_now};
pub use scheduler::SyncScheduler;
pub use settings::SyncSettings;

/// What the sync use cases and the scheduler run on: the shared services and the syncs' own
/// settings.
#[derive(Clone)]
pub struct Syncs {
    services: crate::services::Services,
    /// `[syncs]` of the configuration.
    pub settings: std::sync::Arc<SyncSettings>,
}

impl Syncs {
    /// The worker over `services` with `settings`.
    pub fn new(services: crate::services::Services, settings: SyncSettings) -> Self {
        Self {
            services,
            settings: std::sync::Arc::new(settings),
        }
    }
}

impl std::ops::Deref for Syncs {
    type Target = crate::services::Services;

    fn deref(&self) -> &crate::services::Services {
        &self.services
    }
}
