//! The Datadog connector through the host's REST API, against a behavioural Datadog fake, with
//! every request checked against Datadog's own v1 and v2 API descriptions.

use connector_tests::contract::{ApiSpec, assert_conforms};
use connector_tests::fakes::DatadogFake;
use connector_tests::fakes::datadog::{
    API_KEY, APP_KEY, BASE_TIME, DASHBOARDS, EVENTS, INCIDENTS, MONITORS, TODOS, USER_ID,
    dashboard_id, event_id, incident_id, monitor_id,
};
use connector_tests::harness::{TenantSession, connection_path, error_code};
use reqwest::Method;
use serde_json::{Value, json};

struct Org {
    fake: DatadogFake,
    api: TenantSession,
}

impl Org {
    async fn start() -> Self {
        Self {
            fake: DatadogFake::start().await,
            api: TenantSession::start().await,
        }
    }

    async fn connect(&self, api_key: &str, app_key: &str) -> (u16, Value) {
        let body = json!({
            "connector": "datadog",
            "config": {"site": "datadoghq.eu", "api_url": self.fake.api_url()},
            "credentials": {"type": "parts", "parts": {"api_key": api_key, "application_key": app_key}},
        });
        self.api
            .send(Method::POST, "/api/v1/connections", Some(body))
            .await
    }

    async fn connected(&self) -> String {
        let (status, created) = self.connect(API_KEY, APP_KEY).await;
        assert_eq!(status, 201, "{created}");
        connection_path(&created)
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.api.send(Method::POST, path, Some(body)).await
    }
}

