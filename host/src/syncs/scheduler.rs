//! The scheduler: every tick (or when woken by a "run now"), claims as many due syncs as it
//! has free runners (`max_concurrent_runs`) from the store, each under a lease so one sync has
//! one runner on every host, with tenants taking turns for the free runners (the store's turn
//! order; on PostgreSQL the syncs are dequeued with `SKIP LOCKED`); and now and then prunes the
//! changes feed past its retention.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, oneshot};
use tokio::task::JoinSet;

use super::Syncs;
use super::run::Runner;
use super::settings::SyncSettings;
use crate::background_task::BackgroundTask;
use crate::store::{StoreError, SyncRecord, Tenure, sync_key, unix_now_ms};

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
        let free = slots.available_permits();
        if free == 0 {
            continue;
        }
        let now = unix_now_ms();
        let running_now: Vec<String> = lock(&running).iter().cloned().collect();
        let claimed = state
            .store
            .claim_due_syncs(
                &holder,
                now,
                now + settings.lease.as_millis() as u64,
                free,
                &running_now,
            )
            .await;
        let claimed = match claimed {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "could not claim due syncs");
                continue;
            }
        };
        for (sync, tenure) in claimed {
            // Every claimed sync has a free slot: nothing else takes this loop's permits.
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                release(&state, &sync, &tenure).await;
                continue;
            };
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

/// Lets go of a lease claimed but not run.
async fn release(state: &Syncs, sync: &SyncRecord, tenure: &Tenure) {
    if let Err(error) = state
        .store
        .release_lease(&sync.tenant, &sync.connection, &sync.id, tenure)
        .await
    {
        tracing::warn!(%error, sync = %sync.id, "could not release a sync's lease");
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
