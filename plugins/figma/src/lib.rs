//! Figma connector (REST API v1): the projects of one team are containers, their files are
//! items (read with an outline of pages and top-level frames), file comments are comments.
//! Figma has no search API, so `search` is not offered. Connects with a personal access token
//! (`X-Figma-Token`) or an OAuth app (Basic client authentication, comma-separated scopes, a
//! separate refresh endpoint).

mod client;
mod mapping;

use connector_sdk::config::Config;
use connector_sdk::prelude::*;
use connector_sdk::{ClientAuth, Oauth2};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use client::Figma;
use mapping::{FigmaComment, File, Project, ProjectFile, User, item_parts, project_id};

/// Largest page this connector serves (Figma's lists are not paged; pages are cut here).
const MAX_PAGE: u32 = 100;

struct FigmaConnector {
    figma: Figma,
    team_id: String,
}

/// Scopes for reading projects, files and comments and for posting comments.
const SCOPES: [&str; 5] = [
    "current_user:read",
    "projects:read",
    "file_content:read",
    "file_comments:read",
    "file_comments:write",
];

/// Figma's OAuth: no PKCE, the client authenticates with HTTP Basic, scopes are separated by
/// commas, and refresh grants go to their own endpoint.
fn oauth() -> Oauth2 {
    let mut oauth = Oauth2::endpoints(
        "https://www.figma.com/oauth",
        "https://api.figma.com/v1/oauth/token",
    );
    oauth.refresh_url = Some("https://api.figma.com/v1/oauth/refresh".into());
    oauth.pkce = false;
    oauth.client_auth = ClientAuth::Basic;
    oauth.scope_separator = ",".into();
    oauth.default_scopes = SCOPES.iter().map(|s| (*s).to_owned()).collect();
    oauth.response_values = vec!["user_id_string".into()];
    oauth
}

#[derive(Deserialize)]
struct TeamProjects<'a> {
    name: String,
    #[serde(borrow)]
    projects: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct ProjectFiles<'a> {
    #[serde(borrow)]
    files: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Comments<'a> {
    #[serde(borrow)]
    comments: Vec<&'a RawValue>,
}

fn decode<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Result<T, ConnectorError> {
    serde_json::from_str(raw.get())
        .map_err(|e| ConnectorError::Permanent(format!("unexpected Figma answer: {e}")))
}

/// The part of a whole list a page asks for, and the next page's cursor.
fn slice<T>(all: Vec<T>, page: &PageRequest) -> Result<(Vec<T>, Option<String>), ConnectorError> {
    OffsetCursor::page_of(all, page.cursor.as_deref(), page.limit.clamp(1, MAX_PAGE))
}

/// Config `team_id`: Figma lists projects only per team.
fn team_id(config: &Config) -> Result<&str, ConnectorError> {
    let team = config.require("team_id")?;
    if !team.is_empty() && team.len() <= 32 && team.bytes().all(|b| b.is_ascii_digit()) {
        Ok(team)
    } else {
        Err(ConnectorError::InvalidConfig(
            "team_id must be the number in the team's URL (figma.com/files/team/<team_id>)".into(),
        ))
    }
}

impl FigmaConnector {
    /// `/v1/teams/{team_id}/projects`, read with [`client::answer`] into [`TeamProjects`].
    fn projects_response(&self) -> Result<Response, ConnectorError> {
        self.figma.get(["teams", &self.team_id, "projects"]).send()
    }
}

#[connector_sdk::connector]
impl connector_sdk::Connector for FigmaConnector {
    fn info() -> ConnectorInfo {
        ConnectorInfo::builder("figma", "Figma")
            .description("Figma: a team's projects, their files as page outlines, file comments")
            .auth_method(
                AuthMethod::api_key_header("token", "Personal access token", "X-Figma-Token")
                    .credential_host("api.figma.com"),
            )
            .auth_method(
                AuthMethod::oauth2("oauth", "Figma OAuth app", oauth())
                    .credential_host("api.figma.com"),
            )
            .requested_host("api.figma.com")
            .origin_config_key("api_url")
            .config_schema(json!({
                "type": "object",
                "required": ["team_id"],
                "properties": {
                    "team_id": {"type": "string", "pattern": "^[0-9]{1,32}$",
                        "description": "The team whose projects are listed (the number in figma.com/files/team/<team_id>)"},
                    "api_url": {"type": "string", "format": "uri",
                        "description": "API origin (default https://api.figma.com)"}
                }
            }))
            .build()
    }

    fn validate(config: &Config) -> Result<(), ConnectorError> {
        team_id(config).map(|_| ())
    }

