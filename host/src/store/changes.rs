//! The changes feed of a connection: events in commit order under `tenant/connection/<seq>`,
//! numbered by a per-connection counter read and written in the same transaction, so a reader
//! that has seen number n never finds a smaller one committed later. Events older than the
//! retention window are pruned; the highest pruned number is kept, and a cursor below it has
//! expired.

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::{Sled, StoreError, scoped_key};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// It appeared.
    Created,
    /// It changed.
    Updated,
    /// It went.
    Deleted,
}

/// To what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeObject {
    /// An item.
    Item,
    /// A comment.
    Comment,
    /// A container.
    Container,
}

/// A change before it has a number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewChange {
    /// What happened.
    pub kind: ChangeKind,
    /// To what kind of record.
    pub object: ChangeObject,
    /// The container.
    pub container_id: String,
    /// The item.
    pub item_id: String,
    /// The comment, for comment changes.
    pub comment_id: Option<String>,
    /// When the vendor says it happened, else when the host noticed; RFC 3339.
    pub occurred_at: String,
    /// The sync that found it (`None` for vendor webhooks).
    pub sync_id: Option<String>,
    /// The item as the unified view shows it (created and updated).
    pub item: Option<serde_json::Value>,
    /// The comment as the unified view shows it (comment changes from webhooks).
    pub comment: Option<serde_json::Value>,
}

/// A change in the feed.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChangeEvent {
    /// `chg_` and the sequence number in hex, in feed order.
    pub id: String,
    /// What happened.
    pub kind: ChangeKind,
    /// To what kind of record.
    pub object: ChangeObject,
    /// The container.
    pub container_id: String,
    /// The item.
    pub item_id: String,
    /// The comment, for comment changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_id: Option<String>,
    /// When the vendor says it happened (RFC 3339).
    pub occurred_at: String,
    /// When the host recorded it, RFC 3339.
    pub recorded_at: String,
    /// The sync that saw it, when a sync did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_id: Option<String>,
    /// The item as the API shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub item: Option<serde_json::Value>,
    /// The comment as the API shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub comment: Option<serde_json::Value>,
    /// Unix milliseconds of `recorded_at`, for retention.
    #[serde(skip)]
    pub recorded_at_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct StoredChange {
    #[serde(flatten)]
    event: ChangeEvent,
    recorded_at_ms: u64,
}

/// A page of the feed.
#[derive(Debug)]
pub struct ChangesPage {
    /// The events with their sequence numbers.
    pub entries: Vec<(u64, ChangeEvent)>,
    /// More events follow the last one.
    pub has_more: bool,
}

/// The id of change number `seq`.
pub fn change_id(seq: u64) -> String {
    format!("chg_{seq:016x}")
}

fn connection_key(tenant: &str, connection: &str) -> Vec<u8> {
    scoped_key(tenant, connection)
}

fn change_key(tenant: &str, connection: &str, seq: u64) -> Vec<u8> {
    let mut key = scoped_key(tenant, &format!("{connection}/"));
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn be_u64(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let n = bytes.len().min(8);
    buf[8 - n..].copy_from_slice(&bytes[bytes.len() - n..]);
    u64::from_be_bytes(buf)
}

/// `changes` as stored, numbered from `first`, recorded now: `(number, bytes)` in order.
pub(super) fn encode(
    changes: &[NewChange],
    first: u64,
) -> Result<Vec<(u64, Vec<u8>)>, serde_json::Error> {
    let now_ms = super::unix_now_ms();
    let recorded_at = super::now_rfc3339();
    changes
        .iter()
        .zip(first..)
        .map(|(change, seq)| {
            let event = ChangeEvent {
                id: change_id(seq),
                kind: change.kind,
                object: change.object,
                container_id: change.container_id.clone(),
                item_id: change.item_id.clone(),
                comment_id: change.comment_id.clone(),
                occurred_at: change.occurred_at.clone(),
                recorded_at: recorded_at.clone(),
                sync_id: change.sync_id.clone(),
                item: change.item.clone(),
                comment: change.comment.clone(),
                recorded_at_ms: now_ms,
            };
            let stored = StoredChange {
                event,
                recorded_at_ms: now_ms,
            };
            Ok((seq, serde_json::to_vec(&stored)?))
        })
        .collect()
}

/// A stored change read back.
pub(super) fn decode(bytes: &[u8]) -> Result<ChangeEvent, serde_json::Error> {
    let stored: StoredChange = serde_json::from_slice(bytes)?;
    let mut event = stored.event;
    event.recorded_at_ms = stored.recorded_at_ms;
    Ok(event)
}

/// Appends `changes` inside a transaction; returns their ids.
pub(crate) fn append(
    feed: &TransactionalTree,
    counter: &TransactionalTree,
    tenant: &str,
    connection: &str,
    changes: &[NewChange],
) -> Result<Vec<String>, ConflictableTransactionError<StoreError>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let key = connection_key(tenant, connection);
    let last = counter.get(&key)?.map(|v| be_u64(&v)).unwrap_or(0);
    let encoded =
        encode(changes, last + 1).map_err(|e| ConflictableTransactionError::Abort(e.into()))?;
    let mut ids = Vec::with_capacity(changes.len());
    let mut seq = last;
    for (number, bytes) in encoded {
        feed.insert(change_key(tenant, connection, number), bytes)?;
        ids.push(change_id(number));
        seq = number;
    }
    counter.insert(key, &seq.to_be_bytes())?;
    Ok(ids)
}

