//! Tool policy, the same over REST and MCP, before any plugin runs: a denied tool is refused,
//! a destructive one waits for a confirmation (REST: a 409 with a token to send back; MCP: a
//! form elicitation), results are redacted, and every decision is in the audit log with its
//! rule. Against the Jira fake, which must stay untouched by every refusal.

use connector_tests::fakes::JiraFake;
use reqwest::Method;
use rmcp::ClientHandler;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult,
    ElicitationAction, ElicitationCapability, FormElicitationCapability, Implementation,
    ProtocolVersion,
};
use rmcp::service::{
    ClientLifecycleMode, RequestContext, RoleClient, RunningService, serve_client_with_lifecycle,
};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use super::atlassian_setup::Atlassian;

/// What the person says to a confirmation form; `None`: the client cannot show forms.
#[derive(Clone)]
struct Person(Option<bool>);

impl ClientHandler for Person {
    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        if self.0.is_some() {
            capabilities.elicitation =
                Some(ElicitationCapability::new().with_form(FormElicitationCapability::new()));
        }
        ClientConfig::new(capabilities, Implementation::new("connector-tests", "1"))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, rmcp::ErrorData> {
        let ElicitRequestParams::FormElicitationParams { message, .. } = request else {
            return Err(rmcp::ErrorData::invalid_params("forms only", None));
        };
        assert!(message.contains("confirm-destructive"), "{message}");
        Ok(match self.0 {
            Some(true) => {
                ElicitResult::new(ElicitationAction::Accept).with_content(json!({"confirm": true}))
            }
            _ => ElicitResult::new(ElicitationAction::Decline),
        })
    }
}

async fn person(base: &str, key: &str, says: Option<bool>) -> RunningService<RoleClient, Person> {
    let config =
        StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).auth_header(key);
    serve_client_with_lifecycle(
        Person(says),
        StreamableHttpClientTransport::from_config(config),
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::LATEST],
        },
    )
    .await
    .expect("the MCP client connects")
}

fn delete(issue: &str) -> CallToolRequestParams {
    CallToolRequestParams::new("jira.delete_issue")
        .with_arguments(json!({ "issue": issue }).as_object().cloned().unwrap())
}

