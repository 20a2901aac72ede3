//! Archive workflows as the `tazhost secrets` commands run them, on a local file or an
//! `s3://bucket/key`: ask for the passphrase (retrying on a terminal), verify everything, and
//! only then write: atomically on disk, conditionally on S3 (create only if absent, replace only
//! the version that was read).

use super::{
    ArchiveError, FolderLimits, Format, KdfParams, SecretFolder, detect, folder, legacy, stream,
};
use crate::caps::s3::{LocationError, S3Error, S3Location, S3Store, WriteCondition};
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
    /// S3.
    #[error(transparent)]
    S3(#[from] S3Error),
    /// A malformed s3:// location.
    #[error(transparent)]
    Location(#[from] LocationError),
}

/// Where an archive lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveLocation {
    /// A local file.
    Local(PathBuf),
    /// An S3 object.
    S3(S3Location),
}

impl ArchiveLocation {
    /// `s3://bucket/key` or a path.
    pub fn parse(text: &str) -> Result<Self, FilesError> {
        if S3Location::is_s3(text) {
            Ok(Self::S3(S3Location::parse(text)?))
        } else {
            Ok(Self::Local(PathBuf::from(text)))
        }
    }
}

impl std::fmt::Display for ArchiveLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(p) => write!(f, "{}", p.display()),
            Self::S3(l) => write!(f, "{l}"),
        }
    }
}

/// How archives are reached: S3 is set up on first use.
#[derive(Debug, Default)]
pub struct Archives {
    endpoint_url: Option<String>,
    s3: tokio::sync::OnceCell<S3Store>,
}

/// An archive as read, with what a conditional replace needs.
struct Read {
    bytes: Vec<u8>,
    etag: Option<String>,
}

/// How a write may treat what is there.
enum Intent {
    /// Refuse if something exists (unless forced).
    Create { force: bool },
    /// Replace exactly what was read.
    Replace { etag: Option<String> },
}

impl Archives {
    /// Reach S3 through `endpoint_url` (else `AWS_ENDPOINT_URL`, else AWS).
    pub fn new(endpoint_url: Option<String>) -> Self {
        Self {
            endpoint_url,
            s3: tokio::sync::OnceCell::new(),
        }
    }

    async fn s3(&self) -> &S3Store {
        self.s3
            .get_or_init(|| S3Store::from_env(self.endpoint_url.as_deref()))
            .await
    }

    async fn read(&self, at: &ArchiveLocation) -> Result<Read, FilesError> {
        match at {
            ArchiveLocation::Local(path) => Ok(Read {
                bytes: std::fs::read(path).map_err(io(format!("reading {}", path.display())))?,
                etag: None,
            }),
            ArchiveLocation::S3(loc) => {
                let object = self.s3().await.get(loc).await?;
                Ok(Read {
                    bytes: object.bytes,
                    etag: object.etag,
                })
            }
        }
    }

    async fn check_absent(&self, at: &ArchiveLocation, force: bool) -> Result<(), FilesError> {
        if let ArchiveLocation::Local(path) = at {
            check_target(path, force)?;
        }
        Ok(())
    }

