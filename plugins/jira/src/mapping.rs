//! Jira JSON to the unified records. Pages are read straight into the structs below (strings
//! borrowed from the response body, no `serde_json::Value` tree), and the vendor's JSON of an
//! entry is kept only when the client asked for it.

use atlassian::lenient::{Lenient, Text};
use atlassian::{RichText, Site, to_rfc3339};
use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;

/// A page of `/rest/api/3/search/jql`; `E` is an [`Issue`], or a `&RawValue` when the
/// vendor's JSON is kept.
#[derive(Deserialize)]
pub struct IssuePage<E> {
    pub issues: Vec<E>,
    #[serde(rename = "nextPageToken", default)]
    pub next_page_token: Option<String>,
}

/// A page of `/rest/api/3/project/search`.
#[derive(Deserialize)]
pub struct ProjectPage<E> {
    pub values: Vec<E>,
    #[serde(default, rename = "isLast")]
    pub is_last: bool,
    #[serde(default)]
    pub total: Option<u64>,
}

/// A page of `/rest/api/3/issue/{key}/comment`.
#[derive(Deserialize)]
pub struct CommentPage<E> {
    pub comments: Vec<E>,
    #[serde(default)]
    pub total: Option<u64>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct Issue<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    key: Text<'a>,
    #[serde(borrow)]
    fields: Lenient<Fields<'a>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Fields<'a> {
    #[serde(borrow)]
    summary: Text<'a>,
    #[serde(borrow)]
    status: Lenient<Named<'a>>,
    #[serde(borrow)]
    issuetype: Lenient<Named<'a>>,
    #[serde(borrow)]
    priority: Lenient<Named<'a>>,
    #[serde(borrow)]
    created: Text<'a>,
    #[serde(borrow)]
    updated: Text<'a>,
    #[serde(borrow)]
    reporter: Lenient<User<'a>>,
    #[serde(borrow)]
    assignee: Lenient<User<'a>>,
    #[serde(borrow)]
    description: RichText<'a>,
    #[serde(borrow)]
    project: Lenient<Named<'a>>,
}

/// Status, issue type, priority or project reference: the parts read of them.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Named<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    key: Text<'a>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct User<'a> {
    #[serde(rename = "accountId", borrow)]
    account_id: Text<'a>,
    #[serde(rename = "displayName", borrow)]
    display_name: Text<'a>,
    #[serde(rename = "emailAddress", borrow)]
    email_address: Text<'a>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct Project<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    key: Text<'a>,
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    description: Text<'a>,
    #[serde(rename = "projectTypeKey", borrow)]
    project_type_key: Text<'a>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct JiraComment<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    body: RichText<'a>,
    #[serde(borrow)]
    author: Lenient<User<'a>>,
    #[serde(borrow)]
    created: Text<'a>,
    #[serde(borrow)]
    updated: Text<'a>,
}

fn owned(text: &Text) -> Option<String> {
    text.to_owned_string()
}

fn principal(user: &Lenient<User>) -> Option<Principal> {
    let user = user.0.as_ref()?;
    let mut principal = Principal::id(user.account_id.as_str()?);
    principal.display_name = owned(&user.display_name);
    principal.email = owned(&user.email_address);
    Some(principal)
}

fn raw_text(raw: Option<&RawValue>) -> Option<String> {
    raw.map(|raw| raw.get().to_owned())
}

pub fn container(site: &Site, project: &Project, raw: Option<&RawValue>) -> Container {
    let key = project.key.or_empty();
    let mut container = Container::new(key, "project", project.name.or_empty());
    container.description = owned(&project.description).filter(|d| !d.is_empty());
    container.url = Some(site.browse_url(&["/browse/", key]));
    container.attributes = [
        ("id", &project.id),
        ("project_type", &project.project_type_key),
    ]
    .into_iter()
    .filter_map(|(name, value)| owned(value).map(|v| (name.to_owned(), v)))
    .collect();
    container.raw = raw_text(raw);
    container
}

