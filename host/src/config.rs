//! Server configuration: defaults, then `connector-host.toml`, then `CONNECTOR_HOST_*` variables.
//! Unknown keys are an error, not silently ignored.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::loader::{LoaderSettings, TrustedKeys};
use anyhow::Context as _;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::credentials::OAuthClientConfig;
use crate::egress::{AddressGuard, EgressPolicy, HostPattern};
use crate::runtime::RuntimeLimits;

/// Prefix of every environment variable the host reads.
pub const ENV_PREFIX: &str = "CONNECTOR_HOST_";

/// Everything `connector-host serve` can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Address to listen on. Default: `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Where the store, compile cache and generated keys live. Default: `./data`.
    pub data_dir: PathBuf,
    /// Directory of `*.wasm` connector components loaded at start. Default: `DATA_DIR/plugins`.
    pub plugins_dir: Option<PathBuf>,
    /// Allow plugins to reach private, loopback and link-local addresses, and plain `http://`
    /// (local fakes and development only). Cloud metadata addresses stay refused.
    /// Default: false.
    pub allow_private_egress: bool,
    /// Hosts the operator lets plugins reach (each plugin gets the intersection with the hosts
    /// it requested). Default: `["*"]`.
    pub egress_allowed_hosts: Vec<String>,
    /// Cache compiled plugins on disk. Default: true.
    pub compile_cache: bool,
    /// Where compiled plugins are cached. Default: `DATA_DIR/compile-cache`.
    pub compile_cache_dir: Option<PathBuf>,
    /// Use the pooling instance allocator. Default: true.
    pub pooling_allocator: bool,
    /// Per-call limits.
    pub limits: LimitsConfig,
    /// Log format: `json` or `text`. Default: `text`.
    pub log_format: LogFormat,
    /// Operator token for `/admin/v1`. Default: generated into `DATA_DIR/admin-token` (mode
    /// 0600) on first start, and its path printed.
    pub admin_token: Option<ConfigSecret>,
    /// Master key(s), base64 of 32 bytes, comma-separated with the sealing key first.
    /// Default: generated into `DATA_DIR/keys/` with a warning (development only).
    pub master_key: Option<ConfigSecret>,
    /// Trust an `X-Tenant-Id` header set by a gateway instead of tenant API keys.
    /// Default: false.
    pub trust_tenant_header: bool,
    /// Public base URL of this host, for OAuth redirects. Default: `http://LISTEN`.
    pub public_url: Option<String>,
    /// Per-connector OAuth settings: default client and endpoint overrides
    /// (`[oauth.jira] client_id = ..., client_secret = ...`). Default: none.
    pub oauth: BTreeMap<String, OAuthClientConfig>,
    /// Refresh OAuth tokens this long before they expire. Default: 300.
    pub oauth_refresh_margin_secs: u64,
    /// How often idle OAuth connections are checked for expiring tokens. Default: 60.
    pub oauth_sweep_interval_secs: u64,
    /// How long an OAuth authorization (its `state`) stays valid. Default: 600.
    pub oauth_state_ttl_secs: u64,
    /// Largest plugin component accepted by upload or from the plugins dir, in MiB.
    /// Default: 32.
    pub max_plugin_mib: usize,
    /// Watch the plugins dir and hot-load `*.wasm` written to it. Default: true.
    pub watch_plugins_dir: bool,
    /// How long writes to a plugin file must be quiet before it is loaded. Default: 500.
    pub plugin_watch_debounce_ms: u64,
    /// Base64 ed25519 public keys whose plugin signatures are accepted. Default: none.
    pub plugin_trusted_keys: Vec<String>,
    /// Refuse plugins not signed by one of `plugin_trusted_keys`. Default: false.
    pub require_signed_plugins: bool,
}

/// A secret config value: deserialised like a string, never shown by `Debug`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConfigSecret(String);

impl ConfigSecret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ConfigSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Per-call limits as configured (see [`RuntimeLimits`] for what each does).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Default: 30000.
    pub call_timeout_ms: u64,
    /// Default: 64.
    pub memory_mib: usize,
    /// Default: 50.
    pub max_requests_per_call: u32,
    /// Default: 10.
    pub max_response_mib: u64,
    /// Default: 100.
    pub max_log_lines_per_call: u32,
    /// Default: 256.
    pub max_concurrent_calls: u32,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            plugins_dir: None,
            allow_private_egress: false,
            egress_allowed_hosts: vec!["*".to_owned()],
            compile_cache: true,
            compile_cache_dir: None,
            pooling_allocator: true,
            limits: LimitsConfig::default(),
            log_format: LogFormat::Text,
            admin_token: None,
            master_key: None,
            trust_tenant_header: false,
            public_url: None,
            oauth: BTreeMap::new(),
            oauth_refresh_margin_secs: 300,
            oauth_sweep_interval_secs: 60,
            oauth_state_ttl_secs: 600,
            max_plugin_mib: 32,
            watch_plugins_dir: true,
            plugin_watch_debounce_ms: 500,
            plugin_trusted_keys: Vec::new(),
            require_signed_plugins: false,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let limits = RuntimeLimits::default();
        Self {
            call_timeout_ms: limits.call_timeout.as_millis() as u64,
            memory_mib: limits.memory_bytes >> 20,
            max_requests_per_call: limits.max_requests_per_call,
            max_response_mib: limits.max_response_bytes >> 20,
            max_log_lines_per_call: limits.max_log_lines_per_call,
            max_concurrent_calls: limits.max_concurrent_calls,
        }
    }
}

