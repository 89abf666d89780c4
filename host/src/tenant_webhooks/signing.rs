//! Standard Webhooks signatures: `v1,` and base64 of HMAC-SHA256 over `id.timestamp.body`,
//! keyed by the bytes of a `whsec_` secret; several space-separated during a rotation.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// Prefix of a secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A fresh secret: `whsec_` and base64 of 32 random bytes.
pub fn new_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| anyhow::anyhow!("no randomness available"))?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

/// The signature of one message under one secret: `v1,<base64>`.
pub fn sign(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> anyhow::Result<String> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|_| anyhow::anyhow!("a webhook secret is not base64"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|_| anyhow::anyhow!("a webhook secret has an unusable length"))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header: one signature per secret, space-separated.
pub fn signature_header(
    secrets: &[&str],
    id: &str,
    timestamp: u64,
    body: &[u8],
) -> anyhow::Result<String> {
    let signatures: Vec<String> = secrets
        .iter()
        .map(|secret| sign(secret, id, timestamp, body))
        .collect::<anyhow::Result<_>>()?;
    Ok(signatures.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks spec's reference libraries.
    #[test]
    fn matches_the_specs_test_vector() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_rotation_signs_with_both_secrets() {
        let old = new_secret().unwrap();
        let new = new_secret().unwrap();
        let header = signature_header(&[&new, &old], "msg_1", 1, b"{}").unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1], sign(&old, "msg_1", 1, b"{}").unwrap());
        assert_ne!(parts[0], parts[1]);
    }
}
