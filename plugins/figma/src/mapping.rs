//! Figma's objects as the unified records: a team's projects are containers, their files
//! items (read with an outline of pages and top-level frames), file comments comments.
//!
//! A file's item id is `{project_id}:{file_key}`, so an item read on its own still names its
//! project (Figma's file endpoint does not). A bare file key, as in a Figma link, is taken
//! too; such an item names no container.

use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Where people open Figma objects.
const WEB: &str = "https://www.figma.com";
/// Longest file key accepted (Figma's are 22 characters; branch keys are similar).
const MAX_KEY_LEN: usize = 64;

/// A file's key (letters and digits), checked before it goes into a URL.
pub fn file_key(text: &str) -> Result<&str, ConnectorError> {
    let valid = !text.is_empty()
        && text.len() <= MAX_KEY_LEN
        && text.bytes().all(|b| b.is_ascii_alphanumeric());
    if valid {
        Ok(text)
    } else {
        Err(ConnectorError::NotFound(format!(
            "`{}` is not a Figma file key",
            text.chars().take(MAX_KEY_LEN).collect::<String>()
        )))
    }
}

/// A project's id (digits), checked before it goes into a URL.
pub fn project_id(text: &str) -> Result<&str, ConnectorError> {
    if !text.is_empty() && text.len() <= 32 && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text)
    } else {
        Err(ConnectorError::NotFound(format!(
            "`{}` is not a Figma project id",
            text.chars().take(32).collect::<String>()
        )))
    }
}

/// The project (if the id names one) and file key of an item id.
pub fn item_parts(item_id: &str) -> Result<(Option<&str>, &str), ConnectorError> {
    match item_id.split_once(':') {
        Some((project, key)) => Ok((Some(project_id(project)?), file_key(key)?)),
        None => Ok((None, file_key(item_id)?)),
    }
}

fn item_id(project: Option<&str>, key: &str) -> String {
    match project {
        Some(project) => format!("{project}:{key}"),
        None => key.to_owned(),
    }
}

/// A Figma time in the canonical RFC 3339 form.
fn canonical_time(text: &str) -> Option<String> {
    Timestamp::parse(text).ok().map(|t| t.to_string())
}

#[derive(Deserialize)]
pub struct User {
    pub id: String,
    pub handle: String,
    pub email: Option<String>,
}

impl User {
    pub fn principal(&self) -> Principal {
        let mut principal = Principal::id(self.id.clone());
        principal.display_name = Some(self.handle.clone());
        principal.email = self.email.clone();
        principal
    }
}

/// An entry of `/v1/teams/{team_id}/projects`.
#[derive(Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
}

impl Project {
    pub fn container(&self, team_id: &str, raw: Option<&RawValue>) -> Container {
        let mut container = Container::new(&self.id, "project", &self.name);
        container.url = Some(format!("{WEB}/files/project/{}", self.id));
        container.attributes = vec![("team_id".into(), team_id.to_owned())];
        container.raw = raw.map(|r| r.get().to_owned());
        container
    }
}

/// An entry of `/v1/projects/{project_id}/files`.
#[derive(Deserialize)]
pub struct ProjectFile {
    pub key: String,
    pub name: String,
    pub last_modified: String,
    pub thumbnail_url: Option<String>,
}

impl ProjectFile {
    /// When the file last changed, for filtering and ordering.
    pub fn modified(&self) -> Option<Timestamp> {
        Timestamp::parse(&self.last_modified).ok()
    }

    pub fn item(&self, project: &str, raw: Option<&RawValue>) -> Item {
        let mut item = Item::new(
            item_id(Some(project), &self.key),
            project,
            "file",
            &self.name,
        );
        item.url = Some(format!("{WEB}/design/{}", self.key));
        item.updated_at = canonical_time(&self.last_modified);
        if let Some(thumbnail) = &self.thumbnail_url {
            item.attributes
                .push(("thumbnail_url".into(), thumbnail.clone()));
        }
        item.raw = raw.map(|r| r.get().to_owned());
        item
    }
}

/// A node of the document tree, as deep as `depth=2` returns it.
#[derive(Deserialize)]
pub struct Node {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub children: Vec<Node>,
}

/// `/v1/files/{key}?depth=2`: the document's pages and their top-level nodes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct File {
    pub name: String,
    pub last_modified: String,
    pub editor_type: Option<String>,
    pub version: Option<String>,
    pub role: Option<String>,
    pub document: Node,
}

