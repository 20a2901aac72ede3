//! Archive workflows on local files, as the `tazhost secrets` commands run them: ask for the
//! passphrase (retrying on a terminal), verify everything, and only then write, atomically.
//! S3 locations arrive with the S3 capability.

use super::{
    ArchiveError, FolderLimits, Format, KdfParams, SecretFolder, detect, folder, legacy, stream,
};
use crate::secrets::{PassphraseError, PassphraseSource, SecretValue, TTY_ATTEMPTS};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A secrets command failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// The archive itself.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The passphrase.
    #[error(transparent)]
    Passphrase(#[from] PassphraseError),
    /// Reading or writing a file.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// The output exists.
    #[error("{} already exists; pass --force to replace it", .0.display())]
    Exists(PathBuf),
    /// An s3:// location.
    #[error(
        "{0}: S3 locations are not supported by this build yet (the S3 capability is the next step of issue 4); use a local file"
    )]
    S3NotYet(String),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> FilesError {
    let context = context.into();
    move |source| FilesError::Io { context, source }
}

fn local(path: &Path) -> Result<&Path, FilesError> {
    let text = path.to_string_lossy();
    if text.starts_with("s3://") {
        return Err(FilesError::S3NotYet(text.into_owned()));
    }
    Ok(path)
}

fn read_archive(path: &Path) -> Result<Vec<u8>, FilesError> {
    std::fs::read(local(path)?).map_err(io(format!("reading {}", path.display())))
}

/// Decrypt with a passphrase from `source`, asking again (up to 3 times) when a person typed a
/// wrong one. Returns the verified plaintext tar and the passphrase that opened it.
fn decrypt_asking(
    bytes: &[u8],
    source: &PassphraseSource,
    limits: &FolderLimits,
) -> Result<(zeroize::Zeroizing<Vec<u8>>, SecretValue), FilesError> {
    let attempts = if source.can_retry() { TTY_ATTEMPTS } else { 1 };
    let mut last = None;
    for attempt in 1..=attempts {
        let pass = source.read("Archive passphrase: ", false)?;
        match super::decrypt(bytes, pass.expose().as_bytes(), limits) {
            Ok(plain) => return Ok((plain, pass)),
            Err(ArchiveError::WrongPassphrase) if attempt < attempts => {
                eprintln!("Wrong passphrase, try again ({attempt}/{attempts}).");
                last = Some(ArchiveError::WrongPassphrase);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.unwrap_or(ArchiveError::WrongPassphrase).into())
}

/// Open an archive file into memory.
pub fn open_file(
    path: &Path,
    source: &PassphraseSource,
    limits: &FolderLimits,
) -> Result<SecretFolder, FilesError> {
    let bytes = read_archive(path)?;
    let (tar, _) = decrypt_asking(&bytes, source, limits)?;
    Ok(folder::unpack(&tar, limits)?)
}

/// Seal `dir` into `out` (our format). Returns the archive size.
pub fn seal_dir(
    dir: &Path,
    out: &Path,
    source: &PassphraseSource,
    params: KdfParams,
    force: bool,
) -> Result<u64, FilesError> {
    check_target(local(out)?, force)?;
    let pass = source.read("New archive passphrase: ", true)?;
    let bytes = super::seal_folder(dir, pass.expose().as_bytes(), params)?;
    write_atomically(out, &bytes)?;
    Ok(bytes.len() as u64)
}

/// Re-wrap an archive's key under a new passphrase (payload untouched). `out` defaults to the
/// archive itself, replaced atomically.
pub fn rekey_file(
    path: &Path,
    out: Option<&Path>,
    old: &PassphraseSource,
    new: &PassphraseSource,
    params: KdfParams,
) -> Result<(), FilesError> {
    let bytes = read_archive(path)?;
    if detect(&bytes) == Format::Legacy {
        return Err(ArchiveError::NonCanonical(
            "rekey works on tazhost archives; run `tazhost secrets convert` on a legacy one first",
        )
        .into());
    }
    let out = out.unwrap_or(path);
    if out != path {
        check_target(local(out)?, false)?;
    }
    let attempts = if old.can_retry() { TTY_ATTEMPTS } else { 1 };
    let new_pass = new.read("New archive passphrase: ", true)?;
    let mut rekeyed = Vec::with_capacity(bytes.len());
    for attempt in 1..=attempts {
        let old_pass = old.read("Current archive passphrase: ", false)?;
        match stream::rekey(
            &mut &bytes[..],
            old_pass.expose().as_bytes(),
            new_pass.expose().as_bytes(),
            params,
            &mut rekeyed,
        ) {
            Ok(()) => break,
            Err(ArchiveError::WrongPassphrase) if attempt < attempts => {
                eprintln!("Wrong passphrase, try again ({attempt}/{attempts}).");
                rekeyed.clear();
            }
            Err(e) => return Err(e.into()),
        }
    }
    write_atomically(out, &rekeyed)
}

/// Convert a legacy archive to our format, keeping its passphrase unless `new` is given.
pub fn convert_file(
    legacy_path: &Path,
    out: &Path,
    old: &PassphraseSource,
    new: Option<&PassphraseSource>,
    params: KdfParams,
    limits: &FolderLimits,
    force: bool,
) -> Result<(), FilesError> {
    check_target(local(out)?, force)?;
    let bytes = read_archive(legacy_path)?;
    if detect(&bytes) != Format::Legacy {
        return Err(ArchiveError::NonCanonical("this is already a tazhost archive").into());
    }
    let (tar, old_pass) = decrypt_asking(&bytes, old, limits)?;
    // Check the contents are a safe folder before sealing them again.
    folder::unpack(&tar, limits)?;
    let pass = match new {
        Some(source) => source.read("New archive passphrase: ", true)?,
        None => old_pass,
    };
    let mut sealed = Vec::with_capacity(tar.len() + tar.len() / 1000 + 4096);
    stream::seal(&tar[..], pass.expose().as_bytes(), params, &mut sealed)?;
    write_atomically(out, &sealed)
}

/// Write a legacy archive of `dir` (for tools that still read only TazPod archives).
pub fn seal_legacy(
    dir: &Path,
    out: &Path,
    source: &PassphraseSource,
    force: bool,
) -> Result<(), FilesError> {
    check_target(local(out)?, force)?;
    let pass = source.read("New archive passphrase: ", true)?;
    let tar = folder::pack(dir)?;
    write_atomically(out, &legacy::seal(&tar, pass.expose().as_bytes())?)
}

fn check_target(out: &Path, force: bool) -> Result<(), FilesError> {
    if out.exists() && !force {
        return Err(FilesError::Exists(out.to_path_buf()));
    }
    Ok(())
}

/// Write to a new private temporary file beside `path`, flush, then rename over it.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FilesError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io(format!("writing {}", path.display())))
}
