//! The limits every `sql` statement and pool runs under, with their defaults in one place.

use std::time::Duration;

/// Limits of the `sql` capability (config section `[sql]`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SqlLimits {
    /// Longest a statement may run; the database cancels it then (`statement_timeout`), and
    /// the host gives up shortly after. Never past the call's own deadline.
    #[serde(rename = "statement_timeout_ms", with = "crate::units::millis")]
    #[schemars(with = "u64")]
    pub statement_timeout: Duration,
    /// Rows one statement may return to the plugin; the rest are never fetched.
    pub max_rows: u32,
    /// Bytes of column values one statement may return to the plugin.
    #[serde(rename = "max_result_mib", with = "crate::units::mib")]
    #[schemars(with = "u64")]
    pub max_result_bytes: usize,
    /// Statements one plugin call may run.
    pub max_statements_per_call: u32,
    /// Database connections one connection's pool may open.
    pub max_pool_size: usize,
    /// A pool unused this long is closed.
    #[serde(rename = "pool_idle_secs", with = "crate::units::secs")]
    #[schemars(with = "u64")]
    pub pool_idle_timeout: Duration,
    /// Longest a connection attempt (TCP, TLS, authentication) may take.
    #[serde(rename = "connect_timeout_ms", with = "crate::units::millis")]
    #[schemars(with = "u64")]
    pub connect_timeout: Duration,
    /// Let connections log in as a superuser or a member of `pg_execute_server_program`,
    /// `pg_write_server_files` or `pg_read_server_files` (such a login can run programs and
    /// write files on the database server whatever the host checks).
    pub allow_privileged_roles: bool,
}

impl Default for SqlLimits {
    fn default() -> Self {
        Self {
            statement_timeout: Duration::from_secs(5),
            max_rows: 1000,
            max_result_bytes: 4 << 20,
            max_statements_per_call: 20,
            max_pool_size: 4,
            pool_idle_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(5),
            allow_privileged_roles: false,
        }
    }
}

impl SqlLimits {
    /// The limits with each value brought within what a pool can work with.
    pub fn bounded(mut self) -> Self {
        self.max_pool_size = self.max_pool_size.max(1);
        self
    }
}
