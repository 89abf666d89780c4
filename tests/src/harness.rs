//! Builds runtimes and servers the way the host does, with small limits so hostile plugins
//! fail fast.

mod browser;
pub mod log_capture;
mod oauth_setup;
mod postgres;
mod process;
mod store_backend;
mod tenant_session;
mod test_server;
mod vendor_oauth;

pub use browser::{Browser, vendor_link};
pub use oauth_setup::{OAuthSetup, OAuthTimings};
pub use postgres::{PG_ADMIN, PG_ADMIN_PASSWORD, PostgresServer};
pub use process::{
    HostProcess, PROCESS_ADMIN_TOKEN, ProcessApi, host_binary, run_cli, run_cli_with,
};
pub use store_backend::{BackendStore, TEST_MASTER_KEY, TestDatabase, each_backend, postgres_run};
pub use tenant_session::{TenantSession, connection_path, entries, error_code};
pub use test_server::{ADMIN_TOKEN, TestServer};
pub use vendor_oauth::{connect_with_oauth, host_for_oauth, use_oauth_server};

use std::path::{Path, PathBuf};
use std::time::Duration;

use connector_host::egress::{AddressGuard, Credential, EgressClient, EgressPolicy};
use connector_host::runtime::{CacheKey, CallContext, Runtime, RuntimeLimits, RuntimeOptions};

/// Directory of built plugin components.
pub fn plugins_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CONNECTOR_TEST_PLUGINS_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-plugins")
}

/// Path of one built plugin, e.g. `plugin_path("probe")`.
pub fn plugin_path(name: &str) -> PathBuf {
    let path = plugins_dir().join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo xtask test` (or `cargo xtask build-plugins` first)",
        path.display()
    );
    path
}

/// Hex sha256 of `bytes`, as the host names plugin versions (`X-Plugin-Sha256`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The same component with a custom section appended: identical behaviour, a new sha256, so
/// each one is a distinct version to upload (and to compile: the cache is keyed by sha256).
pub fn plugin_variant(wasm: &[u8], index: u64) -> Vec<u8> {
    fn leb128(mut value: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"plugin-variant";
    let mut contents = Vec::new();
    leb128(name.len(), &mut contents);
    contents.extend_from_slice(name);
    contents.extend_from_slice(&index.to_le_bytes());
    let mut out = wasm.to_vec();
    out.push(0); // custom section id
    leb128(contents.len(), &mut out);
    out.extend_from_slice(&contents);
    out
}

/// Limits small enough that hostile plugins fail within a few seconds.
pub fn test_limits() -> RuntimeLimits {
    RuntimeLimits {
        call_timeout: Duration::from_secs(3),
        memory_bytes: 32 << 20,
        max_requests_per_call: 5,
        max_response_bytes: 64 << 10,
        max_concurrent_calls: 16,
        ..RuntimeLimits::default()
    }
}

/// An egress policy for loopback fakes: private egress on (plain http, 127.0.0.1).
pub fn loopback_policy() -> EgressPolicy {
    EgressPolicy {
        guard: AddressGuard {
            allow_private: true,
        },
        ..EgressPolicy::default()
    }
}

/// A runtime with `policy` and `limits`, caching compiled code in `cache_dir` if given.
pub fn runtime(policy: EgressPolicy, limits: RuntimeLimits, cache_dir: Option<PathBuf>) -> Runtime {
    connector_host::install_crypto_provider();
    let egress = EgressClient::new(policy).expect("egress client");
    Runtime::new(
        RuntimeOptions {
            limits,
            pooling: true,
            cache_dir,
            cache_key: Some(test_cache_key()),
            ..RuntimeOptions::default()
        },
        egress,
    )
    .expect("runtime")
}

/// The compile-cache key of runtimes built by tests (servers derive theirs from the master key).
pub fn test_cache_key() -> CacheKey {
    CacheKey::new(zeroize::Zeroizing::new([42u8; 32]))
}

/// A call context for a probe connection to `base_url` with `credential`.
pub fn probe_context(base_url: &str, credential: Option<Credential>) -> CallContext {
    CallContext {
        tenant: "tenant-a".into(),
        connection: "conn-1".into(),
        config: vec![("base_url".into(), base_url.into())],
        values: Vec::new(),
        credential,
        auth_method: None,
        credential_from_grant: false,
        bound_origin: Some(base_url.to_owned()),
        timeout: None,
        background: false,
        secret_substitution: None,
    }
}
