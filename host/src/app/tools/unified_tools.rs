//! The unified operations as tools: each one's name, description, JSON Schemas and hints, and
//! how its arguments become a call of the same use case the REST API runs.

use std::sync::LazyLock;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::app::App;
use crate::app::resources::{
    self, ContainersQuery, CreateComment, CreateItem, ItemsQuery, PageQuery, SearchQuery,
    UpdateItem,
};
use crate::connection::Answer;
use crate::connection::views::BodyFormat;
use crate::error::{ApiError, ErrorCode};
use crate::runtime::ActionAnnotations;

/// One unified operation offered as a tool (`{connector}.{suffix}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnifiedTool {
    ListContainers,
    ListItems,
    GetItem,
    ListComments,
    Search,
    CreateItem,
    UpdateItem,
    CreateComment,
}

impl UnifiedTool {
    /// In catalogue order: reads first, then writes.
    pub const ALL: [Self; 8] = [
        Self::Search,
        Self::ListContainers,
        Self::ListItems,
        Self::GetItem,
        Self::ListComments,
        Self::CreateItem,
        Self::UpdateItem,
        Self::CreateComment,
    ];

    /// The tool name's part after the connector (`jira.search` → `search`).
    pub fn suffix(self) -> &'static str {
        match self {
            Self::ListContainers => "list_containers",
            Self::ListItems => "list_items",
            Self::GetItem => "get_item",
            Self::ListComments => "list_comments",
            Self::Search => "search",
            Self::CreateItem => "create_item",
            Self::UpdateItem => "update_item",
            Self::CreateComment => "create_comment",
        }
    }

    /// The manifest operation a connector must list for this tool to be offered.
    pub fn operation(self) -> &'static str {
        match self {
            Self::ListContainers => "containers",
            Self::ListItems => "items",
            Self::GetItem => "item",
            Self::ListComments => "comments",
            Self::Search => "search",
            Self::CreateItem => "create_item",
            Self::UpdateItem => "update_item",
            Self::CreateComment => "create_comment",
        }
    }

    pub fn title(self, connector: &str) -> String {
        match self {
            Self::ListContainers => format!("List {connector} containers"),
            Self::ListItems => format!("List {connector} items"),
            Self::GetItem => format!("Read a {connector} item"),
            Self::ListComments => format!("List comments of a {connector} item"),
            Self::Search => format!("Search {connector}"),
            Self::CreateItem => format!("Create a {connector} item"),
            Self::UpdateItem => format!("Update a {connector} item"),
            Self::CreateComment => format!("Comment on a {connector} item"),
        }
    }

    pub fn description(self, connector: &str) -> String {
        match self {
            Self::ListContainers => format!(
                "Lists the containers (projects, spaces, repositories, channels...) of the {connector} account, one page at a time. Container ids are what list_items and create_item take."
            ),
            Self::ListItems => format!(
                "Lists the items (issues, pages, messages...) of one {connector} container, most recently updated first, one page at a time; `updated_since` keeps only items changed since then."
            ),
            Self::GetItem => {
                format!("Reads one {connector} item with its full body, by the id a listing gave.")
            }
            Self::ListComments => {
                format!("Lists the comments of one {connector} item, oldest first.")
            }
            Self::Search => format!(
                "Searches {connector} items in the connector's search language (for Jira, free text, or JQL after `jql:`); answers a page of matching items."
            ),
            Self::CreateItem => format!(
                "Creates an item in a {connector} container from a title and an optional body; answers the item as the vendor stored it."
            ),
            Self::UpdateItem => format!(
                "Changes the title, body or attributes of a {connector} item, replacing what was there; answers the item as the vendor stored it."
            ),
            Self::CreateComment => {
                format!("Adds a comment to a {connector} item; answers the stored comment.")
            }
        }
    }

    /// Reads change nothing; updates overwrite (destructive, repeatable); creates add (not
    /// repeatable). Every tool reaches a vendor outside the host (open world).
    pub fn annotations(self) -> ActionAnnotations {
        let (read_only, destructive, idempotent) = match self {
            Self::ListContainers
            | Self::ListItems
            | Self::GetItem
            | Self::ListComments
            | Self::Search => (true, false, true),
            Self::UpdateItem => (false, true, true),
            Self::CreateItem | Self::CreateComment => (false, false, false),
        };
        ActionAnnotations {
            read_only,
            destructive,
            idempotent,
            open_world: true,
        }
    }

    /// JSON Schema of the arguments (without `connection_id`, which the catalogue adds).
    pub fn input_schema(self) -> &'static Value {
        &self.compiled().0
    }

    /// Checks arguments (without `connection_id`) against [`Self::input_schema`].
    pub fn validator(self) -> &'static jsonschema::Validator {
        &self.compiled().1
    }

    fn compiled(self) -> &'static (Value, jsonschema::Validator) {
        let at = Self::ALL.iter().position(|tool| *tool == self);
        // Every variant is in ALL (the unit tests walk it); 0 only keeps this total.
        &SCHEMAS[at.unwrap_or(0)]
    }

    /// JSON Schema of the structured result.
    pub fn output_schema(self) -> Value {
        match self {
            Self::ListContainers => page_schema(container_schema()),
            Self::ListItems | Self::Search => page_schema(item_schema()),
            Self::ListComments => page_schema(comment_schema()),
            Self::GetItem | Self::CreateItem | Self::UpdateItem => item_schema(),
            Self::CreateComment => comment_schema(),
        }
    }

    /// Runs the use case with checked `arguments` for `connection`.
    pub async fn run(
        self,
        state: &App,
        tenant: &str,
        connection: &str,
        arguments: Value,
    ) -> Result<Answer<Value>, ApiError> {
        match self {
            Self::ListContainers => {
                let a: PageArgs = parse(arguments)?;
                let query = ContainersQuery {
                    parent: a.parent,
                    cursor: a.cursor,
                    limit: a.limit,
                    include_raw: None,
                };
                json(resources::list_containers(state, tenant, connection, query).await?)
            }
            Self::ListItems => {
                let a: PageArgs = parse(arguments)?;
                let query = ItemsQuery {
                    cursor: a.cursor,
                    limit: a.limit,
                    updated_since: a.updated_since,
                    include_raw: None,
                };
                let container = a.container_id.unwrap_or_default();
                json(resources::list_items(state, tenant, connection, container, query).await?)
            }
            Self::GetItem => {
                let a: ItemArgs = parse(arguments)?;
                json(resources::read_item(state, tenant, connection, a.item_id, false).await?)
            }
            Self::ListComments => {
                let a: PageArgs = parse(arguments)?;
                let query = PageQuery {
                    cursor: a.cursor,
                    limit: a.limit,
                    include_raw: None,
                };
                let item = a.item_id.unwrap_or_default();
                json(resources::list_comments(state, tenant, connection, item, query).await?)
            }
            Self::Search => {
                let a: PageArgs = parse(arguments)?;
                let query = SearchQuery {
                    q: a.query.unwrap_or_default(),
                    cursor: a.cursor,
                    limit: a.limit,
                    include_raw: None,
                };
                json(resources::search_items(state, tenant, connection, query).await?)
            }
            Self::CreateItem => {
                let a: WriteArgs = parse(arguments)?;
                let body = CreateItem {
                    title: a.title.unwrap_or_default(),
                    body: a.body,
                    body_format: a.body_format,
                    attributes: a.attributes,
                };
                let container = a.container_id.unwrap_or_default();
                json(
                    resources::create_item(state, tenant, connection, container, body, false)
                        .await?,
                )
            }
            Self::UpdateItem => {
                let a: WriteArgs = parse(arguments)?;
                let body = UpdateItem {
                    title: a.title,
                    body: a.body,
                    body_format: a.body_format,
                    attributes: a.attributes,
                };
                let item = a.item_id.unwrap_or_default();
                json(resources::update_item(state, tenant, connection, item, body, false).await?)
            }
            Self::CreateComment => {
                let a: WriteArgs = parse(arguments)?;
                let body = CreateComment {
                    body: a.body.unwrap_or_default(),
                    body_format: a.body_format,
                };
                let item = a.item_id.unwrap_or_default();
                json(resources::create_comment(state, tenant, connection, item, body, false).await?)
            }
        }
    }
}

