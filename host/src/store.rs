//! The store: every record the host keeps, behind one interface with two backends.
//!
//! [`Store`] is what the rest of the host holds. Its methods are the interface; each one is
//! answered by the backend the store was opened on:
//! - the embedded backend (`embedded.rs`, sled in one process), the default;
//! - PostgreSQL, for several hosts on one database.
//!
//! Both keep the same records the same way: credentials, cursors, checkpoints and OAuth
//! sessions are sealed by AES-256-GCM here, bound to where they belong ([`Aad`]), before a
//! backend sees them, so no database ever holds a plaintext secret.

mod audit;
mod changes;
mod connections;
mod console_sessions;
mod deliveries;
mod embedded;
mod error;
mod events;
mod group_flush;
mod key_ring;
mod leases;
mod mcp_grants;
mod oauth;
mod plugin_registry;
mod postgres;
mod records;
mod refresh_lock;
mod schema;
mod sealing;
mod settings;
mod syncs;
mod tenants;
mod token_expiry;
mod usage;
mod vendor_webhooks;
mod webhook_endpoints;

pub use audit::{AuditEvent, AuditOutcome, NewAuditEvent, SYSTEM_TENANT};
pub use changes::{ChangeEvent, ChangeKind, ChangeObject, ChangesPage, NewChange};
pub use connections::CredentialVersion;
pub use console_sessions::ConsoleSession;
pub use deliveries::{DeliveryAttempt, DeliveryRecord, DeliveryStatus, DueDelivery, payload};
pub use error::StoreError;
pub use events::{EventType, OutboxEvent};
pub use key_ring::{KeyRing, MASTER_KEY_ENV};
pub use leases::{Lease, Tenure, sync_key};
pub use mcp_grants::{IssuedToken, McpGrant, PendingCode};
pub use oauth::{OAuthApp, OAuthSession};
pub use plugin_registry::{PluginBlob, RegistryEntry};
pub use records::{
    ApiKeyRecord, BoundCredential, ConnectionRecord, ConnectionStatus, CredentialType,
    PolicyEffect, PolicyRule, RedactionRule, StoredCredential, Tenant, ToolHint, ToolPack,
    ToolPolicy, now_rfc3339, rfc3339_of_ms, unix_now_ms,
};
pub use schema::SCHEMA_VERSION;
pub use sealing::{Aad, SealError};
pub use syncs::{
    PageCommit, PassState, RunCounts, RunRecord, RunStatus, SeenRecord, SyncCheckpoint, SyncRecord,
};
pub use usage::{QueueDepths, UsageCount};
pub use vendor_webhooks::{InboundDelivery, WebhookRegistration, WebhookRoute};
pub use webhook_endpoints::{EndpointRecord, EndpointSecrets};

use std::path::Path;

use embedded::{Sled, scoped_key, tenant_prefix};
use postgres::Postgres;
pub use postgres::{MigrationReport, POSTGRES_SCHEMA_VERSION};
pub use refresh_lock::RefreshLock;
pub use settings::{StoreSettings, StoreTls};

/// The store the host holds. Cheap to clone (one `Arc` per backend), since every request
/// clones it.
#[derive(Clone)]
pub struct Store(Backend);

/// The backend a [`Store`] was opened on.
#[derive(Clone)]
enum Backend {
    Sled(Sled),
    Postgres(Postgres),
}

impl Store {
    /// Opens (or creates) the embedded database under `dir`.
    pub fn open(dir: &Path, keys: KeyRing) -> anyhow::Result<Self> {
        Ok(Self(Backend::Sled(Sled::open(dir, keys)?)))
    }

    /// Connects to a PostgreSQL store, migrating its schema (refusing a newer one).
    pub async fn connect(settings: &StoreSettings, keys: KeyRing) -> anyhow::Result<Self> {
        Ok(Self(Backend::Postgres(
            Postgres::connect(settings, keys).await?,
        )))
    }

    /// Copies the embedded store under `dir` into the PostgreSQL store `settings` names (see
    /// `connector-host store migrate`), then counts and opens what it copied.
    pub async fn copy_embedded_to_postgres(
        dir: &Path,
        settings: &StoreSettings,
        keys: KeyRing,
    ) -> anyhow::Result<MigrationReport> {
        let sled = Sled::open(dir, keys.clone())?;
        let postgres = Postgres::connect(settings, keys).await?;
        postgres.import(&sled).await
    }

