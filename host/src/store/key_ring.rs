//! Master keys. The current key seals; every key in the ring opens. Rotation adds a key, makes
//! it current, re-seals everything, then retires the others, so reads never stop.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aes_gcm::{Aes256Gcm, KeyInit};
use anyhow::{Context as _, bail};
use arc_swap::ArcSwap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::sealing::{self, Aad, KEY_ID_LEN, Purpose, SealError, VERSION_DERIVED};

/// Environment variable with the master key(s): base64 of 32 bytes; several comma-separated,
/// the first sealing and the rest only opening (for a rotation in progress).
pub const MASTER_KEY_ENV: &str = "CONNECTOR_HOST_MASTER_KEY";

type KeyId = [u8; KEY_ID_LEN];

struct Ring {
    current: KeyId,
    ciphers: Vec<(KeyId, KeyCiphers)>,
    /// The current master key itself, from which purpose keys are derived (zeroed on drop).
    current_material: Zeroizing<[u8; 32]>,
}

/// The master keys in force. Cheap to clone; rotation is seen by every clone.
#[derive(Clone)]
pub struct KeyRing {
    ring: Arc<ArcSwap<Ring>>,
    /// Where generated keys live (`DATA_DIR/keys`); `None` when keys come from the environment.
    dir: Option<PathBuf>,
    /// Held for the whole of a rotation, so two rotations never interleave (one could retire
    /// the key the other just sealed under).
    rotation: Arc<tokio::sync::Mutex<()>>,
}

/// Salt of every key derived from the master key (HKDF-SHA256).
const DERIVATION_SALT: &[u8] = b"connector-host/derived-keys/v1";

/// One master key's ciphers: itself (opens format-1 values only) and one derived per purpose.
#[derive(Clone)]
struct KeyCiphers {
    master: Aes256Gcm,
    derived: Vec<(Purpose, Aes256Gcm)>,
}

/// HKDF-SHA256 of the master key for `label`.
fn derive(master: &[u8; 32], label: &str) -> Zeroizing<[u8; 32]> {
    let hkdf = hkdf::Hkdf::<Sha256>::new(Some(DERIVATION_SALT), master);
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
    let _ = hkdf.expand(label.as_bytes(), key.as_mut());
    key
}

impl KeyCiphers {
    fn of(master: &[u8; 32]) -> anyhow::Result<Self> {
        let cipher = |key: &[u8]| {
            Aes256Gcm::new_from_slice(key).map_err(|_| anyhow::anyhow!("bad key length"))
        };
        let derived = Purpose::ALL
            .iter()
            .map(|purpose| Ok((*purpose, cipher(derive(master, purpose.label()).as_ref())?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            master: cipher(master)?,
            derived,
        })
    }

    /// The cipher for a value of format `version` and purpose `purpose`.
    fn for_value(&self, version: u8, purpose: Purpose) -> Option<&Aes256Gcm> {
        if version == VERSION_DERIVED {
            self.derived
                .iter()
                .find(|(p, _)| *p == purpose)
                .map(|(_, c)| c)
        } else {
            Some(&self.master)
        }
    }
}

fn key_id(key: &[u8; 32]) -> KeyId {
    let digest = Sha256::digest(key);
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&digest[..KEY_ID_LEN]);
    id
}

fn parse_key(text: &str) -> anyhow::Result<Zeroizing<[u8; 32]>> {
    let bytes = Zeroizing::new(
        STANDARD
            .decode(text.trim())
            .context("a master key is not valid base64")?,
    );
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| anyhow::anyhow!("a master key must be 32 bytes"))?;
    Ok(Zeroizing::new(key))
}

fn generate_key() -> anyhow::Result<Zeroizing<[u8; 32]>> {
    let mut key = Zeroizing::new([0u8; 32]);
    getrandom::fill(key.as_mut())
        .map_err(|_| anyhow::anyhow!("the system random number generator failed"))?;
    Ok(key)
}

