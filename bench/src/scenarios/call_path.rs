//! The same listing several ways in one run: straight to a loopback vendor, through one nginx
//! reverse-proxy hop, through the host (REST → WASM connector → vendor), and, for the Jira
//! pages, through a plain Node service and a plain native Rust service doing the same request
//! and mapping without the host's tenants, sealed credentials, egress policy or sandbox. The
//! pages are the size and shape of real ones (`connector_tests::fakes::realistic`): Jira issues
//! with ADF descriptions, Jira projects, Confluence pages; and the probe's small page. The Jira
//! issues page is also measured through a Jira-shaped declarative manifest
//! (`plugins/fixtures/manifests/jira-manifest.yaml`) on the same host, against the Rust
//! connector.

use std::time::Duration;

use connector_tests::fakes::ProbeVendor;
use connector_tests::fakes::realistic::{self, RealisticVendor};
use serde::Serialize;
use serde_json::json;

use crate::host_process::BenchHost;
use crate::load::{self, LoadResult, Rounds};
use crate::native_service::NativeService;
use crate::nginx::{self, NginxHop};
use crate::node_service::{self, NodeService};
use crate::stats;

#[derive(Debug, Serialize)]
pub struct CallPathResult {
    /// Whether the nginx hop was measured (Debian's `nginx` installed).
    pub nginx: bool,
    /// Node's version, when the Node way was measured (`node` installed).
    pub node: Option<String>,
    pub cases: Vec<CaseResult>,
}

/// One page, measured three ways at each concurrency.
#[derive(Debug, Serialize)]
pub struct CaseResult {
    pub name: &'static str,
    /// Size of the vendor's page.
    pub vendor_bytes: usize,
    /// Size of the host's answer for the same page.
    pub host_bytes: usize,
    pub runs: Vec<ConcurrencyResult>,
}

#[derive(Debug, Serialize)]
pub struct ConcurrencyResult {
    pub concurrency: usize,
    pub direct: LoadResult,
    pub nginx_hop: Option<LoadResult>,
    pub through_host: LoadResult,
    /// Median through the host minus median direct.
    pub host_added_us: f64,
    /// Median through nginx minus median direct.
    pub nginx_added_us: Option<f64>,
    /// The same page through a second host whose store is PostgreSQL (the issues page only;
    /// `None` when PostgreSQL is not installed), measured in the same rounds.
    pub through_host_on_postgres: Option<LoadResult>,
    /// Median through the PostgreSQL host minus median direct.
    pub postgres_host_added_us: Option<f64>,
    /// Median latency through the PostgreSQL host over through the sled one.
    pub postgres_over_sled_latency: Option<f64>,
    /// Requests per second through the PostgreSQL host over through the sled one.
    pub postgres_over_sled_throughput: Option<f64>,
    /// What the host adds divided by what the nginx hop adds.
    pub host_over_nginx_added: Option<f64>,
    /// Requests per second through the host divided by through nginx: the median of the
    /// rounds' ratios (each round measures nginx, then the host, back to back).
    pub host_over_nginx_throughput: Option<f64>,
    /// The same page through the plain Node service (Jira pages, `node` installed).
    pub node: Option<Way>,
    /// The same page through the plain native Rust service (Jira pages).
    pub native: Option<Way>,
    /// The same page through the Jira-shaped manifest on the same host (the issues page).
    pub declarative: Option<DeclarativeWay>,
}

/// The page through a declarative manifest, run by the interpreter, against the Rust connector
/// on the same host, measured in the same rounds.
#[derive(Debug, Serialize)]
pub struct DeclarativeWay {
    pub load: LoadResult,
    /// Its median minus the direct median.
    pub added_us: f64,
    /// What the manifest adds over what the Rust connector adds (p50): the issue's target is
    /// at most 1.5.
    pub over_rust_added: f64,
    /// Its req/s over the Rust connector's: the median of the rounds' ratios.
    pub over_rust_throughput: f64,
}

/// One of the ways compared with the host, measured in the same rounds.
#[derive(Debug, Serialize)]
pub struct Way {
    pub load: LoadResult,
    /// Its median minus the direct median.
    pub added_us: f64,
    /// What the host adds over what this way adds (p50): below 1, the host adds less.
    pub host_over_way_added: f64,
    /// The host's req/s over this way's: the median of the rounds' ratios.
    pub host_over_way_throughput: f64,
}

/// Rounds each way is measured in, taking turns (see `run`).
const ROUNDS: u32 = 3;

