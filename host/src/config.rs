//! Server configuration: defaults, then `connector-host.toml`, then `CONNECTOR_HOST_*` variables.
//! Unknown keys are an error, not silently ignored. `reference` writes the reference page.

pub mod reference;

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
use crate::sql::SqlLimits;
use crate::syncs::SyncSettings;
use crate::tenant_webhooks::WebhookSettings;
use crate::vendor_webhooks::VendorWebhookSettings;

pub use crate::secret::ConfigSecret;

/// Prefix of every environment variable the host reads.
pub const ENV_PREFIX: &str = "CONNECTOR_HOST_";

/// The least `limits.memory_mib` the host starts with. Connectors built with this repository's
/// settings start with 4 MiB of linear memory (`plugins/.cargo/config.toml`) and read vendor
/// pages on top of it, so with less every call on a real page would fail.
pub const MIN_MEMORY_MIB: usize = 8;

/// Everything `connector-host serve` can be told.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the store, compile cache and generated keys live.
    pub data_dir: PathBuf,
    /// Which store keeps the host's records: the embedded one or PostgreSQL.
    pub store: crate::store::StoreSettings,
    /// Directory of `*.wasm` connector components loaded at start. Default: `DATA_DIR/plugins`.
    pub plugins_dir: Option<PathBuf>,
    /// Allow plugins to reach private, loopback and link-local addresses, and plain `http://`
    /// (local fakes and development only). Cloud metadata addresses stay refused.
    pub allow_private_egress: bool,
    /// Hosts the operator lets plugins reach (each plugin gets the intersection with the hosts
    /// it requested). A connection's own origin gets no exemption.
    pub egress_allowed_hosts: Vec<String>,
    /// More hosts per connector id that its connections may use as their origin and reach,
    /// beyond what the connector requests (self-hosted or test sites):
    /// `[connector_hosts] jira = ["jira.corp.example"]`. Default: none.
    pub connector_hosts: BTreeMap<String, Vec<String>>,
    /// Cache compiled plugins on disk.
    pub compile_cache: bool,
    /// Where compiled plugins are cached. Default: `DATA_DIR/compile-cache`.
    pub compile_cache_dir: Option<PathBuf>,
    /// Base64 of 32 bytes: the key that authenticates cached artifacts, for hosts that share one
    /// `compile_cache_dir`. Default: derived from the master key (HKDF).
    pub compile_cache_key: Option<ConfigSecret>,
    /// Use the pooling instance allocator.
    pub pooling_allocator: bool,
    /// Announce compiled guest code to a profiler: `none` or `perfmap`, so `perf`
    /// names guest functions.
    pub wasm_profiler: crate::runtime::WasmProfiler,
    /// Per-call limits.
    pub limits: LimitsConfig,
    /// Log format: `json` or `text`.
    pub log_format: LogFormat,
    /// Operator token for `/admin/v1`. Default: generated into `DATA_DIR/admin-token` (mode
    /// 0600) on first start, and its path printed.
    pub admin_token: Option<ConfigSecret>,
    /// Master key(s), base64 of 32 bytes, comma-separated with the sealing key first.
    /// Default: generated into `DATA_DIR/keys/` with a warning (development only).
    pub master_key: Option<ConfigSecret>,
    /// Trust an `X-Tenant-Id` header set by a gateway instead of tenant API keys.
    pub trust_tenant_header: bool,
    /// Shared secret the gateway sends in `X-Gateway-Secret` with `X-Tenant-Id`, at least 16
    /// characters; required whenever `trust_tenant_header` is on, loopback included (a web
    /// page can reach a loopback host through DNS rebinding). Default: none.
    pub gateway_secret: Option<ConfigSecret>,
    /// Serve `/metrics` without the admin token.
    pub metrics_public: bool,
    /// Serve `/metrics` (without the admin token) on this address of its own instead, for a
    /// scraper on an internal network. Default: none.
    pub metrics_listen: Option<SocketAddr>,
    /// Connection and request limits of the HTTP server.
    pub server: ServerConfig,
    /// The MCP server at `/mcp`.
    pub mcp: McpConfig,
    /// Connectors tenants upload as manifests with their own API key.
    pub tenant_connectors: TenantConnectorsConfig,
    /// Limits of the `sql` capability database connectors use.
    pub sql: SqlLimits,
    /// Sync jobs and the changes feed.
    pub syncs: SyncSettings,
    /// Webhook deliveries to tenants' endpoints.
    pub webhooks: WebhookSettings,
    /// Vendors' webhook deliveries in.
    pub vendor_webhooks: VendorWebhookSettings,
    /// Per-tenant quotas on what the store keeps.
    pub quotas: crate::app::Quotas,
    /// OpenTelemetry traces exported over OTLP.
    pub telemetry: crate::telemetry::TelemetrySettings,
    /// Usage metering per tenant and connection, and monthly call limits.
    pub usage: crate::usage::UsageSettings,
    /// Public base URL of this host, for OAuth redirects. Default: `http://LISTEN`.
    pub public_url: Option<String>,
    /// Per-connector OAuth settings: default client and endpoint overrides
    /// (`[oauth.jira] client_id = ..., client_secret = ...`). Default: none.
    pub oauth: BTreeMap<String, OAuthClientConfig>,
    /// Refresh OAuth tokens this long before they expire.
    pub oauth_refresh_margin_secs: u64,
    /// How often idle OAuth connections are checked for expiring tokens.
    pub oauth_sweep_interval_secs: u64,
    /// How long an OAuth authorization (its `state`) stays valid.
    pub oauth_state_ttl_secs: u64,
    /// Largest plugin component accepted by upload or from the plugins dir, in MiB.
    pub max_plugin_mib: usize,
    /// Watch the plugins dir and hot-load `*.wasm` written to it.
    pub watch_plugins_dir: bool,
    /// How long writes to a plugin file must be quiet before it is loaded.
    pub plugin_watch_debounce_ms: u64,
    /// Base64 ed25519 public keys whose plugin signatures are accepted. Default: none.
    pub plugin_trusted_keys: Vec<String>,
    /// Refuse plugins not signed by one of `plugin_trusted_keys`.
    pub require_signed_plugins: bool,
}

