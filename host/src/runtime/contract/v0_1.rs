//! Serves plugins built against the frozen `connector:plugin@0.1.0`: its `http` and `log`
//! imports delegate to the 0.3.0 implementations (same shapes), its `config` import to
//! 0.2.0's, and what it exports is lifted into 0.2.0 types, then into 0.3.0 by `v0_2`.
//! Only records that differ from 0.2.0 are converted here; `types` is shared (see `bindings`).

use super::super::call_state::CallState;
use super::bindings::wit;
use super::bindings::wit_v0_1::connector::plugin::{config, http, log, manifest};
use super::bindings::wit_v0_2::connector::plugin::{config as config_v0_2, manifest as v0_2};

impl manifest::Host for CallState {}

super::older_imports::serve_older_http_and_log!();

impl config::Host for CallState {
    async fn get(&mut self, key: String) -> Option<String> {
        config_v0_2::Host::get(self, key).await
    }

    async fn get_all(&mut self) -> Vec<(String, String)> {
        config_v0_2::Host::get_all(self).await
    }

    async fn auth_method(&mut self) -> Option<String> {
        config_v0_2::Host::auth_method(self).await
    }
}

/// A 0.1.0 manifest in 0.2.0 terms (0.1.0 has no `update-item`, so it never lists it).
pub(crate) fn connector_info(info: manifest::ConnectorInfo) -> v0_2::ConnectorInfo {
    v0_2::ConnectorInfo {
        id: info.id,
        display_name: info.display_name,
        version: info.version,
        description: info.description,
        auth_methods: info.auth_methods.into_iter().map(auth_method).collect(),
        requested_hosts: info.requested_hosts,
        origin_config_key: info.origin_config_key,
        config_schema: info.config_schema,
        operations: info.operations.into_iter().map(operation).collect(),
    }
}

pub(crate) fn connection_info(info: manifest::ConnectionInfo) -> v0_2::ConnectionInfo {
    v0_2::ConnectionInfo {
        principal: info.principal,
        discovered_config: info.discovered_config,
    }
}

fn auth_method(method: manifest::AuthMethod) -> v0_2::AuthMethod {
    use v0_2::{CredentialKind, CredentialPlacement};
    v0_2::AuthMethod {
        id: method.id,
        label: method.label,
        kind: match method.kind {
            manifest::CredentialKind::Basic => CredentialKind::Basic,
            manifest::CredentialKind::Bearer => CredentialKind::Bearer,
            manifest::CredentialKind::ApiKey => CredentialKind::ApiKey,
            manifest::CredentialKind::Oauth2(oauth) => CredentialKind::Oauth2(oauth2(oauth)),
        },
        placement: match method.placement {
            manifest::CredentialPlacement::Basic => CredentialPlacement::Basic,
            manifest::CredentialPlacement::Bearer => CredentialPlacement::Bearer,
            manifest::CredentialPlacement::Header(name) => CredentialPlacement::Header(name),
            manifest::CredentialPlacement::Query(name) => CredentialPlacement::Query(name),
        },
        credential_hosts: method.credential_hosts,
    }
}

fn oauth2(oauth: manifest::Oauth2) -> v0_2::Oauth2 {
    v0_2::Oauth2 {
        authorize_url: oauth.authorize_url,
        token_url: oauth.token_url,
        revoke_url: oauth.revoke_url,
        default_scopes: oauth.default_scopes,
        extra_authorize_params: oauth.extra_authorize_params,
        pkce: oauth.pkce,
        client_auth: match oauth.client_auth {
            manifest::ClientAuth::Body => v0_2::ClientAuth::Body,
            manifest::ClientAuth::Basic => v0_2::ClientAuth::Basic,
        },
    }
}

fn operation(operation: manifest::Operation) -> v0_2::Operation {
    use v0_2::Operation as Current;
    match operation {
        manifest::Operation::Containers => Current::Containers,
        manifest::Operation::Items => Current::Items,
        manifest::Operation::Item => Current::Item,
        manifest::Operation::Comments => Current::Comments,
        manifest::Operation::Search => Current::Search,
        manifest::Operation::CreateItem => Current::CreateItem,
        manifest::Operation::CreateComment => Current::CreateComment,
    }
}
