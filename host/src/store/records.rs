use std::time::SystemTime;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::egress::Credential;

/// Now as RFC 3339 UTC with seconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// A tenant: everything below it is invisible to other tenants.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

/// A tenant API key as stored: only its SHA-256 is the tree key; this is the value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// Short public id (the key's first characters), for audit and revocation.
    pub id: String,
    pub tenant: String,
    pub created_at: String,
}

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Active,
    InvalidCredentials,
    NeedsReauth,
    Error,
}

/// The kind of credential a connection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialType {
    Basic,
    Bearer,
    ApiKey,
    Oauth2,
}

/// A connection's non-secret record. Its credential lives sealed in the `secrets` tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectionRecord {
    pub id: String,
    pub tenant: String,
    pub connector: String,
    pub name: String,
    pub auth_method: String,
    pub credential_type: CredentialType,
    pub config: serde_json::Map<String, serde_json::Value>,
    pub status: ConnectionStatus,
    pub principal: Option<serde_json::Value>,
    pub last_error: Option<String>,
    pub last_success_at: Option<String>,
    pub created_at: String,
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
    Basic {
        username: String,
        password: String,
    },
    Bearer {
        token: String,
    },
    ApiKey {
        key: String,
    },
    /// Tokens from an OAuth 2.0 grant; the host refreshes them.
    Oauth2 {
        access_token: String,
        refresh_token: Option<String>,
        /// Unix seconds when the access token expires, if the vendor said.
        expires_at: Option<u64>,
        scope: Option<String>,
    },
}

impl std::fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Basic { .. } => "StoredCredential::Basic([redacted])",
            Self::Bearer { .. } => "StoredCredential::Bearer([redacted])",
            Self::ApiKey { .. } => "StoredCredential::ApiKey([redacted])",
            Self::Oauth2 { .. } => "StoredCredential::Oauth2([redacted])",
        })
    }
}

impl StoredCredential {
    pub fn credential_type(&self) -> CredentialType {
        match self {
            Self::Basic { .. } => CredentialType::Basic,
            Self::Bearer { .. } => CredentialType::Bearer,
            Self::ApiKey { .. } => CredentialType::ApiKey,
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
            Self::Oauth2 { access_token, .. } => Credential::Bearer {
                token: SecretString::from(access_token.clone()),
            },
        }
    }
}
