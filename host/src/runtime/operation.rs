use super::bindings::wit::{
    Comment, CommentPage, ConnectionInfo, ConnectorError, ConnectorInfo, ConnectorPlugin,
    ContainerPage, Item, ItemPage, NewComment, NewItem, PageRequest,
};
use super::call_state::CallState;

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
        }
    }

    pub(crate) async fn invoke(
        self,
        plugin: &ConnectorPlugin,
        store: &mut wasmtime::Store<CallState>,
    ) -> wasmtime::Result<Result<OperationOutput, ConnectorError>> {
        let guest = plugin.connector_plugin_connector();
        let store = &mut *store;
        Ok(match self {
            Self::Info => Ok(OperationOutput::Info(guest.call_info(store).await?)),
            Self::Validate { config } => guest
                .call_validate(store, &config)
                .await?
                .map(|()| OperationOutput::Validated),
            Self::Connect => guest
                .call_connect(store)
                .await?
                .map(OperationOutput::Connected),
            Self::Containers { parent, page } => guest
                .call_containers(store, parent.as_deref(), &page)
                .await?
                .map(OperationOutput::Containers),
            Self::Items {
                container_id,
                updated_since,
                page,
            } => guest
                .call_items(store, &container_id, updated_since.as_deref(), &page)
                .await?
                .map(OperationOutput::Items),
            Self::Item { item_id } => guest
                .call_get_item(store, &item_id)
                .await?
                .map(OperationOutput::Item),
            Self::Comments { item_id, page } => guest
                .call_comments(store, &item_id, &page)
                .await?
                .map(OperationOutput::Comments),
            Self::Search { query, page } => guest
                .call_search(store, &query, &page)
                .await?
                .map(OperationOutput::Items),
            Self::CreateItem { container_id, item } => guest
                .call_create_item(store, &container_id, &item)
                .await?
                .map(OperationOutput::Item),
            Self::CreateComment { item_id, comment } => guest
                .call_create_comment(store, &item_id, &comment)
                .await?
                .map(OperationOutput::Comment),
        })
    }
}