/// Per-call limits as configured (see [`RuntimeLimits`] for what each does).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Deadline of one plugin call, from admission to its answer.
    pub call_timeout_ms: u64,
    /// Linear memory one call may grow to, in MiB. At least 8 ([`MIN_MEMORY_MIB`]): the
    /// bundled connectors start with 4 MiB of linear memory (see `plugins/.cargo/config.toml`)
    /// and fail on real pages below that; less is refused at startup.
    pub memory_mib: usize,
    /// Outbound requests one call may send.
    pub max_requests_per_call: u32,
    /// Largest response body one outbound request may bring back, in MiB.
    pub max_response_mib: u64,
    /// All response bodies of one call together (`send-many` included), counted while read,
    /// in MiB.
    pub max_call_response_mib: u64,
    /// Log lines one call may write; more are dropped and counted.
    pub max_log_lines_per_call: u32,
    /// Sandbox slots (two kept for the loader); past that, calls get 503 with `Retry-After`.
    pub max_concurrent_calls: u32,
    /// Calls of one tenant at once; 429 beyond. On a PostgreSQL store the cap holds across
    /// the hosts, each taking its share. Default: a quarter of `max_concurrent_calls` (at
    /// least 1).
    pub max_concurrent_calls_per_tenant: Option<u32>,
    /// Calls on one connection at once; 429 beyond; shared by the hosts like the tenant cap.
    /// Default: half the per-tenant cap (at least 1).
    pub max_concurrent_calls_per_connection: Option<u32>,
    /// Deadline of the `validate` and `connect()` calls that check a connection while a client
    /// waits on create or update.
    pub connect_timeout_ms: u64,
    /// Requests per second one API key may send (sustained); beyond the burst, 429. On a
    /// PostgreSQL store, divided by the live hosts (each request takes one cell per host).
    pub api_key_requests_per_second: u32,
    /// Requests one API key may send at once before the rate applies.
    pub api_key_burst: u32,
    /// Requests per second one source address (IPv4, or IPv6 /64) may send to the surfaces
    /// that need no credentials: the vendor webhook receiver, the OAuth start page and
    /// callback and the console's sign-in forms; beyond the burst, 429 before any lookup. A
    /// vendor that sends from a few addresses at a high rate may need more. Divided by the
    /// live hosts on a PostgreSQL store, like the API-key rate.
    pub unauthenticated_per_second: u32,
    /// Requests one source address may send to those surfaces at once.
    pub unauthenticated_burst: u32,
}

