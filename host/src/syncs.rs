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
