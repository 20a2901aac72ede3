//! The payload of our format: age's STREAM construction over AES-256-GCM.
//!
//! The plaintext is cut into chunks of the header's chunk size (64 KiB by default); every chunk
//! but the last is full, and the last is empty only when the whole payload is. Chunk `i` is
//! sealed with the nonce `i` (11 bytes, big-endian) followed by `1` for the last chunk and `0`
//! otherwise, so a chunk moved, dropped or duplicated fails to authenticate, a stream cut at a
//! chunk boundary lacks its final chunk, and bytes after the final chunk are refused.

use super::ArchiveError;
use super::header::{HEADER_LEN, Header, KdfParams, Keys};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use rand::RngCore;
use std::io::{Read, Write};
use zeroize::Zeroizing;

/// The GCM tag after every chunk.
pub const TAG_LEN: usize = 16;
/// The chunk size written by default (2^16 = 64 KiB).
pub const DEFAULT_CHUNK_LOG2: u8 = 16;

fn nonce(index: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

/// The payload key. AES-256-GCM from aws-lc (already linked for TLS): its AVX2/VAES code runs
/// about twice as fast as the portable RustCrypto one used for the 152-byte header, and it can
/// decrypt out of place, so a chunk that fails keeps its ciphertext for [`classify_failure`].
struct ChunkKey(LessSafeKey);

impl ChunkKey {
    fn new(keys: &Keys) -> Self {
        let key = UnboundKey::new(&AES_256_GCM, keys.payload_key.as_ref()).expect("32-byte key");
        Self(LessSafeKey::new(key))
    }

    /// Append the tag to `chunk`, encrypting it in place.
    fn seal(&self, index: u64, last: bool, chunk: &mut Vec<u8>) {
        self.0
            .seal_in_place_append_tag(nonce(index, last), Aad::empty(), chunk)
            .expect("AES-GCM encryption of a chunk cannot fail");
    }

    /// Decrypt `sealed` (ciphertext then tag) into `plain`, which must be as long as the
    /// ciphertext. `sealed` is never modified.
    fn open(&self, index: u64, last: bool, sealed: &[u8], plain: &mut [u8]) -> bool {
        let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_LEN);
        self.0
            .open_separate_gather(nonce(index, last), Aad::empty(), ciphertext, tag, plain)
            .is_ok()
    }
}

/// Encrypts what is written to it into `out`, holding one chunk at a time. Call
/// [`Encryptor::finish`] to write the final chunk: a stream dropped without it has no final
/// chunk and is refused as truncated when opened.
pub struct Encryptor<W: Write> {
    out: W,
    key: ChunkKey,
    size: usize,
    /// Plaintext of the chunk being filled; sealed once we know whether another follows it.
    buf: Zeroizing<Vec<u8>>,
    index: u64,
    /// A write to `out` failed: the stream is broken and refuses everything after.
    failed: bool,
}

impl<W: Write> Encryptor<W> {
    /// Write a fresh header (new file key, salt and nonces) for `passphrase` and get ready to
    /// encrypt.
    pub fn new(mut out: W, passphrase: &[u8], params: KdfParams) -> Result<Self, ArchiveError> {
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
        let size = header.chunk_size();
        Ok(Self {
            out,
            key: ChunkKey::new(&keys),
            size,
            buf: Zeroizing::new(Vec::with_capacity(size + TAG_LEN)),
            index: 0,
            failed: false,
        })
    }

    fn seal_chunk(&mut self, last: bool) -> std::io::Result<()> {
        if self.failed {
            return Err(broken());
        }
        self.key.seal(self.index, last, &mut self.buf);
        let written = self.out.write_all(&self.buf);
        self.buf.clear();
        self.index += 1;
        if written.is_err() {
            self.failed = true;
        }
        written
    }

