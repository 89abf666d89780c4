//! AES-256-GCM sealing with a key-id prefix and additional authenticated data that binds each
//! ciphertext to its tenant, connection and field.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

/// Format version 1: sealed directly under a master key (still opened, never written).
pub(crate) const VERSION_MASTER: u8 = 1;
/// Format version 2: sealed under a key derived from the master key for the value's purpose.
pub(crate) const VERSION_DERIVED: u8 = 2;
/// Bytes of the key id after the version byte.
pub(crate) const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

/// What a sealed value is bound to. A ciphertext copied to another tenant, connection or field
/// fails to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aad {
    /// The tenant.
    pub tenant: String,
    /// The connection.
    pub connection: String,
    /// Which secret of it.
    pub field: String,
}

impl Aad {
    /// The binding of a secret to its tenant, connection and field.
    pub fn new(tenant: &str, connection: &str, field: &str) -> Self {
        Self {
            tenant: tenant.to_owned(),
            connection: connection.to_owned(),
            field: field.to_owned(),
        }
    }

    /// The sled key of a sealed value: `tenant/connection/field`.
    pub fn storage_key(&self) -> Vec<u8> {
        format!("{}/{}/{}", self.tenant, self.connection, self.field).into_bytes()
    }

    /// Parses a storage key back (tenant and connection ids never contain `/`; a field may).
    pub fn from_storage_key(key: &[u8]) -> Result<Self, SealError> {
        let text = std::str::from_utf8(key).map_err(|_| SealError::Malformed)?;
        let mut parts = text.splitn(3, '/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(tenant), Some(connection), Some(field)) => {
                Ok(Self::new(tenant, connection, field))
            }
            _ => Err(SealError::Malformed),
        }
    }

    /// What the value is for, which picks the derived key it is sealed under: a leaked key of
    /// one purpose opens nothing of another.
    pub(crate) fn purpose(&self) -> Purpose {
        match self.field.as_str() {
            "credential" => Purpose::Credentials,
            "oauth-session" => Purpose::OAuthSessions,
            // A sync's checkpoint holds the plugin's page cursor and the sync's time cursor.
            field if field.starts_with("cursor:") || field.starts_with("sync:") => Purpose::Cursors,
            field if field.starts_with("page:") => Purpose::PageCursors,
            _ => Purpose::HostSecrets,
        }
    }

    /// Length-prefixed so that `("ab","c")` and `("a","bc")` authenticate differently.
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for part in [&self.tenant, &self.connection, &self.field] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// The purposes sealing keys are derived for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Credentials,
    Cursors,
    PageCursors,
    OAuthSessions,
    /// OAuth apps' client secrets and the state-signing key.
    HostSecrets,
}

impl Purpose {
    pub(crate) const ALL: [Purpose; 5] = [
        Self::Credentials,
        Self::Cursors,
        Self::PageCursors,
        Self::OAuthSessions,
        Self::HostSecrets,
    ];

    /// The HKDF `info` of the purpose's key.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Credentials => "sealing/credentials",
            Self::Cursors => "sealing/cursors",
            Self::PageCursors => "sealing/page-cursors",
            Self::OAuthSessions => "sealing/oauth-sessions",
            Self::HostSecrets => "sealing/host-secrets",
        }
    }
}

/// Why a value could not be sealed or opened. Never carries key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The sealed value is not one this host wrote.
    #[error("sealed value is malformed")]
    Malformed,
    /// It was sealed under a key the ring does not hold.
    #[error("sealed with key {0}, which is not in the key ring")]
    UnknownKey(String),
    /// It does not open: altered, or bound to another place.
    #[error(
        "sealed value does not open: wrong key, or bound to another tenant, connection or field"
    )]
    Tampered,
    /// No randomness was available.
    #[error("the system random number generator failed")]
    Random,
}

pub(crate) fn seal(
    cipher: &Aes256Gcm,
    key_id: &[u8; KEY_ID_LEN],
    aad: &Aad,
    plain: &[u8],
) -> Result<Vec<u8>, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|_| SealError::Random)?;
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: &aad.bytes(),
            },
        )
        .map_err(|_| SealError::Tampered)?;
    let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
    out.push(VERSION_DERIVED);
    out.extend_from_slice(key_id);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// The format version a sealed value has.
pub(crate) fn version_of(sealed: &[u8]) -> Result<u8, SealError> {
    match sealed.first() {
        Some(&v @ (VERSION_MASTER | VERSION_DERIVED)) if sealed.len() >= HEADER_LEN + 16 => Ok(v),
        _ => Err(SealError::Malformed),
    }
}

/// The key id a sealed value names.
pub(crate) fn key_id_of(sealed: &[u8]) -> Result<[u8; KEY_ID_LEN], SealError> {
    version_of(sealed)?;
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&sealed[1..1 + KEY_ID_LEN]);
    Ok(id)
}

pub(crate) fn open(
    cipher: &Aes256Gcm,
    aad: &Aad,
    sealed: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>, SealError> {
    key_id_of(sealed)?;
    let nonce = &sealed[1 + KEY_ID_LEN..HEADER_LEN];
    let ciphertext = &sealed[HEADER_LEN..];
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad.bytes(),
            },
        )
        .map(zeroize::Zeroizing::new)
        .map_err(|_| SealError::Tampered)
}

#[cfg(test)]
mod tests {
    use aes_gcm::KeyInit;

    use super::*;

    fn cipher() -> Aes256Gcm {
        Aes256Gcm::new_from_slice(&[7u8; 32]).unwrap()
    }

    #[test]
    fn a_value_opens_only_under_its_own_binding() {
        let cipher = cipher();
        let aad = Aad::new("tenant-a", "conn-1", "credential");
        let sealed = seal(&cipher, &[1; KEY_ID_LEN], &aad, b"hunter2").unwrap();
        assert_eq!(open(&cipher, &aad, &sealed).unwrap().as_slice(), b"hunter2");
        for other in [
            Aad::new("tenant-b", "conn-1", "credential"),
            Aad::new("tenant-a", "conn-2", "credential"),
            Aad::new("tenant-a", "conn-1", "cursor:x"),
        ] {
            assert_eq!(open(&cipher, &other, &sealed), Err(SealError::Tampered));
        }
    }

    #[test]
    fn nonces_differ_and_tampering_is_detected() {
        let cipher = cipher();
        let aad = Aad::new("t", "c", "f");
        let one = seal(&cipher, &[1; KEY_ID_LEN], &aad, b"x").unwrap();
        let two = seal(&cipher, &[1; KEY_ID_LEN], &aad, b"x").unwrap();
        assert_ne!(one, two);
        let mut flipped = one.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(open(&cipher, &aad, &flipped), Err(SealError::Tampered));
        assert_eq!(open(&cipher, &aad, &one[..10]), Err(SealError::Malformed));
    }

    #[test]
    fn length_prefixing_separates_adjacent_fields() {
        assert_ne!(
            Aad::new("ab", "c", "f").bytes(),
            Aad::new("a", "bc", "f").bytes()
        );
        let key = Aad::new("t", "c", "cursor:a/b").storage_key();
        assert_eq!(Aad::from_storage_key(&key).unwrap().field, "cursor:a/b");
    }
}
