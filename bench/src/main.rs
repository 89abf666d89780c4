//! `connector-bench`: runs every scenario, prints a table and writes `bench/results.json`.
//! Run it with `cargo xtask bench` (release build, plugins built first).

mod host_process;
mod load;
mod native_service;
mod nginx;
mod node_service;
mod postgres;
mod scenarios;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde_json::json;

/// Receivers in the webhook delivery scenario.
const ENDPOINTS_IN_BENCH: usize = 8;

/// The same allocator as the `connector-host` binary, since the bench runs the host in-process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Benchmarks of connector-host")]
struct Args {
    /// Where to write the results.
    #[arg(long, default_value = "bench/results.json")]
    out: PathBuf,
    /// Seconds each load run lasts.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Run only the call-path scenario and write nothing (for profiling with perf).
    #[arg(long)]
    call_path_only: bool,
    /// Write `/tmp/perf-PID.map` for guest code (with `perf record`, names guest frames).
    #[arg(long)]
    perf_map: bool,
    /// Measure only the call-path cases whose name contains this (e.g. `probe`).
    #[arg(long)]
    case: Option<String>,
    /// Run only the hot-swap scenario and write nothing.
    #[arg(long)]
    hot_swap_only: bool,
    /// Run only the syncs and webhooks scenario and write nothing.
    #[arg(long)]
    syncs_only: bool,
    /// Run only the telemetry off/on scenario and write nothing.
    #[arg(long)]
    telemetry_only: bool,
    /// Run only the tool-search scenario and write nothing.
    #[arg(long)]
    tool_search_only: bool,
    /// Internal: serve as the call path's plain native Rust service in front of this vendor
    /// origin (the bench starts itself so; see `native_service.rs`).
    #[arg(long, hide = true, requires = "port")]
    serve_native: Option<String>,
    /// Internal: the native service's port.
    #[arg(long, hide = true)]
    port: Option<u16>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let (Some(vendor), Some(port)) = (args.serve_native, args.port) {
        return native_service::serve(vendor, port).await;
    }
    let duration = Duration::from_secs(args.seconds);
    connector_host::install_crypto_provider();
    if args.call_path_only {
        let call_path =
            scenarios::call_path::run(duration, args.perf_map, args.case.as_deref()).await?;
        println!("{}", serde_json::to_string_pretty(&call_path)?);
        return Ok(());
    }
    if args.syncs_only {
        let syncs = scenarios::syncs::run().await?;
        println!("{}", serde_json::to_string_pretty(&syncs)?);
        return Ok(());
    }
    if args.telemetry_only {
        let telemetry = scenarios::telemetry::run(duration).await?;
        println!("{}", serde_json::to_string_pretty(&telemetry)?);
        return Ok(());
    }
    if args.tool_search_only {
        let search = scenarios::tool_search::run();
        println!("{}", serde_json::to_string_pretty(&search)?);
        return Ok(());
    }
    if args.hot_swap_only {
        let hot_swap = scenarios::hot_swap::run(duration).await?;
        println!("{}", serde_json::to_string_pretty(&hot_swap)?);
        return Ok(());
    }

    eprintln!("bench: sandbox");
    let sandbox = scenarios::sandbox::run().await?;
    eprintln!("bench: call path");
    let call_path =
        scenarios::call_path::run(duration, args.perf_map, args.case.as_deref()).await?;
    eprintln!("bench: cold start");
    let cold_start = scenarios::cold_start::run().await?;
    eprintln!("bench: store (seeds 100,000 connections)");
    let store = scenarios::store::run().await?;
    eprintln!("bench: refresh storm");
    let storm = scenarios::refresh_storm::run().await?;
    eprintln!("bench: hot swap");
    let hot_swap = scenarios::hot_swap::run(duration).await?;
    eprintln!("bench: syncs and webhook deliveries (a 10,000-item container)");
    let syncs = scenarios::syncs::run().await?;
    eprintln!("bench: memory");
    let memory = scenarios::memory::run(duration).await?;
    eprintln!("bench: telemetry off and on");
    let telemetry = scenarios::telemetry::run(duration).await?;
    eprintln!("bench: tool search");
    let tool_search = scenarios::tool_search::run();

