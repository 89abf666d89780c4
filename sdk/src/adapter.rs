use std::marker::PhantomData;

use crate::bindings::exports::connector::plugin::connector::Guest;
use crate::config::Config;
use crate::{
    Comment, CommentPage, ConnectionInfo, Connector, ConnectorError, ConnectorInfo, ContainerPage,
    Item, ItemPage, ItemPatch, NewComment, NewItem, PageRequest,
};

/// Bridges a [`Connector`] to the generated `Guest` trait; named by [`crate::export_connector!`].
pub struct Adapter<C>(PhantomData<C>);

impl<C: Connector> Guest for Adapter<C> {
    fn info() -> ConnectorInfo {
        C::info()
    }

    fn validate(config: Vec<(String, String)>) -> Result<(), ConnectorError> {
        C::validate(&Config::from_pairs(config))
    }

    fn connect() -> Result<ConnectionInfo, ConnectorError> {
        C::connect()
    }

    fn containers(
        parent: Option<String>,
        page: PageRequest,
    ) -> Result<ContainerPage, ConnectorError> {
        C::containers(parent, page)
    }

    fn items(
        container_id: String,
        updated_since: Option<String>,
        page: PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        C::items(container_id, updated_since, page)
    }

    fn get_item(item_id: String) -> Result<Item, ConnectorError> {
        C::item(item_id)
    }

    fn comments(item_id: String, page: PageRequest) -> Result<CommentPage, ConnectorError> {
        C::comments(item_id, page)
    }

    fn search(query: String, page: PageRequest) -> Result<ItemPage, ConnectorError> {
        C::search(query, page)
    }

    fn create_item(container_id: String, item: NewItem) -> Result<Item, ConnectorError> {
        C::create_item(container_id, item)
    }

    fn create_comment(item_id: String, comment: NewComment) -> Result<Comment, ConnectorError> {
        C::create_comment(item_id, comment)
    }

    fn update_item(item_id: String, patch: ItemPatch) -> Result<Item, ConnectorError> {
        C::update_item(item_id, patch)
    }
}
