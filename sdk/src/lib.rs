//! Write connector plugins for `connector-host` without touching `wit-bindgen`.
//!
//! A connector is a type that implements [`Connector`]; [`export_connector!`] turns it into the
//! `connector:plugin` component exports. Build it with `cargo build --target wasm32-wasip2`: the
//! output is a component the host loads directly.
//!
//! Inside the sandbox a connector can reach the world only through [`http`] (checked by the
//! host's egress policy) and reads its connection through [`config`]. It never sees the
//! connection's credential: it asks for [`http::Auth::Connection`] and the host attaches it.
//!
//! ```no_run
//! use connector_sdk::prelude::*;
//!
//! struct Tracker;
//!
//! #[derive(serde::Deserialize)]
//! struct Project { id: String, name: String }
//!
//! impl Connector for Tracker {
//!     fn info() -> ConnectorInfo {
//!         ConnectorInfo::builder("tracker", "Tracker")
//!             .auth_method(AuthMethod::bearer("token", "API token"))
//!             .requested_host("api.tracker.example")
//!             .operations(&[Operation::Containers])
//!             .build()
//!     }
//!
//!     fn connect() -> Result<ConnectionInfo, ConnectorError> {
//!         let me: serde_json::Value = http::get_json("https://api.tracker.example/me")?;
//!         Ok(ConnectionInfo::for_principal(Principal::id(me["id"].to_string())))
//!     }
//!
//!     fn containers(_parent: Option<String>, page: PageRequest) -> Result<ContainerPage, ConnectorError> {
//!         let offset = OffsetCursor::decode(page.cursor.as_deref())?;
//!         let url = format!("https://api.tracker.example/projects?offset={}&limit={}", offset.start, page.limit);
//!         let projects: Vec<Project> = http::get_json(&url)?;
//!         let next = offset.next_if_full(projects.len(), page.limit);
//!         let entries = projects.into_iter().map(|p| Container::new(p.id, "project", p.name)).collect();
//!         Ok(ContainerPage { entries, next_cursor: next })
//!     }
//! }
//!
//! connector_sdk::export_connector!(Tracker);
//! ```

mod adapter;
pub mod config;
mod connector;
pub mod error;
pub mod http;
pub mod log;
mod manifest;
pub mod pagination;
mod resources;

/// Raw `wit-bindgen` output for the `connector-plugin` world. Connector authors should not need
/// it; it is public so that [`export_connector!`] can name it from the connector's crate.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.2.0",
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
    AuthMethod, ClientAuth, ConnectionInfo, ConnectorInfo, CredentialKind, CredentialPlacement,
    Oauth2, Operation,
};
pub use bindings::connector::plugin::types::{
    BodyFormat, Comment, CommentPage, ConnectorError, Container, ContainerPage, Item, ItemPage,
    ItemPatch, NewComment, NewItem, PageRequest, Principal, RateLimit,
};
pub use connector::Connector;
pub use manifest::ConnectorInfoBuilder;
pub use pagination::{LinkHeader, OffsetCursor, TokenCursor};

/// Everything a connector usually needs, in one `use`.
pub mod prelude {
    pub use crate::http;
    pub use crate::{
        AuthMethod, BodyFormat, Comment, CommentPage, ConnectionInfo, Connector, ConnectorError,
        ConnectorInfo, Container, ContainerPage, Item, ItemPage, ItemPatch, LinkHeader, NewComment,
        NewItem, OffsetCursor, Operation, PageRequest, Principal, TokenCursor,
    };
}

/// Exports a [`Connector`] implementation as the component's `connector` interface.
///
/// Use it once per plugin crate, at the crate root: `connector_sdk::export_connector!(MyConnector);`
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        #[doc(hidden)]
        type __ConnectorSdkExport = $crate::Adapter<$connector>;
        $crate::bindings::__export_connector_plugin!(__ConnectorSdkExport with_types_in $crate::bindings);
    };
}