fn deletes(jira: &Atlassian<JiraFake>) -> usize {
    jira.fake
        .recorder
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_denies_holds_for_confirmation_and_redacts_over_rest_and_mcp() {
    let jira = Atlassian::start("jira", JiraFake::start).await;
    jira.connect_with_token("jira").await;
    let base = jira.server.base.clone();
    let put = |body: Value| {
        let server = &jira.server;
        let key = jira.key.clone();
        async move {
            server
                .send(Method::PUT, "/api/v1/tools/policy", Some(&key), Some(body))
                .await
        }
    };
    let (status, refused) = put(json!({"rules": [{"name": "x", "effect": "deny"}]})).await;
    assert_eq!(status, 422, "a rule for no tools: {refused}");
    let (status, refused) =
        put(json!({"redactions": [{"name": "r", "pattern": "passport"}]})).await;
    assert_eq!(status, 422, "{refused}");
    let (status, stored) = put(json!({
        "rules": [
            {"name": "no-transitions", "tools": ["jira.transition_issue"], "effect": "deny"},
            {"name": "confirm-destructive", "hints": ["destructive"], "effect": "confirm"}
        ],
        "redactions": [
            {"name": "emails", "pattern": "email"},
            {"name": "no-author", "path": "/author", "tools": ["jira.create_comment"]}
        ]
    }))
    .await;
    assert_eq!(status, 200, "{stored}");

    // Denied, before any plugin runs.
    let before = jira.fake.recorder.requests().len();
    let (status, body) = jira
        .post(
            "/api/v1/tools/invoke",
            json!({"tool": "jira.transition_issue", "arguments": {"issue": "ALPHA-1", "transition": "Done"}}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["rule"], "no-transitions");
    assert_eq!(
        jira.fake.recorder.requests().len(),
        before,
        "the vendor saw nothing"
    );

    // Held: REST answers 409 with a token bound to this very call.
    let call = json!({"tool": "jira.delete_issue", "arguments": {"issue": "ALPHA-1"}});
    let (status, held) = jira.post("/api/v1/tools/invoke", call.clone()).await;
    assert_eq!(
        (status, held["error"]["code"].as_str()),
        (409, Some("CONFLICT")),
        "{held}"
    );
    assert_eq!(held["error"]["details"]["rule"], "confirm-destructive");
    let token = held["error"]["details"]["confirmation_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(deletes(&jira), 0);
    let mut other = json!({"tool": "jira.delete_issue", "arguments": {"issue": "ALPHA-2"}});
    other["confirmation_token"] = json!(token);
    let (status, refused) = jira.post("/api/v1/tools/invoke", other).await;
    assert_eq!(status, 422, "a token for another call: {refused}");
    let mut confirmed = call.clone();
    confirmed["confirmation_token"] = json!(token);
    let (status, done) = jira.post("/api/v1/tools/invoke", confirmed.clone()).await;
    assert_eq!(status, 200, "{done}");
    assert!(
        jira.fake.issue("ALPHA-1").is_none(),
        "deleted once confirmed"
    );
    let (status, replayed) = jira.post("/api/v1/tools/invoke", confirmed).await;
    assert_eq!(status, 422, "a token works once: {replayed}");
    assert!(
        replayed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used")
    );

    // MCP: the person declines; nothing is deleted.
    let declines = person(&base, &jira.key, Some(false)).await;
    let answer = declines
        .call_tool(delete("ALPHA-2"))
        .await
        .expect("tools/call");
    assert_eq!(answer.is_error, Some(true), "{answer:?}");
    assert_eq!(answer.structured_content.unwrap()["code"], "NOT_CONFIRMED");
    assert!(jira.fake.issue("ALPHA-2").is_some(), "declined: untouched");
    assert_eq!(deletes(&jira), 1, "only the REST-confirmed one");
    // A client that cannot show a form is told so at once.
    let formless = person(&base, &jira.key, None).await;
    let error = formless
        .call_tool(delete("ALPHA-2"))
        .await
        .expect_err("no way to ask");
    assert!(error.to_string().contains("form elicitation"), "{error}");
    assert!(jira.fake.issue("ALPHA-2").is_some());
    // The person confirms: deleted.
    let confirms = person(&base, &jira.key, Some(true)).await;
    let answer = confirms
        .call_tool(delete("ALPHA-2"))
        .await
        .expect("tools/call");
    assert_ne!(answer.is_error, Some(true), "{answer:?}");
    assert!(jira.fake.issue("ALPHA-2").is_none(), "confirmed: deleted");

    // The console: the held call shows a "Confirm and run" form; confirming runs it.
    let mut console = super::console::Browser::new(&base);
    console.sign_in(&jira.key).await;
    let page = console.get("/console/tools/jira.delete_issue").await;
    let token = super::console::csrf(&page.html);
    let arguments = r#"{"issue": "ALPHA-4"}"#;
    let held = console
        .post(
            "/console/tools/jira.delete_issue",
            &[("csrf", &token), ("arguments", arguments)],
        )
        .await;
    assert_eq!(held.status, 409, "{}", held.html);
    assert!(held.html.contains("Confirm and run"), "{}", held.html);
    assert!(jira.fake.issue("ALPHA-4").is_some(), "held: untouched");
    let confirmation = field(&held.html, "confirmation_token");
    let done = console
        .post(
            "/console/tools/jira.delete_issue",
            &[
                ("csrf", &token),
                ("arguments", arguments),
                ("confirmation_token", &confirmation),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.html);
    assert!(
        jira.fake.issue("ALPHA-4").is_none(),
        "confirmed in the console: deleted"
    );

    // Redacted, in the structured result and its text copy.
    let commented = confirms
        .call_tool(
            CallToolRequestParams::new("jira.create_comment").with_arguments(
                json!({"item_id": "BRAVO-2", "body": "Ask ada@example.com about it"})
                    .as_object()
                    .cloned()
                    .unwrap(),
            ),
        )
        .await
        .expect("tools/call");
    let output = commented.structured_content.clone().unwrap();
    assert_eq!(output["body"], "Ask [redacted:email] about it", "{output}");
    assert_eq!(output["author"], "[redacted]", "{output}");
    let text = format!("{:?}", commented.content);
    assert!(!text.contains("ada@example.com"), "{text}");

    // Every decision, with its rule.
    let (_, audit) = jira.get("/api/v1/audit?limit=100").await;
    let events = audit["data"]["entries"]
        .as_array()
        .expect("entries")
        .clone();
    let has = |action: &str, needle: &str| {
        events
            .iter()
            .any(|e| e["action"] == action && e.to_string().contains(needle))
    };
    assert!(has("tool.invoke", "no-transitions"), "deny: {events:?}");
    assert!(has("tool.held", "confirm-destructive"), "held");
    assert!(has("tool.invoke", "\"confirmed\""), "ran once confirmed");
    assert!(has("tool.invoke", "\"emails\""), "redacted");
    assert!(
        has("tool_policy.set", "no-transitions"),
        "the policy change"
    );
}

/// The value of the hidden input `name` in `html`.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the field") + marker.len();
    let end = html[start..].find('"').expect("its end") + start;
    html[start..end].to_owned()
}
