//! GitHub connector: repositories are containers, issues and pull requests are items, issue
//! comments are comments; search is GitHub's issue search. REST API on api.github.com (or a
//! GitHub Enterprise Server, config `api_url`), with a personal access token or an OAuth app.
//! Repository webhooks report issue and comment changes.

mod actions;
mod client;
mod mapping;
mod webhooks;

use connector_sdk::config::Config;
use connector_sdk::prelude::*;
use connector_sdk::webhook::{Delivery, Outcome, Registration, Target};
use connector_sdk::{ClientAuth, Oauth2};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use client::GitHub;
use mapping::{Issue, IssueComment, Repo, SearchPage, User, issue_id, repo_id};

/// Scopes an OAuth app asks for: issues of private repositories, and the user's profile.
const OAUTH_SCOPES: [&str; 2] = ["repo", "read:user"];

struct GitHubConnector {
    github: GitHub,
    /// The account's login, learned at connect: search is scoped to its repositories.
    login: Option<String>,
    /// Organizations whose repositories search also covers (config `search_orgs`).
    search_orgs: Vec<String>,
}

/// One page of a `Link`-paged list: each entry with its JSON when asked, and the next cursor.
type LinkPage<T> = (Vec<(T, Option<Box<RawValue>>)>, Option<String>);

/// Reads a `Link`-paged list of `T`, with each entry's JSON kept when asked.
fn list<T: serde::de::DeserializeOwned>(
    github: &GitHub,
    first: Request,
    page: &PageRequest,
) -> Result<LinkPage<T>, ConnectorError> {
    let request = LinkHeader::request(
        &github.base,
        first.query("per_page", page.limit.min(100)),
        page,
    )?;
    let response = github.send(request)?;
    let next = response.link_next();
    if !page.include_raw {
        let entries: Vec<T> = response.json()?;
        return Ok((
            entries.into_iter().map(|entry| (entry, None)).collect(),
            next,
        ));
    }
    let raw: Vec<Box<RawValue>> = response.json()?;
    let entries = raw
        .into_iter()
        .map(|entry| Ok((decode::<T>(&entry)?, Some(entry))))
        .collect::<Result<Vec<_>, ConnectorError>>()?;
    Ok((entries, next))
}

impl GitHubConnector {
    fn issue_request(&self, method: http::Method, id: &str) -> Result<Request, ConnectorError> {
        let (owner, repo, number) = issue_id(id)?;
        Ok(self
            .github
            .at(method, ["repos", owner, repo, "issues", number]))
    }

    fn read_issue(&self, id: &str) -> Result<Item, ConnectorError> {
        let response = self
            .github
            .send(self.issue_request(http::Method::Get, id)?)?;
        issue_answer(&response, repo_of(id))
    }
}

/// An issue GitHub answered with (read, created or edited), as an item of `repo`.
fn issue_answer(response: &http::Response, repo: &str) -> Result<Item, ConnectorError> {
    let raw: &RawValue = response.json()?;
    Ok(decode::<Issue>(raw)?.item(Some(repo), Some(raw)))
}

/// `owner/repo` of an issue id already checked by [`issue_id`].
fn repo_of(id: &str) -> &str {
    id.rsplit_once('#').map_or(id, |(repo, _)| repo)
}

fn decode<'a, T: serde::Deserialize<'a>>(raw: &'a RawValue) -> Result<T, ConnectorError> {
    serde_json::from_str(raw.get())
        .map_err(|e| ConnectorError::Permanent(format!("unexpected GitHub answer: {e}")))
}

