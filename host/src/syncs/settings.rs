//! Every knob of syncs and the changes feed, with its default, in one place.

use std::time::Duration;

/// How syncs run.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Run syncs at all (a host that only serves the API may leave them to another). Default:
    /// true.
    pub enabled: bool,
    /// How often the scheduler looks for due syncs. Default: 1 s.
    pub tick: Duration,
    /// Syncs that may run at once across the host; each takes one background call slot, apart
    /// from the slots API calls use. Default: 2.
    pub max_concurrent_runs: u32,
    /// Shortest interval a sync may ask for. Default: 60 s.
    pub min_interval: Duration,
    /// Interval of a sync that names none. Default: 1 h.
    pub default_interval: Duration,
    /// How often a sync lists every item to find deletions its connector reports no tombstones
    /// for, when the sync names none. Default: 24 h.
    pub default_full_pass_interval: Duration,
    /// The next incremental pass lists from its predecessor's start less this, for vendor
    /// clock skew and search-index lag; items seen again are recognised by content hash.
    /// Default: 120 s.
    pub cursor_overlap: Duration,
    /// How long a runner's hold on a sync lasts without renewal (renewed every page).
    /// Default: 60 s.
    pub lease: Duration,
    /// Items asked for per page. Default: 100.
    pub page_size: u32,
    /// Syncs one connection may have. Default: 20.
    pub max_syncs_per_connection: usize,
    /// How long change events stay in the feed. Default: 7 days.
    pub changes_retention: Duration,
    /// Pages one run lists before it yields its slot (the pass stays in the checkpoint and the
    /// sync is due again at once, behind other tenants' due syncs). Default: 20.
    pub max_pages_per_turn: u32,
    /// Time one run may hold a slot before it yields, checked between pages. Default: 60 s.
    pub max_turn: Duration,
    /// Items one sync may track (what it saw, to find updates and deletions); a page that
    /// would take it past this fails the run with nothing of the page written. Default:
    /// 100000.
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
