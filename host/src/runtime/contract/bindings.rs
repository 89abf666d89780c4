//! Host-side bindings generated from `wit/`: one module per released `connector:plugin`
//! version, and [`PluginPre`], which holds a plugin pre-linked against the version it was
//! built for.

use super::super::call_state::CallState;
use super::v0_3::{CurrentInstance, CurrentPre};

/// The newest contract (`wit/v0.3.0`). The API layer and the host imports speak these types.
pub mod wit {
    wasmtime::component::bindgen!({
        path: "../wit/v0.3.0",
        world: "connector-plugin",
        imports: { default: async },
        exports: { default: async },
    });

    pub use connector::plugin::http;
    pub use connector::plugin::manifest::{
        Action, ActionAnnotations, AuthMethod, ClientAuth, ConnectionInfo, ConnectorInfo,
        CredentialKind, CredentialPart, CredentialPlacement, HmacSignature, JwtSignature, Oauth2,
        Operation, SignatureEncoding, TokenRequestFormat, WebhookSecretSource, WebhookSignature,
        WebhookSupport,
    };
    pub use connector::plugin::types::{
        BodyFormat, ChangeEvent, ChangeKind, Comment, CommentPage, ConnectionContext,
        ConnectorError, Container, ContainerPage, Item, ItemPage, ItemPatch, NewComment, NewItem,
        ObjectKind, PageRequest, Principal, RateLimit, Tombstone,
    };
    pub use connector::plugin::webhooks;
}

/// The optional `sql` import of 0.3.0 (world `sql-connector-plugin`), linked for every plugin;
/// only database connectors import it.
pub mod wit_sql {
    wasmtime::component::bindgen!({
        path: "../wit/v0.3.0",
        inline: "package connector:host-sql; world sql-import { import connector:plugin/sql@0.3.0; }",
        world: "sql-import",
        imports: { default: async },
    });

    pub use connector::plugin::sql;
}

/// The frozen 0.2.0 contract (`wit/v0.2.0`), adapted in `v0_2`.
pub mod wit_v0_2 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.2.0",
        world: "connector-plugin",
        imports: { default: async },
        exports: { default: async },
    });
}

/// The frozen 0.1.0 contract (`wit/v0.1.0`). Its `types` interface is identical to 0.2.0's, so
/// it reuses those Rust types (the component model checks them structurally); the rest is
/// adapted in `v0_1`, in terms of 0.2.0.
pub mod wit_v0_1 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1.0",
        world: "connector-plugin",
        imports: { default: async },
        exports: { default: async },
        with: {
            "connector:plugin/types@0.1.0": crate::runtime::contract::bindings::wit_v0_2::connector::plugin::types,
        },
    });
}

/// A plugin linked against the contract version it was built for.
pub(crate) enum PluginPre {
    V0_1(wit_v0_1::ConnectorPluginPre<CallState>),
    V0_2(wit_v0_2::ConnectorPluginPre<CallState>),
    V0_3(Box<CurrentPre>),
}

/// A plugin instance of any served version, for one call.
pub(crate) enum PluginInstance {
    V0_1(wit_v0_1::ConnectorPlugin),
    V0_2(wit_v0_2::ConnectorPlugin),
    V0_3(CurrentInstance),
}

impl PluginPre {
    pub(crate) async fn instantiate(
        &self,
        store: &mut wasmtime::Store<CallState>,
    ) -> wasmtime::Result<PluginInstance> {
        Ok(match self {
            Self::V0_1(pre) => PluginInstance::V0_1(pre.instantiate_async(store).await?),
            Self::V0_2(pre) => PluginInstance::V0_2(pre.instantiate_async(store).await?),
            Self::V0_3(pre) => PluginInstance::V0_3(pre.instantiate(store).await?),
        })
    }

    /// Whether the plugin reads its connection through the `config` import (0.1, 0.2) rather
    /// than the context each call carries (0.3).
    pub(crate) fn reads_config_import(&self) -> bool {
        !matches!(self, Self::V0_3(_))
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    fn digest(files: &[&str]) -> String {
        hex::encode(Sha256::digest(files.concat().as_bytes()))
    }

    /// Released contracts are frozen: plugins already built against them must keep linking.
    /// Change behaviour in a new version folder instead; never update these digests.
    #[test]
    fn released_contracts_are_unchanged() {
        let v0_1 = digest(&[
            include_str!("../../../../wit/v0.1.0/connector.wit"),
            include_str!("../../../../wit/v0.1.0/host.wit"),
            include_str!("../../../../wit/v0.1.0/types.wit"),
        ]);
        assert_eq!(
            v0_1, "63e2e6d28e7b954af3130744a3baa59f3a9b70f748adbbafd73b71ff63a6d43c",
            "wit/v0.1.0 was edited; released contract versions are frozen"
        );
        let v0_2 = digest(&[
            include_str!("../../../../wit/v0.2.0/connector.wit"),
            include_str!("../../../../wit/v0.2.0/host.wit"),
            include_str!("../../../../wit/v0.2.0/types.wit"),
        ]);
        assert_eq!(
            v0_2, "4bbc311011dca43102c7a9cef41f3f58b4df2c538b2b6155db244c51f420aea5",
            "wit/v0.2.0 was edited; released contract versions are frozen"
        );
        let v0_3 = digest(&[
            include_str!("../../../../wit/v0.3.0/connector.wit"),
            include_str!("../../../../wit/v0.3.0/host.wit"),
            include_str!("../../../../wit/v0.3.0/types.wit"),
        ]);
        assert_eq!(
            v0_3, "a53a48559cdde724d467489d7dcfd3b973cb77de52d43a7125ddc67824924af5",
            "wit/v0.3.0 was edited; released contract versions are frozen"
        );
    }
}
