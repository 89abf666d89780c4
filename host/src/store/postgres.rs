//! The PostgreSQL backend (`store.url = "postgres://..."`): several hosts on one database.
//!
//! Every record the embedded backend keeps has a table here (`schema.rs` creates them), with
//! the same serialized records and the same sealed bytes: secrets are sealed by the host
//! before a statement carries them, so the database never holds a plaintext secret.
//!
//! What hosts share is coordinated by the database itself, never by a host's memory: a sync's
//! lease is a row whose epoch every page commit checks under a row lock in its own
//! transaction; the changes feed is numbered by a per-connection counter row, locked by each
//! writer until it commits, so numbers appear in commit order; due deliveries and queued
//! inbound webhooks are claimed with `FOR UPDATE SKIP LOCKED`, so each is attempted by one
//! host at a time, and a claim lapses when its host dies.
//!
//! The driver is `tokio-postgres` (already the `sql` capability's) with `deadpool-postgres`
//! for the pool and its per-connection statement cache: a statement is prepared once per
//! pooled connection, so a steady-state read is one round trip.

mod audit;
mod cache;
mod connections;
mod deliveries;
mod hosts;
mod import;
mod mcp_grants;
mod plugin_registry;
mod schema;
mod sessions;
mod syncs;
mod tenants;
mod usage;
mod vendor_webhooks;

use std::str::FromStr as _;
use std::sync::Arc;

use anyhow::Context as _;
use deadpool_postgres::GenericClient;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::{Aad, KeyRing, StoreError, StoreSettings, StoreTls};

pub use import::MigrationReport;
pub use schema::SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION;

/// The open pool and the key ring sealing what goes through it. Cheap to clone.
#[derive(Clone)]
pub(super) struct Postgres(Arc<Inner>);

pub(super) struct Inner {
    pool: deadpool_postgres::Pool,
    keys: KeyRing,
    /// This process's name as a lease holder (see `syncs.rs`).
    instance: String,
    /// What calls read, kept until a write's notice (see `cache.rs`).
    cache: cache::ReadCache,
}

impl std::ops::Deref for Postgres {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Postgres {
    /// Connects, brings the schema up to date (refusing a newer one) and returns the store.
    pub async fn connect(settings: &StoreSettings, keys: KeyRing) -> anyhow::Result<Self> {
        let mut config = tokio_postgres::Config::from_str(settings.url.expose())
            // The URL may hold a password: the error never repeats it.
            .map_err(|_| {
                anyhow::anyhow!(
                    "store.url is not a PostgreSQL URL (postgres://user:password@host:port/database)"
                )
            })?;
        let timeout_ms = settings.statement_timeout.as_millis().max(1);
        config
            .application_name("connector-host")
            .connect_timeout(settings.connect_timeout)
            .options(format!("-c statement_timeout={timeout_ms}"));
        let manager_config = deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        };
        let listener_config = config.clone();
        let manager = match settings.tls {
            StoreTls::Disable => deadpool_postgres::Manager::from_config(
                config,
                tokio_postgres::NoTls,
                manager_config,
            ),
            StoreTls::VerifyFull => {
                deadpool_postgres::Manager::from_config(config, tls_connector()?, manager_config)
            }
        };
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(settings.pool_size.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(settings.connect_timeout))
            .create_timeout(Some(settings.connect_timeout))
            .recycle_timeout(Some(settings.connect_timeout))
            .build()
            .context("building the store's connection pool")?;
        let store = Self(Arc::new(Inner {
            pool,
            keys,
            instance: format!("host_{}", uuid::Uuid::new_v4().simple()),
            cache: cache::ReadCache::new(),
        }));
        store
            .migrate()
            .await
            .context("opening the PostgreSQL store")?;
        store.check_key_ring().await?;
        let weak = Arc::downgrade(&store.0);
        match settings.tls {
            StoreTls::Disable => {
                tokio::spawn(cache::listen(weak, listener_config, tokio_postgres::NoTls));
            }
            StoreTls::VerifyFull => {
                tokio::spawn(cache::listen(weak, listener_config, tls_connector()?));
            }
        }
        Ok(store)
    }

