//! A PostgreSQL server for one test run: `cargo xtask test` starts it, reads the admin URL
//! it prints on its first line, runs the end-to-end tests on PostgreSQL against it (each test
//! server in a database of its own), and closes this program's stdin, which stops the server.
//! Closing stdin is also what happens when xtask dies, so the server never outlives the run.

use std::io::Read as _;

use connector_tests::harness::{PG_ADMIN, PG_ADMIN_PASSWORD, PostgresServer};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let server = PostgresServer::start().await;
    println!(
        "postgres://{PG_ADMIN}:{PG_ADMIN_PASSWORD}@127.0.0.1:{}/postgres",
        server.port
    );
    // Waits for EOF without holding the runtime.
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        std::io::stdin().read_to_end(&mut sink)
    })
    .await;
    drop(server);
}
