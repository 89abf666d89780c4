//! The application layer: every use case the faces (`api`, `console`, `mcp`) run, over the
//! shared services and the workers' use cases. A face parses a request, runs one use case
//! here and writes its answer; nothing here knows which face called.
//!
//! - `connections`: create, update, delete, validate a tenant's connections;
//! - `resources`: the unified operations (containers, items, comments, search, create, update);
//! - `actions`: a connection's own actions; `tools`: both as a catalogue of agent tools;
//! - `tenants`: tenants and API keys; `callers`: who is calling (tenant key, admin token);
//! - `audit`: the tenant's audit log; `quotas`: per-tenant limits;
//! - `usage`: usage reports, and a tenant's monthly call limit;
//! - `plugins`: the answer to a refused plugin load; `tenant_connectors`: a tenant's own
//!   declarative connectors.

pub mod actions;
pub mod audit;
pub mod callers;
pub mod connections;
pub mod mcp_authorization;
mod page_cursor;
pub mod plugins;
pub mod quotas;
pub mod resources;
pub mod tenant_connectors;
pub mod tenants;
mod timestamp;
pub mod tools;
pub mod usage;

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;

pub use callers::{AuthSettings, KeyRateLimit};
pub use quotas::Quotas;

use crate::services::Services;
use crate::syncs::Syncs;
use crate::tenant_webhooks::TenantWebhooks;
use crate::vendor_webhooks::VendorWebhooks;

/// Largest request body a face accepts. Default: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// What the use cases enforce besides authentication.
#[derive(Clone, Debug)]
pub struct AppSettings {
    /// Deadline of the checks a client waits for on create and update. Default: 10 s.
    pub connect_timeout: Duration,
    /// Per-tenant quotas.
    pub quotas: Quotas,
    /// `/metrics` answers without the admin token. Default: false.
    pub metrics_public: bool,
    /// Time one request may take from its headers to its response. Default: 60 s.
    pub request_timeout: Duration,
    /// Browser origins, besides the host's own, that may call `/mcp`. Default: none.
    pub mcp_allowed_origins: Vec<String>,
    /// Most connectors of its own one tenant may keep. Default: 10.
    pub tenant_connectors_max: usize,
    /// The authorization server of `/mcp`.
    pub mcp_authorization: mcp_authorization::McpAuthorizationSettings,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            quotas: Quotas::default(),
            metrics_public: false,
            request_timeout: Duration::from_secs(60),
            mcp_allowed_origins: Vec::new(),
            tenant_connectors_max: 10,
            mcp_authorization: Default::default(),
        }
    }
}

/// The application every face is handed. One `Arc`: the router clones it for every layer of
/// every request, so a clone must be one atomic increment.
#[derive(Clone)]
pub struct App(Arc<AppParts>);

/// What [`App`] shares; reached through `Deref`, and through it the [`Services`].
pub struct AppParts {
    services: Services,
    /// The sync use cases and the scheduler's context.
    pub syncs: Syncs,
    /// The tenant webhook use cases and the dispatcher's context.
    pub tenant_webhooks: TenantWebhooks,
    /// The vendor webhook receiver, worker and registration context.
    pub vendor_webhooks: VendorWebhooks,
    /// How callers are authenticated.
    pub auth: AuthSettings,
    /// The Prometheus registry `/metrics` renders.
    pub metrics: PrometheusHandle,
    /// What the use cases enforce besides authentication.
    pub settings: AppSettings,
    /// MCP clients' metadata documents, fetched and kept for their consent pages.
    pub mcp_clients: mcp_authorization::ClientMetadataCache,
    /// Every loaded connector's tools, indexed for search.
    pub tool_directory: tools::ToolDirectory,
}

impl App {
    /// The application over `services` and the workers' contexts.
    pub fn new(
        services: Services,
        workers: (Syncs, TenantWebhooks, VendorWebhooks),
        auth: AuthSettings,
        metrics: PrometheusHandle,
        settings: AppSettings,
    ) -> anyhow::Result<Self> {
        let (syncs, tenant_webhooks, vendor_webhooks) = workers;
        let mcp_clients = mcp_authorization::ClientMetadataCache::new(
            settings.mcp_authorization.allow_private_client_metadata,
        )?;
        Ok(Self(Arc::new(AppParts {
            services,
            syncs,
            tenant_webhooks,
            vendor_webhooks,
            auth,
            metrics,
            settings,
            mcp_clients,
            tool_directory: tools::ToolDirectory::default(),
        })))
    }
}

impl std::ops::Deref for App {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl std::ops::Deref for AppParts {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}
