//! The store backend tests run against. `CONNECTOR_TEST_STORE=postgres` runs every test
//! server on PostgreSQL: a fresh database each, on the server `CONNECTOR_TEST_POSTGRES_URL`
//! names (`cargo xtask test` starts one for the run), else on a server of the test's own.
//! Store-level tests ask for both backends with [`each_backend`].

use std::sync::Arc;

use connector_host::config::{ConfigSecret, HostConfig};
use connector_host::store::{KeyRing, Store, StoreSettings, StoreTls};

use super::{PG_ADMIN, PG_ADMIN_PASSWORD, PostgresServer};

/// The master key of test hosts on PostgreSQL (base64 of 32 bytes): hosts sharing a database
/// seal with one key.
pub const TEST_MASTER_KEY: &str = "dGVzdC1tYXN0ZXIta2V5LWZvci1wb3N0Z3Jlcy0zMiE=";

/// Whether this run puts test servers on PostgreSQL.
pub fn postgres_run() -> bool {
    std::env::var("CONNECTOR_TEST_STORE").is_ok_and(|v| v == "postgres")
}

/// A database of its own on a PostgreSQL server, for as long as this lives (the last clone
/// drops it, or stops the server the test started for it).
#[derive(Clone)]
pub struct TestDatabase {
    /// `postgres://...` of the database.
    pub url: String,
    _owned: Arc<Owned>,
}

/// What goes when the last clone of a [`TestDatabase`] does.
struct Owned {
    admin_url: String,
    name: String,
    /// The server, when this test started its own.
    server: Option<PostgresServer>,
}

impl Drop for Owned {
    fn drop(&mut self) {
        if self.server.is_some() {
            return; // the whole server goes
        }
        // On the run's shared server: drop the database (its hosts have stopped or are
        // dropped with it; FORCE ends their sessions), from a thread of its own since this may
        // run inside a runtime.
        // One at a time: two concurrent `DROP DATABASE ... WITH (FORCE)` were seen to wait on
        // each other's barrier forever. A drop that takes too long is given up (the database
        // stays until the run's server stops).
        static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok((client, connection)) =
                    tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await
                {
                    let driver = tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!(
                            "SET statement_timeout = '10s'; \
                             DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        ))
                        .await;
                    drop(client);
                    let _ = driver.await;
                }
            });
        })
        .join();
    }
}

impl TestDatabase {
    /// A fresh, empty database: on the run's server when there is one, else on a new server.
    pub async fn create() -> Self {
        let (admin_url, server) = match std::env::var("CONNECTOR_TEST_POSTGRES_URL") {
            Ok(url) => (url, None),
            Err(_) => {
                let server = PostgresServer::start().await;
                let url = format!(
                    "postgres://{PG_ADMIN}:{PG_ADMIN_PASSWORD}@127.0.0.1:{}/postgres",
                    server.port
                );
                (url, Some(server))
            }
        };
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
            .await
            .expect("the test PostgreSQL server answers");
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("a test database");
        drop(client);
        let _ = driver.await;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        Self {
            url: format!("{base}/{name}"),
            _owned: Arc::new(Owned {
                admin_url,
                name,
                server,
            }),
        }
    }

    /// Store settings for this database (no TLS on loopback, a small pool).
    pub fn settings(&self) -> StoreSettings {
        StoreSettings {
            url: ConfigSecret::new(self.url.clone()),
            pool_size: 4,
            tls: StoreTls::Disable,
            ..StoreSettings::default()
        }
    }

    /// Points a host's config at this database.
    pub fn configure(&self, config: &mut HostConfig) {
        config.store = self.settings();
        config.master_key = Some(ConfigSecret::new(TEST_MASTER_KEY));
    }
}

/// A store on one backend, with what keeps it alive.
pub struct BackendStore {
    /// `sled` or `postgres`.
    pub name: &'static str,
    pub store: Store,
    _dir: tempfile::TempDir,
    _database: Option<TestDatabase>,
}

/// A fresh store on each backend: sled in a temp dir, PostgreSQL in a fresh database.
/// Each has a key ring of its own, generated into its temp dir (so key rotation works).
pub async fn each_backend() -> Vec<BackendStore> {
    let keys = |dir: &tempfile::TempDir| KeyRing::load(dir.path(), None).expect("a key ring");
    let dir = tempfile::tempdir().expect("temp dir");
    let sled = Store::open(&dir.path().join("store"), keys(&dir)).expect("a sled store");
    let database = TestDatabase::create().await;
    let pg_dir = tempfile::tempdir().expect("temp dir");
    let postgres = Store::connect(&database.settings(), keys(&pg_dir))
        .await
        .expect("a PostgreSQL store");
    vec![
        BackendStore {
            name: "sled",
            store: sled,
            _dir: dir,
            _database: None,
        },
        BackendStore {
            name: "postgres",
            store: postgres,
            _dir: pg_dir,
            _database: Some(database),
        },
    ]
}
