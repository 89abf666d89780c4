//! The scheduler: every tick (or when woken by a "run now"), starts the syncs that are due,
//! at most `max_concurrent_runs` at once, each under a lease so one sync has one runner, with
//! tenants taking turns for the free slots; and now and then prunes the changes feed past its
//! retention.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, oneshot};
use tokio::task::JoinSet;

use super::Syncs;
use super::run::Runner;
use super::settings::SyncSettings;
use crate::background_task::BackgroundTask;
use crate::store::{StoreError, SyncRecord, Tenure, unix_now_ms};

/// How often the feed is pruned at most: every minute, or more often for a short retention.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The running scheduler; [`SyncScheduler::stop`] ends it and the runs it started.
pub struct SyncScheduler(BackgroundTask);

impl SyncScheduler {
    /// Starts scheduling with the state's store and runtime.
    pub async fn start(state: Syncs) -> anyhow::Result<Self> {
        let settings = SyncSettings::clone(&state.settings);
        let wake = state.background.syncs.clone();
        let holder = state.store.instance_id().await?;
        Ok(Self(BackgroundTask::spawn(|stopped| {
            schedule(state, settings, wake, holder, stopped)
        })))
    }

    /// Stops scheduling and aborts runs in progress (each resumes from its checkpoint after a
    /// restart), waiting until every task has let go of the store.
    pub async fn stop(self) {
        self.0.stop().await;
    }
}

fn sync_key(sync: &SyncRecord) -> String {
    format!("{}/{}/{}", sync.tenant, sync.connection, sync.id)
}

async fn schedule(
    state: Syncs,
    settings: SyncSettings,
    wake: Arc<Notify>,
    holder: String,
    mut stopped: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(settings.max_concurrent_runs.max(1) as usize));
    let running: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut runs = JoinSet::new();
    let mut ticker = tokio::time::interval(settings.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let prune_every = (settings.changes_retention / 4).clamp(settings.tick, PRUNE_EVERY);
    let mut last_prune: Option<std::time::Instant> = None;
    // When each tenant last had a run started (a counter, not a time): the tenant served
    // longest ago goes first.
    let mut last_served: HashMap<String, u64> = HashMap::new();
    let mut served: u64 = 0;
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            _ = ticker.tick() => {}
            _ = wake.notified() => {}
        }
        while runs.try_join_next().is_some() {}
        if last_prune.is_none_or(|at| at.elapsed() >= prune_every) {
            last_prune = Some(std::time::Instant::now());
            let cutoff =
                unix_now_ms().saturating_sub(settings.changes_retention.as_millis() as u64);
            match state.store.prune_changes(cutoff).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "changes past retention pruned"),
                Err(error) => tracing::warn!(%error, "could not prune the changes feed"),
            }
        }
        let syncs = match state.store.all_syncs().await {
            Ok(syncs) => syncs,
            Err(error) => {
                tracing::warn!(%error, "could not read syncs");
                continue;
            }
        };
        let now = unix_now_ms();
        let mut due: Vec<SyncRecord> = syncs
            .into_iter()
            .filter(|s| !s.paused && s.next_run_at_ms <= now)
            .filter(|s| !lock(&running).contains(&sync_key(s)))
            .collect();
        due.sort_by_key(|s| s.next_run_at_ms);
        for sync in take_turns(due, &last_served) {
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                break;
            };
            let leased = state.store.take_lease(
                &sync.tenant,
                &sync.connection,
                &sync.id,
                &holder,
                now,
                now + settings.lease.as_millis() as u64,
            );
            let tenure = match leased.await {
                Ok(Some(tenure)) => tenure,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%error, sync = %sync.id, "could not take a sync's lease");
                    continue;
                }
            };
            served += 1;
            last_served.insert(sync.tenant.clone(), served);
            let key = sync_key(&sync);
            lock(&running).insert(key.clone());
            let state = state.clone();
            let settings = settings.clone();
            let running = running.clone();
            runs.spawn(async move {
                let _permit = permit;
                run_one(&state, &settings, &tenure, sync).await;
                lock(&running).remove(&key);
            });
        }
    }
    runs.shutdown().await;
}

