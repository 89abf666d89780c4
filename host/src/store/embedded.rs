//! The embedded backend: sled trees in one process, the default (`store = "sled"`).
//!
//! Trees: `tenants`, `api_keys` (SHA-256 of each key, never the key) with its `api_key_ids`
//! index, `connections`, `secrets`, `cursors`, `oauth_sessions` with its `oauth_pending` index,
//! `audit`; for syncs `syncs`, `sync_state` (sealed checkpoints), `sync_seen`, `sync_runs`,
//! `leases`; the changes feed `changes` with `change_seq` and `changes_floor`; the event
//! `outbox`, `webhook_endpoints`, `webhook_deliveries` and their `delivery_queue`; vendor
//! webhooks in: `webhook_routes`, `webhook_registrations`, `webhook_dedup`, `inbound_webhooks`;
//! uploaded plugins: `plugin_registry`, `plugin_blobs`.
//! Keys inside tenant-scoped trees start with `tenant/`, so a tenant's data is one prefix scan
//! and never mixes with another's. The methods live beside the records they keep
//! (`connections.rs`, `syncs.rs`, ...).

use std::path::Path;

use anyhow::Context as _;

use super::{Aad, KeyRing, StoreError, group_flush};

/// The open sled database and the key ring that seals its secrets. Cheap to clone: one `Arc`, since
/// every request clones it (a clone of ~30 sled trees was ~3% of a small request's CPU).
#[derive(Clone)]
pub(super) struct Sled(std::sync::Arc<Trees>);

/// What [`Store`] shares; its modules reach the trees through `Deref`. Opaque outside the
/// store: every field is private.
pub(super) struct Trees {
    pub(super) db: sled::Db,
    pub(super) tenants: sled::Tree,
    pub(super) api_keys: sled::Tree,
    /// Index of API keys: `tenant/key-id` -> SHA-256 of the key.
    pub(super) api_key_ids: sled::Tree,
    pub(super) connections: sled::Tree,
    pub(super) secrets: sled::Tree,
    pub(super) cursors: sled::Tree,
    pub(super) oauth_sessions: sled::Tree,
    /// Index of pending OAuth sessions: `tenant/id` -> expiry, for quotas and sweeping.
    pub(super) oauth_pending: sled::Tree,
    /// When OAuth tokens expire, soonest first (see `token_expiry`).
    pub(super) token_expiry: sled::Tree,
    pub(super) token_expiry_of: sled::Tree,
    pub(super) audit: sled::Tree,
    pub(super) syncs: sled::Tree,
    /// Sealed checkpoints of syncs: `tenant/connection/sync:<id>`.
    pub(super) sync_state: sled::Tree,
    /// What each sync saw: `tenant/connection/sync/item` -> content hash.
    pub(super) sync_seen: sled::Tree,
    pub(super) sync_runs: sled::Tree,
    /// Who runs each sync now: `tenant/connection/sync` -> holder and expiry.
    pub(super) leases: sled::Tree,
    /// The changes feed: `tenant/connection/<seq, big endian>`.
    pub(super) changes: sled::Tree,
    /// Last change sequence number per connection (`tenant/connection`).
    pub(super) change_seq: sled::Tree,
    /// Highest pruned change sequence number per connection: older cursors have expired.
    pub(super) changes_floor: sled::Tree,
    /// Events for tenants' webhook endpoints, before they are fanned out to deliveries.
    pub(super) outbox: sled::Tree,
    pub(super) webhook_endpoints: sled::Tree,
    pub(super) webhook_deliveries: sled::Tree,
    /// Deliveries by when they are due: `<due ms, big endian>/tenant/endpoint/delivery`.
    pub(super) delivery_queue: sled::Tree,
    /// Vendor webhooks in: route token -> registration.
    pub(super) webhook_routes: sled::Tree,
    pub(super) webhook_registrations: sled::Tree,
    /// Vendor delivery ids seen, until when: replays are refused.
    pub(super) webhook_dedup: sled::Tree,
    /// Verified vendor deliveries waiting for their plugin.
    pub(super) inbound_webhooks: sled::Tree,
    /// Console sign-ins: SHA-256 of the session token -> session.
    pub(super) console_sessions: sled::Tree,
    /// MCP clients' grants: grant id -> grant (see `mcp_grants.rs`).
    pub(super) mcp_grants: sled::Tree,
    /// Usage counters: `tenant/HOUR/connection/metric` -> count (see `usage.rs`).
    pub(super) usage: sled::Tree,
    /// The admin API's plugin changes: plugin id -> entry (see `plugin_registry`).
    pub(super) plugin_registry: sled::Tree,
    /// Uploaded components: sha256 -> bytes.
    pub(super) plugin_blobs: sled::Tree,
    pub(super) meta: sled::Tree,
    /// One flush at a time for every writer (see `group_flush`).
    pub(super) flusher: group_flush::GroupFlush,
    pub(super) keys: KeyRing,
}

impl std::ops::Deref for Sled {
    type Target = Trees;

    fn deref(&self) -> &Trees {
        &self.0
    }
}

