//! A hostile plugin (`plugins/fixtures/hostile` and its `trap-hostile-*` siblings, plus WAT
//! where Rust cannot make the shape) tries to get past the host's guarantees; each attempt
//! fails cleanly while another tenant's calls keep succeeding.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use connector_host::egress::{Credential, EgressPolicy};
use connector_host::runtime::{
    CallContext, CallError, LoadError, Operation, OperationOutput, Runtime, RuntimeLimits,
};
use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::{self, ADMIN_TOKEN, TestServer, log_capture, plugin_path};
use reqwest::Method;

use crate::page;

fn context(tenant: &str, origin: &str) -> CallContext {
    CallContext {
        tenant: tenant.into(),
        connection: format!("{tenant}-conn"),
        config: vec![("base_url".into(), origin.into())],
        values: Vec::new(),
        credential: Some(Credential::Bearer {
            token: "tok".into(),
        }),
        bound_origin: Some(origin.into()),
        ..CallContext::default()
    }
}

async fn attack(runtime: &Runtime, origin: &str, command: &str) -> Result<String, CallError> {
    let output = runtime
        .call(
            "hostile",
            context("attacker", origin),
            Operation::Search {
                query: command.to_owned(),
                page: page(None, 1),
            },
        )
        .await?;
    match output {
        OperationOutput::Items(page) => Ok(page.entries[0].body.clone().unwrap_or_default()),
        other => panic!("search returned {other:?}"),
    }
}

fn fault(result: Result<String, CallError>) -> String {
    match result {
        Err(CallError::Fault { cause, .. }) => cause.code().to_owned(),
        other => panic!("expected a fault, got {other:?}"),
    }
}

