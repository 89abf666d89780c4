//! Instantiate + call of a trivial export, with and without the pooling allocator, and the cost
//! of one host-import round trip.

use std::time::{Duration, Instant};

use connector_host::runtime::{CallContext, Operation, Runtime, RuntimeLimits, wit::PageRequest};
use connector_tests::harness;
use serde::Serialize;

use crate::stats::Summary;

#[derive(Debug, Serialize)]
pub struct SandboxResult {
    /// `info()` in a fresh store, pooling allocator.
    pub call_pooled: Summary,
    /// The same without the pooling allocator.
    pub call_unpooled: Summary,
    /// One `config.get` round trip from guest to host and back, in nanoseconds.
    pub import_round_trip_ns: f64,
}

async fn runtime(pooling: bool) -> anyhow::Result<Runtime> {
    let cache = std::env::temp_dir().join("connector-bench-cache");
    let egress = connector_host::egress::EgressClient::new(harness::loopback_policy())?;
    let options = connector_host::runtime::RuntimeOptions {
        limits: RuntimeLimits::default(),
        pooling,
        cache_dir: Some(cache),
        cache_key: Some(harness::test_cache_key()),
        ..Default::default()
    };
    let runtime = Runtime::new(options, egress)?;
    runtime.load_file(&harness::plugin_path("probe")).await?;
    Ok(runtime)
}

async fn time_calls(
    runtime: &Runtime,
    operation: &Operation,
    context: &CallContext,
    count: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        runtime
            .call("probe", context.clone(), operation.clone())
            .await?;
        samples.push(started.elapsed());
    }
    Ok(samples)
}

pub async fn run() -> anyhow::Result<SandboxResult> {
    connector_host::install_crypto_provider();
    let info = Operation::Info;
    let context = CallContext::default();
    let pooled = runtime(true).await?;
    time_calls(&pooled, &info, &context, 200).await?;
    let call_pooled = Summary::of(&mut time_calls(&pooled, &info, &context, 3000).await?);
    let unpooled = runtime(false).await?;
    time_calls(&unpooled, &info, &context, 100).await?;
    let call_unpooled = Summary::of(&mut time_calls(&unpooled, &info, &context, 1000).await?);

    let probe = harness::probe_context("http://127.0.0.1:9", None);
    let loop_of = |n: u32| Operation::Search {
        query: format!("import-loop:{n}"),
        page: PageRequest {
            cursor: None,
            limit: 1,
            include_raw: false,
        },
    };
    const IMPORTS: u32 = 200_000;
    let empty = Summary::of(&mut time_calls(&pooled, &loop_of(0), &probe, 50).await?);
    let full = Summary::of(&mut time_calls(&pooled, &loop_of(IMPORTS), &probe, 20).await?);
    let import_round_trip_ns = (full.median_us - empty.median_us) * 1000.0 / f64::from(IMPORTS);
    Ok(SandboxResult {
        call_pooled,
        call_unpooled,
        import_round_trip_ns,
    })
}
