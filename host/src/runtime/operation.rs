use super::call_state::CallState;
use super::contract::PluginInstance;
use super::contract::v0_3::CurrentInstance;
use super::contract::wit::{
    Comment, CommentPage, ConnectionContext, ConnectionInfo, ConnectorError, ConnectorInfo,
    ContainerPage, Item, ItemPage, ItemPatch, NewComment, NewItem, PageRequest, webhooks,
};
use super::contract::{v0_1, v0_2};

/// Calls a plugin built against 0.1.0 or 0.2.0 (whose `types` are the same): lowers the
/// arguments into 0.2.0 types and lifts the results into 0.3.0's. `$extra` holds the calls whose
/// signatures differ between the two.
macro_rules! dispatch_legacy {
    ($operation:expr, $guest:ident, $store:ident, { $($extra:tt)* }) => {
        match $operation {
            $($extra)*
            Self::Validate { config } => $guest
                .call_validate(&mut *$store, &config)
                .await?
                .map(|()| OperationOutput::Validated)
                .map_err(Into::into),
            Self::Containers { parent, page } => $guest
                .call_containers(&mut *$store, parent.as_deref(), &page.into())
                .await?
                .map(|page| OperationOutput::Containers(page.into()))
                .map_err(Into::into),
            Self::Items { container_id, updated_since, page } => $guest
                .call_items(&mut *$store, &container_id, updated_since.as_deref(), &page.into())
                .await?
                .map(|page| OperationOutput::Items(page.into()))
                .map_err(Into::into),
            Self::Item { item_id } => $guest
                .call_get_item(&mut *$store, &item_id)
                .await?
                .map(|item| OperationOutput::Item(item.into()))
                .map_err(Into::into),
            Self::Comments { item_id, page } => $guest
                .call_comments(&mut *$store, &item_id, &page.into())
                .await?
                .map(|page| OperationOutput::Comments(page.into()))
                .map_err(Into::into),
            Self::Search { query, page } => $guest
                .call_search(&mut *$store, &query, &page.into())
                .await?
                .map(|page| OperationOutput::Items(page.into()))
                .map_err(Into::into),
            Self::CreateItem { container_id, item } => $guest
                .call_create_item(&mut *$store, &container_id, &item.into())
                .await?
                .map(|item| OperationOutput::Item(item.into()))
                .map_err(Into::into),
            Self::CreateComment { item_id, comment } => $guest
                .call_create_comment(&mut *$store, &item_id, &comment.into())
                .await?
                .map(|comment| OperationOutput::Comment(comment.into()))
                .map_err(Into::into),
            other => Err(ConnectorError::Unsupported(format!(
                "this connector is built against an older connector:plugin contract, which has no `{}`",
                other.name()
            ))),
        }
    };
}

/// One call into a connector.
#[derive(Debug, Clone)]
pub enum Operation {
    /// `info()`, made by the host when it loads a plugin.
    Info,
    /// `validate()`: checks a config without the network.
    Validate {
        /// The config to check.
        config: Vec<(String, String)>,
    },
    /// `connect()`: checks the credential with the vendor and says whose it is.
    Connect,
    /// `containers()`: a page of containers.
    Containers {
        /// Only those under this container.
        parent: Option<String>,
        /// Which page.
        page: PageRequest,
    },
    /// `items()`: a page of a container's items.
    Items {
        /// The container.
        container_id: String,
        /// Only items updated at or after this time (RFC 3339, UTC).
        updated_since: Option<String>,
        /// Which page.
        page: PageRequest,
    },
    /// `get-item()`: one item with its body.
    Item {
        /// The item.
        item_id: String,
    },
    /// `comments()`: a page of an item's comments.
    Comments {
        /// The item.
        item_id: String,
        /// Which page.
        page: PageRequest,
    },
    /// `search()`: the vendor's search.
    Search {
        /// What to search for.
        query: String,
        /// Which page.
        page: PageRequest,
    },
    /// `create-item()`.
    CreateItem {
        /// The container to create it in.
        container_id: String,
        /// The new item.
        item: NewItem,
    },
    /// `create-comment()`.
    CreateComment {
        /// The item to comment on.
        item_id: String,
        /// The new comment.
        comment: NewComment,
    },
    /// Since contract 0.2.0; 0.1.0 plugins answer `unsupported`.
    UpdateItem {
        /// The item to change.
        item_id: String,
        /// What to change.
        patch: ItemPatch,
    },
    /// Since 0.3.0: one of the connector's actions, with input already checked against its
    /// schema.
    InvokeAction {
        /// The action's name.
        name: String,
        /// JSON object text.
        input: String,
    },
    /// Since 0.3.0: a verified webhook delivery; `routed` says whether the call carries the
    /// connection's context (`false` for app-signed deliveries still to be routed).
    WebhookEvent {
        /// The delivery as verified, headers and body.
        delivery: webhooks::Delivery,
        /// Whether the call carries the connection's context.
        routed: bool,
    },
    /// Since 0.3.0.
    RegisterWebhook {
        /// Where the vendor should deliver.
        target: webhooks::Target,
    },
    /// Since 0.3.0.
    UnregisterWebhook {
        /// The registration to remove.
        registration: webhooks::Registration,
    },
}

