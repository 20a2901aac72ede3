//! The Vault capability (HashiCorp Vault or OpenBao: same API), spoken over plain HTTP with the
//! reqwest client the host already has. `VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_CACERT` and
//! `VAULT_NAMESPACE` are honored; a CA can also come from the archive (PEM bytes as stored).
//!
//! Why not vaultrs: its health parsing fails on OpenBao's answers and it has no raft snapshot
//! API, which are half of what the rebirth needs, and it would bring a second HTTP stack.
//!
//! - [`client`]: requests, errors, the health and seal-status shapes.
//! - [`unseal`]: submitting the archive's Shamir keys until Vault is unsealed.
//! - [`bootstrap`]: the one-call read of the bootstrap secret, with the archive as fallback.
//! - [`snapshot`]: raft snapshots to S3 with checksums and retention; restore into an empty
//!   Vault.

pub mod bootstrap;
pub mod client;
pub mod snapshot;
pub mod throwaway;
pub mod unseal;

pub use client::{Health, SealStatus, VaultClient, VaultError};
pub use snapshot::{Pushed, Restored, SnapshotError, Verified};
pub use unseal::{
    DEFAULT_KEY_NAME, DEFAULT_TOKEN_NAME, UnsealError, UnsealOutcome, file_bytes_from_archive,
    file_from_archive, keys_from_archive, unseal,
};
