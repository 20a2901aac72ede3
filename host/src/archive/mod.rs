//! The encrypted secrets archive: the one thing, with a passphrase, that survives a total loss.
//!
//! Two formats are read:
//! - ours ([`header`] + [`stream`]): Argon2id wraps a random file key; the header is
//!   authenticated with a key derived from the file key; the payload is AES-256-GCM over fixed
//!   chunks whose nonces carry the chunk index and a last-chunk flag (age's STREAM), so no chunk
//!   can be dropped, reordered, truncated or extended unnoticed. `rekey` rewrites only the header.
//! - the legacy TazPod format ([`legacy`]): PBKDF2-SHA256 and one AES-256-GCM message over a
//!   gzip'd tar.
//!
//! The plaintext of both is a tar of the secrets folder, unpacked into memory only by
//! [`folder`] (paths, links, device files and sizes checked). Nothing is released until the
//! whole archive has been verified.

mod error;
pub(crate) use folder::SecureBuf;
pub mod files;
pub mod folder;
#[cfg(test)]
mod fuzz;
pub mod header;
pub mod legacy;
pub mod stream;

pub use error::ArchiveError;
pub use folder::{Contents, FolderLimits, SecretFile, SecretFolder};
pub use header::KdfParams;

use zeroize::Zeroizing;

/// Which format some bytes are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// tazhost's versioned format.
    Tazhost,
    /// Legacy TazPod.
    Legacy,
}

/// Our format starts with a magic; anything else long enough is tried as legacy.
pub fn detect(bytes: &[u8]) -> Format {
    if bytes.starts_with(header::MAGIC) {
        Format::Tazhost
    } else {
        Format::Legacy
    }
}

/// Seal a folder into an archive of our format.
pub fn seal_folder(
    dir: &std::path::Path,
    passphrase: &[u8],
    params: KdfParams,
) -> Result<Vec<u8>, ArchiveError> {
    let encryptor = stream::Encryptor::new(Vec::new(), passphrase, params)?;
    folder::pack_into(dir, encryptor)?.finish()
}

/// Decrypt and verify an archive of either format, then unpack it into memory.
pub fn open(
    bytes: &[u8],
    passphrase: &[u8],
    limits: &FolderLimits,
) -> Result<SecretFolder, ArchiveError> {
    let tar = decrypt(bytes, passphrase, limits)?;
    folder::unpack(&tar, limits)
}

/// The verified plaintext (a tar) of an archive of either format.
pub fn decrypt(
    bytes: &[u8],
    passphrase: &[u8],
    limits: &FolderLimits,
) -> Result<Zeroizing<Vec<u8>>, ArchiveError> {
    match detect(bytes) {
        Format::Tazhost => stream::open(bytes, passphrase, limits.max_total_bytes),
        Format::Legacy => legacy::open(bytes, passphrase, limits.max_total_bytes),
    }
}
