//! The embedded store: sled trees, with credentials and cursors sealed by AES-256-GCM.
//!
//! Trees: `tenants`, `api_keys` (SHA-256 of each key, never the key) with its `api_key_ids`
//! index, `connections`, `secrets`, `cursors`, `oauth_sessions` with its `oauth_pending` index,
//! `audit`; for syncs `syncs`, `sync_state` (sealed checkpoints), `sync_seen`, `sync_runs`,
//! `leases`; the changes feed `changes` with `change_seq` and `changes_floor`; the event
//! `outbox`, `webhook_endpoints`, `webhook_deliveries` and their `delivery_queue`; vendor
//! webhooks in: `webhook_routes`, `webhook_registrations`, `webhook_dedup`, `inbound_webhooks`. Keys inside tenant-scoped trees start with
//! `tenant/`, so a tenant's data is one prefix scan and never mixes with another's.

mod audit;
mod changes;
mod connections;
mod console_sessions;
mod deliveries;
mod error;
mod events;
mod group_flush;
mod key_ring;
mod leases;
mod oauth;
mod records;
mod schema;
mod sealing;
mod syncs;
mod tenants;
mod token_expiry;
mod vendor_webhooks;
mod webhook_endpoints;

use std::path::Path;

use anyhow::Context as _;

pub use audit::{AuditEvent, AuditOutcome, NewAuditEvent, SYSTEM_TENANT};
pub use changes::{ChangeEvent, ChangeKind, ChangeObject, ChangesPage, NewChange};
pub use connections::CredentialVersion;
pub use console_sessions::ConsoleSession;
pub use deliveries::{DeliveryAttempt, DeliveryRecord, DeliveryStatus, DueDelivery, payload};
pub use error::StoreError;
pub use events::{EventType, OutboxEvent};
pub use key_ring::{KeyRing, MASTER_KEY_ENV};
pub use leases::{Lease, Tenure};
pub use oauth::{OAuthApp, OAuthSession};
pub use records::{
    ApiKeyRecord, BoundCredential, ConnectionRecord, ConnectionStatus, CredentialType,
    StoredCredential, Tenant, now_rfc3339, rfc3339_of_ms, unix_now_ms,
};
pub use schema::SCHEMA_VERSION;
pub use sealing::{Aad, SealError};
pub use syncs::{
    PageCommit, PassState, RunCounts, RunRecord, RunStatus, SeenRecord, SyncCheckpoint, SyncRecord,
};
pub use vendor_webhooks::{InboundDelivery, WebhookRegistration, WebhookRoute};
pub use webhook_endpoints::{EndpointRecord, EndpointSecrets};

/// The open database and the key ring that seals its secrets. Cheap to clone: one `Arc`, since
/// every request clones it (a clone of ~30 sled trees was ~3% of a small request's CPU).
#[derive(Clone)]
pub struct Store(std::sync::Arc<Trees>);

/// What [`Store`] shares; its modules reach the trees through `Deref`. Opaque outside the
/// store: every field is private.
pub struct Trees {
    db: sled::Db,
    tenants: sled::Tree,
    api_keys: sled::Tree,
    /// Index of API keys: `tenant/key-id` -> SHA-256 of the key.
    api_key_ids: sled::Tree,
    connections: sled::Tree,
    secrets: sled::Tree,
    cursors: sled::Tree,
    oauth_sessions: sled::Tree,
    /// Index of pending OAuth sessions: `tenant/id` -> expiry, for quotas and sweeping.
    oauth_pending: sled::Tree,
    /// When OAuth tokens expire, soonest first (see `token_expiry`).
    token_expiry: sled::Tree,
    token_expiry_of: sled::Tree,
    audit: sled::Tree,
    syncs: sled::Tree,
    /// Sealed checkpoints of syncs: `tenant/connection/sync:<id>`.
    sync_state: sled::Tree,
    /// What each sync saw: `tenant/connection/sync/item` -> content hash.
    sync_seen: sled::Tree,
    sync_runs: sled::Tree,
    /// Who runs each sync now: `tenant/connection/sync` -> holder and expiry.
    leases: sled::Tree,
    /// The changes feed: `tenant/connection/<seq, big endian>`.
    changes: sled::Tree,
    /// Last change sequence number per connection (`tenant/connection`).
    change_seq: sled::Tree,
    /// Highest pruned change sequence number per connection: older cursors have expired.
    changes_floor: sled::Tree,
    /// Events for tenants' webhook endpoints, before they are fanned out to deliveries.
    outbox: sled::Tree,
    webhook_endpoints: sled::Tree,
    webhook_deliveries: sled::Tree,
    /// Deliveries by when they are due: `<due ms, big endian>/tenant/endpoint/delivery`.
    delivery_queue: sled::Tree,
    /// Vendor webhooks in: route token -> registration.
    webhook_routes: sled::Tree,
    webhook_registrations: sled::Tree,
    /// Vendor delivery ids seen, until when: replays are refused.
    webhook_dedup: sled::Tree,
    /// Verified vendor deliveries waiting for their plugin.
    inbound_webhooks: sled::Tree,
    /// Console sign-ins: SHA-256 of the session token -> session.
    console_sessions: sled::Tree,
    meta: sled::Tree,
    /// One flush at a time for every writer (see `group_flush`).
    flusher: group_flush::GroupFlush,
    keys: KeyRing,
}

