//! Agent tools: the tool catalogue and `POST /api/v1/tools/invoke` over REST, and the MCP
//! server at `/mcp` driven by the official SDK's client (rmcp), against the Jira and
//! Confluence fakes. Every Jira request the tools caused is checked against the Jira v3 spec.

use connector_tests::contract::{ApiSpec, assert_conforms};
use connector_tests::fakes::{ConfluenceFake, JiraFake, ProbeVendor};
use connector_tests::harness::TestServer;
use connector_tests::harness::log_capture;
use reqwest::Method;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation, ProtocolVersion, Tool,
};
use rmcp::service::{ClientLifecycleMode, RoleClient, RunningService, serve_client_with_lifecycle};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use super::atlassian_setup::{API_TOKEN, Atlassian, EMAIL};

type McpClient = RunningService<RoleClient, ClientConfig>;

/// Jira and Confluence fakes on one Atlassian site auth, a host, tenant `acme` with one
/// connection of each; returns the Jira and Confluence connection ids.
async fn setup() -> (Atlassian<JiraFake>, ConfluenceFake, String, String) {
    let jira = Atlassian::start("jira", JiraFake::start).await;
    let wiki = ConfluenceFake::start(jira.atlassian.clone()).await;
    let jira_id = jira.connect_with_token("jira").await;
    let body = json!({
        "connector": "confluence", "name": "Team wiki",
        "config": {"site_url": wiki.origin()},
        "credentials": {"type": "basic", "username": EMAIL, "password": API_TOKEN},
    });
    let (status, created) = jira.post("/api/v1/connections", body).await;
    assert_eq!(status, 201, "{created}");
    let wiki_id = created["data"]["id"].as_str().unwrap().to_owned();
    (jira, wiki, jira_id, wiki_id)
}

/// An MCP client on `path` with `key`: the current protocol (stateless, `server/discover`),
/// or the previous one (`initialize` handshake) when `legacy`.
async fn mcp_client(base: &str, path: &str, key: &str, legacy: bool) -> McpClient {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}{path}"))
        .auth_header(key.to_owned());
    let transport = StreamableHttpClientTransport::from_config(config);
    let mut info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("connector-tests", "1"),
    );
    let lifecycle = if legacy {
        info.protocol_version = ProtocolVersion::V_2025_11_25;
        ClientLifecycleMode::Initialize
    } else {
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::LATEST],
        }
    };
    let client = serve_client_with_lifecycle(info, transport, lifecycle)
        .await
        .expect("the MCP client connects");
    let negotiated = client
        .peer_info()
        .map(|server| server.protocol_version.clone());
    let expected = if legacy {
        ProtocolVersion::V_2025_11_25
    } else {
        ProtocolVersion::LATEST
    };
    assert_eq!(
        negotiated,
        Some(expected),
        "the revision the client asked for"
    );
    client
}

fn names(tools: &[Tool]) -> Vec<String> {
    tools.iter().map(|t| t.name.to_string()).collect()
}

fn tool<'a>(tools: &'a [Tool], name: &str) -> &'a Tool {
    tools
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} is listed"))
}

fn call(name: &str, arguments: Value) -> CallToolRequestParams {
    let mut params = CallToolRequestParams::new(name.to_owned());
    params.arguments = arguments.as_object().cloned();
    params
}

/// Requests the fake has seen under `/rest/`.
fn vendor_requests(jira: &Atlassian<JiraFake>) -> usize {
    let requests = jira.fake.recorder.requests();
    requests
        .iter()
        .filter(|r| r.path.starts_with("/rest/"))
        .count()
}

