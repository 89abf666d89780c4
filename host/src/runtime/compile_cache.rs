//! Precompiled components on disk. Deserializing an artifact runs its machine code, so an
//! artifact is trusted only if it carries a MAC under a key derived from the master key: a file
//! planted in the cache dir (or one corrupted on disk) is discarded and the component compiled
//! again from the wasm, which is what signatures and pins were checked on.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;
use zeroize::Zeroizing;

/// Where a component's machine code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CompileSource {
    /// Compiled now (and written to the cache).
    Compiled,
    /// Read back from the on-disk cache: no compilation.
    Cache,
    /// A declarative manifest: nothing compiled, it runs on the loaded interpreter.
    Interpreted,
}

/// The key that authenticates cached artifacts (HMAC-SHA256). `Debug` hides it.
#[derive(Clone)]
pub struct CacheKey(Zeroizing<[u8; 32]>);

impl CacheKey {
    /// A cache key from 32 secret bytes.
    pub fn new(key: Zeroizing<[u8; 32]>) -> Self {
        Self(key)
    }
}

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKey([redacted])")
    }
}

/// Precompiled components on disk, keyed by the wasm's sha256 and the engine's compatibility
/// hash, so a restart (or the same plugin uploaded twice) skips Cranelift entirely.
pub(crate) struct CompileCache {
    /// The directory and the key; without a key nothing is cached (an unauthenticated artifact
    /// is never run).
    store: Option<(PathBuf, CacheKey)>,
    engine_key: String,
}

impl CompileCache {
    /// `dir = None` or `key = None` disables the cache (every load compiles).
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>, key: Option<CacheKey>) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Self {
            store: dir.zip(key),
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    /// Returns the component for `wasm` (whose hex sha256 is `sha256`), from the cache when an
    /// authentic artifact is there, else compiling it and storing the artifact with its MAC.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
        sha256: &str,
    ) -> anyhow::Result<(Component, CompileSource)> {
        let Some((dir, key)) = &self.store else {
            return Ok((compile(engine, wasm)?, CompileSource::Compiled));
        };
        let name = format!("{sha256}-{}.cwasm", self.engine_key);
        let path = dir.join(&name);
        if let Some(bytes) = read_authentic(&path, &name, key) {
            // SAFETY: the bytes carry a MAC under a key only this host holds, over this exact
            // name (the wasm's sha256 and this engine's compatibility hash): this host wrote
            // them from that wasm. wasmtime also checks the header against the engine.
            match unsafe { Component::deserialize(engine, &bytes) } {
                Ok(component) => return Ok((component, CompileSource::Cache)),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "compile cache entry unusable; recompiling")
                }
            }
        }
        let component = compile(engine, wasm)?;
        if let Err(error) = store(dir, &path, &name, key, &component) {
            tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "could not write the compile cache");
        }
        Ok((component, CompileSource::Compiled))
    }
}

fn compile(engine: &Engine, wasm: &[u8]) -> anyhow::Result<Component> {
    Component::new(engine, wasm)
        .map_err(anyhow::Error::from)
        .context("not a valid component")
}

/// HMAC-SHA256 over the artifact's name and bytes (HMAC takes keys of any length, so this
/// fails only in theory).
fn mac(key: &CacheKey, name: &str, bytes: &[u8]) -> anyhow::Result<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(key.0.as_ref())
        .map_err(|_| anyhow::anyhow!("invalid compile cache key"))?;
    mac.update(name.as_bytes());
    mac.update(&[0]);
    mac.update(bytes);
    Ok(mac)
}

fn mac_path(path: &Path) -> PathBuf {
    path.with_extension("cwasm.mac")
}

/// The artifact's bytes if its MAC file verifies; `None` (with a log line) otherwise.
fn read_authentic(path: &Path, name: &str, key: &CacheKey) -> Option<Vec<u8>> {
    let bytes = std::fs::read(path).ok()?;
    let tag = std::fs::read_to_string(mac_path(path))
        .ok()
        .and_then(|text| hex::decode(text.trim()).ok());
    let authentic = tag
        .is_some_and(|tag| mac(key, name, &bytes).is_ok_and(|mac| mac.verify_slice(&tag).is_ok()));
    if !authentic {
        tracing::warn!(path = %path.display(), "compile cache entry is not authentic; discarding it and recompiling");
        let _ = std::fs::remove_file(path);
        let _ = std::fs::remove_file(mac_path(path));
        return None;
    }
    Some(bytes)
}

/// Writes the artifact, then its MAC, each through a temporary file and a rename, so a crash
/// never leaves half of either (a MAC that does not match just means a recompile). The
/// directory is created private to this user.
fn store(
    dir: &Path,
    path: &Path,
    name: &str,
    key: &CacheKey,
    component: &Component,
) -> anyhow::Result<()> {
    create_private_dir(dir)?;
    let bytes = component.serialize().map_err(anyhow::Error::from)?;
    let tag = hex::encode(mac(key, name, &bytes)?.finalize().into_bytes());
    write_atomically(path, &bytes)?;
    write_atomically(&mac_path(path), tag.as_bytes())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(dir = %dir.display(), mode = format!("{mode:o}"), "compile cache dir is readable by others; making it 0700");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
