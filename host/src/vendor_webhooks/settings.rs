//! Every knob of vendor webhooks in, with its default, in one place.

use std::collections::BTreeMap;
use std::time::Duration;

/// How the receiver treats vendors' deliveries.
#[derive(Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VendorWebhookSettings {
    /// Largest delivery body accepted (413 beyond).
    #[serde(rename = "max_body_kib", with = "crate::units::kib")]
    #[schemars(with = "u64")]
    pub max_body_bytes: usize,
    /// Verified deliveries one route (a connection, or an app's route) may send per second;
    /// beyond the burst, 429. Divided by the live hosts on a PostgreSQL store.
    pub per_route_per_second: u32,
    /// Verified deliveries one route may send at once before the rate applies.
    pub per_route_burst: u32,
    /// How long a delivery id is remembered, so its replay is refused.
    #[serde(rename = "dedup_window_secs", with = "crate::units::secs")]
    #[schemars(with = "u64")]
    pub dedup_window: Duration,
    /// How long the receiver waits for the plugin before answering (the delivery stays
    /// queued and is processed after): within every vendor's deadline (Slack's is 3 s).
    #[serde(rename = "answer_within_ms", with = "crate::units::millis")]
    #[schemars(with = "u64")]
    pub answer_within: Duration,
    /// Attempts at processing a queued delivery before it is dropped.
    pub max_process_attempts: u32,
    /// The operator's app signing secrets by connector id (`slack = "..."`), for vendors that
    /// sign every delivery of an app with one secret. Default: none.
    pub app_secrets: BTreeMap<String, crate::secret::ConfigSecret>,
}

impl std::fmt::Debug for VendorWebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VendorWebhookSettings")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("per_route_per_second", &self.per_route_per_second)
            .field("app_secrets", &self.app_secrets.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for VendorWebhookSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 256 << 10,
            per_route_per_second: 20,
            per_route_burst: 40,
            dedup_window: Duration::from_secs(24 * 3600),
            answer_within: Duration::from_secs(2),
            max_process_attempts: 5,
            app_secrets: BTreeMap::new(),
        }
    }
}

impl VendorWebhookSettings {
    /// The settings with each value brought within what the receiver can work with.
    pub fn bounded(mut self) -> Self {
        self.max_body_bytes = self.max_body_bytes.max(1 << 10);
        self.per_route_per_second = self.per_route_per_second.max(1);
        self.per_route_burst = self.per_route_burst.max(1);
        self.answer_within = self.answer_within.max(Duration::from_millis(1));
        self.max_process_attempts = self.max_process_attempts.max(1);
        self
    }
}
