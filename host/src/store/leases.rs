//! Leases: who runs a sync now. A lease is taken by compare-and-swap and lapses at its expiry,
//! so with several hosts on one store (later) each sync has one runner, and a runner that died
//! loses its syncs to the next host after the lease time. Holders are named by the store's
//! instance id, kept in the store, so a host restarted on its data dir takes its own leases back
//! at once instead of waiting for them to lapse.
//!
//! Each tenure of a lease has an epoch, one more than the tenure before it (a renewal keeps it;
//! a lease taken after it lapsed, even by the same holder, starts a new one), and a released
//! lease keeps its row so epochs never repeat. A page commit carries its runner's [`Tenure`] and
//! checks it inside its own transaction: a runner that paused past its lease while another
//! tenure began can no longer write (the fence), whatever its clock says.

use serde::{Deserialize, Serialize};

use super::{Sled, StoreError, SyncRecord, scoped_key};

/// A lease as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lease {
    /// The host instance holding it.
    pub holder: String,
    /// Unix milliseconds after which anyone may take it.
    pub until_ms: u64,
    /// The tenure's number (leases stored before epochs read as 0).
    #[serde(default)]
    pub epoch: u64,
}

/// One holder's tenure of a lease: what a page commit must still match to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenure {
    /// The holder.
    pub holder: String,
    /// The tenure's epoch.
    pub epoch: u64,
}

/// Whether `current` (a lease's stored bytes) is still `tenure`.
pub(super) fn holds(current: Option<&[u8]>, tenure: &Tenure) -> bool {
    current
        .and_then(|bytes| serde_json::from_slice::<Lease>(bytes).ok())
        .is_some_and(|lease| lease.holder == tenure.holder && lease.epoch == tenure.epoch)
}

/// The key of a sync's lease.
pub(super) fn lease_key(tenant: &str, connection: &str, sync: &str) -> Vec<u8> {
    scoped_key(tenant, &format!("{connection}/{sync}"))
}

const INSTANCE_KEY: &[u8] = b"instance_id";

/// `tenant/connection/id`: how the scheduler names a sync it runs.
pub fn sync_key(sync: &SyncRecord) -> String {
    format!("{}/{}/{}", sync.tenant, sync.connection, sync.id)
}

/// The order due syncs get free runners in, on both backends: tenants take turns (each
/// tenant's most overdue sync, then each one's second, ...), and within a turn the sync due
/// longest goes first. A run gives its runner up after a turn and is due again at once, so a
/// tenant with many or endless syncs never holds every runner.
pub(super) fn turn_order(mut due: Vec<SyncRecord>) -> Vec<SyncRecord> {
    due.sort_by_key(|sync| sync.next_run_at_ms);
    let mut turns: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut ranked: Vec<(u64, u64, SyncRecord)> = due
        .into_iter()
        .map(|sync| {
            let turn = turns.entry(sync.tenant.clone()).or_default();
            *turn += 1;
            (*turn, sync.next_run_at_ms, sync)
        })
        .collect();
    ranked.sort_by(|(turn_a, due_a, a), (turn_b, due_b, b)| {
        (turn_a, due_a, &a.tenant, &a.connection, &a.id).cmp(&(
            turn_b,
            due_b,
            &b.tenant,
            &b.connection,
            &b.id,
        ))
    });
    ranked.into_iter().map(|(_, _, sync)| sync).collect()
}

impl Sled {
    /// One process holds an embedded store: it is the whole cluster.
    pub fn heartbeat(&self, _lapse_ms: u64) -> Result<(u32, u32), StoreError> {
        Ok((1, 0))
    }

