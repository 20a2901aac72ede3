//! The payload of our format: age's STREAM construction over AES-256-GCM.
//!
//! The plaintext is cut into chunks of the header's chunk size (64 KiB by default); every chunk
//! but the last is full, and the last is empty only when the whole payload is. Chunk `i` is
//! sealed with the nonce `i` (11 bytes, big-endian) followed by `1` for the last chunk and `0`
//! otherwise, so a chunk moved, dropped or duplicated fails to authenticate, a stream cut at a
//! chunk boundary lacks its final chunk, and bytes after the final chunk are refused.

use super::ArchiveError;
use super::header::{HEADER_LEN, Header, KdfParams};
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use std::io::{Read, Write};
use zeroize::Zeroizing;

/// The GCM tag after every chunk.
pub const TAG_LEN: usize = 16;
/// The chunk size written by default (2^16 = 64 KiB).
pub const DEFAULT_CHUNK_LOG2: u8 = 16;

fn nonce(index: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// Encrypt everything `plaintext` yields into `out`, in constant memory (two chunks).
pub fn seal(
    mut plaintext: impl Read,
    passphrase: &[u8],
    params: KdfParams,
    out: &mut impl Write,
) -> Result<(), ArchiveError> {
    let mut file_key = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(file_key.as_mut());
    let mut payload_nonce = [0u8; 16];
    rand::rng().fill_bytes(&mut payload_nonce);
    let header = Header::build(
        passphrase,
        params,
        DEFAULT_CHUNK_LOG2,
        &file_key,
        &payload_nonce,
    )?;
    let keys = header.open(passphrase)?;
    out.write_all(header.bytes())
        .map_err(ArchiveError::io("writing the archive"))?;
    let cipher = Aes256Gcm::new_from_slice(keys.payload_key.as_ref()).expect("32-byte key");
    let size = header.chunk_size();
    // `current` is sealed once we know whether another chunk follows it.
    let mut current = Zeroizing::new(Vec::with_capacity(size + TAG_LEN));
    let mut next = Zeroizing::new(Vec::with_capacity(size + TAG_LEN));
    fill(&mut plaintext, &mut current, size)?;
    let mut index = 0u64;
    loop {
        let full = current.len() == size;
        if full {
            fill(&mut plaintext, &mut next, size)?;
        }
        let last = !full || next.is_empty();
        cipher
            .encrypt_in_place(Nonce::from_slice(&nonce(index, last)), b"", &mut *current)
            .expect("AES-GCM encryption of a chunk cannot fail");
        out.write_all(&current)
            .map_err(ArchiveError::io("writing the archive"))?;
        if last {
            return Ok(());
        }
        std::mem::swap(&mut current, &mut next);
        next.clear();
        index += 1;
    }
}

/// Read up to `size` bytes into `buf` (which is empty), stopping early only at end of input.
fn fill(input: &mut impl Read, buf: &mut Vec<u8>, size: usize) -> Result<(), ArchiveError> {
    buf.resize(size, 0);
    let mut got = 0;
    while got < size {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ArchiveError::io("reading the plaintext")(e)),
        }
    }
    buf.truncate(got);
    Ok(())
}

/// Verify and decrypt a whole archive held in memory. The plaintext buffer is allocated once
/// (so no reallocation leaves copies behind) and is returned only if every chunk verified.
pub fn open(
    bytes: &[u8],
    passphrase: &[u8],
    max_plaintext: u64,
) -> Result<Zeroizing<Vec<u8>>, ArchiveError> {
    let header = Header::parse(bytes)?;
    let keys = header.open(passphrase)?;
    let payload = &bytes[HEADER_LEN..];
    let size = header.chunk_size();
    let sealed = size + TAG_LEN;
    let chunks = payload.len().div_ceil(sealed).max(1);
    let plain_len = payload.len().saturating_sub(chunks * TAG_LEN);
    if plain_len as u64 > max_plaintext {
        return Err(ArchiveError::TooLarge {
            limit: max_plaintext,
        });
    }
    let mut plain = Zeroizing::new(Vec::with_capacity(plain_len));
    let cipher = Aes256Gcm::new_from_slice(keys.payload_key.as_ref()).expect("32-byte key");
    let mut chunk = Zeroizing::new(Vec::with_capacity(sealed));
    for (index, piece) in payload.chunks(sealed).enumerate() {
        let index = index as u64;
        let is_final_piece = (index as usize + 1) * sealed >= payload.len();
        if piece.len() < TAG_LEN {
            return Err(if index == 0 {
                ArchiveError::TooShort {
                    len: bytes.len(),
                    min: HEADER_LEN + TAG_LEN,
                }
            } else {
                ArchiveError::Truncated
            });
        }
        chunk.clear();
        chunk.extend_from_slice(piece);
        let tag_ok = cipher
            .decrypt_in_place(
                Nonce::from_slice(&nonce(index, is_final_piece)),
                b"",
                &mut *chunk,
            )
            .is_ok();
        if !tag_ok {
            let after = payload.len().saturating_sub((index as usize + 1) * sealed);
            return Err(classify_failure(
                &cipher,
                piece,
                index,
                is_final_piece,
                after,
            ));
        }
        if is_final_piece && chunk.is_empty() && index > 0 {
            // Only an empty payload may end with an empty chunk.
            return Err(ArchiveError::NonCanonical("empty final chunk after data"));
        }
        plain.extend_from_slice(&chunk);
    }
    Ok(plain)
}

