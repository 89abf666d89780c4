//! Host-side bindings generated from `wit/` (the `connector-plugin` world).

/// Generated types and traits, re-exported for the API layer.
pub mod wit {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "connector-plugin",
        imports: { default: async },
        exports: { default: async },
    });

    pub use connector::plugin::http;
    pub use connector::plugin::manifest::{
        AuthMethod, ConnectionInfo, ConnectorInfo, CredentialKind, CredentialPlacement, Operation,
    };
    pub use connector::plugin::types::{
        BodyFormat, Comment, CommentPage, ConnectorError, Container, ContainerPage, Item, ItemPage,
        NewComment, NewItem, PageRequest, Principal, RateLimit,
    };
}
