//! `connector-host`: a multi-tenant server that runs connector plugins (WebAssembly components)
//! in per-call sandboxes and serves their containers, items and comments through one REST API.
//!
//! The crate is organised by capability:
//! - [`runtime`]: the wasmtime engine, plugin registry and per-call sandbox;
//! - [`egress`]: the only way a plugin reaches the network;
//! - [`sql`]: the database connections a SQL connector reaches through the host;
//! - [`store`]: sled trees with sealed credentials, the key ring, the audit log;
//! - [`syncs`]: sync jobs that turn a connection's items into a changes feed;
//! - [`tenant_webhooks`]: signed webhook deliveries to tenants' endpoints;
//! - [`vendor_webhooks`]: vendors' deliveries in, verified by the host, turned into changes;
//! - [`api`]: the HTTP surface; `console` the web console on top of it;
//! - [`usage`]: usage metering per tenant and connection, and monthly call limits;
//! - [`telemetry`]: OpenTelemetry spans, exported over OTLP when enabled;
//! - [`config`]: server configuration from file and environment.

pub mod api;
pub mod app;
mod background_task;
pub mod cluster_view;
pub mod config;
pub mod connection;
mod console;
pub mod credentials;
pub mod egress;
pub mod error;
pub mod loader;
mod mcp;
pub mod request_id;
pub mod runtime;
pub mod secret;
mod server;
pub mod services;
pub mod source_limit;
pub mod sql;
pub mod store;
pub mod syncs;
pub mod telemetry;
pub mod tenant_webhooks;
pub mod units;
pub mod usage;
pub mod vendor_webhooks;

pub use server::{Server, ServerLimits, install_crypto_provider, open_store};
