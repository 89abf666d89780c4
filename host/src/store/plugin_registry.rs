//! The plugin registry as the admin API left it: per plugin id, the sha256 of the version
//! serving and of the one a rollback brings back, and the component bytes of every version an
//! entry names. Each change takes the next registry number, so a host that has applied number
//! N knows exactly which entries changed since (`registry_seq`), on either backend; the
//! embedded backend keeps it so an upload outlives a restart, PostgreSQL so it reaches every
//! host. Versions loaded from a host's plugins directory are that host's own and are not
//! recorded.
//!
//! Trees (embedded): `plugin_registry` (id -> entry), `plugin_blobs` (sha256 -> blob), and the
//! `meta` key `registry_seq`.

use serde::{Deserialize, Serialize};

use super::{Sled, StoreError};

/// One plugin id as the admin API last left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryEntry {
    /// The plugin id.
    pub id: String,
    /// Hex sha256 of the version serving; `None` once unloaded.
    pub current: Option<String>,
    /// Hex sha256 of the version a rollback brings back.
    pub previous: Option<String>,
    /// The registry number of the change that wrote this entry.
    pub seq: u64,
}

/// A component as uploaded, kept so any host can load the same bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginBlob {
    /// The component's bytes.
    #[serde(with = "serde_bytes_base64")]
    pub wasm: Vec<u8>,
    /// The base64 ed25519 signature it was uploaded with, re-checked by every host.
    pub signature: Option<String>,
    /// Where it came from (`upload`).
    pub source: String,
}

/// The meta key holding the last registry number given out.
const SEQ_KEY: &[u8] = b"registry_seq";

impl Sled {
    /// Every entry, by id.
    pub fn registry_entries(&self) -> Result<Vec<RegistryEntry>, StoreError> {
        self.plugin_registry
            .iter()
            .map(|entry| Ok(serde_json::from_slice(&entry?.1)?))
            .collect()
    }

    /// The number of the last registry change (0: none yet).
    pub fn registry_seq(&self) -> Result<u64, StoreError> {
        Ok(self
            .meta
            .get(SEQ_KEY)?
            .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_ref()).ok())
            .map_or(0, u64::from_be_bytes))
    }

    /// The bytes of version `sha256`, if an entry names it.
    pub fn plugin_blob(&self, sha256: &str) -> Result<Option<PluginBlob>, StoreError> {
        self.plugin_blobs
            .get(sha256)?
            .map(|bytes| Ok(serde_json::from_slice(&bytes)?))
            .transpose()
    }

    /// Records what the admin API did to `id` (with the bytes of a version it uploaded), under
    /// the next registry number, and drops bytes no entry names any more. Returns the number.
    pub async fn record_registry(
        &self,
        id: &str,
        current: Option<&str>,
        previous: Option<&str>,
        upload: Option<&(String, PluginBlob)>,
    ) -> Result<u64, StoreError> {
        // One writer at a time (the loader's registry lock is per process; sled is one process).
        let seq = self
            .meta
            .update_and_fetch(SEQ_KEY, |old| {
                let last = old
                    .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
                    .map_or(0, u64::from_be_bytes);
                Some((last + 1).to_be_bytes().to_vec())
            })?
            .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_ref()).ok())
            .map_or(0, u64::from_be_bytes);
        if let Some((sha256, blob)) = upload {
            self.plugin_blobs
                .insert(sha256.as_bytes(), serde_json::to_vec(blob)?)?;
        }
        let entry = RegistryEntry {
            id: id.to_owned(),
            current: current.map(str::to_owned),
            previous: previous.map(str::to_owned),
            seq,
        };
        self.plugin_registry
            .insert(id.as_bytes(), serde_json::to_vec(&entry)?)?;
        let named: std::collections::BTreeSet<String> = self
            .registry_entries()?
            .into_iter()
            .flat_map(|entry| [entry.current, entry.previous])
            .flatten()
            .collect();
        for key in self.plugin_blobs.iter().keys() {
            let key = key?;
            if !named.contains(String::from_utf8_lossy(&key).as_ref()) {
                self.plugin_blobs.remove(key)?;
            }
        }
        self.flush().await?;
        Ok(seq)
    }
}

/// Component bytes as base64 in the record's JSON (a JSON array of numbers would be ~4× the
/// size).
mod serde_bytes_base64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}