    /// The key ring sealing this store.
    pub fn keys(&self) -> &KeyRing {
        match &self.0 {
            Backend::Sled(sled) => sled.keys(),
            Backend::Postgres(postgres) => postgres.keys(),
        }
    }

    /// Appends a successful event to the tenant's audit log (`None` tenant: the host's own
    /// log).
    pub async fn audit(
        &self,
        tenant: Option<&str>,
        actor: &str,
        action: &str,
        target: &str,
        details: serde_json::Value,
    ) -> Result<(), StoreError> {
        self.record_audit(NewAuditEvent {
            tenant,
            actor,
            action,
            target,
            outcome: AuditOutcome::Success,
            details,
        })
        .await
    }

    /// Replaces only a connection's sealed credential (token refresh), durably.
    /// `NotFound` if the connection was deleted meanwhile.
    pub async fn replace_credential(
        &self,
        tenant: &str,
        id: &str,
        credential: &BoundCredential,
    ) -> Result<(), StoreError> {
        self.write_credential(tenant, id, None, credential).await
    }

    /// [`Store::replace_credential`] only while the stored credential is still the one read
    /// at `expected`: a compare-and-swap, so a refresh that raced another write (a reconnect,
    /// a new credential, another refresh) never puts an older grant's tokens over it.
    /// `Conflict`, with nothing written, when it changed.
    pub async fn replace_credential_if(
        &self,
        tenant: &str,
        id: &str,
        expected: &CredentialVersion,
        credential: &BoundCredential,
    ) -> Result<(), StoreError> {
        self.write_credential(tenant, id, Some(expected), credential)
            .await
    }

    /// Queues a delivery made outside the outbox (a test event, a replay), due at once.
    pub async fn queue_delivery(
        &self,
        record: &DeliveryRecord,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        self.save_delivery(None, record, Some(now_ms)).await
    }

