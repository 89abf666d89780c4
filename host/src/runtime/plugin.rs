use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::compile_cache::CompileSource;
use super::contract::PluginPre;
use super::manifest::ConnectorManifest;
use crate::egress::HostPattern;

/// A loaded, checked plugin version, ready to be instantiated for each call. Replacing it in
/// the registry never touches this value: calls that already hold it finish on it.
pub struct Plugin {
    /// What the plugin's `info()` declared, checked at load.
    pub manifest: ConnectorManifest,
    /// Hex sha256 of the component bytes.
    pub sha256: String,
    /// Size of the component in bytes.
    pub size: usize,
    /// Whether the machine code was compiled now or read from the cache.
    pub compiled: CompileSource,
    /// When this version was loaded.
    pub loaded_at: SystemTime,
    /// The `connector:plugin` WIT version the component was built against (`0.1.0`).
    pub wit_version: String,
    /// Where the component came from and who signed it.
    pub origin: PluginOrigin,
    pub(crate) stats: PluginStats,
    pub(crate) host_patterns: Vec<HostPattern>,
    pub(crate) pre: PluginPre,
    /// Whether the component imports `sql` (a database connector).
    pub(crate) imports_sql: bool,
    /// For a declarative connector: its manifest, validated and normalised (compact JSON),
    /// which the interpreter component in `pre` reads through the `definition` import.
    pub(crate) definition: Option<std::sync::Arc<str>>,
    /// Whether the component imports `definition`: the declarative interpreter (itself
    /// installed under its own id, with no operations, and run with each manifest).
    pub(crate) interprets: bool,
    /// The tenant whose private connector this is (uploaded with its API key): only it sees
    /// and connects to it, and it reaches only the hosts the operator opened to tenant
    /// connectors. `None` for the operator's plugins.
    pub owner: Option<String>,
}

/// Where a plugin version came from.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct PluginOrigin {
    /// `upload`, `directory`, `test`, or `tenant:ID` for a tenant's own connector.
    pub source: String,
    /// The file it was read from, for directory loads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Id (first 16 hex digits of the public key) of the trusted key whose signature verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
}

/// Calls and faults of one plugin version since it was loaded.
#[derive(Debug, Default)]
pub(crate) struct PluginStats {
    calls: AtomicU64,
    faults: AtomicU64,
}

impl PluginStats {
    pub(crate) fn record(&self, faulted: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if faulted {
            self.faults.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl PluginOrigin {
    /// The `source` of a tenant's upload: `tenant:ID`.
    pub fn of_tenant(tenant: &str) -> Self {
        Self {
            source: format!("{TENANT_SOURCE}{tenant}"),
            ..Self::default()
        }
    }

    /// The tenant that uploaded it, for a tenant-private connector.
    pub fn tenant(&self) -> Option<&str> {
        self.source.strip_prefix(TENANT_SOURCE)
    }
}

/// How a tenant's upload names its source (kept as the store's plugin blob source, so every
/// host of a cluster knows the owner).
const TENANT_SOURCE: &str = "tenant:";

impl Plugin {
    /// Whether tenant `tenant` may see and connect to it: the operator's connectors (but the
    /// interpreter) for everyone, a tenant's own only for that tenant.
    pub fn offered_to(&self, tenant: &str) -> bool {
        !self.interprets && self.owner.as_deref().is_none_or(|owner| owner == tenant)
    }

    /// The connector id (also the plugin id).
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    /// Calls made on this version since it was loaded.
    pub fn calls(&self) -> u64 {
        self.stats.calls.load(Ordering::Relaxed)
    }

    /// Calls on this version that ended in a plugin fault (trap, deadline, limit).
    pub fn faults(&self) -> u64 {
        self.stats.faults.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("id", &self.manifest.id)
            .field("version", &self.manifest.version)
            .field("sha256", &self.sha256)
            .field("wit_version", &self.wit_version)
            .field("compiled", &self.compiled)
            .finish_non_exhaustive()
    }
}
