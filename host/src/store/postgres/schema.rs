//! The PostgreSQL schema: numbered migrations, run in order at start and recorded in
//! `schema_migrations`, each in its own transaction under an advisory lock, so hosts started
//! together migrate once. A database whose schema is newer than this host knows is refused,
//! naming both versions, and left untouched.

use anyhow::{Context as _, bail};

use super::Postgres;

/// The schema this host writes.
pub const SCHEMA_VERSION: i32 = 4;

/// Held by the transaction that migrates: any number, the same on every host.
const MIGRATION_LOCK: i64 = 0x636f_6e6e_6563_746f;

/// Every migration, in order: the version it brings the database to, and its statements.
const MIGRATIONS: &[(i32, &str)] = &[(1, INITIAL), (2, VERSION_2), (3, VERSION_3), (4, VERSION_4)];

/// Version 1: a table per record kind. Records are the embedded backend's JSON as `bytea`
/// (vendor text may hold characters `jsonb` refuses); sealed values are the same sealed bytes.
const INITIAL: &str = r#"
CREATE SEQUENCE ids;

CREATE TABLE tenants (
    id text PRIMARY KEY,
    record bytea NOT NULL
);

CREATE TABLE api_keys (
    digest text PRIMARY KEY,
    tenant text NOT NULL,
    id text NOT NULL,
    record bytea NOT NULL
);
CREATE UNIQUE INDEX api_keys_by_tenant ON api_keys (tenant, id);

CREATE TABLE connections (
    tenant text NOT NULL,
    id text NOT NULL,
    connector text NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX connections_by_connector ON connections (connector);

-- Sealed secrets bound to (tenant, owner, field) as their AAD: credentials, endpoint and
-- registration signing secrets, tenants' OAuth apps, the OAuth state key.
CREATE TABLE secrets (
    tenant text NOT NULL,
    owner text NOT NULL,
    field text NOT NULL,
    sealed bytea NOT NULL,
    PRIMARY KEY (tenant, owner, field)
);

-- When each OAuth access token expires (unix seconds), for the refresh sweeper.
CREATE TABLE token_expiry (
    tenant text NOT NULL,
    connection text NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (tenant, connection)
);
CREATE INDEX token_expiry_by_time ON token_expiry (expires_at);

CREATE TABLE cursors (
    tenant text NOT NULL,
    connection text NOT NULL,
    stream text NOT NULL,
    sealed bytea NOT NULL,
    PRIMARY KEY (tenant, connection, stream)
);

CREATE TABLE oauth_sessions (
    id text PRIMARY KEY,
    tenant text NOT NULL,
    expires_at bigint NOT NULL,
    sealed bytea NOT NULL
);
CREATE INDEX oauth_sessions_by_tenant ON oauth_sessions (tenant, expires_at);

CREATE TABLE console_sessions (
    digest bytea PRIMARY KEY,
    tenant text NOT NULL,
    expires_at bigint NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX console_sessions_by_tenant ON console_sessions (tenant, expires_at);

CREATE TABLE audit (
    seq bigint PRIMARY KEY,
    tenant text NOT NULL,
    at_ms bigint NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX audit_by_tenant ON audit (tenant, seq);

CREATE TABLE syncs (
    tenant text NOT NULL,
    connection text NOT NULL,
    id text NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, connection, id)
);

CREATE TABLE sync_state (
    tenant text NOT NULL,
    connection text NOT NULL,
    sync text NOT NULL,
    sealed bytea NOT NULL,
    PRIMARY KEY (tenant, connection, sync)
);

CREATE TABLE sync_seen (
    tenant text NOT NULL,
    connection text NOT NULL,
    sync text NOT NULL,
    item text NOT NULL,
    pass bigint NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, connection, sync, item)
);

CREATE TABLE sync_runs (
    tenant text NOT NULL,
    connection text NOT NULL,
    sync text NOT NULL,
    seq bigint NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, connection, sync, seq)
);

-- One row per sync ever run: who runs it now, until when, in which tenure. The primary key
-- is the one-runner-per-sync rule; a released lease keeps its row so epochs never repeat.
CREATE TABLE leases (
    tenant text NOT NULL,
    connection text NOT NULL,
    sync text NOT NULL,
    holder text NOT NULL,
    until_ms bigint NOT NULL,
    epoch bigint NOT NULL,
    PRIMARY KEY (tenant, connection, sync)
);

-- The changes feed, numbered per connection by `change_counters`.
CREATE TABLE changes (
    tenant text NOT NULL,
    connection text NOT NULL,
    seq bigint NOT NULL,
    recorded_at_ms bigint NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, connection, seq)
);
CREATE INDEX changes_by_time ON changes (recorded_at_ms);

CREATE TABLE change_counters (
    tenant text NOT NULL,
    connection text NOT NULL,
    last bigint NOT NULL DEFAULT 0,
    floor bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, connection)
);

CREATE TABLE outbox (
    seq bigint PRIMARY KEY,
    tenant text NOT NULL,
    record bytea NOT NULL
);