#[tokio::test]
async fn an_mcp_client_lists_and_calls_the_tools_of_the_tenants_connections() {
    let (jira, _wiki, jira_id, wiki_id) = setup().await;
    let base = jira.server.base.clone();
    let client = mcp_client(&base, "/mcp", &jira.key, false).await;

    let tools = client.list_all_tools().await.expect("tools/list");
    let listed = names(&tools);
    for expected in [
        "confluence.search",
        "confluence.list_containers",
        "confluence.create_comment",
        "jira.search",
        "jira.list_items",
        "jira.get_item",
        "jira.create_comment",
        "jira.update_item",
        "jira.transition_issue",
        "jira.delete_issue",
    ] {
        assert!(
            listed.contains(&expected.to_owned()),
            "{expected} in {listed:?}"
        );
    }
    assert!(
        listed.iter().position(|n| n.starts_with("confluence."))
            < listed.iter().position(|n| n.starts_with("jira.")),
        "connectors in order: {listed:?}"
    );
    let search = tool(&tools, "jira.search");
    let hints = search.annotations.as_ref().expect("annotations");
    assert_eq!(hints.read_only_hint, Some(true));
    assert_eq!(hints.open_world_hint, Some(true));
    assert!(search.output_schema.is_some(), "output schema of a page");
    assert!(
        search
            .input_schema
            .get("properties")
            .unwrap()
            .get("connection_id")
            .is_none(),
        "one Jira connection: no connection_id to choose"
    );
    let delete = tool(&tools, "jira.delete_issue");
    let hints = delete.annotations.as_ref().expect("annotations");
    assert_eq!(
        hints.destructive_hint,
        Some(true),
        "a destructive action says so"
    );
    assert_eq!(hints.read_only_hint, Some(false));
    assert_eq!(
        tool(&tools, "jira.create_comment")
            .annotations
            .as_ref()
            .unwrap()
            .destructive_hint,
        Some(false)
    );

    let found = client
        .call_tool(call("jira.search", json!({"query": "BRAVO issue 2"})))
        .await
        .expect("tools/call jira.search");
    assert_ne!(found.is_error, Some(true), "{found:?}");
    let page = found
        .structured_content
        .clone()
        .expect("structured content");
    let ids: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["BRAVO-2"], "{page}");
    assert_eq!(page["entries"][0]["title"], "BRAVO issue 2");

    let commented = client
        .call_tool(call(
            "jira.create_comment",
            json!({"item_id": "BRAVO-2", "body": "Looked at this from the agent"}),
        ))
        .await
        .expect("tools/call jira.create_comment");
    assert_ne!(commented.is_error, Some(true), "{commented:?}");
    let comment = commented.structured_content.clone().unwrap();
    assert_eq!(comment["item_id"], "BRAVO-2");
    assert_eq!(comment["body"], "Looked at this from the agent");
    let (_, listed_comments) = jira
        .get(&format!(
            "/api/v1/connections/{jira_id}/items/BRAVO-2/comments?limit=100"
        ))
        .await;
    let bodies: Vec<&str> = listed_comments["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert!(
        bodies.contains(&"Looked at this from the agent"),
        "the comment is at the vendor: {bodies:?}"
    );

    // Bad arguments: a tool error naming the path, and no request reaches the vendor.
    let before = vendor_requests(&jira);
    let refused = client
        .call_tool(call(
            "jira.create_comment",
            json!({"item_id": "BRAVO-2", "body": 42}),
        ))
        .await
        .expect("a tool error is a result");
    assert_eq!(refused.is_error, Some(true));
    let error = refused.structured_content.clone().unwrap();
    assert_eq!(error["code"], "VALIDATION", "{error}");
    assert_eq!(error["details"]["errors"][0]["path"], "/body", "{error}");
    assert!(
        !error.to_string().contains("42"),
        "values are masked: {error}"
    );
    let missing = client
        .call_tool(call("jira.search", json!({})))
        .await
        .unwrap();
    assert_eq!(missing.is_error, Some(true));
    assert!(
        missing.structured_content.unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("query"),
        "the missing argument is named"
    );
    assert_eq!(
        vendor_requests(&jira),
        before,
        "no plugin call on bad arguments"
    );

    // A tool that does not exist is a protocol error.
    let unknown = client
        .call_tool(call("github.no_such_tool", json!({})))
        .await;
    assert!(unknown.is_err(), "{unknown:?}");

    // The previous protocol revision (initialize handshake) gets the same tools.
    let legacy = mcp_client(&base, "/mcp", &jira.key, true).await;
    let legacy_tools = legacy.list_all_tools().await.expect("legacy tools/list");
    assert_eq!(names(&legacy_tools), listed);
    let read = legacy
        .call_tool(call("jira.get_item", json!({"item_id": "BRAVO-2"})))
        .await
        .unwrap();
    assert_eq!(read.structured_content.unwrap()["id"], "BRAVO-2");
    legacy.cancel().await.ok();

    // An endpoint scoped to one connection offers only that connection's tools.
    let scoped = mcp_client(
        &base,
        &format!("/mcp/connections/{wiki_id}"),
        &jira.key,
        false,
    )
    .await;
    let scoped_tools = names(&scoped.list_all_tools().await.unwrap());
    assert!(!scoped_tools.is_empty());
    assert!(
        scoped_tools.iter().all(|n| n.starts_with("confluence.")),
        "{scoped_tools:?}"
    );
    let outside = scoped
        .call_tool(call("jira.search", json!({"query": "x"})))
        .await;
    assert!(outside.is_err(), "Jira is not in the Confluence scope");
    scoped.cancel().await.ok();

    // Another tenant sees none of acme's tools and cannot call them.
    let other_key = jira.server.tenant("globex").await;
    let other = mcp_client(&base, "/mcp", &other_key, false).await;
    assert!(other.list_all_tools().await.unwrap().is_empty());
    let refused = other
        .call_tool(call("jira.search", json!({"query": "BRAVO"})))
        .await;
    assert!(refused.is_err(), "no such tool for globex");
    other.cancel().await.ok();
    let (status, _) = jira
        .server
        .send(
            Method::POST,
            &format!("/mcp/connections/{jira_id}"),
            Some(&other_key),
            Some(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})),
        )
        .await;
    assert_eq!(status, 404, "another tenant's connection is not found");
    client.cancel().await.ok();

    // The audit log names each tool call.
    let (_, audit) = jira.get("/api/v1/audit?limit=100").await;
    let calls: Vec<String> = audit["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "tool.invoke")
        .map(|e| e["target"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        calls.contains(&format!("{jira_id}/tools/jira.create_comment")),
        "{calls:?}"
    );

    // Nothing secret in what the tools answered or what the host logged.
    let logs = log_capture::captured();
    for secret in [API_TOKEN, jira.key.as_str(), other_key.as_str()] {
        assert!(!logs.contains(secret), "a secret reached the logs");
        assert!(!comment.to_string().contains(secret));
        assert!(!page.to_string().contains(secret));
    }

    let requests = jira.fake.recorder.requests();
    let covered = assert_conforms(&ApiSpec::jira(), &requests, "jira");
    assert_eq!(
        covered,
        requests.len(),
        "every Jira request is in the v3 spec"
    );
}

#[tokio::test]
async fn the_mcp_endpoint_needs_a_key_and_refuses_foreign_browser_origins() {
    let (jira, _wiki, _, _) = setup().await;
    let url = format!("{}/mcp", jira.server.base);
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let http = reqwest::Client::new();
    let post = |key: Option<&str>, origin: Option<&str>| {
        let mut request = http
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .json(&list);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };

    let response = post(None, None).await.unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    let metadata_url = challenge
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("resource_metadata in the challenge")
        .to_owned();
    let metadata: Value = http
        .get(&metadata_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resource"], url, "{metadata}");

    let response = post(Some("chk_not-a-key"), None).await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    let response = post(Some(&jira.key), Some("http://evil.example"))
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "DNS-rebinding guard");
    let own = jira.server.base.clone();
    let response = post(Some(&jira.key), Some(&own)).await.unwrap();
    assert_eq!(response.status(), 200, "the host's own origin is fine");
    let body: Value = response.json().await.unwrap();
    assert!(
        body["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{body}"
    );

    let oversized = "x".repeat(2 << 20);
    let response = http
        .post(&url)
        .bearer_auth(&jira.key)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"pad\":\"{oversized}\"}}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413, "oversized bodies are refused");
    assert_eq!(response.headers()["connection"], "close");
}

#[tokio::test]
async fn the_rest_tool_api_lists_and_invokes_with_either_request_shape() {
    let (jira, _wiki, first, _) = setup().await;
    let second = jira.connect_with_token("jira").await;

    let (status, listed) = jira.get("/api/v1/tools").await;
    assert_eq!(status, 200, "{listed}");
    let tools = listed["data"].as_array().unwrap().clone();
    let (_, again) = jira.get("/api/v1/tools").await;
    assert_eq!(again["data"], listed["data"], "a stable order");
    let search = tools.iter().find(|t| t["name"] == "jira.search").unwrap();
    assert_eq!(search["input_schema"]["required"][0], "connection_id");
    let choices = search["input_schema"]["properties"]["connection_id"]["enum"]
        .as_array()
        .unwrap();
    assert_eq!(choices.len(), 2, "both Jira connections: {search}");
    let wiki = tools
        .iter()
        .find(|t| t["name"] == "confluence.search")
        .unwrap();
    assert!(
        wiki["input_schema"]["properties"]
            .get("connection_id")
            .is_none(),
        "one Confluence connection: nothing to choose"
    );
    let transition = tools
        .iter()
        .find(|t| t["name"] == "jira.transition_issue")
        .unwrap();
    assert_eq!(transition["annotations"]["read_only"], false);

    let before = vendor_requests(&jira);
    let (status, body) = jira
        .post(
            "/api/v1/tools/invoke",
            json!({"tool": "jira.search", "arguments": {"query": "ALPHA"}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["details"]["errors"][0]["path"],
        "/connection_id"
    );
    let (status, body) = jira
        .post(
            "/api/v1/tools/invoke",
            json!({"tool": "jira.search", "arguments": {"query": "ALPHA", "connection_id": first, "limit": 1000}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["details"]["errors"][0]["path"], "/limit");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`/limit`")
    );
    let (status, body) = jira
        .post(
            "/api/v1/tools/invoke",
            json!({"tool": "jira.search", "arguments": "ALPHA"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(vendor_requests(&jira), before, "nothing reached the vendor");

    let (status, found) = jira
        .post(
            "/api/v1/tools/invoke",
            json!({"tool": "jira.search", "arguments": {"query": "CHARLIE issue 4", "connection_id": second}}),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["data"]["tool"], "jira.search");
    assert_eq!(found["data"]["connection_id"], second);
    assert_eq!(found["data"]["output"]["entries"][0]["id"], "CHARLIE-4");

    // The earlier tool API's shape: `name`, `input`, and `connection_id` beside them.
    let (status, moved) = jira
        .post(
            "/api/v1/tools/invoke",
            json!({"name": "jira.transition_issue", "connection_id": first,
                "input": {"issue": "CHARLIE-4", "transition": "done"}}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["data"]["output"]["status"], "Done");
    assert_eq!(
        jira.fake.issue("CHARLIE-4").unwrap()["fields"]["status"]["name"],
        "Done"
    );
    let (status, refused) = jira
        .post(
            "/api/v1/tools/invoke",
            json!({"tool": "jira.transition_issue", "connection_id": first,
                "arguments": {"issue": "CHARLIE-4", "transition": "Done"}}),
        )
        .await;
    assert_eq!(status, 422, "already done: {refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Start Progress"),
        "names the transitions available: {refused}"
    );

    let (status, assigned) = jira
        .post(
            "/api/v1/tools/invoke",
            json!({"tool": "jira.assign_issue", "connection_id": first,
                "arguments": {"issue": "CHARLIE-4", "account_id": "acct-3"}}),
        )
        .await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(
        jira.fake.issue("CHARLIE-4").unwrap()["fields"]["assignee"]["accountId"],
        "acct-3"
    );

    let (status, deleted) = jira
        .post(
            "/api/v1/tools/invoke",
            json!({"tool": "jira.delete_issue", "arguments": {"connection_id": first, "issue": "CHARLIE-5"}}),
        )
        .await;
    assert_eq!(status, 200, "{deleted}");
    assert!(jira.fake.issue("CHARLIE-5").is_none(), "gone at the vendor");
    let (status, gone) = jira
        .post(
            "/api/v1/tools/invoke",
            json!({"tool": "jira.get_item", "connection_id": first, "arguments": {"item_id": "CHARLIE-5"}}),
        )
        .await;
    assert_eq!(
        (status, gone["error"]["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{gone}"
    );

    let (status, unknown) = jira
        .post(
            "/api/v1/tools/invoke",
            json!({"tool": "github.no_such_tool"}),
        )
        .await;
    assert_eq!(
        (status, unknown["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    // A tool of a connector the tenant has not connected: 409 with where to connect it.
    let (status, unconnected) = jira
        .post(
            "/api/v1/tools/invoke",
            json!({"tool": "github.close_issue"}),
        )
        .await;
    assert_eq!(
        (status, unconnected["error"]["code"].as_str()),
        (409, Some("NOT_CONNECTED")),
        "{unconnected}"
    );
    assert_eq!(
        unconnected["error"]["details"]["connect_url"],
        format!("{}/console/connectors/github/connect", jira.server.base)
    );

    // Scoped to one connection: no connection_id argument.
    let (_, scoped) = jira
        .get(&format!("/api/v1/tools?connection_id={second}"))
        .await;
    let scoped = scoped["data"].as_array().unwrap();
    assert!(scoped.iter().all(|t| t["connector"] == "jira"));
    assert!(scoped.iter().all(|t| {
        t["input_schema"]["properties"]
            .get("connection_id")
            .is_none()
    }));

    // Another tenant: no tools, and acme's are unknown to it.
    let other_key = jira.server.tenant("initech").await;
    let (status, theirs) = jira
        .server
        .send(Method::GET, "/api/v1/tools", Some(&other_key), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(theirs["data"], json!([]));
    let (status, _) = jira
        .server
        .send(
            Method::GET,
            &format!("/api/v1/tools?connection_id={first}"),
            Some(&other_key),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = jira
        .server
        .send(
            Method::POST,
            "/api/v1/tools/invoke",
            Some(&other_key),
            Some(json!({"tool": "jira.delete_issue", "arguments": {"connection_id": first, "issue": "ALPHA-1"}})),
        )
        .await;
    assert_eq!(status, 404);
    assert!(jira.fake.issue("ALPHA-1").is_some(), "untouched");

    let requests = jira.fake.recorder.requests();
    let covered = assert_conforms(&ApiSpec::jira(), &requests, "jira");
    assert_eq!(
        covered,
        requests.len(),
        "every Jira request is in the v3 spec"
    );
}

#[tokio::test]
async fn a_plugin_cannot_shadow_a_unified_tool_and_bare_outputs_are_wrapped() {
    let vendor = ProbeVendor::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("umbrella").await;
    server.probe_connection(&key, &vendor.origin(), "tok").await;
    let client = mcp_client(&server.base, "/mcp", &key, false).await;
    let tools = client.list_all_tools().await.unwrap();
    let listed = names(&tools);
    assert_eq!(
        listed.iter().filter(|n| *n == "probe.search").count(),
        1,
        "{listed:?}"
    );
    assert!(
        tool(&tools, "probe.search")
            .description
            .as_deref()
            .is_some_and(|d| d.starts_with("Searches Probe")),
        "the unified search keeps its name"
    );
    assert!(
        listed.contains(&"probe.action_search".to_owned()),
        "{listed:?}"
    );
    let counted = client
        .call_tool(call(
            "probe.action_search",
            json!({"text": "one two three"}),
        ))
        .await
        .unwrap();
    assert_eq!(
        counted.structured_content,
        Some(json!({"result": "3 words"})),
        "structured content is always an object"
    );
    client.cancel().await.ok();
}

/// A declarative connector's tools, with no special case: the tracker manifest's unified tools
/// and its declared action are listed and called over MCP like a compiled connector's, and the
/// action's input is checked against the manifest's schema before any sandbox runs.
#[tokio::test]
async fn a_manifest_connectors_tools_are_listed_and_called_over_mcp() {
    use connector_tests::fakes::TrackerFake;

    let vendor = TrackerFake::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    crate::contract_v0_3::connect_tracker(&server, &key, &vendor, "tracker-manifest").await;
    let client = mcp_client(&server.base, "/mcp", &key, false).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let listed = names(&tools);
    for expected in [
        "tracker-manifest.search",
        "tracker-manifest.list_items",
        "tracker-manifest.get_item",
        "tracker-manifest.create_item",
        "tracker-manifest.close_issue",
    ] {
        assert!(
            listed.contains(&expected.to_owned()),
            "{expected} in {listed:?}"
        );
    }
    let close = tool(&tools, "tracker-manifest.close_issue");
    let hints = close.annotations.as_ref().expect("annotations");
    assert_eq!(
        hints.idempotent_hint,
        Some(true),
        "the manifest's annotation"
    );

    let found = client
        .call_tool(call(
            "tracker-manifest.search",
            json!({"query": "Core issue 2"}),
        ))
        .await
        .expect("tools/call search");
    assert_ne!(found.is_error, Some(true), "{found:?}");
    let page = found
        .structured_content
        .clone()
        .expect("structured content");
    assert_eq!(page["entries"][0]["title"], "Core issue 2", "{page}");

    let closed = client
        .call_tool(call("tracker-manifest.close_issue", json!({"issue": "2"})))
        .await
        .expect("tools/call close_issue");
    assert_ne!(closed.is_error, Some(true), "{closed:?}");
    let output = closed
        .structured_content
        .clone()
        .expect("structured content");
    assert_eq!(output["state"], "closed", "{output}");

    let before = vendor.recorder.requests().len();
    let refused = client
        .call_tool(call("tracker-manifest.close_issue", json!({"issue": 2})))
        .await;
    let refused_here = match refused {
        Ok(result) => result.is_error == Some(true),
        Err(_) => true,
    };
    assert!(refused_here, "input that is not the schema's is refused");
    assert_eq!(
        vendor.recorder.requests().len(),
        before,
        "before any request"
    );
    client.cancel().await.ok();
}
