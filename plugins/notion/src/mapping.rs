//! Notion's objects, as much as the unified records need: data sources become containers,
//! pages items, comments comments. Ids are Notion's UUIDs, checked before they go into a URL.

use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::markdown::{plain_text, rich_markdown};

/// One run of rich text.
#[derive(Deserialize)]
pub struct RichText {
    #[serde(default)]
    pub plain_text: String,
    pub href: Option<String>,
    #[serde(default)]
    pub annotations: Annotations,
}

#[derive(Deserialize, Default)]
pub struct Annotations {
    #[serde(default)]
    pub bold: bool,
    #[serde(default)]
    pub italic: bool,
    #[serde(default)]
    pub strikethrough: bool,
    #[serde(default)]
    pub code: bool,
}

/// Who created or edited something: only the id is always there.
#[derive(Deserialize)]
pub struct UserRef {
    pub id: String,
    pub name: Option<String>,
}

impl UserRef {
    fn principal(&self) -> Principal {
        let mut principal = Principal::id(self.id.clone());
        principal.display_name = self.name.clone();
        principal
    }
}

/// Where a page or comment lives.
#[derive(Deserialize, Default)]
pub struct Parent {
    pub data_source_id: Option<String>,
    pub database_id: Option<String>,
    pub page_id: Option<String>,
    pub block_id: Option<String>,
}

impl Parent {
    /// The container id a page reports: its data source, else its parent page or block, else
    /// `workspace`.
    fn container(&self) -> String {
        self.data_source_id
            .as_ref()
            .or(self.page_id.as_ref())
            .or(self.block_id.as_ref())
            .or(self.database_id.as_ref())
            .cloned()
            .unwrap_or_else(|| "workspace".into())
    }
}

/// A data source (API 2025-09-03: a database holds one or more).
#[derive(Deserialize)]
pub struct DataSource {
    pub id: String,
    #[serde(default)]
    pub title: Vec<RichText>,
    #[serde(default)]
    pub description: Vec<RichText>,
    pub url: Option<String>,
    #[serde(default)]
    pub parent: Parent,
    pub last_edited_time: Option<String>,
}

impl DataSource {
    pub fn container(&self, raw: Option<&RawValue>) -> Container {
        let name = plain_text(&self.title);
        let name = if name.is_empty() {
            "Untitled".to_owned()
        } else {
            name
        };
        let mut container = Container::new(&self.id, "data_source", name);
        let description = plain_text(&self.description);
        container.description = (!description.is_empty()).then_some(description);
        container.url = self.url.clone();
        if let Some(database) = &self.parent.database_id {
            container.attributes = vec![("database_id".into(), database.clone())];
        }
        if let Some(edited) = &self.last_edited_time {
            container
                .attributes
                .push(("last_edited_time".into(), edited.clone()));
        }
        container.raw = raw.map(|r| r.get().to_owned());
        container
    }
}

/// A page: its title is the one property of type `title`; the others become attributes.
#[derive(Deserialize)]
pub struct Page {
    pub id: String,
    pub url: Option<String>,
    #[serde(default)]
    pub parent: Parent,
    pub created_time: Option<String>,
    pub last_edited_time: Option<String>,
    pub created_by: Option<UserRef>,
    #[serde(default)]
    pub in_trash: bool,
    #[serde(default)]
    pub properties: Map<String, Value>,
}

impl Page {
    /// The plain text of the page's title property.
    pub fn title(&self) -> String {
        self.properties
            .values()
            .find(|p| p["type"] == "title")
            .and_then(|p| p["title"].as_array())
            .map(|runs| {
                runs.iter()
                    .filter_map(|r| r["plain_text"].as_str())
                    .collect()
            })
            .filter(|t: &String| !t.is_empty())
            .unwrap_or_else(|| "Untitled".to_owned())
    }

    /// The page as an item, with `body` when it was read.
    pub fn item(&self, body: Option<String>, raw: Option<&RawValue>) -> Item {
        let mut item = Item::new(&self.id, self.parent.container(), "page", self.title());
        item.body_format = BodyFormat::Markdown;
        item.body = body;
        item.url = self.url.clone();
        item.author = self.created_by.as_ref().map(UserRef::principal);
        item.created_at = self.created_time.as_deref().and_then(canonical_time);
        item.updated_at = self.last_edited_time.as_deref().and_then(canonical_time);
        item.attributes = self
            .properties
            .iter()
            .filter_map(|(name, value)| Some((name.clone(), property_text(value)?)))
            .collect();
        if self.in_trash {
            item.attributes.push(("in_trash".into(), "true".into()));
        }
        item.raw = raw.map(|r| r.get().to_owned());
        item
    }
}

/// A comment on a page (or one of its blocks).
#[derive(Deserialize)]
pub struct NotionComment {
    pub id: String,
    pub created_time: Option<String>,
    pub last_edited_time: Option<String>,
    pub created_by: Option<UserRef>,
    #[serde(default)]
    pub rich_text: Vec<RichText>,
}

