//! Archive workflows as the `tazhost secrets` commands run them, on a local file or an
//! `s3://bucket/key`: ask for the passphrase (retrying on a terminal), verify everything, and
//! only then write: atomically on disk, conditionally on S3 (create only if absent, replace only
//! the version that was read). Archives stream through in bounded memory both ways; only what
//! the caller asks to keep (the opened folder) is held.

use super::folder::Contents;
use super::{
    ArchiveError, FolderLimits, Format, KdfParams, SecretFolder, detect, folder, header, legacy,
    stream,
};
use crate::caps::s3::{LocationError, S3Error, S3Location, S3Store, WriteCondition};
use crate::progress::Progress;
use crate::secrets::{PassphraseError, PassphraseSource, SecretValue, TTY_ATTEMPTS};
use std::io::{Read, Write};
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

/// An archive being read: its bytes as a stream, and what a conditional replace needs.
struct Source {
    reader: Box<dyn Read + Send>,
    etag: Option<String>,
}

/// How a write may treat what is there.
enum Intent {
    /// Refuse if something exists (unless forced).
    Create { force: bool },
    /// Replace exactly what was read.
    Replace { etag: Option<String> },
}

/// Produces an archive's bytes on a blocking thread.
type Producer = Box<dyn FnOnce(&mut dyn Write) -> Result<(), FilesError> + Send>;

impl Archives {
    /// Reach S3 through `endpoint_url` (else `AWS_ENDPOINT_URL`, else AWS).
    pub fn new(endpoint_url: Option<String>) -> Self {
        Self {
            endpoint_url,
            s3: tokio::sync::OnceCell::new(),
        }
    }

    /// The S3 client (set up on first use), for callers that store other objects beside the
    /// archive (Vault snapshots).
    pub async fn store(&self) -> &S3Store {
        self.s3().await
    }

    async fn s3(&self) -> &S3Store {
        self.s3
            .get_or_init(|| S3Store::from_env(self.endpoint_url.as_deref()))
            .await
    }

