//! Jira Cloud connector: projects are containers, issues are items, issue comments are
//! comments; search is JQL. Talks REST API v3 on the site (API token, Basic) or through
//! `api.atlassian.com/ex/jira/{cloudId}` (OAuth 2.0 3LO).

mod actions;
mod mapping;
mod webhooks;

use atlassian::{Product, Site, adf_from_text, encode, jql_datetime, read_entry, read_with_raw};
use connector_sdk::config::Config;
use connector_sdk::http::{self, Request};
use connector_sdk::prelude::*;
use connector_sdk::webhook::{Delivery, Outcome, Registration, Target};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use mapping::{
    CommentPage, Issue, IssuePage, JiraComment, Project, ProjectPage, comment, container, item,
};

struct Jira {
    site: Site,
}

/// Issue fields every listing and read asks for.
const FIELDS: &str = "summary,status,issuetype,priority,created,updated,reporter,assignee,description,project,labels";

/// Project keys are upper-case letters, digits and `_`; anything else cannot be one and must
/// not reach JQL.
fn project_key(key: &str) -> Result<&str, ConnectorError> {
    let valid = !key.is_empty()
        && key.len() <= 32
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(key)
    } else {
        Err(ConnectorError::NotFound(format!(
            "`{key}` is not a Jira project key"
        )))
    }
}

/// Issue keys (`PROJ-12`) or numeric ids, safe in a URL path.
fn issue_key(key: &str) -> Result<&str, ConnectorError> {
    let valid = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(key)
    } else {
        Err(ConnectorError::NotFound(format!(
            "`{key}` is not a Jira issue key"
        )))
    }
}

/// A JQL string literal.
fn jql_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn search(site: &Site, jql: &str, page: &PageRequest) -> Result<ItemPage, ConnectorError> {
    let cursor = TokenCursor::decode(page.cursor.as_deref())?;
    let mut url = format!(
        "{}/rest/api/3/search/jql?jql={}&maxResults={}&fields={FIELDS}",
        site.api_base()?,
        encode(jql),
        page.limit.min(100)
    );
    if let Some(token) = &cursor.token {
        url.push_str(&format!("&nextPageToken={}", encode(token)));
    }
    let response = Request::get(url).send_ok()?;
    let (entries, next) = if page.include_raw {
        let found: IssuePage<&RawValue> = response.json()?;
        let issues = read_with_raw::<Issue>(Product::Jira, found.issues)?;
        let entries = issues.iter().map(|(i, raw)| item(site, i, *raw)).collect();
        (entries, found.next_page_token)
    } else {
        // Read by the host's native parser: on a page of 50 issues, parsing in the sandbox
        // was about half of the call's CPU.
        let body = response.json_from_host()?;
        let found: IssuePage<Issue> = body.read()?;
        let entries = found.issues.iter().map(|i| item(site, i, None)).collect();
        (entries, found.next_page_token)
    };
    Ok(ItemPage::new(entries, TokenCursor::next(next.as_deref())))
}

/// One issue, read back with the fields listings ask for (its JSON kept as `raw`).
fn get_issue(site: &Site, key: &str) -> Result<Item, ConnectorError> {
    let response = Request::get(format!(
        "{}/rest/api/3/issue/{}?fields={FIELDS}",
        site.api_base()?,
        encode(issue_key(key)?)
    ))
    .send_ok()?;
    let raw: &RawValue = response.json()?;
    Ok(item(
        site,
        &read_entry::<Issue>(Product::Jira, raw)?,
        Some(raw),
    ))
}

#[connector_sdk::connector]
impl Connector for Jira {
    fn new(connection: Connection) -> Result<Self, ConnectorError> {
        Ok(Self {
            site: Site::from_connection(&connection, Product::Jira)?,
        })
    }

    fn info() -> ConnectorInfo {
        atlassian::connector_info(
            "jira",
            "Jira",
            env!("CARGO_PKG_VERSION"),
            "Jira Cloud: projects, issues and comments through REST API v3",
            &["read:jira-work", "write:jira-work", "read:jira-user"],
        )
        .actions(actions::declared())
        .webhooks(webhooks::support())
        .build()
    }

    fn validate(config: &Config) -> Result<(), ConnectorError> {
        // The auth method is not known yet; only the URLs are checked.
        Site::from_config(config, None, Product::Jira).map(|_| ())
    }

