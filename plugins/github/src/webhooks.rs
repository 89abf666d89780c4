//! GitHub repository webhooks: deliveries signed `X-Hub-Signature-256: sha256=<hex HMAC of the
//! body>` with one secret per hook (the host verifies them and holds the secret), identified by
//! `X-GitHub-Delivery`, named by `X-GitHub-Event`. `issues` and `issue_comment` become change
//! events; a hook is registered per repository.

use connector_sdk::prelude::*;
use connector_sdk::webhook::{Delivery, Outcome, Registration, Target, WebhookSupport};
use serde::Deserialize;
use serde_json::json;

use crate::client::GitHub;
use crate::mapping::{Issue, IssueComment, repo_id};

/// The events the connector turns into changes.
pub const EVENTS: [&str; 2] = ["issues", "issue_comment"];

/// How GitHub signs and names deliveries.
pub fn support() -> WebhookSupport {
    WebhookSupport::hmac_body("x-hub-signature-256", "sha256=")
        .delivery_id_header("x-github-delivery")
        .events(&EVENTS)
        .registration()
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

#[derive(Deserialize)]
struct IssuesEvent {
    action: String,
    issue: Issue,
    repository: Repository,
}

#[derive(Deserialize)]
struct IssueCommentEvent {
    action: String,
    issue: Issue,
    comment: IssueComment,
    repository: Repository,
}

/// The change a verified delivery reports; `ping` and other events are acknowledged and
/// ignored.
pub fn event(delivery: &Delivery) -> Result<Outcome, ConnectorError> {
    match delivery.header("x-github-event").unwrap_or_default() {
        "issues" => {
            let event: IssuesEvent = delivery.json()?;
            let repo = event.repository.full_name;
            let item = event.issue.item(Some(&repo), None);
            let change = match event.action.as_str() {
                // A transferred issue leaves this repository; a deleted one is gone.
                "deleted" | "transferred" => ChangeEvent::item_deleted(repo, item.id),
                "opened" => ChangeEvent::item(ChangeKind::Created, item),
                _ => ChangeEvent::item(ChangeKind::Updated, item),
            };
            Ok(Outcome::events(vec![change]))
        }
        "issue_comment" => {
            let event: IssueCommentEvent = delivery.json()?;
            let repo = event.repository.full_name;
            let item_id = format!("{repo}#{}", event.issue.number);
            let comment = event.comment.comment(&item_id, None);
            let change = match event.action.as_str() {
                "deleted" => ChangeEvent::comment_deleted(item_id, comment.id),
                "created" => ChangeEvent::comment(ChangeKind::Created, Some(repo), comment),
                _ => ChangeEvent::comment(ChangeKind::Updated, Some(repo), comment),
            };
            Ok(Outcome::events(vec![change]))
        }
        _ => Ok(Outcome::ignored()),
    }
}

/// Creates a repository hook sending JSON deliveries to the host. The secret is the host's
/// placeholder, which the host swaps for the real secret on the way out.
pub fn register(github: &GitHub, target: &Target) -> Result<Registration, ConnectorError> {
    let container = target.container_id.as_deref().ok_or_else(|| {
        ConnectorError::InvalidConfig(
            "GitHub webhooks are per repository: name the repository (owner/repo)".into(),
        )
    })?;
    let (owner, repo) = repo_id(container)?;
    let events: Vec<&str> = if target.events.is_empty() {
        EVENTS.to_vec()
    } else {
        target.events.iter().map(String::as_str).collect()
    };
    if let Some(unknown) = events.iter().find(|e| !EVENTS.contains(e)) {
        return Err(ConnectorError::InvalidConfig(format!(
            "GitHub event `{unknown}` is not handled; choose among {}",
            EVENTS.join(", ")
        )));
    }
    let request = github
        .at(http::Method::Post, ["repos", owner, repo, "hooks"])
        .json(&json!({
            "name": "web",
            "active": true,
            "events": events,
            "config": {
                "url": target.url,
                "content_type": "json",
                "insecure_ssl": "0",
                "secret": target.secret_placeholder,
            },
        }))?;
    #[derive(Deserialize)]
    struct Hook {
        id: u64,
    }
    let hook: Hook = github.send(request)?.json()?;
    Ok(Registration {
        id: hook.id.to_string(),
        container_id: Some(container.to_owned()),
        expires_at: None,
    })
}

/// Deletes the hook; one already gone counts as deleted.
pub fn unregister(github: &GitHub, registration: &Registration) -> Result<(), ConnectorError> {
    let container = registration.container_id.as_deref().unwrap_or_default();
    let (owner, repo) = repo_id(container)?;
    if registration.id.is_empty() || !registration.id.chars().all(|c| c.is_ascii_digit()) {
        return Err(ConnectorError::NotFound(format!(
            "`{}` is not a GitHub hook id",
            registration.id
        )));
    }
    let request = github.at(
        http::Method::Delete,
        ["repos", owner, repo, "hooks", &registration.id],
    );
    match github.send(request) {
        Ok(_) | Err(ConnectorError::NotFound(_)) => Ok(()),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(event: &str, body: serde_json::Value) -> Delivery {
        Delivery {
            headers: vec![
                ("x-github-event".into(), event.into()),
                (
                    "x-github-delivery".into(),
                    "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
                ),
            ],
            body: body.to_string().into_bytes(),
        }
    }

    fn issue(number: u64) -> serde_json::Value {
        json!({"number": number, "title": "Found a bug", "body": "It breaks", "state": "open",
            "html_url": format!("https://github.com/octo/hello/issues/{number}"),
            "user": {"login": "octocat", "id": 1}, "labels": [],
            "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-24T08:00:00Z"})
    }

    #[test]
    fn issue_events_become_item_changes() {
        let opened = event(&delivery(
            "issues",
            json!({"action": "opened", "issue": issue(7), "repository": {"full_name": "octo/hello"}}),
        ))
        .unwrap();
        let change = &opened.events[0];
        assert_eq!(change.kind, ChangeKind::Created);
        assert_eq!(change.item_id.as_deref(), Some("octo/hello#7"));
        assert_eq!(change.container_id.as_deref(), Some("octo/hello"));
        assert_eq!(change.occurred_at.as_deref(), Some("2026-11-24T08:00:00Z"));
        assert_eq!(change.item.as_ref().unwrap().title, "Found a bug");

        let closed = event(&delivery(
            "issues",
            json!({"action": "closed", "issue": issue(7), "repository": {"full_name": "octo/hello"}}),
        ))
        .unwrap();
        assert_eq!(closed.events[0].kind, ChangeKind::Updated);
        let deleted = event(&delivery(
            "issues",
            json!({"action": "deleted", "issue": issue(7), "repository": {"full_name": "octo/hello"}}),
        ))
        .unwrap();
        assert_eq!(deleted.events[0].kind, ChangeKind::Deleted);
        assert!(deleted.events[0].item.is_none());
    }

    #[test]
    fn comment_events_become_comment_changes_and_others_are_ignored() {
        let comment = json!({"id": 99, "body": "Me too", "user": {"login": "monalisa", "id": 2},
            "created_at": "2026-11-24T09:00:00Z", "updated_at": "2026-11-24T09:00:00Z",
            "html_url": "https://github.com/octo/hello/issues/7#issuecomment-99"});
        let created = event(&delivery(
            "issue_comment",
            json!({"action": "created", "issue": issue(7), "comment": comment,
                "repository": {"full_name": "octo/hello"}}),
        ))
        .unwrap();
        let change = &created.events[0];
        assert_eq!(change.object, connector_sdk::ObjectKind::Comment);
        assert_eq!(change.kind, ChangeKind::Created);
        assert_eq!(
            (change.item_id.as_deref(), change.comment_id.as_deref()),
            (Some("octo/hello#7"), Some("99"))
        );
        let ping = event(&delivery(
            "ping",
            json!({"zen": "Keep it logically awesome."}),
        ))
        .unwrap();
        assert!(ping.events.is_empty());
        assert!(event(&delivery("issues", json!({"action": "opened"}))).is_err());
    }
}
