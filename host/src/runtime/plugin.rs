use std::time::SystemTime;

use super::bindings::wit::ConnectorPluginPre;
use super::call_state::CallState;
use super::compile_cache::CompileSource;
use super::manifest::ConnectorManifest;
use crate::egress::HostPattern;

/// A loaded, checked plugin, ready to be instantiated for each call.
pub struct Plugin {
    pub manifest: ConnectorManifest,
    /// Hex sha256 of the component bytes.
    pub sha256: String,
    /// Size of the component in bytes.
    pub size: usize,
    /// Whether the machine code was compiled now or read from the cache.
    pub compiled: CompileSource,
    pub loaded_at: SystemTime,
    /// The WIT package version the plugin was built against.
    pub wit_version: &'static str,
    pub(crate) host_patterns: Vec<HostPattern>,
    pub(crate) pre: ConnectorPluginPre<CallState>,
}

impl Plugin {
    /// The connector id (also the plugin id).
    pub fn id(&self) -> &str {
        &self.manifest.id
    }
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("id", &self.manifest.id)
            .field("version", &self.manifest.version)
            .field("sha256", &self.sha256)
            .field("compiled", &self.compiled)
            .finish_non_exhaustive()
    }
}
