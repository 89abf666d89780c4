//! Every knob of usage metering, with its default, in one place.

/// How usage is metered (`[usage]`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct UsageSettings {
    /// How often counts summed in memory are added to the store. A host that stops flushes
    /// first; one that crashes loses at most this long of counts.
    pub flush_interval_ms: u64,
    /// Counters older than this many days are deleted.
    pub retention_days: u64,
    /// Plugin calls a tenant may make per calendar month (UTC) unless its own limit says
    /// otherwise (`PUT /admin/v1/tenants/{tenant}/usage-limit`); past it, calls answer 429
    /// `QUOTA_EXCEEDED` until the month ends. None: no limit.
    pub default_monthly_call_limit: Option<u64>,
}

impl Default for UsageSettings {
    fn default() -> Self {
        Self {
            flush_interval_ms: 5000,
            retention_days: 400,
            default_monthly_call_limit: None,
        }
    }
}
