//! Which hosts share the limits. A host on a shared store stamps itself live every
//! [`HEARTBEAT_INTERVAL`] and reads who else is; its [`ClusterView`], which the call caps,
//! the API-key rate and the unauthenticated surfaces' source rate are divided by, follows. A host that stops gracefully leaves at once, after its calls have finished; one
//! that dies stops counting after [`HOST_LAPSE`]. A host that joins serves only once every
//! other host has had a heartbeat to count it ([`Membership::settled`]), so during a change
//! the caps are exceeded by at most one call per host (a share rounded differently under the
//! old and new views).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Runtime;
use crate::background_task::BackgroundTask;
use crate::cluster_view::ClusterView;
use crate::store::Store;

/// How often a host stamps itself live and re-reads the others. Default: 500 ms.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(500);

/// A host not stamped for this long is no longer counted. Default: 2 s (four heartbeats).
pub const HOST_LAPSE: Duration = Duration::from_secs(2);

/// This host's membership; [`Membership::leave`] ends it.
pub struct Membership {
    store: Store,
    task: BackgroundTask,
    joined_at: Instant,
}

impl Membership {
    /// Stamps this host live, takes the first view and keeps it current in the background.
    pub async fn join(store: Store, runtime: &Runtime) -> anyhow::Result<Self> {
        let share = runtime.cluster_view().clone();
        let lapse_ms = HOST_LAPSE.as_millis() as u64;
        let (hosts, rank) = store.heartbeat(lapse_ms).await?;
        share.set(hosts, rank);
        tracing::info!(hosts, rank, "joined the cluster; call caps are shared");
        let task = BackgroundTask::spawn({
            let store = store.clone();
            move |stop| beat(store, share, stop)
        });
        Ok(Self {
            store,
            task,
            joined_at: Instant::now(),
        })
    }

    /// Waits until every other host has had a heartbeat in which to count this one, so its
    /// share never adds to the old view's.
    pub async fn settled(&self) {
        let ready = self.joined_at + HEARTBEAT_INTERVAL + Duration::from_millis(100);
        tokio::time::sleep_until(ready.into()).await;
    }

    /// Stops the heartbeat and leaves: the other hosts take this one's share at their next
    /// heartbeat. Call once this host's calls have finished.
    pub async fn leave(self) {
        self.task.stop().await;
        if let Err(error) = self.store.leave_cluster().await {
            tracing::warn!(%error, "could not leave the cluster; the others count this host until its stamp lapses");
        }
    }
}

async fn beat(store: Store, share: Arc<ClusterView>, mut stop: tokio::sync::oneshot::Receiver<()>) {
    let mut tick = tokio::time::interval(HEARTBEAT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let lapse_ms = HOST_LAPSE.as_millis() as u64;
    let mut failing = false;
    let mut last_stamped = Instant::now();
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tick.tick() => {}
        }
        match store.heartbeat(lapse_ms).await {
            Ok((hosts, rank)) => {
                if share.view() != (hosts, rank) {
                    tracing::info!(hosts, rank, "cluster membership changed");
                }
                share.set(hosts, rank);
                failing = false;
                last_stamped = Instant::now();
            }
            // The store is out of reach: once this host's stamp has lapsed the others no
            // longer count it and raise their shares, so this one takes none until it is
            // stamped again.
            Err(error) => {
                if last_stamped.elapsed() >= HOST_LAPSE {
                    share.withdraw();
                }
                if !failing {
                    tracing::warn!(%error, "cluster heartbeat failed; taking no share of the call caps until it works");
                }
                failing = true;
            }
        }
    }
}
