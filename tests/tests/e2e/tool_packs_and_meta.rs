//! Meta-tool mode (`/mcp?mode=meta`: five tools, ranked search, schemas, execute one or
//! several, connections) and tool packs (`/mcp/packs/{pack}`, REST management, search and
//! execution limited to the pack), over rmcp's client against the Jira fake.

use connector_tests::fakes::JiraFake;
use reqwest::Method;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
    ProtocolVersion,
};
use rmcp::service::{ClientLifecycleMode, RoleClient, RunningService, serve_client_with_lifecycle};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use super::atlassian_setup::Atlassian;

type Client = RunningService<RoleClient, ClientConfig>;

async fn client(base: &str, path: &str, key: &str) -> Client {
    let config =
        StreamableHttpClientTransportConfig::with_uri(format!("{base}{path}")).auth_header(key);
    let info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("connector-tests", "1"),
    );
    serve_client_with_lifecycle(
        info,
        StreamableHttpClientTransport::from_config(config),
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::LATEST],
        },
    )
    .await
    .expect("the MCP client connects")
}

async fn call(client: &Client, name: &str, arguments: Value) -> CallToolResult {
    let params = CallToolRequestParams::new(name.to_owned())
        .with_arguments(arguments.as_object().cloned().unwrap_or_default());
    client.call_tool(params).await.expect("tools/call")
}

fn names(tools: &[rmcp::model::Tool]) -> Vec<String> {
    tools.iter().map(|t| t.name.to_string()).collect()
}

