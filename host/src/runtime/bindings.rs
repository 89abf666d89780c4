//! Host-side bindings generated from `wit/`: one module per released `connector:plugin`
//! version, and [`PluginPre`], which holds a plugin pre-linked against the version it was
//! built for.

use super::call_state::CallState;

/// The newest contract (`wit/v0.2.0`). The API layer and the host imports speak these types.
pub mod wit {
    wasmtime::component::bindgen!({
        path: "../wit/v0.2.0",
        world: "connector-plugin",
        imports: { default: async },
        exports: { default: async },
    });

    pub use connector::plugin::http;
    pub use connector::plugin::manifest::{
        AuthMethod, ClientAuth, ConnectionInfo, ConnectorInfo, CredentialKind, CredentialPlacement,
        Oauth2, Operation,
    };
    pub use connector::plugin::types::{
        BodyFormat, Comment, CommentPage, ConnectorError, Container, ContainerPage, Item, ItemPage,
        ItemPatch, NewComment, NewItem, PageRequest, Principal, RateLimit,
    };
}

/// The frozen 0.1.0 contract (`wit/v0.1.0`). Its `types` interface is identical to 0.2.0's, so
/// it reuses those Rust types (the component model checks them structurally); the rest is
/// adapted in `compat_v0_1`.
pub mod wit_v0_1 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1.0",
        world: "connector-plugin",
        imports: { default: async },
        exports: { default: async },
        with: {
            "connector:plugin/types@0.1.0": crate::runtime::bindings::wit::connector::plugin::types,
        },
    });
}

/// A plugin linked against the contract version it was built for.
pub(crate) enum PluginPre {
    V0_1(wit_v0_1::ConnectorPluginPre<CallState>),
    V0_2(wit::ConnectorPluginPre<CallState>),
}

/// A plugin instance of either version, for one call.
pub(crate) enum PluginInstance {
    V0_1(wit_v0_1::ConnectorPlugin),
    V0_2(wit::ConnectorPlugin),
}

impl PluginPre {
    pub(crate) async fn instantiate(
        &self,
        store: &mut wasmtime::Store<CallState>,
    ) -> wasmtime::Result<PluginInstance> {
        Ok(match self {
            Self::V0_1(pre) => PluginInstance::V0_1(pre.instantiate_async(store).await?),
            Self::V0_2(pre) => PluginInstance::V0_2(pre.instantiate_async(store).await?),
        })
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    /// Released contracts are frozen: plugins already built against 0.1.0 must keep linking.
    /// Change behaviour in a new version folder instead; never update this digest.
    #[test]
    fn the_released_0_1_0_contract_is_unchanged() {
        let frozen = [
            include_str!("../../../wit/v0.1.0/connector.wit"),
            include_str!("../../../wit/v0.1.0/host.wit"),
            include_str!("../../../wit/v0.1.0/types.wit"),
        ]
        .concat();
        assert_eq!(
            hex::encode(Sha256::digest(frozen.as_bytes())),
            "63e2e6d28e7b954af3130744a3baa59f3a9b70f748adbbafd73b71ff63a6d43c",
            "wit/v0.1.0 was edited; released contract versions are frozen"
        );
    }
}