/// Limits of the HTTP server.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Time a client has to send a request's headers; the same timer bounds how long an idle
    /// keep-alive connection waits for its next request (hyper starts it as soon as the
    /// connection waits for a request).
    pub header_read_timeout_ms: u64,
    /// Time one request may take from its headers to its response.
    pub request_timeout_ms: u64,
    /// Open client connections; more are closed at once.
    pub max_connections: usize,
}

/// The MCP server at `/mcp`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct McpConfig {
    /// Browser origins (`https://agent.example.com`) that may call `/mcp` besides the host's
    /// own (`public_url`); a request with any other `Origin` gets 403. Requests without an
    /// `Origin` (clients that are not browsers) are not affected. Default: none.
    pub allowed_origins: Vec<String>,
    /// Serve the host's OAuth 2.1 authorization server for `/mcp` (metadata, client
    /// registration, the console's consent page, tokens), so MCP clients are added by URL.
    /// Off, `/mcp` takes tenant API keys only.
    pub oauth_enabled: bool,
    /// Lifetime of an access token, in seconds.
    pub oauth_access_token_ttl_secs: u64,
    /// Lifetime of a refresh token, in seconds; each refresh issues a new one.
    pub oauth_refresh_token_ttl_secs: u64,
    /// A client registration not used for a first authorization within this many seconds
    /// expires; the client registers again.
    pub oauth_registration_ttl_secs: u64,
    /// Fetch client metadata documents from private and loopback addresses, and over plain
    /// `http` on loopback (local development and tests).
    pub oauth_allow_private_client_metadata: bool,
    /// Most authorized clients one tenant keeps; a new one beyond ends the one that expires
    /// soonest.
    pub oauth_max_grants_per_tenant: usize,
}

impl Default for McpConfig {
    fn default() -> Self {
        let defaults = crate::app::mcp_authorization::McpAuthorizationSettings::default();
        Self {
            allowed_origins: Vec::new(),
            oauth_enabled: defaults.enabled,
            oauth_access_token_ttl_secs: defaults.access_token_ttl.as_secs(),
            oauth_refresh_token_ttl_secs: defaults.refresh_token_ttl.as_secs(),
            oauth_registration_ttl_secs: defaults.registration_ttl.as_secs(),
            oauth_allow_private_client_metadata: defaults.allow_private_client_metadata,
            oauth_max_grants_per_tenant: defaults.max_grants_per_tenant,
        }
    }
}

impl McpConfig {
    /// The authorization server's settings the application enforces.
    pub fn authorization(&self) -> crate::app::mcp_authorization::McpAuthorizationSettings {
        crate::app::mcp_authorization::McpAuthorizationSettings {
            enabled: self.oauth_enabled,
            access_token_ttl: Duration::from_secs(self.oauth_access_token_ttl_secs.max(1)),
            refresh_token_ttl: Duration::from_secs(self.oauth_refresh_token_ttl_secs.max(1)),
            registration_ttl: Duration::from_secs(self.oauth_registration_ttl_secs.max(1)),
            allow_private_client_metadata: self.oauth_allow_private_client_metadata,
            max_grants_per_tenant: self.oauth_max_grants_per_tenant.max(1),
        }
    }
}

/// Tenant-private connectors: declarative manifests a tenant uploads with its own API key
/// (`PUT /api/v1/connectors/{id}`), seen and used only inside that tenant.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TenantConnectorsConfig {
    /// The only hosts a tenant's own connector may reach or use as its origin
    /// (`api.internal.example`, `*.example.com`), whatever it requests. Default: none, which
    /// turns tenant uploads off: the operator opts in.
    pub allowed_hosts: Vec<String>,
    /// Most connectors one tenant may keep.
    pub max_per_tenant: usize,
}

