//! The store's interface, the same tests on each backend: the embedded sled store and
//! PostgreSQL (a real server, a fresh database per test). What only matters with several hosts
//! on one database (claims, fan-out once, the schema guard) is tested on PostgreSQL.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use connector_host::store::{
    BoundCredential, ChangeKind, ChangeObject, ConnectionRecord, ConnectionStatus, CredentialType,
    DeliveryRecord, EndpointRecord, EventType, InboundDelivery, KeyRing, NewChange, OutboxEvent,
    PageCommit, RunCounts, RunRecord, RunStatus, SealError, Store, StoreError, StoredCredential,
    SyncCheckpoint, SyncRecord, UsageCount, now_rfc3339,
};
use connector_tests::harness::{TestDatabase, each_backend};

fn record(tenant: &str, id: &str) -> ConnectionRecord {
    ConnectionRecord {
        id: id.into(),
        tenant: tenant.into(),
        connector: "probe".into(),
        name: "n".into(),
        auth_method: "token".into(),
        credential_type: CredentialType::Bearer,
        config: serde_json::Map::new(),
        status: ConnectionStatus::Active,
        principal: None,
        values: Default::default(),
        last_error: None,
        last_success_at: None,
        created_at: now_rfc3339(),
        updated_at: now_rfc3339(),
    }
}

fn bearer(token: &str) -> BoundCredential {
    BoundCredential::new(
        StoredCredential::Bearer {
            token: token.into(),
        },
        None,
    )
}

fn grant(access: &str) -> BoundCredential {
    BoundCredential::new(
        StoredCredential::Oauth2 {
            access_token: access.into(),
            refresh_token: Some(format!("rt-{access}")),
            expires_at: None,
            scope: None,
        },
        None,
    )
}

fn change(item: &str) -> NewChange {
    NewChange {
        kind: ChangeKind::Created,
        object: ChangeObject::Item,
        container_id: "P".into(),
        item_id: item.into(),
        comment_id: None,
        occurred_at: now_rfc3339(),
        sync_id: None,
        item: Some(serde_json::json!({"id": item, "text": "nul \u{0} and ünïcode"})),
        comment: None,
    }
}

fn sync(tenant: &str, connection: &str) -> SyncRecord {
    SyncRecord {
        id: "s1".into(),
        tenant: tenant.into(),
        connection: connection.into(),
        container: "P".into(),
        interval_secs: 60,
        full_pass_interval_secs: 3600,
        paused: false,
        created_at: now_rfc3339(),
        updated_at: now_rfc3339(),
        next_run_at_ms: 0,
        last_full_pass_at_ms: None,
        last_run: None,
    }
}

fn run(id: &str) -> RunRecord {
    RunRecord {
        id: id.into(),
        sync_id: "s1".into(),
        status: RunStatus::Running,
        full_pass: false,
        started_at: now_rfc3339(),
        finished_at: None,
        counts: RunCounts::default(),
        error_code: None,
        error: None,
        retry_after_ms: None,
    }
}

fn endpoint(tenant: &str, id: &str) -> EndpointRecord {
    EndpointRecord {
        id: id.into(),
        tenant: tenant.into(),
        url: "https://receiver.example/hook".into(),
        events: vec![EventType::ConnectionCreated],
        description: None,
        enabled: true,
        disabled_reason: None,
        created_at: now_rfc3339(),
        updated_at: now_rfc3339(),
        consecutive_failures: 0,
        breaker_open_until_ms: None,
    }
}

/// A refresh that raced another write of the credential (a reconnect's new grant) never puts
/// the older grant's tokens over it: the write is a compare-and-swap on the version it read.
#[tokio::test]
async fn a_refreshed_token_never_replaces_a_credential_written_meanwhile() {
    for backend in each_backend().await {
        let store = &backend.store;
        store
            .create_connection(&record("a", "c1"), &grant("old"))
            .await
            .unwrap();
        let (_, read) = store.credential_versioned("a", "c1").await.unwrap();
        store
            .replace_credential("a", "c1", &grant("reconnected"))
            .await
            .unwrap();
        let late = store
            .replace_credential_if("a", "c1", &read, &grant("refreshed-old"))
            .await;
        assert!(
            matches!(late, Err(StoreError::Conflict)),
            "{}: {late:?}",
            backend.name
        );
        let stored = store.credential("a", "c1").await.unwrap().credential;
        assert!(
            matches!(&stored, StoredCredential::Oauth2 { access_token, .. } if access_token == "reconnected"),
            "{}",
            backend.name
        );
        let (_, current) = store.credential_versioned("a", "c1").await.unwrap();
        store
            .replace_credential_if("a", "c1", &current, &grant("refreshed"))
            .await
            .unwrap();
        let stored = store.credential("a", "c1").await.unwrap().credential;
        assert!(
            matches!(&stored, StoredCredential::Oauth2 { access_token, .. } if access_token == "refreshed"),
            "{}",
            backend.name
        );
    }
}

