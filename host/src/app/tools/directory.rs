//! The tools every loaded connector offers, searchable: one [`ToolIndex`] over all plugins'
//! tools, built when the set of loaded plugins changes (a hot load swaps a plugin) and shared
//! by every request; each search is scored only over what the caller may see (connectors
//! offered to its tenant, its endpoint's connection, its pack).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use serde::Serialize;

use super::catalogue::{Catalogue, ToolView, connector_tools};
use super::connect_link::ConnectLink;
use super::packs::ToolPack;
use super::search::{IndexedTool, ToolIndex};
use crate::app::App;
use crate::connection;
use crate::error::ApiError;
use crate::runtime::Plugin;

/// The index and the plugins it was built from.
struct Built {
    /// The plugins' addresses: a hot load replaces a plugin's `Arc`, so a change of any
    /// plugin changes this.
    plugins: Vec<usize>,
    index: Arc<ToolIndex>,
}

/// The shared, lazily rebuilt index.
#[derive(Default)]
pub struct ToolDirectory {
    built: ArcSwapOption<Built>,
}

impl std::fmt::Debug for ToolDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolDirectory").finish_non_exhaustive()
    }
}

impl ToolDirectory {
    /// The index of `plugins`' tools, rebuilt only when they changed.
    fn index(&self, plugins: &[Arc<Plugin>]) -> Arc<ToolIndex> {
        let key: Vec<usize> = plugins
            .iter()
            .map(|plugin| Arc::as_ptr(plugin) as usize)
            .collect();
        if let Some(built) = self.built.load_full()
            && built.plugins == key
        {
            return built.index.clone();
        }
        let tools = plugins
            .iter()
            .filter(|plugin| !plugin.interprets)
            .flat_map(|plugin| {
                let name = plugin.manifest.display_name.clone();
                connector_tools(plugin.id(), &plugin.manifest)
                    .into_iter()
                    .map(move |(view, _)| IndexedTool::of(&view, &name))
            })
            .collect();
        let index = Arc::new(ToolIndex::new(tools));
        self.built.store(Some(Arc::new(Built {
            plugins: key,
            index: index.clone(),
        })));
        index
    }
}

/// Which tools a caller may see.
#[derive(Debug, Clone, Default)]
pub struct Visibility<'a> {
    /// Only this connection's connector (an endpoint scoped to one connection).
    pub scope: Option<&'a str>,
    /// Only this pack's tools; `None`: every tool.
    pub pack: Option<&'a ToolPack>,
}

/// One search result.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FoundTool {
    /// The tool's name, to pass to `execute_tool`.
    pub name: String,
    /// A short title for people.
    pub title: String,
    /// What it does.
    pub description: String,
    /// The connector it belongs to.
    pub connector: String,
    /// Whether the tenant has a connection it runs on; calling one that is not asks the person
    /// to connect first.
    pub connected: bool,
    /// BM25 score: higher is closer.
    pub score: f32,
}

/// What the tenant has and can connect.
struct Reach {
    /// Connectors offered to the tenant (and to the endpoint's scope).
    offered: HashSet<String>,
    /// Connectors it has connections of.
    connected: HashSet<String>,
}

async fn reach(state: &App, tenant: &str, scope: Option<&str>) -> Result<Reach, ApiError> {
    let connections = match scope {
        Some(id) => vec![connection::load(state, tenant, id).await?],
        None => state.store.connections(tenant).await?,
    };
    let connected: HashSet<String> = connections.into_iter().map(|c| c.connector).collect();
    let offered = state
        .runtime
        .plugins()
        .iter()
        .filter(|plugin| plugin.offered_to(tenant))
        .map(|plugin| plugin.id().to_owned())
        .filter(|id| scope.is_none() || connected.contains(id))
        .collect();
    Ok(Reach { offered, connected })
}

