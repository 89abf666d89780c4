//! Grants: what a tenant's consent issues, and every token's life after it.
//!
//! Tokens are `<kind>_<grant id>.<secret>`: the grant id finds the record in one store read,
//! and the secret is compared with the stored SHA-256 in constant time. A code is redeemed
//! once; presenting it again revokes the grant (RFC 6749 §4.1.2). A refresh token is used
//! once; presenting an old one again revokes the grant (RFC 9700 §4.14.2), so a stolen
//! refresh token dies the moment either party uses it after the other.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{AuthorizationRequest, CODE_TTL_SECS, OAuthError};
use crate::app::App;
use crate::app::callers::{TenantCaller, digests_equal};
use crate::store::{IssuedToken, McpGrant, PendingCode};

const CODE_PREFIX: &str = "mcpcode_";
const ACCESS_PREFIX: &str = "mcpat_";
const REFRESH_PREFIX: &str = "mcprt_";
/// `actor` prefix of callers proven by an access token.
pub const ACTOR_PREFIX: &str = "mcp-client:";

/// The body of `POST /oauth/token`.
#[derive(Debug, Default, Deserialize)]
/// The RFC's parameters, by their RFC names.
#[allow(missing_docs)]
pub struct TokenRequest {
    #[serde(default)]
    pub grant_type: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub redirect_uri: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub code_verifier: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
}

/// A token response (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
/// The RFC's parameters, by their RFC names.
#[allow(missing_docs)]
pub struct Issued {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
    pub scope: String,
}

/// A grant as the tenant sees it: never a token or a digest.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GrantView {
    /// The grant's id.
    pub id: String,
    /// The client's id (a registration of this host, or its metadata document's URL).
    pub client_id: String,
    /// What the client calls itself.
    pub client_name: String,
    /// The host the client's redirect URI names.
    pub redirect_host: String,
    /// The MCP endpoint its tokens are for.
    pub resource: String,
    /// The scopes granted.
    pub scope: String,
    /// Who consented (`key:<id>`).
    pub granted_by: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339: when a token was last issued.
    pub last_used_at: String,
    /// RFC 3339: when the grant ends unless refreshed.
    pub expires_at: String,
    /// The code has not been redeemed yet.
    pub pending: bool,
}

/// A token's parts: the grant it names and its secret.
fn split<'a>(token: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let (grant, secret) = token.strip_prefix(prefix)?.split_once('.')?;
    let shaped = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (shaped(grant, 22) && shaped(secret, 43)).then_some((grant, secret))
}

