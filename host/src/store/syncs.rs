//! Sync jobs as stored: the job (`syncs`), its sealed checkpoint (`sync_state`), what it saw
//! (`sync_seen`: item id -> content hash), and its runs (`sync_runs`). A page's changes, the
//! records of what was seen, the checkpoint and the `records.changed` event are written in one
//! transaction, so a crash at any point loses no change and repeats none.

use serde::{Deserialize, Serialize};
use sled::Transactional as _;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::changes::{self, NewChange};
use super::events::{self, EventType};
use super::leases::{Tenure, holds, lease_key};
use super::{Aad, Sled, StoreError, scoped_key};

/// A sync job of one connection's container.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncRecord {
    /// `sync_` and random characters.
    pub id: String,
    /// The tenant.
    pub tenant: String,
    /// The connection.
    pub connection: String,
    /// The container whose items are synced.
    pub container: String,
    /// Seconds between the end of one run and the start of the next.
    pub interval_secs: u64,
    /// Seconds between full passes, which find deletions the connector reports no tombstones
    /// for.
    pub full_pass_interval_secs: u64,
    /// Whether it is paused.
    pub paused: bool,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// When the next run is due, unix milliseconds.
    pub next_run_at_ms: u64,
    /// When the last full pass finished, unix milliseconds.
    #[serde(default)]
    pub last_full_pass_at_ms: Option<u64>,
    /// The last finished run.
    #[serde(default)]
    pub last_run: Option<RunRecord>,
}

/// Where a sync stands between runs and within one: sealed, since the page cursor is the
/// plugin's and may carry vendor tokens.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncCheckpoint {
    /// `updated_since` of the next incremental pass, RFC 3339; `None` before the first pass.
    pub updated_since: Option<String>,
    /// The pass in progress, when a run stopped (crash, rate limit, error) before its end.
    pub pass: Option<PassState>,
    /// Items the sync tracks as of the last committed page, kept with it so a run need not
    /// count them; `None` in checkpoints written before it was kept (counted once then).
    #[serde(default)]
    pub tracked: Option<u64>,
}

/// A pass over the container's items, resumable page by page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PassState {
    /// Marks the items a full pass saw, so the unseen ones are known deleted at its end.
    pub id: u64,
    /// Unix milliseconds when the pass started: the next `updated_since` comes from it.
    pub started_at_ms: u64,
    /// A full pass lists every item (no `updated_since`).
    pub full: bool,
    /// The `updated_since` this pass lists from (`None` on a full pass).
    pub updated_since: Option<String>,
    /// The plugin's cursor of the next page; `None` before the first page.
    pub page_cursor: Option<String>,
    /// The run that is working on the pass.
    pub run_id: String,
}

/// What a sync saw of one item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeenRecord {
    /// Hex of the first 16 bytes of SHA-256 over the item's unified view.
    pub hash: String,
    /// The container the item was seen in.
    pub container: String,
    /// Unix milliseconds.
    pub last_seen_at_ms: u64,
    /// The last full pass that saw it.
    pub pass: u64,
}

/// How a run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// In progress.
    Running,
    /// Completed.
    Succeeded,
    /// Failed; `error` says why.
    Failed,
    /// The vendor asked to slow down; the next run resumes the pass after its wait.
    RateLimited,
    /// The host stopped during the run; a later run resumed the pass.
    Interrupted,
    /// The run used its turn (`syncs.max_pages_per_turn` or `max_turn_secs`) and gave its
    /// slot to other syncs; the next run resumes the pass from its checkpoint.
    Yielded,
}

impl RunStatus {
    /// The status as the API writes it (`rate_limited`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::RateLimited => "rate_limited",
            Self::Interrupted => "interrupted",
            Self::Yielded => "yielded",
        }
    }
}

/// Changes a run found.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunCounts {
    /// Pages listed.
    pub pages: u64,
    /// Items created.
    pub created: u64,
    /// Items updated.
    pub updated: u64,
    /// Items deleted.
    pub deleted: u64,
    /// Items seen again unchanged.
    pub unchanged: u64,
}

