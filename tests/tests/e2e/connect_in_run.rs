//! Connecting an account inside an agent run (#44 part 2): a `tools/call` for a connector the
//! tenant has no working connection to answers an MCP 2026-07-28 client with a URL elicitation
//! (SEP-2322 `input_required`) and a sealed `requestState`; the person connects in the console
//! (chromium, through the loopback authorization server); the client's retry runs the call.
//! Then every hostile retry: another tenant's state, a replay, another call's state, a
//! declined elicitation, a client that cannot take URL elicitation, and REST's 409 link.

use std::sync::{Arc, Mutex};

use connector_tests::fakes::JiraFake;
use reqwest::Method;
use rmcp::ClientHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ClientConfig,
    ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationCapability, Implementation,
    InputRequest, InputRequiredResult, InputResponses, ProtocolVersion, UrlElicitationCapability,
};
use rmcp::service::{
    ClientLifecycleMode, RequestContext, RoleClient, RunningService, serve_client_with_lifecycle,
};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;

use super::atlassian_setup::Atlassian;
use super::console::browser_script;

/// What the agent does with a URL it is asked to open.
#[derive(Clone)]
enum Person {
    /// Opens it in chromium and connects Jira there.
    Connects { key: String, site: String },
    /// Says no.
    Declines,
}