/// Arguments of the listing tools (each takes the fields its schema names).
#[derive(Deserialize)]
struct PageArgs {
    container_id: Option<String>,
    item_id: Option<String>,
    parent: Option<String>,
    query: Option<String>,
    updated_since: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

#[derive(Deserialize)]
struct ItemArgs {
    item_id: String,
}

/// Arguments of the writing tools.
#[derive(Deserialize)]
struct WriteArgs {
    container_id: Option<String>,
    item_id: Option<String>,
    title: Option<String>,
    body: Option<String>,
    #[serde(default)]
    body_format: BodyFormat,
    #[serde(default)]
    attributes: std::collections::BTreeMap<String, String>,
}

/// Arguments already passed the schema; a mismatch here is the host's own bug, reported as
/// a validation error rather than a panic.
fn parse<T: DeserializeOwned>(arguments: Value) -> Result<T, ApiError> {
    serde_json::from_value(arguments)
        .map_err(|e| ApiError::new(ErrorCode::Validation, format!("arguments: {e}")))
}

fn json(answer: Answer<impl serde::Serialize>) -> Result<Answer<Value>, ApiError> {
    answer.try_map(|view| {
        serde_json::to_value(view).map_err(|e| {
            ApiError::new(
                ErrorCode::InternalError,
                format!("could not encode the result: {e}"),
            )
        })
    })
}

/// Input schemas and their validators, compiled once, in the order of [`UnifiedTool::ALL`].
static SCHEMAS: LazyLock<Vec<(Value, jsonschema::Validator)>> = LazyLock::new(|| {
    UnifiedTool::ALL
        .into_iter()
        .map(|tool| {
            let schema = input_schema(tool);
            // The schemas are literals of this file, checked by the unit tests below.
            let validator = jsonschema::validator_for(&schema).expect("a valid tool schema");
            (schema, validator)
        })
        .collect()
});

fn input_schema(tool: UnifiedTool) -> Value {
    let id = |what: &str| json!({"type": "string", "minLength": 1, "maxLength": 1024, "description": what});
    let cursor = json!({"type": "string", "maxLength": 4096,
        "description": "next_cursor of the previous page; omit for the first page"});
    let limit = json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 25,
        "description": "entries per page"});
    let text = |what: &str| json!({"type": "string", "maxLength": 65536, "description": what});
    let body_format =
        json!({"type": "string", "enum": ["plain", "markdown", "html"], "default": "plain"});
    let attributes = json!({"type": "object", "additionalProperties": {"type": "string"},
        "description": "connector-specific fields (Jira: issuetype on create, priority and labels on update)"});
    let object = |required: &[&str], properties: Value| json!({"type": "object", "required": required, "additionalProperties": false, "properties": properties});
    match tool {
        UnifiedTool::ListContainers => object(
            &[],
            json!({"parent": id("list the containers under this one"), "cursor": cursor, "limit": limit}),
        ),
        UnifiedTool::ListItems => object(
            &["container_id"],
            json!({
                "container_id": id("container id from list_containers (for Jira, a project key)"),
                "updated_since": {"type": "string", "format": "date-time",
                    "description": "RFC 3339 time with a zone; only items changed since"},
                "cursor": cursor, "limit": limit
            }),
        ),
        UnifiedTool::GetItem => object(&["item_id"], json!({"item_id": id("item id")})),
        UnifiedTool::ListComments => object(
            &["item_id"],
            json!({"item_id": id("item id"), "cursor": cursor, "limit": limit}),
        ),
        UnifiedTool::Search => object(
            &["query"],
            json!({
                "query": {"type": "string", "minLength": 1, "maxLength": 65536, "pattern": "\\S",
                    "description": "what to look for"},
                "cursor": cursor, "limit": limit
            }),
        ),
        UnifiedTool::CreateItem => object(
            &["container_id", "title"],
            json!({
                "container_id": id("container to create the item in"),
                "title": {"type": "string", "minLength": 1, "maxLength": 65536, "pattern": "\\S"},
                "body": text("the item's body"),
                "body_format": body_format,
                "attributes": attributes
            }),
        ),
        UnifiedTool::UpdateItem => {
            let mut schema = object(
                &["item_id"],
                json!({
                    "item_id": id("item to change"),
                    "title": {"type": "string", "minLength": 1, "maxLength": 65536, "pattern": "\\S"},
                    "body": text("the new body"),
                    "body_format": body_format,
                    "attributes": attributes
                }),
            );
            schema["anyOf"] = json!([
                {"required": ["title"]}, {"required": ["body"]}, {"required": ["attributes"]}
            ]);
            schema
        }
        UnifiedTool::CreateComment => object(
            &["item_id", "body"],
            json!({
                "item_id": id("item to comment on"),
                "body": {"type": "string", "minLength": 1, "maxLength": 65536, "pattern": "\\S"},
                "body_format": body_format
            }),
        ),
    }
}

