//! Jira JSON to the unified records.

use atlassian::{Site, adf_to_markdown, to_rfc3339};
use connector_sdk::prelude::*;
use serde_json::Value;

fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn principal(user: &Value) -> Option<Principal> {
    let id = user.get("accountId")?.as_str()?;
    let mut principal = Principal::id(id);
    principal.display_name = text(user, "/displayName");
    principal.email = text(user, "/emailAddress");
    Some(principal)
}

pub fn container(site: &Site, project: &Value) -> Container {
    let key = text(project, "/key").unwrap_or_default();
    let mut container = Container::new(
        key.clone(),
        "project",
        text(project, "/name").unwrap_or_default(),
    );
    container.description = text(project, "/description").filter(|d| !d.is_empty());
    container.url = Some(site.browse_url(&format!("/browse/{key}")));
    container.attributes = [("id", "/id"), ("project_type", "/projectTypeKey")]
        .iter()
        .filter_map(|(name, pointer)| text(project, pointer).map(|v| ((*name).to_owned(), v)))
        .collect();
    container.raw = Some(project.to_string());
    container
}

pub fn item(site: &Site, issue: &Value) -> Item {
    let key = text(issue, "/key").unwrap_or_default();
    let fields = &issue["fields"];
    let project = text(fields, "/project/key")
        .unwrap_or_else(|| key.split('-').next().unwrap_or_default().to_owned());
    let mut item = Item::new(
        key.clone(),
        project,
        "issue",
        text(fields, "/summary").unwrap_or_default(),
    );
    if let Some(description) = fields.get("description").filter(|d| !d.is_null()) {
        item.body = Some(match description.as_str() {
            Some(plain) => plain.to_owned(),
            None => adf_to_markdown(description),
        });
        item.body_format = BodyFormat::Markdown;
    }
    item.url = Some(site.browse_url(&format!("/browse/{key}")));
    item.author = fields.get("reporter").and_then(principal);
    item.created_at = text(fields, "/created").map(|t| to_rfc3339(&t));
    item.updated_at = text(fields, "/updated").map(|t| to_rfc3339(&t));
    item.attributes = [
        ("id", "/id"),
        ("status", "/fields/status/name"),
        ("issuetype", "/fields/issuetype/name"),
        ("priority", "/fields/priority/name"),
        ("assignee", "/fields/assignee/displayName"),
    ]
    .iter()
    .filter_map(|(name, pointer)| text(issue, pointer).map(|v| ((*name).to_owned(), v)))
    .collect();
    item.raw = Some(issue.to_string());
    item
}

pub fn comment(site: &Site, issue_key: &str, comment: &Value) -> Comment {
    let body = comment
        .get("body")
        .map(|b| b.as_str().map_or_else(|| adf_to_markdown(b), str::to_owned))
        .unwrap_or_default();
    let id = text(comment, "/id").unwrap_or_default();
    let mut out = Comment::new(id.clone(), issue_key, body);
    out.body_format = BodyFormat::Markdown;
    out.author = comment.get("author").and_then(principal);
    out.created_at = text(comment, "/created").map(|t| to_rfc3339(&t));
    out.updated_at = text(comment, "/updated").map(|t| to_rfc3339(&t));
    out.url = Some(site.browse_url(&format!("/browse/{issue_key}?focusedCommentId={id}")));
    out.raw = Some(comment.to_string());
    out
}