    async fn source(&self, at: &ArchiveLocation) -> Result<Source, FilesError> {
        match at {
            ArchiveLocation::Local(path) => {
                let file =
                    std::fs::File::open(path).map_err(io(format!("reading {}", path.display())))?;
                Ok(Source {
                    reader: Box::new(std::io::BufReader::with_capacity(READ_BUFFER, file)),
                    etag: None,
                })
            }
            ArchiveLocation::S3(loc) => {
                let progress = Progress::on_terminal(format!("pulling {loc}"));
                let reader = self.s3().await.reader(loc, progress).await?;
                Ok(Source {
                    etag: reader.etag.clone(),
                    reader: Box::new(reader),
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

    /// Write what `produce` writes to `at`: into a private temporary file renamed into place,
    /// or to S3 under the intent's condition. If `produce` fails, nothing is written. Returns
    /// the number of bytes written.
    async fn write(
        &self,
        at: &ArchiveLocation,
        intent: Intent,
        produce: Producer,
    ) -> Result<u64, FilesError> {
        match at {
            ArchiveLocation::Local(path) => {
                let replace = match intent {
                    Intent::Create { force } => {
                        check_target(path, force)?;
                        force
                    }
                    Intent::Replace { .. } => true,
                };
                let path = path.clone();
                blocking(move || write_atomically(&path, replace, produce)).await
            }
            ArchiveLocation::S3(loc) => {
                let condition = match intent {
                    Intent::Create { force: true } => WriteCondition::Overwrite,
                    Intent::Create { force: false } => WriteCondition::CreateNew,
                    Intent::Replace { etag: Some(etag) } => WriteCondition::Replace(etag),
                    Intent::Replace { etag: None } => WriteCondition::CreateNew,
                };
                let progress = Progress::on_terminal(format!("pushing {loc}"));
                let (writer, upload) = self.s3().await.writer(loc, condition, progress);
                let produced = blocking(move || {
                    let mut counted = Counted {
                        inner: writer,
                        bytes: 0,
                    };
                    produce(&mut counted)?;
                    let bytes = counted.bytes;
                    counted
                        .inner
                        .finish()
                        .map_err(io("sending the archive to S3"))?;
                    Ok(bytes)
                })
                .await;
                match (produced, upload.wait().await) {
                    (Ok(bytes), Ok(_)) => Ok(bytes),
                    // The upload's own failure explains a producer that could not send.
                    (_, Err(e)) if !matches!(e, S3Error::Abandoned(_)) => Err(e.into()),
                    (Err(e), _) => Err(e),
                    (Ok(_), Err(e)) => Err(e.into()),
                }
            }
        }
    }
}

/// Read-ahead for local archives.
const READ_BUFFER: usize = 256 << 10;

/// Run blocking work (file I/O, Argon2id, prompts, channel hand-offs) off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, FilesError> + Send + 'static,
) -> Result<T, FilesError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(FilesError::Io {
            context: "the archive worker stopped".into(),
            source: std::io::Error::other(e.to_string()),
        })
    })
}

/// Counts what passes through.
struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> FilesError {
    let context = context.into();
    move |source| FilesError::Io { context, source }
}

/// Ask for a passphrase (up to 3 times when a person is typing it) until `try_open` accepts
/// it. Returns what `try_open` returned and the passphrase.
fn with_passphrase<T>(
    source: &PassphraseSource,
    prompt: &str,
    mut try_open: impl FnMut(&[u8]) -> Result<T, ArchiveError>,
) -> Result<(T, SecretValue), FilesError> {
    let attempts = if source.can_retry() { TTY_ATTEMPTS } else { 1 };
    for attempt in 1..=attempts {
        let pass = source.read(prompt, false)?;
        match try_open(pass.expose().as_bytes()) {
            Ok(value) => return Ok((value, pass)),
            Err(ArchiveError::WrongPassphrase) if attempt < attempts => {
                eprintln!("Wrong passphrase, try again ({attempt}/{attempts}).");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ArchiveError::WrongPassphrase.into())
}

/// An archive's format, from its first bytes, and a reader that still yields those bytes.
fn sniff(mut reader: Box<dyn Read + Send>) -> Result<(Format, Box<dyn Read + Send>), FilesError> {
    let mut magic = vec![0u8; header::MAGIC.len()];
    let got = read_up_to(&mut reader, &mut magic)?;
    magic.truncate(got);
    let format = detect(&magic);
    Ok((format, Box::new(std::io::Cursor::new(magic).chain(reader))))
}

fn archive_read_error(e: std::io::Error) -> FilesError {
    stream::into_archive_error(e, "reading the archive").into()
}

/// A legacy archive is one GCM message, verified only as a whole: read it into memory, bounded.
fn read_legacy(reader: impl Read, limits: &FolderLimits) -> Result<Vec<u8>, FilesError> {
    // gzip'd plaintext plus salt, nonce and tag: never larger than the plaintext limit allows.
    let cap = limits.max_total_bytes.saturating_add(1 << 20);
    let mut bytes = Vec::new();
    reader
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(archive_read_error)?;
    if bytes.len() as u64 > cap {
        return Err(ArchiveError::TooLarge {
            limit: limits.max_total_bytes,
        }
        .into());
    }
    Ok(bytes)
}

/// Verify and read an archive of either format from `reader` on this (blocking) thread.
fn open_blocking(
    reader: Box<dyn Read + Send>,
    source: &PassphraseSource,
    limits: &FolderLimits,
    contents: Contents,
) -> Result<(SecretFolder, SecretValue), FilesError> {
    let (format, reader) = sniff(reader)?;
    match format {
        Format::Tazhost => {
            let opening = stream::Opening::start(reader)?;
            let (keys, pass) =
                with_passphrase(source, "Archive passphrase: ", |p| opening.unlock(p))?;
            let folder = folder::read(opening.decrypt(&keys), limits, contents)?;
            Ok((folder, pass))
        }
        Format::Legacy => {
            let bytes = read_legacy(reader, limits)?;
            let (tar, pass) = with_passphrase(source, "Archive passphrase: ", |p| {
                legacy::open(&bytes, p, limits.max_total_bytes)
            })?;
            Ok((folder::read(&tar[..], limits, contents)?, pass))
        }
    }
}

/// Open an archive into memory, streaming it: every chunk is verified, and nothing is
/// returned before the last one has been. With [`Contents::SizesOnly`] (for `list`), memory
/// does not grow with the archive's size.
pub async fn open(
    archives: &Archives,
    at: &ArchiveLocation,
    source: &PassphraseSource,
    limits: &FolderLimits,
    contents: Contents,
) -> Result<SecretFolder, FilesError> {
    let reader = archives.source(at).await?.reader;
    let (source, limits) = (source.clone(), limits.clone());
    let (folder, _) = blocking(move || open_blocking(reader, &source, &limits, contents)).await?;
    Ok(folder)
}

/// Seal `dir` into a new archive at `out` (our format), streaming: memory does not grow with
/// the folder's size. Returns the archive size.
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
    let dir = dir.to_path_buf();
    let produce: Producer = Box::new(move |w| {
        let encryptor = stream::Encryptor::new(w, pass.expose().as_bytes(), params)?;
        folder::pack_into(&dir, encryptor)?.finish()?;
        Ok(())
    });
    archives.write(out, Intent::Create { force }, produce).await
}

/// Re-wrap an archive's key under a new passphrase (payload untouched, streamed through).
/// `out` defaults to the archive itself, replaced only if nobody changed it since it was read.
pub async fn rekey(
    archives: &Archives,
    at: &ArchiveLocation,
    out: Option<&ArchiveLocation>,
    old: &PassphraseSource,
    new: &PassphraseSource,
    params: KdfParams,
) -> Result<(), FilesError> {
    let target = match out {
        Some(other) if other != at => {
            archives.check_absent(other, false).await?;
            Some(other)
        }
        _ => None,
    };
    let read = archives.source(at).await?;
    let old = old.clone();
    let new_pass = new.read("New archive passphrase: ", true)?;
    let (opening, keys) = blocking(move || {
        let (format, reader) = sniff(read.reader)?;
        if format == Format::Legacy {
            return Err(ArchiveError::NonCanonical(
                "rekey works on tazhost archives; run `tazhost secrets convert` on a legacy one first",
            )
            .into());
        }
        let opening = stream::Opening::start(reader)?;
        let (keys, _) = with_passphrase(&old, "Current archive passphrase: ", |p| {
            opening.unlock(p)
        })?;
        Ok((opening, keys))
    })
    .await?;
    let produce: Producer = Box::new(move |w| {
        stream::rekey_opened(opening, &keys, new_pass.expose().as_bytes(), params, w)?;
        Ok(())
    });
    let (dest, intent) = match target {
        Some(other) => (other, Intent::Create { force: false }),
        None => (at, Intent::Replace { etag: read.etag }),
    };
    archives.write(dest, intent, produce).await?;
    Ok(())
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
    let reader = archives.source(legacy_at).await?.reader;
    let (old, limits) = (old.clone(), limits.clone());
    let (tar, old_pass) = blocking(move || {
        let (format, reader) = sniff(reader)?;
        if format != Format::Legacy {
            return Err(ArchiveError::NonCanonical("this is already a tazhost archive").into());
        }
        let bytes = read_legacy(reader, &limits)?;
        let (tar, pass) = with_passphrase(&old, "Archive passphrase: ", |p| {
            legacy::open(&bytes, p, limits.max_total_bytes)
        })?;
        // Check the contents are a safe folder before sealing them again.
        folder::unpack(&tar, &limits)?;
        Ok((tar, pass))
    })
    .await?;
    let pass = match new {
        Some(source) => source.read("New archive passphrase: ", true)?,
        None => old_pass,
    };
    let produce: Producer = Box::new(move |w| {
        stream::seal(&tar[..], pass.expose().as_bytes(), params, w)?;
        Ok(())
    });
    archives
        .write(out, Intent::Create { force }, produce)
        .await?;
    Ok(())
}

/// Copy an archive, byte for byte, between a file and S3 (or two of either), without a
/// passphrase: only ciphertext moves. The header of our format is checked first, so a file
/// that is not an archive is not uploaded by mistake. Returns the bytes copied.
pub async fn copy(
    archives: &Archives,
    from: &ArchiveLocation,
    to: &ArchiveLocation,
    force: bool,
) -> Result<u64, FilesError> {
    archives.check_absent(to, force).await?;
    let reader = archives.source(from).await?.reader;
    let (format, mut reader) = blocking(move || sniff(reader)).await?;
    let produce: Producer = Box::new(move |w| {
        // Our format: the whole header must parse. Legacy: at least salt, nonce and tag.
        let min = match format {
            Format::Tazhost => header::HEADER_LEN + stream::TAG_LEN,
            Format::Legacy => legacy::MIN_LEN,
        };
        let mut head = vec![0u8; min];
        let got = read_up_to(&mut reader, &mut head)?;
        if got < min {
            return Err(ArchiveError::TooShort { len: got, min }.into());
        }
        if format == Format::Tazhost {
            header::Header::parse(&head)?;
        }
        w.write_all(&head).map_err(io("writing the archive"))?;
        copy_all(&mut reader, w)?;
        Ok(())
    });
    archives.write(to, Intent::Create { force }, produce).await
}

/// Read until `buf` is full or the input ends.
fn read_up_to(from: &mut dyn Read, buf: &mut [u8]) -> Result<usize, FilesError> {
    let mut got = 0;
    while got < buf.len() {
        match from.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(archive_read_error(e)),
        }
    }
    Ok(got)
}

/// `io::copy` with a larger buffer (its 8 KiB one costs throughput on big archives).
fn copy_all(from: &mut dyn Read, to: &mut dyn Write) -> Result<u64, FilesError> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(archive_read_error(e)),
        };
        to.write_all(&buf[..n]).map_err(io("writing the archive"))?;
        total += n as u64;
    }
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
    let produce: Producer = Box::new(move |w| {
        w.write_all(&bytes).map_err(io("writing the archive"))?;
        Ok(())
    });
    archives
        .write(out, Intent::Create { force }, produce)
        .await?;
    Ok(())
}