#[tokio::test]
async fn two_keys_browse_monitors_incidents_dashboards_and_events_and_act_on_them() {
    let dd = Org::start().await;
    let wrong_app = dd.connect(API_KEY, "not-the-app-key").await;
    assert_eq!(
        error_code(&wrong_app),
        (422, Some("VALIDATION")),
        "{}",
        wrong_app.1
    );
    let wrong_api = dd.connect("not-the-api-key", APP_KEY).await;
    assert_eq!(
        error_code(&wrong_api),
        (422, Some("VALIDATION")),
        "{}",
        wrong_api.1
    );

    let (status, created) = dd.connect(API_KEY, APP_KEY).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["principal"]["id"], USER_ID);
    assert_eq!(created["data"]["principal"]["display_name"], "Ada Lovelace");
    assert_eq!(
        created["data"]["values"]["web_url"],
        "https://app.datadoghq.eu"
    );
    let base = connection_path(&created);
    let shown = dd.api.get(&base).await.to_string();
    assert!(
        !shown.contains(API_KEY) && !shown.contains(APP_KEY),
        "{shown}"
    );

    let (kinds, _) = dd.api.ids(&format!("{base}/containers")).await;
    assert_eq!(kinds, ["monitors", "incidents", "dashboards", "events"]);

    let (monitors, pages) = dd
        .api
        .ids(&format!("{base}/containers/monitors/items?limit=3"))
        .await;
    let all: Vec<String> = (1..=MONITORS)
        .map(|n| format!("monitor:{}", monitor_id(n)))
        .collect();
    assert_eq!(monitors, all, "id_offset paging, by id");
    assert_eq!(pages, 3);
    let since = "2026-11-01T14:00:00Z"; // BASE_TIME + 5 h
    assert_eq!(BASE_TIME + 5 * 3600, 1_793_541_600);
    let (recent, _) = dd
        .api
        .ids(&format!(
            "{base}/containers/monitors/items?limit=3&updated_since={since}"
        ))
        .await;
    assert_eq!(recent, all[4..]);

    let (incidents, pages) = dd
        .api
        .ids(&format!("{base}/containers/incidents/items?limit=2"))
        .await;
    let expected: Vec<String> = (1..=INCIDENTS)
        .map(|n| format!("incident:{}", incident_id(n)))
        .collect();
    assert_eq!(incidents, expected);
    assert_eq!(pages, 3);
    let (dashboards, pages) = dd
        .api
        .ids(&format!("{base}/containers/dashboards/items?limit=2"))
        .await;
    let expected: Vec<String> = (1..=DASHBOARDS)
        .map(|n| format!("dashboard:{}", dashboard_id(n)))
        .collect();
    assert_eq!(dashboards, expected);
    assert_eq!(pages, 3);
    let (events, pages) = dd
        .api
        .ids(&format!("{base}/containers/events/items?limit=4"))
        .await;
    let newest_first: Vec<String> = (1..=EVENTS)
        .rev()
        .map(|n| format!("event:{}", event_id(n)))
        .collect();
    assert_eq!(events, newest_first);
    assert_eq!(pages, 2, "cursor in meta.page.after");
    let (recent, _) = dd
        .api
        .ids(&format!(
            "{base}/containers/events/items?updated_since={since}"
        ))
        .await;
    assert_eq!(recent, newest_first[..2]);

    let monitor = dd
        .api
        .get(&format!("{base}/items/monitor:{}", monitor_id(3)))
        .await;
    assert_eq!(monitor["data"]["title"], "Checkout latency high");
    assert!(
        monitor["data"]["body"]
            .as_str()
            .unwrap()
            .contains("Query: `avg(last_5m)")
    );
    assert_eq!(
        monitor["data"]["url"],
        format!("https://app.datadoghq.eu/monitors/{}", monitor_id(3))
    );
    let dashboard = dd
        .api
        .get(&format!("{base}/items/dashboard:{}", dashboard_id(1)))
        .await;
    assert_eq!(
        dashboard["data"]["body"],
        "Service health\n\nWidgets:\n- Requests per second (timeseries)\n- Error rate (query_value)\n- untitled (note)"
    );
    let first_incident = format!("incident:{}", incident_id(1));
    let incident = dd.api.get(&format!("{base}/items/{first_incident}")).await;
    assert_eq!(incident["data"]["title"], "Incident 1");
    let event = dd
        .api
        .get(&format!("{base}/items/event:{}", event_id(2)))
        .await;
    assert_eq!(event["data"]["title"], "Deploy 2");

    let (todos, pages) = dd
        .api
        .ids(&format!("{base}/items/{first_incident}/comments?limit=2"))
        .await;
    assert_eq!(todos.len() as u64, TODOS);
    assert_eq!(pages, 2);
    let listed = dd
        .api
        .get(&format!("{base}/items/{first_incident}/comments?limit=1"))
        .await;
    assert_eq!(listed["data"]["entries"][0]["body"], "- [x] Todo 1");
    let todo = dd
        .post(
            &format!("{base}/items/{first_incident}/comments"),
            json!({"body": "Page the DB team"}),
        )
        .await;
    assert_eq!(todo.0, 201, "{}", todo.1);
    let (after, _) = dd
        .api
        .ids(&format!("{base}/items/{first_incident}/comments"))
        .await;
    assert_eq!(
        after.last(),
        todo.1["data"]["id"].as_str().map(str::to_owned).as_ref()
    );
    let on_monitor = dd
        .api
        .send(
            Method::GET,
            &format!("{base}/items/monitor:{}/comments", monitor_id(1)),
            None,
        )
        .await;
    assert_eq!(error_code(&on_monitor), (501, Some("UNSUPPORTED")));

    let (found, _) = dd.api.ids(&format!("{base}/search?q=checkout")).await;
    assert_eq!(found, [format!("monitor:{}", monitor_id(3))]);
    let (alerting, pages) = dd
        .api
        .ids(&format!("{base}/search?q=status%3Aalert&limit=1"))
        .await;
    assert_eq!(
        alerting,
        [
            format!("monitor:{}", monitor_id(3)),
            format!("monitor:{}", monitor_id(6))
        ]
    );
    assert_eq!(pages, 2);
    let (deploys, _) = dd
        .api
        .ids(&format!("{base}/search?q=events%3A%20deploy%203"))
        .await;
    assert_eq!(deploys, [format!("event:{}", event_id(3))]);

    let posted = dd
        .post(
            &format!("{base}/containers/events/items"),
            json!({"title": "Deploy web 42", "body": "Rolled out **v42**", "attributes": {"tags": "env:prod, team:web"}}),
        )
        .await;
    assert_eq!(posted.0, 201, "{}", posted.1);
    let event_item = posted.1["data"]["id"].as_str().unwrap().to_owned();
    let read = dd.api.get(&format!("{base}/items/{event_item}")).await;
    assert_eq!(read["data"]["body"], "Rolled out **v42**");
    let (events, _) = dd.api.ids(&format!("{base}/containers/events/items")).await;
    assert_eq!(events.first(), Some(&event_item));
    let declared = dd
        .post(
            &format!("{base}/containers/incidents/items"),
            json!({"title": "Checkout down", "attributes": {"customer_impacted": "true"}}),
        )
        .await;
    assert_eq!(declared.0, 201, "{}", declared.1);
    let incident_item = declared.1["data"]["id"].as_str().unwrap().to_owned();
    let read = dd.api.get(&format!("{base}/items/{incident_item}")).await;
    assert_eq!(read["data"]["title"], "Checkout down");
    let unknown = dd
        .post(
            &format!("{base}/containers/incidents/items"),
            json!({"title": "x", "attributes": {"severity": "SEV-1"}}),
        )
        .await;
    assert_eq!(
        error_code(&unknown),
        (422, Some("VALIDATION")),
        "{}",
        unknown.1
    );
    let in_monitors = dd
        .post(
            &format!("{base}/containers/monitors/items"),
            json!({"title": "x"}),
        )
        .await;
    assert_eq!(
        error_code(&in_monitors),
        (501, Some("UNSUPPORTED")),
        "{}",
        in_monitors.1
    );

    let muted = dd
        .post(
            &format!("{base}/actions/mute_monitor"),
            json!({"monitor": format!("monitor:{}", monitor_id(2)), "end": "2026-12-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(muted.0, 200, "{}", muted.1);
    assert_eq!(dd.fake.active_downtimes(monitor_id(2)), 1);
    let unmuted = dd
        .post(
            &format!("{base}/actions/unmute_monitor"),
            json!({"monitor": monitor_id(2).to_string()}),
        )
        .await;
    assert_eq!(unmuted.0, 200, "{}", unmuted.1);
    assert_eq!(
        unmuted.1["data"]["output"]["cancelled"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(dd.fake.active_downtimes(monitor_id(2)), 0);
    let resolved = dd
        .post(
            &format!("{base}/actions/resolve_incident"),
            json!({"incident": incident_item}),
        )
        .await;
    assert_eq!(resolved.0, 200, "{}", resolved.1);
    assert_eq!(resolved.1["data"]["output"]["state"], "resolved");
    let read = dd.api.get(&format!("{base}/items/{incident_item}")).await;
    let state = read["data"]["attributes"]["state"].as_str();
    assert_eq!(state, Some("resolved"), "{read}");

    let before = dd.fake.recorder.requests().len();
    for bad in [
        "monitor:1%3Bx",
        "incident:..%2F..%2Fv1%2Fvalidate",
        "dashboard:a%2Fb",
        "event:x",
        "1001",
        "widget:1",
    ] {
        let answer = dd
            .api
            .send(Method::GET, &format!("{base}/items/{bad}"), None)
            .await;
        assert_eq!(answer.0, 404, "{bad}: {}", answer.1);
    }
    let nowhere = dd
        .api
        .send(Method::GET, &format!("{base}/containers/logs/items"), None)
        .await;
    assert_eq!(error_code(&nowhere), (404, Some("NOT_FOUND")));
    assert_eq!(
        dd.fake.recorder.requests().len(),
        before,
        "ids that are not Datadog's never reach it"
    );

    // Moving the connection to another site sends the keys elsewhere: refused without them.
    let moved = dd
        .api
        .send(
            Method::PATCH,
            &base,
            Some(json!({"config": {"site": "datadoghq.com", "api_url": dd.fake.api_url()}})),
        )
        .await;
    assert_eq!(error_code(&moved), (422, Some("VALIDATION")), "{}", moved.1);
    assert_eq!(moved.1["error"]["details"]["keys"], json!(["site"]));

    let requests = dd.fake.recorder.requests();
    assert!(requests.iter().all(|r| r.header("dd-api-key").is_some()
        && r.header("dd-application-key").is_some()
        && r.header("authorization").is_none()
        && !r.query.as_deref().unwrap_or("").contains("api_key")));
    let v1: Vec<_> = requests
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
        .cloned()
        .collect();
    let v2: Vec<_> = requests
        .iter()
        .filter(|r| r.path.starts_with("/api/v2/"))
        .cloned()
        .collect();
    let covered = assert_conforms(&ApiSpec::datadog_v1(), &v1, "datadog v1")
        + assert_conforms(&ApiSpec::datadog_v2(), &v2, "datadog v2");
    assert_eq!(
        covered,
        requests.len(),
        "every request is in Datadog's descriptions"
    );
}

#[tokio::test]
async fn throttling_waits_until_the_rate_limit_resets_and_revoked_keys_need_reauth() {
    let dd = Org::start().await;
    let base = dd.connected().await;

    dd.fake.throttle_next(1);
    // The wait is X-RateLimit-Reset.
    dd.api
        .assert_rate_limited(&format!("{base}/containers/monitors/items"), "12")
        .await;
    dd.api
        .get(&format!("{base}/containers/monitors/items"))
        .await;

    dd.fake.revoke_keys();
    dd.api
        .assert_needs_reauth(&base, &format!("{base}/containers/monitors/items"))
        .await;
}
