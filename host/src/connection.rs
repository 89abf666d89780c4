//! A stored connection at work: the one call path from a use case or a worker to a plugin
//! (`call`), the connection's status kept current from each outcome (`status`), and the views
//! a plugin's records are answered in (`views`).
//!
//! Two entry points run a plugin for a connection: [`call`] on a stored connection (its sealed
//! credential opened, refreshed when due, retried once on a vendor 401, its status tracked) and
//! [`call_unsaved`] with a credential the caller holds (verifying one before it is stored,
//! parsing a vendor delivery). Both answer with the plugin version that served the call.

mod call;
mod status;
pub mod views;

pub use call::{
    Answer, CallOptions, ServedBy, X_PLUGIN_SHA256, X_PLUGIN_VERSION, call, call_unsaved, load,
    not_found,
};
pub use status::track_status;