    let mut rows: Vec<(String, String)> = vec![
        (
            "sandbox: instantiate + call, pooling (median / p99)".into(),
            format!(
                "{:.1} us / {:.1} us",
                sandbox.call_pooled.median_us, sandbox.call_pooled.p99_us
            ),
        ),
        (
            "sandbox: instantiate + call, no pooling (median / p99)".into(),
            format!(
                "{:.1} us / {:.1} us",
                sandbox.call_unpooled.median_us, sandbox.call_unpooled.p99_us
            ),
        ),
        (
            "sandbox: host import round trip".into(),
            format!("{:.0} ns", sandbox.import_round_trip_ns),
        ),
    ];
    for case in &call_path.cases {
        for run in &case.runs {
            let c = run.concurrency;
            let name = case.name;
            let figures = |load: &load::LoadResult| {
                format!(
                    "{:.0} us / {:.0} us, {:.0} req/s",
                    load.latency.median_us, load.latency.p99_us, load.requests_per_second
                )
            };
            rows.push((
                format!("{name}, c={c}: direct (p50 / p99, req/s)"),
                figures(&run.direct),
            ));
            if let Some(hop) = &run.nginx_hop {
                rows.push((
                    format!("{name}, c={c}: nginx hop (p50 / p99, req/s)"),
                    figures(hop),
                ));
            }
            rows.push((
                format!("{name}, c={c}: through host (p50 / p99, req/s)"),
                figures(&run.through_host),
            ));
            if let (Some(pg), Some(latency), Some(throughput)) = (
                &run.through_host_on_postgres,
                run.postgres_over_sled_latency,
                run.postgres_over_sled_throughput,
            ) {
                rows.push((
                    format!("{name}, c={c}: through host on PostgreSQL (p50 / p99, req/s)"),
                    format!(
                        "{}; {latency:.2}x sled's p50, {:.0}% of its req/s",
                        figures(pg),
                        throughput * 100.0
                    ),
                ));
            }
            for (label, result) in [("Node service", &run.node), ("native service", &run.native)] {
                if let Some(way) = result {
                    rows.push((
                        format!("{name}, c={c}: through a plain {label} (p50 / p99, req/s)"),
                        format!(
                            "{}; host adds {:.2}x what it adds, host req/s {:.2}x its",
                            figures(&way.load),
                            way.host_over_way_added,
                            way.host_over_way_throughput
                        ),
                    ));
                }
            }
            if let Some(way) = &run.declarative {
                rows.push((
                    format!("{name}, c={c}: through a Jira-shaped manifest (p50 / p99, req/s)"),
                    format!(
                        "{}; adds {:.2}x what the Rust connector adds, req/s {:.2}x its",
                        figures(&way.load),
                        way.over_rust_added,
                        way.over_rust_throughput
                    ),
                ));
            }
            rows.push((
                format!("{name}, c={c}: added by host / by nginx (p50)"),
                match (run.nginx_added_us, run.host_over_nginx_added) {
                    (Some(nginx), Some(ratio)) => format!(
                        "{:.0} us / {nginx:.0} us ({ratio:.1}x); host throughput {:.0}% of nginx's",
                        run.host_added_us,
                        run.host_over_nginx_throughput.unwrap_or_default() * 100.0
                    ),
                    _ => format!("{:.0} us / (no nginx)", run.host_added_us),
                },
            ));
        }
    }
    for (backend, result) in std::iter::once(("sled", &store.sled))
        .chain(store.postgres.as_ref().map(|r| ("postgres", r)))
    {
        rows.extend([
            (
                format!("store ({backend}): create connection (sealed, durable)"),
                format!("{:.0} /s", result.creates_per_second),
            ),
            (
                format!("store ({backend}): read sealed credential"),
                format!("{:.0} /s", result.sealed_reads_per_second),
            ),
            (
                format!("store ({backend}): list 100 of 100 (median)"),
                format!("{:.0} us", result.list_small_store.median_us),
            ),
            (
                format!("store ({backend}): list 100 of 100,100 (median)"),
                format!(
                    "{:.0} us ({:.2}x)",
                    result.list_large_store.median_us, result.large_over_small
                ),
            ),
        ]);
    }
    rows.extend([
        (
            format!(
                "cold start, {} plugin(s), no cache (median)",
                cold_start.plugins
            ),
            format!("{:.1} ms", cold_start.without_cache.median_us / 1000.0),
        ),
        (
            format!(
                "cold start, {} plugin(s), with cache (median)",
                cold_start.plugins
            ),
            format!("{:.1} ms", cold_start.with_cache.median_us / 1000.0),
        ),
        (
            format!("refresh storm: {} calls on an expired token", storm.calls),
            format!(
                "{:.0} ms, {} ok, {} token request(s)",
                storm.total_ms, storm.succeeded, storm.token_requests
            ),
        ),
        (
            "hot swap: upload until serving, compiled now (median / p99)".into(),
            format!(
                "{:.0} ms / {:.0} ms",
                hot_swap.upload_compiled.median_us / 1000.0,
                hot_swap.upload_compiled.p99_us / 1000.0
            ),
        ),
        (
            "hot swap: upload until serving, from cache (median / p99)".into(),
            format!(
                "{:.1} ms / {:.1} ms",
                hot_swap.upload_cached.median_us / 1000.0,
                hot_swap.upload_cached.p99_us / 1000.0
            ),
        ),
        (
            format!(
                "hot swap: list c={} steady (median / p99, req/s)",
                hot_swap.steady.concurrency
            ),
            format!(
                "{:.0} us / {:.0} us, {:.0}",
                hot_swap.steady.latency.median_us,
                hot_swap.steady.latency.p99_us,
                hot_swap.steady.requests_per_second
            ),
        ),
        (
            format!(
                "hot swap: list c={} during {} swaps (median / p99, req/s, errors)",
                hot_swap.during_swaps.concurrency, hot_swap.swaps
            ),
            format!(
                "{:.0} us / {:.0} us, {:.0}, {}",
                hot_swap.during_swaps.latency.median_us,
                hot_swap.during_swaps.latency.p99_us,
                hot_swap.during_swaps.requests_per_second,
                hot_swap.during_swaps.errors
            ),
        ),
        (
            format!("sync: full pass of {} items (changes/s)", syncs.items),
            format!(
                "{:.0} ms, {:.0} changes/s",
                syncs.full_pass_ms, syncs.full_pass_changes_per_second
            ),
        ),
        (
            format!(
                "sync: incremental pass, {} of {} items updated (items/s)",
                syncs.updates, syncs.items
            ),
            format!(
                "{:.0} ms, {:.0} items/s",
                syncs.incremental_pass_ms, syncs.incremental_items_per_second
            ),
        ),
        (
            "changes feed: read back (events/s)".into(),
            format!("{:.0} events/s", syncs.feed_read_events_per_second),
        ),
        (
            format!(
                "webhooks: {} signed deliveries to {} receivers (deliveries/s)",
                syncs.deliveries, ENDPOINTS_IN_BENCH
            ),
            format!("{:.0} deliveries/s", syncs.deliveries_per_second),
        ),
        (
            "memory: host RSS idle".into(),
            format!("{:.1} MiB", memory.idle_rss_mib),
        ),
        (
            "memory: host RSS peak at 256 concurrent".into(),
            format!(
                "{:.1} MiB ({:.0} req/s, {} errors)",
                memory.peak_rss_mib_at_256, memory.requests_per_second_at_256, memory.errors_at_256
            ),
        ),
    ]);
    for case in &telemetry.cases {
        rows.push((
            format!(
                "telemetry: {} c={}: p50 and req/s, traced at 100% / 1% over off",
                case.name, case.concurrency
            ),
            format!(
                "{:.2}x {:.2}x / {:.2}x {:.2}x ({:.0} us, {:.0} req/s off)",
                case.all_over_off_latency,
                case.all_over_off_throughput,
                case.one_percent_over_off_latency,
                case.one_percent_over_off_throughput,
                case.off.latency.median_us,
                case.off.requests_per_second
            ),
        ));
    }

