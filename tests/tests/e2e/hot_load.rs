//! Hot loading through the admin API and the watched plugins dir: versions swap under load
//! without a failed request, broken versions are refused while the running one serves, rollback
//! and unload, signatures, and plugins of both contract versions side by side.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::{self, ADMIN_TOKEN, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

fn sha256(bytes: &[u8]) -> String {
    harness::sha256_hex(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn probe_wasm() -> Vec<u8> {
    std::fs::read(harness::plugin_path("probe")).expect("probe.wasm")
}

/// Sends `wasm` to `PUT /admin/v1/plugins/{id}` with extra headers.
pub(crate) async fn upload(
    server: &TestServer,
    id: &str,
    wasm: Vec<u8>,
    headers: &[(&str, String)],
) -> (u16, Value) {
    let mut request = server
        .client
        .put(format!("{}/admin/v1/plugins/{id}", server.base))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/wasm")
        .body(wasm);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("upload sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON envelope"))
}

async fn admin(server: &TestServer, method: Method, path: &str) -> (u16, Value) {
    server.send(method, path, Some(ADMIN_TOKEN), None).await
}

/// The registry entry of `id` from `GET /admin/v1/plugins`.
async fn registry_entry(server: &TestServer, id: &str) -> Value {
    let (status, body) = admin(server, Method::GET, "/admin/v1/plugins").await;
    assert_eq!(status, 200, "{body}");
    body["data"]
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// The host's audit events with this action.
async fn audited(server: &TestServer, action: &str) -> Vec<Value> {
    let (status, body) = admin(server, Method::GET, "/admin/v1/audit?limit=500").await;
    assert_eq!(status, 200, "{body}");
    body["data"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

/// Lists containers through the connection; returns the status and the sha256 of the plugin
/// version that answered.
async fn list_containers(server: &TestServer, key: &str, connection: &str) -> (u16, String) {
    let response = server
        .client
        .get(format!(
            "{}/api/v1/connections/{connection}/containers?limit=3",
            server.base
        ))
        .bearer_auth(key)
        .send()
        .await
        .expect("request sent");
    let sha = response
        .headers()
        .get("x-plugin-sha256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let status = response.status().as_u16();
    if status != 200 {
        let body = response.text().await.unwrap_or_default();
        eprintln!("containers answered {status}: {body}");
    }
    (status, sha)
}

struct Setup {
    server: TestServer,
    _vendor: ProbeVendor,
    key: String,
    connection: String,
}

async fn setup_with(adjust: impl FnOnce(&mut connector_host::config::HostConfig)) -> Setup {
    let server = TestServer::start_with(adjust).await;
    let vendor = ProbeVendor::start().await;
    let key = server.tenant("ops").await;
    let connection = server
        .probe_connection(&key, &vendor.origin(), "probe-token")
        .await;
    Setup {
        server,
        _vendor: vendor,
        key,
        connection,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_uploads_and_a_rollback_under_load_fail_no_request() {
    let Setup {
        server,
        key,
        connection,
        _vendor,
    } = setup_with(|_| {}).await;
    let server = Arc::new(server);
    let original = probe_wasm();
    let (status, first) = list_containers(&server, &key, &connection).await;
    assert_eq!((status, first.as_str()), (200, sha256(&original).as_str()));

    // Steady concurrent load for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..6 {
        let (server, key, connection) = (server.clone(), key.clone(), connection.clone());
        let (stop, served) = (stop.clone(), served.clone());
        workers.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            let mut versions = std::collections::BTreeSet::new();
            while !stop.load(Ordering::Relaxed) {
                let (status, sha) = list_containers(&server, &key, &connection).await;
                if status != 200 {
                    failures.push(status);
                }
                versions.insert(sha);
                served.fetch_add(1, Ordering::Relaxed);
            }
            (failures, versions)
        }));
    }

    let mut shas = Vec::new();
    for index in 1..=10 {
        let wasm = harness::plugin_variant(&original, index);
        let sha = sha256(&wasm);
        let (status, body) =
            upload(&server, "probe", wasm, &[("x-plugin-sha256", sha.clone())]).await;
        assert_eq!(status, 200, "upload {index}: {body}");
        assert_eq!(body["data"]["current"]["sha256"], sha.as_str());
        // Any request started after the upload answered runs on the new version.
        let (status, answered_by) = list_containers(&server, &key, &connection).await;
        assert_eq!(
            (status, answered_by.as_str()),
            (200, sha.as_str()),
            "upload {index}"
        );
        shas.push(sha);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, body) = admin(&server, Method::POST, "/admin/v1/plugins/probe/rollback").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["current"]["sha256"], shas[8].as_str());
    assert_eq!(body["data"]["previous"]["sha256"], shas[9].as_str());
    let (status, answered_by) = list_containers(&server, &key, &connection).await;
    assert_eq!((status, answered_by.as_str()), (200, shas[8].as_str()));
    tokio::time::sleep(Duration::from_millis(100)).await;

    stop.store(true, Ordering::Relaxed);
    let mut seen = std::collections::BTreeSet::new();
    for worker in workers {
        let (failures, versions) = worker.await.expect("worker");
        assert!(failures.is_empty(), "failed requests: {failures:?}");
        seen.extend(versions);
    }
    assert!(
        served.load(Ordering::Relaxed) >= 60,
        "the load kept running throughout"
    );
    assert!(
        seen.len() >= 3,
        "concurrent clients saw the versions change: {seen:?}"
    );

    let entry = registry_entry(&server, "probe").await;
    assert_eq!(entry["status"], "loaded");
    assert_eq!(entry["current"]["sha256"], shas[8].as_str());
    assert_eq!(entry["current"]["wit_version"], "0.3.0");
    assert_eq!(entry["current"]["origin"]["source"], "upload");
    assert!(entry["current"]["calls"].as_u64().unwrap() >= 1);
    assert_eq!(entry["current"]["faults"], 0);
    assert_eq!(entry["previous_available"], true);
    let loads = audited(&server, "plugin.load").await;
    assert_eq!(
        loads
            .iter()
            .filter(|e| e["target"] == "probe" && e["details"]["origin"]["source"] == "upload")
            .count(),
        10
    );
    assert_eq!(audited(&server, "plugin.rollback").await.len(), 1);
}

/// One refused upload: (case, upload id, bytes, headers, status, stage, message part).
type BrokenUpload = (
    &'static str,
    &'static str,
    Vec<u8>,
    Vec<(&'static str, String)>,
    u16,
    &'static str,
    &'static str,
);

/// A component in the text format, encoded.
fn component(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("valid component text")
}

/// A component exporting `connector:plugin/connector@0.3.0` with every function the contract
/// names, each of type `func()`.
fn wrongly_typed_v0_3() -> Vec<u8> {
    let names = [
        "info",
        "validate",
        "connect",
        "containers",
        "items",
        "get-item",
        "comments",
        "search",
        "create-item",
        "create-comment",
        "update-item",
        "invoke-action",
        "webhook-event",
        "register-webhook",
        "unregister-webhook",
    ];
    let exports: String = names
        .iter()
        .map(|name| format!(r#"(export "{name}" (func $f))"#))
        .collect();
    component(&format!(
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func $f (canon lift (core func $i "f")))
            (instance $c {exports})
            (export "connector:plugin/connector@0.3.0" (instance $c)))"#
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_uploads_are_refused_and_the_running_version_keeps_serving() {
    let Setup {
        server,
        key,
        connection,
        _vendor,
    } = setup_with(|config| config.max_plugin_mib = 1).await;
    let running = sha256(&probe_wasm());
    let trap_info = std::fs::read(harness::plugin_path("trap_info")).expect("trap_info.wasm");
    let other = harness::plugin_variant(&probe_wasm(), 99);
    let cases: Vec<BrokenUpload> = vec![
        (
            "garbage",
            "probe",
            b"definitely not wasm".to_vec(),
            vec![],
            422,
            "compile",
            "not a WebAssembly component",
        ),
        (
            "core module",
            "probe",
            component("(module)"),
            vec![],
            422,
            "compile",
            "not a WebAssembly component",
        ),
        (
            "no connector export",
            "probe",
            component("(component)"),
            vec![],
            422,
            "contract_version",
            "does not export",
        ),
        (
            "unknown major version",
            "probe",
            component(
                r#"(component (instance $c) (export "connector:plugin/connector@1.0.0" (instance $c)))"#,
            ),
            vec![],
            422,
            "contract_version",
            "built against connector:plugin@1.0.0; this host serves connector:plugin@0.1.x, connector:plugin@0.2.x, connector:plugin@0.3.x",
        ),
        (
            "forbidden import",
            "probe",
            component(
                r#"(component (import "wasi:sockets/tcp@0.2.0" (instance)) (instance $c) (export "connector:plugin/connector@0.2.0" (instance $c)))"#,
            ),
            vec![],
            422,
            "link",
            "wasi:sockets/tcp@0.2.0",
        ),
        (
            "export without the functions",
            "probe",
            component(
                r#"(component (instance $c) (export "connector:plugin/connector@0.2.0" (instance $c)))"#,
            ),
            vec![],
            422,
            "link",
            "link check failed",
        ),
        (
            // Every function of 0.3.0 is there by name but takes and returns nothing: calls
            // check only the function they use, so all fifteen are checked at load.
            "0.3.0 functions of the wrong type",
            "probe",
            wrongly_typed_v0_3(),
            vec![],
            422,
            "link",
            "type mismatch",
        ),
        (
            "info() traps",
            "probe",
            trap_info,
            vec![],
            422,
            "info",
            "info() failed",
        ),
        (
            "sha256 mismatch",
            "probe",
            other.clone(),
            vec![("x-plugin-sha256", "0".repeat(64))],
            422,
            "sha256",
            "sha256 mismatch",
        ),
        (
            "malformed pin",
            "probe",
            other.clone(),
            vec![("x-plugin-sha256", "xyz".into())],
            422,
            "sha256",
            "64 hex digits",
        ),
        (
            "id mismatch",
            "jira",
            other.clone(),
            vec![],
            422,
            "id",
            "says it is `probe`, but was loaded as `jira`",
        ),
        (
            "oversized",
            "probe",
            vec![0u8; (1 << 20) + 1],
            vec![],
            413,
            "size",
            "the most this host accepts is 1048576",
        ),
    ];
    let refused = cases.len();
    for (case, id, wasm, headers, want_status, want_stage, want_message) in cases {
        let (status, body) = upload(&server, id, wasm, &headers).await;
        assert_eq!(status, want_status, "{case}: {body}");
        assert_eq!(body["ok"], false, "{case}");
        assert_eq!(
            body["error"]["details"]["stage"], want_stage,
            "{case}: {body}"
        );
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(want_message), "{case}: {message}");
        // The running version keeps serving, unchanged.
        let (status, answered_by) = list_containers(&server, &key, &connection).await;
        assert_eq!(
            (status, answered_by.as_str()),
            (200, running.as_str()),
            "{case}"
        );
    }
    let entry = registry_entry(&server, "probe").await;
    assert_eq!(entry["current"]["sha256"], running.as_str());
    assert_eq!(entry["previous_available"], false, "nothing was swapped in");
    let jira = registry_entry(&server, "jira").await;
    assert_eq!(
        jira["status"], "loaded",
        "the id-mismatch upload left jira alone"
    );
    // The uploads' refusals (this host's 1 MiB cap also keeps the plugins dir's larger files,
    // the declarative interpreter and so its manifests, out: the host's own refusals).
    let failures: Vec<_> = audited(&server, "plugin.load_failed")
        .await
        .into_iter()
        .filter(|event| event["actor"] == "admin")
        .collect();
    assert_eq!(failures.len(), refused, "{failures:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unload_keeps_connections_and_rollback_brings_the_plugin_back() {
    let Setup {
        server,
        key,
        connection,
        _vendor,
    } = setup_with(|_| {}).await;
    let (status, body) = admin(&server, Method::POST, "/admin/v1/plugins/probe/rollback").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("CONFLICT")),
        "no previous version yet: {body}"
    );
    let (status, body) = admin(&server, Method::DELETE, "/admin/v1/plugins/nope").await;
    assert_eq!(status, 404, "{body}");

    let (status, body) = admin(&server, Method::DELETE, "/admin/v1/plugins/probe").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "unloaded");
    let (status, body) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{connection}/containers"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("NOT_CONNECTED")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connector `probe` is not loaded on this host; its connections are kept"),
        "{body}"
    );
    let (status, kept) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{connection}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200, "the connection is not deleted: {kept}");
    let (status, _) = admin(&server, Method::DELETE, "/admin/v1/plugins/probe").await;
    assert_eq!(status, 404, "already unloaded");

    let (status, body) = admin(&server, Method::POST, "/admin/v1/plugins/probe/rollback").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "loaded");
    let (status, _) = list_containers(&server, &key, &connection).await;
    assert_eq!(status, 200, "the connection works again");
    assert_eq!(audited(&server, "plugin.unload").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watched_dir_loads_whole_files_only_and_unloads_removed_ones() {
    let Setup {
        server,
        key,
        connection,
        _vendor,
    } = setup_with(|config| config.plugin_watch_debounce_ms = 400).await;
    let dir = server.data.path().join("plugins");
    let path = dir.join("probe.wasm");
    let next = harness::plugin_variant(&probe_wasm(), 7);
    let next_sha = sha256(&next);

    // Written in two halves with a pause: the debounced watcher must wait for the whole file.
    let (head, tail) = next.split_at(next.len() / 2);
    std::fs::write(&path, head).expect("first half");
    tokio::time::sleep(Duration::from_millis(60)).await;
    {
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("reopen");
        file.write_all(tail).expect("second half");
    }
    let entry = wait_for(&server, "probe", |entry| {
        entry["current"]["sha256"] == next_sha.as_str()
    })
    .await;
    assert_eq!(entry["current"]["origin"]["source"], "directory");
    let (status, answered_by) = list_containers(&server, &key, &connection).await;
    assert_eq!((status, answered_by.as_str()), (200, next_sha.as_str()));
    assert!(
        audited(&server, "plugin.load_failed").await.is_empty(),
        "the half-written file was never tried"
    );

    // A broken file is refused and audited; nothing else changes.
    std::fs::write(dir.join("junk.wasm"), b"not a component").expect("junk");
    for _ in 0..100 {
        if !audited(&server, "plugin.load_failed").await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failures = audited(&server, "plugin.load_failed").await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["details"]["stage"], "compile");

    // Reading a plugin file (as an upload with curl does) is not a change to load.
    let (status, _) = admin(&server, Method::DELETE, "/admin/v1/plugins/probe").await;
    assert_eq!(status, 200);
    std::fs::read(&path).expect("read the plugin file");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(registry_entry(&server, "probe").await["status"], "unloaded");
    let (status, _) = admin(&server, Method::POST, "/admin/v1/plugins/probe/rollback").await;
    assert_eq!(status, 200);

    // Removing the file a plugin was loaded from unloads it.
    std::fs::remove_file(&path).expect("remove");
    wait_for(&server, "probe", |entry| entry["status"] == "unloaded").await;
}

/// Polls the registry until `id` satisfies `done` (the watcher works in the background).
///
/// The bound is a liveness limit, not a timing assert: a load from the watched dir compiles the
/// component, which on a 2-core CI machine busy with the other tests' compiles took over 15 s.
/// The loader itself allows a compile 120 s.
async fn wait_for(server: &TestServer, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(150);
    while std::time::Instant::now() < deadline {
        let entry = registry_entry(server, id).await;
        if done(&entry) {
            return entry;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{id} never reached the expected state: {}; audit: {:?}",
        registry_entry(server, id).await,
        audited(server, "plugin.load_failed").await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_signatures_refuse_unsigned_and_wrongly_signed_plugins() {
    // Keys and signatures made by the CLI an operator would use.
    let keys = tempfile::tempdir().expect("temp dir");
    let trusted_key = keys.path().join("trusted.key");
    let stranger_key = keys.path().join("stranger.key");
    let printed = harness::run_cli(
        keys.path(),
        &["plugin", "keygen", trusted_key.to_str().unwrap()],
    );
    let public = printed
        .lines()
        .find_map(|line| line.strip_prefix("public key (add to plugin_trusted_keys): "))
        .expect("public key printed")
        .to_owned();
    harness::run_cli(
        keys.path(),
        &["plugin", "keygen", stranger_key.to_str().unwrap()],
    );
    let plugin = keys.path().join("probe.wasm");
    std::fs::write(&plugin, harness::plugin_variant(&probe_wasm(), 3)).expect("plugin");
    let sign = |key: &std::path::Path| {
        harness::run_cli(
            keys.path(),
            &[
                "plugin",
                "sign",
                "--key",
                key.to_str().unwrap(),
                plugin.to_str().unwrap(),
            ],
        );
        std::fs::read_to_string(plugin.with_extension("wasm.sig")).expect("signature file")
    };
    let wrong_signature = sign(&stranger_key);
    let signature = sign(&trusted_key);

    let server = TestServer::start_with(|config| {
        config.require_signed_plugins = true;
        config.plugin_trusted_keys = vec![public.clone()];
    })
    .await;
    assert!(
        registry_entry(&server, "probe").await.is_null(),
        "unsigned plugins in the dir were refused at start"
    );
    let wasm = std::fs::read(&plugin).expect("plugin");
    for (case, headers, message) in [
        ("unsigned", vec![], "requires signed plugins"),
        (
            "wrong key",
            vec![("x-plugin-signature", wrong_signature)],
            "does not verify",
        ),
        (
            "malformed",
            vec![("x-plugin-signature", "bm9wZQ==".to_owned())],
            "not base64 of 64 bytes",
        ),
    ] {
        let (status, body) = upload(&server, "probe", wasm.clone(), &headers).await;
        assert_eq!(status, 403, "{case}: {body}");
        assert_eq!(body["error"]["details"]["stage"], "signature", "{case}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(message),
            "{case}: {body}"
        );
    }
    let (status, body) = upload(&server, "probe", wasm, &[("x-plugin-signature", signature)]).await;
    assert_eq!(status, 201, "{body}");
    let key_id = &public_key_id(&public);
    assert_eq!(
        body["data"]["current"]["origin"]["signed_by"],
        key_id.as_str()
    );
}

fn public_key_id(public: &str) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(public)
        .expect("base64 key");
    hex(&bytes[..8])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_built_against_0_1_0_2_and_0_3_are_served_by_one_host() {
    let Setup {
        server,
        key,
        connection,
        _vendor,
    } = setup_with(|_| {}).await;
    let vendor = ProbeVendor::start().await;
    let legacy = registry_entry(&server, "legacy").await;
    assert_eq!(legacy["current"]["wit_version"], "0.1.0", "{legacy}");
    let middle = registry_entry(&server, "legacy-v2").await;
    assert_eq!(middle["current"]["wit_version"], "0.2.0", "{middle}");
    let probe = registry_entry(&server, "probe").await;
    assert_eq!(probe["current"]["wit_version"], "0.3.0", "{probe}");

    // 0.2.0: config through the `config` import, discovered values kept, pages lifted.
    let (status, created) = server
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(&key),
            Some(json!({
                "connector": "legacy-v2",
                "config": {"base_url": vendor.origin()},
                "credentials": {"type": "bearer", "token": "middle-token"},
            })),
        )
        .await;
    assert_eq!(
        status, 201,
        "connect() through the 0.2.0 adapters: {created}"
    );
    assert_eq!(created["data"]["values"]["contract"], "0.2.0");
    let middle_connection = created["data"]["id"].as_str().unwrap().to_owned();
    let (ids, _) = server
        .all_pages(
            &key,
            &format!("/api/v1/connections/{middle_connection}/containers?limit=4"),
        )
        .await;
    assert_eq!(ids, ["c1", "c2", "c3", "c4", "c5", "c6", "c7"]);

    let (status, created) = server
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(&key),
            Some(json!({
                "connector": "legacy",
                "config": {"base_url": vendor.origin()},
                "credentials": {"type": "bearer", "token": "legacy-token"},
            })),
        )
        .await;
    assert_eq!(
        status, 201,
        "connect() through the 0.1.0 adapters: {created}"
    );
    assert_eq!(created["data"]["principal"]["id"], "u-1");
    let legacy_connection = created["data"]["id"].as_str().unwrap().to_owned();
    let (ids, pages) = server
        .all_pages(
            &key,
            &format!("/api/v1/connections/{legacy_connection}/containers?limit=3"),
        )
        .await;
    assert_eq!(ids, ["c1", "c2", "c3", "c4", "c5", "c6", "c7"]);
    assert_eq!(pages, 3);
    assert!(
        vendor
            .recorder
            .requests()
            .iter()
            .filter(|r| r.path == "/containers")
            .all(|r| matches!(
                r.header("authorization"),
                Some("Bearer legacy-token" | "Bearer middle-token")
            )),
        "the 0.1.0 and 0.2.0 http imports attach the credential like 0.3.0"
    );
    let (status, body) = server
        .send(
            Method::PATCH,
            &format!("/api/v1/connections/{legacy_connection}/items/c1-i1"),
            Some(&key),
            Some(json!({"title": "new"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (501, Some("UNSUPPORTED")),
        "0.1.0 has no update-item: {body}"
    );
    let (status, _) = list_containers(&server, &key, &connection).await;
    assert_eq!(status, 200, "the 0.3.0 probe serves beside them");
}

/// What the admin API does to a plugin is kept in the store: after a restart the host serves
/// the uploaded version over its directory's and can still roll back; a rollback and an
/// unload outlive a restart too.
#[tokio::test]
async fn uploads_rollbacks_and_unloads_outlive_a_restart() {
    let Setup {
        server,
        key,
        connection,
        _vendor,
    } = setup_with(|_| {}).await;
    let original = probe_wasm();
    let variant = harness::plugin_variant(&original, 3);
    let (status, body) = upload(&server, "probe", variant.clone(), &[]).await;
    assert_eq!(status, 200, "{body}");

    let server = server.restart().await;
    let (status, answered_by) = list_containers(&server, &key, &connection).await;
    assert_eq!((status, answered_by), (200, sha256(&variant)));
    let entry = registry_entry(&server, "probe").await;
    assert_eq!(entry["current"]["origin"]["source"], "upload");
    assert_eq!(entry["previous"]["sha256"], sha256(&original).as_str());

    let (status, body) = admin(&server, Method::POST, "/admin/v1/plugins/probe/rollback").await;
    assert_eq!(status, 200, "{body}");
    let server = server.restart().await;
    let (status, answered_by) = list_containers(&server, &key, &connection).await;
    assert_eq!((status, answered_by), (200, sha256(&original)));

    let (status, body) = admin(&server, Method::DELETE, "/admin/v1/plugins/probe").await;
    assert_eq!(status, 200, "{body}");
    let server = server.restart().await;
    let entry = registry_entry(&server, "probe").await;
    assert_eq!(entry["status"], "unloaded", "{entry}");
    let (status, _) = list_containers(&server, &key, &connection).await;
    assert_eq!(status, 409);
}
