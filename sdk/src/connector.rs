//! The [`Connector`] trait: what a connector author implements.

use crate::config::Config;
use crate::webhook::{Delivery, Outcome, Registration, Target};
use crate::{
    Comment, CommentPage, Connection, ConnectionInfo, ConnectorError, ConnectorInfo, ContainerPage,
    Item, ItemPage, ItemPatch, NewComment, NewItem, Operation, PageRequest, Timestamp,
};

/// A connector: the vendor-specific half of the unified resource shape.
///
/// A connector is a value built from its connection ([`Connector::new`]) for each call, with
/// `&self` methods for the operations. Only [`info`](Connector::info), [`new`](Connector::new)
/// and [`connect`](Connector::connect) are required; put `#[connector_sdk::connector]` on the
/// `impl` block and the operations you define there are what the host is told you offer (the
/// host answers `UNSUPPORTED` for the rest without running your plugin).
///
/// Each call runs in a fresh sandbox, so keep no state between calls: put what the next page
/// needs into its cursor.
pub trait Connector: Sized {
    /// Describes the connector: id, auth methods, hosts, config schema, actions, webhooks.
    /// Called once when the host loads the plugin. No network.
    fn info() -> ConnectorInfo;

    /// Checks a connection config before the host stores it. No network: the host gives this
    /// call no outbound requests. The default accepts any config.
    fn validate(config: &Config) -> Result<(), ConnectorError> {
        let _ = config;
        Ok(())
    }

    /// Builds the connector for one call from the connection it is for: read and check the
    /// config here once, rather than in every operation.
    fn new(connection: Connection) -> Result<Self, ConnectorError>;

    /// Verifies the credential and returns the account behind it (plus any values to keep,
    /// with [`ConnectionInfo::discovered`]).
    fn connect(&self) -> Result<ConnectionInfo, ConnectorError>;

    /// Lists containers (projects, spaces, channels), top-level or under `parent`.
    fn containers(
        &self,
        parent: Option<&str>,
        page: PageRequest,
    ) -> Result<ContainerPage, ConnectorError> {
        let _ = (parent, page);
        Err(not_offered("containers"))
    }

    /// Lists the items of a container, newest changes first where the vendor allows; with
    /// `updated_since`, only those changed at or after it (and, where the vendor reports them,
    /// tombstones of those deleted since, in [`ItemPage::deleted`]).
    fn items(
        &self,
        container_id: &str,
        updated_since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        let _ = (container_id, updated_since, page);
        Err(not_offered("items"))
    }

    /// Reads one item with its body.
    fn item(&self, item_id: &str) -> Result<Item, ConnectorError> {
        let _ = item_id;
        Err(not_offered("item"))
    }

    /// Lists the comments on an item, oldest first.
    fn comments(&self, item_id: &str, page: PageRequest) -> Result<CommentPage, ConnectorError> {
        let _ = (item_id, page);
        Err(not_offered("comments"))
    }

    /// Full-text search across the connection's items.
    fn search(&self, query: &str, page: PageRequest) -> Result<ItemPage, ConnectorError> {
        let _ = (query, page);
        Err(not_offered("search"))
    }

    /// Creates an item in a container. Never retried automatically by the host.
    fn create_item(&self, container_id: &str, item: NewItem) -> Result<Item, ConnectorError> {
        let _ = (container_id, item);
        Err(not_offered("create_item"))
    }

    /// Adds a comment to an item. Never retried automatically by the host.
    fn create_comment(
        &self,
        item_id: &str,
        comment: NewComment,
    ) -> Result<Comment, ConnectorError> {
        let _ = (item_id, comment);
        Err(not_offered("create_comment"))
    }

    /// Changes an item's title, body or vendor fields. Never retried automatically by the host.
    fn update_item(&self, item_id: &str, patch: ItemPatch) -> Result<Item, ConnectorError> {
        let _ = (item_id, patch);
        Err(not_offered("update_item"))
    }

    /// Runs one of the actions declared in [`info`](Connector::info) with `input`, which the
    /// host has already checked against the action's input schema (decode it with
    /// [`crate::action::input`]). Returns the action's output as JSON.
    fn invoke(
        &self,
        action: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, ConnectorError> {
        let _ = input;
        Err(ConnectorError::unsupported(format!(
            "this connector has no action `{action}`"
        )))
    }

    /// Turns a webhook delivery (already verified by the host, as the connector's
    /// [`crate::webhook::WebhookSupport`] declares) into change events. `connection` is `None`
    /// for app-signed deliveries, which the host routes by [`Outcome::routing_key`]. No network.
    fn webhook_event(
        connection: Option<&Connection>,
        delivery: Delivery,
    ) -> Result<Outcome, ConnectorError> {
        let _ = (connection, delivery);
        Err(not_offered("webhooks"))
    }

    /// Creates the vendor-side subscription that sends deliveries to `target`.
    fn register_webhook(&self, target: Target) -> Result<Registration, ConnectorError> {
        let _ = target;
        Err(not_offered("webhook registration"))
    }

    /// Removes a subscription made by [`register_webhook`](Connector::register_webhook).
    fn unregister_webhook(&self, registration: Registration) -> Result<(), ConnectorError> {
        let _ = registration;
        Err(not_offered("webhook registration"))
    }
}

/// The operations a connector's `impl` block defines; generated by
/// [`#[connector]`](crate::connector), never written by hand.
#[doc(hidden)]
pub trait ImplementedOperations {
    const OPERATIONS: &'static [Operation];
    /// The connector crate's version, the manifest's default.
    const CRATE_VERSION: &'static str;
}

fn not_offered(operation: &str) -> ConnectorError {
    ConnectorError::unsupported(format!("this connector does not offer `{operation}`"))
}
