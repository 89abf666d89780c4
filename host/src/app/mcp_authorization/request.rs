//! An authorization request (`GET /console/authorize?...`), checked in the order RFC 6749
//! §4.1.2.1 asks: until the client and its redirect URI are known good, an error is shown to
//! the user and nobody is redirected anywhere; after that, errors go back to the client.

use serde::{Deserialize, Serialize};

use super::{Client, OAuthError, SCOPES};
use crate::app::App;

/// Longest `state` a client may send (it comes back in the redirect).
const MAX_STATE: usize = 1024;

/// The query of an authorization request (and the hidden fields of its consent form).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
/// The RFC's parameters, by their RFC names.
#[allow(missing_docs)]
pub struct AuthorizationParams {
    #[serde(default)]
    pub response_type: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub redirect_uri: Option<String>,
    #[serde(default)]
    pub code_challenge: Option<String>,
    #[serde(default)]
    pub code_challenge_method: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
}

/// A request whose every parameter checked out.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The client asking.
    pub client: Client,
    /// One of the client's, where the code goes.
    pub redirect_uri: String,
    /// The PKCE S256 challenge.
    pub challenge: String,
    /// The client's `state`, handed back with the code.
    pub state: Option<String>,
    /// The scopes granted, space-separated.
    pub scope: String,
    /// The MCP endpoint the tokens will be for, as a path.
    pub resource: String,
    /// The connection that endpoint is scoped to, if any.
    pub connection: Option<String>,
}

impl AuthorizationRequest {
    /// The pack the grant's tools are limited to: the endpoint's (`/mcp/packs/{pack}`) or the
    /// `pack:{name}` scope's.
    pub fn pack(&self) -> Option<&str> {
        super::pack_of_path(&self.resource).or_else(|| super::pack_of_scope(&self.scope))
    }
}

/// Why a request is refused, and whether the client may be told by redirect.
#[derive(Debug)]
pub enum RequestError {
    /// The client or its redirect URI is not known good: shown on the page.
    Show(OAuthError),
    /// Sent back to the client's redirect URI.
    Redirect {
        /// What went wrong.
        error: OAuthError,
        /// The client's checked redirect URI.
        redirect_uri: String,
        /// The client's `state`.
        state: Option<String>,
    },
}

impl AuthorizationRequest {
    /// Checks `params`: the client (registration or metadata document), the redirect URI,
    /// then PKCE, scope and resource.
    pub async fn check(state: &App, params: &AuthorizationParams) -> Result<Self, RequestError> {
        let show = RequestError::Show;
        let client_id = params
            .client_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| show(OAuthError::InvalidRequest("client_id is missing".into())))?;
        let client = resolve_client(state, client_id).await.map_err(show)?;
        let redirect_uri = match params.redirect_uri.as_deref() {
            Some(uri) if client.redirect_uris.iter().any(|known| known == uri) => uri.to_owned(),
            Some(_) => {
                return Err(show(OAuthError::InvalidRequest(
                    "redirect_uri is not one the client registered".into(),
                )));
            }
            None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
            None => {
                return Err(show(OAuthError::InvalidRequest(
                    "redirect_uri is missing (the client registered several)".into(),
                )));
            }
        };
        let back = |error: OAuthError| RequestError::Redirect {
            error,
            redirect_uri: redirect_uri.clone(),
            state: params.state.clone(),
        };
        if params.state.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
            return Err(show(OAuthError::InvalidRequest(format!(
                "state must be at most {MAX_STATE} characters"
            ))));
        }
        if params.response_type.as_deref() != Some("code") {
            return Err(back(OAuthError::InvalidRequest(
                "response_type must be code".into(),
            )));
        }
        if params.code_challenge_method.as_deref() != Some("S256") {
            return Err(back(OAuthError::InvalidRequest(
                "PKCE is required with code_challenge_method=S256".into(),
            )));
        }
        let challenge = params
            .code_challenge
            .as_deref()
            .filter(|c| is_pkce_value(c))
            .ok_or_else(|| {
                back(OAuthError::InvalidRequest(
                    "code_challenge must be the base64url SHA-256 of the verifier (43 characters)"
                        .into(),
                ))
            })?
            .to_owned();
        let scope = scope(params.scope.as_deref()).map_err(back)?;
        let (resource, connection) =
            resource(&state.public_url, params.resource.as_deref()).map_err(back)?;
        Ok(Self {
            client,
            redirect_uri,
            challenge,
            state: params.state.clone(),
            scope,
            resource,
            connection,
        })
    }
}