fn nullable_string() -> Value {
    json!({"type": ["string", "null"]})
}

fn principal_schema() -> Value {
    json!({"type": ["object", "null"], "properties": {
        "id": {"type": "string"}, "display_name": nullable_string(), "email": nullable_string()
    }})
}

fn container_schema() -> Value {
    json!({"type": "object", "required": ["id", "kind", "name"], "properties": {
        "id": {"type": "string"}, "parent_id": nullable_string(), "kind": {"type": "string"},
        "name": {"type": "string"}, "description": nullable_string(), "url": nullable_string(),
        "attributes": {"type": "object"}
    }})
}

fn item_schema() -> Value {
    json!({"type": "object", "required": ["id", "container_id", "kind", "title"], "properties": {
        "id": {"type": "string"}, "container_id": {"type": "string"}, "kind": {"type": "string"},
        "title": {"type": "string"}, "body": nullable_string(),
        "body_format": {"type": "string", "enum": ["plain", "markdown", "html"]},
        "url": nullable_string(), "author": principal_schema(),
        "created_at": nullable_string(), "updated_at": nullable_string(),
        "attributes": {"type": "object"}
    }})
}

fn comment_schema() -> Value {
    json!({"type": "object", "required": ["id", "item_id", "body"], "properties": {
        "id": {"type": "string"}, "item_id": {"type": "string"}, "body": {"type": "string"},
        "body_format": {"type": "string", "enum": ["plain", "markdown", "html"]},
        "author": principal_schema(), "created_at": nullable_string(),
        "updated_at": nullable_string(), "url": nullable_string()
    }})
}

