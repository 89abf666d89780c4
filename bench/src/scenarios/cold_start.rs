//! Host start-up to ready (store open, plugins loaded, listening), without and with the
//! compile cache.

use std::time::Instant;

use connector_host::Server;
use connector_host::config::{ConfigSecret, HostConfig};
use connector_tests::harness;
use serde::Serialize;

use crate::stats::Summary;

#[derive(Debug, Serialize)]
pub struct ColdStartResult {
    pub plugins: usize,
    pub without_cache: Summary,
    pub with_cache: Summary,
}

async fn start_once(data: &std::path::Path, cache: bool) -> anyhow::Result<std::time::Duration> {
    let config = HostConfig {
        listen: "127.0.0.1:0".parse()?,
        data_dir: data.to_owned(),
        plugins_dir: Some(harness::plugins_dir()),
        compile_cache: cache,
        admin_token: Some(ConfigSecret::new("bench-admin-token-0123456789")),
        ..HostConfig::default()
    };
    let started = Instant::now();
    let server = Server::start(config).await?;
    let elapsed = started.elapsed();
    server.stop().await?;
    Ok(elapsed)
}

pub async fn run() -> anyhow::Result<ColdStartResult> {
    let plugins = std::fs::read_dir(harness::plugins_dir())?
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "wasm"))
        .count();
    let mut without = Vec::new();
    for _ in 0..3 {
        let data = tempfile::tempdir()?;
        without.push(start_once(data.path(), false).await?);
    }
    let data = tempfile::tempdir()?;
    start_once(data.path(), true).await?; // fills the cache
    let mut with = Vec::new();
    for _ in 0..3 {
        with.push(start_once(data.path(), true).await?);
    }
    Ok(ColdStartResult {
        plugins,
        without_cache: Summary::of(&mut without),
        with_cache: Summary::of(&mut with),
    })
}
