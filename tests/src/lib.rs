//! End-to-end test support for `connector-host`: behavioural vendor fakes on loopback and a
//! harness that runs the host's runtime or the whole server against them.
//!
//! Plugins come from `CONNECTOR_TEST_PLUGINS_DIR` (set by `cargo xtask test`), else from
//! `target/test-plugins`; build them with `cargo xtask build-plugins`.

pub mod contract;
pub mod fakes;
pub mod harness;
pub mod postman;
pub mod tool_search;
