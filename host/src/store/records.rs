use std::time::SystemTime;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::egress::Credential;

/// Now as RFC 3339 UTC with seconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Now in Unix milliseconds.
pub fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Unix milliseconds as RFC 3339 UTC with seconds.
pub fn rfc3339_of_ms(ms: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms))
        .to_string()
}

/// A tenant: everything below it is invisible to other tenants.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    /// The tenant's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: String,
    /// Origins (`https://app.example`) the tenant registered for OAuth `return_to` and
    /// `redirect_uri`, besides the host's own.
    #[serde(default)]
    pub redirect_origins: Vec<String>,
    /// Plugin calls the tenant may make per calendar month (UTC), set by the operator; none:
    /// `usage.default_monthly_call_limit` applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_call_limit: Option<u64>,
    /// The tenant's tool packs, by name (what they allow: `app::tools::packs`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tool_packs: std::collections::BTreeMap<String, ToolPack>,
    /// What the tenant's tools may do (how it decides: `app::tools::policy`).
    #[serde(default, skip_serializing_if = "ToolPolicy::is_empty")]
    pub tool_policy: ToolPolicy,
}

/// A tenant's tool policy: rules deciding whether a call runs, and redactions of results.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolPolicy {
    /// In order; the first rule that matches a tool decides. No rule matches: allowed.
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
    /// Applied to every result of the tools they name, in order.
    #[serde(default)]
    pub redactions: Vec<RedactionRule>,
}

impl ToolPolicy {
    /// No rule and no redaction.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.redactions.is_empty()
    }
}

/// One rule: which tools, and what happens to calls of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// Its name, in audit records and refusals.
    pub name: String,
    /// Tool names (`jira.delete_issue`), a connector's tools (`jira.*`) or every tool (`*`);
    /// empty: any tool (then `hints` must say which).
    #[serde(default)]
    pub tools: Vec<String>,
    /// Hints the tool must all have (`destructive`, `read_only`, `idempotent`, `open_world`).
    #[serde(default)]
    pub hints: Vec<ToolHint>,
    /// What happens to a matching call.
    pub effect: PolicyEffect,
}

/// A tool hint a rule can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToolHint {
    /// Reads only.
    ReadOnly,
    /// May delete or overwrite.
    Destructive,
    /// Calling twice does what calling once does.
    Idempotent,
    /// Reaches the vendor's open world.
    OpenWorld,
}

/// What a rule does to a matching call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyEffect {
    /// Runs.
    Allow,
    /// Refused, before any plugin runs.
    Deny,
    /// Runs once the person confirms: MCP asks through form elicitation; REST answers 409 with
    /// a `confirmation_token` to send back.
    Confirm,
}

/// What to hide in results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactionRule {
    /// Its name, in audit records.
    pub name: String,
    /// A named pattern replaced wherever it appears in a string: `email`, `phone`,
    /// `credit_card`, `ipv4`. One of `pattern` and `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// A JSON pointer whose value is replaced, with `*` for any key or index
    /// (`/entries/*/author`). One of `pattern` and `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Tools whose results it applies to, as a rule names them; empty: every tool.
    #[serde(default)]
    pub tools: Vec<String>,
}

/// A named allow-list of tools.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolPack {
    /// Tool names (`jira.search`), or every tool of a connector (`jira.*`).
    pub tools: Vec<String>,
    /// What the pack is for, for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// A tenant API key as stored: only its SHA-256 is the tree key; this is the value.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKeyRecord {
    /// Public id, random (never derived from the secret), for listing, audit and revocation.
    pub id: String,
    /// The tenant it authenticates.
    pub tenant: String,
    /// When it was issued.
    pub created_at: String,
    /// Unix seconds after which the key answers 401; `None`: never expires.
    #[serde(default)]
    pub expires_at: Option<u64>,
}