/// Tell truncation (a full chunk that verifies only as a non-final one) and trailing data (a
/// piece after a valid final chunk) apart from plain tampering.
fn classify_failure(
    cipher: &Aes256Gcm,
    piece: &[u8],
    index: u64,
    was_final: bool,
    bytes_after: usize,
) -> ArchiveError {
    let mut probe = Zeroizing::new(piece.to_vec());
    let verifies_as_other = cipher
        .decrypt_in_place(
            Nonce::from_slice(&nonce(index, !was_final)),
            b"",
            &mut *probe,
        )
        .is_ok();
    match (verifies_as_other, was_final) {
        (true, true) => ArchiveError::Truncated,
        (true, false) => ArchiveError::TrailingData(bytes_after),
        _ => ArchiveError::ChunkTampered { index },
    }
}

/// Re-wrap the file key under a new passphrase: the payload is copied unchanged, so this runs
/// in constant memory and never sees plaintext. The old header must open with `old`.
pub fn rekey(
    archive: &mut impl Read,
    old: &[u8],
    new: &[u8],
    params: KdfParams,
    out: &mut impl Write,
) -> Result<(), ArchiveError> {
    let mut head = [0u8; HEADER_LEN + TAG_LEN];
    archive
        .read_exact(&mut head)
        .map_err(|_| ArchiveError::TooShort {
            len: 0,
            min: HEADER_LEN + TAG_LEN,
        })?;
    let header = Header::parse(&head)?;
    let keys = header.open(old)?;
    let fresh = Header::build(
        new,
        params,
        header.chunk_log2,
        &keys.file_key,
        &header.payload_nonce(),
    )?;
    out.write_all(fresh.bytes())
        .and_then(|()| out.write_all(&head[HEADER_LEN..]))
        .map_err(ArchiveError::io("writing the rekeyed archive"))?;
    std::io::copy(archive, out).map_err(ArchiveError::io("copying the payload"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal_bytes(plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        seal(plain, b"pw", KdfParams::insecure_fast(), &mut out).unwrap();
        out
    }

    #[test]
    fn round_trips_at_chunk_boundaries() {
        let size = 1usize << DEFAULT_CHUNK_LOG2;
        for len in [0, 1, size - 1, size, size + 1, 2 * size, 3 * size + 7] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = seal_bytes(&plain);
            let chunks = len.div_ceil(size).max(1);
            assert_eq!(
                sealed.len(),
                HEADER_LEN + len + chunks * TAG_LEN,
                "len {len}"
            );
            assert_eq!(
                &*open(&sealed, b"pw", u64::MAX).unwrap(),
                &plain,
                "len {len}"
            );
        }
    }

    #[test]
    fn dropping_reordering_truncating_or_extending_is_detected() {
        let size = 1usize << DEFAULT_CHUNK_LOG2;
        let sealed = seal_bytes(&vec![5u8; 3 * size]);
        let sealed_chunk = size + TAG_LEN;
        let chunk =
            |i: usize| &sealed[HEADER_LEN + i * sealed_chunk..HEADER_LEN + (i + 1) * sealed_chunk];
        let header = &sealed[..HEADER_LEN];

        let truncated = [header, chunk(0), chunk(1)].concat();
        assert!(matches!(
            open(&truncated, b"pw", u64::MAX),
            Err(ArchiveError::Truncated)
        ));

        let reordered = [header, chunk(1), chunk(0), chunk(2)].concat();
        assert!(matches!(
            open(&reordered, b"pw", u64::MAX),
            Err(ArchiveError::ChunkTampered { index: 0 })
        ));

        let dropped = [header, chunk(0), chunk(2)].concat();
        assert!(matches!(
            open(&dropped, b"pw", u64::MAX),
            Err(ArchiveError::ChunkTampered { index: 1 })
        ));

        let mut extended = sealed.clone();
        extended.extend_from_slice(&[0u8; 40]);
        assert!(open(&extended, b"pw", u64::MAX).is_err());

        let cut_mid_chunk = &sealed[..sealed.len() - 10];
        assert!(open(cut_mid_chunk, b"pw", u64::MAX).is_err());
    }

    #[test]
    fn every_single_bit_flip_is_refused() {
        let sealed = seal_bytes(b"a small secret, two dozen bytes");
        for bit in 0..sealed.len() * 8 {
            let mut bad = sealed.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                open(&bad, b"pw", u64::MAX).is_err(),
                "bit {bit} flipped went unnoticed"
            );
        }
    }

    #[test]
    fn rekey_changes_only_the_header_and_the_old_passphrase_stops_working() {
        let plain = vec![42u8; 200_000];
        let sealed = seal_bytes(&plain);
        let mut out = Vec::new();
        rekey(
            &mut &sealed[..],
            b"pw",
            b"new pw",
            KdfParams::insecure_fast(),
            &mut out,
        )
        .unwrap();
        assert_eq!(out[HEADER_LEN..], sealed[HEADER_LEN..]);
        assert_eq!(&*open(&out, b"new pw", u64::MAX).unwrap(), &plain);
        assert!(matches!(
            open(&out, b"pw", u64::MAX),
            Err(ArchiveError::WrongPassphrase)
        ));
        let mut again = Vec::new();
        assert!(matches!(
            rekey(
                &mut &sealed[..],
                b"wrong",
                b"x",
                KdfParams::insecure_fast(),
                &mut again
            ),
            Err(ArchiveError::WrongPassphrase)
        ));
        assert!(again.is_empty(), "nothing written on failure");
    }

    #[test]
    fn a_plaintext_over_the_limit_is_refused_before_decrypting() {
        let sealed = seal_bytes(&[1u8; 5000]);
        assert!(matches!(
            open(&sealed, b"pw", 4000),
            Err(ArchiveError::TooLarge { .. })
        ));
    }
}