impl Sled {
    /// Opens (or creates) the database under `dir`.
    pub fn open(dir: &Path, keys: KeyRing) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let db = sled::Config::new().path(dir).open().with_context(|| {
            format!(
                "opening the store at {} (is another host using it?)",
                dir.display()
            )
        })?;
        let tree = |name: &str| {
            db.open_tree(name)
                .with_context(|| format!("opening tree {name}"))
        };
        let store = Self(std::sync::Arc::new(Trees {
            tenants: tree("tenants")?,
            api_keys: tree("api_keys")?,
            api_key_ids: tree("api_key_ids")?,
            connections: tree("connections")?,
            secrets: tree("secrets")?,
            cursors: tree("cursors")?,
            audit: tree("audit")?,
            oauth_sessions: tree("oauth_sessions")?,
            oauth_pending: tree("oauth_pending")?,
            token_expiry: tree("token_expiry")?,
            token_expiry_of: tree("token_expiry_of")?,
            syncs: tree("syncs")?,
            sync_state: tree("sync_state")?,
            sync_seen: tree("sync_seen")?,
            sync_runs: tree("sync_runs")?,
            leases: tree("leases")?,
            changes: tree("changes")?,
            change_seq: tree("change_seq")?,
            changes_floor: tree("changes_floor")?,
            outbox: tree("outbox")?,
            webhook_endpoints: tree("webhook_endpoints")?,
            webhook_deliveries: tree("webhook_deliveries")?,
            delivery_queue: tree("delivery_queue")?,
            webhook_routes: tree("webhook_routes")?,
            webhook_registrations: tree("webhook_registrations")?,
            webhook_dedup: tree("webhook_dedup")?,
            inbound_webhooks: tree("inbound_webhooks")?,
            console_sessions: tree("console_sessions")?,
            mcp_grants: tree("mcp_grants")?,
            usage: tree("usage")?,
            plugin_registry: tree("plugin_registry")?,
            plugin_blobs: tree("plugin_blobs")?,
            meta: tree("meta")?,
            flusher: group_flush::GroupFlush::new(db.clone()),
            db,
            keys,
        }));
        store.migrate(store.db.was_recovered())?;
        Ok(store)
    }

    /// Reads one key, to tell the store answers (readiness).
    pub fn ping(&self) -> Result<(), StoreError> {
        self.tenants.first()?;
        Ok(())
    }

    /// The key ring sealing this store.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Waits until everything written so far is on disk. Called before acknowledging a write
    /// that creates or changes credentials.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.flusher.flush().await
    }

    /// Re-seals every secret and cursor under the key ring's current key, one transaction per
    /// entry so reads keep working throughout. Returns how many entries were re-sealed.
    pub async fn reseal_all(&self) -> Result<usize, StoreError> {
        let mut count = 0;
        for tree in [
            &self.secrets,
            &self.cursors,
            &self.oauth_sessions,
            &self.sync_state,
        ] {
            for entry in tree.iter() {
                let (key, sealed) = entry?;
                if self.keys.is_current(&sealed) {
                    continue;
                }
                let aad = Aad::from_storage_key(&key)?;
                let plain = self.keys.open(&aad, &sealed)?;
                let resealed = self.keys.seal(&aad, &plain)?;
                // Compare-and-swap: an entry rewritten meanwhile is already under the new key.
                if tree
                    .compare_and_swap(&key, Some(sealed), Some(resealed))?
                    .is_ok()
                {
                    count += 1;
                }
            }
        }
        self.flush().await?;
        Ok(count)
    }
}

impl Sled {
    /// Hex ids of every master key something in the store is still sealed under.
    pub fn keys_in_use(&self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let mut ids = std::collections::BTreeSet::new();
        for tree in [
            &self.secrets,
            &self.cursors,
            &self.oauth_sessions,
            &self.sync_state,
        ] {
            for entry in tree.iter().values() {
                if let Some(id) = KeyRing::key_id_of(&entry?) {
                    ids.insert(id);
                }
            }
        }
        Ok(ids)
    }
}

/// `tenant/rest` as bytes.
pub(super) fn scoped_key(tenant: &str, rest: &str) -> Vec<u8> {
    format!("{tenant}/{rest}").into_bytes()
}

/// `tenant/` as bytes, for prefix scans.
pub(super) fn tenant_prefix(tenant: &str) -> Vec<u8> {
    format!("{tenant}/").into_bytes()
}

#[cfg(test)]
mod tests {
    use sled::Transactional as _;

    use super::*;

    /// Many writers flushing at once, with transactions and scans between them. sled's
    /// `flush_async` ran each flush on sled's own small thread pool, where it waited for an IO
    /// buffer write queued on that same pool: with enough flushes in flight nothing was left to
    /// run the write, and the flushes' read locks then stalled every transaction and scan.
    #[test]
    fn concurrent_flushes_transactions_and_scans_do_not_deadlock() {
        let dir = tempfile::tempdir().unwrap();
        let store = Sled::open(
            &dir.path().join("db"),
            KeyRing::load(dir.path(), None).unwrap(),
        )
        .unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        let writers = store.clone();
        // On its own thread and runtime: a deadlock blocks every worker (sled's locks are not
        // async), so only a watcher outside the runtime can tell.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let mut tasks = tokio::task::JoinSet::new();
                for task in 0..48u32 {
                    let store = writers.clone();
                    tasks.spawn(async move {
                        for n in 0..40u32 {
                            let key = format!("{task}/{n}");
                            store.meta.insert(key.as_bytes(), &[1u8; 64][..]).unwrap();
                            (&store.outbox, &store.delivery_queue)
                                .transaction(|(outbox, queue)| {
                                    outbox.insert(key.as_bytes(), &[2u8; 32][..])?;
                                    queue.remove(key.as_bytes())?;
                                    Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
                                })
                                .unwrap();
                            store.flush().await.unwrap();
                            assert!(store.outbox.iter().count() > 0);
                        }
                    });
                }
                while let Some(joined) = tasks.join_next().await {
                    joined.unwrap();
                }
            });
            let _ = done.send(());
        });
        finished
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("writers, flushes and scans deadlocked (or a writer failed)");
        assert_eq!(store.outbox.len(), 48 * 40);
    }
}