/// An MCP client that declares URL elicitation and records the URLs it was asked to open.
#[derive(Clone)]
struct Agent {
    info: ClientConfig,
    person: Person,
    opened: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for Agent {
    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, rmcp::ErrorData> {
        let ElicitRequestParams::UrlElicitationParams { url, .. } = request else {
            return Err(rmcp::ErrorData::invalid_params("only URL mode here", None));
        };
        self.opened.lock().unwrap().push(url.clone());
        let action = match &self.person {
            Person::Connects { key, site } => {
                browser_script(
                    "connect_in_run.mjs",
                    vec![
                        ("CONNECT_URL", url),
                        ("CONSOLE_KEY", key.clone()),
                        ("JIRA_SITE", site.clone()),
                    ],
                )
                .await;
                ElicitationAction::Accept
            }
            Person::Declines => ElicitationAction::Decline,
        };
        Ok(ElicitResult::new(action))
    }
}

fn client_info(url_elicitation: bool) -> ClientConfig {
    let mut capabilities = ClientCapabilities::default();
    if url_elicitation {
        capabilities.elicitation =
            Some(ElicitationCapability::new().with_url(UrlElicitationCapability::new()));
    }
    ClientConfig::new(capabilities, Implementation::new("connector-tests", "1"))
}

async fn agent(
    base: &str,
    key: &str,
    agent: Agent,
    version: ProtocolVersion,
) -> RunningService<RoleClient, Agent> {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp"))
        .auth_header(key.to_owned());
    let transport = StreamableHttpClientTransport::from_config(config);
    let lifecycle = if version == ProtocolVersion::LATEST {
        ClientLifecycleMode::Discover {
            preferred_versions: vec![version.clone()],
        }
    } else {
        ClientLifecycleMode::Initialize
    };
    let mut agent = agent;
    agent.info.protocol_version = version;
    serve_client_with_lifecycle(agent, transport, lifecycle)
        .await
        .expect("the MCP client connects")
}

fn search(query: &str) -> CallToolRequestParams {
    CallToolRequestParams::new("jira.search").with_arguments(
        json!({ "query": query })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
}

fn retry(
    mut call: CallToolRequestParams,
    asked: &InputRequiredResult,
    action: &str,
) -> CallToolRequestParams {
    let mut responses = InputResponses::new();
    responses.insert("connect".into(), json!({ "action": action }));
    call.input_responses = Some(responses);
    call.request_state = asked.request_state.clone();
    call
}

/// The URL elicitation an `input_required` result carries.
fn elicited_url(asked: &InputRequiredResult) -> String {
    let requests = asked.input_requests.as_ref().expect("input requests");
    assert_eq!(requests.len(), 1, "{requests:?}");
    match requests.get("connect") {
        Some(InputRequest::Elicitation(request)) => match &request.params {
            ElicitRequestParams::UrlElicitationParams { url, .. } => url.clone(),
            other => panic!("not URL mode: {other:?}"),
        },
        other => panic!("not an elicitation: {other:?}"),
    }
}

async fn input_required(
    client: &RunningService<RoleClient, Agent>,
    call: CallToolRequestParams,
) -> InputRequiredResult {
    match client.call_tool_once(call).await.expect("tools/call") {
        CallToolResponse::InputRequired(asked) => asked,
        other => panic!("expected input_required, got {other:?}"),
    }
}

/// Requests the Jira fake has seen under `/rest/`.
fn vendor_requests(jira: &Atlassian<JiraFake>) -> usize {
    jira.fake
        .recorder
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/rest/"))
        .count()
}

/// The whole path with rmcp's own round driver: `call_tool` gets the elicitation, the person
/// connects Jira in chromium (sign-in, the connect form, the start page, the authorization
/// server), and rmcp's retry with the state returns the search results.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_gets_a_connect_link_the_person_connects_in_a_browser_and_the_call_runs() {
    let jira = Atlassian::start("jira", JiraFake::start).await;
    jira.atlassian.add_site("cloud-main", &jira.fake.origin());
    let opened = Arc::new(Mutex::new(Vec::new()));
    let person = Person::Connects {
        key: jira.key.clone(),
        site: jira.fake.origin(),
    };
    let client = agent(
        &jira.server.base,
        &jira.key,
        Agent {
            info: client_info(true),
            person,
            opened: opened.clone(),
        },
        ProtocolVersion::LATEST,
    )
    .await;

    let found = client
        .call_tool(search("BRAVO issue 2"))
        .await
        .expect("tools/call jira.search, with one round of input");
    assert_ne!(found.is_error, Some(true), "{found:?}");
    let page = found.structured_content.expect("structured content");
    let ids: Vec<&str> = page["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|entry| entry["id"].as_str())
        .collect();
    assert_eq!(ids, ["BRAVO-2"], "{page}");

    let opened = opened.lock().unwrap().clone();
    assert_eq!(
        opened,
        [format!(
            "{}/console/connectors/jira/connect",
            jira.server.base
        )],
        "one link, on the host's origin, with nothing secret in it"
    );
    let (_, listed) = jira
        .server
        .send(Method::GET, "/api/v1/connections", Some(&jira.key), None)
        .await;
    let entries = listed["data"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{listed}");
    assert_eq!(entries[0]["credential_type"], "oauth2", "{listed}");
}

/// Every way a retry can be wrong, without a browser: the connection is made over REST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_state_works_once_for_its_tenant_client_and_call() {
    let jira = Atlassian::start("jira", JiraFake::start).await;
    let base = jira.server.base.clone();
    let acme = declining_agent(&base, &jira.key).await;

    // REST: 409 with the link, and nothing called.
    let (status, body) = jira
        .post(
            "/api/v1/tools/invoke",
            json!({"tool": "jira.search", "arguments": {"query": "bug"}}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("NOT_CONNECTED")),
        "{body}"
    );
    assert_eq!(
        body["error"]["details"]["connect_url"],
        format!("{base}/console/connectors/jira/connect")
    );

    let first = input_required(&acme, search("BRAVO issue 2")).await;
    let declined = input_required(&acme, search("BRAVO issue 2")).await;
    let other = input_required(&acme, search("ALPHA")).await;
    assert_eq!(
        elicited_url(&first),
        format!("{base}/console/connectors/jira/connect")
    );
    let state = first.request_state.clone().expect("a request state");
    assert!(!state.contains(&jira.key), "no secret in the state");

    // Declined: a tool error, and the vendor untouched.
    let result = completed(&acme, retry(search("BRAVO issue 2"), &declined, "decline")).await;
    assert_eq!(result.is_error, Some(true), "{result:?}");
    assert_eq!(vendor_requests(&jira), 0);

    // Tenant B with A's state: refused, whether or not B could run the tool.
    let initech = declining_agent(&base, &jira.server.tenant("initech").await).await;
    let foreign = "not one this host issued";
    refused(
        &initech,
        retry(search("BRAVO issue 2"), &first, "accept"),
        foreign,
    )
    .await;
    // Another key of the same tenant is another client.
    let (status, second_key) = jira
        .server
        .send(
            Method::POST,
            "/admin/v1/tenants/acme/api-keys",
            Some(connector_tests::harness::ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 201, "{second_key}");
    let acme_other_key = declining_agent(&base, second_key["data"]["key"].as_str().unwrap()).await;
    refused(
        &acme_other_key,
        retry(search("BRAVO issue 2"), &first, "accept"),
        foreign,
    )
    .await;

    // The person connects (here over REST); the retry runs.
    jira.connect_with_token("jira").await;
    let found = completed(&acme, retry(search("BRAVO issue 2"), &first, "accept")).await;
    assert_ne!(found.is_error, Some(true), "{found:?}");
    assert_eq!(
        found.structured_content.unwrap()["entries"][0]["id"],
        "BRAVO-2"
    );

    // Replayed, another call's state, forged: refused, and the vendor sees nothing more.
    let before = vendor_requests(&jira);
    refused(
        &acme,
        retry(search("BRAVO issue 2"), &first, "accept"),
        "already used",
    )
    .await;
    refused(
        &acme,
        retry(search("BRAVO issue 2"), &other, "accept"),
        "another call",
    )
    .await;
    let mut forged = other.clone();
    forged.request_state = Some(format!("{state}x"));
    refused(&acme, retry(search("ALPHA"), &forged, "accept"), foreign).await;
    assert_eq!(
        vendor_requests(&jira),
        before,
        "no plugin call on a refusal"
    );
    // The right one still works.
    let found = completed(&acme, retry(search("ALPHA"), &other, "accept")).await;
    assert_ne!(found.is_error, Some(true), "{found:?}");
}

/// A client on the current revision that declares URL elicitation and declines every URL.
async fn declining_agent(base: &str, key: &str) -> RunningService<RoleClient, Agent> {
    let declines = Agent {
        info: client_info(true),
        person: Person::Declines,
        opened: Arc::default(),
    };
    agent(base, key, declines, ProtocolVersion::LATEST).await
}

/// The call's final result (no further input asked).
async fn completed(
    client: &RunningService<RoleClient, Agent>,
    call: CallToolRequestParams,
) -> CallToolResult {
    match client.call_tool_once(call).await.expect("tools/call") {
        CallToolResponse::Complete(result) => result,
        other => panic!("expected a result, got {other:?}"),
    }
}

/// The call is refused with a protocol error saying `why`.
async fn refused(
    client: &RunningService<RoleClient, Agent>,
    call: CallToolRequestParams,
    why: &str,
) {
    let error = client
        .call_tool_once(call)
        .await
        .expect_err("a refused retry");
    assert!(error.to_string().contains(why), "{why}: {error}");
}

/// A client that did not declare URL elicitation, or speaks the previous revision, gets the
/// missing-capability error with the link in its message at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_url_elicitation_gets_the_link_in_an_error() {
    let jira = Atlassian::start("jira", JiraFake::start).await;
    let base = jira.server.base.clone();
    let link = format!("{base}/console/connectors/jira/connect");
    for (url_elicitation, version) in [
        (false, ProtocolVersion::LATEST),
        (true, ProtocolVersion::V_2025_11_25),
    ] {
        let client = agent(
            &base,
            &jira.key,
            Agent {
                info: client_info(url_elicitation),
                person: Person::Declines,
                opened: Arc::default(),
            },
            version.clone(),
        )
        .await;
        let error = client
            .call_tool_once(search("bug"))
            .await
            .expect_err("no way to ask");
        let rmcp::service::ServiceError::McpError(error) = error else {
            panic!("a protocol error: {error:?}")
        };
        assert_eq!(
            error.code,
            rmcp::model::ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY,
            "{version:?}: {error:?}"
        );
        assert!(error.message.contains(&link), "{error:?}");
        let data = error.data.expect("data");
        assert_eq!(
            data["requiredCapabilities"]["elicitation"]["url"],
            json!({})
        );
    }
    // A tool no connector offers stays unknown; a connection named that is not the tenant's
    // stays not found (no link for someone else's connection).
    let client = declining_agent(&base, &jira.key).await;
    let unknown = client
        .call_tool_once(CallToolRequestParams::new("jira.no_such_tool"))
        .await
        .expect_err("unknown");
    assert!(unknown.to_string().contains("no tool"), "{unknown}");
    let (status, body) = jira
        .post(
            "/api/v1/tools/invoke",
            json!({"tool": "jira.search", "arguments": {"connection_id": "conn_someone_elses", "query": "x"}}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{body}"
    );
}

/// A connection whose grant died (`needs_reauth`): the tool call asks the person to authorize
/// it again (the connections page, with its Reconnect button); after they do, the retry runs
/// on the same connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_needs_reauthorization_gets_a_reconnect_link() {
    use connector_tests::harness::{OAuthSetup, OAuthTimings};
    let setup = OAuthSetup::start(OAuthTimings::default(), false).await;
    let id = setup.connect().await;
    setup.auth.revoke_all_refresh_tokens();
    setup.auth.expire_all_access_tokens();
    let base = setup.server.base.clone();
    let reconnect_link = format!("{base}/console/connections");

    // REST: the first call finds the grant dead, and answers with the link.
    let (status, body) = setup
        .server
        .send(
            Method::POST,
            "/api/v1/tools/invoke",
            Some(&setup.key),
            Some(json!({"tool": "probe.list_containers"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("REAUTH_REQUIRED")),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["connect_url"], reconnect_link);
    assert_eq!(body["error"]["details"]["connection_id"], id.as_str());

    // MCP: a URL elicitation of the same link.
    let client = declining_agent(&base, &setup.key).await;
    let call = CallToolRequestParams::new("probe.list_containers");
    let asked = input_required(&client, call.clone()).await;
    assert_eq!(elicited_url(&asked), reconnect_link);

    // The person authorizes again (the API's reconnect, in the harness browser).
    let mut body = setup.authorize_body();
    body["connection_id"] = json!(id);
    body["config"] = json!({});
    let authorization = setup.authorize(&setup.key, body).await;
    let callback = setup
        .consent(authorization["authorization_url"].as_str().expect("url"))
        .await;
    let (status, _, reconnected) = setup.callback(&callback).await;
    assert!(status == 200 || status == 201, "{status} {reconnected}");

    let listed = completed(&client, retry(call, &asked, "accept")).await;
    assert_ne!(listed.is_error, Some(true), "{listed:?}");
    assert_eq!(setup.connections().await, 1, "the same connection");
}

/// Two hosts on one PostgreSQL database: a connect state issued by A resumes on B, and then
/// is spent for both; a confirmation token issued by B under a policy set on A confirms the
/// call on A, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_and_confirmations_work_on_any_host_of_a_cluster_once() {
    use connector_tests::fakes::ProbeVendor;
    use connector_tests::harness::{TestDatabase, TestServer};
    let database = TestDatabase::create().await;
    let vendor = ProbeVendor::start().await;
    let host_a = TestServer::start_with(|config| database.configure(config)).await;
    let host_b = TestServer::start_with(|config| database.configure(config)).await;
    let key = host_a.tenant("acme").await;

    let on_a = declining_agent(&host_a.base, &key).await;
    let on_b = declining_agent(&host_b.base, &key).await;
    let call = CallToolRequestParams::new("probe.list_containers");
    let asked = input_required(&on_a, call.clone()).await;
    assert_eq!(
        elicited_url(&asked),
        format!("{}/console/connectors/probe/connect", host_a.base)
    );
    host_b
        .probe_connection(&key, &vendor.origin(), "tok-acme")
        .await;
    let listed = completed(&on_b, retry(call.clone(), &asked, "accept")).await;
    assert_ne!(listed.is_error, Some(true), "resumed on B: {listed:?}");
    refused(&on_a, retry(call, &asked, "accept"), "already used").await;

    let (status, _) = host_a
        .send(
            Method::PUT,
            "/api/v1/tools/policy",
            Some(&key),
            Some(json!({"rules": [{"name": "confirm-probe", "tools": ["probe.*"], "effect": "confirm"}]})),
        )
        .await;
    assert_eq!(status, 200);
    let invoke = json!({"tool": "probe.list_containers"});
    let (status, held) = host_b
        .send(
            Method::POST,
            "/api/v1/tools/invoke",
            Some(&key),
            Some(invoke.clone()),
        )
        .await;
    assert_eq!(
        status, 409,
        "the policy set on A holds the call on B: {held}"
    );
    let mut confirmed = invoke;
    confirmed["confirmation_token"] = held["error"]["details"]["confirmation_token"].clone();
    let (status, ran) = host_a
        .send(
            Method::POST,
            "/api/v1/tools/invoke",
            Some(&key),
            Some(confirmed.clone()),
        )
        .await;
    assert_eq!(status, 200, "confirmed on A: {ran}");
    let (status, _) = host_b
        .send(
            Method::POST,
            "/api/v1/tools/invoke",
            Some(&key),
            Some(confirmed),
        )
        .await;
    assert_eq!(status, 422, "and spent for B");
}
