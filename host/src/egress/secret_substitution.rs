//! A secret the host writes into a plugin's request in place of a placeholder: the signing
//! secret of a vendor webhook the plugin registers (GitHub's hook `config.secret`). The plugin
//! only ever holds the placeholder; the secret goes only where the connection's credential may
//! go, and is turned back into the placeholder in any response the vendor echoes it in.

use secrecy::{ExposeSecret as _, SecretString};

/// The placeholder and the secret that replaces it.
#[derive(Clone)]
pub struct SecretSubstitution {
    /// The text the plugin writes where the secret goes.
    pub placeholder: String,
    /// The secret written in its place.
    pub secret: SecretString,
}

impl std::fmt::Debug for SecretSubstitution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretSubstitution")
            .field("placeholder", &self.placeholder)
            .finish_non_exhaustive()
    }
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Option<Vec<u8>> {
    if from.is_empty() || haystack.len() < from.len() {
        return None;
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    let mut found = false;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
            found = true;
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    found.then_some(out)
}

impl SecretSubstitution {
    /// Whether `body` holds the placeholder.
    pub fn applies_to(&self, body: &[u8]) -> bool {
        !self.placeholder.is_empty()
            && body
                .windows(self.placeholder.len())
                .any(|w| w == self.placeholder.as_bytes())
    }

    /// `body` with the secret in place of the placeholder.
    pub fn fill(&self, body: &[u8]) -> Vec<u8> {
        replace(
            body,
            self.placeholder.as_bytes(),
            self.secret.expose_secret().as_bytes(),
        )
        .unwrap_or_else(|| body.to_vec())
    }

    /// `body` with the placeholder in place of any echo of the secret.
    pub fn scrub(&self, body: Vec<u8>) -> Vec<u8> {
        replace(
            &body,
            self.secret.expose_secret().as_bytes(),
            self.placeholder.as_bytes(),
        )
        .unwrap_or(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_and_scrubs() {
        let sub = SecretSubstitution {
            placeholder: "{{ph}}".into(),
            secret: SecretString::from("s3cret"),
        };
        let body = br#"{"config":{"secret":"{{ph}}"}}"#;
        assert!(sub.applies_to(body));
        let filled = sub.fill(body);
        assert_eq!(filled, br#"{"config":{"secret":"s3cret"}}"#);
        assert_eq!(sub.scrub(filled), body.to_vec());
        assert!(!sub.applies_to(b"nothing here"));
    }
}
