use crate::config::Config;
use crate::{
    CommentPage, ConnectionInfo, ConnectorError, ConnectorInfo, ContainerPage, Item, ItemPage,
    ItemPatch, NewComment, NewItem, PageRequest,
};

/// A connector: the vendor-specific half of the unified resource shape.
///
/// Only [`info`](Connector::info) and [`connect`](Connector::connect) are required; every other
/// operation answers `unsupported` until the connector overrides it (and lists it in
/// `ConnectorInfo::operations`). Each call runs in a fresh sandbox, so keep no state between
/// calls: put what the next page needs into its cursor.
pub trait Connector {
    /// Describes the connector; called once when the host loads it. No network.
    fn info() -> ConnectorInfo;

    /// Checks a connection config before the host stores it. No network: the host gives this
    /// call no outbound requests. The default accepts any config.
    fn validate(config: &Config) -> Result<(), ConnectorError> {
        let _ = config;
        Ok(())
    }

    /// Verifies the credential and returns the account behind it.
    fn connect() -> Result<ConnectionInfo, ConnectorError>;

    /// Lists containers (projects, spaces, channels), top-level or under `parent`.
    fn containers(
        parent: Option<String>,
        page: PageRequest,
    ) -> Result<ContainerPage, ConnectorError> {
        let _ = (parent, page);
        Err(unsupported("containers"))
    }

    /// Lists the items of a container, optionally only those updated at or after `updated_since`.
    fn items(
        container_id: String,
        updated_since: Option<String>,
        page: PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        let _ = (container_id, updated_since, page);
        Err(unsupported("items"))
    }

    /// Reads one item with its body.
    fn item(item_id: String) -> Result<Item, ConnectorError> {
        let _ = item_id;
        Err(unsupported("item"))
    }

    /// Lists the comments on an item, oldest first.
    fn comments(item_id: String, page: PageRequest) -> Result<CommentPage, ConnectorError> {
        let _ = (item_id, page);
        Err(unsupported("comments"))
    }

    /// Full-text search across the connection's items.
    fn search(query: String, page: PageRequest) -> Result<ItemPage, ConnectorError> {
        let _ = (query, page);
        Err(unsupported("search"))
    }

    /// Creates an item in a container. Never retried automatically by the host.
    fn create_item(container_id: String, item: NewItem) -> Result<Item, ConnectorError> {
        let _ = (container_id, item);
        Err(unsupported("create-item"))
    }

    /// Adds a comment to an item. Never retried automatically by the host.
    fn create_comment(
        item_id: String,
        comment: NewComment,
    ) -> Result<crate::Comment, ConnectorError> {
        let _ = (item_id, comment);
        Err(unsupported("create-comment"))
    }

    /// Changes an item's title, body or vendor fields (contract 0.2.0). Never retried
    /// automatically by the host.
    fn update_item(item_id: String, patch: ItemPatch) -> Result<Item, ConnectorError> {
        let _ = (item_id, patch);
        Err(unsupported("update-item"))
    }
}

fn unsupported(operation: &str) -> ConnectorError {
    ConnectorError::Unsupported(format!("this connector does not offer `{operation}`"))
}
