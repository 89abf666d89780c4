use super::bindings::PluginInstance;
use super::bindings::wit::{
    Comment, CommentPage, ConnectionInfo, ConnectorError, ConnectorInfo, ContainerPage, Item,
    ItemPage, ItemPatch, NewComment, NewItem, PageRequest,
};
use super::call_state::CallState;
use super::compat_v0_1;

/// Matches `$operation` against the calls whose types are the same in every contract version,
/// and against `$extra` for those that differ (info, connect, newer operations).
macro_rules! dispatch {
    ($operation:expr, $guest:ident, $store:ident, { $($extra:tt)* }) => {
        match $operation {
            $($extra)*
            Self::Validate { config } => $guest
                .call_validate(&mut *$store, &config)
                .await?
                .map(|()| OperationOutput::Validated),
            Self::Containers { parent, page } => $guest
                .call_containers(&mut *$store, parent.as_deref(), &page)
                .await?
                .map(OperationOutput::Containers),
            Self::Items { container_id, updated_since, page } => $guest
                .call_items(&mut *$store, &container_id, updated_since.as_deref(), &page)
                .await?
                .map(OperationOutput::Items),
            Self::Item { item_id } => $guest
                .call_get_item(&mut *$store, &item_id)
                .await?
                .map(OperationOutput::Item),
            Self::Comments { item_id, page } => $guest
                .call_comments(&mut *$store, &item_id, &page)
                .await?
                .map(OperationOutput::Comments),
            Self::Search { query, page } => $guest
                .call_search(&mut *$store, &query, &page)
                .await?
                .map(OperationOutput::Items),
            Self::CreateItem { container_id, item } => $guest
                .call_create_item(&mut *$store, &container_id, &item)
                .await?
                .map(OperationOutput::Item),
            Self::CreateComment { item_id, comment } => $guest
                .call_create_comment(&mut *$store, &item_id, &comment)
                .await?
                .map(OperationOutput::Comment),
        }
    };
}

/// One call into a connector.
#[derive(Debug, Clone)]
pub enum Operation {
    /// `info()`, made by the host when it loads a plugin.
    Info,
    Validate {
        config: Vec<(String, String)>,
    },
    Connect,
    Containers {
        parent: Option<String>,
        page: PageRequest,
    },
    Items {
        container_id: String,
        updated_since: Option<String>,
        page: PageRequest,
    },
    Item {
        item_id: String,
    },
    Comments {
        item_id: String,
        page: PageRequest,
    },
    Search {
        query: String,
        page: PageRequest,
    },
    CreateItem {
        container_id: String,
        item: NewItem,
    },
    CreateComment {
        item_id: String,
        comment: NewComment,
    },
    /// Since contract 0.2.0; 0.1.0 plugins answer `unsupported`.
    UpdateItem {
        item_id: String,
        patch: ItemPatch,
    },
}

/// What an operation returned.
#[derive(Debug, Clone)]
pub enum OperationOutput {
    Info(ConnectorInfo),
    Validated,
    Connected(ConnectionInfo),
    Containers(ContainerPage),
    Items(ItemPage),
    Item(Item),
    Comments(CommentPage),
    Comment(Comment),
}

impl Operation {
    /// Calls that may use the network; `info` and `validate` get no outbound requests.
    pub(crate) fn uses_network(&self) -> bool {
        !matches!(self, Self::Info | Self::Validate { .. })
    }

    /// Stable name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Validate { .. } => "validate",
            Self::Connect => "connect",
            Self::Containers { .. } => "containers",
            Self::Items { .. } => "items",
            Self::Item { .. } => "item",
            Self::Comments { .. } => "comments",
            Self::Search { .. } => "search",
            Self::CreateItem { .. } => "create_item",
            Self::CreateComment { .. } => "create_comment",
            Self::UpdateItem { .. } => "update_item",
        }
    }

    pub(crate) async fn invoke(
        self,
        plugin: &PluginInstance,
        store: &mut wasmtime::Store<CallState>,
    ) -> wasmtime::Result<Result<OperationOutput, ConnectorError>> {
        let store = &mut *store;
        match plugin {
            PluginInstance::V0_2(plugin) => {
                let guest = plugin.connector_plugin_connector();
                Ok(dispatch!(self, guest, store, {
                    Self::Info => Ok(OperationOutput::Info(guest.call_info(&mut *store).await?)),
                    Self::Connect => guest
                        .call_connect(&mut *store)
                        .await?
                        .map(OperationOutput::Connected),
                    Self::UpdateItem { item_id, patch } => guest
                        .call_update_item(&mut *store, &item_id, &patch)
                        .await?
                        .map(OperationOutput::Item),
                }))
            }
            PluginInstance::V0_1(plugin) => {
                let guest = plugin.connector_plugin_connector();
                Ok(dispatch!(self, guest, store, {
                    Self::Info => Ok(OperationOutput::Info(compat_v0_1::connector_info(
                        guest.call_info(&mut *store).await?,
                    ))),
                    Self::Connect => guest
                        .call_connect(&mut *store)
                        .await?
                        .map(|info| OperationOutput::Connected(compat_v0_1::connection_info(info))),
                    Self::UpdateItem { .. } => Err(ConnectorError::Unsupported(
                        "this connector is built against connector:plugin 0.1.0, which has no update-item"
                            .into(),
                    )),
                }))
            }
        }
    }
}
