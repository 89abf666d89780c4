//! Pages the size and shape of real Jira and Confluence ones, read whole through the host:
//! every entry mapped, rich text converted, and the vendor's JSON passed through unchanged
//! only when the client asks for it (`?include_raw=true`).

use connector_tests::fakes::RealisticVendor;
use connector_tests::fakes::realistic::{self, PAGE_ENTRIES};
use connector_tests::harness::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

struct Setup {
    server: TestServer,
    key: String,
    vendor: RealisticVendor,
}

impl Setup {
    async fn start() -> Self {
        let vendor = RealisticVendor::start().await;
        let server = TestServer::start().await;
        let key = server.tenant("acme").await;
        Self {
            server,
            key,
            vendor,
        }
    }

    async fn connect(&self, connector: &str) -> String {
        let body = json!({
            "connector": connector,
            "config": {"site_url": self.vendor.origin()},
            "credentials": {"type": "basic", "username": "ada@example.com", "password": "t"},
        });
        let (status, body) = self
            .server
            .send(
                Method::POST,
                "/api/v1/connections",
                Some(&self.key),
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["data"]["id"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.server
            .send(Method::GET, path, Some(&self.key), None)
            .await
    }
}

/// The vendor's own objects of a page, in order.
fn vendor_entries(page: &str, field: &str) -> Vec<Value> {
    let page: Value = serde_json::from_str(page).unwrap();
    page[field].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_real_sized_jira_page_is_read_whole_and_raw_json_only_on_request() {
    let setup = Setup::start().await;
    let jira = setup.connect("jira").await;
    let items = format!("/api/v1/connections/{jira}/containers/OPS/items?limit=50");

    let (status, page) = setup.get(&items).await;
    assert_eq!(status, 200, "{page}");
    let entries = page["data"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), PAGE_ENTRIES);
    let first = &entries[0];
    assert_eq!(first["id"], "OPS-1000");
    assert_eq!(first["container_id"], "OPS");
    assert_eq!(first["attributes"]["status"], "To Do");
    assert_eq!(first["attributes"]["priority"], "High");
    assert_eq!(first["attributes"]["assignee"], "Grace Hopper");
    assert_eq!(first["author"]["display_name"], "Ada Lovelace");
    let body = first["body"].as_str().unwrap();
    for expected in [
        "Since build `2026.11.0`",
        "**stale figures**",
        &format!("[the runbook]({}/wiki/x/0)", setup.vendor.origin()),
        "- Export more than 10,000 rows.\n- The worker retries _forever_",
    ] {
        assert!(body.contains(expected), "{expected:?} in {body:?}");
    }
    assert!(
        entries.iter().all(|entry| entry.get("raw").is_none()),
        "no raw JSON unless asked"
    );
    assert!(page["data"]["next_cursor"].is_string());

    let (status, page) = setup.get(&format!("{items}&include_raw=true")).await;
    assert_eq!(status, 200, "{page}");
    let vendor = vendor_entries(&setup.vendor.pages.issues, "issues");
    let raw: Vec<&Value> = page["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| &entry["raw"])
        .collect();
    assert_eq!(raw, vendor.iter().collect::<Vec<_>>());

    let projects = format!("/api/v1/connections/{jira}/containers?limit=50");
    let (status, page) = setup.get(&projects).await;
    assert_eq!(status, 200, "{page}");
    let entries = page["data"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), PAGE_ENTRIES);
    assert_eq!(entries[7]["id"], realistic::project_key(7));
    assert_eq!(entries[7]["name"], "Platform team 7");
    assert!(entries.iter().all(|entry| entry.get("raw").is_none()));
    let (_, page) = setup.get(&format!("{projects}&include_raw=true")).await;
    let vendor = vendor_entries(&setup.vendor.pages.projects, "values");
    assert_eq!(page["data"]["entries"][7]["raw"], vendor[7]);
}

#[tokio::test]
async fn a_real_sized_confluence_page_is_read_whole_and_raw_json_only_on_request() {
    let setup = Setup::start().await;
    let confluence = setup.connect("confluence").await;
    let items = format!(
        "/api/v1/connections/{confluence}/containers/{}/items?limit=50",
        realistic::SPACE_ID
    );
    let (status, page) = setup.get(&items).await;
    assert_eq!(status, 200, "{page}");
    let entries = page["data"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), PAGE_ENTRIES);
    assert_eq!(entries[3]["id"], "98003");
    assert_eq!(entries[3]["attributes"]["version"], "6");
    assert!(
        entries[3]["url"]
            .as_str()
            .unwrap()
            .ends_with("/wiki/spaces/OPS/pages/98003/Runbook+regional+export+recovery+part+3")
    );
    assert!(entries.iter().all(|entry| entry.get("raw").is_none()));
    assert!(page["data"]["next_cursor"].is_string());

    let (_, page) = setup.get(&format!("{items}&include_raw=true")).await;
    let vendor = vendor_entries(&setup.vendor.pages.confluence_pages, "results");
    assert_eq!(page["data"]["entries"][3]["raw"], vendor[3]);

    let (status, body) = setup.get(&format!("{items}&include_raw=maybe")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("VALIDATION")),
        "{body}"
    );
}