pub fn item(site: &Site, issue: &Issue, raw: Option<&RawValue>) -> Item {
    let key = issue.key.or_empty();
    let fields = issue.fields.0.as_ref();
    let name = |named: Option<&Lenient<Named>>| {
        named
            .and_then(|n| n.0.as_ref())
            .and_then(|n| n.name.to_owned_string())
    };
    let project = fields
        .and_then(|f| f.project.0.as_ref())
        .and_then(|p| p.key.to_owned_string())
        .unwrap_or_else(|| key.split('-').next().unwrap_or_default().to_owned());
    let summary = fields.map(|f| f.summary.or_empty()).unwrap_or_default();
    let mut item = Item::new(key, project, "issue", summary);
    if let Some(body) = fields.and_then(|f| f.description.to_markdown()) {
        item.body = Some(body);
        item.body_format = BodyFormat::Markdown;
    }
    item.url = Some(site.browse_url(&["/browse/", key]));
    if let Some(fields) = fields {
        item.author = principal(&fields.reporter);
        item.created_at = fields.created.as_str().map(to_rfc3339);
        item.updated_at = fields.updated.as_str().map(to_rfc3339);
    }
    let assignee = fields
        .and_then(|f| f.assignee.0.as_ref())
        .and_then(|user| user.display_name.to_owned_string());
    item.attributes = [
        ("id", owned(&issue.id)),
        ("status", name(fields.map(|f| &f.status))),
        ("issuetype", name(fields.map(|f| &f.issuetype))),
        ("priority", name(fields.map(|f| &f.priority))),
        ("assignee", assignee),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| (name.to_owned(), v)))
    .collect();
    item.raw = raw_text(raw);
    item
}

pub fn comment(
    site: &Site,
    issue_key: &str,
    comment: &JiraComment,
    raw: Option<&RawValue>,
) -> Comment {
    let id = comment.id.or_empty();
    let mut out = Comment::new(
        id,
        issue_key,
        comment.body.to_markdown().unwrap_or_default(),
    );
    out.body_format = BodyFormat::Markdown;
    out.author = principal(&comment.author);
    out.created_at = comment.created.as_str().map(to_rfc3339);
    out.updated_at = comment.updated.as_str().map(to_rfc3339);
    out.url = Some(site.browse_url(&["/browse/", issue_key, "?focusedCommentId=", id]));
    out.raw = raw_text(raw);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issue_reads_typed_and_odd_fields_do_not_fail_it() {
        let json = r#"{"id": "10001", "key": "OPS-7", "fields": {
            "summary": "Broken \"export\"", "status": {"name": "Done"}, "priority": null,
            "issuetype": "not an object", "assignee": {"displayName": "Ann"},
            "reporter": {"accountId": "acct-1", "displayName": "Bo", "emailAddress": null},
            "created": "2026-10-01T09:00:00.000+0000", "updated": 5,
            "description": {"type": "doc", "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": "hi", "marks": [{"type": "strong"}]}]}]}
        }}"#;
        let issue: Issue = serde_json::from_str(json).unwrap();
        let site = Site::direct("https://acme.atlassian.net", atlassian::Product::Jira);
        let item = item(&site, &issue, None);
        assert_eq!(item.id, "OPS-7");
        assert_eq!(item.container_id, "OPS");
        assert_eq!(item.title, "Broken \"export\"");
        assert_eq!(item.body.as_deref(), Some("**hi**"));
        assert_eq!(
            item.created_at.as_deref(),
            Some("2026-10-01T09:00:00.000+00:00")
        );
        assert_eq!(item.updated_at, None);
        assert_eq!(item.author.as_ref().map(|a| a.id.as_str()), Some("acct-1"));
        assert_eq!(
            item.attributes,
            [
                ("id".to_owned(), "10001".to_owned()),
                ("status".to_owned(), "Done".to_owned()),
                ("assignee".to_owned(), "Ann".to_owned()),
            ]
        );
        assert_eq!(item.raw, None);
    }

    #[test]
    fn kept_raw_json_is_the_vendors_own_text() {
        let body = r#"{"issues": [{"key": "A-1", "fields": {"summary": "x"}, "extra": [1, 2]}]}"#;
        let page: IssuePage<&RawValue> = serde_json::from_str(body).unwrap();
        let entries =
            atlassian::read_with_raw::<Issue>(atlassian::Product::Jira, page.issues).unwrap();
        let site = Site::direct("https://acme.atlassian.net", atlassian::Product::Jira);
        let item = item(&site, &entries[0].0, entries[0].1);
        assert_eq!(
            item.raw.as_deref(),
            Some(r#"{"key": "A-1", "fields": {"summary": "x"}, "extra": [1, 2]}"#)
        );
    }
}
