//! A tool call that waits for the person (to connect an account, or to confirm a call the
//! policy holds) resumes with a state the host sealed when it asked: AES-GCM under a key
//! derived from the master key, bound to the tenant and the client (API key or authorization
//! grant) by its additional data, naming what it is for, the tool, a digest of the arguments,
//! an expiry and a nonce. Any host of a cluster opens it; the nonce is recorded in the store on
//! first use, so a state works once.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::app::App;
use crate::app::callers::TenantCaller;
use crate::error::{ApiError, ErrorCode};
use crate::store::{Aad, KeyRing, StoreError};

/// How long the person has to connect before the state expires.
pub const RESUMPTION_TTL: Duration = Duration::from_secs(30 * 60);

/// How long a confirmation stays good.
pub const CONFIRMATION_TTL: Duration = Duration::from_secs(5 * 60);

/// What the person is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// To connect an account (or authorize it again).
    Connect,
    /// To confirm a call a policy rule holds.
    Confirm,
}

impl Purpose {
    fn ttl(self) -> Duration {
        match self {
            Self::Connect => RESUMPTION_TTL,
            Self::Confirm => CONFIRMATION_TTL,
        }
    }
}

/// Longest state accepted back (a sealed state is a few hundred bytes).
const MAX_STATE_LEN: usize = 2048;

/// The store scope of used nonces (kept until their state's expiry).
const NONCE_SCOPE: &str = "tool-resumption";

/// What a state says, sealed.
#[derive(Serialize, Deserialize)]
struct Claims {
    /// What it was issued for.
    purpose: Purpose,
    /// The tool.
    tool: String,
    /// SHA-256 (hex) of the arguments, keys sorted.
    args: String,
    /// Expiry, Unix milliseconds.
    exp: u64,
    /// Random, recorded on first use.
    nonce: String,
}

/// Why a state is refused.
#[derive(Debug, thiserror::Error)]
pub enum ResumptionError {
    /// Not a state this host sealed for this tenant and client (forged, altered, or another
    /// tenant's or client's).
    #[error("the requestState or confirmation_token is not one this host issued to you")]
    Foreign,
    /// Sealed for another tool or other arguments.
    #[error(
        "the requestState or confirmation_token was issued for another call; retry with the same tool and arguments"
    )]
    OtherCall,
    /// Past its expiry.
    #[error("the requestState or confirmation_token expired; call the tool again")]
    Expired,
    /// Used before.
    #[error("the requestState or confirmation_token was already used; call the tool again")]
    Replayed,
    /// The store could not record the nonce.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn aad(caller: &TenantCaller) -> Aad {
    Aad::new(&caller.tenant, &caller.actor, "tool-resumption")
}

/// A new state for `caller`'s call of `tool` with `arguments`.
pub fn issue(
    state: &App,
    caller: &TenantCaller,
    purpose: Purpose,
    tool: &str,
    arguments: &Value,
    now_ms: u64,
) -> anyhow::Result<String> {
    seal(state.store.keys(), caller, purpose, tool, arguments, now_ms)
}

/// A confirmation token for `caller`'s held call of `tool` with `arguments`, which REST and
/// the console hand out and take back; 500 in the envelope when it cannot be sealed.
pub fn confirmation_token(
    state: &App,
    caller: &TenantCaller,
    tool: &str,
    arguments: &Value,
) -> Result<String, ApiError> {
    issue(
        state,
        caller,
        Purpose::Confirm,
        tool,
        arguments,
        crate::credentials::unix_now() * 1000,
    )
    .map_err(|error| {
        tracing::error!(%error, "could not seal a confirmation token");
        ApiError::new(
            ErrorCode::InternalError,
            "could not issue a confirmation token",
        )
    })
}

fn seal(
    keys: &KeyRing,
    caller: &TenantCaller,
    purpose: Purpose,
    tool: &str,
    arguments: &Value,
    now_ms: u64,
) -> anyhow::Result<String> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|_| anyhow::anyhow!("no randomness"))?;
    let claims = Claims {
        purpose,
        tool: tool.to_owned(),
        args: digest(arguments),
        exp: now_ms + purpose.ttl().as_millis() as u64,
        nonce: URL_SAFE_NO_PAD.encode(nonce),
    };
    let sealed = keys.seal(&aad(caller), &serde_json::to_vec(&claims)?)?;
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

/// Opens `text` for `caller`'s call of `tool` with `arguments`, spends it, and says what it
/// was issued for.
pub async fn redeem(
    state: &App,
    caller: &TenantCaller,
    text: &str,
    tool: &str,
    arguments: &Value,
    now_ms: u64,
) -> Result<Purpose, ResumptionError> {
    let claims = open(state.store.keys(), caller, text, tool, arguments, now_ms)?;
    if !state
        .store
        .first_delivery(NONCE_SCOPE, &claims.nonce, now_ms, claims.exp)
        .await?
    {
        return Err(ResumptionError::Replayed);
    }
    Ok(claims.purpose)
}