    fn connect(&self) -> Result<ConnectionInfo, ConnectorError> {
        let site = &self.site;
        let mut info_extra = None;
        let base = if site.oauth {
            let (cloud_id, site_url) = site.discover()?;
            let base = format!("{}/ex/jira/{cloud_id}", site.gateway);
            info_extra = Some((cloud_id, site_url));
            base
        } else {
            site.api_base()?
        };
        let me: Value = http::get_json(&format!("{base}/rest/api/3/myself"))?;
        let mut principal = Principal::id(me["accountId"].as_str().unwrap_or_default());
        principal.display_name = me["displayName"].as_str().map(str::to_owned);
        principal.email = me["emailAddress"].as_str().map(str::to_owned);
        let info = ConnectionInfo::for_principal(principal);
        // The site as Atlassian reported it under this grant is what webhook deliveries are
        // routed by (the issue URL in a delivery names it).
        Ok(match info_extra {
            Some((cloud_id, site_url)) => info
                .discovered("cloud_id", cloud_id)
                .discovered("site_url", site_url),
            None => info,
        })
    }

    /// Projects, through `/rest/api/3/project/search` (startAt/maxResults/isLast).
    fn containers(
        &self,
        _parent: Option<&str>,
        page: PageRequest,
    ) -> Result<ContainerPage, ConnectorError> {
        let site = &self.site;
        let offset = OffsetCursor::decode(page.cursor.as_deref())?;
        let url = format!(
            "{}/rest/api/3/project/search?startAt={}&maxResults={}&orderBy=key",
            site.api_base()?,
            offset.start,
            page.limit.min(100)
        );
        let response = Request::get(url).send_ok()?;
        let (entries, count, is_last, total) = if page.include_raw {
            let found: ProjectPage<&RawValue> = response.json()?;
            let projects = read_with_raw::<Project>(Product::Jira, found.values)?;
            let entries: Vec<Container> = projects
                .iter()
                .map(|(project, raw)| container(site, project, *raw))
                .collect();
            (entries, projects.len(), found.is_last, found.total)
        } else {
            let body = response.json_from_host()?;
            let found: ProjectPage<Project> = body.read()?;
            let entries: Vec<Container> = found
                .values
                .iter()
                .map(|project| container(site, project, None))
                .collect();
            (entries, found.values.len(), found.is_last, found.total)
        };
        Ok(ContainerPage {
            next_cursor: offset.next_unless_last(count, is_last, total),
            entries,
        })
    }

    /// A project's issues, most recently updated first, through `/rest/api/3/search/jql`.
    fn items(
        &self,
        container_id: &str,
        updated_since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        let mut jql = format!("project = {}", jql_string(project_key(container_id)?));
        if let Some(since) = updated_since {
            let literal = jql_datetime(&since.to_string()).ok_or_else(|| {
                ConnectorError::InvalidConfig(format!("`{since}` is not an RFC 3339 time"))
            })?;
            jql.push_str(&format!(" AND updated >= \"{literal}\""));
        }
        jql.push_str(" ORDER BY updated DESC");
        search(&self.site, &jql, &page)
    }

    fn item(&self, item_id: &str) -> Result<Item, ConnectorError> {
        get_issue(&self.site, item_id)
    }

    /// An issue's comments, oldest first.
    fn comments(
        &self,
        item_id: &str,
        page: PageRequest,
    ) -> Result<connector_sdk::CommentPage, ConnectorError> {
        let site = &self.site;
        let offset = OffsetCursor::decode(page.cursor.as_deref())?;
        let url = format!(
            "{}/rest/api/3/issue/{}/comment?startAt={}&maxResults={}&orderBy=created",
            site.api_base()?,
            encode(issue_key(item_id)?),
            offset.start,
            page.limit.min(100)
        );
        let response = Request::get(url).send_ok()?;
        let (entries, count, total) = if page.include_raw {
            let found: CommentPage<&RawValue> = response.json()?;
            let comments = read_with_raw::<JiraComment>(Product::Jira, found.comments)?;
            let entries: Vec<Comment> = comments
                .iter()
                .map(|(c, raw)| comment(site, item_id, c, *raw))
                .collect();
            (entries, comments.len(), found.total)
        } else {
            let found: CommentPage<JiraComment> = response.json()?;
            let entries: Vec<Comment> = found
                .comments
                .iter()
                .map(|c| comment(site, item_id, c, None))
                .collect();
            (entries, found.comments.len(), found.total)
        };
        Ok(connector_sdk::CommentPage {
            next_cursor: offset.next_unless_last(count, false, total),
            entries,
        })
    }

