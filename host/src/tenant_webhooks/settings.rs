//! Every knob of webhook deliveries, with its default, in one place.

use std::time::Duration;

/// How deliveries to tenants' endpoints are made.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Let endpoints be on private, loopback or link-local addresses (local receivers in
    /// development and tests). Independent of plugins' `allow_private_egress`: an operator who
    /// lets connectors reach a self-hosted Jira need not let tenants aim deliveries at the
    /// internal network. Cloud metadata addresses stay refused.
    pub allow_private_endpoints: bool,
    /// How often the dispatcher looks for due deliveries.
    #[serde(rename = "tick_ms", with = "crate::units::millis")]
    #[schemars(with = "u64")]
    pub tick: Duration,
    /// Deadline of one attempt, connect to last byte.
    #[serde(rename = "timeout_ms", with = "crate::units::millis")]
    #[schemars(with = "u64")]
    pub timeout: Duration,
    /// Attempts before a delivery is marked failed (8 span about 7.5 hours of retries).
    pub max_attempts: u32,
    /// Wait after the first failed attempt; each later wait is four times the one before,
    /// with ±20% jitter.
    #[serde(rename = "retry_initial_ms", with = "crate::units::millis")]
    #[schemars(with = "u64")]
    pub retry_initial: Duration,
    /// Longest wait between attempts, `Retry-After` included.
    #[serde(rename = "retry_max_secs", with = "crate::units::secs")]
    #[schemars(with = "u64")]
    pub retry_max: Duration,
    /// Failed attempts in a row after which an endpoint's breaker opens.
    pub breaker_threshold: u32,
    /// How long an open breaker holds an endpoint's deliveries back.
    #[serde(rename = "breaker_cooldown_secs", with = "crate::units::secs")]
    #[schemars(with = "u64")]
    pub breaker_cooldown: Duration,
    /// How long deliveries carry the previous secret's signature after a rotation.
    #[serde(rename = "rotation_overlap_secs", with = "crate::units::secs")]
    #[schemars(with = "u64")]
    pub rotation_overlap: Duration,
    /// Endpoints one tenant may register.
    pub max_endpoints_per_tenant: usize,
    /// Endpoints delivered to at once.
    pub concurrency: usize,
    /// Endpoints of one tenant delivered to at once, so one tenant's slow receivers hold at
    /// most this share of `concurrency`. Default: a quarter of `concurrency` (at least 1).
    pub concurrency_per_tenant: Option<usize>,
    /// An answer slower than this counts as a failure towards the endpoint's breaker, even
    /// when it is a 2xx (the delivery is still done): a receiver that always takes most of the
    /// timeout gets its cooldown like one that fails.
    #[serde(rename = "slow_answer_ms", with = "crate::units::millis")]
    #[schemars(with = "u64")]
    pub slow_answer: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private_endpoints: false,
            tick: Duration::from_millis(500),
            timeout: Duration::from_secs(10),
            max_attempts: 8,
            retry_initial: Duration::from_secs(5),
            retry_max: Duration::from_secs(10 * 3600),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(60),
            rotation_overlap: Duration::from_secs(24 * 3600),
            max_endpoints_per_tenant: 20,
            concurrency: 16,
            concurrency_per_tenant: None,
            slow_answer: Duration::from_secs(5),
        }
    }
}

impl WebhookSettings {
    /// The settings with each value brought within what the dispatcher can work with.
    pub fn bounded(mut self) -> Self {
        self.tick = self.tick.max(Duration::from_millis(10));
        self.timeout = self.timeout.max(Duration::from_millis(1));
        self.max_attempts = self.max_attempts.max(1);
        self.breaker_threshold = self.breaker_threshold.max(1);
        self.concurrency = self.concurrency.max(1);
        self.slow_answer = self.slow_answer.max(Duration::from_millis(1));
        self
    }

    /// Endpoints of one tenant delivered to at once: `concurrency_per_tenant`, or a quarter of
    /// `concurrency`, at least 1 and at most `concurrency`.
    pub fn per_tenant(&self) -> usize {
        self.concurrency_per_tenant
            .unwrap_or(self.concurrency / 4)
            .clamp(1, self.concurrency.max(1))
    }
}
