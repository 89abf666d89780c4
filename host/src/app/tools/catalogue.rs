//! The tools a tenant's agent sees: for each connector the tenant has connections to (in
//! connector order), the unified operations it offers, then its actions (in manifest order).
//! Built per request from the tenant's connections and the loaded plugins, so a new
//! connection, a deleted one or a hot-loaded plugin shows at once.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::unified_tools::UnifiedTool;
use crate::app::App;
use crate::connection;
use crate::error::ApiError;
use crate::runtime::{ActionAnnotations, ActionManifest, ConnectorManifest};
use crate::store::ConnectionRecord;

/// Name of the argument that picks a connection when the tenant has several of a connector.
pub const CONNECTION_ARGUMENT: &str = "connection_id";

/// One tool, as `GET /api/v1/tools` and MCP's `tools/list` show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ToolView {
    /// `{connector}.{operation or action}`, such as `jira.search`.
    pub name: String,
    /// A short title for people.
    pub title: String,
    /// What the tool does, for the model choosing it.
    pub description: String,
    /// The connector whose connections it runs on.
    pub connector: String,
    /// JSON Schema of the arguments.
    #[schema(value_type = Object)]
    pub input_schema: Value,
    /// JSON Schema of the structured result, when known.
    #[schema(value_type = Option<Object>)]
    pub output_schema: Option<Value>,
    /// Hints for the agent: read-only, destructive, idempotent, open-world.
    pub annotations: ActionAnnotations,
}

/// What a tool runs.
#[derive(Debug, Clone)]
pub enum ToolTarget {
    Unified(UnifiedTool),
    Action(ActionManifest),
}

/// A tool and the connections it can act on.
#[derive(Debug, Clone)]
pub struct CatalogueEntry {
    pub view: ToolView,
    pub target: ToolTarget,
    /// Ids of the tenant's connections of this connector (one when scoped).
    pub connections: Vec<String>,
}

impl CatalogueEntry {
    /// The caller must name the connection (it has several of this connector).
    pub fn needs_connection_argument(&self) -> bool {
        self.connections.len() > 1
    }
}

/// A tenant's tools.
#[derive(Debug, Default)]
pub struct Catalogue {
    entries: Vec<CatalogueEntry>,
}

impl Catalogue {
    /// The tools of all the tenant's connections, or of one (`scope`; 404 when it is not the
    /// tenant's). Connectors whose plugin is not loaded offer none.
    pub async fn for_tenant(
        state: &App,
        tenant: &str,
        scope: Option<&str>,
    ) -> Result<Self, ApiError> {
        Self::build(state, tenant, scope, None).await
    }

    /// Only the tools of the connector `tool` belongs to (`jira.search` → `jira`): what a call
    /// needs, without building every other connector's schemas.
    pub async fn for_tool(
        state: &App,
        tenant: &str,
        scope: Option<&str>,
        tool: &str,
    ) -> Result<Self, ApiError> {
        let connector = tool
            .split_once('.')
            .map_or(tool, |(connector, _)| connector);
        Self::build(state, tenant, scope, Some(connector)).await
    }

    async fn build(
        state: &App,
        tenant: &str,
        scope: Option<&str>,
        only: Option<&str>,
    ) -> Result<Self, ApiError> {
        let mut connections = match scope {
            Some(id) => vec![connection::load(state, tenant, id).await?],
            None => state.store.connections(tenant).await?,
        };
        if let Some(connector) = only {
            connections.retain(|record| record.connector == connector);
        }
        let mut by_connector: BTreeMap<String, Vec<ConnectionRecord>> = BTreeMap::new();
        for record in connections {
            by_connector
                .entry(record.connector.clone())
                .or_default()
                .push(record);
        }
        let mut entries = Vec::new();
        for (connector, mut records) in by_connector {
            let Some(plugin) = state.runtime.plugin(&connector) else {
                continue;
            };
            records.sort_by(|a, b| a.id.cmp(&b.id));
            let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
            let connection_argument = (records.len() > 1).then(|| connection_schema(&records));
            for (view, target) in connector_tools(&connector, &plugin.manifest) {
                let input_schema = with_connection(view.input_schema, connection_argument.as_ref());
                entries.push(CatalogueEntry {
                    view: ToolView {
                        input_schema,
                        ..view
                    },
                    target,
                    connections: ids.clone(),
                });
            }
        }
        Ok(Self { entries })
    }

