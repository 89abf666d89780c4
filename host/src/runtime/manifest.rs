use anyhow::{Context as _, bail};
use serde::Serialize;

use super::bindings::wit::connector::plugin::manifest as wit;
use crate::egress::{CredentialPlacement, HostPattern};

/// A connector's `info()`, checked and in the shape the REST API shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectorManifest {
    pub id: String,
    pub display_name: String,
    pub version: String,
    pub description: String,
    pub auth_methods: Vec<AuthMethodManifest>,
    pub requested_hosts: Vec<String>,
    pub origin_config_key: Option<String>,
    #[schema(value_type = Object)]
    pub config_schema: serde_json::Value,
    #[schema(value_type = Vec<String>)]
    pub operations: Vec<&'static str>,
}

/// One way to authenticate a connection.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuthMethodManifest {
    pub id: String,
    pub label: String,
    #[serde(flatten)]
    pub kind: CredentialKindManifest,
    /// Where the host puts the credential: `basic`, `bearer`, `header:NAME` or `query:NAME`.
    pub placement: String,
    pub credential_hosts: Vec<String>,
    #[serde(skip)]
    #[schema(ignore)]
    pub(crate) placement_rule: CredentialPlacement,
    /// `credential_hosts`, parsed once at load rather than on every call.
    #[serde(skip)]
    #[schema(ignore)]
    pub(crate) credential_patterns: Vec<HostPattern>,
}

/// What a client supplies for an auth method.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CredentialKindManifest {
    Basic,
    Bearer,
    ApiKey,
    Oauth2 { oauth2: OAuth2Manifest },
}

/// OAuth 2.0 endpoints of an auth method.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OAuth2Manifest {
    pub authorize_url: String,
    pub token_url: String,
    pub revoke_url: Option<String>,
    pub default_scopes: Vec<String>,
    #[schema(value_type = Vec<Vec<String>>)]
    pub extra_authorize_params: Vec<(String, String)>,
    pub pkce: bool,
    /// `body` or `basic`.
    #[schema(value_type = String)]
    pub client_auth: &'static str,
}

impl ConnectorManifest {
    /// Checks what a plugin declared; a plugin with a malformed manifest is not loaded.
    pub(crate) fn from_wit(info: wit::ConnectorInfo) -> anyhow::Result<Self> {
        if info.id.is_empty()
            || info.id.len() > 64
            || !info
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            bail!(
                "connector id `{}` must be 1-64 characters of a-z, 0-9, `-` or `_`",
                info.id
            );
        }
        for host in &info.requested_hosts {
            HostPattern::parse(host)
                .map_err(anyhow::Error::msg)
                .context("requested host")?;
        }
        let config_schema: serde_json::Value =
            serde_json::from_str(&info.config_schema).context("config schema is not JSON")?;
        let auth_methods = info
            .auth_methods
            .into_iter()
            .map(AuthMethodManifest::from_wit)
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            id: info.id,
            display_name: info.display_name,
            version: info.version,
            description: info.description,
            auth_methods,
            requested_hosts: info.requested_hosts,
            origin_config_key: info.origin_config_key,
            config_schema,
            operations: info.operations.into_iter().map(operation_name).collect(),
        })
    }

    /// Parsed requested hosts (validated at load).
    pub(crate) fn host_patterns(&self) -> Vec<HostPattern> {
        self.requested_hosts
            .iter()
            .filter_map(|h| HostPattern::parse(h).ok())
            .collect()
    }

    /// The auth method named `id`.
    pub fn auth_method(&self, id: &str) -> Option<&AuthMethodManifest> {
        self.auth_methods.iter().find(|m| m.id == id)
    }
}

impl AuthMethodManifest {
    fn from_wit(method: wit::AuthMethod) -> anyhow::Result<Self> {
        let credential_patterns = method
            .credential_hosts
            .iter()
            .map(|host| {
                HostPattern::parse(host)
                    .map_err(anyhow::Error::msg)
                    .context("credential host")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (placement, placement_rule) = match method.placement {
            wit::CredentialPlacement::Basic => ("basic".to_owned(), CredentialPlacement::Basic),
            wit::CredentialPlacement::Bearer => ("bearer".to_owned(), CredentialPlacement::Bearer),
            wit::CredentialPlacement::Header(name) => (
                format!("header:{name}"),
                CredentialPlacement::Header(name.to_ascii_lowercase()),
            ),
            wit::CredentialPlacement::Query(name) => {
                (format!("query:{name}"), CredentialPlacement::Query(name))
            }
        };
        let kind = match method.kind {
            wit::CredentialKind::Basic => CredentialKindManifest::Basic,
            wit::CredentialKind::Bearer => CredentialKindManifest::Bearer,
            wit::CredentialKind::ApiKey => CredentialKindManifest::ApiKey,
            wit::CredentialKind::Oauth2(o) => CredentialKindManifest::Oauth2 {
                oauth2: OAuth2Manifest {
                    authorize_url: o.authorize_url,
                    token_url: o.token_url,
                    revoke_url: o.revoke_url,
                    default_scopes: o.default_scopes,
                    extra_authorize_params: o.extra_authorize_params,
                    pkce: o.pkce,
                    client_auth: match o.client_auth {
                        wit::ClientAuth::Body => "body",
                        wit::ClientAuth::Basic => "basic",
                    },
                },
            },
        };
        Ok(Self {
            id: method.id,
            label: method.label,
            kind,
            placement,
            credential_hosts: method.credential_hosts,
            placement_rule,
            credential_patterns,
        })
    }
}

fn operation_name(operation: wit::Operation) -> &'static str {
    match operation {
        wit::Operation::Containers => "containers",
        wit::Operation::Items => "items",
        wit::Operation::Item => "item",
        wit::Operation::Comments => "comments",
        wit::Operation::Search => "search",
        wit::Operation::CreateItem => "create_item",
        wit::Operation::CreateComment => "create_comment",
        wit::Operation::UpdateItem => "update_item",
    }
}