fn random(bytes: usize) -> Result<String, OAuthError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|_| {
        OAuthError::Server(crate::store::StoreError::Io(
            "no randomness available".into(),
        ))
    })?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored` (hex), in constant time.
fn matches(secret: &str, stored: &str) -> bool {
    let presented: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    let mut expected = [0u8; 32];
    hex::decode_to_slice(stored, &mut expected).is_ok() && digests_equal(&presented, &expected)
}

/// Whether `value` is a token this server issues (any kind): the `/mcp` face asks before it
/// tries it as an API key.
pub fn is_access_token(value: &str) -> bool {
    value.starts_with(ACCESS_PREFIX)
}

/// Issues the code for a consent the tenant gave, and the URL the browser goes back to.
pub async fn consent(
    state: &App,
    tenant: &str,
    granted_by: &str,
    request: &AuthorizationRequest,
    now: u64,
) -> Result<String, OAuthError> {
    let id = random(16)?;
    let secret = random(32)?;
    let grant = McpGrant {
        id: id.clone(),
        tenant: tenant.to_owned(),
        granted_by: granted_by.to_owned(),
        client_id: request.client.id.clone(),
        client_name: request.client.name.clone(),
        redirect_uri: request.redirect_uri.clone(),
        resource: request.resource.clone(),
        scope: request.scope.clone(),
        created_at: now,
        generation: 0,
        code: Some(PendingCode {
            digest: digest(&secret),
            challenge: request.challenge.clone(),
            expires_at: now + CODE_TTL_SECS,
        }),
        access: None,
        refresh: None,
        expires_at: now + CODE_TTL_SECS,
        last_used_at: now,
    };
    let settings = &state.settings.mcp_authorization;
    state
        .store
        .create_mcp_grant(&grant, settings.max_grants_per_tenant)
        .await?;
    let _ = state
        .store
        .audit(
            Some(tenant),
            granted_by,
            "mcp_client.authorized",
            &id,
            serde_json::json!({
                "client_id": grant.client_id,
                "client_name": grant.client_name,
                "resource": grant.resource,
                "scope": grant.scope,
            }),
        )
        .await;
    let mut url = url::Url::parse(&request.redirect_uri)
        .map_err(|e| OAuthError::InvalidRequest(format!("redirect_uri: {e}")))?;
    url.query_pairs_mut()
        .append_pair("code", &format!("{CODE_PREFIX}{id}.{secret}"));
    if let Some(client_state) = &request.state {
        url.query_pairs_mut().append_pair("state", client_state);
    }
    url.query_pairs_mut()
        .append_pair("iss", &super::issuer(&state.public_url));
    Ok(url.into())
}

/// Answers a token request: `authorization_code` or `refresh_token`.
pub async fn token(state: &App, request: TokenRequest, now: u64) -> Result<Issued, OAuthError> {
    match request.grant_type.as_deref() {
        Some("authorization_code") => redeem_code(state, request, now).await,
        Some("refresh_token") => refresh(state, request, now).await,
        Some(other) => Err(OAuthError::UnsupportedGrantType(format!(
            "grant_type `{other}` is not supported; use authorization_code or refresh_token"
        ))),
        None => Err(OAuthError::InvalidRequest("grant_type is missing".into())),
    }
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::InvalidRequest(format!("{name} is missing")))
}

/// Checks a token request's `resource`, when it names one, against the grant's.
fn check_resource(state: &App, asked: Option<&str>, grant: &McpGrant) -> Result<(), OAuthError> {
    let Some(asked) = asked.filter(|r| !r.is_empty()) else {
        return Ok(());
    };
    let (path, _) = super::request::resource(&state.public_url, Some(asked))?;
    if path == grant.resource {
        Ok(())
    } else {
        Err(OAuthError::InvalidTarget(
            "resource is not the one the tenant consented to".into(),
        ))
    }
}

async fn redeem_code(state: &App, request: TokenRequest, now: u64) -> Result<Issued, OAuthError> {
    let code = required(&request.code, "code")?;
    let client_id = required(&request.client_id, "client_id")?;
    let verifier = required(&request.code_verifier, "code_verifier")?;
    let invalid = |why: &str| OAuthError::InvalidGrant(why.to_owned());
    let (id, secret) = split(code, CODE_PREFIX).ok_or_else(|| invalid("the code is not valid"))?;
    let grant = state
        .store
        .mcp_grant(id)
        .await?
        .ok_or_else(|| invalid("the code is not valid"))?;
    let Some(pending) = grant.code.clone() else {
        // Redeemed before: whoever holds this code now, the tokens it gave are revoked.
        revoke_for_reuse(state, &grant, "code_replayed").await;
        return Err(invalid(
            "the code was already used; every token it issued is revoked",
        ));
    };
    if !matches(secret, &pending.digest) {
        return Err(invalid("the code is not valid"));
    }
    if pending.expires_at <= now {
        return Err(invalid("the code expired; authorize again"));
    }
    if grant.client_id != client_id {
        return Err(invalid("the code was issued to another client"));
    }
    if request.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
        return Err(invalid(
            "redirect_uri is not the one the authorization request named",
        ));
    }
    let derived = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let verifier_shaped = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !verifier_shaped || derived != pending.challenge {
        return Err(invalid(
            "the PKCE code_verifier does not match the challenge",
        ));
    }
    check_resource(state, request.resource.as_deref(), &grant)?;
    issue(state, grant, now).await
}

async fn refresh(state: &App, request: TokenRequest, now: u64) -> Result<Issued, OAuthError> {
    let token = required(&request.refresh_token, "refresh_token")?;
    let invalid = |why: &str| OAuthError::InvalidGrant(why.to_owned());
    let (id, secret) =
        split(token, REFRESH_PREFIX).ok_or_else(|| invalid("the refresh token is not valid"))?;
    let grant = state
        .store
        .mcp_grant(id)
        .await?
        .ok_or_else(|| invalid("the refresh token is not valid (revoked or expired)"))?;
    if let Some(client_id) = request.client_id.as_deref()
        && client_id != grant.client_id
    {
        return Err(invalid("the refresh token was issued to another client"));
    }
    let current = grant.refresh.clone();
    let Some(current) = current.filter(|current| matches(secret, &current.digest)) else {
        // A refresh token of this grant, but not the one in force: it was used before.
        revoke_for_reuse(state, &grant, "refresh_reused").await;
        return Err(invalid(
            "the refresh token was already used; the grant is revoked and the tenant must authorize again",
        ));
    };
    if current.expires_at <= now {
        return Err(invalid("the refresh token expired; authorize again"));
    }
    check_resource(state, request.resource.as_deref(), &grant)?;
    issue(state, grant, now).await
}

/// Replaces the grant's code or tokens with a fresh pair, if nobody else did first.
async fn issue(state: &App, mut grant: McpGrant, now: u64) -> Result<Issued, OAuthError> {
    let settings = &state.settings.mcp_authorization;
    let access = random(32)?;
    let refresh = random(32)?;
    let access_ttl = settings.access_token_ttl.as_secs().max(1);
    let refresh_expires = now + settings.refresh_token_ttl.as_secs().max(1);
    grant.code = None;
    grant.access = Some(IssuedToken {
        digest: digest(&access),
        expires_at: now + access_ttl,
    });
    grant.refresh = Some(IssuedToken {
        digest: digest(&refresh),
        expires_at: refresh_expires,
    });
    grant.expires_at = refresh_expires;
    grant.last_used_at = now;
    grant.generation += 1;
    if !state.store.replace_mcp_grant(&grant).await? {
        // Two requests redeemed the same code or refresh token at once: one of them is not
        // the client.
        revoke_for_reuse(state, &grant, "raced").await;
        return Err(OAuthError::InvalidGrant(
            "the code or refresh token was used twice at once; the grant is revoked".into(),
        ));
    }
    Ok(Issued {
        access_token: format!("{ACCESS_PREFIX}{}.{access}", grant.id),
        token_type: "Bearer",
        expires_in: access_ttl,
        refresh_token: format!("{REFRESH_PREFIX}{}.{refresh}", grant.id),
        scope: grant.scope,
    })
}

async fn revoke_for_reuse(state: &App, grant: &McpGrant, reason: &'static str) {
    if let Err(error) = state.store.delete_mcp_grant(&grant.tenant, &grant.id).await {
        tracing::warn!(%error, grant = %grant.id, "could not revoke a reused grant");
    }
    tracing::warn!(grant = %grant.id, tenant = %grant.tenant, reason, "an MCP client's grant was revoked: a code or refresh token was used twice");
    let _ = state
        .store
        .record_audit(crate::store::NewAuditEvent {
            tenant: Some(&grant.tenant),
            actor: &format!("{ACTOR_PREFIX}{}", grant.id),
            action: "mcp_client.revoked",
            target: &grant.id,
            outcome: crate::store::AuditOutcome::Failure,
            details: serde_json::json!({ "reason": reason, "client_id": grant.client_id }),
        })
        .await;
}

/// Why an access token is refused on `/mcp`.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Not a token of this server, revoked, or expired.
    #[error("{0}")]
    Invalid(&'static str),
    /// A good token for another MCP endpoint.
    #[error("the access token is for another MCP endpoint ({0})")]
    OtherResource(String),
    /// The store failed.
    #[error("the token could not be checked")]
    Store(#[from] crate::store::StoreError),
}

/// The tenant an access token speaks for, when it is for the endpoint at `path`.
pub async fn authenticate(
    state: &App,
    token: &str,
    path: &str,
    now: u64,
) -> Result<Authorized, AccessError> {
    let (id, secret) =
        split(token, ACCESS_PREFIX).ok_or(AccessError::Invalid("the access token is not valid"))?;
    let grant = state
        .store
        .mcp_grant(id)
        .await?
        .ok_or(AccessError::Invalid(
            "the access token is not valid (revoked?)",
        ))?;
    let access = grant
        .access
        .as_ref()
        .filter(|access| matches(secret, &access.digest))
        .ok_or(AccessError::Invalid("the access token is not valid"))?;
    if access.expires_at <= now {
        return Err(AccessError::Invalid("the access token expired; refresh it"));
    }
    if grant.resource != path.trim_end_matches('/') {
        return Err(AccessError::OtherResource(grant.resource));
    }
    Ok(Authorized {
        pack: super::pack_of_scope(&grant.scope).map(str::to_owned),
        caller: TenantCaller {
            tenant: grant.tenant,
            actor: format!("{ACTOR_PREFIX}{}", grant.id),
        },
    })
}

/// Who an access token speaks for, and the pack its scope limits it to.
#[derive(Debug)]
pub struct Authorized {
    /// The tenant, and the grant as actor.
    pub caller: TenantCaller,
    /// The `pack:{name}` scope's pack, if the grant has one.
    pub pack: Option<String>,
}

/// RFC 7009: revokes the grant a token of it belongs to; unknown tokens are no error.
pub async fn revoke_token(state: &App, token: &str) -> Result<(), OAuthError> {
    let found = split(token, ACCESS_PREFIX)
        .map(|(id, secret)| (id, secret, true))
        .or_else(|| split(token, REFRESH_PREFIX).map(|(id, secret)| (id, secret, false)));
    let Some((id, secret, access)) = found else {
        return Ok(());
    };
    let Some(grant) = state.store.mcp_grant(id).await? else {
        return Ok(());
    };
    let held = if access {
        &grant.access
    } else {
        &grant.refresh
    };
    if held.as_ref().is_some_and(|t| matches(secret, &t.digest)) {
        state
            .store
            .delete_mcp_grant(&grant.tenant, &grant.id)
            .await?;
        let _ = state
            .store
            .audit(
                Some(&grant.tenant),
                &format!("{ACTOR_PREFIX}{}", grant.id),
                "mcp_client.revoked",
                &grant.id,
                serde_json::json!({ "reason": "client_revoked", "client_id": grant.client_id }),
            )
            .await;
    }
    Ok(())
}

/// The tenant's authorized clients.
pub async fn list(state: &App, tenant: &str) -> Result<Vec<GrantView>, crate::error::ApiError> {
    let time = |secs: u64| crate::store::rfc3339_of_ms(secs * 1000);
    Ok(state
        .store
        .mcp_grants(tenant)
        .await?
        .into_iter()
        .map(|grant| GrantView {
            redirect_host: url::Url::parse(&grant.redirect_uri)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| grant.redirect_uri.clone()),
            resource: format!("{}{}", super::issuer(&state.public_url), grant.resource),
            pending: grant.code.is_some(),
            created_at: time(grant.created_at),
            last_used_at: time(grant.last_used_at),
            expires_at: time(grant.expires_at),
            id: grant.id,
            client_id: grant.client_id,
            client_name: grant.client_name,
            scope: grant.scope,
            granted_by: grant.granted_by,
        })
        .collect())
}

/// Revokes one of the tenant's grants: its tokens stop working at once, on every host.
pub async fn revoke(
    state: &App,
    caller: &TenantCaller,
    id: &str,
) -> Result<(), crate::error::ApiError> {
    if !state.store.delete_mcp_grant(&caller.tenant, id).await? {
        return Err(crate::error::ApiError::new(
            crate::error::ErrorCode::NotFound,
            format!("no authorized client `{id}`"),
        ));
    }
    let _ = state
        .store
        .audit(
            Some(&caller.tenant),
            &caller.actor,
            "mcp_client.revoked",
            id,
            serde_json::json!({ "reason": "tenant_revoked" }),
        )
        .await;
    Ok(())
}

/// Whether the tenant still holds a grant for `client_id` (a registration older than its
/// TTL stays usable for a client the tenant authorized before).
pub async fn holds_grant_for(
    state: &App,
    tenant: &str,
    client_id: &str,
) -> Result<bool, crate::store::StoreError> {
    Ok(state
        .store
        .mcp_grants(tenant)
        .await?
        .iter()
        .any(|grant| grant.client_id == client_id && grant.code.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_shaped_tokens_are_looked_up() {
        let grant = "a".repeat(22);
        let secret = "b".repeat(43);
        let token = format!("{ACCESS_PREFIX}{grant}.{secret}");
        assert_eq!(
            split(&token, ACCESS_PREFIX),
            Some((grant.as_str(), secret.as_str()))
        );
        assert_eq!(split(&token, REFRESH_PREFIX), None);
        assert_eq!(
            split(&format!("{ACCESS_PREFIX}{grant}.x"), ACCESS_PREFIX),
            None
        );
        assert_eq!(
            split(&format!("{ACCESS_PREFIX}{grant}"), ACCESS_PREFIX),
            None
        );
        assert_eq!(
            split(
                &format!("{ACCESS_PREFIX}../{}.{secret}", "a".repeat(19)),
                ACCESS_PREFIX
            ),
            None
        );
    }

    #[test]
    fn a_secret_matches_only_its_own_digest() {
        let stored = digest("secret-one");
        assert!(matches("secret-one", &stored));
        assert!(!matches("secret-two", &stored));
        assert!(!matches("secret-one", "not hex"));
    }
}