    /// Seal the final chunk and hand back the output.
    pub fn finish(mut self) -> Result<W, ArchiveError> {
        self.seal_chunk(true)
            .and_then(|()| self.out.flush())
            .map_err(ArchiveError::io("writing the archive"))?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Encryptor<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.failed {
            return Err(broken());
        }
        if data.is_empty() {
            return Ok(0);
        }
        if self.buf.len() == self.size {
            // More data follows, so the full chunk is not the last one.
            self.seal_chunk(false)?;
        }
        let n = (self.size - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn broken() -> std::io::Error {
    std::io::Error::other("an earlier write of the archive failed")
}

/// Encrypt everything `plaintext` yields into `out`, in constant memory (one chunk).
pub fn seal(
    mut plaintext: impl Read,
    passphrase: &[u8],
    params: KdfParams,
    out: &mut (impl Write + ?Sized),
) -> Result<(), ArchiveError> {
    let mut encryptor = Encryptor::new(out, passphrase, params)?;
    std::io::copy(&mut plaintext, &mut encryptor)
        .map_err(ArchiveError::io("encrypting the plaintext"))?;
    encryptor.finish()?;
    Ok(())
}

/// An archive whose header has been read and parsed, waiting for a passphrase. Reading the
/// header first lets a caller ask for the passphrase again without reading the payload twice.
pub struct Opening<R: Read> {
    input: R,
    header: Header,
    /// Payload bytes read along with the header (the smallest payload is one tag).
    carry: Vec<u8>,
}

impl<R: Read> Opening<R> {
    /// Read and parse the header from the start of `input`.
    pub fn start(mut input: R) -> Result<Self, ArchiveError> {
        let min = HEADER_LEN + TAG_LEN;
        let mut head = vec![0u8; min];
        let got =
            read_full(&mut input, &mut head).map_err(ArchiveError::io("reading the archive"))?;
        if got < min {
            return Err(ArchiveError::TooShort { len: got, min });
        }
        let header = Header::parse(&head)?;
        Ok(Self {
            input,
            header,
            carry: head.split_off(HEADER_LEN),
        })
    }

    /// The parsed header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Check `passphrase` against the header (Argon2id: deliberately slow).
    pub fn unlock(&self, passphrase: &[u8]) -> Result<Keys, ArchiveError> {
        self.header.open(passphrase)
    }

    /// Start decrypting the payload with keys from [`Opening::unlock`].
    pub fn decrypt(self, keys: &Keys) -> Decryptor<R> {
        Decryptor::new(self.input, keys, self.header.chunk_size(), self.carry)
    }
}

/// Yields the verified plaintext of an archive one chunk at a time. Every byte it yields has
/// been authenticated as part of its chunk at its position; a stream that is cut, reordered or
/// extended fails with an [`ArchiveError`] (inside the `io::Error`; see [`into_archive_error`])
/// no later than at its end, so a caller must not act on the plaintext before reading to EOF.
pub struct Decryptor<R: Read> {
    input: R,
    key: ChunkKey,
    sealed_len: usize,
    /// Ciphertext read ahead of the current chunk (the header's extra bytes, or the one byte
    /// peeked to learn whether a chunk is the last).
    carry: Vec<u8>,
    /// The current chunk as read.
    sealed: Vec<u8>,
    /// The current chunk's plaintext.
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
    index: u64,
    finished: bool,
}

impl<R: Read> Decryptor<R> {
    fn new(input: R, keys: &Keys, chunk_size: usize, carry: Vec<u8>) -> Self {
        let sealed_len = chunk_size + TAG_LEN;
        Self {
            input,
            key: ChunkKey::new(keys),
            sealed_len,
            carry,
            sealed: Vec::with_capacity(sealed_len),
            buf: Zeroizing::new(Vec::with_capacity(sealed_len)),
            pos: 0,
            index: 0,
            finished: false,
        }
    }

    fn next_chunk(&mut self) -> Result<(), ArchiveError> {
        let reading = ArchiveError::io("reading the archive");
        self.buf.clear();
        self.sealed.clear();
        self.sealed.append(&mut self.carry);
        let have = self.sealed.len();
        self.sealed.resize(self.sealed_len, 0);
        let got = match read_full(&mut self.input, &mut self.sealed[have..]) {
            Ok(n) => have + n,
            Err(e) => return Err(reading(e)),
        };
        self.sealed.truncate(got);
        let last = if got < self.sealed_len {
            true
        } else {
            let mut peek = [0u8; 1];
            match read_full(&mut self.input, &mut peek) {
                Ok(0) => true,
                Ok(_) => {
                    self.carry.push(peek[0]);
                    false
                }
                Err(e) => return Err(reading(e)),
            }
        };
        if self.sealed.len() < TAG_LEN {
            return Err(ArchiveError::Truncated);
        }
        let index = self.index;
        self.buf.resize(self.sealed.len() - TAG_LEN, 0);
        if !self.key.open(index, last, &self.sealed, &mut self.buf) {
            let err = classify_failure(&self.key, &self.sealed, &mut self.buf, index, last);
            self.buf.clear();
            return Err(err);
        }
        if last && self.buf.is_empty() && index > 0 {
            // Only an empty payload may end with an empty chunk.
            return Err(ArchiveError::NonCanonical("empty final chunk after data"));
        }
        self.finished = last;
        self.index += 1;
        self.pos = 0;
        Ok(())
    }
}

impl<R: Read> Read for Decryptor<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.pos < self.buf.len() {
                let n = (self.buf.len() - self.pos).min(out.len());
                out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.finished {
                return Ok(0);
            }
            self.next_chunk().map_err(std::io::Error::other)?;
        }
    }
}

/// The [`ArchiveError`] a [`Decryptor`] (or a reader over one) failed with, or `context` and
/// the I/O error if it was something else.
pub fn into_archive_error(err: std::io::Error, context: &str) -> ArchiveError {
    if err
        .get_ref()
        .is_some_and(|inner| inner.is::<ArchiveError>())
    {
        if let Some(inner) = err.into_inner() {
            return *inner.downcast::<ArchiveError>().expect("checked above");
        }
        unreachable!("get_ref returned Some");
    }
    ArchiveError::io(context)(err)
}

/// Read until `buf` is full or the input ends; returns how much was read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Verify and decrypt a whole archive held in memory. The plaintext buffer is allocated once
/// (so no reallocation leaves copies behind) and is returned only if every chunk verified.
pub fn open(
    bytes: &[u8],
    passphrase: &[u8],
    max_plaintext: u64,
) -> Result<Zeroizing<Vec<u8>>, ArchiveError> {
    let opening = Opening::start(bytes)?;
    let keys = opening.unlock(passphrase)?;
    let sealed = opening.header().chunk_size() + TAG_LEN;
    let payload = bytes.len() - HEADER_LEN;
    let plain_len = payload.saturating_sub(payload.div_ceil(sealed).max(1) * TAG_LEN);
    if plain_len as u64 > max_plaintext {
        return Err(ArchiveError::TooLarge {
            limit: max_plaintext,
        });
    }
    let mut plain = Zeroizing::new(Vec::with_capacity(plain_len));
    opening
        .decrypt(&keys)
        .read_to_end(&mut plain)
        .map_err(|e| into_archive_error(e, "reading the archive"))?;
    Ok(plain)
}

/// Tell truncation (a full chunk that verifies only as a non-final one) and trailing data (a
/// chunk that verifies only as the final one, with more after it) apart from plain tampering.
fn classify_failure(
    key: &ChunkKey,
    sealed: &[u8],
    scratch: &mut [u8],
    index: u64,
    was_last: bool,
) -> ArchiveError {
    match (key.open(index, !was_last, sealed, scratch), was_last) {
        (true, true) => ArchiveError::Truncated,
        (true, false) => ArchiveError::TrailingData,
        _ => ArchiveError::ChunkTampered { index },
    }
}

/// Re-wrap the file key under a new passphrase: the payload is copied unchanged, in constant
/// memory. The old header must open with `old`, and the payload is verified on the way
/// through (decrypted chunk by chunk and dropped), so a damaged archive is refused rather than
/// given a fresh header; `out` must then be discarded.
pub fn rekey(
    archive: &mut impl Read,
    old: &[u8],
    new: &[u8],
    params: KdfParams,
    out: &mut (impl Write + ?Sized),
) -> Result<(), ArchiveError> {
    let opening = Opening::start(archive)?;
    let keys = opening.unlock(old)?;
    rekey_opened(opening, &keys, new, params, out)
}

/// [`rekey`] for an archive whose header was already unlocked.
pub fn rekey_opened<R: Read>(
    opening: Opening<R>,
    keys: &Keys,
    new: &[u8],
    params: KdfParams,
    out: &mut (impl Write + ?Sized),
) -> Result<(), ArchiveError> {
    let Opening {
        input,
        header,
        carry,
    } = opening;
    let fresh = Header::build(
        new,
        params,
        header.chunk_log2,
        &keys.file_key,
        &header.payload_nonce(),
    )?;
    out.write_all(fresh.bytes())
        .and_then(|()| out.write_all(&carry))
        .map_err(ArchiveError::io("writing the rekeyed archive"))?;
    // Every byte read past the header is copied to `out` as it is read by the verifier.
    let copying = Tee { input, out };
    let mut verifier = Decryptor::new(copying, keys, header.chunk_size(), carry);
    std::io::copy(&mut verifier, &mut std::io::sink())
        .map_err(|e| into_archive_error(e, "copying the payload"))?;
    Ok(())
}

/// Copies what is read from `input` to `out`.
struct Tee<'a, R, W: ?Sized> {
    input: R,
    out: &'a mut W,
}