/// Probe calls of another tenant, in a loop until stopped: (successes, failures).
struct Bystander {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Bystander {
    fn start(runtime: Runtime, origin: String) -> Self {
        let (stop, ok, failed) = (Arc::default(), Arc::default(), Arc::default());
        let (s, o, f): (Arc<AtomicBool>, Arc<AtomicUsize>, Arc<AtomicUsize>) =
            (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failed));
        let task = tokio::spawn(async move {
            while !s.load(Ordering::SeqCst) {
                let result = runtime
                    .call(
                        "probe",
                        context("bystander", &origin),
                        Operation::Containers {
                            parent: None,
                            page: page(None, 3),
                        },
                    )
                    .await;
                let counter = if result.is_ok() { &o } else { &f };
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        Self {
            stop,
            ok,
            failed,
            task,
        }
    }

    async fn finish(self) -> (usize, usize) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap();
        (
            self.ok.load(Ordering::SeqCst),
            self.failed.load(Ordering::SeqCst),
        )
    }
}

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib << 10
}

#[tokio::test]
async fn every_escape_attempt_fails_cleanly_while_another_tenant_is_served() {
    log_capture::install();
    let vendor = ProbeVendor::start().await;
    let origin = vendor.origin();
    let policy = EgressPolicy {
        max_redirects: 10,
        ..harness::loopback_policy()
    };
    let limits = RuntimeLimits {
        call_timeout: Duration::from_secs(20),
        max_requests_per_call: 60,
        ..RuntimeLimits::default()
    };
    let runtime = harness::runtime(policy, limits, None);
    runtime.load_file(&plugin_path("probe")).await.unwrap();
    runtime.load_file(&plugin_path("hostile")).await.unwrap();
    let bystander = Bystander::start(runtime.clone(), origin.clone());

    // 50 answers of 10 MiB at once: each is within the per-response cap, together far past the
    // call's 32 MiB, which is counted while reading, so the host never holds them all.
    let before = rss();
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss(), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let result = attack(
        &runtime,
        &origin,
        &format!("fanout:50:{origin}/stream?bytes={}", 10 << 20),
    )
    .await;
    sampler.abort();
    // The guest is told "too large" for every answer past the budget (here it reports how many
    // came through rather than failing); all 50 would come through without the budget.
    let answer = result.unwrap();
    let through: usize = answer.split(' ').next().unwrap().parse().unwrap();
    assert!(through <= 3, "{answer}");
    let grew = peak.load(Ordering::SeqCst).saturating_sub(before) >> 20;
    eprintln!("fan-out of 50 x 10 MiB: {answer}; resident memory grew by {grew} MiB at most");
    assert!(
        grew < 300,
        "resident memory grew by {grew} MiB during the fan-out"
    );

    // Each redirect hop takes a request from the call's budget.
    let limited = harness::runtime(
        EgressPolicy {
            max_redirects: 10,
            ..harness::loopback_policy()
        },
        RuntimeLimits {
            max_requests_per_call: 5,
            ..harness::test_limits()
        },
        None,
    );
    limited.load_file(&plugin_path("hostile")).await.unwrap();
    assert_eq!(
        attack(&limited, &origin, &format!("get:{origin}/hops/2"))
            .await
            .unwrap(),
        "status 200",
        "a few hops within the budget land"
    );
    assert_eq!(
        fault(attack(&limited, &origin, &format!("get:{origin}/hops/6")).await),
        "request_budget"
    );

    // 30,000 headers: a clean refusal the guest sees, and the host goes on.
    let answer = attack(&runtime, &origin, &format!("headers:30000:{origin}/ok"))
        .await
        .unwrap();
    assert!(answer.contains("at most 100"), "{answer}");

    // The host's JSON reader (the 0.3.1 `json` import): a document comes back whole; what is
    // not JSON, nesting past 128 levels and a document past the response cap are refused with
    // a reason the guest sees, and the host goes on.
    let echo = r#"{"a":[1,-2,1.5,"caf\u00e9",null,true,18446744073709551615],"b":{}}"#;
    assert_eq!(
        attack(&runtime, &origin, &format!("json:echo:{echo}"))
            .await
            .unwrap(),
        r#"{"a":[1,-2,1.5,"café",null,true,18446744073709551615],"b":{}}"#
    );
    let answer = attack(&runtime, &origin, "json:bad").await.unwrap();
    assert!(
        answer.starts_with("refused:")
            && answer.contains("EOF while parsing a list at line 1 column 11"),
        "{answer}"
    );
    let answer = attack(&runtime, &origin, "json:deep").await.unwrap();
    assert!(answer.contains("recursion limit"), "{answer}");
    let cap = harness::test_limits().max_response_bytes;
    let answer = attack(&limited, &origin, &format!("json:huge:{}", cap + 1))
        .await
        .unwrap();
    assert!(
        answer.contains(&format!("larger than the host reads ({cap} bytes)")),
        "{answer}"
    );
    let answer = attack(&limited, &origin, &format!("json:huge:{cap}"))
        .await
        .unwrap();
    assert_eq!(
        answer.len() as u64,
        cap,
        "a document of exactly the cap is read"
    );

    // User info in a URL, directly or after a redirect.
    let with_userinfo = origin.replace("http://", "http://user:pass@");
    let result = attack(&runtime, &origin, &format!("get:{with_userinfo}/ok")).await;
    assert!(
        matches!(&result, Err(CallError::EgressDenied(why)) if why.contains("user name or password")),
        "{result:?}"
    );
    let result = attack(
        &runtime,
        &origin,
        &format!("get:{origin}/redirect?to={with_userinfo}/ok"),
    )
    .await;
    assert!(
        matches!(result, Err(CallError::EgressDenied(_))),
        "{result:?}"
    );

    // A forged log line stays one escaped line.
    assert_eq!(
        attack(&runtime, &origin, "forge-log").await.unwrap(),
        "logged"
    );
    let logs = log_capture::captured();
    let line = logs
        .lines()
        .find(|l| l.contains("forged line"))
        .expect("the plugin's log line");
    let event: serde_json::Value = serde_json::from_str(line).unwrap();
    let message = event["fields"]["message"].as_str().unwrap();
    let fields = event["fields"]["fields"].as_str().unwrap();
    assert!(
        !message.contains('\n') && !fields.contains('\n'),
        "control characters are escaped: {event}"
    );
    assert!(message.starts_with("done\\n"), "{message}");
    assert_eq!(
        event["fields"]["tenant"], "attacker",
        "the real tenant label"
    );

    let (ok, failed) = bystander.finish().await;
    assert!(ok > 0, "the bystander was served");
    assert_eq!(failed, 0, "no bystander call failed");
}

#[tokio::test]
async fn a_manifest_pointing_secrets_elsewhere_is_refused_at_load() {
    let runtime = harness::runtime(harness::loopback_policy(), harness::test_limits(), None);
    let error = runtime
        .load_file(&plugin_path("trap_hostile_manifest"))
        .await
        .expect_err("refused");
    let message = format!("{error:#}");
    assert!(
        message.contains("credential host `*` is too wide"),
        "{message}"
    );
    assert!(runtime.plugin("hostile-manifest").is_none());
}

/// A component whose 40 core instances each define a memory, exporting an (empty) instance
/// under the connector's name so it gets past the contract check.
fn forty_memories() -> Vec<u8> {
    let mut wat = String::from("(component (core module $m (memory 1))\n");
    for i in 0..40 {
        wat.push_str(&format!("(core instance $i{i} (instantiate $m))\n"));
    }
    wat.push_str("(instance $e) (export \"connector:plugin/connector@0.2.0\" (instance $e)))");
    wat::parse_str(&wat).expect("valid WAT")
}

#[tokio::test]
async fn a_component_with_forty_memories_is_refused_at_load() {
    let runtime = harness::runtime(harness::loopback_policy(), harness::test_limits(), None);
    let error = runtime
        .load_bytes(forty_memories())
        .await
        .expect_err("refused");
    // wasmtime checks the per-component maxima when it compiles the component; the loader's
    // trial instantiation would catch anything only checked at instantiation.
    assert!(
        matches!(
            error,
            LoadError::NotComponent(_) | LoadError::Instantiate(_)
        ),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("40 Wasm linear memories") && message.contains("maximum of 4"),
        "{message}"
    );
}

#[tokio::test]
async fn an_upgrade_that_moves_the_token_endpoint_needs_the_operators_consent() {
    let server = TestServer::start().await;
    let wasm = std::fs::read(plugin_path("trap_hostile_upgrade")).unwrap();
    let upload = |query: &'static str| {
        server
            .client
            .put(format!("{}/admin/v1/plugins/hostile{query}", server.base))
            .bearer_auth(ADMIN_TOKEN)
            .body(wasm.clone())
            .send()
    };
    let response = upload("").await.unwrap();
    assert_eq!(response.status(), 409);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["details"]["stage"], "manifest_change");
    let changes = body["error"]["details"]["changes"].as_array().unwrap();
    let token = changes
        .iter()
        .find(|c| c["field"] == "auth_methods.oauth.token_url")
        .expect("the token endpoint change is shown");
    assert_eq!(token["before"], "https://auth.hostile.example/token");
    assert_eq!(token["after"], "https://auth2.hostile.example/token");
    let (_, plugin) = server
        .send(
            Method::GET,
            "/admin/v1/plugins/hostile",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(
        plugin["data"]["current"]["version"], "0.1.0",
        "still serving"
    );

    let response = upload("?accept_manifest_changes=true").await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let (_, plugin) = server
        .send(
            Method::GET,
            "/admin/v1/plugins/hostile",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(plugin["data"]["current"]["version"], "0.2.0");
}

#[tokio::test]
async fn symlinks_and_fifos_in_the_plugins_dir_are_skipped_and_the_host_starts() {
    let server = TestServer::start_with(|config| {
        let dir = config.data_dir.join("plugins");
        std::os::unix::fs::symlink("/dev/zero", dir.join("zero.wasm")).unwrap();
        let fifo = dir.join("pipe.wasm");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
    })
    .await;
    let (status, _) = server.send(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, 200);
    let skipped: Vec<String> = server
        .host_audit(ADMIN_TOKEN)
        .await
        .iter()
        .filter(|e| e["action"] == "plugin.load_failed")
        .map(|e| {
            e["details"]["error"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    for name in ["zero.wasm", "pipe.wasm"] {
        assert!(
            skipped
                .iter()
                .any(|e| e.contains(name) && e.contains("not a regular file")),
            "{name} skipped: {skipped:?}"
        );
    }
    let key = server.tenant("acme").await;
    let (status, connectors) = server
        .send(Method::GET, "/api/v1/connectors", Some(&key), None)
        .await;
    assert_eq!(status, 200);
    assert!(connectors["data"].as_array().unwrap().len() >= 4);
}