    /// Text search by default; a query starting with `jql:` is passed as JQL.
    fn search(&self, query: &str, page: PageRequest) -> Result<ItemPage, ConnectorError> {
        let jql = match query.strip_prefix("jql:") {
            Some(jql) => jql.trim().to_owned(),
            None => format!("text ~ {} ORDER BY updated DESC", jql_string(query)),
        };
        search(&self.site, &jql, &page)
    }

    /// Creates an issue (type from attribute `issuetype`, default `Task`), then reads it back.
    fn create_item(&self, container_id: &str, new: NewItem) -> Result<Item, ConnectorError> {
        let site = &self.site;
        let mut issue_type = "Task".to_owned();
        for (key, value) in &new.attributes {
            match key.as_str() {
                "issuetype" => issue_type = value.clone(),
                other => {
                    return Err(ConnectorError::InvalidConfig(format!(
                        "unknown attribute `{other}`; Jira takes `issuetype`"
                    )));
                }
            }
        }
        let mut fields = json!({
            "project": {"key": project_key(container_id)?},
            "summary": new.title,
            "issuetype": {"name": issue_type},
        });
        if let Some(body) = new.body.filter(|b| !b.trim().is_empty()) {
            fields["description"] = adf_from_text(&body);
        }
        let created: Value = Request::post(format!("{}/rest/api/3/issue", site.api_base()?))
            .json(&json!({"fields": fields}))?
            .send_json()?;
        let key = created["key"]
            .as_str()
            .ok_or_else(|| ConnectorError::Permanent("Jira returned no issue key".into()))?;
        get_issue(site, key)
    }

    /// Edits an issue (`PUT /rest/api/3/issue/{key}`: summary, description, and attributes
    /// `priority` and `labels` (comma-separated)), then reads it back.
    fn update_item(&self, item_id: &str, patch: ItemPatch) -> Result<Item, ConnectorError> {
        let site = &self.site;
        let key = issue_key(item_id)?;
        let mut fields = serde_json::Map::new();
        if let Some(title) = patch.title {
            if title.trim().is_empty() {
                return Err(ConnectorError::InvalidConfig(
                    "`title` must not be empty".into(),
                ));
            }
            fields.insert("summary".into(), json!(title));
        }
        if let Some(body) = patch.body {
            fields.insert("description".into(), adf_from_text(&body));
        }
        for (name, value) in &patch.attributes {
            match name.as_str() {
                "priority" => fields.insert("priority".into(), json!({"name": value})),
                "labels" => fields.insert(
                    "labels".into(),
                    json!(
                        value
                            .split(',')
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .collect::<Vec<_>>()
                    ),
                ),
                other => {
                    return Err(ConnectorError::InvalidConfig(format!(
                        "unknown attribute `{other}`; Jira edits take `priority` and `labels`"
                    )));
                }
            };
        }
        if fields.is_empty() {
            return Err(ConnectorError::InvalidConfig(
                "nothing to change: give `title`, `body` or `attributes`".into(),
            ));
        }
        let url = format!("{}/rest/api/3/issue/{}", site.api_base()?, encode(key));
        Request::new(http::Method::Put, url)
            .json(&json!({"fields": fields}))?
            .send_ok()?;
        get_issue(site, key)
    }

    fn create_comment(&self, item_id: &str, new: NewComment) -> Result<Comment, ConnectorError> {
        let site = &self.site;
        let url = format!(
            "{}/rest/api/3/issue/{}/comment",
            site.api_base()?,
            encode(issue_key(item_id)?)
        );
        let response = Request::post(url)
            .json(&json!({"body": adf_from_text(&new.body)}))?
            .send_ok()?;
        let raw: &RawValue = response.json()?;
        Ok(comment(
            site,
            item_id,
            &read_entry::<JiraComment>(Product::Jira, raw)?,
            Some(raw),
        ))
    }

    fn invoke(&self, action: &str, input: Value) -> Result<Value, ConnectorError> {
        actions::invoke(&self.site, action, input)
    }

    /// Issue and comment events of a dynamic webhook, routed by their site.
    fn webhook_event(
        _connection: Option<&Connection>,
        delivery: Delivery,
    ) -> Result<Outcome, ConnectorError> {
        webhooks::event(&delivery)
    }

    /// A dynamic webhook on one project (OAuth connections).
    fn register_webhook(&self, target: Target) -> Result<Registration, ConnectorError> {
        webhooks::register(&self.site, &target)
    }

    fn unregister_webhook(&self, registration: Registration) -> Result<(), ConnectorError> {
        webhooks::unregister(&self.site, &registration)
    }
}