fn page_schema(entry: Value) -> Value {
    json!({"type": "object", "required": ["entries", "next_cursor"], "properties": {
        "entries": {"type": "array", "items": entry},
        "next_cursor": {"type": ["string", "null"],
            "description": "pass as `cursor` for the next page; null on the last page"},
        "deleted": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "container_id": {"type": "string"}, "deleted_at": nullable_string()
        }}}
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_compiles_and_refuses_unknown_arguments() {
        for tool in UnifiedTool::ALL {
            assert_eq!(tool.input_schema()["type"], "object", "{tool:?}");
            let issues = crate::runtime::check_against(
                tool.validator(),
                &json!({"surprise": 1, "item_id": "A-1", "container_id": "A", "query": "q", "title": "t", "body": "b"}),
            )
            .unwrap_err();
            assert!(
                issues
                    .iter()
                    .any(|i| i.message.contains("surprise") || i.path.is_empty()),
                "{tool:?}: {issues:?}"
            );
            assert!(jsonschema::validator_for(&tool.output_schema()).is_ok());
        }
    }

    #[test]
    fn an_update_must_change_something_and_a_search_needs_words() {
        let update = UnifiedTool::UpdateItem.validator();
        assert!(crate::runtime::check_against(update, &json!({"item_id": "A-1"})).is_err());
        assert!(
            crate::runtime::check_against(update, &json!({"item_id": "A-1", "title": "x"})).is_ok()
        );
        let search = UnifiedTool::Search.validator();
        let issues = crate::runtime::check_against(search, &json!({"query": "  "})).unwrap_err();
        assert_eq!(issues[0].path, "/query");
    }

    #[test]
    fn writes_are_not_read_only_and_updates_are_destructive() {
        assert!(UnifiedTool::Search.annotations().read_only);
        assert!(!UnifiedTool::CreateComment.annotations().read_only);
        assert!(UnifiedTool::UpdateItem.annotations().destructive);
        assert!(UnifiedTool::ALL.iter().all(|t| t.annotations().open_world));
    }
}