    /// The key ring sealing this store.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        Ok(self.pool.get().await?)
    }

    /// Runs one statement that answers at most one row.
    async fn one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let client = self.client().await?;
        one(&client, sql, params).await
    }

    /// Runs one statement and answers its rows.
    async fn rows(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        rows(&client, sql, params).await
    }

    /// Runs one statement and answers how many rows it changed.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let client = self.client().await?;
        execute(&client, sql, params).await
    }

    /// A fresh number from the store's sequence: greater than every earlier one, on every host.
    async fn next_id(&self) -> Result<u64, StoreError> {
        let row = self
            .one("SELECT nextval('ids')", &[])
            .await?
            .ok_or_else(|| StoreError::Io("the id sequence answered nothing".into()))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// Answers once the database does (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.one("SELECT 1", &[]).await.map(|_| ())
    }

    /// Every commit is durable when it returns: nothing to wait for.
    pub async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Re-seals every sealed value under the key ring's current key, one compare-and-swap per
    /// value so reads (and other hosts) keep working throughout.
    pub async fn reseal_all(&self) -> Result<usize, StoreError> {
        let mut count = 0;
        for (select, update) in SEALED_TABLES {
            for row in self.rows(select, &[]).await? {
                let sealed: Vec<u8> = row.get("sealed");
                if self.keys.is_current(&sealed) {
                    continue;
                }
                let aad = Aad::new(row.get("a"), row.get("b"), row.get("c"));
                let plain = self.open(&aad, &sealed)?;
                let resealed = self.seal(&aad, &plain)?;
                let (k1, k2, k3): (String, String, String) =
                    (row.get("k1"), row.get("k2"), row.get("k3"));
                // An entry rewritten meanwhile is already under the new key.
                if self
                    .execute(update, &[&k1, &k2, &k3, &sealed, &resealed])
                    .await?
                    > 0
                {
                    count += 1;
                }
            }
        }
        if count > 0 {
            self.execute("SELECT pg_notify($1, '*')", &[&cache::CHANNEL])
                .await?;
            self.forget("*");
        }
        // The store now needs only the current key and any a concurrent write still used.
        let mut needed: Vec<String> = self.keys_in_use().await?.into_iter().collect();
        needed.push(self.keys.current_id());
        self.execute(
            "INSERT INTO key_ring (key_id) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&self.keys.current_id()],
        )
        .await?;
        self.execute("DELETE FROM key_ring WHERE key_id <> ALL($1)", &[&needed])
            .await?;
        Ok(count)
    }

    /// Refuses a host whose master keys are none of those the store was sealed under (a
    /// host started with the wrong key would seal new values no other host can open), then
    /// records this host's key ids. Only ids are kept, never key material.
    async fn check_key_ring(&self) -> anyhow::Result<()> {
        let known: Vec<String> = self
            .rows("SELECT key_id FROM key_ring ORDER BY key_id", &[])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let mine = self.keys.ids();
        if !known.is_empty() && !mine.iter().any(|id| known.contains(id)) {
            anyhow::bail!(
                "this host's master key (id {}) is not one this store is sealed under (ids {}): \
                 start every host with the same master_key; to change it, put the new key \
                 first (\"NEW,OLD\") and rotate",
                mine.join(", "),
                known.join(", ")
            );
        }
        for id in &mine {
            self.execute(
                "INSERT INTO key_ring (key_id) VALUES ($1) ON CONFLICT DO NOTHING",
                &[id],
            )
            .await?;
        }
        Ok(())
    }

    /// Hex ids of every master key something in the store is still sealed under.
    pub async fn keys_in_use(&self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let mut ids = std::collections::BTreeSet::new();
        for (select, _) in SEALED_TABLES {
            for row in self.rows(select, &[]).await? {
                if let Some(id) = KeyRing::key_id_of(row.get("sealed")) {
                    ids.insert(id);
                }
            }
        }
        Ok(ids)
    }

    /// The sealed secret bound to `aad`, as stored.
    async fn sealed(&self, aad: &Aad) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .one(
                "SELECT sealed FROM secrets WHERE tenant = $1 AND owner = $2 AND field = $3",
                &[&aad.tenant, &aad.connection, &aad.field],
            )
            .await?
            .map(|row| row.get(0)))
    }

    /// The secret bound to `aad`, opened; `NotFound` when there is none.
    async fn open_secret(&self, aad: &Aad) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
        let sealed = self.sealed(aad).await?.ok_or(StoreError::NotFound)?;
        self.open(aad, &sealed)
    }

    /// Drops what `topic` names from this host's cache; other hosts hear of it from the
    /// write's own notice.
    fn forget(&self, topic: &str) {
        self.cache.invalidate(topic);
    }

    fn seal(&self, aad: &Aad, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(self.keys.seal(aad, plain)?)
    }

    fn open(&self, aad: &Aad, sealed: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
        Ok(self.keys.open(aad, sealed)?)
    }
}