    async fn write(
        &self,
        at: &ArchiveLocation,
        bytes: Vec<u8>,
        intent: Intent,
    ) -> Result<(), FilesError> {
        match at {
            ArchiveLocation::Local(path) => {
                if let Intent::Create { force } = intent {
                    check_target(path, force)?;
                }
                write_atomically(path, &bytes)
            }
            ArchiveLocation::S3(loc) => {
                let condition = match intent {
                    Intent::Create { force: true } => WriteCondition::Overwrite,
                    Intent::Create { force: false } => WriteCondition::CreateNew,
                    Intent::Replace { etag: Some(etag) } => WriteCondition::Replace(etag),
                    Intent::Replace { etag: None } => WriteCondition::CreateNew,
                };
                self.s3().await.put(loc, bytes, &condition).await?;
                Ok(())
            }
        }
    }
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> FilesError {
    let context = context.into();
    move |source| FilesError::Io { context, source }
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

/// Open an archive into memory.
pub async fn open(
    archives: &Archives,
    at: &ArchiveLocation,
    source: &PassphraseSource,
    limits: &FolderLimits,
) -> Result<SecretFolder, FilesError> {
    let read = archives.read(at).await?;
    let (tar, _) = decrypt_asking(&read.bytes, source, limits)?;
    Ok(folder::unpack(&tar, limits)?)
}

/// Seal `dir` into a new archive at `out` (our format). Returns the archive size.
pub async fn seal(
    archives: &Archives,
    dir: &Path,
    out: &ArchiveLocation,
    source: &PassphraseSource,
    params: KdfParams,
    force: bool,
) -> Result<u64, FilesError> {
    archives.check_absent(out, force).await?;
    let pass = source.read("New archive passphrase: ", true)?;
    let bytes = super::seal_folder(dir, pass.expose().as_bytes(), params)?;
    let size = bytes.len() as u64;
    archives.write(out, bytes, Intent::Create { force }).await?;
    Ok(size)
}

/// Re-wrap an archive's key under a new passphrase (payload untouched). `out` defaults to the
/// archive itself, replaced only if nobody changed it since it was read.
pub async fn rekey(
    archives: &Archives,
    at: &ArchiveLocation,
    out: Option<&ArchiveLocation>,
    old: &PassphraseSource,
    new: &PassphraseSource,
    params: KdfParams,
) -> Result<(), FilesError> {
    let read = archives.read(at).await?;
    if detect(&read.bytes) == Format::Legacy {
        return Err(ArchiveError::NonCanonical(
            "rekey works on tazhost archives; run `tazhost secrets convert` on a legacy one first",
        )
        .into());
    }
    let attempts = if old.can_retry() { TTY_ATTEMPTS } else { 1 };
    let new_pass = new.read("New archive passphrase: ", true)?;
    let mut rekeyed = Vec::with_capacity(read.bytes.len());
    for attempt in 1..=attempts {
        let old_pass = old.read("Current archive passphrase: ", false)?;
        match stream::rekey(
            &mut &read.bytes[..],
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
    match out {
        Some(other) if other != at => {
            archives
                .write(other, rekeyed, Intent::Create { force: false })
                .await
        }
        _ => {
            archives
                .write(at, rekeyed, Intent::Replace { etag: read.etag })
                .await
        }
    }
}

/// Convert a legacy archive to our format, keeping its passphrase unless `new` is given.
#[allow(clippy::too_many_arguments)]
pub async fn convert(
    archives: &Archives,
    legacy_at: &ArchiveLocation,
    out: &ArchiveLocation,
    old: &PassphraseSource,
    new: Option<&PassphraseSource>,
    params: KdfParams,
    limits: &FolderLimits,
    force: bool,
) -> Result<(), FilesError> {
    archives.check_absent(out, force).await?;
    let read = archives.read(legacy_at).await?;
    if detect(&read.bytes) != Format::Legacy {
        return Err(ArchiveError::NonCanonical("this is already a tazhost archive").into());
    }
    let (tar, old_pass) = decrypt_asking(&read.bytes, old, limits)?;
    // Check the contents are a safe folder before sealing them again.
    folder::unpack(&tar, limits)?;
    let pass = match new {
        Some(source) => source.read("New archive passphrase: ", true)?,
        None => old_pass,
    };
    let mut sealed = Vec::with_capacity(tar.len() + tar.len() / 1000 + 4096);
    stream::seal(&tar[..], pass.expose().as_bytes(), params, &mut sealed)?;
    archives.write(out, sealed, Intent::Create { force }).await
}

/// Write a legacy archive of `dir` (for tools that still read only TazPod archives).
pub async fn seal_legacy(
    archives: &Archives,
    dir: &Path,
    out: &ArchiveLocation,
    source: &PassphraseSource,
    force: bool,
) -> Result<(), FilesError> {
    archives.check_absent(out, force).await?;
    let pass = source.read("New archive passphrase: ", true)?;
    let tar = folder::pack(dir)?;
    let bytes = legacy::seal(&tar, pass.expose().as_bytes())?;
    archives.write(out, bytes, Intent::Create { force }).await
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
