//! The header of our archive format, version 1: fixed size, little-endian, every byte checked.
//!
//! ```text
//! offset size
//!   0     8   magic "TAZHOSTA"
//!   8     1   version = 1
//!   9     1   kdf = 1 (Argon2id, v0x13)
//!  10     2   reserved, zero
//!  12     4   Argon2id memory, KiB
//!  16     4   Argon2id passes
//!  20     4   Argon2id lanes
//!  24    16   salt
//!  40     1   log2 of the chunk size (12..=20; 16 = 64 KiB)
//!  41     3   reserved, zero
//!  44    12   nonce for the wrapped key
//!  56    48   file key (32) wrapped with AES-256-GCM under the Argon2id key; bytes 0..44 are
//!             its associated data, so parameters and salt cannot be swapped
//! 104    16   payload nonce (HKDF salt of the payload key)
//! 120    32   HMAC-SHA256 of bytes 0..120 under a key derived from the file key
//! ```
//!
//! The random file key, not the passphrase, keys the payload: `rekey` unwraps it with the old
//! passphrase and wraps it under the new one, rewriting these 152 bytes and nothing else.
//! The header is authenticated by the HMAC (age's construction) rather than as associated data
//! of every chunk, which is what lets rekey leave the payload untouched.

use super::ArchiveError;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

/// First bytes of every archive of our format.
pub const MAGIC: &[u8; 8] = b"TAZHOSTA";
/// The only version written and read.
pub const VERSION: u8 = 1;
/// Argon2id.
pub const KDF_ARGON2ID: u8 = 1;
/// Size of the header.
pub const HEADER_LEN: usize = 152;
const AAD_END: usize = 44;
const MAC_START: usize = 120;

/// Caps on what a header may ask for, so a hostile archive cannot make opening take minutes or
/// gigabytes: 1 GiB of memory, 8 passes, 4 lanes, and at most 2 GiB·passes in total (a few
/// seconds on a laptop).
pub const MAX_M_KIB: u32 = 1 << 20;
/// See [`MAX_M_KIB`].
pub const MAX_T: u32 = 8;
/// See [`MAX_M_KIB`].
pub const MAX_P: u32 = 4;
const MAX_M_TIMES_T_KIB: u64 = 2 << 20;

/// Argon2id parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory, KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Default for KdfParams {
    /// RFC 9106's second recommended setting: 64 MiB, 3 passes, 4 lanes.
    fn default() -> Self {
        Self {
            m_kib: 64 << 10,
            t: 3,
            p: 4,
        }
    }
}

impl KdfParams {
    /// Cheap parameters for tests and benchmarks of everything but the KDF (256 KiB, 1 pass).
    pub fn insecure_fast() -> Self {
        Self {
            m_kib: 256,
            t: 1,
            p: 1,
        }
    }

    fn check(self) -> Result<(), ArchiveError> {
        let too_costly = self.m_kib > MAX_M_KIB
            || self.t > MAX_T
            || self.p > MAX_P
            || u64::from(self.m_kib) * u64::from(self.t) > MAX_M_TIMES_T_KIB;
        if too_costly {
            return Err(ArchiveError::KdfTooCostly {
                m_kib: self.m_kib,
                t: self.t,
                p: self.p,
                max_m_kib: MAX_M_KIB,
                max_t: MAX_T,
                max_p: MAX_P,
            });
        }
        if self.t == 0 || self.p == 0 || self.m_kib < 8 * self.p {
            return Err(ArchiveError::NonCanonical(
                "Argon2id parameters out of range (t ≥ 1, p ≥ 1, m ≥ 8·p KiB)",
            ));
        }
        Ok(())
    }

    fn derive(self, passphrase: &[u8], salt: &[u8]) -> Zeroizing<[u8; 32]> {
        let params = argon2::Params::new(self.m_kib, self.t, self.p, Some(32))
            .expect("parameters were checked");
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase, salt, key.as_mut())
            .expect("salt length and output length are valid");
        key
    }
}

/// A parsed header, before the key is known.
#[derive(Clone)]
pub struct Header {
    bytes: [u8; HEADER_LEN],
    /// Argon2id parameters.
    pub params: KdfParams,
    /// log2 of the chunk size.
    pub chunk_log2: u8,
}