struct Case {
    name: &'static str,
    /// Path and query on the vendor (as the connector asks for it).
    vendor_path: String,
    /// The vendor: 0 the realistic one, 1 the probe's.
    vendor: usize,
    vendor_token: &'static str,
    host_path: String,
    /// The same page on the PostgreSQL host, for the case measured on both stores.
    postgres_path: Option<String>,
    /// The same page on the Node and native services (path and query), for the Jira pages.
    service_path: Option<&'static str>,
    /// The same page through the Jira-shaped manifest, on the same host.
    declarative_path: Option<String>,
}

pub async fn run(
    duration: Duration,
    perf_map: bool,
    only: Option<&str>,
) -> anyhow::Result<CallPathResult> {
    let vendor = RealisticVendor::start().await;
    let probe = ProbeVendor::start().await;
    let nginx = match nginx::binary() {
        Some(binary) => Some(
            NginxHop::start(
                &binary,
                &[
                    vendor.server.addr.to_string(),
                    probe.origin().trim_start_matches("http://").to_owned(),
                ],
            )
            .await?,
        ),
        None => {
            eprintln!(
                "bench: nginx is not installed (apt-get install nginx); the nginx hop is skipped"
            );
            None
        }
    };
    // The host runs as its own process, as deployed: in-process, its guests shared the bench's
    // two tokio workers with the load generator and the vendors, and were measured waiting for
    // them.
    let profiler = if perf_map { "perfmap" } else { "none" };
    let host = BenchHost::start("bench", &[("CONNECTOR_HOST_WASM_PROFILER", profiler)]).await?;
    eprintln!(
        "bench: call path: host pid {} (for perf record -p)",
        host.pid()
    );
    let key = host.key.clone();
    let basic =
        || json!({"type": "basic", "username": "bench@example.com", "password": "bench-token"});
    let site = || json!({"site_url": vendor.origin()});
    let jira = host.connect("jira", site(), basic()).await?;
    let jira_manifest = host.connect("jira-manifest", site(), basic()).await?;
    // A second host, on PostgreSQL, for the store's share of the call path.
    let on_postgres = match crate::postgres::BenchDatabase::start().await {
        Some(database) => {
            let env = database.host_env();
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let host = BenchHost::start("bench", &env).await?;
            let jira = host.connect("jira", site(), basic()).await?;
            Some((host, jira, database))
        }
        None => {
            eprintln!(
                "bench: PostgreSQL is not installed (cargo xtask test installs it); the call \
                 path on PostgreSQL is skipped"
            );
            None
        }
    };
    let confluence = host.connect("confluence", site(), basic()).await?;
    // The services a team would write instead of running the host, each its own process(es).
    let node_version = node_service::version();
    let node = match &node_version {
        Some(_) => Some(NodeService::start(&vendor.origin()).await?),
        None => {
            eprintln!("bench: node is not installed; the plain Node service is skipped");
            None
        }
    };
    let native = NativeService::start(&vendor.origin()).await?;
    let probe_id = host.connect_probe(&probe.origin(), "bench-token").await?;

    let cases = [
        Case {
            name: "jira issues page (50 issues, ADF bodies)",
            vendor_path: format!(
                "{}?jql=project%20%3D%20%22OPS%22%20ORDER%20BY%20updated%20DESC&maxResults=50",
                realistic::ISSUES_PATH
            ),
            vendor: 0,
            vendor_token: "",
            host_path: format!("/api/v1/connections/{jira}/containers/OPS/items?limit=50"),
            postgres_path: on_postgres.as_ref().map(|(_, jira, _)| {
                format!("/api/v1/connections/{jira}/containers/OPS/items?limit=50")
            }),
            service_path: Some("/issues?limit=50"),
            declarative_path: Some(format!(
                "/api/v1/connections/{jira_manifest}/containers/OPS/items?limit=50"
            )),
        },
        Case {
            name: "jira projects page (50 projects)",
            vendor_path: format!("{}?startAt=0&maxResults=50", realistic::PROJECTS_PATH),
            vendor: 0,
            vendor_token: "",
            host_path: format!("/api/v1/connections/{jira}/containers?limit=50"),
            postgres_path: None,
            service_path: Some("/projects?limit=50"),
            declarative_path: None,
        },
        Case {
            name: "confluence pages page (50 pages)",
            vendor_path: format!("{}?limit=50", realistic::confluence_pages_path()),
            vendor: 0,
            vendor_token: "",
            host_path: format!(
                "/api/v1/connections/{confluence}/containers/{}/items?limit=50",
                realistic::SPACE_ID
            ),
            postgres_path: None,
            service_path: None,
            declarative_path: None,
        },
        Case {
            name: "probe page (5 containers)",
            vendor_path: "/containers?offset=0&limit=5".into(),
            vendor: 1,
            vendor_token: "bench-token",
            host_path: format!("/api/v1/connections/{probe_id}/containers?limit=5"),
            postgres_path: None,
            service_path: None,
            declarative_path: None,
        },
    ];

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let origins = [vendor.origin(), probe.origin()];
    let mut results = Vec::new();
    for case in cases
        .iter()
        .filter(|case| only.is_none_or(|only| case.name.contains(only)))
    {
        eprintln!("bench: call path: {}", case.name);
        let direct_url = format!("{}{}", origins[case.vendor], case.vendor_path);
        let nginx_url = nginx
            .as_ref()
            .map(|hop| format!("{}{}", hop.origins[case.vendor], case.vendor_path));
        let host_url = format!("{}{}", host.base(), case.host_path);
        let token = (!case.vendor_token.is_empty()).then_some(case.vendor_token);
        let postgres_url = case.postgres_path.as_ref().and_then(|path| {
            on_postgres
                .as_ref()
                .map(|(host, _, _)| format!("{}{path}", host.base()))
        });
        let postgres_key = on_postgres
            .as_ref()
            .map(|(host, _, _)| host.key.clone())
            .unwrap_or_default();
        let vendor_bytes = body_size(&client, &direct_url, token).await?;
        let host_bytes = body_size(&client, &host_url, Some(&key)).await?;
        let node_url = case
            .service_path
            .zip(node.as_ref())
            .map(|(path, node)| format!("{}{path}", node.origin));
        let native_url = case
            .service_path
            .map(|path| format!("{}{path}", native.origin));
        let declarative_url = case
            .declarative_path
            .as_ref()
            .map(|path| format!("{}{path}", host.base()));
        // The other ways must do the same job: their entries equal the host's, value for value.
        let host_entries = entries(&client, &host_url, Some(&key)).await?;
        for url in node_url.iter().chain(&native_url) {
            let theirs = entries(&client, url, None).await?;
            anyhow::ensure!(
                theirs == host_entries,
                "{url} answered other entries than the host:\n{}\nthe host:\n{}",
                theirs,
                host_entries
            );
        }
        // The manifest answers the same issues (an e2e test compares them entry for entry).
        if let Some(url) = &declarative_url {
            let theirs = entries(&client, url, Some(&key)).await?;
            anyhow::ensure!(
                theirs.as_array().map(Vec::len) == host_entries.as_array().map(Vec::len),
                "{url} answered {} entries, the Rust connector {}",
                theirs,
                host_entries
            );
        }
        let mut runs = Vec::new();
        for concurrency in [1, 32] {
            let warm_up = Duration::from_millis(300);
            load::run(&client, &host_url, Some(&key), concurrency, warm_up).await;
            if let Some(url) = &postgres_url {
                load::run(&client, url, Some(&postgres_key), concurrency, warm_up).await;
            }
            for url in nginx_url.iter().chain(&node_url).chain(&native_url) {
                load::run(&client, url, token, concurrency, warm_up).await;
            }
            if let Some(url) = &declarative_url {
                load::run(&client, url, Some(&key), concurrency, warm_up).await;
            }
            // The three ways take turns in short rounds: this shared 2-core VM has slow spells
            // of several seconds, which otherwise fell on one way and skewed the comparison.
            let round = duration / ROUNDS;
            let mut direct = Rounds::new(concurrency);
            let mut nginx_hop = nginx_url
                .as_deref()
                .map(|url| (url, Rounds::new(concurrency)));
            let mut through_host = Rounds::new(concurrency);
            let mut on_postgres_rounds = postgres_url
                .as_deref()
                .map(|url| (url, Rounds::new(concurrency)));
            let mut throughput_ratios = Vec::new();
            // (is it the native one, URL, its rounds, the host's req/s over its, per round)
            let mut services: Vec<(bool, &str, Rounds, Vec<f64>)> = node_url
                .iter()
                .map(|url| (false, url))
                .chain(native_url.iter().map(|url| (true, url)))
                .map(|(native, url)| (native, url.as_str(), Rounds::new(concurrency), Vec::new()))
                .collect();
            // (URL, its rounds, its req/s over the Rust connector's, per round)
            let mut declarative = declarative_url
                .as_deref()
                .map(|url| (url, Rounds::new(concurrency), Vec::new()));
            for number in 1..=ROUNDS {
                // One line per way as it starts, so a profiler attached to the host's pid
                // knows when the host is the one under load (a third of each round).
                let progress = |way: &str| {
                    eprintln!(
                        "bench: call path: round {number}/{ROUNDS}: {way} at c={concurrency}"
                    );
                };
                progress("direct");
                direct.push(load::sample(&client, &direct_url, token, concurrency, round).await);
                let mut hop_rate = None;
                if let Some((url, hop)) = &mut nginx_hop {
                    progress("through nginx");
                    let sample = load::sample(&client, url, token, concurrency, round).await;
                    hop_rate = Some(sample.requests_per_second());
                    hop.push(sample);
                }
                progress("through the host");
                let host = load::sample(&client, &host_url, Some(&key), concurrency, round).await;
                if let Some(hop_rate) = hop_rate {
                    throughput_ratios.push(host.requests_per_second() / hop_rate.max(1e-9));
                }
                let host_rate = host.requests_per_second();
                through_host.push(host);
                for (is_native, url, rounds, ratios) in &mut services {
                    progress(if *is_native {
                        "through the native service"
                    } else {
                        "through the Node service"
                    });
                    let sample = load::sample(&client, url, None, concurrency, round).await;
                    ratios.push(host_rate / sample.requests_per_second().max(1e-9));
                    rounds.push(sample);
                }
                if let Some((url, rounds, ratios)) = &mut declarative {
                    progress("through the host's Jira-shaped manifest");
                    let sample = load::sample(&client, url, Some(&key), concurrency, round).await;
                    ratios.push(sample.requests_per_second() / host_rate.max(1e-9));
                    rounds.push(sample);
                }
                if let Some((url, rounds)) = &mut on_postgres_rounds {
                    progress("through the host on PostgreSQL");
                    rounds.push(
                        load::sample(&client, url, Some(&postgres_key), concurrency, round).await,
                    );
                }
            }
            let (direct, through_host) = (direct.result(), through_host.result());
            let through_host_on_postgres = on_postgres_rounds.map(|(_, rounds)| rounds.result());
            let postgres_host_added_us = through_host_on_postgres
                .as_ref()
                .map(|pg| pg.latency.median_us - direct.latency.median_us);
            let postgres_over_sled_latency = through_host_on_postgres
                .as_ref()
                .map(|pg| pg.latency.median_us / through_host.latency.median_us.max(1e-9));
            let postgres_over_sled_throughput = through_host_on_postgres
                .as_ref()
                .map(|pg| pg.requests_per_second / through_host.requests_per_second.max(1e-9));
            let nginx_hop = nginx_hop.map(|(_, hop)| hop.result());
            let host_added_us = through_host.latency.median_us - direct.latency.median_us;
            let nginx_added_us = nginx_hop
                .as_ref()
                .map(|hop| hop.latency.median_us - direct.latency.median_us);
            let (mut node_way, mut native_way) = (None, None);
            for (is_native, _, rounds, mut ratios) in services {
                let load = rounds.result();
                let added_us = load.latency.median_us - direct.latency.median_us;
                let way = Some(Way {
                    host_over_way_added: host_added_us / added_us.max(1.0),
                    host_over_way_throughput: stats::median(&mut ratios),
                    added_us,
                    load,
                });
                if is_native {
                    native_way = way;
                } else {
                    node_way = way;
                }
            }
            let declarative = declarative.map(|(_, rounds, mut ratios)| {
                let load = rounds.result();
                let added_us = load.latency.median_us - direct.latency.median_us;
                DeclarativeWay {
                    over_rust_added: added_us / host_added_us.max(1.0),
                    over_rust_throughput: stats::median(&mut ratios),
                    added_us,
                    load,
                }
            });
            runs.push(ConcurrencyResult {
                concurrency,
                host_added_us,
                host_over_nginx_added: nginx_added_us.map(|added| host_added_us / added.max(1.0)),
                host_over_nginx_throughput: nginx_hop
                    .is_some()
                    .then(|| stats::median(&mut throughput_ratios)),
                nginx_added_us,
                through_host_on_postgres,
                postgres_host_added_us,
                postgres_over_sled_latency,
                postgres_over_sled_throughput,
                direct,
                nginx_hop,
                through_host,
                node: node_way,
                native: native_way,
                declarative,
            });
        }
        results.push(CaseResult {
            name: case.name,
            vendor_bytes,
            host_bytes,
            runs,
        });
    }
    Ok(CallPathResult {
        nginx: nginx.is_some(),
        node: node_version,
        cases: results,
    })
}

/// The body size of one successful GET of `url`.
async fn body_size(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
) -> anyhow::Result<usize> {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    anyhow::ensure!(
        status.is_success(),
        "{url}: {status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(body.len())
}

/// The `data.entries` of one successful GET of `url`.
async fn entries(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let mut body: serde_json::Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "{url}: {status}: {body}");
    Ok(body["data"]["entries"].take())
}
