//! Optional ed25519 plugin signing. A signature is over the 32 raw bytes of the component's
//! sha256 digest (so signing a large plugin hashes it once), base64-encoded; the operator lists
//! the public keys it trusts.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};

/// Why a signature was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// No signature, and one is required.
    #[error("the plugin is not signed, and this host requires signed plugins")]
    Missing,
    /// Not base64 of 64 bytes.
    #[error("the signature is not base64 of 64 bytes")]
    Malformed,
    /// No trusted key verifies it.
    #[error("the signature does not verify against any trusted key")]
    Untrusted,
    /// A signature, but no trusted keys to check it.
    #[error("a signature was given, but no trusted keys are configured to check it")]
    NoTrustedKeys,
}

/// The public keys whose signatures the host accepts.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<VerifyingKey>,
}

impl TrustedKeys {
    /// Parses base64 (standard alphabet) ed25519 public keys of 32 bytes.
    pub fn parse(encoded: &[String]) -> anyhow::Result<Self> {
        let keys = encoded
            .iter()
            .map(|text| {
                let bytes: [u8; 32] = STANDARD
                    .decode(text.trim())
                    .ok()
                    .and_then(|bytes| bytes.try_into().ok())
                    .ok_or_else(|| {
                        anyhow::anyhow!("trusted plugin key `{text}` is not base64 of 32 bytes")
                    })?;
                VerifyingKey::from_bytes(&bytes).map_err(|_| {
                    anyhow::anyhow!("trusted plugin key `{text}` is not an ed25519 public key")
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { keys })
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks `signature` (base64) over the digest whose hex is `sha256`; returns the id of the
    /// key that verified it.
    pub fn verify(&self, sha256: &str, signature: &str) -> Result<String, SignatureError> {
        if self.keys.is_empty() {
            return Err(SignatureError::NoTrustedKeys);
        }
        let digest = hex::decode(sha256).map_err(|_| SignatureError::Malformed)?;
        let signature: [u8; 64] = STANDARD
            .decode(signature.trim())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(SignatureError::Malformed)?;
        let signature = Signature::from_bytes(&signature);
        self.keys
            .iter()
            .find(|key| key.verify(&digest, &signature).is_ok())
            .map(key_id)
            .ok_or(SignatureError::Untrusted)
    }
}

/// Short id of a public key: the first 16 hex digits of its bytes.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&key.as_bytes()[..8])
}

/// A new signing key: (secret, public), both base64.
pub fn generate_key() -> anyhow::Result<(String, String)> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|_| anyhow::anyhow!("no randomness available"))?;
    let key = SigningKey::from_bytes(&secret);
    Ok((
        STANDARD.encode(secret),
        STANDARD.encode(key.verifying_key().as_bytes()),
    ))
}

/// Signs the sha256 (hex) of a component with a base64 secret key; returns the base64 signature.
pub fn sign(secret: &str, sha256: &str) -> anyhow::Result<String> {
    let secret: [u8; 32] = STANDARD
        .decode(secret.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("the signing key is not base64 of 32 bytes"))?;
    let digest = hex::decode(sha256)?;
    let signature = SigningKey::from_bytes(&secret).sign(&digest);
    Ok(STANDARD.encode(signature.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_verifies_only_with_the_trusted_key_and_digest() {
        let (secret, public) = generate_key().expect("key");
        let (_, other_public) = generate_key().expect("key");
        let digest = "ab".repeat(32);
        let signature = sign(&secret, &digest).expect("sign");
        let trusted = TrustedKeys::parse(&[public]).expect("parse");
        assert!(trusted.verify(&digest, &signature).is_ok());
        assert!(matches!(
            trusted.verify(&"cd".repeat(32), &signature),
            Err(SignatureError::Untrusted)
        ));
        let stranger = TrustedKeys::parse(&[other_public]).expect("parse");
        assert!(matches!(
            stranger.verify(&digest, &signature),
            Err(SignatureError::Untrusted)
        ));
        assert!(matches!(
            trusted.verify(&digest, "not base64!"),
            Err(SignatureError::Malformed)
        ));
        assert!(TrustedKeys::parse(&["c2hvcnQ=".into()]).is_err());
    }
}
