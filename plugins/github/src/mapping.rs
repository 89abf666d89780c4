//! GitHub's JSON, as much of it as the unified records need, and the ids this connector
//! hands out: a repository is `owner/repo`, an issue or pull request `owner/repo#123`.

use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
pub struct User {
    pub login: String,
    pub id: u64,
    pub name: Option<String>,
    pub email: Option<String>,
}

impl User {
    pub fn principal(&self) -> Principal {
        let mut principal = Principal::id(self.id.to_string());
        principal.display_name = Some(self.name.clone().unwrap_or_else(|| self.login.clone()));
        principal.email = self.email.clone();
        principal
    }
}

#[derive(Deserialize)]
pub struct Repo {
    pub full_name: String,
    pub description: Option<String>,
    pub html_url: String,
    pub private: bool,
    #[serde(default)]
    pub open_issues_count: u64,
    pub default_branch: Option<String>,
}

impl Repo {
    pub fn container(&self, raw: Option<&RawValue>) -> Container {
        let mut container = Container::new(&self.full_name, "repository", &self.full_name);
        container.description = self.description.clone();
        container.url = Some(self.html_url.clone());
        container.attributes = vec![
            (
                "visibility".into(),
                if self.private { "private" } else { "public" }.into(),
            ),
            ("open_issues".into(), self.open_issues_count.to_string()),
        ];
        if let Some(branch) = &self.default_branch {
            container
                .attributes
                .push(("default_branch".into(), branch.clone()));
        }
        container.raw = raw.map(|r| r.get().to_owned());
        container
    }
}

#[derive(Deserialize)]
pub struct Label {
    pub name: String,
}

#[derive(Deserialize)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub state: String,
    pub html_url: String,
    pub user: Option<User>,
    #[serde(default)]
    pub labels: Vec<Label>,
    pub created_at: String,
    pub updated_at: String,
    /// Present on pull requests only (GitHub lists them among issues).
    pub pull_request: Option<serde::de::IgnoredAny>,
    /// The issue's repository API URL (`.../repos/OWNER/REPO`), which search results carry.
    pub repository_url: Option<String>,
}

impl Issue {
    /// The issue as an item of `repo` (`owner/repo`); search results name their own.
    pub fn item(&self, repo: Option<&str>, raw: Option<&RawValue>) -> Item {
        let repo = repo
            .map(str::to_owned)
            .or_else(|| self.repository_url.as_deref().and_then(repo_of_api_url))
            .unwrap_or_default();
        let kind = if self.pull_request.is_some() {
            "pull_request"
        } else {
            "issue"
        };
        let mut item = Item::new(format!("{repo}#{}", self.number), repo, kind, &self.title);
        item.body = Some(self.body.clone().unwrap_or_default());
        item.body_format = BodyFormat::Markdown;
        item.url = Some(self.html_url.clone());
        item.author = self.user.as_ref().map(User::principal);
        item.created_at = Some(self.created_at.clone());
        item.updated_at = Some(self.updated_at.clone());
        item.attributes = vec![
            ("state".into(), self.state.clone()),
            ("number".into(), self.number.to_string()),
        ];
        if !self.labels.is_empty() {
            let names: Vec<&str> = self.labels.iter().map(|l| l.name.as_str()).collect();
            item.attributes.push(("labels".into(), names.join(",")));
        }
        item.raw = raw.map(|r| r.get().to_owned());
        item
    }
}

#[derive(Deserialize)]
pub struct IssueComment {
    pub id: u64,
    pub body: Option<String>,
    pub user: Option<User>,
    pub created_at: String,
    pub updated_at: String,
    pub html_url: String,
}

impl IssueComment {
    pub fn comment(&self, item_id: &str, raw: Option<&RawValue>) -> Comment {
        let mut comment = Comment::new(
            self.id.to_string(),
            item_id,
            self.body.clone().unwrap_or_default(),
        );
        comment.body_format = BodyFormat::Markdown;
        comment.author = self.user.as_ref().map(User::principal);
        comment.created_at = Some(self.created_at.clone());
        comment.updated_at = Some(self.updated_at.clone());
        comment.url = Some(self.html_url.clone());
        comment.raw = raw.map(|r| r.get().to_owned());
        comment
    }
}

/// `/search/issues`.
#[derive(Deserialize)]
pub struct SearchPage<E> {
    pub items: Vec<E>,
}

/// `owner/repo` from `https://api.github.com/repos/owner/repo`.
fn repo_of_api_url(url: &str) -> Option<String> {
    let (_, path) = url.split_once("/repos/")?;
    let mut parts = path.splitn(3, '/');
    Some(format!("{}/{}", parts.next()?, parts.next()?))
}

/// A repository id, `owner/repo`, checked to be one (it becomes part of URL paths).
pub fn repo_id(id: &str) -> Result<(&str, &str), ConnectorError> {
    let valid = |part: &str| {
        !part.is_empty()
            && part.len() <= 100
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && part != "."
            && part != ".."
    };
    match id.split_once('/') {
        Some((owner, repo)) if valid(owner) && valid(repo) => Ok((owner, repo)),
        _ => Err(ConnectorError::NotFound(format!(
            "`{id}` is not a GitHub repository (owner/repo)"
        ))),
    }
}

/// An issue id, `owner/repo#123`.
pub fn issue_id(id: &str) -> Result<(&str, &str, &str), ConnectorError> {
    let not_one =
        || ConnectorError::NotFound(format!("`{id}` is not a GitHub issue (owner/repo#123)"));
    let (repo, number) = id.rsplit_once('#').ok_or_else(not_one)?;
    let (owner, name) = repo_id(repo)?;
    if number.is_empty() || number.len() > 10 || !number.chars().all(|c| c.is_ascii_digit()) {
        return Err(not_one());
    }
    Ok((owner, name, number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_before_they_reach_a_path() {
        assert_eq!(
            issue_id("octo/hello-world#12").unwrap(),
            ("octo", "hello-world", "12")
        );
        for bad in [
            "octo#1",
            "octo/../x#1",
            "octo/x#",
            "octo/x#1a",
            "a/b/c#1",
            "octo/x?y#1",
        ] {
            assert!(issue_id(bad).is_err(), "{bad}");
        }
        assert_eq!(
            repo_of_api_url("https://api.github.com/repos/octo/hello/issues/1").as_deref(),
            Some("octo/hello")
        );
    }

    #[test]
    fn pull_requests_are_told_apart_from_issues() {
        let pr: Issue = serde_json::from_str(r#"{"number": 3, "title": "Fix", "body": null, "state": "open",
            "html_url": "https://github.com/octo/x/pull/3", "user": null, "created_at": "2026-11-01T00:00:00Z",
            "updated_at": "2026-11-02T00:00:00Z", "pull_request": {"url": "u"}}"#).unwrap();
        let item = pr.item(Some("octo/x"), None);
        assert_eq!(
            (item.id.as_str(), item.kind.as_str()),
            ("octo/x#3", "pull_request")
        );
    }
}
