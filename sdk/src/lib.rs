//! Write connector plugins for `connector-host` without touching `wit-bindgen`.
//!
//! A connector turns one SaaS vendor's API into the host's unified shape: **containers**
//! (projects, spaces, channels) hold **items** (issues, pages, messages) that have
//! **comments**, plus search, create, update, named **actions** and **webhook** events. You
//! write a type that implements [`Connector`], put [`#[connector]`](connector) on the `impl`
//! block, and build the crate with `cargo build --release --target wasm32-wasip2`: the `.wasm`
//! file is a component the host loads as it is (`cargo xtask new-connector NAME` scaffolds one).
//!
//! # The whole of a connector
//!
//! This is the `tracker` test fixture, connected end to end against a loopback vendor in the
//! host's tests (and shown in the book, `docs/src/connectors/writing.md`): every line here runs.
//!
#![doc = concat!("```no_run\n", include_str!("../../plugins/fixtures/tracker/src/lib.rs"), "```")]
//!
//! # How a call runs
//!
//! Each call runs in a **fresh sandbox**: the host builds your value with
//! [`Connector::new`] from the [`Connection`] (config, auth method, bound origin, learned
//! values), calls one method, and throws the sandbox away. Keep nothing between calls; put
//! what the next page needs in its cursor ([`OffsetCursor`], [`TokenCursor`],
//! [`LinkHeader`]). Cursors come back from clients: decode them, never trust them.
//! Because the sandbox lives for one call, the SDK's global allocator is a bump arena for that
//! call ([`call_arena`], default feature `call-arena`).
//!
//! # What the sandbox allows
//!
//! - **Outbound HTTP only through [`http`]**, checked by the host against the hosts your
//!   manifest requests ([`ConnectorInfoBuilder::requested_host`]), the connection's origin
//!   ([`ConnectorInfoBuilder::origin_config_key`]) and the operator's policy. Build requests
//!   with [`http::Request`]: path segments and query values are encoded for you.
//! - **No credential, ever.** Requests carry [`http::Auth::Connection`] by default and the
//!   host puts the credential on them, as the auth method's placement says, and only when the
//!   request goes to the connection's bound origin or the auth method's credential hosts.
//! - No files, environment, clock-based secrets or sockets.
//!
//! # Errors
//!
//! Return a [`ConnectorError`]: [`http::Request::send_json`] maps vendor statuses for you
//! (401 → `unauthorized`, which makes the host refresh an OAuth token and retry once; 429 and
//! 503 with `Retry-After` → `rate-limited` with the wait). Messages go to API clients: never
//! put a secret in one.
//!
//! # Operations, actions, webhooks
//!
//! - The operations you define in the `#[connector]` block are the ones the host is told you
//!   offer; it answers `UNSUPPORTED` for the rest without running your plugin.
//! - [`action::Action`]s are declared in [`ConnectorInfo`] with a JSON Schema for their input
//!   (the host validates input before your code runs) and run in [`Connector::invoke`].
//! - [`webhook::WebhookSupport`] declares how the vendor signs deliveries; the host verifies
//!   them with a secret you never see and calls [`Connector::webhook_event`].
//!
//! # Times
//!
//! `updated_since` arrives as a [`Timestamp`] (the host canonicalizes it to RFC 3339 UTC);
//! write vendor times with [`Timestamp::parse`] and `to_string()`.

pub mod action;
mod adapter;
pub mod call_arena;
pub mod config;
mod connection;
mod connector;
pub mod error;
pub mod http;
pub mod json;
pub mod log;
mod manifest;
pub mod pagination;
mod resources;
pub mod sql;
mod time;
pub mod webhook;

/// Raw `wit-bindgen` output for the `connector-plugin` world. Connector authors should not need
/// it; it is public so that [`export_connector!`] can name it from the connector's crate.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.3.0",
        world: "connector-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_connector_plugin",
        default_bindings_module: "connector_sdk::bindings",
        generate_all,
    });
}

#[doc(hidden)]
pub use adapter::Adapter;
pub use bindings::connector::plugin::manifest::{
    AuthMethod, ClientAuth, ConnectionInfo, ConnectorInfo, CredentialKind, CredentialPart,
    CredentialPlacement, Oauth2, Operation, TokenRequestFormat,
};
#[doc(hidden)]
pub use bindings::connector::plugin::types::ConnectionContext;
pub use bindings::connector::plugin::types::{
    BodyFormat, ChangeEvent, ChangeKind, Comment, CommentPage, ConnectorError, Container,
    ContainerPage, Item, ItemPage, ItemPatch, NewComment, NewItem, ObjectKind, PageRequest,
    Principal, RateLimit, Tombstone,
};
pub use connection::Connection;
pub use connector::Connector;
#[doc(hidden)]
pub use connector::ImplementedOperations;
/// Put on `impl Connector for YourType { ... }`: exports the connector as the plugin's
/// component exports and generates its operations list from the methods the block defines.
/// Use it once per plugin crate.
pub use connector_sdk_macros::connector;
pub use manifest::ConnectorInfoBuilder;
pub use pagination::{LinkHeader, OffsetCursor, TokenCursor};
pub use time::Timestamp;

/// `Result` with [`ConnectorError`] as the default error, as every operation returns.
pub type Result<T, E = ConnectorError> = std::result::Result<T, E>;

/// Everything a connector usually needs, in one `use`.
pub mod prelude {
    pub use crate::action::{self, Action};
    pub use crate::http::{self, Request, Response};
    pub use crate::{
        AuthMethod, BodyFormat, ChangeEvent, ChangeKind, Comment, CommentPage, Connection,
        ConnectionInfo, Connector, ConnectorError, ConnectorInfo, Container, ContainerPage, Item,
        ItemPage, ItemPatch, LinkHeader, NewComment, NewItem, OffsetCursor, PageRequest, Principal,
        Result, Timestamp, TokenCursor, Tombstone,
    };
}

/// Exports a [`Connector`] implementation as the component's `connector` interface; emitted by
/// [`#[connector]`](connector), which you use instead.
#[doc(hidden)]
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        #[doc(hidden)]
        type __ConnectorSdkExport = $crate::Adapter<$connector>;
        $crate::bindings::__export_connector_plugin!(__ConnectorSdkExport with_types_in $crate::bindings);
    };
}