/// The keys an opened header yields.
pub struct Keys {
    /// The file key (what rekey re-wraps).
    pub file_key: Zeroizing<[u8; 32]>,
    /// The payload key.
    pub payload_key: Zeroizing<[u8; 32]>,
}

impl Header {
    /// Parse and check the canonical encoding (no key needed).
    pub fn parse(bytes: &[u8]) -> Result<Self, ArchiveError> {
        if bytes.len() < HEADER_LEN + super::stream::TAG_LEN {
            return Err(ArchiveError::TooShort {
                len: bytes.len(),
                min: HEADER_LEN + super::stream::TAG_LEN,
            });
        }
        if &bytes[..8] != MAGIC {
            return Err(ArchiveError::NonCanonical("bad magic"));
        }
        if bytes[8] != VERSION {
            return Err(ArchiveError::UnknownVersion(bytes[8]));
        }
        if bytes[9] != KDF_ARGON2ID {
            return Err(ArchiveError::UnknownKdf(bytes[9]));
        }
        if bytes[10..12] != [0, 0] || bytes[41..44] != [0, 0, 0] {
            return Err(ArchiveError::NonCanonical("reserved bytes are not zero"));
        }
        let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        let params = KdfParams {
            m_kib: u32_at(12),
            t: u32_at(16),
            p: u32_at(20),
        };
        params.check()?;
        let chunk_log2 = bytes[40];
        if !(12..=20).contains(&chunk_log2) {
            return Err(ArchiveError::NonCanonical(
                "chunk size must be 4 KiB to 1 MiB",
            ));
        }
        let mut own = [0u8; HEADER_LEN];
        own.copy_from_slice(&bytes[..HEADER_LEN]);
        Ok(Self {
            bytes: own,
            params,
            chunk_log2,
        })
    }

    /// Unwrap the file key with `passphrase` and verify the header's MAC.
    pub fn open(&self, passphrase: &[u8]) -> Result<Keys, ArchiveError> {
        let kek = self.params.derive(passphrase, &self.bytes[24..40]);
        let cipher = Aes256Gcm::new_from_slice(kek.as_ref()).expect("32-byte key");
        let unwrapped = cipher
            .decrypt(
                Nonce::from_slice(&self.bytes[44..56]),
                Payload {
                    msg: &self.bytes[56..104],
                    aad: &self.bytes[..AAD_END],
                },
            )
            .map_err(|_| ArchiveError::WrongPassphrase)?;
        let unwrapped = Zeroizing::new(unwrapped);
        let mut file_key = Zeroizing::new([0u8; 32]);
        file_key.copy_from_slice(&unwrapped);
        // verify_slice compares in constant time.
        let mut mac = mac_for(&file_key);
        mac.update(&self.bytes[..MAC_START]);
        if mac.verify_slice(&self.bytes[MAC_START..]).is_err() {
            return Err(ArchiveError::HeaderTampered);
        }
        let payload_key = payload_key(&file_key, &self.bytes[104..120]);
        Ok(Keys {
            file_key,
            payload_key,
        })
    }

    /// Chunk size in bytes.
    pub fn chunk_size(&self) -> usize {
        1 << self.chunk_log2
    }

    /// The encoded header.
    pub fn bytes(&self) -> &[u8; HEADER_LEN] {
        &self.bytes
    }

    /// A new header for `file_key` under `passphrase`, keeping `payload_nonce` (fresh salt and
    /// wrap nonce every time).
    pub fn build(
        passphrase: &[u8],
        params: KdfParams,
        chunk_log2: u8,
        file_key: &[u8; 32],
        payload_nonce: &[u8; 16],
    ) -> Result<Self, ArchiveError> {
        params.check()?;
        let mut b = [0u8; HEADER_LEN];
        b[..8].copy_from_slice(MAGIC);
        b[8] = VERSION;
        b[9] = KDF_ARGON2ID;
        b[12..16].copy_from_slice(&params.m_kib.to_le_bytes());
        b[16..20].copy_from_slice(&params.t.to_le_bytes());
        b[20..24].copy_from_slice(&params.p.to_le_bytes());
        rand::rng().fill_bytes(&mut b[24..40]);
        b[40] = chunk_log2;
        rand::rng().fill_bytes(&mut b[44..56]);
        let kek = params.derive(passphrase, &b[24..40]);
        let cipher = Aes256Gcm::new_from_slice(kek.as_ref()).expect("32-byte key");
        let wrapped = cipher
            .encrypt(
                Nonce::from_slice(&b[44..56]),
                Payload {
                    msg: file_key,
                    aad: &b[..AAD_END],
                },
            )
            .expect("AES-GCM encryption of 32 bytes cannot fail");
        b[56..104].copy_from_slice(&wrapped);
        b[104..120].copy_from_slice(payload_nonce);
        let mac = header_mac(file_key, &b[..MAC_START]);
        b[MAC_START..].copy_from_slice(&mac);
        Ok(Self {
            bytes: b,
            params,
            chunk_log2,
        })
    }

