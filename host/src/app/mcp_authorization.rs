//! The host as the OAuth 2.1 authorization server of its own `/mcp` endpoints, so MCP clients
//! (ChatGPT, Claude, IDEs) add the host by URL: a client registers ([`clients`]: a signed,
//! stateless Dynamic Client Registration, or a Client ID Metadata Document fetched through the
//! egress address guard), the tenant consents in the console, and the client redeems the code
//! with PKCE S256 for a short-lived access token bound to one MCP endpoint and a rotating
//! refresh token ([`grants`]). API keys keep working on `/mcp`; these tokens work nowhere else.

pub mod client_metadata;
pub mod clients;
pub mod grants;
pub mod request;

use std::time::Duration;

pub use client_metadata::ClientMetadataCache;
pub use clients::{Client, ClientSource, Registration, RegistrationRequest};
pub use grants::{GrantView, Issued, TokenRequest};
pub use request::AuthorizationRequest;

/// Scopes a client may ask for. `mcp` is every tool the endpoint offers; `pack:{name}` (see
/// [`PACK_SCOPE_PREFIX`]) only the tools of one of the tenant's packs.
pub const SCOPES: &[&str] = &["mcp"];

/// A scope `pack:{name}` limits the grant to the tools of the tenant's pack `name`.
pub const PACK_SCOPE_PREFIX: &str = "pack:";

/// The pack a granted scope limits tools to, if any.
pub fn pack_of_scope(scope: &str) -> Option<&str> {
    scope
        .split_whitespace()
        .find_map(|scope| scope.strip_prefix(PACK_SCOPE_PREFIX))
}

/// The pack an MCP endpoint path (`/mcp/packs/{pack}`) serves, if it is a pack's.
pub fn pack_of_path(path: &str) -> Option<&str> {
    path.strip_prefix("/mcp/packs/")
        .filter(|name| crate::app::tools::packs::check_pack_name(name).is_ok())
}

/// How long an authorization code lives: the client redeems it at once.
pub const CODE_TTL_SECS: u64 = 120;

/// The authorization server's knobs (`[mcp.authorization]`).
#[derive(Clone, Debug)]
pub struct McpAuthorizationSettings {
    /// Serve the authorization server (metadata, registration, consent, tokens). Default: true.
    pub enabled: bool,
    /// Lifetime of an access token. Default: 1 hour.
    pub access_token_ttl: Duration,
    /// Lifetime of a refresh token; each refresh issues a new one. Default: 30 days.
    pub refresh_token_ttl: Duration,
    /// A registration that has not been used for a first authorization within this long
    /// expires; the client registers again. Default: 7 days.
    pub registration_ttl: Duration,
    /// Fetch client metadata documents from private and loopback addresses, and over plain
    /// `http` there (local development and tests). Default: false.
    pub allow_private_client_metadata: bool,
    /// Most grants (authorized clients) one tenant keeps; a new one beyond ends the one that
    /// expires soonest. Default: 100.
    pub max_grants_per_tenant: usize,
}

impl Default for McpAuthorizationSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            registration_ttl: Duration::from_secs(7 * 24 * 3600),
            allow_private_client_metadata: false,
            max_grants_per_tenant: 100,
        }
    }
}

/// An OAuth error, answered as RFC 6749 says (`error`, `error_description`).
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// `invalid_request`: a parameter is missing, repeated or malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// `invalid_client`: the client is not known, or its registration expired.
    #[error("{0}")]
    InvalidClient(String),
    /// `invalid_client_metadata` (registration).
    #[error("{0}")]
    InvalidClientMetadata(String),
    /// `invalid_redirect_uri` (registration).
    #[error("{0}")]
    InvalidRedirectUri(String),
    /// `invalid_grant`: the code or refresh token is not valid (any more).
    #[error("{0}")]
    InvalidGrant(String),
    /// `invalid_scope`.
    #[error("{0}")]
    InvalidScope(String),
    /// `invalid_target` (RFC 8707): the resource is not one this server issues tokens for.
    #[error("{0}")]
    InvalidTarget(String),
    /// `unsupported_grant_type`.
    #[error("{0}")]
    UnsupportedGrantType(String),
    /// `access_denied`: the tenant declined.
    #[error("the tenant declined the authorization")]
    AccessDenied,
    /// `server_error`: the store failed; nothing was issued.
    #[error("the authorization server could not complete the request")]
    Server(#[source] crate::store::StoreError),
}

impl OAuthError {
    /// The RFC's error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient(_) => "invalid_client",
            Self::InvalidClientMetadata(_) => "invalid_client_metadata",
            Self::InvalidRedirectUri(_) => "invalid_redirect_uri",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::InvalidScope(_) => "invalid_scope",
            Self::InvalidTarget(_) => "invalid_target",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::AccessDenied => "access_denied",
            Self::Server(_) => "server_error",
        }
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(error: crate::store::StoreError) -> Self {
        Self::Server(error)
    }
}

/// The issuer: the host's public URL without a trailing slash.
pub fn issuer(public_url: &str) -> String {
    public_url.trim_end_matches('/').to_owned()
}