/// What an operation returned.
#[derive(Debug, Clone)]
pub enum OperationOutput {
    /// `info()` answered.
    Info(ConnectorInfo),
    /// `validate()` accepted the config.
    Validated,
    /// `connect()` accepted the credential.
    Connected(ConnectionInfo),
    /// A page of containers.
    Containers(ContainerPage),
    /// A page of items, with tombstones.
    Items(ItemPage),
    /// One item.
    Item(Item),
    /// A page of comments.
    Comments(CommentPage),
    /// A comment created.
    Comment(Comment),
    /// An action's output, as JSON text.
    ActionOutput(String),
    /// What a delivery meant: change events, a routing key, a reply.
    Webhook(webhooks::Outcome),
    /// A webhook registered at the vendor.
    Registered(webhooks::Registration),
    /// A webhook removed at the vendor.
    Unregistered,
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
            Self::InvokeAction { .. } => "invoke_action",
            Self::WebhookEvent { .. } => "webhook_event",
            Self::RegisterWebhook { .. } => "register_webhook",
            Self::UnregisterWebhook { .. } => "unregister_webhook",
        }
    }

    /// The manifest operation (`containers`, `items`, ...) a call needs, for the ones a
    /// connector lists in `operations`; `None` for those it offers by other declarations
    /// (actions, webhooks) or that every connector has.
    pub(crate) fn manifest_name(&self) -> Option<&'static str> {
        match self {
            Self::Containers { .. } => Some("containers"),
            Self::Items { .. } => Some("items"),
            Self::Item { .. } => Some("item"),
            Self::Comments { .. } => Some("comments"),
            Self::Search { .. } => Some("search"),
            Self::CreateItem { .. } => Some("create_item"),
            Self::CreateComment { .. } => Some("create_comment"),
            Self::UpdateItem { .. } => Some("update_item"),
            _ => None,
        }
    }

    pub(crate) async fn invoke(
        self,
        plugin: &PluginInstance,
        store: &mut wasmtime::Store<CallState>,
        context: &ConnectionContext,
    ) -> wasmtime::Result<Result<OperationOutput, ConnectorError>> {
        let store = &mut *store;
        match plugin {
            PluginInstance::V0_3(plugin) => self.invoke_current(plugin, store, context).await,
            PluginInstance::V0_2(plugin) => {
                let guest = plugin.connector_plugin_connector();
                Ok(dispatch_legacy!(self, guest, store, {
                    Self::Info => Ok(OperationOutput::Info(v0_2::connector_info(
                        guest.call_info(&mut *store).await?,
                    ))),
                    Self::Connect => guest
                        .call_connect(&mut *store)
                        .await?
                        .map(|info| OperationOutput::Connected(v0_2::connection_info(info)))
                        .map_err(Into::into),
                    Self::UpdateItem { item_id, patch } => guest
                        .call_update_item(&mut *store, &item_id, &patch.into())
                        .await?
                        .map(|item| OperationOutput::Item(item.into()))
                        .map_err(Into::into),
                }))
            }
            PluginInstance::V0_1(plugin) => {
                let guest = plugin.connector_plugin_connector();
                Ok(dispatch_legacy!(self, guest, store, {
                    Self::Info => Ok(OperationOutput::Info(v0_2::connector_info(
                        v0_1::connector_info(guest.call_info(&mut *store).await?),
                    ))),
                    Self::Connect => guest
                        .call_connect(&mut *store)
                        .await?
                        .map(|info| {
                            OperationOutput::Connected(v0_2::connection_info(
                                v0_1::connection_info(info),
                            ))
                        })
                        .map_err(Into::into),
                }))
            }
        }
    }

    async fn invoke_current(
        self,
        plugin: &CurrentInstance,
        store: &mut wasmtime::Store<CallState>,
        context: &ConnectionContext,
    ) -> wasmtime::Result<Result<OperationOutput, ConnectorError>> {
        let exports = plugin.exports;
        let store = &mut *store;
        Ok(match self {
            Self::Info => Ok(OperationOutput::Info(
                plugin
                    .call::<(), ConnectorInfo>(store, exports.info, ())
                    .await?,
            )),
            Self::Validate { config } => plugin
                .call::<(&[(String, String)],), Result<(), ConnectorError>>(
                    store,
                    exports.validate,
                    (&config,),
                )
                .await?
                .map(|()| OperationOutput::Validated),
            Self::Connect => plugin
                .call::<(&ConnectionContext,), Result<ConnectionInfo, ConnectorError>>(
                    store,
                    exports.connect,
                    (context,),
                )
                .await?
                .map(OperationOutput::Connected),
            Self::Containers { parent, page } => plugin
                .call::<
                    (&ConnectionContext, Option<&str>, &PageRequest),
                    Result<ContainerPage, ConnectorError>,
                >(store, exports.containers, (context, parent.as_deref(), &page))
                .await?
                .map(OperationOutput::Containers),
            Self::Items {
                container_id,
                updated_since,
                page,
            } => plugin
                .call::<
                    (&ConnectionContext, &str, Option<&str>, &PageRequest),
                    Result<ItemPage, ConnectorError>,
                >(
                    store,
                    exports.items,
                    (context, &container_id, updated_since.as_deref(), &page),
                )
                .await?
                .map(OperationOutput::Items),
            Self::Item { item_id } => plugin
                .call::<(&ConnectionContext, &str), Result<Item, ConnectorError>>(
                    store,
                    exports.get_item,
                    (context, &item_id),
                )
                .await?
                .map(OperationOutput::Item),
            Self::Comments { item_id, page } => plugin
                .call::<(&ConnectionContext, &str, &PageRequest), Result<CommentPage, ConnectorError>>(
                    store,
                    exports.comments,
                    (context, &item_id, &page),
                )
                .await?
                .map(OperationOutput::Comments),
            Self::Search { query, page } => plugin
                .call::<(&ConnectionContext, &str, &PageRequest), Result<ItemPage, ConnectorError>>(
                    store,
                    exports.search,
                    (context, &query, &page),
                )
                .await?
                .map(OperationOutput::Items),
            Self::CreateItem { container_id, item } => plugin
                .call::<(&ConnectionContext, &str, &NewItem), Result<Item, ConnectorError>>(
                    store,
                    exports.create_item,
                    (context, &container_id, &item),
                )
                .await?
                .map(OperationOutput::Item),
            Self::CreateComment { item_id, comment } => plugin
                .call::<(&ConnectionContext, &str, &NewComment), Result<Comment, ConnectorError>>(
                    store,
                    exports.create_comment,
                    (context, &item_id, &comment),
                )
                .await?
                .map(OperationOutput::Comment),
            Self::UpdateItem { item_id, patch } => plugin
                .call::<(&ConnectionContext, &str, &ItemPatch), Result<Item, ConnectorError>>(
                    store,
                    exports.update_item,
                    (context, &item_id, &patch),
                )
                .await?
                .map(OperationOutput::Item),
            Self::InvokeAction { name, input } => plugin
                .call::<(&ConnectionContext, &str, &str), Result<String, ConnectorError>>(
                    store,
                    exports.invoke_action,
                    (context, &name, &input),
                )
                .await?
                .map(OperationOutput::ActionOutput),
            Self::WebhookEvent { delivery, routed } => plugin
                .call::<
                    (Option<&ConnectionContext>, &webhooks::Delivery),
                    Result<webhooks::Outcome, ConnectorError>,
                >(
                    store,
                    exports.webhook_event,
                    (routed.then_some(context), &delivery),
                )
                .await?
                .map(OperationOutput::Webhook),
            Self::RegisterWebhook { target } => plugin
                .call::<
                    (&ConnectionContext, &webhooks::Target),
                    Result<webhooks::Registration, ConnectorError>,
                >(store, exports.register_webhook, (context, &target))
                .await?
                .map(OperationOutput::Registered),
            Self::UnregisterWebhook { registration } => plugin
                .call::<(&ConnectionContext, &webhooks::Registration), Result<(), ConnectorError>>(
                    store,
                    exports.unregister_webhook,
                    (context, &registration),
                )
                .await?
                .map(|()| OperationOutput::Unregistered),
        })
    }
}
