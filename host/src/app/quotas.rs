//! Per-tenant quotas on what the store keeps: `[quotas]` of the configuration.

use serde::{Deserialize, Serialize};

/// Per-tenant quotas on what the store keeps.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Quotas {
    /// Connections one tenant may hold.
    pub max_connections_per_tenant: usize,
    /// Sync cursors (streams) one connection may hold.
    pub max_cursors_per_connection: usize,
    /// OAuth authorizations one tenant may have pending.
    pub max_pending_oauth_sessions_per_tenant: usize,
    /// Largest connection config, as JSON bytes.
    pub max_config_bytes: usize,
    /// Audit events older than this many days are deleted (0: kept for ever).
    pub audit_max_age_days: u64,
    /// Audit events kept per tenant (and in the host's own log); the oldest go first.
    pub audit_max_events_per_tenant: usize,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            max_connections_per_tenant: 1000,
            max_cursors_per_connection: 100,
            max_pending_oauth_sessions_per_tenant: 50,
            max_config_bytes: 16 << 10,
            audit_max_age_days: 365,
            audit_max_events_per_tenant: 100_000,
        }
    }
}