    /// Nothing to leave: see [`Sled::heartbeat`].
    pub fn leave_cluster(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Takes the leases of up to `limit` due syncs (see [`turn_order`]) that nobody else
    /// holds: not paused, due by `now_ms`, no other holder's unexpired lease, not in `running`
    /// (a host restarted on its data dir takes its own leases back at once).
    pub fn claim_due_syncs(
        &self,
        holder: &str,
        now_ms: u64,
        until_ms: u64,
        limit: usize,
        running: &[String],
    ) -> Result<Vec<(SyncRecord, Tenure)>, StoreError> {
        let mut due = Vec::new();
        for bytes in self.syncs.iter().values() {
            let sync: SyncRecord = serde_json::from_slice(&bytes?)?;
            if sync.paused || sync.next_run_at_ms > now_ms || running.contains(&sync_key(&sync)) {
                continue;
            }
            let leased = self
                .leases
                .get(lease_key(&sync.tenant, &sync.connection, &sync.id))?
                .and_then(|bytes| serde_json::from_slice::<Lease>(&bytes).ok())
                .is_some_and(|lease| lease.until_ms > now_ms && lease.holder != holder);
            if !leased {
                due.push(sync);
            }
        }
        let mut claimed = Vec::new();
        for sync in turn_order(due) {
            if claimed.len() >= limit {
                break;
            }
            if let Some(tenure) = self.take_lease(
                &sync.tenant,
                &sync.connection,
                &sync.id,
                holder,
                now_ms,
                until_ms,
            )? {
                claimed.push((sync, tenure));
            }
        }
        Ok(claimed)
    }

    /// This store's instance id, generated on first use.
    pub fn instance_id(&self) -> Result<String, StoreError> {
        let fresh = format!("host_{}", uuid::Uuid::new_v4().simple());
        match self.meta.compare_and_swap(
            INSTANCE_KEY,
            None as Option<&[u8]>,
            Some(fresh.as_bytes()),
        )? {
            Ok(()) => Ok(fresh),
            Err(existing) => Ok(String::from_utf8_lossy(
                existing.current.as_deref().unwrap_or_default(),
            )
            .into_owned()),
        }
    }

    /// Takes or renews the lease of a sync for `holder` until `until_ms`: the tenure it holds
    /// now, or none while another holder's lease runs. A lease this holder took before (in an
    /// earlier life of the host) may be taken back before it lapses, as a new tenure.
    pub fn take_lease(
        &self,
        tenant: &str,
        connection: &str,
        sync: &str,
        holder: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> Result<Option<Tenure>, StoreError> {
        self.take_lease_within(tenant, connection, sync, holder, now_ms, until_ms, None)
    }

    /// Renews `tenure` until `until_ms`; false when it ended (the lease lapsed and was taken
    /// again, or passed to another holder), and then the runner must stop.
    pub fn renew_lease(
        &self,
        tenant: &str,
        connection: &str,
        sync: &str,
        tenure: &Tenure,
        now_ms: u64,
        until_ms: u64,
    ) -> Result<bool, StoreError> {
        let taken = self.take_lease_within(
            tenant,
            connection,
            sync,
            &tenure.holder,
            now_ms,
            until_ms,
            Some(tenure.epoch),
        )?;
        Ok(taken.as_ref() == Some(tenure))
    }

    #[allow(clippy::too_many_arguments)]
    fn take_lease_within(
        &self,
        tenant: &str,
        connection: &str,
        sync: &str,
        holder: &str,
        now_ms: u64,
        until_ms: u64,
        renewing: Option<u64>,
    ) -> Result<Option<Tenure>, StoreError> {
        let key = lease_key(tenant, connection, sync);
        loop {
            let current = self.leases.get(&key)?;
            let lease = current
                .as_deref()
                .map(serde_json::from_slice::<Lease>)
                .transpose()?;
            let epoch = match &lease {
                Some(lease) if lease.holder != holder && lease.until_ms > now_ms => {
                    return Ok(None);
                }
                // A renewal keeps its tenure only while the lease runs and is still that tenure.
                Some(lease)
                    if lease.holder == holder
                        && lease.until_ms > now_ms
                        && renewing.is_none_or(|epoch| epoch == lease.epoch) =>
                {
                    lease.epoch
                }
                Some(_) if renewing.is_some() => return Ok(None),
                Some(lease) => lease.epoch + 1,
                None if renewing.is_some() => return Ok(None),
                None => 1,
            };
            let new = serde_json::to_vec(&Lease {
                holder: holder.to_owned(),
                until_ms,
                epoch,
            })?;
            if self
                .leases
                .compare_and_swap(&key, current, Some(new))?
                .is_ok()
            {
                return Ok(Some(Tenure {
                    holder: holder.to_owned(),
                    epoch,
                }));
            }
        }
    }

    /// Gives a lease up, if `tenure` still holds it: it lapses now, and its row stays so the
    /// next tenure's epoch is higher.
    pub fn release_lease(
        &self,
        tenant: &str,
        connection: &str,
        sync: &str,
        tenure: &Tenure,
    ) -> Result<(), StoreError> {
        let key = lease_key(tenant, connection, sync);
        if let Some(bytes) = self.leases.get(&key)?
            && holds(Some(&bytes), tenure)
        {
            let lapsed = serde_json::to_vec(&Lease {
                holder: tenure.holder.clone(),
                until_ms: 0,
                epoch: tenure.epoch,
            })?;
            let _ = self
                .leases
                .compare_and_swap(&key, Some(bytes), Some(lapsed))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{
        ChangeKind, ChangeObject, KeyRing, NewChange, PageCommit, RunCounts, RunRecord, RunStatus,
        SyncCheckpoint, SyncRecord,
    };

    fn sync() -> SyncRecord {
        SyncRecord {
            id: "sync_1".into(),
            tenant: "acme".into(),
            connection: "conn_1".into(),
            container: "PROJ".into(),
            interval_secs: 60,
            full_pass_interval_secs: 3600,
            paused: false,
            created_at: "2026-12-07T00:00:00Z".into(),
            updated_at: "2026-12-07T00:00:00Z".into(),
            next_run_at_ms: 0,
            last_full_pass_at_ms: None,
            last_run: None,
        }
    }

    fn run(id: &str) -> RunRecord {
        RunRecord {
            id: id.into(),
            sync_id: "sync_1".into(),
            status: RunStatus::Running,
            full_pass: true,
            started_at: "2026-12-07T00:00:00Z".into(),
            finished_at: None,
            counts: RunCounts::default(),
            error_code: None,
            error: None,
            retry_after_ms: None,
        }
    }

    fn created(item: &str) -> NewChange {
        NewChange {
            kind: ChangeKind::Created,
            object: ChangeObject::Item,
            container_id: "PROJ".into(),
            item_id: item.into(),
            comment_id: None,
            occurred_at: "2026-12-07T00:00:00Z".into(),
            sync_id: Some("sync_1".into()),
            item: None,
            comment: None,
        }
    }

    async fn commit(store: &Sled, tenure: &Tenure, item: &str) -> Result<Vec<String>, StoreError> {
        let run = run(&store.next_run_id()?);
        store
            .commit_page(PageCommit {
                sync: &sync(),
                seen: Vec::new(),
                forget: Vec::new(),
                changes: vec![created(item)],
                checkpoint: &SyncCheckpoint {
                    updated_since: None,
                    pass: None,
                    tracked: None,
                },
                run: &run,
                tenure,
            })
            .await
    }

    /// A runner that paused past its lease while another tenure began writes nothing, even
    /// though its own clock never saw the lease lapse: the fence is checked in the commit's
    /// transaction. Before epochs, `commit_page` did not look at the lease at all.
    #[tokio::test]
    async fn a_page_commit_after_the_tenure_ended_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Sled::open(
            &dir.path().join("db"),
            KeyRing::load(dir.path(), None).unwrap(),
        )
        .unwrap();
        store.create_sync(&sync()).await.unwrap();
        let take = |holder: &str, now: u64| {
            store.take_lease("acme", "conn_1", "sync_1", holder, now, now + 1_000)
        };

        let a = take("host_a", 0).unwrap().expect("a free lease is taken");
        assert_eq!(a.epoch, 1);
        assert!(
            take("host_b", 500).unwrap().is_none(),
            "held until it lapses"
        );
        assert!(
            store
                .renew_lease("acme", "conn_1", "sync_1", &a, 900, 1_900)
                .unwrap()
        );
        assert_eq!(commit(&store, &a, "i-1").await.unwrap().len(), 1);

        // A pauses past its lease; B takes the sync.
        let b = take("host_b", 2_000)
            .unwrap()
            .expect("a lapsed lease is taken");
        assert_eq!(b.epoch, 2);
        assert!(
            !store
                .renew_lease("acme", "conn_1", "sync_1", &a, 2_100, 3_100)
                .unwrap(),
            "A's tenure ended: it cannot renew"
        );
        assert!(matches!(
            commit(&store, &a, "i-2").await,
            Err(StoreError::LeaseLost)
        ));
        assert_eq!(commit(&store, &b, "i-3").await.unwrap().len(), 1);
        let feed = store.changes("acme", "conn_1", 0, 100).unwrap();
        let items: Vec<&str> = feed
            .entries
            .iter()
            .map(|(_, e)| e.item_id.as_str())
            .collect();
        assert_eq!(
            items,
            ["i-1", "i-3"],
            "nothing of A's late page was written"
        );

        // Released, then taken again (by the same holder): a new epoch, so B's tenure stays dead.
        store.release_lease("acme", "conn_1", "sync_1", &b).unwrap();
        let b_again = take("host_b", 2_200).unwrap().unwrap();
        assert_eq!(b_again.epoch, 3);
        assert!(matches!(
            commit(&store, &b, "i-4").await,
            Err(StoreError::LeaseLost)
        ));
        // A lease that lapsed and is retaken by its own holder is a new tenure too.
        let b_later = take("host_b", 10_000).unwrap().unwrap();
        assert_eq!(b_later.epoch, 4);
        assert!(
            !store
                .renew_lease("acme", "conn_1", "sync_1", &b_again, 10_001, 11_000)
                .unwrap()
        );
    }
}
