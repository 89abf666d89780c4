//! Jira's dynamic webhooks for OAuth 2.0 apps: registered through `POST /rest/api/3/webhook`
//! with a JQL filter per project, removed through `DELETE /rest/api/3/webhook`, delivered with
//! `Authorization: Bearer <JWT>` signed (HS256) with the app's client secret, which the host
//! holds and verifies; `X-Atlassian-Webhook-Identifier` names each delivery. Issue and comment
//! events become change events, routed to the connection by the site the issue lives on.

use connector_sdk::http::Request;
use connector_sdk::prelude::*;
use connector_sdk::webhook::{Delivery, Outcome, Registration, Target, WebhookSupport};
use serde::Deserialize;
use serde_json::json;

use atlassian::Site;

/// The events the connector turns into changes.
pub const EVENTS: [&str; 6] = [
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
];

/// How Jira signs and names deliveries.
pub fn support() -> WebhookSupport {
    WebhookSupport::jwt("authorization", "Bearer ")
        .app_secret()
        .delivery_id_header("x-atlassian-webhook-identifier")
        .events(&EVENTS)
        .registration()
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "webhookEvent")]
    webhook_event: String,
    #[serde(default)]
    timestamp: Option<i64>,
    issue: Option<Issue>,
    comment: Option<IssueComment>,
}

#[derive(Deserialize)]
struct Issue {
    key: String,
    #[serde(rename = "self")]
    self_url: Option<String>,
    #[serde(default)]
    fields: Fields,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Fields {
    summary: Option<String>,
    updated: Option<String>,
    created: Option<String>,
    project: Option<Project>,
}

#[derive(Deserialize)]
struct Project {
    key: String,
}

#[derive(Deserialize)]
struct IssueComment {
    id: String,
    #[serde(rename = "self")]
    self_url: Option<String>,
    created: Option<String>,
    updated: Option<String>,
}

/// `https://acme.atlassian.net` of `https://acme.atlassian.net/rest/api/3/issue/10001`.
fn site_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .map(|r| ("https://", r))
        .or_else(|| url.strip_prefix("http://").map(|r| ("http://", r)))?;
    let host = rest.1.split('/').next()?;
    (!host.is_empty()).then(|| format!("{}{host}", rest.0))
}

/// The change a verified delivery reports; events the connector does not handle are
/// acknowledged and ignored.
pub fn event(delivery: &Delivery) -> Result<Outcome, ConnectorError> {
    let event: Event = delivery.json()?;
    let Some(issue) = event.issue else {
        return Ok(Outcome::ignored());
    };
    let project = issue
        .fields
        .project
        .as_ref()
        .map(|p| p.key.clone())
        .unwrap_or_else(|| issue.key.split('-').next().unwrap_or_default().to_owned());
    let site = issue
        .self_url
        .as_deref()
        .or(event.comment.as_ref().and_then(|c| c.self_url.as_deref()))
        .and_then(site_of);
    let change = match event.webhook_event.as_str() {
        "jira:issue_deleted" => ChangeEvent::item_deleted(project, issue.key),
        kind @ ("jira:issue_created" | "jira:issue_updated") => {
            let mut item = Item::new(
                issue.key.clone(),
                project,
                "issue",
                issue.fields.summary.clone().unwrap_or_default(),
            );
            item.created_at = issue.fields.created.as_deref().map(atlassian::to_rfc3339);
            item.updated_at = issue.fields.updated.as_deref().map(atlassian::to_rfc3339);
            let kind = if kind == "jira:issue_created" {
                ChangeKind::Created
            } else {
                ChangeKind::Updated
            };
            ChangeEvent::item(kind, item)
        }
        "comment_deleted" => match &event.comment {
            Some(comment) => ChangeEvent::comment_deleted(issue.key, comment.id.clone()),
            None => return Ok(Outcome::ignored()),
        },
        kind @ ("comment_created" | "comment_updated") => match event.comment {
            Some(found) => {
                let mut comment = Comment::new(found.id, issue.key, "");
                comment.created_at = found.created.as_deref().map(atlassian::to_rfc3339);
                comment.updated_at = found.updated.as_deref().map(atlassian::to_rfc3339);
                let kind = if kind == "comment_created" {
                    ChangeKind::Created
                } else {
                    ChangeKind::Updated
                };
                ChangeEvent::comment(kind, Some(project), comment)
            }
            None => return Ok(Outcome::ignored()),
        },
        _ => return Ok(Outcome::ignored()),
    };
    let _ = event.timestamp;
    let outcome = Outcome::events(vec![change]);
    Ok(match site {
        Some(site) => outcome.routed_by(site),
        None => outcome,
    })
}

#[derive(Deserialize)]
struct Created {
    #[serde(rename = "webhookRegistrationResult", default)]
    results: Vec<CreatedResult>,
}

#[derive(Deserialize)]
struct CreatedResult {
    #[serde(rename = "createdWebhookId")]
    created: Option<u64>,
    #[serde(default)]
    errors: Vec<String>,
}

/// A dynamic webhook on one project (`target.container_id`), for OAuth connections only.
pub fn register(site: &Site, target: &Target) -> Result<Registration, ConnectorError> {
    if !site.oauth {
        return Err(ConnectorError::Unsupported(
            "Jira registers webhooks through the API only for OAuth 2.0 apps; with an API token, a Jira admin adds one in the site's settings".into(),
        ));
    }
    let project = target.container_id.as_deref().ok_or_else(|| {
        ConnectorError::InvalidConfig("name the Jira project (its key) to subscribe to".into())
    })?;
    let project = crate::project_key(project)?;
    let events: Vec<&str> = if target.events.is_empty() {
        EVENTS.to_vec()
    } else {
        target.events.iter().map(String::as_str).collect()
    };
    if let Some(unknown) = events.iter().find(|e| !EVENTS.contains(e)) {
        return Err(ConnectorError::InvalidConfig(format!(
            "Jira event `{unknown}` is not handled; choose among {}",
            EVENTS.join(", ")
        )));
    }
    let body = json!({
        "url": target.url,
        "webhooks": [{"events": events, "jqlFilter": format!("project = {}", crate::jql_string(project))}],
    });
    let created: Created = Request::post(format!("{}/rest/api/3/webhook", site.api_base()?))
        .json(&body)?
        .send_json()?;
    let result = created
        .results
        .into_iter()
        .next()
        .ok_or_else(|| ConnectorError::Permanent("Jira registered no webhook".into()))?;
    match result.created {
        Some(id) => Ok(Registration {
            id: id.to_string(),
            container_id: Some(project.to_owned()),
            expires_at: None,
        }),
        None => Err(ConnectorError::InvalidConfig(format!(
            "Jira refused the webhook: {}",
            result.errors.join("; ")
        ))),
    }
}

/// Deletes the dynamic webhook.
pub fn unregister(site: &Site, registration: &Registration) -> Result<(), ConnectorError> {
    let id: u64 = registration.id.parse().map_err(|_| {
        ConnectorError::NotFound(format!("`{}` is not a Jira webhook id", registration.id))
    })?;
    Request::delete(format!("{}/rest/api/3/webhook", site.api_base()?))
        .json(&json!({"webhookIds": [id]}))?
        .send_ok()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_comes_from_the_issue_url() {
        assert_eq!(
            site_of("https://acme.atlassian.net/rest/api/3/issue/10001").as_deref(),
            Some("https://acme.atlassian.net")
        );
        assert_eq!(site_of("nonsense"), None);
    }
}
