//! Compiled components on disk, so a plugin is compiled once per machine, not once per run.
//!
//! `Component::deserialize` trusts its input completely (it maps machine code), so the cache
//! only loads what this host wrote:
//! - the file name is `<sha256 of the .wasm>-<engine compatibility hash>.cwasm`, so another
//!   wasmtime version or engine configuration never loads an artifact compiled for a different one;
//! - the directory is created 0700, and a file not owned by us, or writable by group or others,
//!   is ignored and replaced;
//! - beside each artifact, `<name>.cwasm.b3` holds a header (magic, format version) and the
//!   BLAKE3 digest of the artifact, checked before loading, so a truncated or corrupted artifact
//!   is recompiled, not run. The digest lives beside the artifact rather than inside it so that
//!   wasmtime can map the artifact file directly instead of copying it, and it is BLAKE3 rather
//!   than SHA-256 because it is checked on every load: both keep a cached load under 1 ms;
//! - files are written to a temporary name and renamed into place, so readers never see half.

use sha2::{Digest, Sha256};
use std::hash::Hash;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"TAZHOSTC";
const FORMAT: u32 = 2;
/// Size of a `.b3` file: magic, format, digest.
const SIDECAR_LEN: usize = 8 + 4 + 32;

/// Where compiled components live; `None` compiles in memory every time.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
    /// The engine's compatibility key, computed on first use (one engine per runtime).
    engine_key: Arc<OnceLock<String>>,
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
            engine_key: Arc::default(),
        }
    }

    /// No disk cache.
    pub fn disabled() -> Self {
        Self {
            dir: None,
            engine_key: Arc::default(),
        }
    }

    /// `$TAZHOST_CACHE_DIR`, else `$XDG_CACHE_HOME/tazhost/components`, else
    /// `$HOME/.cache/tazhost/components`, else disabled.
    pub fn from_env() -> Self {
        let dir = std::env::var_os("TAZHOST_CACHE_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME")
                    .filter(|v| !v.is_empty())
                    .map(|x| PathBuf::from(x).join("tazhost/components"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tazhost/components"))
            });
        Self {
            dir,
            engine_key: Arc::default(),
        }
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
        if let Err(why) = create_private_dir(dir) {
            tracing::warn!(
                "component cache disabled for this load ({}): {why}",
                dir.display()
            );
            return Ok((
                Component::new(engine, wasm)?,
                CacheOutcome::CompiledUncached,
            ));
        }
        let key = self.engine_key.get_or_init(|| compatibility_key(engine));
        let path = dir.join(format!("{sha256}-{key}.cwasm"));
        let sidecar = path.with_extension("cwasm.b3");
        if is_trusted(&path, &sidecar) {
            // SAFETY: the artifact was written by `store` below for this exact engine
            // configuration (the file name carries its compatibility hash), in a directory owned
            // by us that no one else can write (checked above), and its digest, which covers its
            // name, matched just now. Mapping the file rather than the bytes we hashed leaves a
            // window in which only our own user could swap it.
            if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
                return Ok((component, CacheOutcome::Hit));
            }
        }
        let component = Component::new(engine, wasm)?;
        let outcome = match component
            .serialize()
            .map(|bytes| store(dir, &path, &sidecar, &bytes))
        {
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

/// Whether the artifact and its digest are ours and agree.
fn is_trusted(artifact: &Path, sidecar: &Path) -> bool {
    let private_file = |p: &Path| {
        std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_file() && owned_privately(&m))
    };
    if !private_file(artifact) || !private_file(sidecar) {
        return false;
    }
    let Ok(header) = std::fs::read(sidecar) else {
        return false;
    };
    if header.len() != SIDECAR_LEN || &header[..8] != MAGIC || header[8..12] != FORMAT.to_le_bytes()
    {
        return false;
    }
    std::fs::read(artifact).is_ok_and(|bytes| digest(artifact, &bytes) == header[12..])
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

fn store(dir: &Path, artifact: &Path, sidecar: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut header = Vec::with_capacity(SIDECAR_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT.to_le_bytes());
    header.extend_from_slice(&digest(artifact, bytes));
    write_atomically(dir, artifact, bytes)?;
    write_atomically(dir, sidecar, &header)
}

/// BLAKE3 of the artifact's file name and bytes: a valid pair renamed over another plugin's
/// key does not verify.
fn digest(artifact: &Path, bytes: &[u8]) -> [u8; 32] {
    let name = artifact
        .file_name()
        .map(|n| n.as_encoded_bytes())
        .unwrap_or_default();
    let mut h = blake3::Hasher::new();
    h.update(&(name.len() as u64).to_le_bytes());
    h.update(name);
    h.update(bytes);
    *h.finalize().as_bytes()
}

/// Write `bytes` to a private temporary file, flush it, and rename it over `path`.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // Unique per process and per write, so concurrent loads of one plugin never share a file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("c"),
        std::process::id(),
        WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut options = std::fs::OpenOptions::new();
    // create_new: never follow or reuse something planted under the temporary name.
    let _ = std::fs::remove_file(&tmp);
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

/// Create the directory 0700 if needed, then insist that it is ours and that no one else can
/// write to it (an existing directory is checked too, not just one we create).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() || !owned_privately(&meta) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "not a directory owned by this user and closed to group and others",
        ));
    }
    Ok(())
}