/// One run of a sync.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunRecord {
    /// `run_` and a sequence number, in start order.
    pub id: String,
    /// The sync.
    pub sync_id: String,
    /// How it ended.
    pub status: RunStatus,
    /// Whether this run works on a full pass.
    pub full_pass: bool,
    /// When it started.
    pub started_at: String,
    /// When it ended.
    pub finished_at: Option<String>,
    /// What it found.
    pub counts: RunCounts,
    /// Error code of the envelope (`RATE_LIMITED`, `VENDOR_ERROR`, ...), when it failed.
    pub error_code: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// How long the vendor asked to wait, when rate limited.
    pub retry_after_ms: Option<u64>,
}

/// One page's outcome, written at once.
pub struct PageCommit<'a> {
    /// The sync.
    pub sync: &'a SyncRecord,
    /// What the page saw, by item.
    pub seen: Vec<(String, SeenRecord)>,
    /// Items no longer tracked.
    pub forget: Vec<String>,
    /// The change events to record.
    pub changes: Vec<NewChange>,
    /// The checkpoint after the page.
    pub checkpoint: &'a SyncCheckpoint,
    /// The run record after the page.
    pub run: &'a RunRecord,
    /// The runner's tenure of the sync's lease, checked inside the commit's transaction.
    pub tenure: &'a Tenure,
}

const CHECKPOINT_FIELD: &str = "sync:";

pub(super) fn checkpoint_aad(tenant: &str, connection: &str, sync: &str) -> Aad {
    Aad::new(tenant, connection, &format!("{CHECKPOINT_FIELD}{sync}"))
}

fn sync_key(tenant: &str, connection: &str, sync: &str) -> Vec<u8> {
    scoped_key(tenant, &format!("{connection}/{sync}"))
}

fn seen_prefix(tenant: &str, connection: &str, sync: &str) -> Vec<u8> {
    scoped_key(tenant, &format!("{connection}/{sync}/"))
}

fn seen_key(tenant: &str, connection: &str, sync: &str, item: &str) -> Vec<u8> {
    let mut key = seen_prefix(tenant, connection, sync);
    key.extend_from_slice(item.as_bytes());
    key
}

fn run_key(tenant: &str, connection: &str, sync: &str, run_seq: u64) -> Vec<u8> {
    let mut key = seen_prefix(tenant, connection, sync);
    key.extend_from_slice(&run_seq.to_be_bytes());
    key
}

/// The sequence number inside a run id (`run_<n>`).
pub(crate) fn run_seq(run_id: &str) -> Option<u64> {
    run_id.strip_prefix("run_")?.parse().ok()
}

fn abort(error: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(error)
}

fn put_json<T: Serialize>(
    tree: &TransactionalTree,
    key: &[u8],
    value: &T,
) -> Result<(), ConflictableTransactionError<StoreError>> {
    let bytes = serde_json::to_vec(value).map_err(|e| abort(e.into()))?;
    tree.insert(key, bytes)?;
    Ok(())
}

impl Sled {
    /// Stores a new sync with an empty checkpoint; `Conflict` when the id is taken.
    pub async fn create_sync(&self, sync: &SyncRecord) -> Result<(), StoreError> {
        let key = sync_key(&sync.tenant, &sync.connection, &sync.id);
        let bytes = serde_json::to_vec(sync)?;
        self.syncs
            .compare_and_swap(key, None as Option<&[u8]>, Some(bytes))?
            .map_err(|_| StoreError::Conflict)?;
        self.flush().await
    }

