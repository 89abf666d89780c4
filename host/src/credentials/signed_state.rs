//! The OAuth `state` parameter: claims plus an HMAC-SHA256 over them, so a forged or altered
//! state is refused before any lookup.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a state asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateClaims {
    /// The pending session, looked up (and consumed) only after the signature checks.
    pub session: String,
    pub tenant: String,
    /// Unix seconds.
    pub expires_at: u64,
}

/// Why a state was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("the state parameter is malformed")]
    Malformed,
    #[error("the state parameter was not issued by this host")]
    Forged,
    #[error("the authorization expired; start again")]
    Expired,
    #[error("the state could not be signed")]
    Unsigned,
}

fn mac(key: &[u8], payload: &[u8]) -> Result<Hmac<Sha256>, StateError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| StateError::Unsigned)?;
    mac.update(payload);
    Ok(mac)
}

/// `base64url(claims JSON).base64url(hmac)`.
pub fn sign(key: &[u8], claims: &StateClaims) -> Result<String, StateError> {
    let payload =
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).map_err(|_| StateError::Unsigned)?);
    let tag = URL_SAFE_NO_PAD.encode(mac(key, payload.as_bytes())?.finalize().into_bytes());
    Ok(format!("{payload}.{tag}"))
}

/// Checks the signature (in constant time), then the expiry.
pub fn verify(key: &[u8], state: &str, now: u64) -> Result<StateClaims, StateError> {
    let (payload, tag) = state.split_once('.').ok_or(StateError::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| StateError::Malformed)?;
    mac(key, payload.as_bytes())?
        .verify_slice(&tag)
        .map_err(|_| StateError::Forged)?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| StateError::Malformed)?;
    let claims: StateClaims = serde_json::from_slice(&json).map_err(|_| StateError::Malformed)?;
    if claims.expires_at <= now {
        return Err(StateError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claims() -> StateClaims {
        StateClaims {
            session: "s1".into(),
            tenant: "acme".into(),
            expires_at: 1_000,
        }
    }

    #[test]
    fn a_signed_state_verifies_until_it_expires() {
        let state = sign(KEY, &claims()).unwrap();
        assert_eq!(verify(KEY, &state, 999).unwrap(), claims());
        assert_eq!(verify(KEY, &state, 1_000), Err(StateError::Expired));
    }

    #[test]
    fn altered_or_foreign_states_are_forged() {
        let state = sign(KEY, &claims()).unwrap();
        let (payload, tag) = state.split_once('.').unwrap();
        let other = StateClaims {
            tenant: "evil".into(),
            ..claims()
        };
        let swapped = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap())
        );
        assert_eq!(verify(KEY, &swapped, 0), Err(StateError::Forged));
        assert_eq!(verify(b"another key", &state, 0), Err(StateError::Forged));
        assert_eq!(verify(KEY, payload, 0), Err(StateError::Malformed));
        assert_eq!(verify(KEY, "x.!!", 0), Err(StateError::Malformed));
    }
}