/// What a state says, when it is `caller`'s, for this call, and unexpired.
fn open(
    keys: &KeyRing,
    caller: &TenantCaller,
    text: &str,
    tool: &str,
    arguments: &Value,
    now_ms: u64,
) -> Result<Claims, ResumptionError> {
    if text.len() > MAX_STATE_LEN {
        return Err(ResumptionError::Foreign);
    }
    let sealed = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| ResumptionError::Foreign)?;
    let plain = keys
        .open(&aad(caller), &sealed)
        .map_err(|_| ResumptionError::Foreign)?;
    let claims: Claims = serde_json::from_slice(&plain).map_err(|_| ResumptionError::Foreign)?;
    if claims.tool != tool || claims.args != digest(arguments) {
        return Err(ResumptionError::OtherCall);
    }
    if claims.exp <= now_ms {
        return Err(ResumptionError::Expired);
    }
    Ok(claims)
}

/// SHA-256 of the arguments written with every object's keys sorted, so the digest does not
/// depend on the order a client sends them in.
fn digest(arguments: &Value) -> String {
    let mut hasher = Sha256::new();
    feed(&mut hasher, arguments);
    hex::encode(hasher.finalize())
}

fn feed(hasher: &mut Sha256, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            hasher.update(b"{");
            for key in keys {
                feed(hasher, &Value::String(key.clone()));
                hasher.update(b":");
                feed(hasher, &map[key]);
                hasher.update(b",");
            }
            hasher.update(b"}");
        }
        Value::Array(items) => {
            hasher.update(b"[");
            for item in items {
                feed(hasher, item);
                hasher.update(b",");
            }
            hasher.update(b"]");
        }
        // Scalars as JSON: strings quoted and escaped, so no two values write the same.
        scalar => hasher.update(scalar.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn caller(tenant: &str, actor: &str) -> TenantCaller {
        TenantCaller {
            tenant: tenant.into(),
            actor: actor.into(),
        }
    }

    #[test]
    fn a_state_opens_only_for_its_tenant_client_call_and_time() {
        let keys = KeyRing::from_keys(&[[3u8; 32]]).unwrap();
        let acme = caller("acme", "key:k1");
        let args = json!({"query": "bug"});
        let now = 1_000_000;
        let state = seal(&keys, &acme, Purpose::Connect, "jira.search", &args, now).unwrap();
        let opened = open(&keys, &acme, &state, "jira.search", &args, now + 1).unwrap();
        assert_eq!(opened.exp, now + RESUMPTION_TTL.as_millis() as u64);

        let refused = |result: Result<Claims, ResumptionError>| result.err().map(|e| e.to_string());
        let foreign = Some(ResumptionError::Foreign.to_string());
        assert_eq!(
            refused(open(
                &keys,
                &caller("initech", "key:k1"),
                &state,
                "jira.search",
                &args,
                now
            )),
            foreign,
            "another tenant"
        );
        assert_eq!(
            refused(open(
                &keys,
                &caller("acme", "key:k2"),
                &state,
                "jira.search",
                &args,
                now
            )),
            foreign,
            "another client of the tenant"
        );
        let other_keys = KeyRing::from_keys(&[[4u8; 32]]).unwrap();
        assert_eq!(
            refused(open(&other_keys, &acme, &state, "jira.search", &args, now)),
            foreign,
            "another host's keys"
        );
        let mut altered = state.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(
            refused(open(&keys, &acme, &altered, "jira.search", &args, now)),
            foreign,
            "altered"
        );
        assert_eq!(
            refused(open(
                &keys,
                &acme,
                &"A".repeat(4000),
                "jira.search",
                &args,
                now
            )),
            foreign,
            "oversized"
        );

        let other_call = Some(ResumptionError::OtherCall.to_string());
        assert_eq!(
            refused(open(&keys, &acme, &state, "jira.delete_issue", &args, now)),
            other_call
        );
        assert_eq!(
            refused(open(
                &keys,
                &acme,
                &state,
                "jira.search",
                &json!({"query": "x"}),
                now
            )),
            other_call
        );

        let expired = Some(ResumptionError::Expired.to_string());
        let after = now + RESUMPTION_TTL.as_millis() as u64;
        assert_eq!(
            refused(open(&keys, &acme, &state, "jira.search", &args, after)),
            expired
        );
    }

    #[test]
    fn the_digest_ignores_key_order_but_not_values() {
        let a = digest(&json!({"query": "bug", "limit": 5, "nested": {"x": 1, "y": [1, 2]}}));
        let b = digest(&json!({"nested": {"y": [1, 2], "x": 1}, "limit": 5, "query": "bug"}));
        assert_eq!(a, b);
        assert_ne!(
            a,
            digest(&json!({"query": "bug", "limit": 6, "nested": {"x": 1, "y": [1, 2]}}))
        );
        assert_ne!(
            digest(&json!({"a": "b,c"})),
            digest(&json!({"a": "b", "c": null}))
        );
        assert_ne!(digest(&json!([1, 2])), digest(&json!([2, 1])));
    }
}
