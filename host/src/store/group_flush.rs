//! Group commit: every writer that must be durable before it answers waits for one flush that
//! began after its write, and at most one flush runs at a time, on tokio's blocking pool.
//!
//! Why not sled's `flush_async`: it runs the flush on sled's own thread pool (seven threads at
//! rest), where the flush waits for an IO-buffer write that sled queues on that same pool. With
//! seven flushes in flight no thread was left to run the write; the flushes held sled's
//! concurrency-control read lock while they waited, so the next transaction queued for the write
//! lock and every later read and scan queued behind it: the whole store stopped (seen in the
//! syncs-and-webhooks benchmark, reproduced by the store's concurrent-flush test). One flush at a
//! time, off sled's pool, leaves that pool free for its writes, and writers arriving during a
//! flush share the next one instead of each paying for an fsync.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::StoreError;

/// Flushes a sled database for many concurrent writers. Cheap to clone.
#[derive(Clone)]
pub(super) struct GroupFlush {
    db: sled::Db,
    /// Tickets handed out: one per `flush` call, taken after the caller's write.
    requested: Arc<AtomicU64>,
    /// The highest ticket known durable; held while a flush runs, so flushes never overlap.
    durable: Arc<tokio::sync::Mutex<u64>>,
}

impl GroupFlush {
    pub(super) fn new(db: sled::Db) -> Self {
        Self {
            db,
            requested: Arc::default(),
            durable: Arc::default(),
        }
    }

    /// Returns once everything this caller wrote before the call is on disk.
    pub(super) async fn flush(&self) -> Result<(), StoreError> {
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        // tokio's mutex is fair, so callers are served in the order they arrived.
        let mut durable = self.durable.lock().await;
        if *durable >= ticket {
            // A flush that began after this caller's write has already finished.
            return Ok(());
        }
        // Every ticket up to `covered` was taken after its write, and so before this flush.
        let covered = self.requested.load(Ordering::SeqCst);
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|joined| StoreError::Io(format!("the flush did not finish: {joined}")))??;
        *durable = covered;
        Ok(())
    }
}
