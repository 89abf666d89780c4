//! Behavioural fakes: stateful axum servers bound to 127.0.0.1 that stop when dropped.

pub mod probe_vendor;
mod recorder;
mod serve;

pub use probe_vendor::ProbeVendor;
pub use recorder::{RecordedRequest, Recorder};
pub use serve::FakeServer;