    rows.extend([
        (
            format!("tool search: index {} tools", tool_search.tools),
            format!("{:.1} ms", tool_search.build_ms),
        ),
        (
            "tool search: one query, top 8 (median / p99)".into(),
            format!(
                "{:.0} us / {:.0} us ({}/100 queries find their tool in the top 3)",
                tool_search.query.median_us, tool_search.query.p99_us, tool_search.top3
            ),
        ),
    ]);

    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    println!("| {:width$} | result |", "scenario");
    println!("|{}|--------|", "-".repeat(width + 2));
    for (scenario, result) in &rows {
        println!("| {scenario:width$} | {result} |");
    }

    let results = json!({
        "machine": machine(),
        "commit": command_output("git", &["rev-parse", "--short", "HEAD"]),
        "profile": "release",
        "sandbox": sandbox,
        "call_path": call_path,
        "cold_start": cold_start,
        "store": store,
        "refresh_storm": storm,
        "memory": memory,
        "hot_swap": hot_swap,
        "syncs": syncs,
        "telemetry": telemetry,
        "tool_search": tool_search,
    });
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&results)?)?;
    eprintln!("bench: wrote {}", args.out.display());
    Ok(())
}

fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    let memory_kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0);
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory_gib": memory_kb as f64 / 1024.0 / 1024.0,
        "os": std::env::consts::OS,
    })
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