#[tokio::test]
async fn connections_are_scoped_to_their_tenant_and_deleted_whole() {
    for backend in each_backend().await {
        let (store, name) = (&backend.store, backend.name);
        store
            .create_connection(&record("a", "c1"), &bearer("t-1"))
            .await
            .unwrap();
        store
            .create_connection(&record("ab", "c2"), &bearer("t-1"))
            .await
            .unwrap();
        assert!(
            matches!(
                store
                    .create_connection(&record("a", "c1"), &bearer("t-1"))
                    .await,
                Err(StoreError::Conflict)
            ),
            "{name}"
        );
        assert_eq!(store.connections("a").await.unwrap().len(), 1, "{name}");
        assert_eq!(store.connection_count("a").await.unwrap(), 1, "{name}");
        assert!(store.connection("b", "c1").await.unwrap().is_none());
        store
            .put_cursor("a", "c1", "issues", "2026-11-01")
            .await
            .unwrap();
        store
            .append_changes("a", "c1", &[change("1")], serde_json::json!({}), None)
            .await
            .unwrap();
        store.create_sync(&sync("a", "c1")).await.unwrap();

        assert!(store.delete_connection("a", "c1").await.unwrap());
        assert!(store.connection("a", "c1").await.unwrap().is_none());
        assert!(matches!(
            store.credential("a", "c1").await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(store.cursor("a", "c1", "issues").await.unwrap(), None);
        assert!(
            store.syncs_of("a", "c1").await.unwrap().is_empty(),
            "{name}"
        );
        assert_eq!(store.last_change("a", "c1").await.unwrap(), 0, "{name}");
        assert!(!store.delete_connection("a", "c1").await.unwrap());
        assert_eq!(store.connections("ab").await.unwrap().len(), 1, "{name}");
    }
}

#[tokio::test]
async fn a_sealed_credential_copied_to_another_tenant_does_not_open() {
    for backend in each_backend().await {
        let store = &backend.store;
        store
            .create_connection(&record("a", "c1"), &bearer("secret-a"))
            .await
            .unwrap();
        store
            .create_connection(&record("b", "c1"), &bearer("secret-b"))
            .await
            .unwrap();
        let stolen = store.sealed_credential("a", "c1").await.unwrap().unwrap();
        store
            .put_sealed_credential("b", "c1", &stolen)
            .await
            .unwrap();
        assert!(
            matches!(
                store.credential("b", "c1").await,
                Err(StoreError::Seal(SealError::Tampered))
            ),
            "{}",
            backend.name
        );
        assert!(
            matches!(store.credential("a", "c1").await.unwrap().credential, StoredCredential::Bearer { token } if token == "secret-a")
        );
    }
}

/// The database holds no plaintext secret: the token is nowhere in any table's bytes.
#[tokio::test]
async fn postgres_never_holds_a_plaintext_secret() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(
        &database.settings(),
        KeyRing::load(dir.path(), None).unwrap(),
    )
    .await
    .unwrap();
    let secret = "tok-7f3a9c1d-plaintext-canary";
    store
        .create_connection(&record("a", "c1"), &bearer(secret))
        .await
        .unwrap();
    store.put_cursor("a", "c1", "s", secret).await.unwrap();
    let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let dump: String = client
        .query_one(
            "SELECT string_agg(t::text, ' ') FROM (
                 SELECT encode(sealed, 'escape') AS t FROM secrets
                 UNION ALL SELECT encode(sealed, 'escape') FROM cursors
                 UNION ALL SELECT encode(record, 'escape') FROM connections) x",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!dump.is_empty());
    assert!(!dump.contains(secret), "a plaintext secret in the database");
}

#[tokio::test]
async fn reseal_moves_everything_to_the_new_key() {
    for backend in each_backend().await {
        let store = &backend.store;
        store
            .create_connection(
                &record("a", "c1"),
                &BoundCredential::new(StoredCredential::ApiKey { key: "k".into() }, None),
            )
            .await
            .unwrap();
        store.put_cursor("a", "c1", "s", "v").await.unwrap();
        store.keys().begin_rotation().unwrap();
        assert_eq!(store.reseal_all().await.unwrap(), 2, "{}", backend.name);
        store
            .keys()
            .retire_old_keys(&store.keys_in_use().await.unwrap())
            .unwrap();
        assert!(
            matches!(store.credential("a", "c1").await.unwrap().credential, StoredCredential::ApiKey { key } if key == "k")
        );
        assert_eq!(
            store.cursor("a", "c1", "s").await.unwrap().as_deref(),
            Some("v")
        );
    }
}

#[tokio::test]
async fn audit_retention_keeps_the_newest_events_per_tenant_and_drops_old_ones() {
    for backend in each_backend().await {
        let (store, name) = (&backend.store, backend.name);
        for n in 0..5 {
            store
                .audit(
                    Some("a"),
                    "admin",
                    "x",
                    &format!("t{n}"),
                    serde_json::Value::Null,
                )
                .await
                .unwrap();
        }
        store
            .audit(Some("b"), "admin", "x", "only", serde_json::Value::Null)
            .await
            .unwrap();
        let now = std::time::SystemTime::now();
        assert_eq!(store.sweep_audit(now, None, 3).await.unwrap(), 2, "{name}");
        let kept: Vec<String> = store
            .audit_events("a", None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.target)
            .collect();
        assert_eq!(kept, ["t2", "t3", "t4"], "{name}");
        assert_eq!(store.audit_events("b", None, 10).await.unwrap().len(), 1);
        let later = now + Duration::from_secs(3600);
        let age = Some(Duration::from_secs(1800));
        assert_eq!(
            store.sweep_audit(later, age, 100).await.unwrap(),
            4,
            "{name}"
        );
        assert!(store.audit_events("a", None, 10).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn audit_pages_by_sequence_within_a_tenant() {
    for backend in each_backend().await {
        let store = &backend.store;
        for n in 0..5 {
            store
                .audit(
                    Some("a"),
                    "admin",
                    "x",
                    &n.to_string(),
                    serde_json::Value::Null,
                )
                .await
                .unwrap();
        }
        store
            .audit(Some("b"), "admin", "x", "other", serde_json::Value::Null)
            .await
            .unwrap();
        let first = store.audit_events("a", None, 3).await.unwrap();
        assert_eq!(
            first.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
            ["0", "1", "2"],
            "{}",
            backend.name
        );
        let rest = store
            .audit_events("a", Some(first[2].seq), 10)
            .await
            .unwrap();
        assert_eq!(
            rest.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
            ["3", "4"]
        );
    }
}

/// A runner that paused past its lease while another tenure began writes nothing: the fence
/// is checked inside the commit's own transaction.
#[tokio::test]
async fn a_page_commit_after_the_tenure_ended_writes_nothing() {
    for backend in each_backend().await {
        let (store, name) = (&backend.store, backend.name);
        store
            .create_connection(&record("a", "c1"), &bearer("t"))
            .await
            .unwrap();
        let job = sync("a", "c1");
        store.create_sync(&job).await.unwrap();
        let paused = store
            .take_lease("a", "c1", "s1", "host-a", 1_000, 2_000)
            .await
            .unwrap()
            .expect("a free lease is taken");
        // Host B sees the lease lapse (its clock is past 2 000) and takes it.
        assert!(
            store
                .take_lease("a", "c1", "s1", "host-b", 1_500, 9_000)
                .await
                .unwrap()
                .is_none(),
            "{name}: a running lease is not taken"
        );
        let taken = store
            .take_lease("a", "c1", "s1", "host-b", 2_500, 9_000)
            .await
            .unwrap()
            .expect("a lapsed lease is taken");
        assert!(taken.epoch > paused.epoch, "{name}");
        assert!(
            !store
                .renew_lease("a", "c1", "s1", &paused, 2_600, 9_000)
                .await
                .unwrap(),
            "{name}: the old tenure cannot renew"
        );
        let running = run(&store.next_run_id().await.unwrap());
        let checkpoint = SyncCheckpoint {
            updated_since: None,
            pass: None,
            tracked: None,
        };
        let commit = |tenure| PageCommit {
            sync: &job,
            seen: Vec::new(),
            forget: Vec::new(),
            changes: vec![change("x")],
            checkpoint: &checkpoint,
            run: &running,
            tenure,
        };
        let late = store.commit_page(commit(&paused)).await;
        assert!(
            matches!(late, Err(StoreError::LeaseLost)),
            "{name}: {late:?}"
        );
        assert_eq!(store.last_change("a", "c1").await.unwrap(), 0, "{name}");
        let ids = store.commit_page(commit(&taken)).await.unwrap();
        assert_eq!(ids.len(), 1, "{name}");
        // Released, the row stays: the next tenure's epoch is higher still.
        store.release_lease("a", "c1", "s1", &taken).await.unwrap();
        let next = store
            .take_lease("a", "c1", "s1", "host-a", 3_000, 9_000)
            .await
            .unwrap()
            .expect("a released lease is free");
        assert!(next.epoch > taken.epoch, "{name}");
    }
}

/// Concurrent writers to one connection's feed: numbers 1..=n with no gap and no repeat, and
/// every reader page is in order.
#[tokio::test]
async fn the_changes_feed_has_no_gap_under_concurrent_writers() {
    for backend in each_backend().await {
        let store = backend.store.clone();
        let mut writers = tokio::task::JoinSet::new();
        for writer in 0..6 {
            let store = store.clone();
            writers.spawn(async move {
                for n in 0..10 {
                    let items = [
                        change(&format!("{writer}-{n}-a")),
                        change(&format!("{writer}-{n}-b")),
                    ];
                    store
                        .append_changes("a", "c1", &items, serde_json::json!({}), None)
                        .await
                        .unwrap();
                }
            });
        }
        while let Some(done) = writers.join_next().await {
            done.unwrap();
        }
        let page = store.changes("a", "c1", 0, 1000).await.unwrap();
        let numbers: Vec<u64> = page.entries.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(numbers, (1..=120).collect::<Vec<_>>(), "{}", backend.name);
        let items: HashSet<&str> = page
            .entries
            .iter()
            .map(|(_, event)| event.item_id.as_str())
            .collect();
        assert_eq!(items.len(), 120, "{}", backend.name);
        assert_eq!(store.last_change("a", "c1").await.unwrap(), 120);
        // Vendor text with a NUL character is kept as it came.
        assert_eq!(
            page.entries[0].1.item.as_ref().unwrap()["text"],
            "nul \u{0} and ünïcode"
        );
        let second = store.changes("a", "c1", 100, 10).await.unwrap();
        assert!(second.has_more);
        assert_eq!(second.entries[0].0, 101);
    }
}

#[tokio::test]
async fn delivery_ids_are_recorded_once_and_oauth_sessions_are_single_use() {
    for backend in each_backend().await {
        let (store, name) = (&backend.store, backend.name);
        assert!(
            store
                .first_delivery("slack", "d1", 1_000, 5_000)
                .await
                .unwrap()
        );
        assert!(
            !store
                .first_delivery("slack", "d1", 2_000, 6_000)
                .await
                .unwrap(),
            "{name}"
        );
        // Past its window the id may come again.
        assert!(
            store
                .first_delivery("slack", "d1", 5_001, 9_000)
                .await
                .unwrap(),
            "{name}"
        );
        assert_eq!(store.sweep_delivery_ids(9_001).await.unwrap(), 1, "{name}");

        let session = connector_host::store::OAuthSession {
            id: "st1".into(),
            tenant: "a".into(),
            connector: "probe".into(),
            auth_method: "oauth".into(),
            redirect_uri: "https://host.example/cb".into(),
            return_to: None,
            name: None,
            config: Default::default(),
            scopes: vec![],
            verifier: Some("v".into()),
            expires_at: u64::MAX / 4,
            browser_binding: None,
            vendor_url: String::new(),
            reconnect: None,
        };
        store.put_oauth_session(&session).await.unwrap();
        assert_eq!(
            store.pending_oauth_sessions("a", 0).await.unwrap(),
            1,
            "{name}"
        );
        assert!(store.take_oauth_session("st1").await.unwrap().is_some());
        assert!(
            store.take_oauth_session("st1").await.unwrap().is_none(),
            "{name}"
        );
        let key = store.oauth_state_key().await.unwrap();
        assert_eq!(*store.oauth_state_key().await.unwrap(), *key, "{name}");
    }
}

/// Two hosts on one database: an outbox event fans out once, a due delivery and a queued
/// inbound webhook are handed to one host at a time.
#[tokio::test]
async fn postgres_hands_each_queued_item_to_one_host() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyRing::load(dir.path(), None).unwrap();
    let host_a = Store::connect(&database.settings(), keys.clone())
        .await
        .unwrap();
    let host_b = Store::connect(&database.settings(), keys).await.unwrap();
    assert_ne!(
        host_a.instance_id().await.unwrap(),
        host_b.instance_id().await.unwrap(),
        "each host is its own lease holder"
    );

    host_a
        .emit_event("a", EventType::ConnectionCreated, serde_json::json!({}))
        .await
        .unwrap();
    let event: OutboxEvent = host_b.outbox_events(10).await.unwrap().remove(0);
    let endpoints = [endpoint("a", "we1"), endpoint("a", "we2")];
    let (made_a, made_b) = tokio::join!(
        host_a.fan_out(&event, &endpoints, 1_000),
        host_b.fan_out(&event, &endpoints, 1_000)
    );
    let mut made = [made_a.unwrap(), made_b.unwrap()];
    made.sort();
    assert_eq!(made, [0, 2], "the event fanned out once");

    for n in 0..20 {
        let id = host_a.next_delivery_id().await.unwrap();
        let mut delivery = DeliveryRecord::new(id, &endpoints[n % 2], &event, 1_000);
        delivery.attempts.clear();
        host_a.queue_delivery(&delivery, 1_000).await.unwrap();
    }
    // Both hosts see the same due entries; each attempt claims first, and one wins.
    let none = HashSet::new();
    let due = host_a
        .due_deliveries(2_000, 100, 100, 100, &none)
        .await
        .unwrap();
    assert_eq!(due.len(), 22, "every due delivery is seen");
    let (claimed_a, claimed_b) = tokio::join!(
        async {
            let mut won = BTreeSet::new();
            for entry in &due {
                if host_a.claim_delivery(entry, 2_000).await.unwrap() {
                    won.insert(entry.delivery.clone());
                }
            }
            won
        },
        async {
            let mut won = BTreeSet::new();
            for entry in due.iter().rev() {
                if host_b.claim_delivery(entry, 2_000).await.unwrap() {
                    won.insert(entry.delivery.clone());
                }
            }
            won
        }
    );
    assert!(
        claimed_a.is_disjoint(&claimed_b),
        "a delivery claimed by both hosts"
    );
    assert_eq!(
        claimed_a.len() + claimed_b.len(),
        22,
        "every due delivery claimed once"
    );
    // Claimed, they are not due for anyone until saved or the claim lapses.
    assert!(
        host_b
            .due_deliveries(3_000, 100, 100, 100, &none)
            .await
            .unwrap()
            .is_empty()
    );
    let lapsed = host_b
        .due_deliveries(2_000 + 6 * 60 * 1000, 100, 100, 100, &none)
        .await
        .unwrap();
    assert_eq!(lapsed.len(), 22, "a dead host's claims lapse");
    assert!(
        host_b
            .claim_delivery(&lapsed[0], 2_000 + 6 * 60 * 1000)
            .await
            .unwrap()
    );

    for seq in 0..10u64 {
        let delivery = InboundDelivery::new(seq + 1, "slack", None, vec![], b"{}", None, 1_000);
        host_a.queue_inbound(&delivery).await.unwrap();
    }
    let (in_a, in_b) = tokio::join!(host_a.inbound(10), host_b.inbound(10));
    let seqs_a: BTreeSet<u64> = in_a.unwrap().iter().map(|d| d.seq).collect();
    let seqs_b: BTreeSet<u64> = in_b.unwrap().iter().map(|d| d.seq).collect();
    assert!(
        seqs_a.is_disjoint(&seqs_b),
        "an inbound delivery handed to both hosts"
    );
    assert_eq!(seqs_a.len() + seqs_b.len(), 10);
}

/// A database whose schema a newer host wrote is refused, naming both versions, untouched.
#[tokio::test]
async fn postgres_refuses_a_newer_schema_and_a_wrong_url() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyRing::load(dir.path(), None).unwrap();
    Store::connect(&database.settings(), keys.clone())
        .await
        .unwrap();
    let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("INSERT INTO schema_migrations (version) VALUES (99)")
        .await
        .unwrap();
    let refused = Store::connect(&database.settings(), keys.clone())
        .await
        .err()
        .expect("a newer schema is refused");
    let message = format!("{refused:#}");
    assert!(
        message.contains("99")
            && message.contains(&connector_host::store::POSTGRES_SCHEMA_VERSION.to_string()),
        "{message}"
    );
    let tables: i64 = client
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    // Every version this host knows, plus the newer one: nothing migrated over it.
    assert_eq!(
        tables,
        i64::from(connector_host::store::POSTGRES_SCHEMA_VERSION) + 1,
        "nothing migrated over it"
    );

    let mut wrong = database.settings();
    wrong.url = connector_host::config::ConfigSecret::new(
        "postgres://nobody:pw-canary-123@127.0.0.1:1/none".to_owned(),
    );
    wrong.connect_timeout = Duration::from_secs(2);
    let refused = Store::connect(&wrong, keys)
        .await
        .err()
        .expect("no database there");
    let message = format!("{refused:#}");
    assert!(
        !message.contains("pw-canary-123"),
        "the password in an error: {message}"
    );
}

/// Hosts started together on a fresh database migrate it once, and all open.
#[tokio::test]
async fn postgres_hosts_started_together_migrate_once() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyRing::load(dir.path(), None).unwrap();
    let settings = database.settings();
    let opened =
        futures::future::join_all((0..4).map(|_| Store::connect(&settings, keys.clone()))).await;
    for store in opened {
        store.expect("every host opens the store");
    }
}

/// The plugin registry on both backends: every change takes a larger number, an entry keeps
/// what it was told, and bytes no entry names any more are dropped.
#[tokio::test]
async fn the_plugin_registry_numbers_changes_and_drops_unnamed_bytes() {
    use connector_host::store::PluginBlob;
    for backend in each_backend().await {
        let (store, name) = (&backend.store, backend.name);
        assert_eq!(store.registry_seq().await.unwrap(), 0, "{name}");
        let blob = |byte: u8| PluginBlob {
            wasm: vec![byte; 16],
            signature: None,
            source: "upload".into(),
        };
        let first = store
            .record_registry(
                "probe",
                Some("sha-1"),
                Some("dir"),
                Some(&("sha-1".into(), blob(1))),
            )
            .await
            .unwrap();
        let second = store
            .record_registry(
                "probe",
                Some("sha-2"),
                Some("sha-1"),
                Some(&("sha-2".into(), blob(2))),
            )
            .await
            .unwrap();
        assert!(second > first, "{name}");
        assert_eq!(store.registry_seq().await.unwrap(), second, "{name}");
        assert_eq!(
            store.plugin_blob("sha-1").await.unwrap().unwrap().wasm,
            vec![1; 16],
            "{name}: the previous version's bytes are kept for a rollback"
        );
        let third = store
            .record_registry("probe", None, Some("sha-2"), None)
            .await
            .unwrap();
        assert!(
            store.plugin_blob("sha-1").await.unwrap().is_none(),
            "{name}: bytes no entry names are dropped"
        );
        assert!(
            store.plugin_blob("sha-2").await.unwrap().is_some(),
            "{name}"
        );
        let entries = store.registry_entries().await.unwrap();
        assert_eq!(entries.len(), 1, "{name}");
        assert_eq!(entries[0].current, None, "{name}");
        assert_eq!(entries[0].previous.as_deref(), Some("sha-2"), "{name}");
        assert_eq!(entries[0].seq, third, "{name}");
    }
}

/// Due syncs are claimed in turns (each tenant's most overdue sync, then each one's second),
/// each by one holder: a second holder gets only what is left; paused, not yet due, leased and
/// running syncs are never claimed; a released lease is claimable again, in a new epoch.
#[tokio::test]
async fn due_syncs_are_claimed_in_turns_and_by_one_holder() {
    for backend in each_backend().await {
        let (store, name) = (&backend.store, backend.name);
        for (tenant, id, due, paused) in [
            ("a", "a1", 1, false),
            ("a", "a2", 2, false),
            ("a", "a3", 3, false),
            ("b", "b1", 10, false),
            ("c", "c1", 20, false),
            ("c", "paused", 0, true),
            ("c", "later", 5_000, false),
        ] {
            let mut record = sync(tenant, "conn");
            record.id = id.into();
            record.next_run_at_ms = due;
            record.paused = paused;
            store.create_sync(&record).await.unwrap();
        }
        let ids = |claimed: &[(SyncRecord, connector_host::store::Tenure)]| {
            claimed
                .iter()
                .map(|(sync, _)| sync.id.clone())
                .collect::<Vec<_>>()
        };
        let first = store
            .claim_due_syncs("h1", 100, 60_100, 3, &[])
            .await
            .unwrap();
        assert_eq!(
            ids(&first),
            ["a1", "b1", "c1"],
            "{name}: one per tenant first"
        );
        let second = store
            .claim_due_syncs("h2", 100, 60_100, 10, &["a/conn/a3".to_owned()])
            .await
            .unwrap();
        assert_eq!(ids(&second), ["a2"], "{name}: the rest, less what runs");

        let (a1, tenure) = &first[0];
        store
            .release_lease(&a1.tenant, &a1.connection, &a1.id, tenure)
            .await
            .unwrap();
        // h2 runs a2 now (its own lease, which a restarted h2 would take back).
        let running = ["a/conn/a3".to_owned(), "a/conn/a2".to_owned()];
        let again = store
            .claim_due_syncs("h2", 200, 60_200, 10, &running)
            .await
            .unwrap();
        assert_eq!(ids(&again), ["a1"], "{name}");
        assert_eq!(again[0].1.epoch, tenure.epoch + 1, "{name}: a new tenure");
    }
}

/// A version 1 database (the first PostgreSQL release) is brought to version 2 at start:
/// the syncs' new due and paused columns are filled from their records, so a paused sync
/// stays paused and none is claimed before it is due.
#[tokio::test]
async fn postgres_migrates_a_version_1_database_with_its_syncs() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyRing::load(dir.path(), None).unwrap();
    let store = Store::connect(&database.settings(), keys.clone())
        .await
        .unwrap();
    let mut paused = sync("a", "conn");
    paused.id = "paused".into();
    paused.paused = true;
    paused.container = "\"paused\":false".into();
    let mut later = sync("a", "conn");
    later.id = "later".into();
    later.next_run_at_ms = 9_000_000_000_000;
    for record in [&paused, &later] {
        store.create_sync(record).await.unwrap();
    }
    drop(store);
    // Back to what version 1 had: no tables or columns of later versions.
    let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(
            "DELETE FROM schema_migrations WHERE version >= 2;
             DROP TABLE plugin_registry, plugin_blobs, registry_version, key_ring, hosts, usage, mcp_grants;
             ALTER TABLE syncs DROP COLUMN next_run_at_ms, DROP COLUMN paused;",
        )
        .await
        .unwrap();

    let store = Store::connect(&database.settings(), keys).await.unwrap();
    let row = client
        .query_one(
            "SELECT (SELECT paused FROM syncs WHERE id = 'paused'),
                    (SELECT next_run_at_ms FROM syncs WHERE id = 'later'),
                    (SELECT max(version) FROM schema_migrations)",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "the paused sync stays paused");
    assert_eq!(row.get::<_, i64>(1), 9_000_000_000_000);
    assert_eq!(
        row.get::<_, i32>(2),
        connector_host::store::POSTGRES_SCHEMA_VERSION
    );
    let claimed = store
        .claim_due_syncs("h", 1_000, 61_000, 10, &[])
        .await
        .unwrap();
    assert!(claimed.is_empty(), "nothing due: {}", claimed.len());
    assert_eq!(store.registry_seq().await.unwrap(), 0);
}

fn usage_amount(tenant: &str, hour: u64, connection: &str, metric: &str, count: u64) -> UsageCount {
    UsageCount {
        tenant: tenant.into(),
        hour,
        connection: connection.into(),
        metric: metric.into(),
        count,
    }
}

/// Usage counters add up exactly under concurrent batches; reads are scoped to a tenant and an
/// hour range (a tenant whose id starts like another's included); old hours are pruned.
#[tokio::test]
async fn usage_counters_add_up_exactly_and_read_by_tenant_and_hour() {
    for backend in each_backend().await {
        let (store, name) = (&backend.store, backend.name);
        let mut writers = Vec::new();
        for writer in 0..8u64 {
            let store = store.clone();
            writers.push(tokio::spawn(async move {
                for _ in 0..25 {
                    store
                        .add_usage(&[
                            usage_amount("a", 100, "c1", "calls.items.ok", 1),
                            usage_amount("a", 100, "c1", "egress.bytes", 1000 + writer),
                            usage_amount("ab", 100, "c9", "calls.items.ok", 2),
                        ])
                        .await
                        .unwrap();
                }
            }));
        }
        for writer in writers {
            writer.await.unwrap();
        }
        store
            .add_usage(&[
                usage_amount("a", 99, "", "tools.invocations", 5),
                usage_amount("a", 101, "c1", "calls.items.ok", 7),
            ])
            .await
            .unwrap();
        let mut rows = store.usage(Some("a"), 100, 101).await.unwrap();
        rows.sort_by(|x, y| x.metric.cmp(&y.metric));
        assert_eq!(
            rows,
            vec![
                usage_amount("a", 100, "c1", "calls.items.ok", 200),
                usage_amount("a", 100, "c1", "egress.bytes", 25 * (8 * 1000 + 28)),
            ],
            "{name}"
        );
        assert_eq!(
            store.usage(Some("a"), 0, 1000).await.unwrap().len(),
            4,
            "{name}"
        );
        let everyone = store.usage(None, 100, 101).await.unwrap();
        assert_eq!(everyone.len(), 3, "{name}");
        assert!(everyone.contains(&usage_amount("ab", 100, "c9", "calls.items.ok", 400)));
        assert_eq!(
            store.prune_usage(100).await.unwrap(),
            1,
            "{name}: hour 99 went"
        );
        assert!(
            store.usage(Some("a"), 0, 100).await.unwrap().is_empty(),
            "{name}"
        );
    }
}

/// Two hosts on one database add to the same counters at once: none of either's is lost.
#[tokio::test]
async fn two_hosts_count_into_one_database_exactly() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyRing::load(dir.path(), None).unwrap();
    let hosts = [
        Store::connect(&database.settings(), keys.clone())
            .await
            .unwrap(),
        Store::connect(&database.settings(), keys).await.unwrap(),
    ];
    let mut writers = Vec::new();
    for host in &hosts {
        for _ in 0..4 {
            let store = host.clone();
            writers.push(tokio::spawn(async move {
                for _ in 0..50 {
                    store
                        .add_usage(&[usage_amount("t", 7, "c", "calls.search.ok", 1)])
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let rows = hosts[1].usage(Some("t"), 0, 100).await.unwrap();
    assert_eq!(
        rows,
        vec![usage_amount("t", 7, "c", "calls.search.ok", 400)]
    );
}

/// MCP clients' grants on both backends: a change names the generation it read (so of two
/// hosts redeeming one refresh token, one wins), a tenant keeps at most its cap, another
/// tenant can neither list nor delete them, and the sweep ends expired ones.
#[tokio::test]
async fn mcp_grants_swap_by_generation_cap_per_tenant_and_expire() {
    use connector_host::store::{McpGrant, PendingCode};
    let grant = |id: &str, tenant: &str, expires_at: u64| McpGrant {
        id: id.into(),
        tenant: tenant.into(),
        granted_by: "key:k".into(),
        client_id: "mcpc1.x".into(),
        client_name: "Client".into(),
        redirect_uri: "http://127.0.0.1/cb".into(),
        resource: "/mcp".into(),
        scope: "mcp".into(),
        created_at: expires_at,
        generation: 0,
        code: Some(PendingCode {
            digest: "00".into(),
            challenge: "c".into(),
            expires_at,
        }),
        access: None,
        refresh: None,
        expires_at,
        last_used_at: expires_at,
    };
    for backend in each_backend().await {
        let (store, name) = (&backend.store, backend.name);
        for (n, expires_at) in [(1, 100), (2, 300), (3, 200)] {
            store
                .create_mcp_grant(&grant(&format!("g{n}"), "a", expires_at), 2)
                .await
                .unwrap();
        }
        store
            .create_mcp_grant(&grant("other", "b", 500), 2)
            .await
            .unwrap();
        let ids: Vec<String> = store
            .mcp_grants("a")
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.id)
            .collect();
        assert_eq!(ids, ["g3", "g2"], "{name}: the one expiring soonest went");

        let mut redeemed = store.mcp_grant("g2").await.unwrap().unwrap();
        redeemed.code = None;
        redeemed.generation = 1;
        redeemed.expires_at = 900;
        assert!(store.replace_mcp_grant(&redeemed).await.unwrap(), "{name}");
        // A second writer that read generation 0 loses.
        assert!(!store.replace_mcp_grant(&redeemed).await.unwrap(), "{name}");
        assert_eq!(
            store.mcp_grant("g2").await.unwrap().unwrap(),
            redeemed,
            "{name}"
        );

        assert!(!store.delete_mcp_grant("b", "g3").await.unwrap(), "{name}");
        assert_eq!(store.sweep_mcp_grants(250).await.unwrap(), 1, "{name}");
        assert!(store.mcp_grant("g3").await.unwrap().is_none(), "{name}");
        assert!(store.delete_mcp_grant("a", "g2").await.unwrap(), "{name}");
        assert!(store.mcp_grants("a").await.unwrap().is_empty(), "{name}");
        assert_eq!(store.mcp_grants("b").await.unwrap().len(), 1, "{name}");
    }
}