impl KeyRing {
    /// A ring of the given keys; the first seals.
    pub fn from_keys(keys: &[[u8; 32]]) -> anyhow::Result<Self> {
        let first = keys.first().context("a key ring needs at least one key")?;
        let ciphers = keys
            .iter()
            .map(|k| Ok((key_id(k), KeyCiphers::of(k)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            ring: Arc::new(ArcSwap::from_pointee(Ring {
                current: key_id(first),
                ciphers,
                current_material: Zeroizing::new(*first),
            })),
            dir: None,
            rotation: Arc::default(),
        })
    }

    /// A key for one purpose (`"compile-cache-mac"`, ...), derived from the current master key
    /// with HKDF-SHA256, so no two uses share key material. Changes when the master key does.
    pub fn derive_key(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        derive(&self.ring.load().current_material, purpose)
    }

    /// Waits for any rotation in progress and holds off others until the guard is dropped.
    pub async fn rotation_guard(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.rotation.clone().lock_owned().await
    }

    /// Keys from `CONNECTOR_HOST_MASTER_KEY` when `env_value` is given, else from
    /// `DATA_DIR/keys/`, generating a first key there (mode 0600) with a warning.
    pub fn load(data_dir: &Path, env_value: Option<&str>) -> anyhow::Result<Self> {
        if let Some(value) = env_value.filter(|v| !v.trim().is_empty()) {
            let keys = Zeroizing::new(
                value
                    .split(',')
                    .map(|k| parse_key(k).map(|k| *k))
                    .collect::<anyhow::Result<Vec<_>>>()
                    .with_context(|| format!("reading {MASTER_KEY_ENV}"))?,
            );
            return Self::from_keys(&keys);
        }
        let dir = data_dir.join("keys");
        let mut found = read_key_dir(&dir)?;
        if found.is_empty() {
            let key = generate_key()?;
            write_key(&dir, &key)?;
            tracing::warn!(
                path = %dir.display(),
                "generated a development master key; set {MASTER_KEY_ENV} (or keep this directory safe) in production"
            );
            found = read_key_dir(&dir)?;
        }
        let current = std::fs::read_to_string(dir.join("current"))
            .ok()
            .map(|s| s.trim().to_owned());
        // The current key first; the others only open.
        found.sort_by_key(|(id, _)| Some(hex::encode(id)) != current);
        let keys: Zeroizing<Vec<[u8; 32]>> =
            Zeroizing::new(found.iter().map(|(_, k)| **k).collect());
        let mut ring = Self::from_keys(&keys)?;
        ring.dir = Some(dir);
        Ok(ring)
    }

    /// Seals `plain` under the current key's derived key for `aad`'s purpose, bound to `aad`.
    pub fn seal(&self, aad: &Aad, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let ring = self.ring.load();
        let cipher = ring
            .cipher(&ring.current)
            .and_then(|c| c.for_value(VERSION_DERIVED, aad.purpose()))
            .ok_or(SealError::UnknownKey(hex::encode(ring.current)))?;
        sealing::seal(cipher, &ring.current, aad, plain)
    }

    /// Opens a sealed value with whichever key in the ring sealed it (format 1 under the
    /// master key itself, format 2 under the purpose's derived key).
    pub fn open(&self, aad: &Aad, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let id = sealing::key_id_of(sealed)?;
        let version = sealing::version_of(sealed)?;
        let ring = self.ring.load();
        let cipher = ring
            .cipher(&id)
            .and_then(|c| c.for_value(version, aad.purpose()))
            .ok_or_else(|| SealError::UnknownKey(hex::encode(id)))?;
        sealing::open(cipher, aad, sealed)
    }

    /// Hex id of the key `sealed` is under, if it is a sealed value.
    pub fn key_id_of(sealed: &[u8]) -> Option<String> {
        sealing::key_id_of(sealed).ok().map(hex::encode)
    }

    /// Whether `sealed` is already under the current key (and in the current format).
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealing::key_id_of(sealed).is_ok_and(|id| id == self.ring.load().current)
            && sealing::version_of(sealed) == Ok(VERSION_DERIVED)
    }

