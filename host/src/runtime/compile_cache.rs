use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a component's machine code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CompileSource {
    /// Compiled now (and written to the cache).
    Compiled,
    /// Read back from the on-disk cache: no compilation.
    Cache,
}

/// Precompiled components on disk, keyed by the wasm's sha256 and the engine's compatibility
/// hash, so a restart (or the same plugin uploaded twice) skips Cranelift entirely.
pub(crate) struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

impl CompileCache {
    /// `dir = None` disables the cache (every load compiles).
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Self {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    /// Returns the component for `wasm` (whose hex sha256 is `sha256`), from the cache when a
    /// matching artifact is there, else compiling it and storing the artifact.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
        sha256: &str,
    ) -> anyhow::Result<(Component, CompileSource)> {
        let Some(dir) = &self.dir else {
            return Ok((compile(engine, wasm)?, CompileSource::Compiled));
        };
        let path = dir.join(format!("{sha256}-{}.cwasm", self.engine_key));
        if path.exists() {
            // SAFETY: the file is one this host wrote under its own data dir, named by the
            // sha256 of the exact wasm and by this engine's compatibility hash; wasmtime also
            // checks the artifact's header against the engine before using it.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, CompileSource::Cache)),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "compile cache entry unusable; recompiling")
                }
            }
        }
        let component = compile(engine, wasm)?;
        if let Err(error) = store(dir, &path, &component) {
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

/// Writes through a temporary file and a rename, so a crash never leaves half an artifact.
fn store(dir: &Path, path: &Path, component: &Component) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let bytes = component.serialize().map_err(anyhow::Error::from)?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}
