//! Usage metering: exact counts after a scripted workload (calls by operation and outcome,
//! vendor requests and bytes, tool invocations), each tenant seeing only its own, the
//! operator seeing all; monthly call limits answering 429 `QUOTA_EXCEEDED` with the reset
//! time; bad periods refused. Runs on both store backends (`cargo xtask test` runs the suite
//! on PostgreSQL too).

use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::{ADMIN_TOKEN, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

/// The bytes of every answer the vendor gave, measured by asking it again the same way.
async fn vendor_bytes(vendor: &ProbeVendor, token: &str) -> u64 {
    let client = reqwest::Client::new();
    let mut total = 0;
    for request in vendor.recorder.requests() {
        let url = match &request.query {
            Some(query) => format!("{}{}?{query}", vendor.origin(), request.path),
            None => format!("{}{}", vendor.origin(), request.path),
        };
        let body = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        total += body.len() as u64;
    }
    total
}

fn call_count(report: &Value, operation: &str, outcome: &str) -> u64 {
    report["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["operation"] == operation && c["outcome"] == outcome)
        .map_or(0, |c| c["count"].as_u64().unwrap())
}

#[tokio::test]
async fn counts_are_exact_after_a_scripted_workload_and_each_tenant_sees_its_own() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("metered").await;
    let other = server.tenant("bystander").await;
    let connection = server
        .probe_connection(&key, &vendor.origin(), "tok-metered")
        .await;
    for _ in 0..5 {
        let (status, body) = server
            .send(
                Method::GET,
                &format!("/api/v1/connections/{connection}/containers?limit=3"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    for _ in 0..2 {
        let (status, body) = server
            .send(
                Method::POST,
                "/api/v1/tools/invoke",
                Some(&key),
                Some(json!({"tool": "probe.list_containers", "arguments": {"connection_id": connection}})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{connection}/items/missing"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 404);

    let (status, body) = server
        .send(Method::GET, "/api/v1/usage", Some(&key), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let report = &body["data"];
    // validate and connect (at create) + 5 listings + 2 tools + 1 missing item.
    assert_eq!(report["totals"]["calls"], 10, "{report:#}");
    assert_eq!(report["totals"]["failed_calls"], 1);
    assert_eq!(call_count(report, "validate", "ok"), 1);
    assert_eq!(call_count(report, "connect", "ok"), 1);
    assert_eq!(call_count(report, "containers", "ok"), 7);
    assert_eq!(call_count(report, "item", "connector_error"), 1);
    assert_eq!(report["totals"]["tool_invocations"], 2);
    let requests = vendor.recorder.requests().len() as u64;
    assert_eq!(report["totals"]["egress_requests"], requests);
    let expected = vendor_bytes(&vendor, "tok-metered").await;
    let counted = report["totals"]["egress_bytes"].as_u64().unwrap();
    assert!(
        counted.abs_diff(expected) * 100 <= expected,
        "bytes within 1%: counted {counted}, vendor sent {expected}"
    );
    let by_connection = &report["breakdown"][0];
    assert_eq!(by_connection["id"], connection.as_str());
    assert_eq!(by_connection["calls"], 10);
    let series = report["series"].as_array().unwrap();
    assert_eq!(
        series.len(),
        30,
        "a day bucket for each of the last 30 days"
    );
    assert_eq!(series.last().unwrap()["calls"], 10, "all today");
    assert!(report.get("limit").is_none(), "no limit set");

    // Another tenant sees nothing of it, and cannot ask for it.
    let (_, theirs) = server
        .send(Method::GET, "/api/v1/usage", Some(&other), None)
        .await;
    assert_eq!(theirs["data"]["totals"]["calls"], 0, "{theirs}");
    assert_eq!(theirs["data"]["breakdown"], json!([]));
    let (status, refused) = server
        .send(
            Method::GET,
            "/api/v1/usage?tenant=metered",
            Some(&other),
            None,
        )
        .await;
    assert_eq!(status, 422, "{refused}");

    // The operator sees every tenant, or one.
    let (status, all) = server
        .send(
            Method::GET,
            "/admin/v1/usage?granularity=month",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200, "{all}");
    let tenants: Vec<&str> = all["data"]["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(tenants, ["metered"], "only tenants that used something");
    assert_eq!(all["data"]["totals"]["calls"], 10);
    let (_, one) = server
        .send(
            Method::GET,
            "/admin/v1/usage?tenant=bystander",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(one["data"]["totals"]["calls"], 0);
    let (status, _) = server
        .send(Method::GET, "/admin/v1/usage", Some(&key), None)
        .await;
    assert_eq!(status, 401, "a tenant key is not the admin token");

    // Counts are in the store, not only in this host's memory.
    let server = server.restart().await;
    let (_, after) = server
        .send(Method::GET, "/api/v1/usage", Some(&key), None)
        .await;
    assert_eq!(after["data"]["totals"]["calls"], 10, "{after}");
}

#[tokio::test]
async fn a_monthly_call_limit_answers_429_with_the_reset_time_for_that_tenant_only() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("limited").await;
    let other = server.tenant("unlimited").await;
    let connection = server.probe_connection(&key, &vendor.origin(), "t").await;
    let theirs = server.probe_connection(&other, &vendor.origin(), "t").await;
    let (status, body) = server
        .send(
            Method::PUT,
            "/admin/v1/tenants/limited/usage-limit",
            Some(ADMIN_TOKEN),
            Some(json!({"monthly_calls": 3})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["monthly_call_limit"], 3);
    let list = |id: &str| format!("/api/v1/connections/{id}/containers");
    // The validate and connect at create were the first two calls of the month.
    let (status, body) = server
        .send(Method::GET, &list(&connection), Some(&key), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let response = server
        .client
        .get(format!("{}{}", server.base, list(&connection)))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "QUOTA_EXCEEDED", "{body}");
    assert_eq!(body["error"]["details"]["limit"], 3);
    assert_eq!(body["error"]["details"]["used"], 3);
    let resets_at = body["error"]["details"]["resets_at"].as_str().unwrap();
    assert!(resets_at.ends_with("-01T00:00:00Z"), "{resets_at}");
    assert!((1..=31 * 86_400).contains(&retry_after), "{retry_after}");
    let (_, report) = server
        .send(Method::GET, "/api/v1/usage", Some(&key), None)
        .await;
    assert_eq!(report["data"]["limit"]["monthly_calls"], 3);
    assert_eq!(
        report["data"]["limit"]["used"], 3,
        "the refused call is not counted"
    );
    assert_eq!(report["data"]["limit"]["resets_at"], resets_at);

    // The other tenant is not held by it.
    let (status, _) = server
        .send(Method::GET, &list(&theirs), Some(&other), None)
        .await;
    assert_eq!(status, 200);
    // Raising the limit applies at once.
    let (status, _) = server
        .send(
            Method::PUT,
            "/admin/v1/tenants/limited/usage-limit",
            Some(ADMIN_TOKEN),
            Some(json!({"monthly_calls": null})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .send(Method::GET, &list(&connection), Some(&key), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .send(
            Method::PUT,
            "/admin/v1/tenants/nobody/usage-limit",
            Some(ADMIN_TOKEN),
            Some(json!({"monthly_calls": 1})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_default_limit_applies_to_every_tenant_without_its_own() {
    let vendor = ProbeVendor::start().await;
    let server =
        TestServer::start_with(|config| config.usage.default_monthly_call_limit = Some(1)).await;
    let key = server.tenant("small").await;
    let connection = server.probe_connection(&key, &vendor.origin(), "t").await;
    let (status, body) = server
        .send(
            Method::GET,
            &format!("/api/v1/connections/{connection}/containers"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 429, "creating it used the calls: {body}");
    assert_eq!(body["error"]["code"], "QUOTA_EXCEEDED");
}

#[tokio::test]
async fn bad_periods_are_refused_with_the_field_named() {
    let server = TestServer::start().await;
    let key = server.tenant("asker").await;
    for (query, field) in [
        ("granularity=week", "granularity"),
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("from=2026-12-02&to=2026-12-01", "from"),
        ("from=2026-01-01&to=2026-03-01&granularity=hour", "from"),
        ("from=2020-01-01&to=2026-01-01", "from"),
    ] {
        let (status, body) = server
            .send(
                Method::GET,
                &format!("/api/v1/usage?{query}"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["error"]["details"]["field"], field, "{query}: {body}");
    }
    let (status, body) = server
        .send(
            Method::GET,
            "/api/v1/usage?from=2026-12-01&to=2026-12-02&granularity=hour",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["series"].as_array().unwrap().len(), 24);
    let (status, _) = server.send(Method::GET, "/api/v1/usage", None, None).await;
    assert_eq!(status, 401);
    let (status, _) = server
        .send(Method::GET, "/api/v1/usage?color=red", Some(&key), None)
        .await;
    assert_eq!(status, 422, "unknown parameters are refused");
}