fn check_target(out: &Path, force: bool) -> Result<(), FilesError> {
    if out.exists() && !force {
        return Err(FilesError::Exists(out.to_path_buf()));
    }
    Ok(())
}

/// Write what `produce` writes to a new private temporary file beside `path`, flush it to the
/// disk, then put it in place: with `replace`, renamed over `path`; otherwise linked to `path`,
/// which fails if something appeared there meanwhile (nothing is ever overwritten by a create).
/// On any failure, and on a panic, the temporary file is removed.
fn write_atomically(path: &Path, replace: bool, produce: Producer) -> Result<u64, FilesError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = TempFile(dir.join(format!(".{name}.{}.tmp", std::process::id())));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let context = format!("writing {}", path.display());
    let file = options.open(&tmp.0).map_err(io(context.clone()))?;
    let mut out = Counted {
        inner: std::io::BufWriter::with_capacity(READ_BUFFER, file),
        bytes: 0,
    };
    produce(&mut out)?;
    let file = out
        .inner
        .into_inner()
        .map_err(|e| e.into_error())
        .map_err(io(context.clone()))?;
    file.sync_all().map_err(io(context.clone()))?;
    if replace {
        std::fs::rename(&tmp.0, path).map_err(io(context))?;
    } else {
        std::fs::hard_link(&tmp.0, path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                FilesError::Exists(path.to_path_buf())
            } else {
                io(context)(e)
            }
        })?;
    }
    Ok(out.bytes)
}

/// A temporary file, removed when dropped (after a rename, there is nothing left to remove).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
