//! Who is calling: the operator (admin token) on `/admin/v1`, a tenant (API key) on `/api/v1`.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use super::App;
use crate::cluster_view::{ClusterView, check_shared_rate};
use crate::error::{ApiError, ErrorCode};
use crate::source_limit::{PeerAddr, refused};

/// Prefix of tenant API keys, so a leaked key is recognisable in scanners.
pub const API_KEY_PREFIX: &str = "chk_";

/// How callers are authenticated.
#[derive(Clone)]
pub struct AuthSettings {
    /// SHA-256 of the admin token; the token itself is not kept in memory.
    pub admin_token_sha256: [u8; 32],
    /// Trust `X-Tenant-Id` from a gateway instead of API keys. Default: false.
    pub trust_tenant_header: bool,
    /// SHA-256 of the secret the gateway sends in `X-Gateway-Secret`. Default: none.
    pub gateway_secret_sha256: Option<[u8; 32]>,
    /// Requests per API key (governor's GCRA, keyed by the key's id). Default: 50/s, burst 100.
    key_limiter: Arc<DefaultKeyedRateLimiter<String>>,
    /// The hosts the key rate is shared by: each request takes one cell per live host.
    cluster: Arc<ClusterView>,
}

/// How fast one API key may call.
#[derive(Debug, Clone, Copy)]
pub struct KeyRateLimit {
    /// Sustained requests per second. Default: 50.
    pub per_second: u32,
    /// Requests at once before the rate applies. Default: 100.
    pub burst: u32,
}

// Evaluated at compile time, so these can never fail at run time.
const DEFAULT_PER_SECOND: NonZeroU32 = NonZeroU32::new(50).expect("non-zero");
const DEFAULT_BURST: NonZeroU32 = NonZeroU32::new(100).expect("non-zero");

impl Default for KeyRateLimit {
    fn default() -> Self {
        Self {
            per_second: DEFAULT_PER_SECOND.get(),
            burst: DEFAULT_BURST.get(),
        }
    }
}

fn key_limiter(rate: KeyRateLimit) -> anyhow::Result<DefaultKeyedRateLimiter<String>> {
    let per_second = NonZeroU32::new(rate.per_second)
        .ok_or_else(|| anyhow::anyhow!("limits.api_key_requests_per_second must be at least 1"))?;
    let burst = NonZeroU32::new(rate.burst)
        .ok_or_else(|| anyhow::anyhow!("limits.api_key_burst must be at least 1"))?;
    Ok(RateLimiter::keyed(
        Quota::per_second(per_second).allow_burst(burst),
    ))
}

impl AuthSettings {
    /// Authentication with `admin_token` and no API-key rate limit beyond the defaults;
    /// `trust_tenant_header` lets a gateway name the tenant.
    pub fn new(admin_token: &str, trust_tenant_header: bool) -> Self {
        Self {
            admin_token_sha256: Sha256::digest(admin_token.as_bytes()).into(),
            trust_tenant_header,
            gateway_secret_sha256: None,
            key_limiter: Arc::new(RateLimiter::keyed(
                Quota::per_second(DEFAULT_PER_SECOND).allow_burst(DEFAULT_BURST),
            )),
            cluster: Arc::default(),
        }
    }

    /// Shares the key rate with the hosts `cluster` counts.
    pub fn with_cluster(mut self, cluster: Arc<ClusterView>) -> Self {
        self.cluster = cluster;
        self
    }

    /// Requires `X-Gateway-Secret` with `X-Tenant-Id`.
    pub fn with_gateway_secret(mut self, secret: Option<&str>) -> Self {
        self.gateway_secret_sha256 = secret.map(|s| Sha256::digest(s.as_bytes()).into());
        self
    }

    /// Sets the per-key request rate.
    pub fn with_key_rate(mut self, rate: KeyRateLimit) -> anyhow::Result<Self> {
        self.key_limiter = Arc::new(key_limiter(rate)?);
        Ok(self)
    }

