//! The Asana connector, a declarative manifest (`plugins/manifests/asana.yaml`) run by the
//! bundled interpreter, through the host's REST API and agent tools, against a behavioural
//! Asana fake, with every request checked against Asana's own API description.

use connector_tests::contract::{ApiSpec, assert_conforms};
use connector_tests::fakes::AsanaFake;
use connector_tests::fakes::asana::{ASANA_TOKEN, PROJECTS, USER_GID, WORKSPACE};
use connector_tests::harness::{TenantSession, connection_path, entries, error_code};
use reqwest::Method;
use serde_json::{Value, json};

async fn connect(session: &TenantSession, fake: &AsanaFake, token: &str) -> (u16, Value) {
    let body = json!({
        "connector": "asana",
        "config": {"api_url": fake.origin(), "workspace": WORKSPACE},
        "credentials": {"type": "bearer", "token": token},
    });
    session
        .send(Method::POST, "/api/v1/connections", Some(body))
        .await
}

fn ids(page: &Value) -> Vec<&str> {
    entries(page)
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect()
}

#[tokio::test]
async fn asana_workspaces_projects_tasks_and_stories_through_the_manifest() {
    let fake = AsanaFake::start().await;
    let session = TenantSession::start().await;
    let refused = connect(&session, &fake, "2/wrong").await;
    assert_eq!(
        error_code(&refused),
        (422, Some("VALIDATION")),
        "{}",
        refused.1
    );
    let message = refused.1["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Not Authorized"),
        "Asana's own words: {message}"
    );
    let (status, created) = connect(&session, &fake, ASANA_TOKEN).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["principal"]["id"], USER_GID);
    assert_eq!(created["data"]["principal"]["email"], "ada@acme.example");
    let base = connection_path(&created);

    // Workspaces at the top, projects under one, paged by Asana's offset tokens.
    let (workspaces, _) = session.ids(&format!("{base}/containers")).await;
    assert_eq!(workspaces.len(), 2);
    let (projects, pages) = session
        .ids(&format!("{base}/containers?parent={WORKSPACE}&limit=2"))
        .await;
    let expected: Vec<String> = PROJECTS.iter().map(|(gid, ..)| gid.to_string()).collect();
    assert_eq!((projects, pages), (expected, 2));
    let project = session
        .get(&format!("{base}/containers?parent={WORKSPACE}&limit=1"))
        .await;
    assert_eq!(project["data"]["entries"][0]["kind"], "project");
    assert_eq!(project["data"]["entries"][0]["parent_id"], WORKSPACE);

    // Tasks, with their notes (asked for by opt_fields), paged; then only those changed since.
    let launch = PROJECTS[0].0;
    let (tasks, pages) = session
        .ids(&format!("{base}/containers/{launch}/items?limit=2"))
        .await;
    assert_eq!((tasks.len(), pages), (5, 3));
    let first = session
        .get(&format!("{base}/containers/{launch}/items?limit=1"))
        .await;
    let task = &first["data"]["entries"][0];
    assert_eq!(task["body"], "Notes of Launch task 1");
    assert_eq!(task["container_id"], launch);
    assert_eq!(task["updated_at"], "2026-11-01T19:00:00Z");
    assert_eq!(task["author"]["id"], USER_GID);
    let recent = session
        .get(&format!(
            "{base}/containers/{launch}/items?updated_since=2026-11-02T11:00:00Z"
        ))
        .await;
    assert_eq!(ids(&recent).len(), 3, "{recent}");

    // One task, its comments (system stories left out), search.
    let id = tasks[0].clone();
    let item = session.get(&format!("{base}/items/{id}")).await;
    assert_eq!(item["data"]["title"], "Launch task 1");
    assert_eq!(item["data"]["attributes"]["completed"], "false");
    let comments = session.get(&format!("{base}/items/{id}/comments")).await;
    let texts: Vec<&str> = comments["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["body"].as_str())
        .collect();
    assert_eq!(texts, ["Comment 1", "Comment 3"]);
    let found = session.get(&format!("{base}/search?q=roadmap")).await;
    assert_eq!(ids(&found).len(), 2, "{found}");

    // Writes: a task, a change to it, a comment on it, the action.
    let (status, created) = session
        .send(
            Method::POST,
            &format!("{base}/containers/{launch}/items"),
            Some(json!({"title": "From the host", "body": "Made by a manifest"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let new_id = created["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["data"]["container_id"], launch);
    let (status, updated) = session
        .send(
            Method::PATCH,
            &format!("{base}/items/{new_id}"),
            Some(json!({"title": "Renamed"})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["title"], "Renamed");
    assert_eq!(
        updated["data"]["body"], "Made by a manifest",
        "notes untouched"
    );
    let (status, comment) = session
        .send(
            Method::POST,
            &format!("{base}/items/{new_id}/comments"),
            Some(json!({"body": "Looks good"})),
        )
        .await;
    assert_eq!(status, 201, "{comment}");
    assert_eq!(comment["data"]["body"], "Looks good");
    let (status, done) = session
        .send(
            Method::POST,
            &format!("{base}/actions/complete_task"),
            Some(json!({"task": new_id})),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        done["data"]["output"],
        json!({"id": new_id, "completed": true})
    );
    assert_eq!(fake.task(&new_id).unwrap()["completed"], true);

    // Asana's errors: an unknown task, a throttle with its wait.
    let missing = session
        .send(Method::GET, &format!("{base}/items/404"), None)
        .await;
    assert_eq!(
        error_code(&missing),
        (404, Some("NOT_FOUND")),
        "{}",
        missing.1
    );
    assert!(
        missing.1["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Unknown object"),
        "the vendor's message: {}",
        missing.1
    );
    fake.throttle_next(1);
    session
        .assert_rate_limited(&format!("{base}/containers"), "7")
        .await;

    let requests = fake.recorder.requests();
    assert!(
        requests
            .iter()
            .filter(|r| r.header("authorization").is_some())
            .all(
                |r| r.header("authorization") == Some(&format!("Bearer {ASANA_TOKEN}"))
                    || r.header("authorization") == Some("Bearer 2/wrong")
            )
    );
    let covered = assert_conforms(&ApiSpec::asana(), &requests, "");
    assert!(
        covered >= 20,
        "{covered} requests checked against Asana's description"
    );
}

#[tokio::test]
async fn asana_tasks_are_agent_tools_like_any_connector() {
    let fake = AsanaFake::start().await;
    let session = TenantSession::start().await;
    let (status, created) = connect(&session, &fake, ASANA_TOKEN).await;
    assert_eq!(status, 201, "{created}");
    let tools = session.get("/api/v1/tools").await;
    let names: Vec<&str> = tools["data"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with("complete_task")),
        "the manifest's action is a tool: {names:?}"
    );
    assert!(names.iter().any(|n| n.ends_with("search")), "{names:?}");
}
