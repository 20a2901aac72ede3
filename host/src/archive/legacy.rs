//! The legacy TazPod archive: `salt(32) | nonce(12) | AES-256-GCM(ciphertext | tag(16))`, key =
//! PBKDF2-HMAC-SHA256(passphrase, salt, 100 000 iterations, 32 bytes), plaintext = a gzip'd tar.
//! Read so that existing archives open; written only by `secrets convert --to-legacy`-style
//! callers and the interoperability tests.

use super::{ArchiveError, SecureBuf};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use std::io::Read;
use zeroize::Zeroizing;

/// PBKDF2 iterations of the format.
pub const ITERATIONS: u32 = 100_000;
/// The smallest possible archive: salt, nonce, tag.
pub const MIN_LEN: usize = 32 + 12 + 16;

fn key(passphrase: &[u8], salt: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(passphrase, salt, ITERATIONS, key.as_mut());
    key
}

/// Decrypt and gunzip a legacy archive into its tar, bounded by `max_plaintext` (gzip bombs).
pub fn open(
    bytes: &[u8],
    passphrase: &[u8],
    max_plaintext: u64,
) -> Result<Zeroizing<Vec<u8>>, ArchiveError> {
    if bytes.len() < MIN_LEN {
        return Err(ArchiveError::TooShort {
            len: bytes.len(),
            min: MIN_LEN,
        });
    }
    let key = key(passphrase, &bytes[..32]);
    let cipher = Aes256Gcm::new_from_slice(key.as_ref()).expect("32-byte key");
    // A one-shot GCM message cannot tell a wrong passphrase from tampering.
    let gz = Zeroizing::new(
        cipher
            .decrypt(Nonce::from_slice(&bytes[32..44]), &bytes[44..])
            .map_err(|_| ArchiveError::WrongPassphrase)?,
    );
    let mut tar = SecureBuf::default();
    let mut decoder = flate2::read::GzDecoder::new(&gz[..]).take(max_plaintext.saturating_add(1));
    std::io::copy(&mut decoder, &mut tar).map_err(|e| ArchiveError::Gzip(e.to_string()))?;
    let tar = tar.0;
    if tar.len() as u64 > max_plaintext {
        return Err(ArchiveError::TooLarge {
            limit: max_plaintext,
        });
    }
    Ok(tar)
}

/// Write a legacy archive of `tar` (gzip'd here).
pub fn seal(tar: &[u8], passphrase: &[u8]) -> Result<Vec<u8>, ArchiveError> {
    let mut gz =
        flate2::write::GzEncoder::new(SecureBuf::default(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, tar).map_err(ArchiveError::io("compressing"))?;
    let gz = gz.finish().map_err(ArchiveError::io("compressing"))?.0;
    let mut out = vec![0u8; 44];
    rand::rng().fill_bytes(&mut out[..44]);
    let key = key(passphrase, &out[..32]);
    let cipher = Aes256Gcm::new_from_slice(key.as_ref()).expect("32-byte key");
    let sealed = cipher
        .encrypt(Nonce::from_slice(&out[32..44]), &gz[..])
        .expect("AES-GCM encryption cannot fail");
    out.extend_from_slice(&sealed);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_wrong_passphrase_and_short_input() {
        let sealed = seal(b"tar bytes here", b"pw").unwrap();
        assert_eq!(&*open(&sealed, b"pw", 1 << 20).unwrap(), b"tar bytes here");
        assert!(matches!(
            open(&sealed, b"no", 1 << 20),
            Err(ArchiveError::WrongPassphrase)
        ));
        assert!(matches!(
            open(&sealed[..59], b"pw", 1 << 20),
            Err(ArchiveError::TooShort { .. })
        ));
    }

    #[test]
    fn a_gzip_bomb_is_stopped_at_the_limit() {
        let sealed = seal(&vec![0u8; 10 << 20], b"pw").unwrap();
        assert!(sealed.len() < 100 << 10, "compresses well");
        assert!(matches!(
            open(&sealed, b"pw", 1 << 20),
            Err(ArchiveError::TooLarge { .. })
        ));
    }
}
