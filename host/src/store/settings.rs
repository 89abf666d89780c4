//! The `[store]` section: which backend keeps the host's records, and how the host talks to a
//! PostgreSQL one.

use std::time::Duration;

use crate::secret::ConfigSecret;

/// Where the host keeps its records.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// `sled`: the embedded store under `DATA_DIR/store`, for one host. Or
    /// `postgres://user:password@host:port/database`: several hosts on one database (each
    /// needs the same `master_key`). A secret: it may hold the database password.
    pub url: ConfigSecret,
    /// Connections each host keeps open to PostgreSQL.
    pub pool_size: usize,
    /// TLS to PostgreSQL: `verify-full` (the certificate checked against the platform's roots
    /// and the host name) or `disable` (a database on the same machine or network).
    pub tls: StoreTls,
    /// Longest a statement may run before PostgreSQL cancels it.
    #[serde(rename = "statement_timeout_ms", with = "crate::units::millis")]
    #[schemars(with = "u64")]
    pub statement_timeout: Duration,
    /// Longest the host waits to connect to PostgreSQL, or for a free pooled connection;
    /// past it a request answers 503 with `Retry-After`.
    #[serde(rename = "connect_timeout_ms", with = "crate::units::millis")]
    #[schemars(with = "u64")]
    pub connect_timeout: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            url: ConfigSecret::new("sled"),
            pool_size: 16,
            tls: StoreTls::VerifyFull,
            statement_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl StoreSettings {
    /// Whether the embedded store is chosen.
    pub fn is_embedded(&self) -> bool {
        self.url.expose() == "sled"
    }

    /// Whether `url` names PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        let url = self.url.expose();
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }
}

/// TLS to the store's database.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum StoreTls {
    /// TLS with the certificate checked against the platform's roots and the host name
    /// (libpq's `verify-full`). The default.
    #[default]
    VerifyFull,
    /// No TLS.
    Disable,
}
