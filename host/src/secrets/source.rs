//! Where a secret comes from: an environment variable, a file, or a file inside the encrypted
//! archive named by `[archive]` in cluster.toml (opened once per run, in memory). Vault (a
//! later issue) becomes a further variant behind the same `resolve` call.

use super::SecretValue;
use crate::archive::SecretFolder;
use serde::Deserialize;
use std::path::PathBuf;

/// A secret's source as written in cluster.toml, e.g. `hcloud-token = { from = "env", var = "HCLOUD_TOKEN" }`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "from", rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretSource {
    /// The value of an environment variable of the tazhost process.
    Env {
        /// Variable name.
        var: String,
    },
    /// The contents of a file (one trailing newline is dropped). Relative paths are resolved
    /// against the directory of cluster.toml.
    File {
        /// Path of the file.
        path: PathBuf,
    },
    /// A file inside the secrets archive (`[archive]` in cluster.toml), by its path there,
    /// e.g. `{ from = "archive", path = "hetzner/hcloud-token" }`. One trailing newline is
    /// dropped.
    Archive {
        /// Path inside the archive.
        path: String,
    },
    /// A field of the bootstrap secret in Vault (`[vault]` in cluster.toml), read with all the
    /// others in one request, e.g. `{ from = "vault", field = "PROXMOX_TOKEN_SECRET" }`.
    Vault {
        /// Field name.
        field: String,
    },
}

/// Values already fetched for the sources that are read as a whole.
#[derive(Default, Clone, Copy)]
pub struct Fetched<'a> {
    /// The opened archive.
    pub archive: Option<&'a SecretFolder>,
    /// The bootstrap fields read from Vault (or its archive fallback).
    pub vault: Option<&'a std::collections::BTreeMap<String, SecretValue>>,
}

/// A secret could not be resolved. Messages name the secret and its source, never a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is unset or not UTF-8.
    #[error("secret `{name}`: environment variable {var} is not set")]
    MissingEnv {
        /// Secret name.
        name: String,
        /// Variable name.
        var: String,
    },
    /// The file could not be read.
    #[error("secret `{name}`: cannot read {}: {source}", path.display())]
    File {
        /// Secret name.
        name: String,
        /// File path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An archive secret, but no archive was opened.
    #[error(
        "secret `{name}` comes from the archive, but no archive was opened (add [archive] to cluster.toml)"
    )]
    NoArchive {
        /// Secret name.
        name: String,
    },
    /// The archive has no such file.
    #[error("secret `{name}`: the archive has no file `{path}`")]
    NotInArchive {
        /// Secret name.
        name: String,
        /// Path looked for.
        path: String,
    },
    /// A Vault secret, but Vault was not read.
    #[error(
        "secret `{name}` comes from Vault, but Vault was not read (add [vault] to cluster.toml)"
    )]
    NoVault {
        /// Secret name.
        name: String,
    },
    /// The bootstrap read did not return the field.
    #[error(
        "secret `{name}`: the bootstrap read returned no field `{field}` (list it in [vault] fields)"
    )]
    NotInVault {
        /// Secret name.
        name: String,
        /// Field.
        field: String,
    },
    /// The value is not UTF-8 text.
    #[error("secret `{name}` is not UTF-8 text")]
    NotText {
        /// Secret name.
        name: String,
    },
    /// The value is empty.
    #[error("secret `{name}` is empty")]
    Empty {
        /// Secret name.
        name: String,
    },
}

impl SecretSource {
    /// Whether this secret lives in the archive.
    pub fn is_archive(&self) -> bool {
        matches!(self, SecretSource::Archive { .. })
    }

    /// Whether this secret is a field of the Vault bootstrap secret.
    pub fn is_vault(&self) -> bool {
        matches!(self, SecretSource::Vault { .. })
    }

    /// Read the value now, taking archive and Vault values from `fetched`.
    pub fn resolve(&self, name: &str, fetched: Fetched<'_>) -> Result<SecretValue, SecretError> {
        let archive = fetched.archive;
        let mut value = match self {
            SecretSource::Vault { field } => {
                let values = fetched.vault.ok_or_else(|| SecretError::NoVault {
                    name: name.to_string(),
                })?;
                let value = values.get(field).ok_or_else(|| SecretError::NotInVault {
                    name: name.to_string(),
                    field: field.clone(),
                })?;
                if value.expose().is_empty() {
                    return Err(SecretError::Empty {
                        name: name.to_string(),
                    });
                }
                return Ok(value.clone());
            }
            SecretSource::Archive { path } => {
                let folder = archive.ok_or_else(|| SecretError::NoArchive {
                    name: name.to_string(),
                })?;
                let file = folder.get(path).ok_or_else(|| SecretError::NotInArchive {
                    name: name.to_string(),
                    path: path.clone(),
                })?;
                String::from_utf8(file.data().to_vec()).map_err(|e| {
                    zeroize::Zeroize::zeroize(&mut e.into_bytes());
                    SecretError::NotText {
                        name: name.to_string(),
                    }
                })?
            }
            SecretSource::Env { var } => {
                std::env::var(var).map_err(|_| SecretError::MissingEnv {
                    name: name.to_string(),
                    var: var.clone(),
                })?
            }
            SecretSource::File { path } => {
                std::fs::read_to_string(path).map_err(|source| SecretError::File {
                    name: name.to_string(),
                    path: path.clone(),
                    source,
                })?
            }
        };
        if value.ends_with('\n') {
            value.pop();
            if value.ends_with('\r') {
                value.pop();
            }
        }
        if value.is_empty() {
            return Err(SecretError::Empty {
                name: name.to_string(),
            });
        }
        Ok(SecretValue::new(value))
    }

    /// Make a relative file path relative to `base` (the directory of cluster.toml).
    pub fn rebase(&mut self, base: &std::path::Path) {
        if let SecretSource::File { path } = self
            && path.is_relative()
        {
            *path = base.join(&*path);
        }
    }
}