    /// Takes one request from `key_id`'s allowance, or says how long to wait (whole seconds).
    /// On a shared store each request takes one cell per live host, so `n` hosts behind a
    /// balancer admit the configured rate between them.
    pub(crate) fn admit_key(&self, key_id: &str) -> Result<(), u64> {
        check_shared_rate(&self.key_limiter, &key_id.to_owned(), &self.cluster)
            .map_err(|wait| wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
    }
}

/// Whether `key` has the shape of a key this host issues: the prefix and the base64url of 32
/// bytes (43 characters). Checked before the store is asked.
fn looks_like_api_key(key: &str) -> bool {
    key.strip_prefix(API_KEY_PREFIX).is_some_and(|secret| {
        secret.len() == 43
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The operator, proven by the admin token.
pub struct Admin;

/// A tenant, proven by one of its API keys (or by the gateway header when trusted).
#[derive(Debug, Clone)]
pub struct TenantCaller {
    /// The tenant's id.
    pub tenant: String,
    /// `key:<id>` or `gateway`, for the audit log.
    pub actor: String,
}

impl TenantCaller {
    /// The id of the API key the caller authenticated with, if it used one.
    pub fn key_id(&self) -> Option<&str> {
        self.actor.strip_prefix("key:")
    }
}

/// The bearer token of a request, if it sent one.
pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
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
pub(crate) fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<App> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Self::Rejection> {
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

impl FromRequestParts<App> for TenantCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Self::Rejection> {
        if state.auth.trust_tenant_header
            && let Some(tenant) = parts
                .headers
                .get("x-tenant-id")
                .and_then(|v| v.to_str().ok())
        {
            if let Some(expected) = &state.auth.gateway_secret_sha256 {
                let presented = parts
                    .headers
                    .get("x-gateway-secret")
                    .map(|v| -> [u8; 32] { Sha256::digest(v.as_bytes()).into() });
                if !presented.is_some_and(|digest| digests_equal(&digest, expected)) {
                    return Err(unauthorized(
                        "X-Tenant-Id is trusted only with the gateway's X-Gateway-Secret",
                    ));
                }
            }
            return match state.store.tenant(tenant).await? {
                Some(t) => {
                    crate::telemetry::record_tenant(&t.id);
                    Ok(TenantCaller {
                        tenant: t.id,
                        actor: "gateway".into(),
                    })
                }
                None => Err(unauthorized("unknown tenant in X-Tenant-Id")),
            };
        }
        let key = bearer(parts)
            .ok_or_else(|| unauthorized("send a tenant API key as `Authorization: Bearer ...`"))?;
        // A source that sent too many wrong keys is refused before any lookup, and a bearer
        // that is not shaped like a key this host issues is refused without one.
        let PeerAddr(source) = PeerAddr::of(parts);
        let shut = state.auth_failures.is_shut(source);
        let lookup = match (looks_like_api_key(key), shut) {
            (false, _) => None,
            (true, false) => state.store.api_key(key).await?,
            // Keys this host already knows still work from a shut source (behind one NAT with
            // a guesser, say); anything else is refused without a round trip.
            (true, true) => state.store.api_key_if_local(key).await?,
        };
        if shut && lookup.is_none() {
            refused(&state.refusal_log, "api_key", "too_many_failures");
            let mut error = ApiError::new(
                ErrorCode::RateLimited,
                "too many requests with an API key that is not valid came from this address; slow down",
            );
            error.retry_after_secs = Some(1);
            return Err(error);
        }
        let record = match lookup {
            Some(record) if !record.expired(crate::credentials::unix_now()) => record,
            Some(_) => {
                state.auth_failures.failed(source);
                return Err(unauthorized("the API key has expired"));
            }
            None => {
                state.auth_failures.failed(source);
                return Err(unauthorized("the API key is not valid"));
            }
        };
        if let Err(wait_secs) = state.auth.admit_key(&record.id) {
            let mut error = ApiError::new(
                ErrorCode::RateLimited,
                "this API key sends requests faster than the host allows; slow down",
            );
            error.retry_after_secs = Some(wait_secs.max(1));
            return Err(error);
        }
        crate::telemetry::record_tenant(&record.tenant);
        Ok(TenantCaller {
            tenant: record.tenant,
            actor: format!("key:{}", record.id),
        })
    }
}
