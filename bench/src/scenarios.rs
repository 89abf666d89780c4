//! One module per measured scenario.

pub mod call_path;
pub mod cold_start;
pub mod hot_swap;
pub mod memory;
pub mod refresh_storm;
pub mod sandbox;
pub mod store;
pub mod syncs;
pub mod telemetry;
pub mod tool_search;