impl File {
    /// The pages as headings, each with its top-level frames, sections and components.
    pub fn outline(&self) -> String {
        let mut out = String::new();
        for page in &self.document.children {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str("## ");
            out.push_str(page.name.trim());
            out.push('\n');
            for node in &page.children {
                out.push_str(&format!(
                    "- {} ({})\n",
                    node.name.trim(),
                    node.kind.to_ascii_lowercase()
                ));
            }
        }
        out.trim_end().to_owned()
    }

    pub fn item(&self, project: Option<&str>, key: &str) -> Item {
        let mut item = Item::new(
            item_id(project, key),
            project.unwrap_or_default(),
            "file",
            &self.name,
        );
        let editor = self.editor_type.as_deref().unwrap_or("figma");
        let path = if editor == "figjam" {
            "board"
        } else {
            "design"
        };
        item.url = Some(format!("{WEB}/{path}/{key}"));
        item.body = Some(self.outline());
        item.body_format = BodyFormat::Markdown;
        item.updated_at = canonical_time(&self.last_modified);
        let pages = self.document.children.len().to_string();
        let attributes = [
            ("editor_type", Some(editor)),
            ("version", self.version.as_deref()),
            ("role", self.role.as_deref()),
            ("pages", Some(pages.as_str())),
        ];
        item.attributes = attributes
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
            .collect();
        item
    }
}

/// A comment or a reply (`parent_id`).
#[derive(Deserialize)]
pub struct FigmaComment {
    pub id: String,
    pub message: String,
    pub created_at: String,
    pub user: User,
}

impl FigmaComment {
    pub fn created(&self) -> Option<Timestamp> {
        Timestamp::parse(&self.created_at).ok()
    }

    /// Figma writes comments in Markdown when asked (`as_md=true`); a reply reads like any
    /// comment, since the unified comment has no thread.
    pub fn comment(&self, item_id: &str, key: &str, raw: Option<&RawValue>) -> Comment {
        let mut comment = Comment::new(&self.id, item_id, &self.message);
        comment.body_format = BodyFormat::Markdown;
        comment.author = Some(self.user.principal());
        comment.created_at = canonical_time(&self.created_at);
        comment.url = Some(format!("{WEB}/design/{key}?comment={}", self.id));
        comment.raw = raw.map(|r| r.get().to_owned());
        comment
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_before_they_reach_a_url() {
        assert_eq!(item_parts("123:AbC9").unwrap(), (Some("123"), "AbC9"));
        assert_eq!(item_parts("AbC9").unwrap(), (None, "AbC9"));
        for bad in ["", "../me", "12:..", "x1:AbC", "123:a/b", "123:", "a?b=c"] {
            assert!(
                matches!(item_parts(bad), Err(ConnectorError::NotFound(_))),
                "{bad}"
            );
        }
        assert!(project_id("12a").is_err());
    }

    #[test]
    fn a_file_reads_as_an_outline_of_pages_and_frames() {
        let file: File = serde_json::from_str(
            r#"{"name": "App", "lastModified": "2026-11-01T10:00:00Z", "editorType": "figma",
                "version": "7", "role": "editor",
                "document": {"id": "0:0", "name": "Document", "type": "DOCUMENT", "children": [
                    {"id": "0:1", "name": "Cover", "type": "CANVAS", "children": [
                        {"id": "1:1", "name": "Hero", "type": "FRAME"}]},
                    {"id": "0:2", "name": "Flows", "type": "CANVAS", "children": [
                        {"id": "2:1", "name": "Sign in", "type": "FRAME"},
                        {"id": "2:2", "name": "Button", "type": "COMPONENT"}]}]}}"#,
        )
        .unwrap();
        let item = file.item(Some("42"), "Key1");
        assert_eq!(item.id, "42:Key1");
        assert_eq!(item.container_id, "42");
        assert_eq!(
            item.body.as_deref(),
            Some("## Cover\n- Hero (frame)\n\n## Flows\n- Sign in (frame)\n- Button (component)")
        );
        assert_eq!(
            item.url.as_deref(),
            Some("https://www.figma.com/design/Key1")
        );
        assert!(item.attributes.contains(&("pages".into(), "2".into())));
    }
}