    /// One sync of the tenant's connection.
    pub fn sync(
        &self,
        tenant: &str,
        connection: &str,
        id: &str,
    ) -> Result<Option<SyncRecord>, StoreError> {
        match self.syncs.get(sync_key(tenant, connection, id))? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The syncs of one connection, in id order.
    pub fn syncs_of(&self, tenant: &str, connection: &str) -> Result<Vec<SyncRecord>, StoreError> {
        self.syncs
            .scan_prefix(scoped_key(tenant, &format!("{connection}/")))
            .values()
            .map(|bytes| Ok(serde_json::from_slice(&bytes?)?))
            .collect()
    }

    /// Every sync of every tenant (the scheduler's scan).
    pub fn all_syncs(&self) -> Result<Vec<SyncRecord>, StoreError> {
        self.syncs
            .iter()
            .values()
            .map(|bytes| Ok(serde_json::from_slice(&bytes?)?))
            .collect()
    }

    /// Changes a sync's record with `change`, atomically; `None` when it does not exist.
    pub async fn update_sync(
        &self,
        tenant: &str,
        connection: &str,
        id: &str,
        change: impl Fn(&mut SyncRecord),
    ) -> Result<Option<SyncRecord>, StoreError> {
        let key = sync_key(tenant, connection, id);
        let mut failure = None;
        let mut updated = None;
        self.syncs.fetch_and_update(&key, |current| {
            let bytes = current?;
            match serde_json::from_slice::<SyncRecord>(bytes) {
                Ok(mut record) => {
                    change(&mut record);
                    let encoded = serde_json::to_vec(&record).ok();
                    updated = Some(record);
                    encoded.or_else(|| Some(bytes.to_vec()))
                }
                Err(error) => {
                    failure = Some(error);
                    Some(bytes.to_vec())
                }
            }
        })?;
        if let Some(error) = failure {
            return Err(error.into());
        }
        self.flush().await?;
        Ok(updated)
    }

    /// Deletes a sync with its checkpoint, what it saw, its runs and its lease. Its changes
    /// stay in the connection's feed.
    pub async fn delete_sync(
        &self,
        tenant: &str,
        connection: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let existed = self
            .syncs
            .remove(sync_key(tenant, connection, id))?
            .is_some();
        self.sync_state
            .remove(checkpoint_aad(tenant, connection, id).storage_key())?;
        for tree in [&self.sync_seen, &self.sync_runs] {
            for key in tree.scan_prefix(seen_prefix(tenant, connection, id)).keys() {
                tree.remove(key?)?;
            }
        }
        self.leases.remove(sync_key(tenant, connection, id))?;
        self.flush().await?;
        Ok(existed)
    }

    /// Deletes every sync of a connection (the connection is being deleted).
    pub(crate) fn delete_syncs_of(&self, tenant: &str, connection: &str) -> Result<(), StoreError> {
        let prefix = scoped_key(tenant, &format!("{connection}/"));
        for tree in [
            &self.syncs,
            &self.sync_state,
            &self.sync_seen,
            &self.sync_runs,
            &self.leases,
        ] {
            for key in tree.scan_prefix(&prefix).keys() {
                tree.remove(key?)?;
            }
        }
        Ok(())
    }

    /// A sync's checkpoint, opened; the default before its first page.
    pub fn sync_checkpoint(&self, sync: &SyncRecord) -> Result<SyncCheckpoint, StoreError> {
        let aad = checkpoint_aad(&sync.tenant, &sync.connection, &sync.id);
        match self.sync_state.get(aad.storage_key())? {
            Some(sealed) => Ok(serde_json::from_slice(&self.keys.open(&aad, &sealed)?)?),
            None => Ok(SyncCheckpoint::default()),
        }
    }

    /// What `sync` saw of `item`.
    pub fn seen(&self, sync: &SyncRecord, item: &str) -> Result<Option<SeenRecord>, StoreError> {
        match self
            .sync_seen
            .get(seen_key(&sync.tenant, &sync.connection, &sync.id, item))?
        {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// How many items `sync` tracks (keys only; at most `syncs.max_items_per_sync`).
    pub fn seen_count(&self, sync: &SyncRecord) -> Result<u64, StoreError> {
        let prefix = seen_prefix(&sync.tenant, &sync.connection, &sync.id);
        let mut count = 0;
        for key in self.sync_seen.scan_prefix(&prefix).keys() {
            key?;
            count += 1;
        }
        Ok(count)
    }

    /// Items `sync` saw whose last full pass is not `pass`: at the end of a full pass, the
    /// items that are gone.
    pub fn unseen_in_pass(
        &self,
        sync: &SyncRecord,
        pass: u64,
    ) -> Result<Vec<(String, SeenRecord)>, StoreError> {
        let prefix = seen_prefix(&sync.tenant, &sync.connection, &sync.id);
        let mut gone = Vec::new();
        for entry in self.sync_seen.scan_prefix(&prefix) {
            let (key, bytes) = entry?;
            let record: SeenRecord = serde_json::from_slice(&bytes)?;
            if record.pass != pass {
                let item = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
                gone.push((item, record));
            }
        }
        Ok(gone)
    }

    /// A fresh run id, greater than every earlier one.
    pub fn next_run_id(&self) -> Result<String, StoreError> {
        Ok(format!("run_{}", self.db.generate_id()?))
    }

    /// A fresh pass id.
    pub fn next_pass_id(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()?)
    }

    /// Writes a run's record (at its start, and when it ends).
    pub async fn put_run(&self, sync: &SyncRecord, run: &RunRecord) -> Result<(), StoreError> {
        let seq = run_seq(&run.id).ok_or_else(|| StoreError::Corrupt("run id".into()))?;
        self.sync_runs.insert(
            run_key(&sync.tenant, &sync.connection, &sync.id, seq),
            serde_json::to_vec(run)?,
        )?;
        self.flush().await
    }

    /// Keeps a sync's `keep` newest run records and deletes the older ones (runs yield their
    /// slot every few pages, so a long pass writes many); how many went.
    pub fn trim_runs(&self, sync: &SyncRecord, keep: usize) -> Result<usize, StoreError> {
        let prefix = seen_prefix(&sync.tenant, &sync.connection, &sync.id);
        let upper = run_key(&sync.tenant, &sync.connection, &sync.id, u64::MAX);
        let mut kept = 0;
        let mut removed = 0;
        for key in self.sync_runs.range(prefix.clone()..upper).keys().rev() {
            let key = key?;
            if key.len() != prefix.len() + 8 {
                continue;
            }
            if kept < keep {
                kept += 1;
            } else {
                self.sync_runs.remove(key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// One run of a sync.
    pub fn run(&self, sync: &SyncRecord, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let Some(seq) = run_seq(run_id) else {
            return Ok(None);
        };
        match self
            .sync_runs
            .get(run_key(&sync.tenant, &sync.connection, &sync.id, seq))?
        {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// A sync's runs, newest first, starting before `before` (a run id) when given.
    pub fn runs(
        &self,
        sync: &SyncRecord,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let prefix = seen_prefix(&sync.tenant, &sync.connection, &sync.id);
        let upper = match before.and_then(run_seq) {
            Some(seq) => run_key(&sync.tenant, &sync.connection, &sync.id, seq),
            None => run_key(&sync.tenant, &sync.connection, &sync.id, u64::MAX),
        };
        let mut runs = Vec::new();
        for entry in self.sync_runs.range(prefix.clone()..upper).rev() {
            let (key, bytes) = entry?;
            // Run keys are the prefix and 8 bytes; seen-records live in another tree.
            if key.len() != prefix.len() + 8 {
                continue;
            }
            runs.push(serde_json::from_slice(&bytes)?);
            if runs.len() == limit {
                break;
            }
        }
        Ok(runs)
    }

    /// Writes one page's outcome: seen-records, changes (with their sequence numbers), the
    /// `records.changed` event when there are changes, the checkpoint and the run's progress.
    /// Durable when this returns. Returns the new changes' ids; `NotFound` when the sync was
    /// deleted meanwhile, `LeaseLost` when the runner's tenure of the lease ended (nothing is
    /// written either way).
    pub async fn commit_page(&self, commit: PageCommit<'_>) -> Result<Vec<String>, StoreError> {
        let sync = commit.sync;
        let aad = checkpoint_aad(&sync.tenant, &sync.connection, &sync.id);
        let checkpoint = self
            .keys
            .seal(&aad, &serde_json::to_vec(commit.checkpoint)?)?;
        let run_seq =
            run_seq(&commit.run.id).ok_or_else(|| StoreError::Corrupt("run id".into()))?;
        let event_seq = self.db.generate_id()?;
        let key = sync_key(&sync.tenant, &sync.connection, &sync.id);
        let lease = lease_key(&sync.tenant, &sync.connection, &sync.id);
        let trees = (
            &self.syncs,
            &self.sync_seen,
            &self.changes,
            &self.change_seq,
            &self.sync_state,
            &self.sync_runs,
            &self.outbox,
            &self.leases,
        );
        let ids = trees.transaction(|(syncs, seen, feed, seq, state, runs, outbox, leases)| {
            // A sync (or its connection) deleted during the run gets nothing more written.
            if syncs.get(&key)?.is_none() {
                return Err(abort(StoreError::NotFound));
            }
            // The fence: a runner whose tenure ended (it paused past its lease and another
            // tenure began) writes nothing, in the same transaction as the write.
            if !holds(leases.get(&lease)?.as_deref(), commit.tenure) {
                return Err(abort(StoreError::LeaseLost));
            }
            for (item, record) in &commit.seen {
                put_json(
                    seen,
                    &seen_key(&sync.tenant, &sync.connection, &sync.id, item),
                    record,
                )?;
            }
            for item in &commit.forget {
                seen.remove(seen_key(&sync.tenant, &sync.connection, &sync.id, item))?;
            }
            let ids =
                changes::append(feed, seq, &sync.tenant, &sync.connection, &commit.changes)?;
            state.insert(aad.storage_key(), checkpoint.clone())?;
            put_json(
                runs,
                &run_key(&sync.tenant, &sync.connection, &sync.id, run_seq),
                commit.run,
            )?;
            if !ids.is_empty() {
                let data = serde_json::json!({
                    "connection_id": sync.connection,
                    "sync_id": sync.id,
                    "container_id": sync.container,
                    "change_ids": ids,
                    "counts": {
                        "created": commit.changes.iter().filter(|c| c.kind == changes::ChangeKind::Created).count(),
                        "updated": commit.changes.iter().filter(|c| c.kind == changes::ChangeKind::Updated).count(),
                        "deleted": commit.changes.iter().filter(|c| c.kind == changes::ChangeKind::Deleted).count(),
                    },
                });
                events::put(outbox, event_seq, &sync.tenant, EventType::RecordsChanged, data)?;
            }
            Ok(ids)
        })?;
        self.flush().await?;
        Ok(ids)
    }

    /// Ends a run: the checkpoint (the next `updated_since`, no pass in progress when the pass
    /// ended), the run's record, the sync's record and the `sync.completed` or `sync.failed`
    /// event, in one transaction.
    /// `update` changes the sync's record as it is in the store then, so a pause or an
    /// interval change made during the run stays. `LeaseLost` (nothing written) when the
    /// runner's `tenure` of the lease ended.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_run(
        &self,
        sync: &SyncRecord,
        tenure: &Tenure,
        checkpoint: &SyncCheckpoint,
        run: &RunRecord,
        event: Option<(EventType, serde_json::Value)>,
        update: impl Fn(&mut SyncRecord, &RunRecord),
    ) -> Result<(), StoreError> {
        let aad = checkpoint_aad(&sync.tenant, &sync.connection, &sync.id);
        let sealed = self.keys.seal(&aad, &serde_json::to_vec(checkpoint)?)?;
        let run_seq = run_seq(&run.id).ok_or_else(|| StoreError::Corrupt("run id".into()))?;
        let event_seq = self.db.generate_id()?;
        let key = sync_key(&sync.tenant, &sync.connection, &sync.id);
        let lease = lease_key(&sync.tenant, &sync.connection, &sync.id);
        let trees = (
            &self.syncs,
            &self.sync_state,
            &self.sync_runs,
            &self.outbox,
            &self.leases,
        );
        trees.transaction(|(syncs, state, runs, outbox, leases)| {
            // A sync deleted during its run stays deleted.
            let Some(current) = syncs.get(&key)? else {
                return Ok(());
            };
            if !holds(leases.get(&lease)?.as_deref(), tenure) {
                return Err(abort(StoreError::LeaseLost));
            }
            let mut current: SyncRecord =
                serde_json::from_slice(&current).map_err(|e| abort(e.into()))?;
            update(&mut current, run);
            put_json(syncs, &key, &current)?;
            state.insert(aad.storage_key(), sealed.clone())?;
            put_json(
                runs,
                &run_key(&sync.tenant, &sync.connection, &sync.id, run_seq),
                run,
            )?;
            if let Some((kind, data)) = &event {
                events::put(outbox, event_seq, &sync.tenant, *kind, data.clone())?;
            }
            Ok(())
        })?;
        self.flush().await
    }
}
