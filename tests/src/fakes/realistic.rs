//! Vendor pages the size and shape of real ones, served as fixed bytes: a Jira `search/jql`
//! page of 50 issues with ADF descriptions (~100 KB), a Jira `project/search` page of 50
//! projects (~43 KB) and a Confluence v2 page listing of 50 pages. The shapes follow what Jira
//! Cloud REST v3 and Confluence v2 return (every field the API sends, not just the ones the
//! connectors read), so parsing cost is what a real site costs. Used by the benchmarks, and by
//! the tests that the connectors read such pages whole.
//!
//! The server answers like a static file server (nginx in front of a cache would): query
//! strings are ignored and every request on a known path gets the same bytes.

use std::sync::Arc;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use serde_json::{Value, json};

use super::FakeServer;

/// Entries on every page.
pub const PAGE_ENTRIES: usize = 50;
/// Jira project keys of the projects page, in order (`P00`..`P49`).
pub fn project_key(n: usize) -> String {
    format!("P{n:02}")
}
/// The Confluence space id whose pages the pages listing holds.
pub const SPACE_ID: &str = "65538";

/// Paths served, and the body of each.
pub struct RealisticPages {
    pub issues: Arc<str>,
    pub projects: Arc<str>,
    pub confluence_pages: Arc<str>,
    pub myself: Arc<str>,
    pub confluence_user: Arc<str>,
}

/// Path of the Jira issue search.
pub const ISSUES_PATH: &str = "/rest/api/3/search/jql";
/// Path of the Jira project listing.
pub const PROJECTS_PATH: &str = "/rest/api/3/project/search";
/// Path of the Confluence space's pages.
pub fn confluence_pages_path() -> String {
    format!("/wiki/api/v2/spaces/{SPACE_ID}/pages")
}

impl RealisticPages {
    /// The pages, for a site at `origin` (links in them point there).
    pub fn new(origin: &str) -> Self {
        let issues = json!({
            "issues": (0..PAGE_ENTRIES).map(|n| issue(origin, n)).collect::<Vec<_>>(),
            "nextPageToken": "CAEaAggD",
            "isLast": false,
        });
        let projects = json!({
            "self": format!("{origin}/rest/api/3/project/search?maxResults=50&startAt=0"),
            "nextPage": format!("{origin}/rest/api/3/project/search?maxResults=50&startAt=50"),
            "maxResults": PAGE_ENTRIES,
            "startAt": 0,
            "total": 240,
            "isLast": false,
            "values": (0..PAGE_ENTRIES).map(|n| project(origin, n)).collect::<Vec<_>>(),
        });
        let confluence_pages = json!({
            "results": (0..PAGE_ENTRIES).map(confluence_page).collect::<Vec<_>>(),
            "_links": {
                "next": format!("/wiki/api/v2/spaces/{SPACE_ID}/pages?cursor=eyJpZCI6IjEyMyJ9&limit=50"),
                "base": format!("{origin}/wiki"),
            },
        });
        Self {
            issues: issues.to_string().into(),
            projects: projects.to_string().into(),
            confluence_pages: confluence_pages.to_string().into(),
            myself: user(origin, 0).to_string().into(),
            confluence_user: json!({
                "type": "known", "accountId": account_id(0), "accountType": "atlassian",
                "email": "user0@example.com", "publicName": "Ada Lovelace",
                "displayName": "Ada Lovelace",
            })
            .to_string()
            .into(),
        }
    }
}

/// A running server of [`RealisticPages`]; it stops when dropped.
pub struct RealisticVendor {
    pub server: FakeServer,
    pub pages: Arc<RealisticPages>,
}

impl RealisticVendor {
    /// Serves the pages on 127.0.0.1 (Jira and Confluence paths on one origin).
    pub async fn start() -> Self {
        // The port is needed in the bodies' links before the pages exist, so bind first.
        let listener = FakeServer::bind().await;
        let origin = format!("http://{}", listener.local_addr().expect("local addr"));
        let pages = Arc::new(RealisticPages::new(&origin));
        let serve = |body: &Arc<str>| {
            let body = body.clone();
            get(move || {
                let body = body.clone();
                async move { ([(CONTENT_TYPE, "application/json")], body.to_string()) }
            })
        };
        let router = Router::new()
            .route(ISSUES_PATH, serve(&pages.issues))
            .route(PROJECTS_PATH, serve(&pages.projects))
            .route(&confluence_pages_path(), serve(&pages.confluence_pages))
            .route("/rest/api/3/myself", serve(&pages.myself))
            .route("/wiki/rest/api/user/current", serve(&pages.confluence_user));
        let server = FakeServer::start_on(listener, router);
        Self { server, pages }
    }

    pub fn origin(&self) -> String {
        self.server.origin()
    }
}

fn account_id(n: usize) -> String {
    format!("5b10ac8d82e05b22cc7d4e{n:02x}")
}

/// Jira's four avatar sizes of one avatar URL (which has a query already).
fn avatar_urls(base: &str) -> Value {
    json!({
        "48x48": format!("{base}&size=48"),
        "24x24": format!("{base}&size=24"),
        "16x16": format!("{base}&size=16"),
        "32x32": format!("{base}&size=32"),
    })
}

const PEOPLE: [&str; 5] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Barbara Liskov",
    "Edsger Dijkstra",
];

fn user(origin: &str, n: usize) -> Value {
    let id = account_id(n % PEOPLE.len());
    json!({
        "self": format!("{origin}/rest/api/3/user?accountId={id}"),
        "accountId": id,
        "emailAddress": format!("user{}@example.com", n % PEOPLE.len()),
        "displayName": PEOPLE[n % PEOPLE.len()],
        "active": true,
    })
}

