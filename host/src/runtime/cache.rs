//! Compiled components on disk, so a plugin is compiled once per machine, not once per run.
//!
//! `Component::deserialize` trusts its input completely (it maps machine code), so the cache
//! only loads what this host wrote:
//! - the file name is `<sha256 of the .wasm>-<engine compatibility hash>.cwasm`, so another
//!   wasmtime version or engine configuration never loads an artifact compiled for a different one;
//! - the directory is created 0700, and a file not owned by us, or writable by group or others,
//!   is ignored and replaced;
//! - each file starts with a header (magic, format version, sha256 of the payload) that is
//!   checked before deserializing, so a truncated or corrupted file is recompiled, not run;
//! - files are written to a temporary name and renamed into place, so readers never see half.

use sha2::{Digest, Sha256};
use std::hash::Hash;
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"TAZHOSTC";
const FORMAT: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 32;

/// Where compiled components live; `None` compiles in memory every time.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
}

/// What happened when a component was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from the cache.
    Hit,
    /// Compiled and stored.
    Compiled,
    /// Compiled; the cache is disabled or could not be written.
    CompiledUncached,
}

impl ComponentCache {
    /// Cache in this directory.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
        }
    }

    /// No disk cache.
    pub fn disabled() -> Self {
        Self { dir: None }
    }

    /// `$TAZHOST_CACHE_DIR`, else `$XDG_CACHE_HOME/tazhost/components`, else
    /// `$HOME/.cache/tazhost/components`, else disabled.
    pub fn from_env() -> Self {
        let dir = std::env::var_os("TAZHOST_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME")
                    .filter(|v| !v.is_empty())
                    .map(|x| PathBuf::from(x).join("tazhost/components"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tazhost/components"))
            });
        Self { dir }
    }

    /// The directory, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Load the compiled form of `wasm` (whose sha256 is `sha256`), compiling it on a miss.
    pub fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
        sha256: &str,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let Some(dir) = &self.dir else {
            return Ok((
                Component::new(engine, wasm)?,
                CacheOutcome::CompiledUncached,
            ));
        };
        let path = dir.join(format!("{sha256}-{}.cwasm", compatibility_key(engine)));
        if let Some(payload) = read_trusted(&path) {
            // SAFETY: the payload was written by `store` below for this exact engine
            // configuration (the file name carries its compatibility hash), in a directory only
            // we can write, and its digest matched just now.
            if let Ok(component) = unsafe { Component::deserialize(engine, &payload) } {
                return Ok((component, CacheOutcome::Hit));
            }
        }
        let component = Component::new(engine, wasm)?;
        let outcome = match component.serialize().map(|bytes| store(dir, &path, &bytes)) {
            Ok(Ok(())) => CacheOutcome::Compiled,
            Ok(Err(e)) => {
                tracing::warn!("component cache not written ({}): {e}", dir.display());
                CacheOutcome::CompiledUncached
            }
            Err(e) => {
                tracing::warn!("component could not be serialized for the cache: {e}");
                CacheOutcome::CompiledUncached
            }
        };
        Ok((component, outcome))
    }
}

/// A stable digest of the engine's compatibility hash (std's `DefaultHasher` may change between
/// Rust releases; sha256 does not).
fn compatibility_key(engine: &Engine) -> String {
    struct ShaHasher(Sha256);
    impl std::hash::Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut h = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    hex::encode(&h.0.finalize()[..8])
}

/// The payload of a cache file, if it is ours and intact.
fn read_trusted(path: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() || !owned_privately(&meta) {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC || bytes[8..12] != FORMAT.to_le_bytes() {
        return None;
    }
    let payload = &bytes[HEADER_LEN..];
    if Sha256::digest(payload).as_slice() != &bytes[12..HEADER_LEN] {
        return None;
    }
    Some(payload.to_vec())
}

#[cfg(unix)]
fn owned_privately(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    meta.uid() == unsafe { libc::geteuid() } && meta.mode() & 0o022 == 0
}

#[cfg(not(unix))]
fn owned_privately(_meta: &std::fs::Metadata) -> bool {
    true
}

fn store(dir: &Path, path: &Path, payload: &[u8]) -> std::io::Result<()> {
    create_private_dir(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("c"),
        std::process::id()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(MAGIC)?;
    file.write_all(&FORMAT.to_le_bytes())?;
    file.write_all(&Sha256::digest(payload))?;
    file.write_all(payload)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