    /// The tool called `name`.
    pub fn find(&self, name: &str) -> Option<&CatalogueEntry> {
        self.entries.iter().find(|entry| entry.view.name == name)
    }

    /// The tools as their callers see them, in catalogue order.
    pub fn into_views(self) -> Vec<ToolView> {
        self.entries.into_iter().map(|entry| entry.view).collect()
    }
}

/// The tools a connection of `connector` offers, as a tenant with one connection of it sees
/// them (no `connection_id` argument): its unified operations, then its actions.
pub fn connector_tools(
    connector: &str,
    manifest: &ConnectorManifest,
) -> Vec<(ToolView, ToolTarget)> {
    let mut tools = Vec::new();
    for tool in UnifiedTool::ALL {
        if !manifest.operations.contains(&tool.operation()) {
            continue;
        }
        let view = ToolView {
            name: format!("{connector}.{}", tool.suffix()),
            title: tool.title(&manifest.display_name),
            description: tool.description(&manifest.display_name),
            connector: connector.to_owned(),
            input_schema: tool.input_schema().clone(),
            output_schema: Some(tool.output_schema()),
            annotations: tool.annotations(),
        };
        tools.push((view, ToolTarget::Unified(tool)));
    }
    for action in &manifest.actions {
        let view = ToolView {
            name: format!("{connector}.{}", action_suffix(action)),
            title: action.title.clone(),
            description: if action.description.is_empty() {
                action.title.clone()
            } else {
                action.description.clone()
            },
            connector: connector.to_owned(),
            input_schema: action.input_schema.clone(),
            output_schema: action
                .output_schema
                .clone()
                .filter(|schema| schema["type"] == "object"),
            annotations: action.annotations,
        };
        tools.push((view, ToolTarget::Action(action.clone())));
    }
    tools
}

/// The name an action's tool has after `{connector}.`: the action's own, or `action_{name}`
/// when a unified tool has that name.
fn action_suffix(action: &ActionManifest) -> String {
    if UnifiedTool::ALL.iter().any(|t| t.suffix() == action.name) {
        format!("action_{}", action.name)
    } else {
        action.name.clone()
    }
}

/// Whether a connection of the connector `manifest` describes would offer the tool named
/// `{connector}.{suffix}`: what a tenant without one is asked to connect for.
pub fn would_offer(manifest: &ConnectorManifest, suffix: &str) -> bool {
    UnifiedTool::ALL
        .iter()
        .any(|tool| tool.suffix() == suffix && manifest.operations.contains(&tool.operation()))
        || manifest
            .actions
            .iter()
            .any(|action| action_suffix(action) == suffix)
}

/// The `connection_id` argument: one of the tenant's connections of the connector, named so
/// an agent can tell them apart.
fn connection_schema(records: &[ConnectionRecord]) -> Value {
    let names: Vec<String> = records
        .iter()
        .map(|r| format!("{} ({})", r.id, r.name))
        .collect();
    json!({
        "type": "string",
        "enum": records.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        "description": format!("which connection to use: {}", names.join(", "))
    })
}

/// `schema` with a required `connection_id` property, when one is needed.
fn with_connection(mut schema: Value, connection: Option<&Value>) -> Value {
    let Some(connection) = connection else {
        return schema;
    };
    if let Some(properties) = schema
        .as_object_mut()
        .map(|o| o.entry("properties").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
    {
        properties.insert(CONNECTION_ARGUMENT.to_owned(), connection.clone());
    }
    if let Some(object) = schema.as_object_mut() {
        let required = object.entry("required").or_insert_with(|| json!([]));
        if let Some(list) = required.as_array_mut() {
            list.insert(0, json!(CONNECTION_ARGUMENT));
        }
    }
    schema
}