/// The `limit` tools that best match `query`, among those `visibility` lets the tenant see.
pub async fn search_tools(
    state: &App,
    tenant: &str,
    visibility: &Visibility<'_>,
    query: &str,
    limit: usize,
) -> Result<Vec<FoundTool>, ApiError> {
    let reach = reach(state, tenant, visibility.scope).await?;
    let index = state.tool_directory.index(&state.runtime.plugins());
    let hits = index.search(query, limit, |tool| {
        reach.offered.contains(&tool.connector)
            && visibility.pack.is_none_or(|pack| pack.allows(&tool.name))
    });
    Ok(hits
        .into_iter()
        .map(|hit| FoundTool {
            name: hit.tool.name.clone(),
            title: hit.tool.title.clone(),
            description: hit.tool.description.clone(),
            connector: hit.tool.connector.clone(),
            connected: reach.connected.contains(&hit.tool.connector),
            score: hit.score,
        })
        .collect())
}

/// A tool's full description, for calling it.
#[derive(Debug, Serialize)]
pub struct ToolSchema {
    /// Name, description, schemas and hints.
    #[serde(flatten)]
    pub view: ToolView,
    /// Whether the tenant has a connection it runs on.
    pub connected: bool,
}

/// The schemas of the named tools the tenant may call (connected or connectable), and the
/// names it may not.
pub async fn tool_schemas(
    state: &App,
    tenant: &str,
    visibility: &Visibility<'_>,
    names: &[String],
) -> Result<(Vec<ToolSchema>, Vec<String>), ApiError> {
    let catalogue = Catalogue::for_tenant(state, tenant, visibility.scope).await?;
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        let allowed = visibility.pack.is_none_or(|pack| pack.allows(name));
        if let Some(entry) = catalogue.find(name).filter(|_| allowed) {
            found.push(ToolSchema {
                view: entry.view.clone(),
                connected: true,
            });
            continue;
        }
        let connectable = allowed
            && visibility.scope.is_none()
            && ConnectLink::to_connect(state, tenant, name).is_some();
        let view = connectable.then(|| unconnected_view(state, name)).flatten();
        match view {
            Some(view) => found.push(ToolSchema {
                view,
                connected: false,
            }),
            None => unknown.push(name.clone()),
        }
    }
    Ok((found, unknown))
}

/// What an unconnected connector's tool `name` would look like once connected.
pub(super) fn unconnected_view(state: &App, name: &str) -> Option<ToolView> {
    let (connector, _) = name.split_once('.')?;
    let plugin = state.runtime.plugin(connector)?;
    connector_tools(connector, &plugin.manifest)
        .into_iter()
        .map(|(view, _)| view)
        .find(|view| view.name == name)
}

/// One of the tenant's connections, as an agent needs to know it.
#[derive(Debug, Serialize)]
pub struct ConnectionSummary {
    /// Its id (`connection_id` of a tool call).
    pub id: String,
    /// Its connector.
    pub connector: String,
    /// Its name.
    pub name: String,
    /// `active`, `needs_reauth`, ...
    pub status: String,
}

/// A connector the tenant could connect, and where.
#[derive(Debug, Serialize)]
pub struct Connectable {
    /// The connector's id.
    pub connector: String,
    /// Its name for people.
    pub name: String,
    /// Where the person connects it.
    pub connect_url: String,
}

/// The tenant's connections, and the connectors offered to it with their connect links.
pub async fn connections_overview(
    state: &App,
    tenant: &str,
) -> Result<(Vec<ConnectionSummary>, Vec<Connectable>), ApiError> {
    let connections = state.store.connections(tenant).await?;
    let summaries = connections
        .iter()
        .map(|record| ConnectionSummary {
            id: record.id.clone(),
            connector: record.connector.clone(),
            name: record.name.clone(),
            status: serde_json::to_value(record.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        })
        .collect();
    let mut connectable = BTreeMap::new();
    for plugin in state.runtime.plugins() {
        if !plugin.offered_to(tenant) {
            continue;
        }
        if let Some(link) = ConnectLink::to_connect_connector(state, tenant, plugin.id()) {
            connectable.insert(
                link.connector.clone(),
                Connectable {
                    connector: link.connector,
                    name: link.connector_name,
                    connect_url: link.url,
                },
            );
        }
    }
    Ok((summaries, connectable.into_values().collect()))
}