    /// Which backend answers: `sled` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match &self.0 {
            Backend::Sled(_) => "sled",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// Writes the interface: one `pub async fn` on [`Store`] per line, each answered by the
/// backend, which must have the method with the same signature. `sync`/`async` says whether
/// the embedded backend's method is plain code (sled answers from memory or its page cache)
/// or a future; PostgreSQL's are all futures.
macro_rules! interface {
    ($(
        $(#[$doc:meta])*
        $mode:ident fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;
    )*) => {
        impl Store {
            $(
                $(#[$doc])*
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match &self.0 {
                        Backend::Sled(sled) => interface!(@call $mode sled.$name($($arg),*)),
                        Backend::Postgres(postgres) => postgres.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
    (@call sync $($call:tt)*) => { $($call)* };
    (@call async $($call:tt)*) => { $($call)*.await };
}

interface! {
    // store
    /// Reads one key, to tell the store answers (readiness).
    sync fn ping(&self) -> Result<(), StoreError>;
    /// Waits until everything written so far is on disk. Called before acknowledging a write
    /// that creates or changes credentials.
    async fn flush(&self) -> Result<(), StoreError>;
    /// Re-seals every secret and cursor under the key ring's current key, one transaction per
    /// entry so reads keep working throughout. Returns how many entries were re-sealed.
    async fn reseal_all(&self) -> Result<usize, StoreError>;
    /// Hex ids of every master key something in the store is still sealed under.
    sync fn keys_in_use(&self) -> Result<std::collections::BTreeSet<String>, StoreError>;

    // plugin registry
    /// Every plugin id the admin API changed, with the versions it left serving.
    sync fn registry_entries(&self) -> Result<Vec<RegistryEntry>, StoreError>;
    /// The number of the last registry change (0: none yet); it only grows.
    sync fn registry_seq(&self) -> Result<u64, StoreError>;
    /// The bytes of an uploaded version an entry names.
    sync fn plugin_blob(&self, sha256: &str) -> Result<Option<PluginBlob>, StoreError>;
    /// Records what the admin API did to `id` (with the bytes of a version it uploaded), under
    /// the next registry number, and drops bytes no entry names any more. Returns the number.
    async fn record_registry(&self, id: &str, current: Option<&str>, previous: Option<&str>, upload: Option<&(String, PluginBlob)>) -> Result<u64, StoreError>;

    // audit
    /// Appends an event to the audit log.
    async fn record_audit(&self, new: NewAuditEvent<'_>) -> Result<(), StoreError>;
    /// Retention: deletes each tenant's oldest events beyond `max_per_tenant`, and events older
    /// than `max_age` (`None`: no age limit). Events of a tenant are in time order under its
    /// prefix, so each tenant's scan stops at its first event kept. Returns how many went.
    sync fn sweep_audit(&self, now: std::time::SystemTime, max_age: Option<std::time::Duration>, max_per_tenant: usize) -> Result<usize, StoreError>;
    /// A tenant's events after `after` (a previous page's last `seq`), oldest first.
    sync fn audit_events(&self, tenant: &str, after: Option<u64>, limit: usize) -> Result<Vec<AuditEvent>, StoreError>;

    // changes
    /// Changes of a connection after number `after` (0: from the oldest kept).
    /// `Err(CursorExpired)`-like answers are the caller's: see [`Store::changes_floor`].
    sync fn changes(&self, tenant: &str, connection: &str, after: u64, limit: usize) -> Result<ChangesPage, StoreError>;
    /// The highest change number pruned from a connection's feed (0: none): a cursor below it
    /// has expired.
    sync fn changes_floor(&self, tenant: &str, connection: &str) -> Result<u64, StoreError>;
    /// The last change number of a connection (0: none yet).
    sync fn last_change(&self, tenant: &str, connection: &str) -> Result<u64, StoreError>;
    /// Deletes changes recorded before `cutoff_ms` (unix milliseconds) from every feed, and
    /// raises each feed's floor to the highest number deleted. Returns how many were deleted.
    async fn prune_changes(&self, cutoff_ms: u64) -> Result<usize, StoreError>;
    /// Appends changes outside a sync (vendor webhooks), with a `records.changed` event and
    /// `vendor` (the `vendor.event` event's data, to which the change ids are added), in one
    /// transaction.
    ///
    /// `inbound` (a queued delivery's number) is taken off the queue in the same transaction;
    /// when it is already gone (another worker processed it), nothing is written and the answer
    /// is `Conflict`, so a delivery's changes are never recorded twice.
    async fn append_changes(&self, tenant: &str, connection: &str, changes: &[NewChange], vendor: serde_json::Value, inbound: Option<u64>) -> Result<Vec<String>, StoreError>;

    // connections
    /// Stores a new connection and its sealed credential in one transaction, then flushes.
    async fn create_connection(&self, record: &ConnectionRecord, credential: &BoundCredential) -> Result<(), StoreError>;
    /// Replaces a connection's record, and its credential when one is given, in one
    /// transaction, then flushes. `NotFound` if it was deleted meanwhile.
    async fn update_connection(&self, record: &ConnectionRecord, credential: Option<&BoundCredential>) -> Result<(), StoreError>;
    /// Changes a connection's record in place: `change` sees the record as stored at that
    /// moment (re-read inside the transaction, so a concurrent PATCH is never overwritten) and
    /// returns whether it changed anything. Returns the record as stored after, `None` if the
    /// connection is gone.
    async fn update_status(&self, tenant: &str, id: &str, change: impl Fn(&mut ConnectionRecord) -> bool) -> Result<Option<ConnectionRecord>, StoreError>;
    /// One connection of one tenant.
    sync fn connection(&self, tenant: &str, id: &str) -> Result<Option<ConnectionRecord>, StoreError>;
    /// How many connections one tenant holds (keys only, no records parsed).
    sync fn connection_count(&self, tenant: &str) -> Result<usize, StoreError>;
    /// One page of a tenant's connections in id order: up to `limit` records with an id after
    /// `after`.
    sync fn connections_page(&self, tenant: &str, after: Option<&str>, limit: usize) -> Result<Vec<ConnectionRecord>, StoreError>;
    /// Every connection of one tenant, by id.
    sync fn connections(&self, tenant: &str) -> Result<Vec<ConnectionRecord>, StoreError>;
    /// Connections of any tenant to `connector` holding `value` among the values the host
    /// learned for them under their own credential (a Slack team id, an Atlassian site), to
    /// route an app-signed webhook delivery. Config is never consulted: a tenant types it.
    sync fn connections_with_value(&self, connector: &str, value: &str) -> Result<Vec<ConnectionRecord>, StoreError>;
    /// Deletes a connection with its credential and cursors; `false` if there was none.
    async fn delete_connection(&self, tenant: &str, id: &str) -> Result<bool, StoreError>;
    /// The connection's credential with the origin it is bound to, opened.
    sync fn credential(&self, tenant: &str, id: &str) -> Result<BoundCredential, StoreError>;
    /// A credential with the version a [`Store::replace_credential_if`] checks: a digest of its
    /// sealed bytes, which every write changes (each seal has a fresh nonce).
    sync fn credential_versioned(&self, tenant: &str, id: &str) -> Result<(BoundCredential, CredentialVersion), StoreError>;
    /// Stores a sync cursor for `stream`, sealed.
    async fn put_cursor(&self, tenant: &str, connection: &str, stream: &str, value: &str) -> Result<(), StoreError>;
    /// A stored sync cursor.
    sync fn cursor(&self, tenant: &str, connection: &str, stream: &str) -> Result<Option<String>, StoreError>;
    /// How many cursors a connection holds (keys only).
    sync fn cursor_count(&self, tenant: &str, connection: &str) -> Result<usize, StoreError>;
    /// Every stored cursor of a connection, as `(stream, value)`.
    sync fn cursors(&self, tenant: &str, connection: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// Deletes a stored cursor; `false` if there was none.
    async fn delete_cursor(&self, tenant: &str, connection: &str, stream: &str) -> Result<bool, StoreError>;
    /// The raw sealed credential bytes (for tests that move ciphertexts between tenants).
    #[doc(hidden)]
    sync fn sealed_credential(&self, tenant: &str, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes raw sealed credential bytes (for tests that move ciphertexts between tenants).
    #[doc(hidden)]
    sync fn put_sealed_credential(&self, tenant: &str, id: &str, sealed: &[u8]) -> Result<(), StoreError>;
    /// Waits until no other host refreshes this connection's token, and holds that until
    /// the guard drops (see `refresh_lock.rs`).
    async fn refresh_lock(&self, tenant: &str, connection: &str) -> Result<RefreshLock, StoreError>;
    /// Writes a connection's sealed credential (and its token expiry) when the connection
    /// exists and, given `expected`, the stored credential is still that version.
    #[doc(hidden)]
    async fn write_credential(&self, tenant: &str, id: &str, expected: Option<&CredentialVersion>, credential: &BoundCredential) -> Result<(), StoreError>;
    /// Writes many connections in two batches with a single flush. For benchmarks that need a
    /// large store quickly; the API path uses [`Store::create_connection`].
    #[doc(hidden)]
    async fn seed_connections(&self, entries: &[(ConnectionRecord, BoundCredential)]) -> Result<(), StoreError>;

    // usage
    /// Adds each amount to its counter, atomically against other hosts (see `usage.rs`).
    async fn add_usage(&self, amounts: &[UsageCount]) -> Result<(), StoreError>;
    /// The usage counters of `tenant` (every tenant's when `None`) for hours `from_hour..to_hour`.
    sync fn usage(&self, tenant: Option<&str>, from_hour: u64, to_hour: u64) -> Result<Vec<UsageCount>, StoreError>;
    /// Deletes usage counters of hours before `before_hour`; how many.
    sync fn prune_usage(&self, before_hour: u64) -> Result<usize, StoreError>;
    /// How much work waits in the queues at `now_ms` (syncs due, deliveries due, vendor
    /// deliveries queued), for the operator's gauges.
    sync fn queue_depths(&self, now_ms: u64) -> Result<QueueDepths, StoreError>;

    // console_sessions
    /// Stores a session under the digest of its token. A tenant holds at most `max_per_tenant`
    /// live sessions: the ones closest to expiry go first, so repeated sign-ins cannot grow
    /// the tree.
    async fn create_console_session(&self, token_digest: &[u8; 32], session: &ConsoleSession, max_per_tenant: usize) -> Result<(), StoreError>;
    /// Moves a session's expiry (a sliding idle timeout).
    sync fn touch_console_session(&self, token_digest: &[u8; 32], expires_at: u64) -> Result<(), StoreError>;
    /// Ends every session of `tenant` (the operator's "End all operator sessions"); how many.
    async fn end_console_sessions(&self, tenant: &str) -> Result<usize, StoreError>;
    /// Deletes expired sessions (and unreadable ones); how many.
    sync fn sweep_console_sessions(&self, now: u64) -> Result<usize, StoreError>;
    /// The live session of a token digest; an expired one is deleted.
    sync fn console_session(&self, token_digest: &[u8; 32], now: u64) -> Result<Option<ConsoleSession>, StoreError>;
    /// Ends a session.
    async fn delete_console_session(&self, token_digest: &[u8; 32]) -> Result<(), StoreError>;

    // mcp_grants
    /// Stores a new grant. A tenant holds at most `max_per_tenant`: the ones that expire
    /// soonest go first, so repeated consents cannot grow the store.
    async fn create_mcp_grant(&self, grant: &McpGrant, max_per_tenant: usize) -> Result<(), StoreError>;
    /// A grant by id, whatever its state.
    sync fn mcp_grant(&self, id: &str) -> Result<Option<McpGrant>, StoreError>;
    /// Replaces a grant if it is still at `grant.generation - 1`; false, with nothing
    /// written, when another request (on any host) changed or deleted it first.
    async fn replace_mcp_grant(&self, grant: &McpGrant) -> Result<bool, StoreError>;
    /// Deletes a grant of `tenant`; whether there was one.
    async fn delete_mcp_grant(&self, tenant: &str, id: &str) -> Result<bool, StoreError>;
    /// The grants of `tenant`, oldest first.
    sync fn mcp_grants(&self, tenant: &str) -> Result<Vec<McpGrant>, StoreError>;
    /// Deletes grants expired at `now`; how many.
    sync fn sweep_mcp_grants(&self, now: u64) -> Result<usize, StoreError>;

    // deliveries
    /// A fresh delivery id (`msg_...`), greater than every earlier one.
    sync fn next_delivery_id(&self) -> Result<String, StoreError>;
    /// Turns an outbox event into one pending delivery per endpoint that subscribes to it, and
    /// removes it from the outbox, in one transaction. Returns the deliveries made.
    async fn fan_out(&self, event: &OutboxEvent, endpoints: &[EndpointRecord], now_ms: u64) -> Result<usize, StoreError>;
    /// Writes a delivery after an attempt: removes its old queue entry, and queues it again at
    /// `next_ms` when given.
    async fn save_delivery(&self, old_queue_key: Option<&[u8]>, record: &DeliveryRecord, next_ms: Option<u64>) -> Result<(), StoreError>;
    /// Queue entries due at `now_ms`, soonest first, at most `limit`, at most `per_endpoint`
    /// of one endpoint, none of an endpoint in `busy` (`(tenant, endpoint)`, being delivered to already).
    /// Looks at no more than `scan` entries, so one endpoint's backlog costs a bounded read
    /// and cannot hide the others' entries behind it for long.
    sync fn due_deliveries(&self, now_ms: u64, limit: usize, per_endpoint: usize, scan: usize, busy: &std::collections::HashSet<(String, String)>) -> Result<Vec<DueDelivery>, StoreError>;
    /// Claims a due entry (from [`Store::due_deliveries`]) for this host's attempt: `false`
    /// when another host claimed it first, or it is no longer due. A claim ends when the
    /// attempt is saved, and lapses if the host dies.
    sync fn claim_delivery(&self, due: &DueDelivery, now_ms: u64) -> Result<bool, StoreError>;
    /// Removes a queue entry whose delivery is gone.
    sync fn drop_queue_entry(&self, queue_key: &[u8]) -> Result<(), StoreError>;
    /// One delivery of the tenant's endpoint.
    sync fn delivery(&self, tenant: &str, endpoint: &str, id: &str) -> Result<Option<DeliveryRecord>, StoreError>;
    /// An endpoint's deliveries, newest first, before the delivery id `before` when given.
    sync fn deliveries(&self, tenant: &str, endpoint: &str, before: Option<&str>, limit: usize) -> Result<Vec<DeliveryRecord>, StoreError>;
    /// Whether any delivery of the endpoint is still pending.
    sync fn pending_deliveries(&self, tenant: &str, endpoint: &str) -> Result<usize, StoreError>;

    // events
    /// Records an event for the tenant's endpoints (durable when this returns).
    async fn emit_event(&self, tenant: &str, kind: EventType, data: serde_json::Value) -> Result<(), StoreError>;
    /// The oldest events waiting, at most `limit`.
    sync fn outbox_events(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError>;

    // leases
    /// This store's instance id, generated on first use.
    sync fn instance_id(&self) -> Result<String, StoreError>;
    /// Takes the leases of up to `limit` due syncs nobody else holds (not paused, due by
    /// `now_ms`, no other holder's unexpired lease, not in `running`, named by [`sync_key`]),
    /// in turn order: each
    /// tenant's most overdue sync first, then each one's second. On PostgreSQL the syncs are
    /// dequeued with `FOR UPDATE SKIP LOCKED`, so hosts claiming at once get different ones.
    sync fn claim_due_syncs(&self, holder: &str, now_ms: u64, until_ms: u64, limit: usize, running: &[String]) -> Result<Vec<(SyncRecord, Tenure)>, StoreError>;
    /// Stamps this host as live and answers how many hosts are (stamped within `lapse_ms`)
    /// and this one's rank among them, by instance id.
    sync fn heartbeat(&self, lapse_ms: u64) -> Result<(u32, u32), StoreError>;
    /// Stops counting this host among the live ones (a graceful stop).
    sync fn leave_cluster(&self) -> Result<(), StoreError>;
    /// Takes or renews the lease of a sync for `holder` until `until_ms`: the tenure it holds
    /// now, or none while another holder's lease runs. A lease this holder took before (in an
    /// earlier life of the host) may be taken back before it lapses, as a new tenure.
    sync fn take_lease(&self, tenant: &str, connection: &str, sync: &str, holder: &str, now_ms: u64, until_ms: u64) -> Result<Option<Tenure>, StoreError>;
    /// Renews `tenure` until `until_ms`; false when it ended (the lease lapsed and was taken
    /// again, or passed to another holder), and then the runner must stop.
    sync fn renew_lease(&self, tenant: &str, connection: &str, sync: &str, tenure: &Tenure, now_ms: u64, until_ms: u64) -> Result<bool, StoreError>;
    /// Gives a lease up, if `tenure` still holds it: it lapses now, and its row stays so the
    /// next tenure's epoch is higher.
    sync fn release_lease(&self, tenant: &str, connection: &str, sync: &str, tenure: &Tenure) -> Result<(), StoreError>;

    // oauth
    /// Stores a pending session, sealed, and indexes it under its tenant with its expiry.
    async fn put_oauth_session(&self, session: &OAuthSession) -> Result<(), StoreError>;
    /// A pending session, left in place (the start page reads it before the callback).
    sync fn oauth_session(&self, id: &str) -> Result<Option<OAuthSession>, StoreError>;
    /// Removes and returns a pending session: a second call for the same id finds nothing, so a
    /// replayed `state` is refused.
    sync fn take_oauth_session(&self, id: &str) -> Result<Option<OAuthSession>, StoreError>;
    /// Pending, unexpired authorizations of one tenant (from the index; nothing is opened).
    sync fn pending_oauth_sessions(&self, tenant: &str, now: u64) -> Result<usize, StoreError>;
    /// Deletes every authorization that expired before `now`; returns how many.
    sync fn sweep_oauth_sessions(&self, now: u64) -> Result<usize, StoreError>;
    /// The key that signs OAuth `state`, created on first use and sealed like any secret.
    async fn oauth_state_key(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError>;
    /// Stores a tenant's OAuth client for `connector`, sealed.
    async fn put_oauth_app(&self, tenant: &str, connector: &str, app: &OAuthApp) -> Result<(), StoreError>;
    /// A tenant's OAuth client for `connector`, if it set one.
    sync fn oauth_app(&self, tenant: &str, connector: &str) -> Result<Option<OAuthApp>, StoreError>;

    // syncs
    /// Stores a new sync with an empty checkpoint; `Conflict` when the id is taken.
    async fn create_sync(&self, sync: &SyncRecord) -> Result<(), StoreError>;
    /// One sync of the tenant's connection.
    sync fn sync(&self, tenant: &str, connection: &str, id: &str) -> Result<Option<SyncRecord>, StoreError>;
    /// The syncs of one connection, in id order.
    sync fn syncs_of(&self, tenant: &str, connection: &str) -> Result<Vec<SyncRecord>, StoreError>;
    /// Every sync of every tenant (the scheduler's scan).
    sync fn all_syncs(&self) -> Result<Vec<SyncRecord>, StoreError>;
    /// Changes a sync's record with `change`, atomically; `None` when it does not exist.
    async fn update_sync(&self, tenant: &str, connection: &str, id: &str, change: impl Fn(&mut SyncRecord)) -> Result<Option<SyncRecord>, StoreError>;
    /// Deletes a sync with its checkpoint, what it saw, its runs and its lease. Its changes
    /// stay in the connection's feed.
    async fn delete_sync(&self, tenant: &str, connection: &str, id: &str) -> Result<bool, StoreError>;
    /// A sync's checkpoint, opened; the default before its first page.
    sync fn sync_checkpoint(&self, sync: &SyncRecord) -> Result<SyncCheckpoint, StoreError>;
    /// What `sync` saw of `item`.
    sync fn seen(&self, sync: &SyncRecord, item: &str) -> Result<Option<SeenRecord>, StoreError>;
    /// How many items `sync` tracks (keys only; at most `syncs.max_items_per_sync`).
    sync fn seen_count(&self, sync: &SyncRecord) -> Result<u64, StoreError>;
    /// Items `sync` saw whose last full pass is not `pass`: at the end of a full pass, the
    /// items that are gone.
    sync fn unseen_in_pass(&self, sync: &SyncRecord, pass: u64) -> Result<Vec<(String, SeenRecord)>, StoreError>;
    /// A fresh run id, greater than every earlier one.
    sync fn next_run_id(&self) -> Result<String, StoreError>;
    /// A fresh pass id.
    sync fn next_pass_id(&self) -> Result<u64, StoreError>;
    /// Writes a run's record (at its start, and when it ends).
    async fn put_run(&self, sync: &SyncRecord, run: &RunRecord) -> Result<(), StoreError>;
    /// Keeps a sync's `keep` newest run records and deletes the older ones (runs yield their
    /// slot every few pages, so a long pass writes many); how many went.
    sync fn trim_runs(&self, sync: &SyncRecord, keep: usize) -> Result<usize, StoreError>;
    /// One run of a sync.
    sync fn run(&self, sync: &SyncRecord, run_id: &str) -> Result<Option<RunRecord>, StoreError>;
    /// A sync's runs, newest first, starting before `before` (a run id) when given.
    sync fn runs(&self, sync: &SyncRecord, before: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError>;
    /// Writes one page's outcome: seen-records, changes (with their sequence numbers), the
    /// `records.changed` event when there are changes, the checkpoint and the run's progress.
    /// Durable when this returns. Returns the new changes' ids; `NotFound` when the sync was
    /// deleted meanwhile, `LeaseLost` when the runner's tenure of the lease ended (nothing is
    /// written either way).
    async fn commit_page(&self, commit: PageCommit<'_>) -> Result<Vec<String>, StoreError>;
    /// Ends a run: the checkpoint (the next `updated_since`, no pass in progress when the pass
    /// ended), the run's record, the sync's record and the `sync.completed` or `sync.failed`
    /// event, in one transaction.
    /// `update` changes the sync's record as it is in the store then, so a pause or an
    /// interval change made during the run stays. `LeaseLost` (nothing written) when the
    /// runner's `tenure` of the lease ended.
    #[allow(clippy::too_many_arguments)]
    async fn finish_run(&self, sync: &SyncRecord, tenure: &Tenure, checkpoint: &SyncCheckpoint, run: &RunRecord, event: Option<(EventType, serde_json::Value)>, update: impl Fn(&mut SyncRecord, &RunRecord)) -> Result<(), StoreError>;

    // tenants
    /// Creates a tenant; `Conflict` if the id is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Tenant `id`, if it exists.
    sync fn tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError>;
    /// Every tenant.
    sync fn tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    /// Replaces a tenant's record (its settings); `NotFound` if it does not exist.
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Stores an API key's hash for `tenant`, indexed by the tenant and the key's id; the key
    /// itself is never stored.
    async fn insert_api_key(&self, key: &str, record: &ApiKeyRecord) -> Result<(), StoreError>;
    /// A tenant's API keys (records only, never secrets), by id.
    sync fn api_keys(&self, tenant: &str) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revokes one of a tenant's keys; `false` if it has no key with this id. The key answers
    /// 401 from the next request on.
    async fn revoke_api_key(&self, tenant: &str, id: &str) -> Result<bool, StoreError>;
    /// The record of the key, if it is one this store issued.
    sync fn api_key(&self, key: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// [`Store::api_key`] answered without a database round trip: from this host's cache on
    /// PostgreSQL (`None` when not cached), from the local trees on sled.
    sync fn api_key_if_local(&self, key: &str) -> Result<Option<ApiKeyRecord>, StoreError>;

    // token_expiry
    /// `(tenant, connection)` of every OAuth connection whose token expires at or before
    /// `deadline` (unix seconds), soonest first.
    sync fn tokens_due(&self, deadline: u64) -> Result<Vec<(String, String)>, StoreError>;

    // vendor_webhooks
    /// Stores a registration with its route and sealed secret; app-signed registrations
    /// (`secret` none) share the app route and have neither.
    async fn create_registration(&self, registration: &WebhookRegistration, secret: Option<&str>) -> Result<(), StoreError>;
    /// The registrations of a connection.
    sync fn registrations(&self, tenant: &str, connection: &str) -> Result<Vec<WebhookRegistration>, StoreError>;
    /// One registration.
    sync fn registration(&self, tenant: &str, connection: &str, id: &str) -> Result<Option<WebhookRegistration>, StoreError>;
    /// Who a route token belongs to.
    sync fn webhook_route(&self, route: &str) -> Result<Option<WebhookRoute>, StoreError>;
    /// A registration's signing secret, opened.
    sync fn registration_secret(&self, tenant: &str, connection: &str, registration: &str) -> Result<String, StoreError>;
    /// Deletes a registration, its route and its secret.
    async fn delete_registration(&self, registration: &WebhookRegistration) -> Result<(), StoreError>;
    /// Records a delivery id; `false` when it was seen before (a replay). Ids are kept until
    /// `until_ms`.
    sync fn first_delivery(&self, scope: &str, delivery_id: &str, now_ms: u64, until_ms: u64) -> Result<bool, StoreError>;
    /// Forgets delivery ids past their time.
    sync fn sweep_delivery_ids(&self, now_ms: u64) -> Result<usize, StoreError>;
    /// Queues a verified delivery (durable when this returns).
    async fn queue_inbound(&self, delivery: &InboundDelivery) -> Result<(), StoreError>;
    /// A fresh inbound sequence number.
    sync fn next_inbound_seq(&self) -> Result<u64, StoreError>;
    /// The oldest waiting deliveries.
    sync fn inbound(&self, limit: usize) -> Result<Vec<InboundDelivery>, StoreError>;
    /// Removes a processed delivery; `false` when another worker already did.
    sync fn take_inbound(&self, seq: u64) -> Result<bool, StoreError>;
    /// Writes a delivery back after a failed attempt.
    sync fn put_inbound(&self, delivery: &InboundDelivery) -> Result<(), StoreError>;

    // webhook_endpoints
    /// Stores a new endpoint with its secrets.
    async fn create_endpoint(&self, endpoint: &EndpointRecord, secrets: &EndpointSecrets) -> Result<(), StoreError>;
    /// One endpoint of the tenant.
    sync fn endpoint(&self, tenant: &str, id: &str) -> Result<Option<EndpointRecord>, StoreError>;
    /// The tenant's endpoints, in id order.
    sync fn endpoints(&self, tenant: &str) -> Result<Vec<EndpointRecord>, StoreError>;
    /// Changes an endpoint atomically; `None` when it does not exist.
    async fn update_endpoint(&self, tenant: &str, id: &str, change: impl Fn(&mut EndpointRecord)) -> Result<Option<EndpointRecord>, StoreError>;
    /// Seals and stores an endpoint's secrets.
    sync fn put_endpoint_secrets(&self, tenant: &str, id: &str, secrets: &EndpointSecrets) -> Result<(), StoreError>;
    /// An endpoint's secrets, opened.
    sync fn endpoint_secrets(&self, tenant: &str, id: &str) -> Result<EndpointSecrets, StoreError>;
    /// Deletes an endpoint, its secrets, its delivery log and its queued deliveries.
    async fn delete_endpoint(&self, tenant: &str, id: &str) -> Result<bool, StoreError>;
}
