//! The server: health, installed connectors, auth on every API, envelope errors.

use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::{self, TestServer};
use reqwest::Method;

#[tokio::test]
async fn the_server_lists_loaded_connectors_and_skips_broken_files() {
    let server = TestServer::start_with(|config| {
        let plugins = config.data_dir.join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::write(plugins.join("broken.wasm"), b"\0asm but not really").unwrap();
        std::fs::copy(harness::plugin_path("probe"), plugins.join("probe.wasm")).unwrap();
    })
    .await;
    let key = server.tenant("acme").await;

    let (status, health) = server.send(Method::GET, "/healthz", None, None).await;
    assert_eq!((status, &health["ok"]), (200, &serde_json::json!(true)));
    let (status, ready) = server.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (status, &ready["data"]["status"]),
        (200, &serde_json::json!("ready"))
    );
    let (status, connectors) = server
        .send(Method::GET, "/api/v1/connectors", Some(&key), None)
        .await;
    assert_eq!(
        (status, connectors["data"].as_array().map(Vec::len)),
        // 16 components (the interpreter is no connector) and 7 declarative manifests.
        (200, Some(23)),
        "the broken file was skipped: {connectors}"
    );

    let response = server
        .client
        .get(format!("{}/api/v1/connectors", server.base))
        .bearer_auth(&key)
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-42");
    let listed: serde_json::Value = response.json().await.unwrap();
    assert_eq!(listed["request_id"], "req-42");
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "asana",
            "confluence",
            "datadog",
            "figma",
            "github",
            "hostile",
            "jira",
            "jira-manifest",
            "legacy",
            "legacy-v2",
            "notion",
            "pagerduty",
            "postgres",
            "probe",
            "salesforce",
            "scaffolded",
            "scaffolded-manifest",
            "slack",
            "sql-probe",
            "tracker",
            "tracker-manifest",
            "trello",
            "zendesk"
        ],
        "the broken file was skipped, the good ones (components and manifests) loaded; the interpreter is no connector"
    );
    let connector = |id: &str| {
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(connector("probe")["plugin"]["wit_version"], "0.3.0");
    assert_eq!(connector("legacy-v2")["plugin"]["wit_version"], "0.2.0");
    assert_eq!(connector("legacy")["plugin"]["wit_version"], "0.1.0");
    assert_eq!(connector("jira")["auth_methods"][1]["kind"], "oauth2");
    assert_eq!(
        connector("jira")["auth_methods"][1]["oauth2"]["extra_authorize_params"][0][1],
        "api.atlassian.com"
    );
    assert_eq!(
        connector("probe")["auth_methods"][2]["placement"],
        "header:x-probe-key"
    );

    let (status, _) = server
        .send(Method::GET, "/api/v1/connectors/probe", Some(&key), None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = server
        .send(Method::GET, "/api/v1/connectors/nope", Some(&key), None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
}

#[tokio::test]
async fn every_api_needs_the_right_credential() {
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    for (method, path, token) in [
        (Method::GET, "/api/v1/connectors", None),
        (Method::GET, "/api/v1/connections", Some("chk_not-a-key")),
        (
            Method::GET,
            "/api/v1/connections",
            Some(harness::ADMIN_TOKEN),
        ),
        (Method::POST, "/admin/v1/tenants", None),
        (Method::POST, "/admin/v1/tenants", Some(key.as_str())),
        (
            Method::POST,
            "/admin/v1/keys/rotate",
            Some("wrong-admin-token"),
        ),
    ] {
        let (status, body) = server.send(method.clone(), path, token, None).await;
        assert_eq!(status, 401, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "UNAUTHORIZED");
        assert!(body["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_envelope() {
    let server = TestServer::start().await;
    let (status, body) = server.send(Method::GET, "/no/such/route", None, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let (status, body) = server.send(Method::DELETE, "/healthz", None, None).await;
    assert_eq!(status, 405);
    assert_eq!(body["ok"], false);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    server
        .send(
            Method::GET,
            "/api/v1/connections/conn_nope",
            Some(&key),
            None,
        )
        .await;
    let text = server
        .client
        .get(format!("{}/metrics", server.base))
        .bearer_auth(harness::ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("http_requests_total{"), "{text}");
    assert!(
        text.contains(r#"route="/api/v1/connections/{id}""#),
        "labels use the template, not ids: {text}"
    );
    assert!(!text.contains("conn_nope"));
}

#[tokio::test]
async fn the_openapi_document_and_docs_page_are_served() {
    let server = TestServer::start().await;
    let (status, doc) = server.send(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/v1/connections/{id}/search"]["get"].is_object());
    let docs = server
        .client
        .get(format!("{}/docs/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    let policy = docs
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    let page = docs.text().await.unwrap();
    assert!(page.contains("swagger-ui"), "{page}");
    // Every script comes from this host: none from a CDN.
    assert!(!page.contains("<script src=\"http"), "{page}");
    for asset in ["swagger-ui-bundle.js", "swagger-initializer.js"] {
        let response = server
            .client
            .get(format!("{}/docs/{asset}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        let text = response.text().await.unwrap();
        if asset == "swagger-initializer.js" {
            assert!(text.contains("/openapi.json"), "{text}");
        }
    }
}

/// Every operation of `/openapi.json` is one the router serves, and the router serves no API
/// route the document leaves out: both come from one list of handlers, each declaring its own
/// path. Each documented method and path (placeholders filled in) must reach its handler: an
/// answer other than the router's own "no such route" 404 or 405. An API path the document
/// does not list gets that 404.
#[tokio::test]
async fn every_documented_operation_is_served_and_nothing_else_under_the_api() {
    let server = TestServer::start().await;
    let (status, doc) = server.send(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "x1"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // Every operation documents its error answers the same way.
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("4XX"),
                "{method} {path}: {responses:?}"
            );
            let response = server
                .client
                .request(method.clone(), format!("{}{concrete}", server.base))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            assert_ne!(status, 405, "{method} {path} is documented but not routed");
            assert!(
                !(status == 404 && body.contains("no such route")),
                "{method} {path} is documented but not routed: {body}"
            );
            operations += 1;
        }
    }
    assert!(operations >= 71, "{operations} operations documented");
    for undocumented in [
        "/api/v1/nothing",
        "/admin/v1/nothing",
        "/api/v1/connections/x1/nothing",
    ] {
        let (status, body) = server.send(Method::GET, undocumented, None, None).await;
        assert_eq!(status, 404, "{undocumented}: {body}");
        assert_eq!(body["error"]["message"], "no such route");
    }
}

#[tokio::test]
async fn a_trusted_gateway_header_is_honoured_only_when_configured() {
    let strict = TestServer::start().await;
    strict.tenant("acme").await;
    let response = strict
        .client
        .get(format!("{}/api/v1/connections", strict.base))
        .header("x-tenant-id", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        401,
        "by default the header proves nothing"
    );

    let gateway = TestServer::start_with(|config| {
        config.trust_tenant_header = true;
        config.gateway_secret = Some(connector_host::config::ConfigSecret::new(
            "gateway-shared-secret-0123",
        ));
    })
    .await;
    gateway.tenant("acme").await;
    let ok = gateway
        .client
        .get(format!("{}/api/v1/connections", gateway.base))
        .header("x-tenant-id", "acme")
        .header("x-gateway-secret", "gateway-shared-secret-0123")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let unknown = gateway
        .client
        .get(format!("{}/api/v1/connections", gateway.base))
        .header("x-tenant-id", "ghost")
        .header("x-gateway-secret", "gateway-shared-secret-0123")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
}

#[tokio::test]
async fn a_stopped_server_releases_its_data_dir_for_a_restart_in_the_same_process() {
    let vendor = ProbeVendor::start().await;
    // The watcher, the sweeper and a kept-alive client connection all hold the store while
    // the server runs; stop must release every one of them.
    let server = TestServer::start_with(|config| config.oauth_sweep_interval_secs = 1).await;
    let key = server.tenant("acme").await;
    let connection = server
        .probe_connection(&key, &vendor.origin(), "tok-1")
        .await;
    let containers = format!("/api/v1/connections/{connection}/containers");
    let (status, _) = server
        .send(Method::GET, &containers, Some(&key), None)
        .await;
    assert_eq!(status, 200);

    let server = server.restart().await;
    let (status, body) = server
        .send(Method::GET, &containers, Some(&key), None)
        .await;
    assert_eq!(status, 200, "the key and the connection survived: {body}");
    let server = server.restart().await;
    let (status, body) = server
        .send(Method::GET, &containers, Some(&key), None)
        .await;
    assert_eq!(status, 200, "and a second restart: {body}");
}