impl<R: Read, W: Write + ?Sized> Read for Tee<'_, R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Hands out at most one byte per read, the worst case for a streaming reader (tests).
#[cfg(test)]
pub(crate) struct Trickle<'a>(pub(crate) &'a [u8]);

#[cfg(test)]
impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), out.is_empty()) {
            (Some((b, rest)), false) => {
                out[0] = *b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
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

    #[test]
    fn small_writes_and_one_byte_reads_stream_the_same_bytes() {
        let size = 1usize << DEFAULT_CHUNK_LOG2;
        let plain: Vec<u8> = (0..2 * size + 3).map(|i| (i % 253) as u8).collect();
        let mut enc = Encryptor::new(Vec::new(), b"pw", KdfParams::insecure_fast()).unwrap();
        for piece in plain.chunks(777) {
            enc.write_all(piece).unwrap();
        }
        let sealed = enc.finish().unwrap();
        assert_eq!(sealed.len(), HEADER_LEN + plain.len() + 3 * TAG_LEN);
        let opening = Opening::start(Trickle(&sealed)).unwrap();
        let keys = opening.unlock(b"pw").unwrap();
        let mut out = Vec::new();
        opening.decrypt(&keys).read_to_end(&mut out).unwrap();
        assert_eq!(out, plain);
    }

    #[test]
    fn an_unfinished_stream_is_truncated_and_a_chunk_after_the_last_is_trailing_data() {
        let size = 1usize << DEFAULT_CHUNK_LOG2;
        let mut enc = Encryptor::new(Vec::new(), b"pw", KdfParams::insecure_fast()).unwrap();
        enc.write_all(&vec![1u8; 2 * size]).unwrap();
        // Dropped without finish(): the second chunk was never sealed, the first is not final.
        let unfinished = std::mem::take(&mut enc.out);
        drop(enc);
        assert!(matches!(
            open(&unfinished, b"pw", u64::MAX),
            Err(ArchiveError::Truncated)
        ));

        let sealed = seal_bytes(&vec![7u8; size]);
        let mut doubled = sealed.clone();
        doubled.extend_from_slice(&sealed[HEADER_LEN..]);
        assert!(matches!(
            open(&doubled, b"pw", u64::MAX),
            Err(ArchiveError::TrailingData)
        ));
    }

    #[test]
    fn a_failing_reader_is_an_io_error_not_tampering() {
        let sealed = seal_bytes(&vec![3u8; 100_000]);
        let failing = (&sealed[..HEADER_LEN + 1000]).chain(FailingReader);
        let opening = Opening::start(failing).unwrap();
        let keys = opening.unlock(b"pw").unwrap();
        let err = opening
            .decrypt(&keys)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(matches!(
            into_archive_error(err, "reading"),
            ArchiveError::Io { .. }
        ));
    }

    struct FailingReader;
    impl Read for FailingReader {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "gone",
            ))
        }
    }

    #[test]
    fn rekey_refuses_a_damaged_payload() {
        let mut sealed = seal_bytes(&vec![9u8; 150_000]);
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        let mut out = Vec::new();
        let err = rekey(
            &mut &sealed[..],
            b"pw",
            b"new",
            KdfParams::insecure_fast(),
            &mut out,
        )
        .unwrap_err();
        assert!(
            matches!(err, ArchiveError::ChunkTampered { index: 2 }),
            "{err}"
        );
    }

    /// Accepts `room` bytes, then fails every write.
    struct Full {
        room: usize,
    }
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::Error::other("disk full"));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn after_a_failed_write_the_encryptor_refuses_everything() {
        let mut enc =
            Encryptor::new(Full { room: 70_000 }, b"pw", KdfParams::insecure_fast()).unwrap();
        let data = vec![1u8; 300_000];
        assert!(enc.write_all(&data).is_err());
        assert!(enc.write(&data).is_err(), "no panic, no silent success");
        assert!(enc.finish().is_err());
    }
}