/// The client a `client_id` names: a registration this host signed, else a metadata document.
pub async fn resolve_client(state: &App, client_id: &str) -> Result<Client, OAuthError> {
    if let Some(client) = super::clients::registered(state.store.keys(), client_id)? {
        return Ok(client);
    }
    state.mcp_clients.client(client_id).await
}

/// The granted scopes: the ones asked for, each known; `mcp` when none were.
fn scope(asked: Option<&str>) -> Result<String, OAuthError> {
    let asked: Vec<&str> = asked.unwrap_or_default().split_whitespace().collect();
    if asked.is_empty() {
        return Ok(SCOPES[0].to_owned());
    }
    // `offline_access` is what some clients add to ask for a refresh token: one is always
    // issued, so it is accepted and not recorded.
    let mut granted = Vec::new();
    for scope in asked {
        if scope == "offline_access" {
            continue;
        }
        let pack = scope.strip_prefix(super::PACK_SCOPE_PREFIX);
        if let Some(name) = pack
            && crate::app::tools::packs::check_pack_name(name).is_err()
        {
            return Err(OAuthError::InvalidScope(format!(
                "scope `{scope}` does not name a pack: pack:{{name}}, lowercase letters, digits, - and _"
            )));
        }
        if pack.is_some()
            && granted
                .iter()
                .any(|g: &&str| g.starts_with(super::PACK_SCOPE_PREFIX))
        {
            return Err(OAuthError::InvalidScope(
                "ask for at most one pack scope".into(),
            ));
        }
        if pack.is_none() && !SCOPES.contains(&scope) {
            return Err(OAuthError::InvalidScope(format!(
                "scope `{scope}` is not offered; ask for: {} or pack:{{name}}",
                SCOPES.join(" ")
            )));
        }
        if !granted.contains(&scope) {
            granted.push(scope);
        }
    }
    if granted.is_empty() {
        granted.push(SCOPES[0]);
    }
    Ok(granted.join(" "))
}

/// The MCP endpoint a `resource` names (RFC 8707), as a path, and its connection: this host's
/// `/mcp` (the default), `/mcp/connections/{id}` or `/mcp/packs/{pack}` (no connection).
pub fn resource(
    public_url: &str,
    asked: Option<&str>,
) -> Result<(String, Option<String>), OAuthError> {
    let base = super::issuer(public_url);
    let Some(asked) = asked.filter(|r| !r.is_empty()) else {
        return Ok(("/mcp".to_owned(), None));
    };
    let invalid = || {
        OAuthError::InvalidTarget(format!(
            "resource must be {base}/mcp, {base}/mcp/connections/{{id}} or {base}/mcp/packs/{{pack}}"
        ))
    };
    let path = asked
        .strip_prefix(&base)
        .map(|path| path.trim_end_matches('/'))
        .ok_or_else(invalid)?;
    if path == "/mcp" || super::pack_of_path(path).is_some() {
        return Ok((path.to_owned(), None));
    }
    let id = path
        .strip_prefix("/mcp/connections/")
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .ok_or_else(invalid)?;
    Ok((path.to_owned(), Some(id.to_owned())))
}

/// A PKCE challenge or verifier's alphabet and the challenge's length (RFC 7636 §4.2).
fn is_pkce_value(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_is_this_hosts_mcp_endpoint_or_one_connections() {
        let base = "https://host.example/";
        assert_eq!(resource(base, None).unwrap(), ("/mcp".into(), None));
        assert_eq!(
            resource(base, Some("https://host.example/mcp")).unwrap(),
            ("/mcp".into(), None)
        );
        assert_eq!(
            resource(base, Some("https://host.example/mcp/connections/conn_1")).unwrap(),
            ("/mcp/connections/conn_1".into(), Some("conn_1".into()))
        );
        for bad in [
            "https://other.example/mcp",
            "https://host.example/api/v1",
            "https://host.example/mcp/connections/",
            "https://host.example/mcp/connections/a/../b",
            "https://host.example.evil/mcp",
        ] {
            assert!(
                matches!(resource(base, Some(bad)), Err(OAuthError::InvalidTarget(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn scopes_are_the_offered_ones() {
        assert_eq!(scope(None).unwrap(), "mcp");
        assert_eq!(scope(Some("mcp offline_access mcp")).unwrap(), "mcp");
        assert!(matches!(
            scope(Some("admin")),
            Err(OAuthError::InvalidScope(_))
        ));
    }
}
