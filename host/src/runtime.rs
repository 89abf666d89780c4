//! Loads connector components and runs each call in a fresh, limited sandbox.
//!
//! One [`wasmtime::Engine`] (pooling allocator, epoch interruption) serves every plugin. Each
//! plugin is compiled once (the artifact is cached on disk), pre-linked into one `InstancePre`,
//! and instantiated into a **new `Store` for every call**, bound to one tenant's connection,
//! with its own deadline, memory cap and outbound budgets. Installing a new version swaps one
//! pointer: calls already running finish on the version they started with, and the replaced
//! version is kept for rollback. Plugins built against any served contract version (see
//! `wit/README.md`) run side by side. A trap, timeout or exhausted limit
//! becomes [`CallError::Fault`]; the host and every other call go on.

mod action;
mod admission;
mod auth_method;
mod call_state;
mod compile_cache;
mod config_schema;
mod contract;
mod definition_import;
mod engine;
mod fault;
mod grant;
mod host_imports;
mod json_import;
mod limits;
mod load;
mod log_text;
mod manifest;
mod membership;
mod operation;
mod plugin;
mod registry;
mod sandbox;
mod sql_import;
mod webhook_support;

pub use action::{ActionAnnotations, ActionManifest, InputIssue, check_against};
pub use admission::CapScope;
pub use auth_method::AuthMethodMismatch;
pub use call_state::{CallContext, CallUsage};
pub use compile_cache::{CacheKey, CompileSource};
pub use config_schema::{ConfigRefusal, check_config};
pub use contract::wit;
pub use engine::WasmProfiler;
pub use fault::{CallError, FaultCause, connector_error_message};
pub use limits::{LOADER_RESERVED_SLOTS, RuntimeLimits};
pub use load::{INTERPRETER_ID, LoadError, SERVED_WIT_VERSIONS, WIT_VERSION};
pub use manifest::{
    AuthMethodManifest, ConnectorManifest, CredentialKindManifest, CredentialPartManifest,
    OAuth2Manifest,
};
pub use membership::{HEARTBEAT_INTERVAL, HOST_LAPSE, Membership};
pub use operation::{Operation, OperationOutput};
pub use plugin::{Plugin, PluginOrigin};
pub use registry::{PluginSlot, RegistryError, Runtime, RuntimeOptions};
pub(crate) use registry::{is_plugin_file, wasm_files};
pub use webhook_support::{WebhookManifest, WebhookSignatureManifest};