impl Sled {
    /// Changes of a connection after number `after` (0: from the oldest kept).
    /// `Err(CursorExpired)`-like answers are the caller's: see [`Store::changes_floor`].
    pub fn changes(
        &self,
        tenant: &str,
        connection: &str,
        after: u64,
        limit: usize,
    ) -> Result<ChangesPage, StoreError> {
        let start = change_key(tenant, connection, after.saturating_add(1));
        let end = change_key(tenant, connection, u64::MAX);
        let mut entries = Vec::new();
        let mut has_more = false;
        for entry in self.changes.range(start..=end) {
            let (key, bytes) = entry?;
            if entries.len() == limit {
                has_more = true;
                break;
            }
            entries.push((be_u64(&key[key.len() - 8..]), decode(&bytes)?));
        }
        Ok(ChangesPage { entries, has_more })
    }

    /// The highest change number pruned from a connection's feed (0: none): a cursor below it
    /// has expired.
    pub fn changes_floor(&self, tenant: &str, connection: &str) -> Result<u64, StoreError> {
        Ok(self
            .changes_floor
            .get(connection_key(tenant, connection))?
            .map(|v| be_u64(&v))
            .unwrap_or(0))
    }

    /// The last change number of a connection (0: none yet).
    pub fn last_change(&self, tenant: &str, connection: &str) -> Result<u64, StoreError> {
        Ok(self
            .change_seq
            .get(connection_key(tenant, connection))?
            .map(|v| be_u64(&v))
            .unwrap_or(0))
    }

    /// Deletes changes recorded before `cutoff_ms` (unix milliseconds) from every feed, and
    /// raises each feed's floor to the highest number deleted. Returns how many were deleted.
    pub async fn prune_changes(&self, cutoff_ms: u64) -> Result<usize, StoreError> {
        let mut pruned = 0;
        let mut floors: std::collections::BTreeMap<Vec<u8>, u64> = Default::default();
        for entry in self.changes.iter() {
            let (key, bytes) = entry?;
            let stored: StoredChange = serde_json::from_slice(&bytes)?;
            if stored.recorded_at_ms >= cutoff_ms {
                continue;
            }
            let seq = be_u64(&key[key.len() - 8..]);
            // `tenant/connection/` before the 8 sequence bytes.
            let owner = key[..key.len() - 9].to_vec();
            let floor = floors.entry(owner).or_default();
            *floor = (*floor).max(seq);
            self.changes.remove(&key)?;
            pruned += 1;
        }
        for (owner, seq) in floors {
            self.changes_floor.fetch_and_update(&owner, |current| {
                let old = current.map(be_u64).unwrap_or(0);
                Some(old.max(seq).to_be_bytes().to_vec())
            })?;
        }
        if pruned > 0 {
            self.flush().await?;
        }
        Ok(pruned)
    }

    /// Deletes a connection's feed (the connection is being deleted).
    pub(crate) fn delete_changes_of(
        &self,
        tenant: &str,
        connection: &str,
    ) -> Result<(), StoreError> {
        let prefix = scoped_key(tenant, &format!("{connection}/"));
        for key in self.changes.scan_prefix(&prefix).keys() {
            self.changes.remove(key?)?;
        }
        self.change_seq.remove(connection_key(tenant, connection))?;
        self.changes_floor
            .remove(connection_key(tenant, connection))?;
        Ok(())
    }

    /// Appends changes outside a sync (vendor webhooks), with a `records.changed` event and
    /// `vendor` (the `vendor.event` event's data, to which the change ids are added), in one
    /// transaction.
    ///
    /// `inbound` (a queued delivery's number) is taken off the queue in the same transaction;
    /// when it is already gone (another worker processed it), nothing is written and the answer
    /// is `Conflict`, so a delivery's changes are never recorded twice.
    pub async fn append_changes(
        &self,
        tenant: &str,
        connection: &str,
        changes: &[NewChange],
        vendor: serde_json::Value,
        inbound: Option<u64>,
    ) -> Result<Vec<String>, StoreError> {
        use sled::Transactional as _;
        let changed_seq = self.db.generate_id()?;
        let vendor_seq = self.db.generate_id()?;
        let trees = (
            &self.changes,
            &self.change_seq,
            &self.outbox,
            &self.inbound_webhooks,
        );
        let ids = trees.transaction(|(feed, counter, outbox, queue)| {
            if let Some(seq) = inbound
                && queue.remove(&seq.to_be_bytes())?.is_none()
            {
                return Err(ConflictableTransactionError::Abort(StoreError::Conflict));
            }
            let ids = append(feed, counter, tenant, connection, changes)?;
            if !ids.is_empty() {
                super::events::put(
                    outbox,
                    changed_seq,
                    tenant,
                    super::EventType::RecordsChanged,
                    serde_json::json!({"connection_id": connection, "change_ids": ids}),
                )?;
            }
            let mut data = vendor.clone();
            data["change_ids"] = serde_json::json!(ids);
            super::events::put(
                outbox,
                vendor_seq,
                tenant,
                super::EventType::VendorEvent,
                data,
            )?;
            Ok(ids)
        })?;
        self.flush().await?;
        Ok(ids)
    }
}
