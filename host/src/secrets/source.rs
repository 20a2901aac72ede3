//! Where a secret comes from. Today: an environment variable or a file. The encrypted archive
//! and Vault (later issues) become further variants of [`SecretSource`] behind the same
//! `resolve` call, so nothing that consumes secrets changes when they arrive.

use super::SecretValue;
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
    /// The value is empty.
    #[error("secret `{name}` is empty")]
    Empty {
        /// Secret name.
        name: String,
    },
}

impl SecretSource {
    /// Read the value now.
    pub fn resolve(&self, name: &str) -> Result<SecretValue, SecretError> {
        let mut value = match self {
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
