use crate::{
    AuthMethod, ClientAuth, ConnectionInfo, ConnectorInfo, CredentialKind, CredentialPlacement,
    Oauth2, Operation, Principal,
};

/// Builds a [`ConnectorInfo`] with sensible defaults: version from the crate, no auth methods,
/// no hosts, an empty-object config schema, no operations.
pub struct ConnectorInfoBuilder {
    info: ConnectorInfo,
}

impl ConnectorInfo {
    /// Starts a manifest for connector `id` shown as `display_name`.
    pub fn builder(id: &str, display_name: &str) -> ConnectorInfoBuilder {
        ConnectorInfoBuilder {
            info: ConnectorInfo {
                id: id.to_owned(),
                display_name: display_name.to_owned(),
                version: "0.0.0".to_owned(),
                description: String::new(),
                auth_methods: Vec::new(),
                requested_hosts: Vec::new(),
                origin_config_key: None,
                config_schema: r#"{"type":"object"}"#.to_owned(),
                operations: Vec::new(),
            },
        }
    }
}

impl ConnectorInfoBuilder {
    /// Semantic version of the connector (use `env!("CARGO_PKG_VERSION")`).
    pub fn version(mut self, version: &str) -> Self {
        self.info.version = version.to_owned();
        self
    }

    /// One-line description.
    pub fn description(mut self, description: &str) -> Self {
        self.info.description = description.to_owned();
        self
    }

    /// Adds an auth method.
    pub fn auth_method(mut self, method: AuthMethod) -> Self {
        self.info.auth_methods.push(method);
        self
    }

    /// Adds a host the connector needs to reach (`*.` wildcards allowed).
    pub fn requested_host(mut self, host: &str) -> Self {
        self.info.requested_hosts.push(host.to_owned());
        self
    }

    /// Names the config key holding the connection's own origin (`site_url`).
    pub fn origin_config_key(mut self, key: &str) -> Self {
        self.info.origin_config_key = Some(key.to_owned());
        self
    }

    /// JSON Schema of the connection config.
    pub fn config_schema(mut self, schema: serde_json::Value) -> Self {
        self.info.config_schema = schema.to_string();
        self
    }

    /// The operations this connector implements.
    pub fn operations(mut self, operations: &[Operation]) -> Self {
        self.info.operations = operations.to_vec();
        self
    }

    /// Finishes the manifest.
    pub fn build(self) -> ConnectorInfo {
        self.info
    }
}

impl AuthMethod {
    fn new(id: &str, label: &str, kind: CredentialKind, placement: CredentialPlacement) -> Self {
        Self {
            id: id.to_owned(),
            label: label.to_owned(),
            kind,
            placement,
            credential_hosts: Vec::new(),
        }
    }

    /// Username and password (or e-mail and API token), sent as HTTP Basic.
    pub fn basic(id: &str, label: &str) -> Self {
        Self::new(id, label, CredentialKind::Basic, CredentialPlacement::Basic)
    }

    /// A token sent as `Authorization: Bearer`.
    pub fn bearer(id: &str, label: &str) -> Self {
        Self::new(
            id,
            label,
            CredentialKind::Bearer,
            CredentialPlacement::Bearer,
        )
    }

    /// An API key sent in the named header.
    pub fn api_key_header(id: &str, label: &str, header: &str) -> Self {
        Self::new(
            id,
            label,
            CredentialKind::ApiKey,
            CredentialPlacement::Header(header.to_owned()),
        )
    }

    /// An API key sent as the named query parameter.
    pub fn api_key_query(id: &str, label: &str, parameter: &str) -> Self {
        Self::new(
            id,
            label,
            CredentialKind::ApiKey,
            CredentialPlacement::Query(parameter.to_owned()),
        )
    }

    /// OAuth 2.0 authorization code; the token is sent as `Authorization: Bearer`.
    pub fn oauth2(id: &str, label: &str, endpoints: Oauth2) -> Self {
        Self::new(
            id,
            label,
            CredentialKind::Oauth2(endpoints),
            CredentialPlacement::Bearer,
        )
    }

    /// Allows the credential to be sent to `host` as well as the connection's origin.
    pub fn credential_host(mut self, host: &str) -> Self {
        self.credential_hosts.push(host.to_owned());
        self
    }
}

impl Oauth2 {
    /// Endpoints with PKCE on, client authentication in the body, no revocation, no scopes.
    pub fn endpoints(authorize_url: &str, token_url: &str) -> Self {
        Self {
            authorize_url: authorize_url.to_owned(),
            token_url: token_url.to_owned(),
            revoke_url: None,
            default_scopes: Vec::new(),
            extra_authorize_params: Vec::new(),
            pkce: true,
            client_auth: ClientAuth::Body,
        }
    }
}

impl ConnectionInfo {
    /// Connection info with no discovered config.
    pub fn for_principal(principal: Principal) -> Self {
        Self {
            principal,
            discovered_config: Vec::new(),
        }
    }

    /// Adds a discovered config value (`cloud_id`).
    pub fn discovered(mut self, key: &str, value: impl Into<String>) -> Self {
        self.discovered_config.push((key.to_owned(), value.into()));
        self
    }
}
