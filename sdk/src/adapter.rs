//! Bridges a [`Connector`] to the generated `Guest` trait of `connector:plugin@0.3.0`; named by
//! [`crate::export_connector!`].

use std::marker::PhantomData;

use crate::bindings::exports::connector::plugin::connector::Guest;
use crate::config::Config;
use crate::connector::ImplementedOperations;
use crate::webhook::{Delivery, Outcome, Registration, Target};
use crate::{
    Comment, CommentPage, Connection, ConnectionContext, ConnectionInfo, Connector, ConnectorError,
    ConnectorInfo, ContainerPage, Item, ItemPage, ItemPatch, NewComment, NewItem, PageRequest,
    Timestamp,
};

/// The generated export for connector `C`.
pub struct Adapter<C>(PhantomData<C>);

fn build<C: Connector>(context: ConnectionContext) -> Result<C, ConnectorError> {
    C::new(Connection::from_context(context))
}

impl<C: Connector + ImplementedOperations> Guest for Adapter<C> {
    fn info() -> ConnectorInfo {
        let mut info = C::info();
        // Generated from the impl block, so the list is never out of step with the code.
        info.operations = C::OPERATIONS.to_vec();
        if info.version.is_empty() {
            info.version = C::CRATE_VERSION.to_owned();
        }
        info
    }

    fn validate(config: Vec<(String, String)>) -> Result<(), ConnectorError> {
        C::validate(&Config::from_pairs(config))
    }

    fn connect(context: ConnectionContext) -> Result<ConnectionInfo, ConnectorError> {
        build::<C>(context)?.connect()
    }

    fn containers(
        context: ConnectionContext,
        parent: Option<String>,
        page: PageRequest,
    ) -> Result<ContainerPage, ConnectorError> {
        build::<C>(context)?.containers(parent.as_deref(), page)
    }

    fn items(
        context: ConnectionContext,
        container_id: String,
        updated_since: Option<String>,
        page: PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        let since = updated_since.as_deref().map(Timestamp::parse).transpose()?;
        build::<C>(context)?.items(&container_id, since, page)
    }

    fn get_item(context: ConnectionContext, item_id: String) -> Result<Item, ConnectorError> {
        build::<C>(context)?.item(&item_id)
    }

    fn comments(
        context: ConnectionContext,
        item_id: String,
        page: PageRequest,
    ) -> Result<CommentPage, ConnectorError> {
        build::<C>(context)?.comments(&item_id, page)
    }

    fn search(
        context: ConnectionContext,
        query: String,
        page: PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        build::<C>(context)?.search(&query, page)
    }

    fn create_item(
        context: ConnectionContext,
        container_id: String,
        item: NewItem,
    ) -> Result<Item, ConnectorError> {
        build::<C>(context)?.create_item(&container_id, item)
    }

    fn create_comment(
        context: ConnectionContext,
        item_id: String,
        comment: NewComment,
    ) -> Result<Comment, ConnectorError> {
        build::<C>(context)?.create_comment(&item_id, comment)
    }

    fn update_item(
        context: ConnectionContext,
        item_id: String,
        patch: ItemPatch,
    ) -> Result<Item, ConnectorError> {
        build::<C>(context)?.update_item(&item_id, patch)
    }

    fn invoke_action(
        context: ConnectionContext,
        name: String,
        input: String,
    ) -> Result<String, ConnectorError> {
        let input: serde_json::Value = serde_json::from_str(&input)
            .map_err(|e| ConnectorError::invalid_input(format!("action input is not JSON: {e}")))?;
        let output = build::<C>(context)?.invoke(&name, input)?;
        Ok(output.to_string())
    }

    fn webhook_event(
        context: Option<ConnectionContext>,
        delivery: Delivery,
    ) -> Result<Outcome, ConnectorError> {
        let connection = context.map(Connection::from_context);
        C::webhook_event(connection.as_ref(), delivery)
    }

    fn register_webhook(
        context: ConnectionContext,
        target: Target,
    ) -> Result<Registration, ConnectorError> {
        build::<C>(context)?.register_webhook(target)
    }

    fn unregister_webhook(
        context: ConnectionContext,
        registration: Registration,
    ) -> Result<(), ConnectorError> {
        build::<C>(context)?.unregister_webhook(registration)
    }
}