    /// The payload nonce.
    pub fn payload_nonce(&self) -> [u8; 16] {
        self.bytes[104..120].try_into().expect("16 bytes")
    }
}

fn mac_for(file_key: &[u8; 32]) -> Hmac<Sha256> {
    let mut mac_key = Zeroizing::new([0u8; 32]);
    hkdf::Hkdf::<Sha256>::new(None, file_key)
        .expand(b"tazhost-archive v1 header", mac_key.as_mut())
        .expect("32 bytes is a valid HKDF length");
    <Hmac<Sha256> as Mac>::new_from_slice(mac_key.as_ref()).expect("any key length")
}

fn header_mac(file_key: &[u8; 32], data: &[u8]) -> [u8; 32] {
    let mut mac = mac_for(file_key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn payload_key(file_key: &[u8; 32], payload_nonce: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    hkdf::Hkdf::<Sha256>::new(Some(payload_nonce), file_key)
        .expand(b"tazhost-archive v1 payload", key.as_mut())
        .expect("32 bytes is a valid HKDF length");
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header::build(b"pass", KdfParams::insecure_fast(), 16, &[7; 32], &[9; 16]).unwrap()
    }

    fn with_payload(h: &Header) -> Vec<u8> {
        let mut v = h.bytes().to_vec();
        v.extend_from_slice(&[0; 16]);
        v
    }

    #[test]
    fn round_trip_and_wrong_passphrase() {
        let h = header();
        let parsed = Header::parse(&with_payload(&h)).unwrap();
        assert_eq!(*parsed.open(b"pass").unwrap().file_key, [7; 32]);
        assert!(matches!(
            parsed.open(b"nope"),
            Err(ArchiveError::WrongPassphrase)
        ));
    }

    #[test]
    fn hostile_headers_are_refused_before_any_work() {
        let h = header();
        type Mutation = Box<dyn Fn(&mut Vec<u8>)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|b| b[8] = 2), "version 2"),
            (Box::new(|b| b[9] = 7), "derivation 7"),
            (Box::new(|b| b[11] = 1), "reserved"),
            (Box::new(|b| b[43] = 1), "reserved"),
            (Box::new(|b| b[40] = 30), "chunk size"),
            (
                Box::new(|b| b[12..16].copy_from_slice(&u32::MAX.to_le_bytes())),
                "beyond the allowed",
            ),
            (
                Box::new(|b| b[16..20].copy_from_slice(&100u32.to_le_bytes())),
                "beyond the allowed",
            ),
            (
                Box::new(|b| b[16..20].copy_from_slice(&0u32.to_le_bytes())),
                "out of range",
            ),
        ];
        for (mutate, want) in cases {
            let mut b = with_payload(&h);
            mutate(&mut b);
            let err = Header::parse(&b).err().expect("refused").to_string();
            assert!(err.contains(want), "{want}: {err}");
        }
        assert!(matches!(
            Header::parse(&[0; 10]),
            Err(ArchiveError::TooShort { .. })
        ));
    }

    #[test]
    fn a_header_flip_after_the_key_is_tampering() {
        let h = header();
        let mut b = with_payload(&h);
        b[110] ^= 1; // payload nonce: not part of the wrapped key's associated data
        let parsed = Header::parse(&b).unwrap();
        assert!(matches!(
            parsed.open(b"pass"),
            Err(ArchiveError::HeaderTampered)
        ));
    }
}
