//! Real host processes on one PostgreSQL database, under crashes and pauses: many syncs shared
//! by two hosts never run twice at once and lose nothing; a host killed mid-page or paused past
//! its lease hands the sync over without a lost or repeated change, and the paused host's late
//! commit is refused by the lease's epoch.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use connector_tests::fakes::SyncVendor;
use connector_tests::harness::{
    self, HostProcess, PROCESS_ADMIN_TOKEN, ProcessApi, TEST_MASTER_KEY, TestDatabase,
};
use reqwest::Method;
use serde_json::json;

/// A data dir with the probe plugin, for one host process.
fn host_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let data = tempfile::tempdir().unwrap();
    let plugins = data.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(harness::plugin_path("probe"), plugins.join("probe.wasm")).unwrap();
    (data, plugins)
}

/// Starts a host process on `database` with short leases and a fast scheduler tick.
async fn start_host(
    database: &TestDatabase,
    dir: &(tempfile::TempDir, std::path::PathBuf),
) -> HostProcess {
    let env = [
        ("CONNECTOR_HOST_ADMIN_TOKEN", PROCESS_ADMIN_TOKEN),
        ("CONNECTOR_HOST_STORE__URL", database.url.as_str()),
        ("CONNECTOR_HOST_STORE__TLS", "disable"),
        ("CONNECTOR_HOST_MASTER_KEY", TEST_MASTER_KEY),
        ("CONNECTOR_HOST_SYNCS__TICK_MS", "50"),
        ("CONNECTOR_HOST_SYNCS__LEASE_SECS", "2"),
        ("CONNECTOR_HOST_SYNCS__MAX_CONCURRENT_RUNS", "4"),
    ];
    HostProcess::start(dir.0.path(), &dir.1, &env).await
}

