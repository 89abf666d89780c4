//! The real binary: crash safety under SIGKILL, and master-key rotation online and offline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::{self, HostProcess, ProcessApi, run_cli};
use serde_json::json;

use connector_tests::harness::PROCESS_ADMIN_TOKEN as ADMIN;

fn plugins_dir(data: &std::path::Path) -> std::path::PathBuf {
    let dir = data.join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(harness::plugin_path("probe"), dir.join("probe.wasm")).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_credential_write_survives_sigkill() {
    let vendor = ProbeVendor::start().await;
    let data = tempfile::tempdir().unwrap();
    let plugins = plugins_dir(data.path());
    let env = [("CONNECTOR_HOST_ADMIN_TOKEN", ADMIN)];
    let mut host = HostProcess::start(data.path(), &plugins, &env).await;
    let api = ProcessApi::of(&host);
    let key = api.tenant_key("crash").await;

    // Four writers create connections as fast as they can; each acknowledged one is recorded.
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (api, key, origin, acknowledged) = (
            ProcessApi::of(&host),
            key.clone(),
            vendor.origin(),
            acknowledged.clone(),
        );
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let token = format!("tok-{writer}-{n}");
                match api.create(&key, &origin, &token).await {
                    Ok((201, body)) => acknowledged
                        .lock()
                        .unwrap()
                        .push((body["data"]["id"].as_str().unwrap().to_owned(), token)),
                    Ok((status, body)) => panic!("write refused before the crash: {status} {body}"),
                    Err(_) => return, // the host died mid-request: this write was never acknowledged
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    host.kill();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 4,
        "the stream wrote something before the kill: {}",
        acknowledged.len()
    );

    let restarted = HostProcess::start(data.path(), &plugins, &env).await;
    let api = ProcessApi::of(&restarted);
    for (id, token) in &acknowledged {
        assert_eq!(
            &api.token_in_use(&key, id, &vendor).await,
            token,
            "acknowledged write {id} survived"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_keys_rotate_online_and_offline_with_every_secret_still_opening() {
    let vendor = ProbeVendor::start().await;
    let data = tempfile::tempdir().unwrap();
    let plugins = plugins_dir(data.path());
    let env = [("CONNECTOR_HOST_ADMIN_TOKEN", ADMIN)];
    let key_files = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(data.path().join("keys"))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".key"))
            .collect();
        names.sort();
        names
    };

    let mut host = HostProcess::start(data.path(), &plugins, &env).await;
    let api = ProcessApi::of(&host);
    let key = api.tenant_key("rotor").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let (status, body) = api
            .create(&key, &vendor.origin(), &format!("tok-{n}"))
            .await
            .unwrap();
        assert_eq!(status, 201);
        ids.push(body["data"]["id"].as_str().unwrap().to_owned());
    }
    let (_, _) = api
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/connections/{}/cursors/s", ids[0]),
            &key,
            Some(json!({"cursor": "c-1"})),
        )
        .await
        .unwrap();
    let original = key_files();
    assert_eq!(original.len(), 1);

    // Online, through the admin API.
    let (status, report) = api
        .call(reqwest::Method::POST, "/admin/v1/keys/rotate", ADMIN, None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["data"]["resealed"], 4,
        "three credentials and one cursor"
    );
    let online = key_files();
    assert_eq!(online.len(), 1);
    assert_ne!(online, original, "the old key file is gone");
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(
            api.token_in_use(&key, id, &vendor).await,
            format!("tok-{n}")
        );
    }
    host.terminate();

    // Offline, with the CLI on the stopped host's data dir.
    let printed = run_cli(data.path(), &["keys", "rotate"]);
    assert!(printed.contains("\"resealed\": 4"), "{printed}");
    let offline = key_files();
    assert_ne!(offline, online);
    let restarted = HostProcess::start(data.path(), &plugins, &env).await;
    let api = ProcessApi::of(&restarted);
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(
            api.token_in_use(&key, id, &vendor).await,
            format!("tok-{n}")
        );
    }
    let (_, cursor) = api
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/connections/{}/cursors/s", ids[0]),
            &key,
            None,
        )
        .await
        .unwrap();
    assert_eq!(cursor["data"]["cursor"], "c-1");
    for secret in ["tok-0", "tok-1", "tok-2", ADMIN, key.as_str()] {
        assert!(
            !restarted.log_text().contains(secret),
            "the host log shows {secret}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sync_killed_mid_run_resumes_without_losing_or_repeating_a_change() {
    connector_host::install_crypto_provider();
    // Eight pages of 100, a quarter of a second each: the kill lands mid-pass.
    let vendor = connector_tests::fakes::SyncVendor::start(800, true).await;
    vendor.set_page_delay(Duration::from_millis(250));
    let data = tempfile::tempdir().unwrap();
    let plugins = plugins_dir(data.path());
    let env = [
        ("CONNECTOR_HOST_ADMIN_TOKEN", ADMIN),
        ("CONNECTOR_HOST_SYNCS__TICK_MS", "50"),
    ];
    let mut host = HostProcess::start(data.path(), &plugins, &env).await;
    let api = ProcessApi::of(&host);
    let key = api.tenant_key("crash").await;
    let (status, body) = api
        .create(&key, &vendor.origin(), "sync-token")
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    let connection = body["data"]["id"].as_str().unwrap().to_owned();
    let syncs = format!("/api/v1/connections/{connection}/syncs");
    let changes = format!("/api/v1/connections/{connection}/changes?limit=1000");
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            &syncs,
            &key,
            Some(json!({"container": "box"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    let sync = body["data"]["id"].as_str().unwrap().to_owned();

    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let before_kill = loop {
        let (_, body) = api
            .call(reqwest::Method::GET, &changes, &key, None)
            .await
            .unwrap();
        let count = body["data"]["entries"].as_array().map_or(0, Vec::len);
        if count >= 200 {
            break count;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sync made no progress"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    host.kill();
    assert!(before_kill < 800, "killed mid-run ({before_kill} changes)");

    let host = HostProcess::start(data.path(), &plugins, &env).await;
    let api = ProcessApi::of(&host);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = api
            .call(reqwest::Method::GET, &format!("{syncs}/{sync}"), &key, None)
            .await
            .unwrap();
        if body["data"]["last_run"]["status"] == "succeeded" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sync did not finish after the restart: {body}\n{}",
            host.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, body) = api
        .call(reqwest::Method::GET, &changes, &key, None)
        .await
        .unwrap();
    let entries = body["data"]["entries"].as_array().unwrap();
    let items: Vec<&str> = entries
        .iter()
        .map(|e| e["item_id"].as_str().unwrap())
        .collect();
    assert_eq!(items.len(), 800, "no change lost, none repeated");
    assert!(entries.iter().all(|e| e["kind"] == "created"));
    let unique: std::collections::BTreeSet<&str> = items.iter().copied().collect();
    assert_eq!(unique.len(), 800);
    assert_eq!(
        unique.into_iter().map(str::to_owned).collect::<Vec<_>>(),
        vendor.ids()
    );

    let (_, runs) = api
        .call(
            reqwest::Method::GET,
            &format!("{syncs}/{sync}/runs"),
            &key,
            None,
        )
        .await
        .unwrap();
    let statuses: Vec<&str> = runs["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["succeeded", "interrupted"], "{runs}");
    let resumed = &runs["data"]["entries"][0]["counts"]["created"];
    assert!(
        resumed.as_u64().unwrap() <= 800 - before_kill as u64,
        "the resumed run did not list again what was committed: {resumed}"
    );
}

/// `connector-host openapi | head` ends quietly when the reader stops early: no panic, exit 0.
#[test]
fn a_document_piped_into_a_reader_that_stops_early_ends_quietly() {
    use std::io::Read as _;
    for command in ["openapi", "config-reference"] {
        let mut child = std::process::Command::new(connector_tests::harness::host_binary())
            .arg(command)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut start = [0u8; 16];
        child.stdout.take().unwrap().read_exact(&mut start).unwrap();
        // The pipe is closed here, with most of the document unread.
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{command}: {:?} {stderr}",
            output.status
        );
        assert!(!stderr.contains("panicked"), "{command}: {stderr}");
    }
}