/// Every table holding sealed values: how to read each value with its AAD (`a`, `b`, `c`)
/// and row key (`k1`..`k3`), and how to swap it for a re-sealed one.
const SEALED_TABLES: [(&str, &str); 4] = [
    (
        "SELECT tenant AS a, owner AS b, field AS c, tenant AS k1, owner AS k2, field AS k3, sealed
         FROM secrets",
        "UPDATE secrets SET sealed = $5
         WHERE tenant = $1 AND owner = $2 AND field = $3 AND sealed = $4",
    ),
    (
        "SELECT tenant AS a, connection AS b, 'cursor:' || stream AS c,
                tenant AS k1, connection AS k2, stream AS k3, sealed
         FROM cursors",
        "UPDATE cursors SET sealed = $5
         WHERE tenant = $1 AND connection = $2 AND stream = $3 AND sealed = $4",
    ),
    (
        "SELECT '_system' AS a, id AS b, 'oauth-session' AS c, id AS k1, '' AS k2, '' AS k3,
                sealed
         FROM oauth_sessions",
        "UPDATE oauth_sessions SET sealed = $5
         WHERE id = $1 AND $2 = '' AND $3 = '' AND sealed = $4",
    ),
    (
        "SELECT tenant AS a, connection AS b, 'sync:' || sync AS c,
                tenant AS k1, connection AS k2, sync AS k3, sealed
         FROM sync_state",
        "UPDATE sync_state SET sealed = $5
         WHERE tenant = $1 AND connection = $2 AND sync = $3 AND sealed = $4",
    ),
];

/// One row at most, through the pooled connection's statement cache.
async fn one<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query_opt(&statement, params).await?)
}

/// Every row, through the statement cache.
async fn rows<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query(&statement, params).await?)
}

/// How many rows a statement changed, through the statement cache.
async fn execute<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.execute(&statement, params).await?)
}

/// Tells every host's cache that `topic` changed, when the caller's transaction commits.
async fn notify<C: GenericClient>(client: &C, topic: &str) -> Result<(), StoreError> {
    execute(
        client,
        "SELECT pg_notify($1, $2)",
        &[&cache::CHANNEL, &topic],
    )
    .await?;
    Ok(())
}

/// A record column (`bytea`, the record's JSON as the embedded backend stores it).
fn decode<T: DeserializeOwned>(row: &Row, column: &str) -> Result<T, StoreError> {
    let bytes: &[u8] = row.try_get(column)?;
    Ok(serde_json::from_slice(bytes)?)
}

/// A record as its column's bytes.
fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    Ok(serde_json::to_vec(value)?)
}

/// Unsigned numbers live in `bigint` columns; every one the host writes (milliseconds, ids,
/// sequence numbers, epochs) is below `i64::MAX`.
fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn uint(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn count(row: Option<Row>) -> Result<usize, StoreError> {
    Ok(row.map_or(0, |row| uint(row.get::<_, i64>(0)) as usize))
}

/// TLS that checks the database's certificate against the platform's roots and its name.
fn tls_connector() -> anyhow::Result<tokio_postgres_rustls::MakeRustlsConnect> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let config = rustls::ClientConfig::builder()
        .with_platform_verifier()
        .context("loading TLS trust roots for the store")?
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        match error.code() {
            Some(code) if *code == SqlState::UNIQUE_VIOLATION => Self::Conflict,
            // A statement the database answered with an error is the store failing; no answer
            // at all (the connection dropped, the server shut down) is the store out of reach.
            Some(code)
                if *code == SqlState::ADMIN_SHUTDOWN
                    || *code == SqlState::CANNOT_CONNECT_NOW
                    || *code == SqlState::CRASH_SHUTDOWN =>
            {
                Self::Unavailable(error.to_string())
            }
            Some(_) => Self::Io(error.to_string()),
            None => Self::Unavailable(error.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(error) => error.into(),
            other => Self::Unavailable(other.to_string()),
        }
    }
}