/// The order in which due syncs get free slots: tenants take turns, one sync each per round,
/// the tenant served longest ago first (never served before anyone); within a tenant, the sync
/// due longest. With runs yielding their slot every few pages, a tenant with many or endless
/// syncs gets its share, not every slot.
fn take_turns(due: Vec<SyncRecord>, last_served: &HashMap<String, u64>) -> Vec<SyncRecord> {
    let mut queues: BTreeMap<String, VecDeque<SyncRecord>> = BTreeMap::new();
    for sync in due {
        queues
            .entry(sync.tenant.clone())
            .or_default()
            .push_back(sync);
    }
    let mut tenants: Vec<String> = queues.keys().cloned().collect();
    tenants.sort_by_key(|tenant| {
        (
            last_served.get(tenant).copied().unwrap_or(0),
            queues[tenant]
                .front()
                .map_or(u64::MAX, |s| s.next_run_at_ms),
        )
    });
    let mut order = Vec::new();
    loop {
        let before = order.len();
        for tenant in &tenants {
            if let Some(sync) = queues.get_mut(tenant).and_then(VecDeque::pop_front) {
                order.push(sync);
            }
        }
        if order.len() == before {
            return order;
        }
    }
}

/// Runs one sync under its tenure of the lease, logs how it ended, and lets the lease go.
async fn run_one(state: &Syncs, settings: &SyncSettings, tenure: &Tenure, sync: SyncRecord) {
    let runner = Runner {
        state,
        settings,
        tenure,
    };
    let (tenant, connection, id) = (
        sync.tenant.clone(),
        sync.connection.clone(),
        sync.id.clone(),
    );
    match runner.run(sync).await {
        Ok(outcome) => tracing::info!(
            sync = %id, connection = %connection, status = ?outcome.status,
            created = outcome.counts.created, updated = outcome.counts.updated,
            deleted = outcome.counts.deleted, pages = outcome.counts.pages,
            "sync run ended"
        ),
        // Another runner's tenure began (this one paused past its lease): it wrote nothing
        // after that, and the pass goes on under the new tenure.
        Err(StoreError::LeaseLost) => {
            tracing::info!(sync = %id, "sync run stopped: its lease passed to another runner")
        }
        Err(error) => {
            tracing::warn!(sync = %id, %error, "sync run failed in the store")
        }
    }
    if let Err(error) = state
        .store
        .release_lease(&tenant, &connection, &id, tenure)
        .await
    {
        tracing::warn!(%error, sync = %id, "could not release a sync's lease");
    }
}

fn lock(running: &Mutex<HashSet<String>>) -> std::sync::MutexGuard<'_, HashSet<String>> {
    running
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sync(tenant: &str, id: &str, due: u64) -> SyncRecord {
        SyncRecord {
            id: id.into(),
            tenant: tenant.into(),
            connection: "c".into(),
            container: "x".into(),
            interval_secs: 60,
            full_pass_interval_secs: 3600,
            paused: false,
            created_at: "2026-12-06T00:00:00Z".into(),
            updated_at: "2026-12-06T00:00:00Z".into(),
            next_run_at_ms: due,
            last_full_pass_at_ms: None,
            last_run: None,
        }
    }

    fn ids(order: &[SyncRecord]) -> Vec<&str> {
        order.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn tenants_take_turns_and_the_one_served_longest_ago_goes_first() {
        let due = vec![
            sync("a", "a1", 1),
            sync("a", "a2", 2),
            sync("a", "a3", 3),
            sync("b", "b1", 10),
            sync("c", "c1", 20),
        ];
        let never = HashMap::new();
        assert_eq!(
            ids(&take_turns(due.clone(), &never)),
            ["a1", "b1", "c1", "a2", "a3"]
        );
        // `a` was just served: `b` and `c` go first.
        let last = HashMap::from([("a".to_owned(), 7), ("b".to_owned(), 3)]);
        assert_eq!(ids(&take_turns(due, &last)), ["c1", "b1", "a1", "a2", "a3"]);
    }
}