    /// Hex id of the current key.
    pub fn current_id(&self) -> String {
        hex::encode(self.ring.load().current)
    }

    /// Hex ids of every key in the ring, current first.
    pub fn ids(&self) -> Vec<String> {
        let ring = self.ring.load();
        let mut ids: Vec<String> = ring.ciphers.iter().map(|(id, _)| hex::encode(id)).collect();
        ids.sort_by_key(|id| *id != hex::encode(ring.current));
        ids
    }

    /// First half of a rotation: with generated keys, makes a new key and makes it current.
    /// With keys from the environment, the operator puts the new key first in
    /// `CONNECTOR_HOST_MASTER_KEY` and restarts; this then only checks there is an old key to
    /// retire.
    pub fn begin_rotation(&self) -> anyhow::Result<String> {
        let Some(dir) = &self.dir else {
            if self.ring.load().ciphers.len() < 2 {
                bail!(
                    "keys come from {MASTER_KEY_ENV}: put the new key first (\"NEW,OLD\"), restart, then rotate"
                );
            }
            return Ok(self.current_id());
        };
        let key = generate_key()?;
        let id = key_id(&key);
        write_key(dir, &key)?;
        let cipher = KeyCiphers::of(&key)?;
        self.ring.rcu(|ring| {
            let mut ciphers = ring.ciphers.clone();
            ciphers.push((id, cipher.clone()));
            Ring {
                current: id,
                ciphers,
                current_material: key.clone(),
            }
        });
        Ok(hex::encode(id))
    }

    /// Second half of a rotation: drops the old keys that nothing is sealed under any more
    /// (`in_use` holds the hex ids a scan of the store found) from the ring and, for generated
    /// keys, deletes their files. A key still in use is kept, so nothing ever becomes
    /// unreadable. Returns the retired ids.
    pub fn retire_old_keys(
        &self,
        in_use: &std::collections::BTreeSet<String>,
    ) -> anyhow::Result<Vec<String>> {
        let ring = self.ring.load();
        let retired: Vec<KeyId> = ring
            .ciphers
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| *id != ring.current && !in_use.contains(&hex::encode(id)))
            .collect();
        self.ring.rcu(|ring| Ring {
            current: ring.current,
            ciphers: ring
                .ciphers
                .iter()
                .filter(|(id, _)| !retired.contains(id))
                .cloned()
                .collect(),
            current_material: ring.current_material.clone(),
        });
        if let Some(dir) = &self.dir {
            for id in &retired {
                let path = dir.join(format!("{}.key", hex::encode(id)));
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
            }
        }
        Ok(retired.iter().map(hex::encode).collect())
    }
}

impl Ring {
    fn cipher(&self, id: &KeyId) -> Option<&KeyCiphers> {
        self.ciphers.iter().find(|(k, _)| k == id).map(|(_, c)| c)
    }
}

fn read_key_dir(dir: &Path) -> anyhow::Result<Vec<(KeyId, Zeroizing<[u8; 32]>)>> {
    let mut keys = Vec::new();
    if !dir.is_dir() {
        return Ok(keys);
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "key") {
            let text = Zeroizing::new(
                std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
            );
            let key = parse_key(&text).with_context(|| format!("reading {}", path.display()))?;
            keys.push((key_id(&key), key));
        }
    }
    Ok(keys)
}