CREATE TABLE webhook_endpoints (
    tenant text NOT NULL,
    id text NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- A delivery is due while `due_ms` is set; a host attempting it holds it until
-- `claimed_until_ms`.
CREATE TABLE webhook_deliveries (
    tenant text NOT NULL,
    endpoint text NOT NULL,
    id text NOT NULL,
    due_ms bigint,
    claimed_until_ms bigint NOT NULL DEFAULT 0,
    pending boolean NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, endpoint, id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_ms) WHERE due_ms IS NOT NULL;

CREATE TABLE webhook_registrations (
    tenant text NOT NULL,
    connection text NOT NULL,
    id text NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, connection, id)
);

CREATE TABLE webhook_routes (
    route text PRIMARY KEY,
    tenant text NOT NULL,
    connection text NOT NULL,
    registration text NOT NULL,
    record bytea NOT NULL
);

CREATE TABLE webhook_dedup (
    key text PRIMARY KEY,
    until_ms bigint NOT NULL
);
CREATE INDEX webhook_dedup_by_time ON webhook_dedup (until_ms);

CREATE TABLE inbound_webhooks (
    seq bigint PRIMARY KEY,
    claimed_until_ms bigint NOT NULL DEFAULT 0,
    record bytea NOT NULL
);
"#;

/// Version 2: the plugin registry the admin API changes (with uploaded components), the ids
/// of the master keys the store is sealed under (never the keys), and the live hosts.
const VERSION_2: &str = r#"
CREATE TABLE plugin_registry (
    id text PRIMARY KEY,
    current_sha256 text,
    previous_sha256 text,
    seq bigint NOT NULL
);

CREATE TABLE plugin_blobs (
    sha256 text PRIMARY KEY,
    wasm bytea NOT NULL,
    signature text,
    source text NOT NULL
);

-- One row: the number of the last registry change.
CREATE TABLE registry_version (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq bigint NOT NULL
);
INSERT INTO registry_version (seq) VALUES (0);

-- Master keys by id (the first bytes of their SHA-256, as sealed values carry), so a host
-- started with keys that open none of the store is refused before it writes anything.
CREATE TABLE key_ring (
    key_id text PRIMARY KEY,
    first_seen_at timestamptz NOT NULL DEFAULT now()
);

-- When each sync is due and whether it is paused, as columns, so due syncs are dequeued by
-- an index (the record keeps them too). Existing rows are filled from their records.
ALTER TABLE syncs ADD COLUMN next_run_at_ms bigint NOT NULL DEFAULT 0;
ALTER TABLE syncs ADD COLUMN paused boolean NOT NULL DEFAULT false;
UPDATE syncs SET
    next_run_at_ms = coalesce(substring(convert_from(record, 'UTF8') from '"next_run_at_ms":([0-9]+)')::bigint, 0),
    paused = coalesce(substring(convert_from(record, 'UTF8') from '"paused":(true|false)')::boolean, false);
CREATE INDEX syncs_due ON syncs (next_run_at_ms) WHERE NOT paused;

-- Hosts sharing the call caps, stamped by the database's clock at each heartbeat.
CREATE TABLE hosts (
    instance text PRIMARY KEY,
    seen_at timestamptz NOT NULL
);
"#;

/// Version 3: usage counters for metering, added to by every host at once.
const VERSION_3: &str = r#"
CREATE TABLE usage (
    tenant text NOT NULL,
    hour bigint NOT NULL,
    connection text NOT NULL,
    metric text NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (tenant, hour, connection, metric)
);
CREATE INDEX usage_by_hour ON usage (hour);
"#;

/// Version 4: what tenants granted MCP clients through the host's authorization server.
const VERSION_4: &str = r#"
CREATE TABLE mcp_grants (
    id text PRIMARY KEY,
    tenant text NOT NULL,
    generation bigint NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX mcp_grants_by_tenant ON mcp_grants (tenant, expires_at);
CREATE INDEX mcp_grants_by_expiry ON mcp_grants (expires_at);
"#;

impl Postgres {
    /// Brings the database to [`SCHEMA_VERSION`]; refuses one that is newer.
    pub(super) async fn migrate(&self) -> anyhow::Result<()> {
        let mut client = self
            .pool
            .get()
            .await
            .map_err(|error| anyhow::anyhow!("connecting to the store's database: {error}"))?;
        // Everything under the lock, the bookkeeping table's creation included: two hosts
        // started at once raced on it (a duplicate `pg_type` row) before.
        let transaction = client.transaction().await?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .context("waiting for another host's migration")?;
        transaction
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version integer PRIMARY KEY,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 )",
            )
            .await
            .context("creating schema_migrations")?;
        let found: i32 = transaction
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .get(0);
        if found > SCHEMA_VERSION {
            bail!(
                "the store's schema is version {found}, written by a newer host; this host \
                 knows version {SCHEMA_VERSION} and will not read or write it (run the newer \
                 host, or restore the database from before the upgrade)"
            );
        }
        for (version, statements) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
            transaction
                .batch_execute(statements)
                .await
                .with_context(|| format!("migrating the store to schema version {version}"))?;
            transaction
                .execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)",
                    &[version],
                )
                .await?;
            tracing::info!(version, "store schema migrated");
        }
        transaction.commit().await?;
        Ok(())
    }
}
