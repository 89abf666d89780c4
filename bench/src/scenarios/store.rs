//! Store throughput on each backend: creating connections (sealed, transactional, durable),
//! reading sealed credentials, and listing one tenant's connections in a small and a large
//! store. The embedded sled store, then PostgreSQL (a local server) when it is installed.

use std::time::Instant;

use anyhow::Context as _;
use connector_host::config::ConfigSecret;
use connector_host::store::{
    BoundCredential, ConnectionRecord, ConnectionStatus, CredentialType, KeyRing, Store,
    StoreSettings, StoreTls, StoredCredential, now_rfc3339,
};
use serde::Serialize;

use crate::stats::Summary;

/// The store scenario on each backend.
#[derive(Debug, Serialize)]
pub struct StoreResults {
    pub sled: StoreResult,
    /// `None` when PostgreSQL is not installed.
    pub postgres: Option<StoreResult>,
}

#[derive(Debug, Serialize)]
pub struct StoreResult {
    pub creates_per_second: f64,
    pub sealed_reads_per_second: f64,
    /// Listing a tenant's 100 connections when the store holds 100 connections in all.
    pub list_small_store: Summary,
    /// The same tenant's listing when the store holds 100,000.
    pub list_large_store: Summary,
    pub large_over_small: f64,
}

fn record(tenant: &str, n: usize) -> (ConnectionRecord, BoundCredential) {
    let now = now_rfc3339();
    let record = ConnectionRecord {
        id: format!("conn_{n:08}"),
        tenant: tenant.to_owned(),
        connector: "probe".into(),
        name: format!("Connection {n}"),
        auth_method: "token".into(),
        credential_type: CredentialType::Bearer,
        config: serde_json::Map::from_iter([(
            "base_url".to_owned(),
            serde_json::json!("https://example.com"),
        )]),
        status: ConnectionStatus::Active,
        principal: None,
        values: Default::default(),
        last_error: None,
        last_success_at: None,
        created_at: now.clone(),
        updated_at: now,
    };
    (
        record,
        BoundCredential::new(
            StoredCredential::Bearer {
                token: format!("token-{n}"),
            },
            Some("https://example.com".into()),
        ),
    )
}

async fn time_lists(store: &Store, tenant: &str, count: usize) -> anyhow::Result<Summary> {
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let listed = store.connections(tenant).await?;
        samples.push(started.elapsed());
        anyhow::ensure!(listed.len() == 100, "listed {}", listed.len());
    }
    Ok(Summary::of(&mut samples))
}

pub async fn run() -> anyhow::Result<StoreResults> {
    let sled = measure(|| async {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("store"), KeyRing::load(dir.path(), None)?)?;
        Ok((store, Some(dir), None))
    })
    .await?;
    let postgres = match connector_tests::harness::PostgresServer::available() {
        true => Some(
            measure(|| async {
                // A server and database per store, like a fresh sled directory.
                let database = crate::postgres::BenchDatabase::start()
                    .await
                    .context("PostgreSQL")?;
                let keys_dir = tempfile::tempdir()?;
                let settings = StoreSettings {
                    url: ConfigSecret::new(database.url.clone()),
                    tls: StoreTls::Disable,
                    ..StoreSettings::default()
                };
                let store =
                    Store::connect(&settings, KeyRing::load(keys_dir.path(), None)?).await?;
                Ok((store, Some(keys_dir), Some(database)))
            })
            .await?,
        ),
        false => None,
    };
    Ok(StoreResults { sled, postgres })
}

/// What keeps a measured store alive.
type Opened = (
    Store,
    Option<tempfile::TempDir>,
    Option<crate::postgres::BenchDatabase>,
);

async fn measure<F, Fut>(open: F) -> anyhow::Result<StoreResult>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Opened>>,
{
    let (store, _dir, _database) = open().await?;

    const CREATES: usize = 300;
    let started = Instant::now();
    for n in 0..CREATES {
        let (record, credential) = record("writer", n);
        store.create_connection(&record, &credential).await?;
    }
    let creates_per_second = CREATES as f64 / started.elapsed().as_secs_f64();

    const READS: usize = 20_000;
    let started = Instant::now();
    for n in 0..READS {
        store
            .credential("writer", &format!("conn_{:08}", n % CREATES))
            .await?;
    }
    let sealed_reads_per_second = READS as f64 / started.elapsed().as_secs_f64();

    let (small, _small_dir, _small_database) = open().await?;
    let ours: Vec<_> = (0..100).map(|n| record("listed", n)).collect();
    small.seed_connections(&ours).await?;
    let list_small_store = time_lists(&small, "listed", 300).await?;

    small
        .seed_connections(
            &(0..10_000)
                .map(|n| record(&format!("t{:03}", n % 100), 100 + n))
                .collect::<Vec<_>>(),
        )
        .await?;
    for batch in 1..10 {
        let rows: Vec<_> = (0..10_000)
            .map(|n| record(&format!("u{batch}{:03}", n % 100), batch * 10_000 + n))
            .collect();
        small.seed_connections(&rows).await?;
    }
    let list_large_store = time_lists(&small, "listed", 300).await?;
    let large_over_small = list_large_store.median_us / list_small_store.median_us.max(1e-9);
    Ok(StoreResult {
        creates_per_second,
        sealed_reads_per_second,
        list_small_store,
        list_large_store,
        large_over_small,
    })
}
