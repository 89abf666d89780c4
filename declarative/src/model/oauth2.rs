//! The `oauth2` block of an auth method of `type: oauth2`: the vendor's authorization-code
//! endpoints and their quirks, which the host's OAuth flow, refresher and revoker use exactly
//! as they use a compiled connector's (contract `oauth2`). The client id and secret are never
//! in a manifest: the operator configures them (`oauth.<id>`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// OAuth 2.0 authorization-code endpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OAuth2Spec {
    /// Where the user's browser is sent to consent (`https://`).
    pub authorize_url: String,
    /// Where codes and refresh tokens are exchanged (`https://`, on a requested host).
    pub token_url: String,
    /// Where refresh grants go when not `token_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_url: Option<String>,
    /// The token revocation endpoint (RFC 7009), when the vendor has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_url: Option<String>,
    /// Scopes always asked for; a client may add more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// How scopes are joined in the authorize URL. Default: `" "` (RFC 6749).
    #[serde(default = "space")]
    pub scope_separator: String,
    /// Extra authorize-URL parameters (`audience: api.atlassian.com`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorize_params: BTreeMap<String, String>,
    /// Whether the vendor accepts PKCE (S256), which the host then always uses. Default: true.
    #[serde(default = "yes")]
    pub pkce: bool,
    /// `body` (client id and secret in the token request's body) or `basic` (HTTP Basic).
    /// Default: `body`.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// `form` or `json` token requests. Default: `form`.
    #[serde(default)]
    pub token_format: TokenFormat,
    /// Pointer to the token set in the token response when it is not at the top level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_pointer: Option<String>,
    /// Top-level fields of the token response kept as connection values (`$values.NAME`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_values: Vec<String>,
    /// One of `response_values` that becomes the connection's origin (Salesforce's
    /// `instance_url`); the host checks it is an `https://` origin on a requested host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_from_response: Option<String>,
}

fn space() -> String {
    " ".to_owned()
}

fn yes() -> bool {
    true
}

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// In the request body.
    #[default]
    Body,
    /// HTTP Basic.
    Basic,
}

/// How token requests are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenFormat {
    /// `application/x-www-form-urlencoded`.
    #[default]
    Form,
    /// A JSON object.
    Json,
}