fn found(result: &CallToolResult) -> Vec<(String, bool)> {
    result.structured_content.as_ref().expect("structured")["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["connected"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_mode_lists_five_tools_that_search_read_and_execute_the_rest() {
    let jira = Atlassian::start("jira", JiraFake::start).await;
    jira.connect_with_token("jira").await;
    let base = jira.server.base.clone();
    let full = client(&base, "/mcp", &jira.key).await;
    assert!(full.list_all_tools().await.unwrap().len() > 5);
    let meta = client(&base, "/mcp?mode=meta", &jira.key).await;
    let tools = meta.list_all_tools().await.expect("tools/list");
    assert_eq!(
        names(&tools),
        [
            "search_tools",
            "get_tool_schemas",
            "execute_tool",
            "execute_tools",
            "manage_connections"
        ]
    );

    // Search: ranked, over connected and connectable connectors.
    let result = call(
        &meta,
        "search_tools",
        json!({"query": "close a GitHub issue", "limit": 3}),
    )
    .await;
    assert_eq!(
        found(&result)[0],
        ("github.close_issue".into(), false),
        "{result:?}"
    );
    let result = call(
        &meta,
        "search_tools",
        json!({"query": "search Jira issues by text"}),
    )
    .await;
    assert!(
        found(&result).contains(&("jira.search".into(), true)),
        "{result:?}"
    );
    let bad = call(&meta, "search_tools", json!({"query": ""})).await;
    assert_eq!(bad.is_error, Some(true));

    // Schemas of what it found; unknown names said so.
    let result = call(
        &meta,
        "get_tool_schemas",
        json!({"names": ["jira.search", "github.close_issue", "nope.nothing"]}),
    )
    .await;
    let body = result.structured_content.unwrap();
    assert_eq!(body["tools"][0]["name"], "jira.search");
    assert!(body["tools"][0]["input_schema"]["properties"]["query"].is_object());
    assert_eq!(body["tools"][1]["connected"], false);
    assert_eq!(body["unknown"], json!(["nope.nothing"]));

    // Execute one, and several (in order, each with its own outcome).
    let result = call(
        &meta,
        "execute_tool",
        json!({"name": "jira.search", "arguments": {"query": "BRAVO issue 2"}}),
    )
    .await;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    assert_eq!(
        result.structured_content.unwrap()["entries"][0]["id"],
        "BRAVO-2"
    );
    let result = call(
        &meta,
        "execute_tools",
        json!({"calls": [
            {"name": "jira.get_item", "arguments": {"item_id": "ALPHA-3"}},
            {"name": "jira.search", "arguments": {}},
            {"name": "github.close_issue", "arguments": {}},
            {"name": "execute_tool", "arguments": {}},
        ]}),
    )
    .await;
    let results = result.structured_content.unwrap()["results"].clone();
    assert_eq!(results[0]["ok"], true, "{results}");
    assert_eq!(results[0]["output"]["id"], "ALPHA-3");
    assert_eq!(results[1]["error"]["code"], "VALIDATION", "{results}");
    assert_eq!(results[2]["error"]["code"], "NOT_CONNECTED", "{results}");
    assert!(
        results[2]["error"]["details"]["connect_url"]
            .as_str()
            .unwrap()
            .ends_with("/console/connectors/github/connect")
    );
    assert_eq!(
        results[3]["error"]["code"], "VALIDATION",
        "no meta tool inside a batch"
    );
    let too_many: Vec<Value> = (0..11)
        .map(|_| json!({"name": "jira.search", "arguments": {"query": "x"}}))
        .collect();
    let refused = call(&meta, "execute_tools", json!({ "calls": too_many })).await;
    assert_eq!(refused.is_error, Some(true));

    // Connections, and the link to connect another vendor.
    let result = call(&meta, "manage_connections", json!({"action": "list"})).await;
    let body = result.structured_content.unwrap();
    assert_eq!(body["connections"][0]["connector"], "jira");
    assert!(
        body["connectable"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["connector"] == "github")
    );
    let result = call(
        &meta,
        "manage_connections",
        json!({"action": "connect", "connector": "github"}),
    )
    .await;
    assert_eq!(
        result.structured_content.unwrap()["connect_url"],
        format!("{base}/console/connectors/github/connect")
    );

    // A regular tool name is not a meta-mode tool.
    let unknown = meta
        .call_tool(CallToolRequestParams::new("jira.search"))
        .await;
    assert!(unknown.is_err(), "{unknown:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pack_hides_and_refuses_what_it_does_not_list() {
    let jira = Atlassian::start("jira", JiraFake::start).await;
    jira.connect_with_token("jira").await;
    let base = jira.server.base.clone();

    // Malformed packs are refused by name.
    for (name, body) in [
        ("Bad Name", json!({"tools": ["jira.search"]})),
        ("triage", json!({"tools": []})),
        ("triage", json!({"tools": ["jira"]})),
        ("triage", json!({"tools": ["jira.search"], "extra": 1})),
    ] {
        let (status, answer) = jira
            .server
            .send(
                Method::PUT,
                &format!("/api/v1/tools/packs/{}", name.replace(' ', "%20")),
                Some(&jira.key),
                Some(body),
            )
            .await;
        assert_eq!(status, 422, "{name}: {answer}");
    }
    let pack =
        json!({"tools": ["jira.search", "jira.get_item"], "description": "read-only triage"});
    let (status, stored) = jira
        .server
        .send(
            Method::PUT,
            "/api/v1/tools/packs/triage",
            Some(&jira.key),
            Some(pack.clone()),
        )
        .await;
    assert_eq!(status, 200, "{stored}");
    let (_, listed) = jira
        .server
        .send(Method::GET, "/api/v1/tools/packs", Some(&jira.key), None)
        .await;
    assert_eq!(listed["data"]["triage"], pack);

    // The pack's endpoint lists its tools only, and refuses the rest before any plugin runs.
    let packed = client(&base, "/mcp/packs/triage", &jira.key).await;
    let tools = packed.list_all_tools().await.unwrap();
    assert_eq!(names(&tools), ["jira.search", "jira.get_item"]);
    let refused = packed
        .call_tool(
            CallToolRequestParams::new("jira.delete_issue")
                .with_arguments(json!({"issue": "ALPHA-1"}).as_object().cloned().unwrap()),
        )
        .await;
    assert!(
        refused.as_ref().is_err_and(
            |e| e.to_string().contains("not in pack") || e.to_string().contains("in pack")
        ),
        "{refused:?}"
    );
    assert!(jira.fake.issue("ALPHA-1").is_some(), "untouched");
    let result = call(&packed, "jira.search", json!({"query": "BRAVO issue 2"})).await;
    assert_ne!(result.is_error, Some(true), "{result:?}");

    // Meta mode on the pack: search never shows what the pack leaves out, execute refuses it.
    let meta = client(&base, "/mcp/packs/triage?mode=meta", &jira.key).await;
    let result = call(
        &meta,
        "search_tools",
        json!({"query": "delete a jira issue", "limit": 20}),
    )
    .await;
    let hits = found(&result);
    assert!(!hits.is_empty());
    assert!(
        hits.iter()
            .all(|(name, _)| name == "jira.search" || name == "jira.get_item"),
        "{hits:?}"
    );
    let refused = meta
        .call_tool(
            CallToolRequestParams::new("execute_tool").with_arguments(
                json!({"name": "jira.delete_issue", "arguments": {"issue": "ALPHA-1"}})
                    .as_object()
                    .cloned()
                    .unwrap(),
            ),
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let result = call(
        &meta,
        "execute_tools",
        json!({"calls": [{"name": "jira.delete_issue", "arguments": {"issue": "ALPHA-1"}}]}),
    )
    .await;
    assert_eq!(
        result.structured_content.unwrap()["results"][0]["error"]["code"],
        "NOT_FOUND"
    );
    assert!(jira.fake.issue("ALPHA-1").is_some(), "still untouched");
    let (status, searched) = jira
        .get("/api/v1/tools/search?q=delete%20jira%20issue&pack=triage&limit=20")
        .await;
    assert_eq!(status, 200);
    assert!(
        searched["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"] != "jira.delete_issue"),
        "{searched}"
    );
    let (_, searched) = jira
        .get("/api/v1/tools/search?q=delete%20jira%20issue")
        .await;
    assert_eq!(
        searched["data"][0]["name"], "jira.delete_issue",
        "{searched}"
    );

    // Audit: the refusals are recorded with the pack.
    let (_, audit) = jira.get("/api/v1/audit").await;
    assert!(
        audit["data"]["entries"]
            .as_array()
            .or(audit["data"].as_array())
            .unwrap()
            .iter()
            .any(|e| e["action"] == "tool.invoke"
                && e["outcome"] != "ok"
                && e.to_string().contains("pack `triage`")),
        "{audit}"
    );

    // Another tenant has no such pack; a deleted pack's endpoint is gone.
    let other = jira.server.tenant("initech").await;
    assert_eq!(
        tools_list_status(&jira, "/mcp/packs/triage", &other).await,
        404
    );
    let (status, _) = jira
        .server
        .send(
            Method::DELETE,
            "/api/v1/tools/packs/triage",
            Some(&jira.key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        tools_list_status(&jira, "/mcp/packs/triage", &jira.key).await,
        404
    );
}

/// The HTTP status of a bare `tools/list` POST at `path` with `key`.
async fn tools_list_status(jira: &Atlassian<JiraFake>, path: &str, key: &str) -> u16 {
    jira.server
        .client
        .post(format!("{}{path}", jira.server.base))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