impl HostConfig {
    /// Defaults, then the TOML file if given, then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(HostConfig::default()));
        if let Some(file) = file {
            anyhow::ensure!(
                file.exists(),
                "config file {} does not exist",
                file.display()
            );
            figment = figment.merge(Toml::file(file));
        }
        // CONNECTOR_HOST_LOG is the log filter, read by the logger, not a config key.
        figment = figment.merge(Env::prefixed(ENV_PREFIX).ignore(&["log"]).split("__"));
        figment.extract().context("invalid configuration")
    }

    /// The plugin loading policy in force.
    pub fn loader_settings(&self) -> anyhow::Result<LoaderSettings> {
        let trusted_keys = TrustedKeys::parse(&self.plugin_trusted_keys)?;
        anyhow::ensure!(
            !self.require_signed_plugins || !trusted_keys.is_empty(),
            "require_signed_plugins is set, but plugin_trusted_keys is empty"
        );
        Ok(LoaderSettings {
            max_plugin_bytes: self.max_plugin_mib << 20,
            trusted_keys,
            require_signature: self.require_signed_plugins,
        })
    }

    /// The sled database directory.
    pub fn store_dir(&self) -> PathBuf {
        self.data_dir.join("store")
    }

    /// The plugins directory in force.
    pub fn plugins_dir(&self) -> PathBuf {
        self.plugins_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("plugins"))
    }

    /// The runtime limits in force.
    pub fn runtime_limits(&self) -> RuntimeLimits {
        RuntimeLimits {
            call_timeout: Duration::from_millis(self.limits.call_timeout_ms),
            memory_bytes: self.limits.memory_mib << 20,
            max_requests_per_call: self.limits.max_requests_per_call,
            max_response_bytes: self.limits.max_response_mib << 20,
            max_log_lines_per_call: self.limits.max_log_lines_per_call,
            max_concurrent_calls: self.limits.max_concurrent_calls,
            ..RuntimeLimits::default()
        }
    }

    /// The egress policy in force.
    pub fn egress_policy(&self) -> anyhow::Result<EgressPolicy> {
        let operator_hosts = self
            .egress_allowed_hosts
            .iter()
            .map(|h| HostPattern::parse(h).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()
            .context("egress_allowed_hosts")?;
        Ok(EgressPolicy {
            operator_hosts,
            guard: AddressGuard {
                allow_private: self.allow_private_egress,
            },
            ..EgressPolicy::default()
        })
    }
}

// `Jail::expect_with` closures must return figment's own (large) error type.
#[allow(clippy::result_large_err)]
#[cfg(test)]
mod tests {
    use super::*;

    // figment::Jail isolates the environment and working directory of each test.
    #[test]
    fn environment_overrides_the_file_and_nested_keys_work() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "host.toml",
                "listen = \"127.0.0.1:9000\"\n[limits]\nmemory_mib = 8\n",
            )?;
            jail.set_env("CONNECTOR_HOST_LISTEN", "127.0.0.1:9001");
            jail.set_env("CONNECTOR_HOST_LIMITS__MAX_REQUESTS_PER_CALL", "7");
            jail.set_env("CONNECTOR_HOST_LOG", "debug");
            let config = HostConfig::load(Some(Path::new("host.toml"))).expect("valid config");
            assert_eq!(config.listen.port(), 9001);
            assert_eq!(config.limits.memory_mib, 8);
            assert_eq!(config.limits.max_requests_per_call, 7);
            assert_eq!(config.runtime_limits().memory_bytes, 8 << 20);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_an_error() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CONNECTOR_HOST_LISTNE", "127.0.0.1:9001");
            let error = HostConfig::load(None).expect_err("a typo is refused");
            assert!(format!("{error:#}").contains("listne"), "{error:#}");
            Ok(())
        });
    }

    #[test]
    fn a_bad_egress_pattern_is_an_error() {
        let config = HostConfig {
            egress_allowed_hosts: vec!["http://x".into()],
            ..HostConfig::default()
        };
        assert!(config.egress_policy().is_err());
    }
}