/// Fields of an issue create or edit from the unified shape: `labels` (comma-separated) and
/// `assignees` (comma-separated logins) among the attributes; edits also take `state`.
fn issue_fields(
    title: Option<String>,
    body: Option<String>,
    attributes: &[(String, String)],
    editing: bool,
) -> Result<serde_json::Map<String, Value>, ConnectorError> {
    let mut fields = serde_json::Map::new();
    if let Some(title) = title {
        fields.insert("title".into(), json!(title));
    }
    if let Some(body) = body {
        fields.insert("body".into(), json!(body));
    }
    let list = |value: &str| -> Vec<String> {
        value
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for (name, value) in attributes {
        match name.as_str() {
            "labels" | "assignees" => {
                fields.insert(name.clone(), json!(list(value)));
            }
            "state" if editing && matches!(value.as_str(), "open" | "closed") => {
                fields.insert("state".into(), json!(value));
            }
            other => {
                return Err(ConnectorError::InvalidConfig(format!(
                    "unknown attribute `{other}`; GitHub issues take `labels`, `assignees`{}",
                    if editing {
                        " and `state` (open or closed)"
                    } else {
                        ""
                    }
                )));
            }
        }
    }
    Ok(fields)
}

/// Config `search_orgs`: organization logins (letters, digits, `-`), so none can smuggle
/// another qualifier into a search.
fn search_orgs(config: &Config) -> Result<Vec<String>, ConnectorError> {
    let orgs: Vec<String> = config
        .get("search_orgs")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|org| !org.is_empty())
        .map(str::to_owned)
        .collect();
    let valid = |org: &String| {
        org.len() <= 39 && org.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    match orgs.iter().find(|org| !valid(org)) {
        Some(bad) => Err(ConnectorError::InvalidConfig(format!(
            "search_orgs: `{bad}` is not a GitHub organization login"
        ))),
        None => Ok(orgs),
    }
}

#[connector_sdk::connector]
impl connector_sdk::Connector for GitHubConnector {
    fn info() -> ConnectorInfo {
        let mut oauth = Oauth2::endpoints(
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
        );
        oauth.default_scopes = OAUTH_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        oauth.scope_separator = " ".into();
        oauth.client_auth = ClientAuth::Body;
        ConnectorInfo::builder("github", "GitHub")
            .description("GitHub: repositories, issues and pull requests, comments, issue search")
            .auth_method(
                AuthMethod::bearer("token", "Personal access token (fine-grained or classic)")
                    .credential_host("api.github.com"),
            )
            .auth_method(
                AuthMethod::oauth2("oauth", "GitHub OAuth app", oauth)
                    .credential_host("api.github.com"),
            )
            .requested_host("api.github.com")
            .requested_host("github.com")
            .origin_config_key("api_url")
            .config_schema(json!({
                "type": "object",
                "properties": {
                    "api_url": {"type": "string", "format": "uri",
                        "description": "GitHub Enterprise Server only: https://HOST/api/v3 (default https://api.github.com)"},
                    "search_orgs": {"type": "string",
                        "description": "organizations (comma-separated) whose repositories search covers besides the account's own"}
                }
            }))
            .actions(actions::declared())
            .webhooks(webhooks::support())
            .build()
    }

    fn validate(config: &Config) -> Result<(), ConnectorError> {
        search_orgs(config).map(|_| ())
    }

    fn new(connection: Connection) -> Result<Self, ConnectorError> {
        Ok(Self {
            github: GitHub::new(&connection)?,
            login: connection.value("login").map(str::to_owned),
            search_orgs: search_orgs(connection.config())?,
        })
    }

    fn connect(&self) -> Result<ConnectionInfo, ConnectorError> {
        let response = self
            .github
            .send(self.github.at(http::Method::Get, ["user"]))?;
        let me: User = response.json()?;
        Ok(ConnectionInfo::for_principal(me.principal()).discovered("login", me.login))
    }

    /// Repositories the account can see, by name, through `/user/repos`.
    fn containers(
        &self,
        _parent: Option<&str>,
        page: PageRequest,
    ) -> Result<ContainerPage, ConnectorError> {
        let first = self
            .github
            .at(http::Method::Get, ["user", "repos"])
            .query("sort", "full_name")
            .query("direction", "asc");
        let (repos, next) = list::<Repo>(&self.github, first, &page)?;
        let entries = repos
            .iter()
            .map(|(repo, raw)| repo.container(raw.as_deref()))
            .collect();
        Ok(ContainerPage::new(entries, next))
    }

    /// Issues and pull requests of a repository, most recently updated first.
    fn items(
        &self,
        container_id: &str,
        updated_since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        let (owner, repo) = repo_id(container_id)?;
        let first = self
            .github
            .at(http::Method::Get, ["repos", owner, repo, "issues"])
            .query("state", "all")
            .query("sort", "updated")
            .query("direction", "desc")
            .query_opt("since", updated_since);
        let (issues, next) = list::<Issue>(&self.github, first, &page)?;
        let entries = issues
            .iter()
            .map(|(issue, raw)| issue.item(Some(container_id), raw.as_deref()))
            .collect();
        Ok(ItemPage::new(entries, next))
    }

    fn item(&self, item_id: &str) -> Result<Item, ConnectorError> {
        self.read_issue(item_id)
    }

    /// An issue's comments, oldest first.
    fn comments(&self, item_id: &str, page: PageRequest) -> Result<CommentPage, ConnectorError> {
        let (owner, repo, number) = issue_id(item_id)?;
        let first = self.github.at(
            http::Method::Get,
            ["repos", owner, repo, "issues", number, "comments"],
        );
        let (comments, next) = list::<IssueComment>(&self.github, first, &page)?;
        let entries = comments
            .iter()
            .map(|(c, raw)| c.comment(item_id, raw.as_deref()))
            .collect();
        Ok(CommentPage::new(entries, next))
    }

    /// GitHub issue search. Unless the query names its own scope (`repo:`, `org:`, `user:`),
    /// it covers the account's repositories and config `search_orgs`.
    fn search(&self, query: &str, page: PageRequest) -> Result<ItemPage, ConnectorError> {
        let scoped = query.split_whitespace().any(|word| {
            ["repo:", "org:", "user:"]
                .iter()
                .any(|q| word.starts_with(q))
        });
        let mut q = query.trim().to_owned();
        if !scoped {
            // GitHub ORs repeated scope qualifiers: the account's repositories or the orgs'.
            if let Some(login) = &self.login {
                q.push_str(&format!(" user:{login}"));
            }
            for org in &self.search_orgs {
                q.push_str(&format!(" org:{org}"));
            }
        }
        let first = self
            .github
            .at(http::Method::Get, ["search", "issues"])
            .query("q", &q)
            .query("sort", "updated")
            .query("order", "desc")
            .query("per_page", page.limit.min(100));
        let request = LinkHeader::request(&self.github.base, first, &page)?;
        let response = self.github.send(request)?;
        let entries = if page.include_raw {
            let found: SearchPage<&RawValue> = response.json()?;
            found
                .items
                .iter()
                .map(|raw| Ok(decode::<Issue>(raw)?.item(None, Some(*raw))))
                .collect::<Result<Vec<_>, ConnectorError>>()?
        } else {
            let found: SearchPage<Issue> = response.json()?;
            found
                .items
                .iter()
                .map(|issue| issue.item(None, None))
                .collect()
        };
        Ok(ItemPage::new(entries, response.link_next()))
    }

    /// Opens an issue (attributes `labels`, `assignees`).
    fn create_item(&self, container_id: &str, new: NewItem) -> Result<Item, ConnectorError> {
        let (owner, repo) = repo_id(container_id)?;
        let fields = issue_fields(Some(new.title), new.body, &new.attributes, false)?;
        let request = self
            .github
            .at(http::Method::Post, ["repos", owner, repo, "issues"])
            .json(&fields)?;
        issue_answer(&self.github.send(request)?, container_id)
    }

    /// Edits an issue (`PATCH`): title, body, attributes `labels`, `assignees`, `state`.
    fn update_item(&self, item_id: &str, patch: ItemPatch) -> Result<Item, ConnectorError> {
        let fields = issue_fields(patch.title, patch.body, &patch.attributes, true)?;
        if fields.is_empty() {
            return Err(ConnectorError::InvalidConfig("nothing to change".into()));
        }
        let request = self
            .issue_request(http::Method::Patch, item_id)?
            .json(&fields)?;
        issue_answer(&self.github.send(request)?, repo_of(item_id))
    }

    fn create_comment(&self, item_id: &str, new: NewComment) -> Result<Comment, ConnectorError> {
        let (owner, repo, number) = issue_id(item_id)?;
        let request = self
            .github
            .at(
                http::Method::Post,
                ["repos", owner, repo, "issues", number, "comments"],
            )
            .json(&json!({"body": new.body}))?;
        let response = self.github.send(request)?;
        let raw: &RawValue = response.json()?;
        Ok(decode::<IssueComment>(raw)?.comment(item_id, Some(raw)))
    }

    fn invoke(&self, action: &str, input: Value) -> Result<Value, ConnectorError> {
        actions::invoke(self, action, input)
    }

    fn webhook_event(
        _connection: Option<&Connection>,
        delivery: Delivery,
    ) -> Result<Outcome, ConnectorError> {
        webhooks::event(&delivery)
    }

    /// A repository hook on `target.container_id`.
    fn register_webhook(&self, target: Target) -> Result<Registration, ConnectorError> {
        webhooks::register(&self.github, &target)
    }

    fn unregister_webhook(&self, registration: Registration) -> Result<(), ConnectorError> {
        webhooks::unregister(&self.github, &registration)
    }
}
