//! The `crypto` capability: randomness and hashing done by the host, and request signatures made
//! with keys that never leave it.

pub mod oci_signature;

use super::CallState;
use crate::runtime::bindings::tazlab::bootstrap::crypto as wit;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Largest `random-bytes` request (64 KiB): enough for any nonce or key.
const MAX_RANDOM: u32 = 65536;

impl wit::Host for CallState {
    fn random_bytes(&mut self, len: u32) -> Vec<u8> {
        let mut out = vec![0u8; len.min(MAX_RANDOM) as usize];
        rand::rng().fill_bytes(&mut out);
        out
    }

    fn sha256(&mut self, data: Vec<u8>) -> Vec<u8> {
        Sha256::digest(&data).to_vec()
    }
}