fn text(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

fn marked(text: &str, mark: Value) -> Value {
    json!({"type": "text", "text": text, "marks": [mark]})
}

/// An ADF description like a short real bug report: a paragraph with marks and a link, a
/// bullet list.
fn description(origin: &str, n: usize) -> Value {
    json!({
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [
                text("Since build "),
                marked(&format!("2026.11.{n}"), json!({"type": "code"})),
                text(" the export job stops after the first batch: "),
                marked("stale figures", json!({"type": "strong"})),
                text(" for EU tenants. See "),
                marked("the runbook", json!({"type": "link", "attrs": {"href": format!("{origin}/wiki/x/{n}")}})),
                text("."),
            ]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [text("Export more than 10,000 rows.")]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [text("The worker retries "), marked("forever", json!({"type": "em"}))]}]},
            ]},
        ],
    })
}

const STATUSES: [(&str, &str, &str, u32); 3] = [
    ("To Do", "1", "new", 2),
    ("In Progress", "3", "indeterminate", 4),
    ("Done", "10001", "done", 3),
];

fn issue(origin: &str, n: usize) -> Value {
    let id = 10_000 + n;
    let (status, status_id, category, category_id) = STATUSES[n % STATUSES.len()];
    json!({
        "id": id.to_string(),
        "self": format!("{origin}/rest/api/3/issue/{id}"),
        "key": format!("OPS-{}", 1000 - n),
        "fields": {
            "summary": format!("Export job stops after the first batch for EU tenants ({n})"),
            "status": {
                "self": format!("{origin}/rest/api/3/status/{status_id}"),
                "name": status,
                "id": status_id,
                "statusCategory": {
                    "self": format!("{origin}/rest/api/3/statuscategory/{category_id}"),
                    "id": category_id,
                    "key": category,
                    "colorName": "yellow",
                    "name": status,
                },
            },
            "issuetype": {
                "self": format!("{origin}/rest/api/3/issuetype/10004"),
                "id": "10004",
                "description": "A problem or error.",
                "iconUrl": format!("{origin}/images/icons/issuetypes/bug.svg"),
                "name": "Bug",
                "subtask": false,
                "avatarId": 10303,
                "hierarchyLevel": 0,
            },
            "priority": {
                "self": format!("{origin}/rest/api/3/priority/2"),
                "iconUrl": format!("{origin}/images/icons/priorities/high.svg"),
                "name": "High",
                "id": "2",
            },
            "created": format!("2026-10-{:02}T09:{:02}:00.000+0000", 1 + n % 28, n % 60),
            "updated": format!("2026-11-{:02}T17:{:02}:41.512+0100", 1 + (PAGE_ENTRIES - n) % 28, n % 60),
            "reporter": user(origin, n),
            "assignee": user(origin, n + 1),
            "description": description(origin, n),
            "project": {
                "self": format!("{origin}/rest/api/3/project/10000"),
                "id": "10000",
                "key": "OPS",
                "name": "Operations",
                "projectTypeKey": "software",
                "simplified": false,
            },
            "labels": ["export", "eu-region", "customer-impact"],
        },
    })
}

fn project(origin: &str, n: usize) -> Value {
    let id = 10_000 + n;
    json!({
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        "self": format!("{origin}/rest/api/3/project/{id}"),
        "id": id.to_string(),
        "key": project_key(n),
        "name": format!("Platform team {n}"),
        "avatarUrls": avatar_urls(&format!("{origin}/secure/projectavatar?avatarId={}", 10_400 + n)),
        "projectCategory": {
            "self": format!("{origin}/rest/api/3/projectCategory/10000"),
            "id": "10000",
            "name": "Engineering",
            "description": "Product engineering teams",
        },
        "projectTypeKey": "software",
        "simplified": false,
        "style": "classic",
        "isPrivate": false,
        "properties": {},
        "entityId": format!("7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f{n:02}"),
        "uuid": format!("7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f{n:02}"),
        "insight": {"totalIssueCount": 120 + n, "lastIssueUpdateTime": "2026-11-20T10:15:30.000+0000"},
    })
}

fn confluence_page(n: usize) -> Value {
    let id = 98_000 + n;
    json!({
        "parentType": "page",
        "parentId": "97999",
        "spaceId": SPACE_ID,
        "ownerId": account_id(n % PEOPLE.len()),
        "lastOwnerId": null,
        "createdAt": format!("2026-10-{:02}T08:30:00.000Z", 1 + n % 28),
        "authorId": account_id(n % PEOPLE.len()),
        "position": 4_000 + n,
        "version": {
            "number": 3 + n % 7,
            "message": "Updated the rollout steps",
            "minorEdit": false,
            "authorId": account_id((n + 1) % PEOPLE.len()),
            "createdAt": format!("2026-11-{:02}T16:45:12.000Z", 1 + (PAGE_ENTRIES - n) % 28),
        },
        "body": {},
        "status": "current",
        "title": format!("Runbook: regional export recovery, part {n}"),
        "id": id.to_string(),
        "_links": {
            "editui": format!("/pages/resumedraft.action?draftId={id}"),
            "webui": format!("/spaces/OPS/pages/{id}/Runbook+regional+export+recovery+part+{n}"),
            "tinyui": format!("/x/{id:x}"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_have_the_sizes_of_real_ones() {
        let pages = RealisticPages::new("http://127.0.0.1:8080");
        let kb = |s: &str| s.len() / 1024;
        assert!(
            (90..=115).contains(&kb(&pages.issues)),
            "{}",
            kb(&pages.issues)
        );
        assert!(
            (38..=48).contains(&kb(&pages.projects)),
            "{}",
            kb(&pages.projects)
        );
        assert!(
            kb(&pages.confluence_pages) >= 25,
            "{}",
            kb(&pages.confluence_pages)
        );
    }
}