/// Creates a probe connection to `vendor` (its own token) with a sync of its box; answers
/// (connection, sync).
async fn connection_with_sync(
    api: &ProcessApi,
    key: &str,
    vendor: &SyncVendor,
    token: &str,
) -> (String, String) {
    let (status, body) = api.create(key, &vendor.origin(), token).await.unwrap();
    assert_eq!(status, 201, "{body}");
    let connection = body["data"]["id"].as_str().unwrap().to_owned();
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/v1/connections/{connection}/syncs"),
            key,
            Some(json!({"container": "box"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    (connection, body["data"]["id"].as_str().unwrap().to_owned())
}

/// Waits until the sync's last run succeeded.
async fn succeeded(api: &ProcessApi, key: &str, connection: &str, sync: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (_, body) = api
            .call(
                Method::GET,
                &format!("/api/v1/connections/{connection}/syncs/{sync}"),
                key,
                None,
            )
            .await
            .unwrap();
        if body["data"]["last_run"]["status"] == "succeeded" {
            return;
        }
        assert!(Instant::now() < deadline, "the sync did not finish: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every item id in a connection's changes feed, in feed order.
async fn feed(api: &ProcessApi, key: &str, connection: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/connections/{connection}/changes?limit=1000");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let (status, body) = api.call(Method::GET, &path, key, None).await.unwrap();
        assert_eq!(status, 200, "{body}");
        for entry in body["data"]["entries"].as_array().unwrap() {
            assert_eq!(entry["kind"], "created", "{entry}");
            items.push(entry["item_id"].as_str().unwrap().to_owned());
        }
        cursor = Some(body["data"]["next_cursor"].as_str().unwrap().to_owned());
        if body["data"]["has_more"] != true {
            return items;
        }
    }
}

/// Asserts the feed holds each of the vendor's items exactly once.
fn exactly_once(items: &[String], vendor: &SyncVendor) {
    let unique: BTreeSet<&String> = items.iter().collect();
    assert_eq!(unique.len(), items.len(), "no change repeated");
    assert_eq!(
        unique.into_iter().cloned().collect::<Vec<_>>(),
        vendor.ids(),
        "no change lost"
    );
}

/// Per sync, the holder of each lease epoch seen.
type LeaseAudit = BTreeMap<String, BTreeMap<i64, String>>;

/// Polls the lease table until stopped; answers, per sync, the holder of each epoch seen,
/// failing at once if one epoch ever had two holders or an epoch went back.
fn audit_leases(
    url: String,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<LeaseAudit>,
) {
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let (client, driver) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("database");
        tokio::spawn(driver);
        let mut seen = LeaseAudit::new();
        loop {
            if stopped.try_recv().is_ok() {
                return seen;
            }
            for row in client
                .query(
                    "SELECT tenant, connection, sync, holder, epoch FROM leases",
                    &[],
                )
                .await
                .expect("leases")
            {
                let sync = format!(
                    "{}/{}/{}",
                    row.get::<_, String>(0),
                    row.get::<_, String>(1),
                    row.get::<_, String>(2)
                );
                let (holder, epoch): (String, i64) = (row.get(3), row.get(4));
                let epochs = seen.entry(sync.clone()).or_default();
                if let Some((last, _)) = epochs.last_key_value() {
                    assert!(
                        epoch >= *last,
                        "{sync}: epoch went back from {last} to {epoch}"
                    );
                }
                let first = epochs.entry(epoch).or_insert_with(|| holder.clone());
                assert_eq!(*first, holder, "{sync}: epoch {epoch} had two holders");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    });
    (stop, task)
}

/// 20 syncs over a 10,000-item container, two hosts: never two runners of one sync (the
/// vendor never sees two listings of one connection at once; no lease epoch had two
/// holders), both hosts run syncs, and every feed holds the vendor's 10,000 items once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_syncs_on_two_hosts_run_once_each_and_lose_nothing() {
    connector_host::install_crypto_provider();
    let database = TestDatabase::create().await;
    let vendor = SyncVendor::start(10_000, true).await;
    let (dir_a, dir_b) = (host_dir(), host_dir());
    let host_a = start_host(&database, &dir_a).await;
    let host_b = start_host(&database, &dir_b).await;
    let (api_a, api_b) = (ProcessApi::of(&host_a), ProcessApi::of(&host_b));
    let key = api_a.tenant_key("bulk").await;
    let (stop_audit, audit) = audit_leases(database.url.clone());

    let started = Instant::now();
    let mut syncs = Vec::new();
    for n in 0..20 {
        let api = if n % 2 == 0 { &api_a } else { &api_b };
        syncs.push(connection_with_sync(api, &key, &vendor, &format!("token-{n}")).await);
    }
    for (connection, sync) in &syncs {
        succeeded(&api_a, &key, connection, sync, Duration::from_secs(600)).await;
    }
    let took = started.elapsed();
    let _ = stop_audit.send(());
    let epochs = audit.await.expect("lease audit");

    for (n, (connection, _)) in syncs.iter().enumerate() {
        let api = if n % 2 == 0 { &api_b } else { &api_a };
        exactly_once(&feed(api, &key, connection).await, &vendor);
    }
    assert_eq!(
        vendor.peak_in_flight_per_credential(),
        1,
        "one sync's listings never overlapped"
    );
    let holders: BTreeSet<&String> = epochs.values().flat_map(|e| e.values()).collect();
    assert_eq!(holders.len(), 2, "both hosts ran syncs: {epochs:?}");
    let tenures: usize = epochs.values().map(BTreeMap::len).sum();
    eprintln!(
        "20 syncs x 10,000 items on 2 hosts: {took:?}, {} listings, {tenures} lease tenures",
        vendor.listings()
    );
}

/// Host A is killed (SIGKILL) after the vendor answered a page and before A committed it:
/// host B takes the sync over once A's lease lapses, and the feed holds every item once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_host_killed_mid_page_hands_its_sync_over_with_nothing_lost_or_repeated() {
    connector_host::install_crypto_provider();
    let database = TestDatabase::create().await;
    let vendor = SyncVendor::start(800, true).await;
    let (dir_a, dir_b) = (host_dir(), host_dir());
    let mut host_a = start_host(&database, &dir_a).await;
    let api_a = ProcessApi::of(&host_a);
    let key = api_a.tenant_key("crash").await;
    let gate = vendor.hold_listing(3);
    let (connection, sync) = connection_with_sync(&api_a, &key, &vendor, "token").await;
    tokio::time::timeout(Duration::from_secs(30), gate.reached())
        .await
        .expect("A lists the third page");
    host_a.kill();
    gate.release();

    let host_b = start_host(&database, &dir_b).await;
    let api_b = ProcessApi::of(&host_b);
    succeeded(&api_b, &key, &connection, &sync, Duration::from_secs(60)).await;
    exactly_once(&feed(&api_b, &key, &connection).await, &vendor);
}

/// Host A is paused (SIGSTOP) with a page's answer on its way, past its lease; host B takes the
/// sync over and finishes it; A, resumed (SIGCONT), reads the answer and tries to commit the
/// page: the lease's epoch refuses it, and the feed holds every item once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paused_hosts_late_commit_is_refused_by_the_lease_epoch() {
    connector_host::install_crypto_provider();
    let database = TestDatabase::create().await;
    let vendor = SyncVendor::start(800, true).await;
    let (dir_a, dir_b) = (host_dir(), host_dir());
    let host_a = start_host(&database, &dir_a).await;
    let api_a = ProcessApi::of(&host_a);
    let key = api_a.tenant_key("pause").await;
    let gate = vendor.hold_listing(3);
    let (connection, sync) = connection_with_sync(&api_a, &key, &vendor, "token").await;
    tokio::time::timeout(Duration::from_secs(30), gate.reached())
        .await
        .expect("A lists the third page");
    let pid = host_a.child.id().to_string();
    let signal = |name: &str| {
        let status = std::process::Command::new("kill")
            .args([name, &pid])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {name}");
    };
    signal("-STOP");
    gate.release();

    let host_b = start_host(&database, &dir_b).await;
    let api_b = ProcessApi::of(&host_b);
    succeeded(&api_b, &key, &connection, &sync, Duration::from_secs(60)).await;
    let before = feed(&api_b, &key, &connection).await;
    exactly_once(&before, &vendor);

    signal("-CONT");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !host_a
        .log_text()
        .contains("sync run stopped: its lease passed to another runner")
    {
        assert!(
            Instant::now() < deadline,
            "A never tried its late commit:\n{}",
            host_a.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = feed(&api_b, &key, &connection).await;
    assert_eq!(after, before, "A's late page wrote nothing");
}
