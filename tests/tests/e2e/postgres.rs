//! The PostgreSQL connector and the host's `sql` capability against a real PostgreSQL server
//! the test starts itself: password connections, schemas and tables, keyset pages while rows
//! are inserted, `updated_since`, search, inserts, injection attempts, and the host's limits
//! (statement timeout, row and byte caps, statement budget, read-only transactions, the
//! address guard) with a plugin that runs whatever statement it is given.

use std::time::{Duration, Instant};

use connector_host::config::HostConfig;
use connector_tests::harness::{
    PostgresServer, TenantSession, TestServer, connection_path, error_code, log_capture,
};
use reqwest::Method;
use serde_json::{Value, json};

const READER: &str = "reader";
const READER_PASSWORD: &str = "reader-Secret-pw-7f3a";
const ORDERS: usize = 25;

/// A database `shop` with schema `sales` (a table `orders` with a column of each kind the
/// host reads, a view, and a table with an awkward name), readable by `reader`.
async fn shop() -> PostgresServer {
    let server = PostgresServer::start().await;
    let admin = server.admin("postgres").await;
    // One statement each: CREATE DATABASE cannot share a transaction with anything.
    admin
        .batch_execute("CREATE DATABASE shop")
        .await
        .expect("database");
    // The password goes hex-encoded, so that the driver's own debug log of this statement
    // (captured with the host's) does not hold it: the tests look for it in every log line.
    let hex: String = READER_PASSWORD
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN EXECUTE format('CREATE ROLE {READER} LOGIN PASSWORD %L', \
             convert_from(decode('{hex}', 'hex'), 'UTF8')); END $$"
        ))
        .await
        .expect("role");
    let shop = server.admin("shop").await;
    shop.batch_execute(&format!(
        "CREATE SCHEMA sales;
         CREATE TABLE sales.orders (
             id integer PRIMARY KEY, title text NOT NULL, body text, amount numeric(10,2),
             placed date, meta jsonb, tags text[], paid boolean,
             updated_at timestamptz NOT NULL DEFAULT '2026-01-01T00:00:00Z',
             created_at timestamptz DEFAULT '2025-12-01T00:00:00Z');
         INSERT INTO sales.orders (id, title, body, amount, placed, meta, tags, paid)
             SELECT n, 'order ' || n,
                    CASE WHEN n IN (4, 12) THEN 'has a needle inside'
                         WHEN n = 7 THEN '100% done' ELSE 'plain' END,
                    n + 0.5, DATE '2026-01-01' + n, jsonb_build_object('n', n),
                    ARRAY['a', 'b'], n % 2 = 0
             FROM generate_series(1, {ORDERS}) n;
         CREATE VIEW sales.big_orders AS SELECT * FROM sales.orders WHERE amount > 20;
         CREATE TABLE sales.\"odd.name\"\"x\" (id integer PRIMARY KEY, v text);
         INSERT INTO sales.\"odd.name\"\"x\" VALUES (1, 'one');
         GRANT USAGE ON SCHEMA sales TO {READER};
         GRANT SELECT ON ALL TABLES IN SCHEMA sales TO {READER};"
    ))
    .await
    .expect("shop schema");
    server
}

fn connection_body(db: &PostgresServer, connector: &str, password: &str, extra: Value) -> Value {
    let mut config = json!({
        "host": "127.0.0.1",
        "port": db.port,
        "database": "shop",
        "tls": "disable",
        "updated_at_columns": {"sales.orders": "updated_at"},
        "search_tables": ["sales.orders"],
    });
    if let (Some(config), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
        config.extend(extra.clone());
    }
    json!({
        "connector": connector,
        "config": config,
        "credentials": {"type": "basic", "username": READER, "password": password},
    })
}