impl std::ops::Deref for Store {
    type Target = Trees;

    fn deref(&self) -> &Trees {
        &self.0
    }
}

impl Store {
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

impl Store {
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
fn scoped_key(tenant: &str, rest: &str) -> Vec<u8> {
    format!("{tenant}/{rest}").into_bytes()
}

/// `tenant/` as bytes, for prefix scans.
fn tenant_prefix(tenant: &str) -> Vec<u8> {
    format!("{tenant}/").into_bytes()
}

#[cfg(test)]
mod tests {
    use sled::Transactional as _;

    use super::*;

    fn record(tenant: &str, id: &str) -> ConnectionRecord {
        ConnectionRecord {
            id: id.into(),
            tenant: tenant.into(),
            connector: "probe".into(),
            name: "n".into(),
            auth_method: "token".into(),
            credential_type: CredentialType::Bearer,
            config: serde_json::Map::new(),
            status: ConnectionStatus::Active,
            principal: None,
            values: Default::default(),
            last_error: None,
            last_success_at: None,
            created_at: now_rfc3339(),
            updated_at: now_rfc3339(),
        }
    }

    fn open_store(dir: &Path) -> Store {
        Store::open(&dir.join("db"), KeyRing::load(dir, None).unwrap()).unwrap()
    }

    /// A refresh that raced another write of the credential (a reconnect's new grant) never
    /// puts the older grant's tokens over it: the write is a compare-and-swap on the version
    /// the refresh read.
    #[tokio::test]
    async fn a_refreshed_token_never_replaces_a_credential_written_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        let grant = |access: &str| {
            BoundCredential::new(
                StoredCredential::Oauth2 {
                    access_token: access.into(),
                    refresh_token: Some(format!("rt-{access}")),
                    expires_at: None,
                    scope: None,
                },
                None,
            )
        };
        store
            .create_connection(&record("a", "c1"), &grant("old"))
            .await
            .unwrap();
        let (_, read) = store.credential_versioned("a", "c1").unwrap();
        // While the refresh waits for the vendor, a reconnect writes a new grant.
        store
            .replace_credential("a", "c1", &grant("reconnected"))
            .await
            .unwrap();
        let late = store
            .replace_credential_if("a", "c1", &read, &grant("refreshed-old"))
            .await;
        assert!(matches!(late, Err(StoreError::Conflict)), "{late:?}");
        let stored = store.credential("a", "c1").unwrap().credential;
        assert!(
            matches!(&stored, StoredCredential::Oauth2 { access_token, .. } if access_token == "reconnected")
        );
        // Read again, the swap goes through.
        let (_, current) = store.credential_versioned("a", "c1").unwrap();
        store
            .replace_credential_if("a", "c1", &current, &grant("refreshed"))
            .await
            .unwrap();
        let stored = store.credential("a", "c1").unwrap().credential;
        assert!(
            matches!(&stored, StoredCredential::Oauth2 { access_token, .. } if access_token == "refreshed")
        );
    }

