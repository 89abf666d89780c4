//! Who is calling: the operator (admin token) on `/admin/v1`, a tenant (API key) on `/api/v1`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use super::{ApiError, AppState, ErrorCode};

/// Prefix of tenant API keys, so a leaked key is recognisable in scanners.
pub const API_KEY_PREFIX: &str = "chk_";

/// How callers are authenticated.
#[derive(Clone)]
pub struct AuthSettings {
    /// SHA-256 of the admin token; the token itself is not kept in memory.
    pub admin_token_sha256: [u8; 32],
    /// Trust `X-Tenant-Id` from a gateway instead of API keys. Default: false.
    pub trust_tenant_header: bool,
}

impl AuthSettings {
    pub fn new(admin_token: &str, trust_tenant_header: bool) -> Self {
        Self {
            admin_token_sha256: Sha256::digest(admin_token.as_bytes()).into(),
            trust_tenant_header,
        }
    }
}

/// The operator, proven by the admin token.
pub struct Admin;

/// A tenant, proven by one of its API keys (or by the gateway header when trusted).
#[derive(Debug, Clone)]
pub struct TenantCaller {
    pub tenant: String,
    /// `key:<id>` or `gateway`, for the audit log.
    pub actor: String,
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, message)
}

/// Compares digests in constant time, so timing does not reveal how much of a token matched.
fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)
            .ok_or_else(|| unauthorized("send the admin token as `Authorization: Bearer ...`"))?;
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if digests_equal(&digest, &state.auth.admin_token_sha256) {
            Ok(Admin)
        } else {
            Err(unauthorized("the admin token is not valid"))
        }
    }
}

impl FromRequestParts<AppState> for TenantCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.auth.trust_tenant_header
            && let Some(tenant) = parts
                .headers
                .get("x-tenant-id")
                .and_then(|v| v.to_str().ok())
        {
            return match state.store.tenant(tenant)? {
                Some(t) => Ok(TenantCaller {
                    tenant: t.id,
                    actor: "gateway".into(),
                }),
                None => Err(unauthorized("unknown tenant in X-Tenant-Id")),
            };
        }
        let key = bearer(parts)
            .ok_or_else(|| unauthorized("send a tenant API key as `Authorization: Bearer ...`"))?;
        match state.store.api_key(key)? {
            Some(record) => Ok(TenantCaller {
                tenant: record.tenant,
                actor: format!("key:{}", record.id),
            }),
            None => Err(unauthorized("the API key is not valid")),
        }
    }
}