impl ApiKeyRecord {
    /// Whether the key has expired at `now` (unix seconds).
    pub fn expired(&self, now: u64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Calls succeed.
    Active,
    /// The vendor rejects the credential; supply a new one.
    InvalidCredentials,
    /// The OAuth grant is dead; authorize again.
    NeedsReauth,
    /// The last call failed for another reason.
    Error,
}

/// The kind of credential a connection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialType {
    /// Username and password.
    Basic,
    /// Bearer token.
    Bearer,
    /// API key.
    ApiKey,
    /// OAuth 2.0 tokens.
    Oauth2,
    /// Several named secrets (contract 0.3.0 `multi-part`).
    Parts,
}

/// A connection's non-secret record. Its credential lives sealed in the `secrets` tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectionRecord {
    /// The connection's id.
    pub id: String,
    /// The tenant's id.
    pub tenant: String,
    /// The connector's id.
    pub connector: String,
    /// Its name.
    pub name: String,
    /// The auth method its credential is for.
    pub auth_method: String,
    /// The kind of credential.
    pub credential_type: CredentialType,
    /// The connector's config.
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Its status.
    pub status: ConnectionStatus,
    /// Whose credential it is (`connect()`'s principal).
    pub principal: Option<serde_json::Value>,
    /// Values the host learned: discovered by `connect` (`cloud_id`) or kept from the OAuth
    /// token response (`instance_url`). Older records kept discovered values in `config`.
    #[serde(default)]
    pub values: std::collections::BTreeMap<String, String>,
    /// The last error a call met.
    pub last_error: Option<String>,
    /// When a call last succeeded.
    pub last_success_at: Option<String>,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

impl ConnectionRecord {
    /// The config as the guest's `config` interface shows it: strings as they are, other JSON
    /// values as JSON text.
    pub fn config_pairs(&self) -> Vec<(String, String)> {
        self.config
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect()
    }
}

/// A credential as sealed at rest (JSON inside the ciphertext).
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StoredCredential {
    /// A username and a password or API token.
    Basic {
        /// The username.
        username: String,
        /// The password or API token.
        password: String,
    },
    /// A bearer token.
    Bearer {
        /// The token.
        token: String,
    },
    /// An API key.
    ApiKey {
        /// The key.
        key: String,
    },
    /// Named secrets, each placed as the auth method's part of that name says.
    Parts {
        /// The parts by name.
        parts: std::collections::BTreeMap<String, String>,
    },
    /// Tokens from an OAuth 2.0 grant; the host refreshes them.
    Oauth2 {
        /// The access token.
        access_token: String,
        /// The refresh token, when the vendor issued one.
        refresh_token: Option<String>,
        /// Unix seconds when the access token expires, if the vendor said.
        expires_at: Option<u64>,
        /// The scopes granted.
        scope: Option<String>,
    },
}

impl std::fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Basic { .. } => "StoredCredential::Basic([redacted])",
            Self::Bearer { .. } => "StoredCredential::Bearer([redacted])",
            Self::ApiKey { .. } => "StoredCredential::ApiKey([redacted])",
            Self::Parts { .. } => "StoredCredential::Parts([redacted])",
            Self::Oauth2 { .. } => "StoredCredential::Oauth2([redacted])",
        })
    }
}

/// A credential with the origin it was validated against. Both are sealed together (one
/// ciphertext, AAD = tenant, connection, field), so the origin cannot be changed without the
/// master key, and a credential is never sent anywhere its connection was not verified.
#[derive(Clone, Debug)]
pub struct BoundCredential {
    /// The credential.
    pub credential: StoredCredential,
    /// `scheme://host[:port]`, or `None` for connectors without an origin (a fixed API host).
    pub origin: Option<String>,
    /// For OAuth grants: the endpoint refreshes go to, in force when the code was exchanged
    /// (the token endpoint, or a separate refresh endpoint). Refreshes go there and nowhere
    /// else, whatever a later plugin version declares.
    pub refresh_url: Option<String>,
}

/// Key of the bound origin inside the sealed JSON object, beside the credential's own fields;
/// records sealed before origins were bound simply lack it.
const ORIGIN_FIELD: &str = "bound_origin";
const REFRESH_URL_FIELD: &str = "bound_refresh_url";