async fn connect(api: &TenantSession, body: Value) -> String {
    let (status, created) = api
        .send(Method::POST, "/api/v1/connections", Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    connection_path(&created)
}

fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn order_count(db: &PostgresServer) -> i64 {
    let shop = db.admin("shop").await;
    let row = shop
        .query_one("SELECT count(*) FROM sales.orders", &[])
        .await
        .expect("count");
    row.get(0)
}

/// `POST`s a new row of `sales.orders`.
async fn post_order(api: &TenantSession, conn: &str, body: Value) -> (u16, Value) {
    api.send(
        Method::POST,
        &format!("{conn}/containers/sales.orders/items"),
        Some(body),
    )
    .await
}

/// How many server sessions `reader` has open.
async fn reader_sessions(admin: &tokio_postgres::Client) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = $1",
            &[&READER],
        )
        .await
        .expect("pg_stat_activity")
        .get(0)
}

/// Waits until `reader` has no session open (its pool was closed).
async fn until_no_reader_sessions(admin: &tokio_postgres::Client, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while reader_sessions(admin).await > 0 {
        assert!(Instant::now() < deadline, "{why}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ids_of(page: &Value) -> Vec<String> {
    page["data"]["entries"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|e| e["id"].as_str().expect("an id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_password_connection_browses_schemas_tables_rows_and_searches() {
    let db = shop().await;
    let api = TenantSession::start().await;

    let wrong = api
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(connection_body(
                &db,
                "postgres",
                "not-the-password",
                json!({}),
            )),
        )
        .await;
    assert_eq!(error_code(&wrong), (422, Some("VALIDATION")), "{}", wrong.1);
    let listed = api.get("/api/v1/connections").await;
    assert_eq!(listed["data"]["entries"], json!([]), "nothing is stored");

    let conn = connect(
        &api,
        connection_body(&db, "postgres", READER_PASSWORD, json!({})),
    )
    .await;
    let record = api.get(&conn).await;
    assert_eq!(record["data"]["principal"]["id"], READER);
    assert!(!record.to_string().contains(READER_PASSWORD));

    // Schemas, a page at a time; then the tables and views of one.
    let (schemas, pages) = api.ids(&format!("{conn}/containers?limit=1")).await;
    assert_eq!(schemas, ["public", "sales"]);
    assert_eq!(pages, 2);
    let tables = api.get(&format!("{conn}/containers?parent=sales")).await;
    let kinds: Vec<(String, String)> = tables["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("sales.big_orders".to_owned(), "view".to_owned()),
            ("sales.odd%2Ename\"x".to_owned(), "table".to_owned()),
            ("sales.orders".to_owned(), "table".to_owned()),
        ]
    );
    let odd = api
        .get(&format!(
            "{conn}/containers/{}/items",
            encoded("sales.odd%2Ename\"x")
        ))
        .await;
    assert_eq!(ids_of(&odd), ["sales.odd%2Ename\"x:1"]);

    // Rows in key order across pages while other rows are inserted between the pages: every
    // row that was there is seen once, in order, and nothing twice.
    let admin = db.admin("shop").await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut inserted = 0;
    loop {
        let path = match &cursor {
            None => format!("{conn}/containers/sales.orders/items?limit=7"),
            Some(c) => format!("{conn}/containers/sales.orders/items?limit=7&cursor={c}"),
        };
        let page = api.get(&path).await;
        seen.extend(ids_of(&page));
        for n in 0..3 {
            let id = 100 + inserted * 3 + n;
            admin
                .execute(
                    "INSERT INTO sales.orders (id, title) VALUES ($1, 'late')",
                    &[&id],
                )
                .await
                .expect("concurrent insert");
        }
        inserted += 1;
        match page["data"]["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let keys: Vec<i32> = seen
        .iter()
        .map(|id| id.strip_prefix("sales.orders:").unwrap().parse().unwrap())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(keys, sorted, "one stable order, no row twice");
    assert!((1..=ORDERS as i32).all(|k| keys.contains(&k)), "{keys:?}");

    // updated_since on the configured column.
    admin
        .batch_execute(
            "UPDATE sales.orders SET updated_at = '2026-06-01T00:00:00Z' WHERE id IN (3, 9, 17)",
        )
        .await
        .unwrap();
    let changed = api
        .get(&format!(
            "{conn}/containers/sales.orders/items?updated_since=2026-05-01T00:00:00Z"
        ))
        .await;
    assert_eq!(
        ids_of(&changed),
        ["sales.orders:3", "sales.orders:9", "sales.orders:17"]
    );

    // One row, every kind of column as the host reads it.
    let item = api.get(&format!("{conn}/items/sales.orders:5")).await;
    let data = &item["data"];
    assert_eq!(data["title"], "order 5");
    assert_eq!(data["body"], "plain");
    assert_eq!(data["container_id"], "sales.orders");
    let attribute = |name: &str| data["attributes"][name].clone();
    assert_eq!(attribute("amount"), "5.50");
    assert_eq!(attribute("placed"), "2026-01-06");
    assert_eq!(attribute("meta"), "{\"n\":5}");
    assert_eq!(attribute("tags"), "{a,b}");
    assert_eq!(attribute("paid"), "false");
    assert_eq!(data["updated_at"], "2026-01-01T00:00:00Z");
    let missing = api
        .send(
            Method::GET,
            &format!("{conn}/items/sales.orders:9999"),
            None,
        )
        .await;
    assert_eq!(
        error_code(&missing),
        (404, Some("NOT_FOUND")),
        "{}",
        missing.1
    );

    // Search: the text columns, LIKE's wildcards taken literally.
    let found = api
        .get(&format!("{conn}/search?q={}", encoded("needle")))
        .await;
    assert_eq!(ids_of(&found), ["sales.orders:4", "sales.orders:12"]);
    let percent = api
        .get(&format!(
            "{conn}/search?q={}",
            encoded("table:sales.orders %")
        ))
        .await;
    assert_eq!(ids_of(&percent), ["sales.orders:7"]);

    // No writes without allow_writes; no comments on rows.
    let before = order_count(&db).await;
    let refused = post_order(
        &api,
        &conn,
        json!({"title": "x", "attributes": {"id": "600"}}),
    )
    .await;
    assert_eq!(
        error_code(&refused),
        (403, Some("FORBIDDEN")),
        "{}",
        refused.1
    );
    assert_eq!(order_count(&db).await, before);
    let comments = api
        .send(
            Method::GET,
            &format!("{conn}/items/sales.orders:5/comments"),
            None,
        )
        .await;
    assert_eq!(comments.1["error"]["code"], "UNSUPPORTED", "{}", comments.1);

    // Another tenant cannot reach the connection.
    let other = api.server.tenant("globex").await;
    let foreign = api
        .server
        .send(
            Method::GET,
            &format!("{conn}/containers"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(
        error_code(&foreign),
        (404, Some("NOT_FOUND")),
        "{}",
        foreign.1
    );

    // Deleting the connection closes its database sessions.
    let (status, _) = api.send(Method::DELETE, &conn, None).await;
    assert_eq!(status, 200);
    until_no_reader_sessions(&admin, "the pool's sessions stay open").await;
    assert!(
        !log_capture::captured().contains(READER_PASSWORD),
        "the password reached a log line"
    );
}

#[tokio::test]
async fn injection_through_names_ids_and_search_text_fails_cleanly() {
    let db = shop().await;
    let api = TenantSession::start().await;
    let conn = connect(
        &api,
        connection_body(&db, "postgres", READER_PASSWORD, json!({})),
    )
    .await;
    let before = order_count(&db).await;
    let attempts = [
        format!(
            "{conn}/containers?parent={}",
            encoded("sales'; DROP TABLE sales.orders; --")
        ),
        format!(
            "{conn}/containers/{}/items",
            encoded("sales.orders\"; DROP TABLE sales.orders; --")
        ),
        format!(
            "{conn}/containers/{}/items",
            encoded("sales.orders) OR (1=1")
        ),
        format!("{conn}/items/{}", encoded("sales.orders:1 OR 1=1")),
        format!(
            "{conn}/items/{}",
            encoded("sales.orders:1; DELETE FROM sales.orders")
        ),
        format!(
            "{conn}/search?q={}",
            encoded("table:sales.orders ' OR 1=1; DELETE FROM sales.orders; --")
        ),
        format!(
            "{conn}/containers/sales.orders/items?cursor={}",
            encoded("k:[\"1) OR (1=1\"]")
        ),
    ];
    for path in &attempts {
        let (status, body) = api.send(Method::GET, path, None).await;
        assert!(
            status == 200 || (400..500).contains(&status),
            "{path}: {status} {body}"
        );
        if status == 200 {
            let entries = body["data"]["entries"].as_array().map_or(0, Vec::len);
            assert_eq!(entries, 0, "{path} matched rows: {body}");
        } else {
            assert!(body["error"]["message"].is_string(), "{path}: {body}");
        }
    }
    assert_eq!(order_count(&db).await, before, "nothing was changed");

    // The password is bound to the database it was checked against: moving the connection to
    // another host, port, database or TLS mode needs it again.
    let bound = connection_body(&db, "postgres", READER_PASSWORD, json!({}));
    for (key, value) in [
        ("host", json!("db.attacker.example")),
        ("port", json!(6543)),
        ("database", json!("postgres")),
        ("tls", json!("verify-full")),
    ] {
        let mut config = bound["config"].clone();
        config[key] = value;
        let moved = api
            .send(Method::PATCH, &conn, Some(json!({"config": config})))
            .await;
        assert_eq!(
            error_code(&moved),
            (422, Some("VALIDATION")),
            "{key}: {}",
            moved.1
        );
        assert_eq!(
            moved.1["error"]["details"]["needs"], "credentials",
            "{}",
            moved.1
        );
    }
    let still = api.get(&format!("{conn}/containers?parent=sales")).await;
    assert_eq!(ids_of(&still).len(), 3);
}

#[tokio::test]
async fn inserts_need_allow_writes_and_read_back() {
    let db = shop().await;
    db.admin("shop")
        .await
        .batch_execute(&format!("GRANT INSERT ON sales.orders TO {READER}"))
        .await
        .unwrap();
    let api = TenantSession::start().await;
    let conn = connect(
        &api,
        connection_body(
            &db,
            "postgres",
            READER_PASSWORD,
            json!({"allow_writes": true}),
        ),
    )
    .await;
    let (status, created) = post_order(
        &api,
        &conn,
        json!({
            "title": "a new order",
            "body": "from the API",
            "attributes": {"id": "500", "amount": "7.25", "placed": "2026-03-04"},
        }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["id"], "sales.orders:500");
    let read = api.get(&format!("{conn}/items/sales.orders:500")).await;
    assert_eq!(read["data"]["title"], "a new order");
    assert_eq!(read["data"]["attributes"]["amount"], "7.25");
    assert_eq!(read["data"]["attributes"]["placed"], "2026-03-04");

    let unknown = post_order(
        &api,
        &conn,
        json!({"title": "x", "attributes": {"id": "501", "no_such": "1"}}),
    )
    .await;
    assert_eq!(
        error_code(&unknown),
        (422, Some("VALIDATION")),
        "{}",
        unknown.1
    );
    let duplicate = post_order(
        &api,
        &conn,
        json!({"title": "again", "attributes": {"id": "500"}}),
    )
    .await;
    assert_eq!(
        error_code(&duplicate),
        (422, Some("VALIDATION")),
        "{}",
        duplicate.1
    );
    assert_eq!(order_count(&db).await, ORDERS as i64 + 1);
}

/// A server whose `sql` limits are small enough to hit.
async fn tight_server(adjust: impl FnOnce(&mut HostConfig)) -> TenantSession {
    let server = TestServer::start_with(|config| {
        config.sql.statement_timeout = std::time::Duration::from_millis(1_000);
        config.sql.max_rows = 1_000;
        config.sql.max_result_bytes = 1 << 20;
        config.sql.max_statements_per_call = 5;
        adjust(config);
    })
    .await;
    let key = server.tenant("acme").await;
    TenantSession { server, key }
}

async fn probe_query(api: &TenantSession, conn: &str, statement: &str) -> (u16, Value) {
    api.send(
        Method::GET,
        &format!("{conn}/search?q={}&include_raw=true", encoded(statement)),
        None,
    )
    .await
}

#[tokio::test]
async fn a_hostile_plugin_meets_the_hosts_limits_and_read_only_transactions() {
    let db = shop().await;
    db.admin("shop")
        .await
        .batch_execute(&format!(
            "GRANT INSERT, UPDATE, DELETE ON sales.orders TO {READER}"
        ))
        .await
        .unwrap();
    let api = tight_server(|_| {}).await;
    let conn = connect(
        &api,
        connection_body(&db, "sql-probe", READER_PASSWORD, json!({})),
    )
    .await;

    // A statement past the timeout is cut off as the call's deadline; the pool recovers.
    let slow = probe_query(&api, &conn, "SELECT pg_sleep(20)").await;
    assert_eq!(error_code(&slow), (502, Some("PLUGIN_FAULT")), "{}", slow.1);
    assert_eq!(
        slow.1["error"]["details"]["cause"], "deadline",
        "{}",
        slow.1
    );
    let after = probe_query(&api, &conn, "SELECT 42 AS answer").await;
    assert_eq!(after.0, 200, "{}", after.1);
    assert_eq!(after.1["data"]["entries"][0]["raw"], json!({"answer": 42}));

    // A million rows: no more than the row cap reaches the host or the plugin.
    let million = probe_query(
        &api,
        &conn,
        "SELECT g AS n, repeat('x', 50) AS pad FROM generate_series(1, 1000000) g",
    )
    .await;
    assert_eq!(million.0, 200, "{}", million.1);
    let entries = million.1["data"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1_000);
    assert_eq!(entries[999]["attributes"]["truncated"], "true");
    // Wide rows: the byte cap (1 MiB) stops it first.
    let wide = probe_query(
        &api,
        &conn,
        "SELECT repeat('x', 300000) AS pad FROM generate_series(1, 100)",
    )
    .await;
    assert_eq!(wide.0, 200, "{}", wide.1);
    let wide_rows = wide.1["data"]["entries"].as_array().unwrap();
    assert!(
        wide_rows.len() <= 4,
        "{} rows over the byte cap",
        wide_rows.len()
    );
    assert_eq!(wide_rows.last().unwrap()["attributes"]["truncated"], "true");

    // Writes never pass without allow_writes, whatever the statement tries.
    let before = order_count(&db).await;
    for statement in [
        "INSERT INTO sales.orders (id, title) VALUES (900, 'x') RETURNING id",
        "WITH gone AS (DELETE FROM sales.orders RETURNING id) SELECT count(*) FROM gone",
        "SET TRANSACTION READ WRITE",
        "COMMIT",
    ] {
        let (status, body) = probe_query(&api, &conn, statement).await;
        // COMMIT ends the host's transaction early and so writes nothing either.
        if statement != "COMMIT" {
            assert!((400..600).contains(&status), "{statement}: {body}");
        }
    }
    let insert = probe_query(
        &api,
        &conn,
        "INSERT INTO sales.orders (id, title) VALUES (901, 'x') RETURNING id",
    )
    .await;
    assert_eq!(
        error_code(&insert),
        (403, Some("FORBIDDEN")),
        "{}",
        insert.1
    );
    let execute = api
        .send(
            Method::POST,
            &format!("{conn}/actions/execute"),
            Some(json!({"statement": "DELETE FROM sales.orders"})),
        )
        .await;
    assert_eq!(
        error_code(&execute),
        (403, Some("FORBIDDEN")),
        "{}",
        execute.1
    );
    assert_eq!(order_count(&db).await, before, "nothing was written");

    // More statements than one call may run.
    let repeated = api
        .send(
            Method::POST,
            &format!("{conn}/actions/repeat"),
            Some(json!({"times": 10})),
        )
        .await;
    assert_eq!(
        repeated.1["error"]["code"], "PLUGIN_FAULT",
        "{}",
        repeated.1
    );
    assert_eq!(repeated.1["error"]["details"]["cause"], "statement_budget");

    // Nothing the guest can observe holds the password.
    let observed = api
        .send(
            Method::POST,
            &format!("{conn}/actions/observe"),
            Some(json!({})),
        )
        .await;
    assert_eq!(observed.0, 200, "{}", observed.1);
    let text = observed.1.to_string();
    assert!(
        text.contains("connector-host"),
        "the probe ran its query: {text}"
    );
    assert!(
        !text.contains(READER_PASSWORD),
        "the guest saw the password: {text}"
    );
    assert!(!log_capture::captured().contains(READER_PASSWORD));
}

#[tokio::test]
async fn a_database_on_a_private_address_needs_private_egress() {
    let db = shop().await;
    let api = tight_server(|config| config.allow_private_egress = false).await;
    // TLS `disable` is refused outright without private egress...
    let cleartext = api
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(connection_body(&db, "postgres", READER_PASSWORD, json!({}))),
        )
        .await;
    assert_eq!(
        error_code(&cleartext),
        (422, Some("VALIDATION")),
        "{}",
        cleartext.1
    );
    // ...and a name that resolves to loopback is refused after resolution.
    let loopback = api
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(connection_body(
                &db,
                "postgres",
                READER_PASSWORD,
                json!({"host": "localhost", "tls": "verify-full"}),
            )),
        )
        .await;
    assert_eq!(
        error_code(&loopback),
        (403, Some("EGRESS_DENIED")),
        "{}",
        loopback.1
    );
    let listed = api.get("/api/v1/connections").await;
    assert_eq!(listed["data"]["entries"], json!([]));
}

#[tokio::test]
async fn a_connections_pool_is_capped_and_closed_when_idle() {
    let db = shop().await;
    let api = tight_server(|config| {
        config.sql.max_pool_size = 2;
        config.sql.pool_idle_timeout = std::time::Duration::from_secs(0);
    })
    .await;
    let conn = connect(
        &api,
        connection_body(&db, "sql-probe", READER_PASSWORD, json!({})),
    )
    .await;
    let admin = db.admin("shop").await;

    // Four calls at once, each holding a connection for a while: never more than two sessions.
    let calls = futures::future::join_all(
        (0..4).map(|_| probe_query(&api, &conn, "SELECT pg_sleep(0.3) IS NULL AS slept")),
    );
    let watch = async {
        let mut most = 0;
        for _ in 0..20 {
            most = most.max(reader_sessions(&admin).await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        most
    };
    let (answers, most) = tokio::join!(calls, watch);
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    assert!(most <= 2, "{most} sessions for a pool of two");
    assert!(most >= 1, "the watcher saw the calls' sessions");

    // Idle pools are closed by the sweep.
    api.server.server.runtime.sql_pools().sweep();
    until_no_reader_sessions(&admin, "an idle pool stays open").await;
    assert_eq!(api.server.server.runtime.sql_pools().open_pools(), 0);
}

#[tokio::test]
async fn a_database_that_never_answers_fails_the_connect_and_stores_nothing() {
    // A peer that accepts TCP connections and then says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let api =
        tight_server(|config| config.sql.connect_timeout = std::time::Duration::from_millis(500))
            .await;
    let body = json!({
        "connector": "postgres",
        "config": {"host": "127.0.0.1", "port": port, "database": "shop", "tls": "disable"},
        "credentials": {"type": "basic", "username": READER, "password": READER_PASSWORD},
    });
    let started = Instant::now();
    let refused = api
        .send(Method::POST, "/api/v1/connections", Some(body))
        .await;
    assert_eq!(
        error_code(&refused),
        (503, Some("VENDOR_ERROR")),
        "{}",
        refused.1
    );
    assert!(
        refused.1["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("did not complete the connection")),
        "{}",
        refused.1
    );
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "the connect waited for the call deadline instead of the connect timeout"
    );
    let listed = api.get("/api/v1/connections").await;
    assert_eq!(listed["data"]["entries"], json!([]));
    silent.abort();
}

async fn large_objects(db: &PostgresServer) -> i64 {
    db.admin("shop")
        .await
        .query_one("SELECT count(*) FROM pg_largeobject_metadata", &[])
        .await
        .unwrap()
        .get(0)
}

/// Issue 41 (4): what a read-only transaction still lets through is refused by the host's
/// parser check before it reaches the database, and nothing is written: large objects, other
/// sessions, a second session through `dblink`, session state; `COPY ... TO PROGRAM` and
/// server files are refused even with writes.
#[tokio::test]
async fn read_only_is_a_boundary_not_just_a_transaction_mode() {
    let db = shop().await;
    let admin = db.admin("shop").await;
    let api = tight_server(|_| {}).await;
    let conn = connect(
        &api,
        connection_body(&db, "sql-probe", READER_PASSWORD, json!({})),
    )
    .await;
    for statement in [
        "SELECT lo_from_bytea(0, 'planted')",
        "SELECT pg_catalog.lo_create(0)",
        "SELECT 1 LIMIT lo_from_bytea(0, 'x')",
        "SELECT \"lo_from_bytea\"(0, 'quoted') /* lo_ comments do not matter */",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()",
        "SELECT dblink_exec('dbname=shop', 'DELETE FROM sales.orders')",
        "SELECT set_config('search_path', 'evil', false)",
        "SELECT pg_advisory_lock(42)",
        "COPY (SELECT 1) TO PROGRAM 'id'",
        "SELECT 1; SELECT lo_from_bytea(0, 'second')",
    ] {
        let (status, body) = probe_query(&api, &conn, statement).await;
        assert!(
            matches!(status, 403 | 422 | 502),
            "{statement}: {status} {body}"
        );
    }
    assert_eq!(large_objects(&db).await, 0, "no large object was written");
    // The admin session the probe tried to end is still there.
    let alive: i32 = admin.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(alive, 1);
    let locks: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(locks, 0);
    // Reads still pass.
    let (status, body) = probe_query(&api, &conn, "SELECT count(*) AS n FROM sales.orders").await;
    assert_eq!(status, 200, "{body}");
}

/// A login that could run programs or touch files on the database server is refused when the
/// connection is made (422), unless the operator allows it.
#[tokio::test]
async fn privileged_database_logins_are_refused_unless_the_operator_allows_them() {
    let db = shop().await;
    let admin = db.admin("postgres").await;
    admin
        .batch_execute(
            "CREATE ROLE boss SUPERUSER LOGIN PASSWORD 'boss-pw-91c2';
             CREATE ROLE filer LOGIN PASSWORD 'filer-pw-17aa';
             GRANT pg_write_server_files TO filer;",
        )
        .await
        .unwrap();
    let api = TenantSession::start().await;
    for (user, password, why) in [
        ("boss", "boss-pw-91c2", "superuser"),
        ("filer", "filer-pw-17aa", "pg_write_server_files"),
    ] {
        let mut body = connection_body(&db, "postgres", password, json!({}));
        body["credentials"]["username"] = json!(user);
        let (status, refused) = api
            .send(Method::POST, "/api/v1/connections", Some(body))
            .await;
        assert_eq!(status, 422, "{user}: {refused}");
        assert!(refused.to_string().contains(why), "{refused}");
    }
    let (_, listed) = api.send(Method::GET, "/api/v1/connections", None).await;
    assert_eq!(listed["data"]["entries"], json!([]), "nothing stored");

    let open = TestServer::start_with(|config| config.sql.allow_privileged_roles = true).await;
    let key = open.tenant("acme").await;
    let mut body = connection_body(&db, "postgres", "boss-pw-91c2", json!({}));
    body["credentials"]["username"] = json!("boss");
    let (status, created) = open
        .send(Method::POST, "/api/v1/connections", Some(&key), Some(body))
        .await;
    assert_eq!(status, 201, "the operator opted in: {created}");
}

/// A session is reset when its statement ends, not at the next checkout: a temporary table
/// made by a writing connection is gone from the server as soon as the call returns.
#[tokio::test]
async fn session_state_ends_with_the_call() {
    let db = shop().await;
    let admin = db.admin("shop").await;
    admin
        .batch_execute(&format!("GRANT TEMPORARY ON DATABASE shop TO {READER}"))
        .await
        .unwrap();
    let api = tight_server(|config| config.sql.max_pool_size = 1).await;
    let conn = connect(
        &api,
        connection_body(
            &db,
            "sql-probe",
            READER_PASSWORD,
            json!({"allow_writes": true}),
        ),
    )
    .await;
    let made = api
        .send(
            Method::POST,
            &format!("{conn}/actions/execute"),
            Some(json!({"statement": "CREATE TEMPORARY TABLE scratch (n integer)"})),
        )
        .await;
    assert_eq!(made.0, 200, "{}", made.1);
    let temporary: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname = 'scratch' AND relpersistence = 't'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(temporary, 0, "the session was reset when the call ended");
}

/// The resident high-water mark of a process, in KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Issue 41 (5): a table of huge rows costs the host no more than `sql.max_result_mib` of
/// memory (plus a constant), whatever the row sizes. Four rows of 48 MiB each, read by the
/// real binary with a 1 MiB cap: the host's peak RSS barely moves (before the meter, the
/// driver buffered a whole chunk of rows before the cap applied: about +190 MiB here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_rows_cost_the_host_no_more_than_the_byte_cap() {
    use connector_tests::harness::{HostProcess, plugin_path};

    connector_host::install_crypto_provider();
    let db = shop().await;
    db.admin("shop")
        .await
        .batch_execute(&format!(
            "CREATE TABLE sales.huge AS
                 SELECT n, repeat('x', 48 * 1024 * 1024) AS pad FROM generate_series(1, 4) n;
             GRANT SELECT ON sales.huge TO {READER};"
        ))
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let plugins = data.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(plugin_path("sql_probe"), plugins.join("sql_probe.wasm")).unwrap();
    let admin_token = "huge-rows-admin-token-0123456789";
    let host = HostProcess::start(
        data.path(),
        &plugins,
        &[
            ("CONNECTOR_HOST_ADMIN_TOKEN", admin_token),
            ("CONNECTOR_HOST_SQL__MAX_RESULT_MIB", "1"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let send = |method: Method, path: &str, token: &str, body: Option<Value>| {
        let mut request = client
            .request(method, format!("{}{path}", host.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, _) = send(
        Method::POST,
        "/admin/v1/tenants",
        admin_token,
        Some(json!({"id": "acme", "name": "Acme"})),
    )
    .await;
    assert_eq!(status, 201);
    let (_, issued) = send(
        Method::POST,
        "/admin/v1/tenants/acme/api-keys",
        admin_token,
        None,
    )
    .await;
    let key = issued["data"]["key"].as_str().unwrap().to_owned();
    let (status, created) = send(
        Method::POST,
        "/api/v1/connections",
        &key,
        Some(connection_body(
            &db,
            "sql-probe",
            READER_PASSWORD,
            json!({}),
        )),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let conn = format!(
        "/api/v1/connections/{}",
        created["data"]["id"].as_str().unwrap()
    );
    let query =
        |statement: &str| format!("{conn}/search?q={}&include_raw=true", encoded(statement));
    // Warm: the plugin compiled and instantiated, a session open.
    let (status, body) = send(Method::GET, &query("SELECT 1 AS one"), &key, None).await;
    assert_eq!(status, 200, "{body}");
    let before = peak_rss_kib(host.child.id());
    let (status, body) = send(
        Method::GET,
        &query("SELECT n, pad FROM sales.huge ORDER BY n"),
        &key,
        None,
    )
    .await;
    let after = peak_rss_kib(host.child.id());
    assert_eq!(status, 200, "{body}");
    let entries = body["data"]["entries"].as_array().unwrap();
    assert!(
        entries.len() <= 1,
        "{} rows over a 1 MiB cap",
        entries.len()
    );
    eprintln!(
        "peak RSS before {} MiB, after {} MiB (4 rows of 48 MiB, cap 1 MiB)",
        before / 1024,
        after / 1024
    );
    assert!(
        after.saturating_sub(before) < 24 * 1024,
        "the peak grew by {} MiB",
        after.saturating_sub(before) / 1024
    );
    // The session that hit the cap is gone; the next call opens a fresh one.
    let (status, body) = send(Method::GET, &query("SELECT 2 AS two"), &key, None).await;
    assert_eq!(status, 200, "{body}");
}
