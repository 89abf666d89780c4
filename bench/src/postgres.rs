//! A PostgreSQL server for the scenarios that measure the host on it: the tests' own
//! (`initdb` into a temp dir, loopback only, stopped when dropped), with one database.

use connector_tests::harness::{PG_ADMIN, PG_ADMIN_PASSWORD, PostgresServer, TEST_MASTER_KEY};

/// A running server and the URL of a fresh database on it.
pub struct BenchDatabase {
    pub url: String,
    _server: PostgresServer,
}

impl BenchDatabase {
    /// A server with a database `bench`, or `None` when PostgreSQL is not installed.
    pub async fn start() -> Option<Self> {
        if !PostgresServer::available() {
            return None;
        }
        let server = PostgresServer::start().await;
        let admin = server.admin("postgres").await;
        admin
            .batch_execute("CREATE DATABASE bench")
            .await
            .expect("a bench database");
        Some(Self {
            url: format!(
                "postgres://{PG_ADMIN}:{PG_ADMIN_PASSWORD}@127.0.0.1:{}/bench",
                server.port
            ),
            _server: server,
        })
    }

    /// What a host process needs to keep its records here.
    pub fn host_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("CONNECTOR_HOST_STORE__URL", self.url.clone()),
            ("CONNECTOR_HOST_STORE__TLS", "disable".to_owned()),
            ("CONNECTOR_HOST_MASTER_KEY", TEST_MASTER_KEY.to_owned()),
        ]
    }
}