    fn new(connection: Connection) -> Result<Self, ConnectorError> {
        Ok(Self {
            figma: Figma::new(&connection)?,
            team_id: team_id(connection.config())?.to_owned(),
        })
    }

    /// `/v1/me`, then the team's projects: a token that cannot see the team is refused here.
    fn connect(&self) -> Result<ConnectionInfo, ConnectorError> {
        let response = self.figma.get(["me"]).send()?;
        let me: User = client::answer(&response)?;
        let projects = self.projects_response()?;
        let team: TeamProjects = client::answer(&projects).map_err(|e| match e {
            ConnectorError::NotFound(_) | ConnectorError::Forbidden(_) => {
                ConnectorError::InvalidConfig(format!(
                    "team_id {}: no such team, or this account cannot see it",
                    self.team_id
                ))
            }
            other => other,
        })?;
        Ok(ConnectionInfo::for_principal(me.principal())
            .discovered("team_id", self.team_id.clone())
            .discovered("team_name", team.name))
    }

    /// The team's projects, in Figma's order.
    fn containers(
        &self,
        _parent: Option<&str>,
        page: PageRequest,
    ) -> Result<ContainerPage, ConnectorError> {
        let response = self.projects_response()?;
        let team: TeamProjects = client::answer(&response)?;
        let (raws, next) = slice(team.projects, &page)?;
        let entries = raws
            .into_iter()
            .map(|raw| Ok(decode::<Project>(raw)?.container(&self.team_id, page.raw(raw))))
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        Ok(ContainerPage::new(entries, next))
    }

    /// A project's files, most recently modified first; `updated_since` keeps those modified
    /// since then (Figma returns the whole list, so the filter is applied here).
    fn items(
        &self,
        container_id: &str,
        updated_since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        let project = project_id(container_id)?;
        let response = self.figma.get(["projects", project, "files"]).send()?;
        let listed: ProjectFiles = client::answer(&response)?;
        let mut files = listed
            .files
            .into_iter()
            .map(|raw| Ok((decode::<ProjectFile>(raw)?, raw)))
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        if let Some(since) = updated_since {
            files.retain(|(file, _)| file.modified().is_some_and(|m| m >= since));
        }
        files.sort_by(|(a, _), (b, _)| b.modified().cmp(&a.modified()).then(a.key.cmp(&b.key)));
        let (files, next) = slice(files, &page)?;
        let entries = files
            .iter()
            .map(|(file, raw)| file.item(project, page.raw(raw)))
            .collect();
        Ok(ItemPage::new(entries, next))
    }

    /// A file with its pages and their top-level nodes (`depth=2`), as a Markdown outline.
    fn item(&self, item_id: &str) -> Result<Item, ConnectorError> {
        let (project, key) = item_parts(item_id)?;
        let response = self.figma.get(["files", key]).query("depth", 2).send()?;
        let file: File = client::answer(&response)?;
        Ok(file.item(project, key))
    }

    /// The file's comments and replies, oldest first, in Markdown.
    fn comments(&self, item_id: &str, page: PageRequest) -> Result<CommentPage, ConnectorError> {
        let (_, key) = item_parts(item_id)?;
        let response = self
            .figma
            .get(["files", key, "comments"])
            .query("as_md", "true")
            .send()?;
        let listed: Comments = client::answer(&response)?;
        let mut comments = listed
            .comments
            .into_iter()
            .map(|raw| Ok((decode::<FigmaComment>(raw)?, raw)))
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        comments.sort_by(|(a, _), (b, _)| a.created().cmp(&b.created()).then(a.id.cmp(&b.id)));
        let (comments, next) = slice(comments, &page)?;
        let entries = comments
            .iter()
            .map(|(comment, raw)| comment.comment(item_id, key, page.raw(raw)))
            .collect();
        Ok(CommentPage::new(entries, next))
    }

    /// Posts a comment on the file (not pinned to a node).
    fn create_comment(&self, item_id: &str, new: NewComment) -> Result<Comment, ConnectorError> {
        let (_, key) = item_parts(item_id)?;
        let message = new.body.trim();
        if message.is_empty() {
            return Err(ConnectorError::InvalidConfig(
                "a Figma comment needs some text".into(),
            ));
        }
        let response = self
            .figma
            .post(["files", key, "comments"], &json!({"message": message}))?
            .send()?;
        let raw: &RawValue = client::answer(&response)?;
        Ok(decode::<FigmaComment>(raw)?.comment(item_id, key, Some(raw)))
    }
}
