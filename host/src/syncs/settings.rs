//! Every knob of syncs and the changes feed, with its default, in one place.

use std::time::Duration;

/// How syncs run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SyncSettings {
    /// Run syncs at all (a host that only serves the API may leave them to another).
    pub enabled: bool,
    /// How often the scheduler looks for due syncs.
    #[serde(rename = "tick_ms", with = "crate::units::millis")]
    #[schemars(with = "u64")]
    pub tick: Duration,
    /// Syncs that may run at once across the host; each takes one background call slot, apart
    /// from the slots API calls use.
    pub max_concurrent_runs: u32,
    /// Shortest interval a sync may ask for.
    #[serde(rename = "min_interval_secs", with = "crate::units::secs")]
    #[schemars(with = "u64")]
    pub min_interval: Duration,
    /// Interval of a sync that names none.
    #[serde(rename = "default_interval_secs", with = "crate::units::secs")]
    #[schemars(with = "u64")]
    pub default_interval: Duration,
    /// How often a sync lists every item to find deletions its connector reports no tombstones
    /// for, when the sync names none.
    #[serde(
        rename = "default_full_pass_interval_secs",
        with = "crate::units::secs"
    )]
    #[schemars(with = "u64")]
    pub default_full_pass_interval: Duration,
    /// The next incremental pass lists from its predecessor's start less this, for vendor
    /// clock skew and search-index lag; items seen again are recognised by content hash.
    #[serde(rename = "cursor_overlap_secs", with = "crate::units::secs")]
    #[schemars(with = "u64")]
    pub cursor_overlap: Duration,
    /// How long a runner's hold on a sync lasts without renewal (renewed every page).
    #[serde(rename = "lease_secs", with = "crate::units::secs")]
    #[schemars(with = "u64")]
    pub lease: Duration,
    /// Items asked for per page.
    pub page_size: u32,
    /// Syncs one connection may have.
    pub max_syncs_per_connection: usize,
    /// How long change events stay in the feed.
    #[serde(rename = "changes_retention_secs", with = "crate::units::secs")]
    #[schemars(with = "u64")]
    pub changes_retention: Duration,
    /// Pages one run lists before it yields its slot (the pass stays in the checkpoint and the
    /// sync is due again at once, behind other tenants' due syncs).
    pub max_pages_per_turn: u32,
    /// Time one run may hold a slot before it yields, checked between pages.
    #[serde(rename = "max_turn_secs", with = "crate::units::secs")]
    #[schemars(with = "u64")]
    pub max_turn: Duration,
    /// Items one sync may track (what it saw, to find updates and deletions); a page that
    /// would take it past this fails the run with nothing of the page written.
    pub max_items_per_sync: u64,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            tick: Duration::from_secs(1),
            max_concurrent_runs: 2,
            min_interval: Duration::from_secs(60),
            default_interval: Duration::from_secs(3600),
            default_full_pass_interval: Duration::from_secs(24 * 3600),
            cursor_overlap: Duration::from_secs(120),
            lease: Duration::from_secs(60),
            page_size: 100,
            max_syncs_per_connection: 20,
            changes_retention: Duration::from_secs(7 * 24 * 3600),
            max_pages_per_turn: 20,
            max_turn: Duration::from_secs(60),
            max_items_per_sync: 100_000,
        }
    }
}

impl SyncSettings {
    /// The settings with each value brought within what the scheduler can work with (a zero
    /// tick would spin, a zero lease could never be held).
    pub fn bounded(mut self) -> Self {
        self.tick = self.tick.max(Duration::from_millis(10));
        self.max_concurrent_runs = self.max_concurrent_runs.max(1);
        self.lease = self.lease.max(Duration::from_secs(1));
        self.page_size = self.page_size.clamp(1, 100);
        self.max_pages_per_turn = self.max_pages_per_turn.max(1);
        self.max_turn = self.max_turn.max(Duration::from_secs(1));
        self.max_items_per_sync = self.max_items_per_sync.max(1);
        self
    }
}
