//! Why an archive was refused. Each case has its own message; none carries plaintext, key
//! material or the passphrase.

/// An archive could not be sealed, opened or rekeyed. Nothing was written or released.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Shorter than any valid archive.
    #[error("not an archive: {len} bytes is shorter than the smallest valid archive ({min})")]
    TooShort {
        /// Length given.
        len: usize,
        /// Minimum.
        min: usize,
    },
    /// A version of our format this tazhost does not know.
    #[error("archive format version {0} is not supported by this tazhost (it reads version 1)")]
    UnknownVersion(u8),
    /// A key derivation this tazhost does not know.
    #[error("archive key derivation {0} is not supported (only 1, Argon2id)")]
    UnknownKdf(u8),
    /// A field that must have one encoding has another.
    #[error("archive header is not canonical: {0}")]
    NonCanonical(&'static str),
    /// Key-derivation parameters beyond what a header may ask for.
    #[error(
        "archive header asks for Argon2id m={m_kib} KiB, t={t}, p={p}, beyond the allowed maximum (m ≤ {max_m_kib} KiB, t ≤ {max_t}, p ≤ {max_p}); refusing to spend that time"
    )]
    KdfTooCostly {
        /// Memory, KiB.
        m_kib: u32,
        /// Passes.
        t: u32,
        /// Lanes.
        p: u32,
        /// Cap on memory.
        max_m_kib: u32,
        /// Cap on passes.
        max_t: u32,
        /// Cap on lanes.
        max_p: u32,
    },
    /// The passphrase does not open the archive (or the key-derivation part of the header was
    /// damaged: the two cannot be told apart).
    #[error("wrong passphrase (or the archive's key header is damaged)")]
    WrongPassphrase,
    /// The header was altered after the key was unwrapped.
    #[error(
        "archive header has been tampered with or damaged (its authentication tag does not match)"
    )]
    HeaderTampered,
    /// A payload chunk failed authentication.
    #[error("archive payload is damaged or tampered with at chunk {index} (authentication failed)")]
    ChunkTampered {
        /// Chunk index, from 0.
        index: u64,
    },
    /// The payload ends before its final chunk.
    #[error("archive is truncated: the payload ends without its final chunk")]
    Truncated,
    /// Bytes follow the final chunk.
    #[error("archive has trailing data after its final chunk")]
    TrailingData,
    /// An entry path leaves the folder.
    #[error("archive entry `{0}` escapes the secrets folder (absolute path or `..`)")]
    PathEscapes(String),
    /// A symlink or hardlink points outside the folder.
    #[error("archive entry `{0}` is a link pointing outside the secrets folder")]
    LinkEscapes(String),
    /// Device files, FIFOs and the like.
    #[error("archive entry `{0}` is a device file, FIFO or other special file; refused")]
    SpecialFile(String),
    /// The same path twice.
    #[error("archive entry `{0}` appears twice")]
    DuplicatePath(String),
    /// Unpacked size over the limit (tar or gzip bomb).
    #[error(
        "archive unpacks to more than {limit} bytes; refused (raise the limit if this is expected)"
    )]
    TooLarge {
        /// Limit.
        limit: u64,
    },
    /// More entries than allowed.
    #[error("archive has more than {limit} entries; refused")]
    TooManyEntries {
        /// Limit.
        limit: usize,
    },
    /// The tar inside is malformed.
    #[error("archive contents are not a valid tar: {0}")]
    Tar(String),
    /// The gzip layer of a legacy archive is malformed.
    #[error("legacy archive contents are not valid gzip: {0}")]
    Gzip(String),
    /// `open --into` a folder on a disk-backed filesystem.
    #[error(
        "{} is not on tmpfs or ramfs: opened secrets would touch the disk; choose a folder under /dev/shm or $XDG_RUNTIME_DIR, or pass --allow-disk",
        .0.display()
    )]
    NotInMemory(std::path::PathBuf),
    /// `open --into` a folder that already holds something.
    #[error("{} is not empty; refusing to mix opened secrets with other files", .0.display())]
    TargetNotEmpty(std::path::PathBuf),
    /// Reading the folder to seal, or writing the output, failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl ArchiveError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| ArchiveError::Io { context, source }
    }
}