impl Default for TenantConnectorsConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            max_per_tenant: 10,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_ms: 20_000,
            request_timeout_ms: 60_000,
            max_connections: 1024,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            store: crate::store::StoreSettings::default(),
            plugins_dir: None,
            allow_private_egress: false,
            egress_allowed_hosts: vec!["*".to_owned()],
            connector_hosts: BTreeMap::new(),
            compile_cache: true,
            compile_cache_dir: None,
            compile_cache_key: None,
            pooling_allocator: true,
            wasm_profiler: crate::runtime::WasmProfiler::None,
            limits: LimitsConfig::default(),
            log_format: LogFormat::Text,
            admin_token: None,
            master_key: None,
            trust_tenant_header: false,
            gateway_secret: None,
            metrics_public: false,
            metrics_listen: None,
            server: ServerConfig::default(),
            mcp: McpConfig::default(),
            tenant_connectors: TenantConnectorsConfig::default(),
            sql: SqlLimits::default(),
            syncs: SyncSettings::default(),
            webhooks: WebhookSettings::default(),
            vendor_webhooks: VendorWebhookSettings::default(),
            quotas: crate::app::Quotas::default(),
            telemetry: crate::telemetry::TelemetrySettings::default(),
            usage: crate::usage::UsageSettings::default(),
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
            max_call_response_mib: limits.max_call_response_bytes >> 20,
            max_log_lines_per_call: limits.max_log_lines_per_call,
            max_concurrent_calls: limits.max_concurrent_calls,
            max_concurrent_calls_per_tenant: None,
            max_concurrent_calls_per_connection: None,
            connect_timeout_ms: 10_000,
            api_key_requests_per_second: 50,
            api_key_burst: 100,
            unauthenticated_per_second: crate::source_limit::SourceRate::default().per_second,
            unauthenticated_burst: crate::source_limit::SourceRate::default().burst,
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

    /// The configured compile-cache key, decoded; `None` when it is to be derived.
    pub fn compile_cache_key(&self) -> anyhow::Result<Option<zeroize::Zeroizing<[u8; 32]>>> {
        use base64::Engine as _;
        let Some(secret) = &self.compile_cache_key else {
            return Ok(None);
        };
        let bytes = zeroize::Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(secret.expose().trim())
                .context("compile_cache_key is not base64")?,
        );
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| anyhow::anyhow!("compile_cache_key must be 32 bytes"))?;
        Ok(Some(zeroize::Zeroizing::new(key)))
    }

    /// The application's settings in force.
    pub fn app_settings(&self) -> crate::app::AppSettings {
        crate::app::AppSettings {
            connect_timeout: Duration::from_millis(self.limits.connect_timeout_ms),
            quotas: self.quotas.clone(),
            metrics_public: self.metrics_public,
            request_timeout: Duration::from_millis(self.server.request_timeout_ms),
            mcp_allowed_origins: self.mcp.allowed_origins.clone(),
            tenant_connectors_max: self.tenant_connectors.max_per_tenant,
            mcp_authorization: self.mcp.authorization(),
        }
    }

    /// The per-source limit of the surfaces that need no credentials.
    pub fn source_rate(&self) -> crate::source_limit::SourceRate {
        crate::source_limit::SourceRate {
            per_second: self.limits.unauthenticated_per_second.max(1),
            burst: self.limits.unauthenticated_burst.max(1),
        }
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
            max_call_response_bytes: self.limits.max_call_response_mib << 20,
            max_log_lines_per_call: self.limits.max_log_lines_per_call,
            max_concurrent_calls: self.limits.max_concurrent_calls,
            max_concurrent_calls_per_tenant: self.limits.max_concurrent_calls_per_tenant,
            max_concurrent_calls_per_connection: self.limits.max_concurrent_calls_per_connection,
            background_calls: self.syncs.max_concurrent_runs.max(1),
            ..RuntimeLimits::default()
        }
    }

    /// Refuses settings that would leave the host open (trusting `X-Tenant-Id` on a reachable
    /// address without a gateway secret lets anyone who can reach the port be any tenant) or
    /// broken (a memory limit no connector can read a page within).
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.limits.memory_mib >= MIN_MEMORY_MIB,
            "limits.memory_mib is {}: it must be at least {MIN_MEMORY_MIB} (connectors start with \
             4 MiB of linear memory and read vendor pages on top of it)",
            self.limits.memory_mib
        );
        if self.trust_tenant_header {
            let secret_ok = self
                .gateway_secret
                .as_ref()
                .is_some_and(|s| s.expose().len() >= 16);
            if self.gateway_secret.is_some() && !secret_ok {
                anyhow::bail!("gateway_secret must be at least 16 characters");
            }
            // Not even on loopback: a page in the operator's browser can reach a loopback host
            // under a name of its own (DNS rebinding) and set any header it likes.
            anyhow::ensure!(
                secret_ok,
                "trust_tenant_header is on without gateway_secret: set gateway_secret (at least \
                 16 characters, sent by the gateway as X-Gateway-Secret), also on loopback"
            );
        }
        for origin in &self.mcp.allowed_origins {
            let parsed = url::Url::parse(origin)
                .with_context(|| format!("mcp.allowed_origins: `{origin}` is not a URL"))?;
            anyhow::ensure!(
                parsed.origin().ascii_serialization() == *origin,
                "mcp.allowed_origins: `{origin}` must be an origin only, such as https://agent.example.com (scheme, host and port, no path)"
            );
        }
        Ok(())
    }

    /// The egress policy in force.
    pub fn egress_policy(&self) -> anyhow::Result<EgressPolicy> {
        let operator_hosts = self
            .egress_allowed_hosts
            .iter()
            .map(|h| HostPattern::parse(h).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()
            .context("egress_allowed_hosts")?;
        let connector_hosts = self
            .connector_hosts
            .iter()
            .map(|(connector, hosts)| {
                let patterns = hosts
                    .iter()
                    .map(|h| HostPattern::parse(h).map_err(anyhow::Error::msg))
                    .collect::<anyhow::Result<Vec<_>>>()
                    .with_context(|| format!("connector_hosts.{connector}"))?;
                Ok((connector.clone(), patterns))
            })
            .collect::<anyhow::Result<BTreeMap<_, _>>>()?;
        let tenant_connector_hosts = self
            .tenant_connectors
            .allowed_hosts
            .iter()
            .map(|h| HostPattern::parse(h).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()
            .context("tenant_connectors.allowed_hosts")?;
        Ok(EgressPolicy {
            operator_hosts,
            guard: AddressGuard {
                allow_private: self.allow_private_egress,
            },
            connector_hosts,
            tenant_connector_hosts,
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
    fn a_trusted_tenant_header_needs_a_gateway_secret_on_every_address() {
        let mut config = HostConfig {
            trust_tenant_header: true,
            listen: "0.0.0.0:8080".parse().unwrap(),
            ..HostConfig::default()
        };
        assert!(config.check().is_err());
        config.gateway_secret = Some(ConfigSecret::new("a-long-shared-gateway-secret"));
        assert!(config.check().is_ok());
        // Loopback is reachable from a browser page through DNS rebinding: no exemption.
        config.gateway_secret = None;
        config.listen = "127.0.0.1:8080".parse().unwrap();
        assert!(config.check().is_err());
    }

    #[test]
    fn a_memory_limit_below_what_connectors_start_with_is_refused() {
        let mut config = HostConfig::default();
        config.limits.memory_mib = MIN_MEMORY_MIB - 1;
        let error = config.check().expect_err("7 MiB is refused");
        assert!(
            error.to_string().contains("limits.memory_mib is 7"),
            "{error}"
        );
        config.limits.memory_mib = MIN_MEMORY_MIB;
        assert!(config.check().is_ok());
    }

    /// Every key of the config, as `a.b` for nested tables.
    fn keys(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
        if let Some(object) = value.as_object() {
            for (name, inner) in object {
                let key = format!("{prefix}{name}");
                match inner {
                    serde_json::Value::Object(map) if !map.is_empty() => {
                        keys(inner, &format!("{key}."), out)
                    }
                    _ => out.push(key),
                }
            }
        }
    }

    /// The reference page is the generated one, and every key has a meaning; a key whose
    /// default is a value says it once, in code, not again in its doc comment.
    #[test]
    fn the_configuration_page_is_the_generated_reference() {
        let page = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/src/operate/configuration.md"
        ));
        let generated = reference::markdown();
        let (_, committed) = page
            .split_once("-->\n\n")
            .expect("the page marks where the generated tables start");
        assert!(
            committed == generated,
            "docs/src/operate/configuration.md is stale: regenerate its tables with \
             `cargo run -p connector-host -- config-reference`"
        );
        let mut all = Vec::new();
        keys(
            &serde_json::to_value(HostConfig::default()).unwrap(),
            "",
            &mut all,
        );
        for key in &all {
            let row = generated
                .lines()
                .find(|line| line.starts_with(&format!("| `{key}` |")))
                .unwrap_or_else(|| panic!("the reference lacks `{key}`"));
            let cells: Vec<&str> = row.split(" | ").collect();
            assert!(
                cells.len() >= 3 && cells[2].trim_end_matches(" |").len() > 3,
                "{row}"
            );
            if cells[1] != "none" {
                assert!(
                    !row.contains("Default:"),
                    "the default is written twice: {row}"
                );
            }
        }
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