/// Writes `ID.key` (mode 0600, through a rename) and marks it current.
fn write_key(dir: &Path, key: &[u8; 32]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;

    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let id = hex::encode(key_id(key));
    let path = dir.join(format!("{id}.key"));
    let tmp = dir.join(format!("{id}.key.tmp"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(STANDARD.encode(key).as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    std::fs::write(dir.join("current"), &id).with_context(|| "marking the current key")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_ring_survives_a_reload_and_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let data = tempfile::tempdir().unwrap();
        let ring = KeyRing::load(data.path(), None).unwrap();
        let aad = Aad::new("t", "c", "f");
        let sealed = ring.seal(&aad, b"secret").unwrap();
        let again = KeyRing::load(data.path(), None).unwrap();
        assert_eq!(again.open(&aad, &sealed).unwrap().as_slice(), b"secret");
        let file = data
            .path()
            .join("keys")
            .join(format!("{}.key", ring.current_id()));
        assert_eq!(
            std::fs::metadata(file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn rotation_keeps_old_values_readable_until_retired() {
        let data = tempfile::tempdir().unwrap();
        let ring = KeyRing::load(data.path(), None).unwrap();
        let aad = Aad::new("t", "c", "f");
        let old = ring.seal(&aad, b"v").unwrap();
        let first = ring.current_id();
        let second = ring.begin_rotation().unwrap();
        assert_ne!(first, second);
        assert!(!ring.is_current(&old));
        assert_eq!(
            ring.open(&aad, &old).unwrap().as_slice(),
            b"v",
            "old key still opens"
        );
        let in_use = std::collections::BTreeSet::from([first.clone()]);
        assert!(
            ring.retire_old_keys(&in_use).unwrap().is_empty(),
            "a key something is still sealed under is kept"
        );
        assert!(ring.open(&aad, &old).is_ok());
        assert_eq!(
            ring.retire_old_keys(&Default::default()).unwrap(),
            vec![first.clone()]
        );
        assert!(matches!(ring.open(&aad, &old), Err(SealError::UnknownKey(id)) if id == first));
        let reloaded = KeyRing::load(data.path(), None).unwrap();
        assert_eq!(reloaded.ids(), vec![second]);
    }

    #[test]
    fn values_are_sealed_under_purpose_keys_and_old_master_sealed_ones_still_open() {
        let master = [9u8; 32];
        let ring = KeyRing::from_keys(&[master]).unwrap();
        let credential = Aad::new("t", "c", "credential");
        let sealed = ring.seal(&credential, b"secret").unwrap();
        assert_eq!(sealed[0], VERSION_DERIVED);
        assert!(ring.is_current(&sealed));
        // The master key itself does not open it: only the credentials key does.
        let raw = Aes256Gcm::new_from_slice(&master).unwrap();
        assert!(sealing::open(&raw, &credential, &sealed).is_err());
        // A value from before purpose keys (format 1, the master key) opens, and counts as
        // one to re-seal.
        let mut legacy = sealing::seal(&raw, &key_id(&master), &credential, b"old").unwrap();
        legacy[0] = sealing::VERSION_MASTER;
        assert_eq!(ring.open(&credential, &legacy).unwrap().as_slice(), b"old");
        assert!(!ring.is_current(&legacy));
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_follow_the_master_key() {
        let ring = KeyRing::from_keys(&[[7u8; 32]]).unwrap();
        let cache = ring.derive_key("compile-cache-mac");
        assert_ne!(*cache, *ring.derive_key("other-purpose"));
        assert_ne!(*cache, [7u8; 32], "never the master key itself");
        assert_eq!(
            *cache,
            *KeyRing::from_keys(&[[7u8; 32]])
                .unwrap()
                .derive_key("compile-cache-mac")
        );
        assert_ne!(
            *cache,
            *KeyRing::from_keys(&[[8u8; 32]])
                .unwrap()
                .derive_key("compile-cache-mac")
        );
    }

    #[test]
    fn environment_keys_must_be_32_bytes_of_base64() {
        let data = tempfile::tempdir().unwrap();
        assert!(KeyRing::load(data.path(), Some("not base64!")).is_err());
        assert!(KeyRing::load(data.path(), Some(&STANDARD.encode([1u8; 16]))).is_err());
        let ring = KeyRing::load(data.path(), Some(&STANDARD.encode([1u8; 32]))).unwrap();
        assert!(
            ring.begin_rotation().is_err(),
            "env keys rotate by the operator adding a key"
        );
        assert!(
            !data.path().join("keys").exists(),
            "no key file is written in env mode"
        );
    }
}