impl BoundCredential {
    /// `credential` bound to `origin`.
    pub fn new(credential: StoredCredential, origin: Option<String>) -> Self {
        Self {
            credential,
            origin,
            refresh_url: None,
        }
    }

    /// Records where an OAuth grant is refreshed.
    pub fn with_refresh_url(mut self, refresh_url: Option<String>) -> Self {
        self.refresh_url = refresh_url;
        self
    }

    /// The plaintext that gets sealed.
    pub(crate) fn to_sealed_json(&self) -> serde_json::Result<Vec<u8>> {
        let mut value = serde_json::to_value(&self.credential)?;
        if let Some(object) = value.as_object_mut() {
            let bound = [
                (ORIGIN_FIELD, &self.origin),
                (REFRESH_URL_FIELD, &self.refresh_url),
            ];
            for (field, bound) in bound {
                if let Some(bound) = bound {
                    object.insert(field.into(), serde_json::Value::String(bound.clone()));
                }
            }
        }
        serde_json::to_vec(&value)
    }

    /// Reads what [`BoundCredential::to_sealed_json`] wrote (or a record from before origins
    /// were bound: `origin` is then `None`).
    pub(crate) fn from_sealed_json(plain: &[u8]) -> serde_json::Result<Self> {
        let mut value: serde_json::Value = serde_json::from_slice(plain)?;
        let mut take = |field: &str| {
            value
                .as_object_mut()
                .and_then(|object| object.remove(field))
                .and_then(|v| v.as_str().map(str::to_owned))
        };
        let origin = take(ORIGIN_FIELD);
        let refresh_url = take(REFRESH_URL_FIELD);
        Ok(Self {
            credential: serde_json::from_value(value)?,
            origin,
            refresh_url,
        })
    }
}

impl StoredCredential {
    /// The credential's kind.
    pub fn credential_type(&self) -> CredentialType {
        match self {
            Self::Basic { .. } => CredentialType::Basic,
            Self::Bearer { .. } => CredentialType::Bearer,
            Self::ApiKey { .. } => CredentialType::ApiKey,
            Self::Parts { .. } => CredentialType::Parts,
            Self::Oauth2 { .. } => CredentialType::Oauth2,
        }
    }

    /// The egress form, with every secret wrapped so it cannot be printed.
    pub fn to_credential(&self) -> Credential {
        match self {
            Self::Basic { username, password } => Credential::Basic {
                username: username.clone(),
                password: SecretString::from(password.clone()),
            },
            Self::Bearer { token } => Credential::Bearer {
                token: SecretString::from(token.clone()),
            },
            Self::ApiKey { key } => Credential::ApiKey {
                key: SecretString::from(key.clone()),
            },
            Self::Parts { parts } => Credential::Parts {
                parts: parts
                    .iter()
                    .map(|(name, secret)| (name.clone(), SecretString::from(secret.clone())))
                    .collect(),
            },
            Self::Oauth2 { access_token, .. } => Credential::Bearer {
                token: SecretString::from(access_token.clone()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_and_refresh_endpoint_are_sealed_with_the_grant() {
        let bound = BoundCredential::new(
            StoredCredential::Oauth2 {
                access_token: "at".into(),
                refresh_token: Some("rt".into()),
                expires_at: Some(1),
                scope: None,
            },
            Some("https://api.figma.com".into()),
        )
        .with_refresh_url(Some("https://api.figma.com/v1/oauth/refresh".into()));
        let opened = BoundCredential::from_sealed_json(&bound.to_sealed_json().unwrap()).unwrap();
        assert_eq!(opened.origin.as_deref(), Some("https://api.figma.com"));
        assert_eq!(
            opened.refresh_url.as_deref(),
            Some("https://api.figma.com/v1/oauth/refresh")
        );
        assert!(
            matches!(opened.credential, StoredCredential::Oauth2 { ref access_token, .. } if access_token == "at")
        );
    }
}