impl NotionComment {
    pub fn comment(&self, item_id: &str, raw: Option<&RawValue>) -> Comment {
        let mut comment = Comment::new(&self.id, item_id, rich_markdown(&self.rich_text));
        comment.body_format = BodyFormat::Markdown;
        comment.author = self.created_by.as_ref().map(UserRef::principal);
        comment.created_at = self.created_time.as_deref().and_then(canonical_time);
        comment.updated_at = self.last_edited_time.as_deref().and_then(canonical_time);
        comment.raw = raw.map(|r| r.get().to_owned());
        comment
    }
}

/// A Notion time (`2026-11-24T09:00:00.000Z`) in the canonical RFC 3339 form.
fn canonical_time(text: &str) -> Option<String> {
    Timestamp::parse(text).ok().map(|t| t.to_string())
}

/// A property value as text, for the types a person reads at a glance; `None` for the title
/// (it is the item's title) and for types with nothing short to show (files, rollups).
fn property_text(property: &Value) -> Option<String> {
    let kind = property["type"].as_str()?;
    let value = &property[kind];
    let names = |list: &Value, key: &str| -> String {
        list.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|e| e[key].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let text = match kind {
        "rich_text" => names(value, "plain_text"),
        "number" => value.as_f64().map(|n| n.to_string())?,
        "select" | "status" => value["name"].as_str()?.to_owned(),
        "multi_select" => names(value, "name"),
        "date" => match value["end"].as_str() {
            Some(end) => format!("{}/{end}", value["start"].as_str()?),
            None => value["start"].as_str()?.to_owned(),
        },
        "checkbox" => value.as_bool()?.to_string(),
        "url" | "email" | "phone_number" | "created_time" | "last_edited_time" => {
            value.as_str()?.to_owned()
        }
        "people" | "relation" => names(value, "id"),
        "created_by" | "last_edited_by" => value["id"].as_str()?.to_owned(),
        "unique_id" => {
            let number = value["number"].as_u64()?;
            match value["prefix"].as_str() {
                Some(prefix) => format!("{prefix}-{number}"),
                None => number.to_string(),
            }
        }
        "formula" => {
            let inner = value["type"].as_str()?;
            match &value[inner] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Object(date) => date.get("start")?.as_str()?.to_owned(),
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(text)
}

/// A Notion id (UUID, dashed or not), checked: it goes into paths and JSON bodies.
pub fn notion_id(id: &str) -> Result<&str, ConnectorError> {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    let dashes_ok = id.len() == 32 || (id.len() == 36 && id.matches('-').count() == 4);
    if dashes_ok && hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(id)
    } else {
        Err(ConnectorError::NotFound(format!(
            "`{id}` is not a Notion id"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids() {
        assert!(notion_id("1a2b3c4d-0000-4000-8000-00000000000a").is_ok());
        assert!(notion_id("1a2b3c4d000040008000000000000000").is_ok());
        for bad in [
            "",
            "1a2b",
            "../../v1/users",
            "1a2b3c4d-0000-4000-8000-00000000000g",
            "1a2b3c4d-0000-4000-8000-00000000000a?x=1",
        ] {
            assert!(notion_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_pages_title_and_properties_are_read() {
        let page: Page = serde_json::from_str(
            r#"{"object":"page","id":"p1","url":"https://www.notion.so/p1",
            "parent":{"type":"data_source_id","data_source_id":"ds1","database_id":"db1"},
            "created_time":"2026-11-20T09:00:00.000Z","last_edited_time":"2026-11-21T10:30:00.000Z",
            "created_by":{"object":"user","id":"u1"},
            "properties":{
              "Name":{"id":"title","type":"title","title":[{"plain_text":"Launch "},{"plain_text":"plan"}]},
              "Status":{"id":"a","type":"status","status":{"name":"In progress"}},
              "Tags":{"id":"b","type":"multi_select","multi_select":[{"name":"web"},{"name":"q4"}]},
              "Due":{"id":"c","type":"date","date":{"start":"2026-12-01","end":null}},
              "Done":{"id":"d","type":"checkbox","checkbox":false},
              "Files":{"id":"e","type":"files","files":[]}
            }}"#,
        )
        .unwrap();
        let item = page.item(None, None);
        assert_eq!(item.title, "Launch plan");
        assert_eq!(item.container_id, "ds1");
        assert_eq!(item.updated_at.as_deref(), Some("2026-11-21T10:30:00Z"));
        let attribute = |name: &str| {
            item.attributes
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(attribute("Status"), Some("In progress"));
        assert_eq!(attribute("Tags"), Some("web, q4"));
        assert_eq!(attribute("Due"), Some("2026-12-01"));
        assert_eq!(attribute("Done"), Some("false"));
        assert_eq!(attribute("Files"), None);
        assert_eq!(attribute("Name"), None);
    }
}
