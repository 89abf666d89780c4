//! [`ConnectorInfoBuilder`] and constructors for auth methods and OAuth endpoints.

use crate::action::Action;
use crate::webhook::WebhookSupport;
use crate::{
    AuthMethod, ClientAuth, ConnectionInfo, ConnectorInfo, CredentialKind, CredentialPart,
    CredentialPlacement, Oauth2, Principal, TokenRequestFormat,
};

/// Builds a [`ConnectorInfo`] with sensible defaults: the connector crate's version, no auth
/// methods, no hosts, an empty-object config schema, no actions, no webhooks. The operations list is not
/// set here: `#[connector]` generates it from the operations you implement.
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
                // Empty: `#[connector]` fills in the crate's version.
                version: String::new(),
                description: String::new(),
                auth_methods: Vec::new(),
                requested_hosts: Vec::new(),
                origin_config_key: None,
                config_schema: r#"{"type":"object"}"#.to_owned(),
                operations: Vec::new(),
                actions: Vec::new(),
                webhooks: None,
            },
        }
    }
}

impl ConnectorInfoBuilder {
    /// Semantic version of the connector; by default the connector crate's.
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

    /// The connection's own site as config `key` (an `https://` origin the client gives, such
    /// as `https://acme.tracker.example`): sets [`origin_config_key`](Self::origin_config_key)
    /// and a config schema requiring it, described by `example`.
    pub fn origin_config(self, key: &str, example: &str) -> Self {
        let schema = serde_json::json!({
            "type": "object",
            "required": [key],
            "properties": {key: {"type": "string", "format": "uri", "description": example}},
        });
        self.origin_config_key(key).config_schema(schema)
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

    /// Declares an action (see [`crate::action`]).
    pub fn action(mut self, action: Action) -> Self {
        self.info.actions.push(action);
        self
    }

    /// Declares several actions at once.
    pub fn actions(mut self, actions: impl IntoIterator<Item = Action>) -> Self {
        self.info.actions.extend(actions);
        self
    }

    /// Declares how the vendor's webhooks are signed and handled (see [`crate::webhook`]).
    pub fn webhooks(mut self, support: WebhookSupport) -> Self {
        self.info.webhooks = Some(support);
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

    /// Several secrets, each placed in its own header or query parameter by the host (Datadog:
    /// `&[("api_key", "API key", "dd-api-key"), ("application_key", "Application key",
    /// "dd-application-key")]`). Clients send them as `{"type": "parts", "parts": {...}}`.
    pub fn multi_part_headers(id: &str, label: &str, parts: &[(&str, &str, &str)]) -> Self {
        let parts = parts
            .iter()
            .map(|(name, label, header)| CredentialPart {
                name: (*name).to_owned(),
                label: (*label).to_owned(),
                placement: CredentialPlacement::Header((*header).to_owned()),
            })
            .collect();
        Self::new(
            id,
            label,
            CredentialKind::MultiPart(parts),
            CredentialPlacement::Bearer,
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
    /// Endpoints as RFC 6749 describes them: PKCE on, client authentication and parameters
    /// in a form body, space-separated scopes, tokens at the top of the response, nothing kept
    /// from it. Change the fields that differ for your vendor.
    pub fn endpoints(authorize_url: &str, token_url: &str) -> Self {
        Self {
            authorize_url: authorize_url.to_owned(),
            token_url: token_url.to_owned(),
            refresh_url: None,
            revoke_url: None,
            default_scopes: Vec::new(),
            scope_separator: " ".to_owned(),
            extra_authorize_params: Vec::new(),
            pkce: true,
            client_auth: ClientAuth::Body,
            token_request_format: TokenRequestFormat::Form,
            token_pointer: None,
            response_values: Vec::new(),
            origin_from_response: None,
        }
    }

    /// Keeps token-response field `field` as a connection value, and makes it the
    /// connection's origin (Salesforce's `instance_url`): the host checks it against the
    /// requested hosts before binding the token to it.
    pub fn origin_from_response(mut self, field: &str) -> Self {
        if !self.response_values.iter().any(|f| f == field) {
            self.response_values.push(field.to_owned());
        }
        self.origin_from_response = Some(field.to_owned());
        self
    }
}

impl ConnectionInfo {
    /// Connection info with no discovered values.
    pub fn for_principal(principal: Principal) -> Self {
        Self {
            principal,
            discovered_values: Vec::new(),
        }
    }

    /// Adds a value the host keeps for the connection (`cloud_id`); later calls read it with
    /// [`crate::Connection::value`].
    pub fn discovered(mut self, key: &str, value: impl Into<String>) -> Self {
        self.discovered_values.push((key.to_owned(), value.into()));
        self
    }
}