    #[tokio::test]
    async fn connections_are_scoped_to_their_tenant_and_deleted_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        let token = StoredCredential::Bearer {
            token: "t-1".into(),
        };
        store
            .create_connection(
                &record("a", "c1"),
                &BoundCredential::new(token.clone(), None),
            )
            .await
            .unwrap();
        store
            .create_connection(
                &record("ab", "c2"),
                &BoundCredential::new(token.clone(), None),
            )
            .await
            .unwrap();
        assert!(matches!(
            store
                .create_connection(
                    &record("a", "c1"),
                    &BoundCredential::new(token.clone(), None)
                )
                .await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(
            store.connections("a").unwrap().len(),
            1,
            "the `a/` prefix does not match `ab/`"
        );
        assert!(store.connection("b", "c1").unwrap().is_none());
        store
            .put_cursor("a", "c1", "issues", "2026-11-01")
            .await
            .unwrap();

        assert!(store.delete_connection("a", "c1").await.unwrap());
        assert!(store.connection("a", "c1").unwrap().is_none());
        assert!(matches!(
            store.credential("a", "c1"),
            Err(StoreError::NotFound)
        ));
        assert_eq!(store.cursor("a", "c1", "issues").unwrap(), None);
        assert!(!store.delete_connection("a", "c1").await.unwrap());
    }

    #[tokio::test]
    async fn a_sealed_credential_copied_to_another_tenant_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        store
            .create_connection(
                &record("a", "c1"),
                &BoundCredential::new(
                    StoredCredential::Bearer {
                        token: "secret-a".into(),
                    },
                    None,
                ),
            )
            .await
            .unwrap();
        store
            .create_connection(
                &record("b", "c1"),
                &BoundCredential::new(
                    StoredCredential::Bearer {
                        token: "secret-b".into(),
                    },
                    None,
                ),
            )
            .await
            .unwrap();
        let stolen = store.sealed_credential("a", "c1").unwrap().unwrap();
        store.put_sealed_credential("b", "c1", &stolen).unwrap();
        assert!(matches!(
            store.credential("b", "c1"),
            Err(StoreError::Seal(SealError::Tampered))
        ));
        assert!(
            matches!(store.credential("a", "c1").unwrap().credential, StoredCredential::Bearer { token } if token == "secret-a")
        );
    }

    #[tokio::test]
    async fn reseal_moves_everything_to_the_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        store
            .create_connection(
                &record("a", "c1"),
                &BoundCredential::new(StoredCredential::ApiKey { key: "k".into() }, None),
            )
            .await
            .unwrap();
        store.put_cursor("a", "c1", "s", "v").await.unwrap();
        store.keys().begin_rotation().unwrap();
        assert_eq!(store.reseal_all().await.unwrap(), 2);
        store
            .keys()
            .retire_old_keys(&store.keys_in_use().unwrap())
            .unwrap();
        assert!(
            matches!(store.credential("a", "c1").unwrap().credential, StoredCredential::ApiKey { key } if key == "k")
        );
        assert_eq!(store.cursor("a", "c1", "s").unwrap().as_deref(), Some("v"));
    }

    #[tokio::test]
    async fn audit_retention_keeps_the_newest_events_per_tenant_and_drops_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        for n in 0..5 {
            store
                .audit(
                    Some("a"),
                    "admin",
                    "x",
                    &format!("t{n}"),
                    serde_json::Value::Null,
                )
                .await
                .unwrap();
        }
        store
            .audit(Some("b"), "admin", "x", "only", serde_json::Value::Null)
            .await
            .unwrap();
        let now = std::time::SystemTime::now();
        assert_eq!(store.sweep_audit(now, None, 3).unwrap(), 2);
        let kept: Vec<String> = store
            .audit_events("a", None, 10)
            .unwrap()
            .into_iter()
            .map(|e| e.target)
            .collect();
        assert_eq!(kept, ["t2", "t3", "t4"]);
        assert_eq!(store.audit_events("b", None, 10).unwrap().len(), 1);
        // An hour from now, a 30-minute age limit leaves nothing.
        let later = now + std::time::Duration::from_secs(3600);
        let age = Some(std::time::Duration::from_secs(1800));
        assert_eq!(store.sweep_audit(later, age, 100).unwrap(), 4);
        assert!(store.audit_events("a", None, 10).unwrap().is_empty());
    }

    #[tokio::test]
    async fn audit_pages_by_sequence_within_a_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        for n in 0..5 {
            store
                .audit(
                    Some("a"),
                    "admin",
                    "x",
                    &n.to_string(),
                    serde_json::Value::Null,
                )
                .await
                .unwrap();
        }
        store
            .audit(Some("b"), "admin", "x", "other", serde_json::Value::Null)
            .await
            .unwrap();
        let first = store.audit_events("a", None, 3).unwrap();
        assert_eq!(
            first.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
            ["0", "1", "2"]
        );
        let rest = store.audit_events("a", Some(first[2].seq), 10).unwrap();
        assert_eq!(
            rest.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
            ["3", "4"]
        );
    }

    /// Many writers flushing at once, with transactions and scans between them. sled's
    /// `flush_async` ran each flush on sled's own small thread pool, where it waited for an IO
    /// buffer write queued on that same pool: with enough flushes in flight nothing was left to
    /// run the write, and the flushes' read locks then stalled every transaction and scan.
    #[test]
    fn concurrent_flushes_transactions_and_scans_do_not_deadlock() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
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
