//! Sync jobs and the changes feed against a vendor whose data changes between runs: creates,
//! updates and deletes are found once each (tombstones and full passes), a vendor 429 pauses a
//! sync for its `Retry-After` while API calls go on, runs are recorded, and the feed is
//! tenant-scoped, resumable and expires past its retention.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use connector_host::config::HostConfig;
use connector_tests::fakes::{SYNC_CONTAINER, SyncVendor, WebhookReceiver};
use connector_tests::harness::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

/// Syncs that may run every second, a fast scheduler and dispatcher, loopback receivers.
pub fn sync_config(config: &mut HostConfig) {
    config.syncs.min_interval = std::time::Duration::from_secs(1);
    config.syncs.tick = std::time::Duration::from_millis(50);
    config.webhooks.allow_private_endpoints = true;
    config.webhooks.tick = std::time::Duration::from_millis(50);
    config.webhooks.retry_initial = std::time::Duration::from_millis(200);
}

pub struct SyncSetup {
    pub server: TestServer,
    pub key: String,
    pub connection: String,
}

impl SyncSetup {
    pub async fn start(vendor: &SyncVendor, adjust: impl FnOnce(&mut HostConfig)) -> Self {
        let server = TestServer::start_with(|config| {
            sync_config(config);
            adjust(config);
        })
        .await;
        let key = server.tenant("acme").await;
        let connection = server
            .probe_connection(&key, &vendor.origin(), "sync-token")
            .await;
        Self {
            server,
            key,
            connection,
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.server.send(method, path, Some(&self.key), body).await
    }

    pub fn syncs(&self) -> String {
        format!("/api/v1/connections/{}/syncs", self.connection)
    }

    /// Creates a sync of the vendor's container; returns its id.
    pub async fn create_sync(&self, extra: Value) -> String {
        let mut body = json!({"container": SYNC_CONTAINER});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let (status, created) = self.send(Method::POST, &self.syncs(), Some(body)).await;
        assert_eq!(status, 201, "{created}");
        created["data"]["id"].as_str().unwrap().to_owned()
    }

    /// Waits for a run of `sync` other than `after` to end; returns the sync's last run.
    pub async fn next_run(&self, sync: &str, after: Option<&str>) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = self
                .send(Method::GET, &format!("{}/{sync}", self.syncs()), None)
                .await;
            assert_eq!(status, 200, "{body}");
            let run = &body["data"]["last_run"];
            // A run is recorded as `running` when it starts: wait for it to end, so its
            // counts are final (a pass's deletions are committed last).
            let ended = run["status"].as_str().is_some_and(|s| s != "running");
            if run.is_object() && run["id"].as_str() != after && ended {
                return run.clone();
            }
            assert!(Instant::now() < deadline, "no run ended: {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts a run now and waits for it to end.
    pub async fn run_again(&self, sync: &str, after: &Value) -> Value {
        let (status, body) = self
            .send(Method::POST, &format!("{}/{sync}/run", self.syncs()), None)
            .await;
        assert_eq!(status, 202, "{body}");
        self.next_run(sync, after["id"].as_str()).await
    }

    /// Every event of the connection's feed, following the cursor, `limit` per page.
    pub async fn feed(&self, limit: u32) -> Vec<Value> {
        let mut events = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!(
                "/api/v1/connections/{}/changes?limit={limit}",
                self.connection
            );
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let (status, body) = self.send(Method::GET, &path, None).await;
            assert_eq!(status, 200, "{body}");
            let page = &body["data"];
            events.extend(page["entries"].as_array().unwrap().iter().cloned());
            cursor = page["next_cursor"].as_str().map(str::to_owned);
            if page["has_more"] != true {
                return events;
            }
        }
    }
}

/// `kind` -> item ids, in feed order.
fn by_kind(events: &[Value]) -> BTreeMap<String, Vec<String>> {
    let mut kinds: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in events {
        kinds
            .entry(event["kind"].as_str().unwrap().to_owned())
            .or_default()
            .push(event["item_id"].as_str().unwrap().to_owned());
    }
    kinds
}

fn counts(run: &Value) -> (u64, u64, u64) {
    let c = &run["counts"];
    (
        c["created"].as_u64().unwrap(),
        c["updated"].as_u64().unwrap(),
        c["deleted"].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_updates_and_deletes_appear_once_in_the_feed_and_as_records_changed() {
    let vendor = SyncVendor::start(12, true).await;
    let receiver = WebhookReceiver::start(&[], 200).await;
    let setup = SyncSetup::start(&vendor, |_| {}).await;
    let (status, endpoint) = setup
        .send(
            Method::POST,
            "/api/v1/webhook-endpoints",
            Some(json!({"url": receiver.url(), "events": ["records.changed", "sync.completed"]})),
        )
        .await;
    assert_eq!(status, 201, "{endpoint}");
    let secret = endpoint["data"]["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));

    let sync = setup.create_sync(json!({"interval_secs": 3600})).await;
    let first = setup.next_run(&sync, None).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(first["full_pass"], true, "the first pass lists everything");
    assert_eq!(counts(&first), (12, 0, 0));
    let feed = setup.feed(5).await;
    assert_eq!(by_kind(&feed)["created"], vendor.ids());
    assert_eq!(feed[0]["object"], "item");
    assert_eq!(feed[0]["container_id"], SYNC_CONTAINER);
    assert_eq!(feed[0]["item"]["title"], "Item 1");
    assert_eq!(feed[0]["sync_id"], sync.as_str());

    vendor.put("n00003", "Item 3, renamed");
    vendor.put("n00005", "Item 5, renamed");
    vendor.put("n00100", "A new item");
    vendor.delete("n00007");
    vendor.delete("n00008");
    let second = setup.run_again(&sync, &first).await;
    assert_eq!(second["status"], "succeeded", "{second}");
    assert_eq!(second["full_pass"], false, "then from the cursor");
    assert_eq!(counts(&second), (1, 2, 2));
    let third = setup.run_again(&sync, &second).await;
    assert_eq!(
        counts(&third),
        (0, 0, 0),
        "items listed again from the overlap are recognised unchanged"
    );
    assert!(third["counts"]["unchanged"].as_u64().unwrap() > 0);

    let feed = setup.feed(4).await;
    assert_eq!(feed.len(), 17, "12 + 5 changes, none twice");
    let kinds = by_kind(&feed[12..]);
    assert_eq!(kinds["created"], ["n00100"]);
    assert_eq!(kinds["updated"], ["n00003", "n00005"]);
    assert_eq!(kinds["deleted"], ["n00007", "n00008"]);
    let updated = feed.iter().find(|e| e["kind"] == "updated").unwrap();
    assert_eq!(updated["item"]["title"], "Item 3, renamed");
    let ids: BTreeSet<&str> = feed.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 17, "change ids are unique");
    let mut sorted: Vec<&str> = feed.iter().map(|e| e["id"].as_str().unwrap()).collect();
    sorted.sort();
    assert_eq!(
        sorted,
        feed.iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        "the feed is in id order"
    );

    // Each change reaches the receiver once, in signed `records.changed` deliveries.
    let webhook = standardwebhooks::Webhook::new(&secret).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (changed, completed) = loop {
        let received = receiver.received();
        for delivery in &received {
            webhook
                .verify(&delivery.body, &delivery.headers)
                .unwrap_or_else(|e| panic!("signature does not verify: {e:?}"));
        }
        let of = |kind: &str| {
            received
                .iter()
                .filter(|d| d.json()["type"] == kind)
                .map(|d| d.json())
                .collect::<Vec<_>>()
        };
        let (changed, completed) = (of("records.changed"), of("sync.completed"));
        let ids: usize = changed
            .iter()
            .map(|d| d["data"]["change_ids"].as_array().unwrap().len())
            .sum();
        if (ids >= 17 && completed.len() >= 3) || Instant::now() > deadline {
            break (changed, completed);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let delivered: Vec<&str> = changed
        .iter()
        .flat_map(|d| d["data"]["change_ids"].as_array().unwrap())
        .map(|id| id.as_str().unwrap())
        .collect();
    assert_eq!(delivered.len(), 17, "each change once: {delivered:?}");
    assert_eq!(
        delivered.iter().copied().collect::<BTreeSet<_>>(),
        ids,
        "the same changes as the feed"
    );
    assert_eq!(completed.len(), 3);
    assert_eq!(completed[1]["data"]["counts"]["deleted"], 2);
    assert_eq!(
        changed[0]["data"]["connection_id"],
        setup.connection.as_str()
    );

    let (_, runs) = setup
        .send(Method::GET, &format!("{}/{sync}/runs", setup.syncs()), None)
        .await;
    let runs = runs["data"]["entries"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "three runs recorded, newest first");
    assert_eq!(runs[0]["id"], third["id"]);
    assert!(runs.iter().all(|r| r["finished_at"].is_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pass_finds_deletions_the_vendor_reports_no_tombstones_for() {
    let vendor = SyncVendor::start(5, false).await;
    let setup = SyncSetup::start(&vendor, |_| {}).await;
    let sync = setup
        .create_sync(json!({"interval_secs": 3600, "full_pass_interval_secs": 1}))
        .await;
    let first = setup.next_run(&sync, None).await;
    assert_eq!(counts(&first), (5, 0, 0));
    vendor.delete("n00002");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = setup.run_again(&sync, &first).await;
    assert_eq!(second["full_pass"], true, "{second}");
    assert_eq!(counts(&second), (0, 0, 1));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let third = setup.run_again(&sync, &second).await;
    assert_eq!(counts(&third), (0, 0, 0), "a deletion is reported once");
    let kinds = by_kind(&setup.feed(100).await);
    assert_eq!(kinds["deleted"], ["n00002"]);
    assert_eq!(kinds["created"].len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_429_pauses_the_sync_for_its_retry_after_while_api_calls_go_on() {
    // Three pages of 100; the second listing is refused for 3 s.
    let vendor = SyncVendor::start(250, true).await;
    vendor.refuse_listing(2, 3);
    let setup = SyncSetup::start(&vendor, |_| {}).await;
    let sync = setup.create_sync(json!({"interval_secs": 3600})).await;
    let limited = setup.next_run(&sync, None).await;
    let limited_at = Instant::now();
    assert_eq!(limited["status"], "rate_limited", "{limited}");
    assert_eq!(limited["error_code"], "RATE_LIMITED");
    assert_eq!(limited["retry_after_ms"], 3000);
    assert_eq!(counts(&limited), (100, 0, 0), "the first page is kept");
    let listings = vendor.listings();

    // The connection keeps serving API calls meanwhile.
    let connection = format!("/api/v1/connections/{}", setup.connection);
    let (status, body) = setup
        .send(Method::GET, &format!("{connection}/items/n00001"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = setup
        .send(Method::GET, &format!("{connection}/containers"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = setup
        .send(
            Method::GET,
            &format!("{connection}/containers/{SYNC_CONTAINER}/items?limit=3"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, sync_now) = setup
        .send(Method::GET, &format!("{}/{sync}", setup.syncs()), None)
        .await;
    assert!(sync_now["data"]["next_run_at"].is_string());

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        vendor.listings(),
        listings + 1,
        "only the client's listing reached the vendor during the wait"
    );
    let resumed = setup.next_run(&sync, limited["id"].as_str()).await;
    assert!(
        limited_at.elapsed() >= Duration::from_millis(2500),
        "the sync waited for Retry-After"
    );
    assert_eq!(resumed["status"], "succeeded", "{resumed}");
    assert_eq!(resumed["full_pass"], true, "the same pass, resumed");
    assert_eq!(
        counts(&resumed),
        (150, 0, 0),
        "from the page after the last one kept"
    );
    let feed = setup.feed(1000).await;
    let created = &by_kind(&feed)["created"];
    assert_eq!(created.len(), 250);
    assert_eq!(created.iter().collect::<BTreeSet<_>>().len(), 250);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_and_feeds_are_the_tenants_own_and_bad_input_is_refused() {
    let vendor = SyncVendor::start(3, true).await;
    let setup = SyncSetup::start(&vendor, |_| {}).await;
    let sync = setup.create_sync(json!({"paused": true})).await;
    let other = setup.server.tenant("intruder").await;
    let connection = format!("/api/v1/connections/{}", setup.connection);
    for (method, path) in [
        (Method::GET, format!("{connection}/syncs")),
        (Method::GET, format!("{connection}/syncs/{sync}")),
        (Method::POST, format!("{connection}/syncs/{sync}/run")),
        (Method::DELETE, format!("{connection}/syncs/{sync}")),
        (Method::GET, format!("{connection}/syncs/{sync}/runs")),
        (Method::GET, format!("{connection}/changes")),
    ] {
        let (status, body) = setup
            .server
            .send(method.clone(), &path, Some(&other), None)
            .await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    let (status, _) = setup
        .server
        .send(
            Method::POST,
            &format!("{connection}/syncs"),
            Some(&other),
            Some(json!({"container": "box"})),
        )
        .await;
    assert_eq!(status, 404);

    for (body, code) in [
        (json!({"container": ""}), "VALIDATION"),
        (
            json!({"container": "box2", "interval_secs": 0}),
            "VALIDATION",
        ),
        (
            json!({"container": "box2", "interval_secs": 999_999_999}),
            "VALIDATION",
        ),
        (json!({"container": "box2", "cron": "* * *"}), "VALIDATION"),
        (json!({"container": "x".repeat(5000)}), "VALIDATION"),
        (json!({"container": SYNC_CONTAINER}), "CONFLICT"),
    ] {
        let (status, answer) = setup.send(Method::POST, &setup.syncs(), Some(body)).await;
        assert_eq!(answer["error"]["code"], code, "{status} {answer}");
    }
    let (status, answer) = setup
        .send(Method::POST, &format!("{}/{sync}/run", setup.syncs()), None)
        .await;
    assert_eq!(status, 409, "a paused sync does not run: {answer}");
    let (status, _) = setup
        .send(
            Method::GET,
            &format!("{connection}/changes?cursor=garbage"),
            None,
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = setup
        .send(Method::GET, &format!("{connection}/changes?limit=0"), None)
        .await;
    assert_eq!(status, 422);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, paused) = setup
        .send(Method::GET, &format!("{}/{sync}", setup.syncs()), None)
        .await;
    assert!(
        paused["data"]["last_run"].is_null(),
        "a paused sync never ran"
    );

    // Resumed, it runs; deleted, its changes stay in the feed; the connection's deletion
    // takes the feed with it.
    let (status, _) = setup
        .send(
            Method::POST,
            &format!("{}/{sync}/resume", setup.syncs()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    setup.next_run(&sync, None).await;
    let (status, _) = setup
        .send(Method::DELETE, &format!("{}/{sync}", setup.syncs()), None)
        .await;
    assert_eq!(status, 200);
    let (_, audit) = setup
        .send(Method::GET, "/api/v1/audit?limit=500", None)
        .await;
    let actions: Vec<&str> = audit["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["target"] == sync.as_str())
        .filter_map(|event| event["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["sync.create", "sync.update", "sync.delete"],
        "created, resumed and deleted, each audited"
    );
    assert_eq!(setup.feed(10).await.len(), 3);
    let (status, _) = setup.send(Method::DELETE, &connection, None).await;
    assert_eq!(status, 200);
    let (status, _) = setup
        .send(Method::GET, &format!("{connection}/changes"), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_older_than_the_retention_window_has_expired() {
    let vendor = SyncVendor::start(4, true).await;
    let setup = SyncSetup::start(&vendor, |config| {
        config.syncs.changes_retention = std::time::Duration::from_secs(1);
    })
    .await;
    let (_, first_page) = setup
        .send(
            Method::GET,
            &format!("/api/v1/connections/{}/changes", setup.connection),
            None,
        )
        .await;
    let empty_cursor = first_page["data"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let sync = setup.create_sync(json!({"interval_secs": 3600})).await;
    setup.next_run(&sync, None).await;
    let (_, page) = setup
        .send(
            Method::GET,
            &format!("/api/v1/connections/{}/changes?limit=2", setup.connection),
            None,
        )
        .await;
    let cursor = page["data"]["next_cursor"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = setup
            .send(
                Method::GET,
                &format!(
                    "/api/v1/connections/{}/changes?cursor={cursor}",
                    setup.connection
                ),
                None,
            )
            .await;
        if status == 410 {
            assert_eq!(body["error"]["code"], "CURSOR_EXPIRED");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("without a cursor")
            );
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert!(Instant::now() < deadline, "the feed was never pruned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = setup
        .send(
            Method::GET,
            &format!(
                "/api/v1/connections/{}/changes?cursor={empty_cursor}",
                setup.connection
            ),
            None,
        )
        .await;
    assert_eq!(status, 410, "a cursor from before everything pruned");
    assert!(setup.feed(10).await.is_empty(), "pruned events are gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_mid_page_does_not_take_the_connections_only_api_slot() {
    let vendor = SyncVendor::start(3, true).await;
    vendor.set_page_delay(Duration::from_secs(3));
    let setup = SyncSetup::start(&vendor, |config| {
        config.limits.max_concurrent_calls_per_connection = Some(1);
        config.limits.max_concurrent_calls_per_tenant = Some(1);
    })
    .await;
    let connection = setup.connection.clone();
    setup.create_sync(json!({})).await;
    // Wait until the sync's listing is at the vendor (it answers in 3 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    while vendor
        .recorder
        .to_path(&format!("/containers/{SYNC_CONTAINER}/items"))
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the sync never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = setup
        .send(
            Method::GET,
            &format!("/api/v1/connections/{connection}/items/n00001"),
            None,
        )
        .await;
    assert_eq!(
        status, 200,
        "the API call got its slot while the sync ran: {body}"
    );
    assert_eq!(vendor.listings(), 0, "the sync's page was still in flight");
}

/// Issue 41 (6): one tenant's long listings do not hold every sync slot. Tenant `acme` has two
/// syncs over a slow 600-item container, enough to hold both slots for a long while; another
/// tenant's small sync runs to the end while `acme`'s passes are still under way, because
/// runs yield their slot every few pages and tenants take turns for free slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_long_syncs_do_not_hold_every_slot() {
    let busy = SyncVendor::start(600, false).await;
    busy.set_page_delay(Duration::from_millis(60));
    let small = SyncVendor::start(5, false).await;
    let setup = SyncSetup::start(&busy, |config| {
        config.syncs.max_concurrent_runs = 2;
        config.syncs.page_size = 10;
        config.syncs.max_pages_per_turn = 3;
    })
    .await;
    let second = setup
        .server
        .probe_connection(&setup.key, &busy.origin(), "sync-token")
        .await;
    let first_sync = setup.create_sync(json!({})).await;
    let (status, created) = setup
        .server
        .send(
            Method::POST,
            &format!("/api/v1/connections/{second}/syncs"),
            Some(&setup.key),
            Some(json!({"container": SYNC_CONTAINER})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let second_sync = created["data"]["id"].as_str().unwrap().to_owned();
    // Both of acme's syncs have started before the other tenant asks.
    let deadline = Instant::now() + Duration::from_secs(30);
    while busy.listings() < 2 {
        assert!(Instant::now() < deadline, "acme's syncs never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let other_key = setup.server.tenant("globex").await;
    let other = setup
        .server
        .probe_connection(&other_key, &small.origin(), "sync-token")
        .await;
    let (status, created) = setup
        .server
        .send(
            Method::POST,
            &format!("/api/v1/connections/{other}/syncs"),
            Some(&other_key),
            Some(json!({"container": SYNC_CONTAINER})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let other_sync = created["data"]["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    let other_run = loop {
        let (_, body) = setup
            .server
            .send(
                Method::GET,
                &format!("/api/v1/connections/{other}/syncs/{other_sync}"),
                Some(&other_key),
                None,
            )
            .await;
        if body["data"]["last_run"]["status"] == "succeeded" {
            break body["data"]["last_run"].clone();
        }
        assert!(Instant::now() < deadline, "globex's sync never ran: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(counts(&other_run), (5, 0, 0));
    // acme's passes were not finished meanwhile: they yielded, and go on from their checkpoints.
    for (connection, sync) in [(&setup.connection, &first_sync), (&second, &second_sync)] {
        let (_, body) = setup
            .server
            .send(
                Method::GET,
                &format!("/api/v1/connections/{connection}/syncs/{sync}/runs?limit=100"),
                Some(&setup.key),
                None,
            )
            .await;
        let statuses: Vec<&str> = body["data"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|run| run["status"].as_str().unwrap())
            .collect();
        assert!(
            !statuses.contains(&"succeeded"),
            "acme's pass ended before globex got a slot: {statuses:?}"
        );
        assert!(statuses.contains(&"yielded"), "{statuses:?}");
    }
    // In the end every item of acme's container is in the feed once, across the turns.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let run = setup.next_run(&first_sync, None).await;
        if run["status"] == "succeeded" {
            break;
        }
        assert!(Instant::now() < deadline, "acme's pass never ended: {run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let created: BTreeSet<String> = setup
        .feed(1000)
        .await
        .iter()
        .filter(|event| event["kind"] == "created")
        .map(|event| event["item_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(created.len() >= 600, "{}", created.len());
}

/// A sync tracks at most `syncs.max_items_per_sync` items: the page that would pass it fails
/// the run with `CONFLICT`, and nothing of that page is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_past_its_item_quota_fails_with_nothing_half_written() {
    let vendor = SyncVendor::start(40, false).await;
    let setup = SyncSetup::start(&vendor, |config| {
        config.syncs.page_size = 10;
        config.syncs.max_items_per_sync = 15;
    })
    .await;
    let sync = setup.create_sync(json!({})).await;
    let run = setup.next_run(&sync, None).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error_code"], "CONFLICT", "{run}");
    assert!(
        run["error"]
            .as_str()
            .unwrap()
            .contains("max_items_per_sync"),
        "{run}"
    );
    assert_eq!(counts(&run), (10, 0, 0));
    assert_eq!(
        setup.feed(100).await.len(),
        10,
        "the refused page wrote nothing"
    );
}
