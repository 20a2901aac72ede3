//! Unsealing with the Shamir keys kept in the archive: read the status; if sealed, submit keys
//! until Vault unseals. Nothing is left half-done: on any refusal the unseal progress is reset,
//! so a wrong archive changes nothing on the server.

use super::client::{Health, VaultClient, VaultError};
use crate::archive::SecretFolder;
use crate::secrets::SecretValue;
use std::time::Duration;

/// How long an unsealed Vault may take to become active (about 0.2 s on OpenBao).
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(30);

/// The seeds' key file names, `{n}` being 1 to 5.
pub const DEFAULT_KEY_NAME: &str = "vault-unseal-key-{n}";
/// The seeds' admin token file name.
pub const DEFAULT_TOKEN_NAME: &str = "vault-root-token";

/// Unsealing failed; the server's unseal progress was reset.
#[derive(Debug, thiserror::Error)]
pub enum UnsealError {
    /// Talking to Vault.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// Nothing to unseal: the server was never initialized.
    #[error(
        "Vault at {0} is not initialized: there is nothing to unseal (restore a snapshot into it with `tazhost vault restore`)"
    )]
    NotInitialized(String),
    /// Fewer keys than the threshold.
    #[error(
        "Vault needs {need} unseal keys and the archive holds {have} ({names}); nothing was submitted"
    )]
    TooFewKeys {
        /// Keys found.
        have: usize,
        /// Threshold.
        need: u32,
        /// The names looked for.
        names: String,
    },
    /// Vault refused a key or the combination.
    #[error(
        "Vault refused the unseal keys at `{key}` ({detail}): they do not belong to this Vault (another cluster's archive?) or one is damaged; the unseal progress was reset and nothing changed"
    )]
    KeysRefused {
        /// The key file being submitted when Vault refused.
        key: String,
        /// Vault's words.
        detail: String,
    },
    /// Two archive files match one key name.
    #[error("the archive has several files named `{0}`; name the key files by their full path")]
    Ambiguous(String),
}

/// What [`unseal`] did.
#[derive(Debug)]
pub struct UnsealOutcome {
    /// Whether Vault was sealed before.
    pub was_sealed: bool,
    /// Keys submitted.
    pub keys_submitted: usize,
    /// Health afterwards.
    pub health: Health,
}

/// The key files of the archive, in order: for each `n` in `1..=count`, `pattern` with `{n}`
/// replaced, matched against the full path or the file name. Missing files are skipped.
pub fn keys_from_archive(
    folder: &SecretFolder,
    pattern: &str,
    count: u32,
) -> Result<Vec<(String, SecretValue)>, UnsealError> {
    let mut keys = Vec::new();
    for n in 1..=count {
        let name = pattern.replace("{n}", &n.to_string());
        if let Some(value) = file_from_archive(folder, &name)? {
            keys.push((name, value));
        }
    }
    Ok(keys)
}

/// The file `name` of the archive (full path or file name) as a secret (surrounding whitespace
/// trimmed), if present.
pub fn file_from_archive(
    folder: &SecretFolder,
    name: &str,
) -> Result<Option<SecretValue>, UnsealError> {
    Ok(file_bytes_from_archive(folder, name)?.and_then(|bytes| {
        std::str::from_utf8(bytes.trim_ascii())
            .ok()
            .filter(|t| !t.is_empty())
            .map(|t| SecretValue::new(t.to_string()))
    }))
}

/// The file `name` of the archive, byte for byte as stored (a PEM CA is used exactly as kept,
/// never trimmed or re-wrapped).
pub fn file_bytes_from_archive(
    folder: &SecretFolder,
    name: &str,
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, UnsealError> {
    let matches: Vec<&String> = folder
        .files
        .keys()
        .filter(|path| path.as_str() == name || path.rsplit('/').next() == Some(name))
        .collect();
    match matches.as_slice() {
        [] => Ok(None),
        [path] => Ok(Some(zeroize::Zeroizing::new(
            folder.files[*path].data().to_vec(),
        ))),
        _ => Err(UnsealError::Ambiguous(name.to_string())),
    }
}

/// Unseal `client` with `keys` (name, value) if it is sealed.
pub async fn unseal(
    client: &VaultClient,
    keys: &[(String, SecretValue)],
    pattern: &str,
) -> Result<UnsealOutcome, UnsealError> {
    let health = client.health().await?;
    if !health.initialized {
        return Err(UnsealError::NotInitialized(client.addr().to_string()));
    }
    if !health.sealed {
        return Ok(UnsealOutcome {
            was_sealed: false,
            keys_submitted: 0,
            health,
        });
    }
    let status = client.seal_status().await?;
    if keys.len() < status.t as usize {
        return Err(UnsealError::TooFewKeys {
            have: keys.len(),
            need: status.t,
            names: pattern.replace("{n}", "N"),
        });
    }
    if status.progress > 0 {
        // Someone's half-finished attempt: start from nothing.
        client.reset_unseal().await?;
    }
    for (submitted, (name, key)) in keys.iter().enumerate() {
        match client.submit_unseal_key(key).await {
            Ok(status) if !status.sealed => {
                tracing::info!("Vault unsealed with {} key(s)", submitted + 1);
                let health = client.wait_active(ACTIVE_TIMEOUT).await?;
                return Ok(UnsealOutcome {
                    was_sealed: true,
                    keys_submitted: submitted + 1,
                    health,
                });
            }
            Ok(status) if status.progress == 0 => {
                // Vault combined the keys, failed, and started over.
                return Err(UnsealError::KeysRefused {
                    key: name.clone(),
                    detail: "the combined keys did not decrypt the keyring".into(),
                });
            }
            Ok(_) => {}
            Err(VaultError::Refused { errors, status, .. }) => {
                let _ = client.reset_unseal().await;
                let mut detail = if errors.is_empty() {
                    format!("HTTP {status}")
                } else {
                    crate::report::clean(&errors.join("; "))
                };
                // Should a server ever quote a key back, it is not repeated here.
                for (_, value) in keys {
                    detail = detail.replace(value.expose(), "[redacted]");
                }
                return Err(UnsealError::KeysRefused {
                    key: name.clone(),
                    detail,
                });
            }
            Err(e) => {
                let _ = client.reset_unseal().await;
                return Err(e.into());
            }
        }
    }
    let _ = client.reset_unseal().await;
    Err(UnsealError::KeysRefused {
        key: keys.last().map(|(n, _)| n.clone()).unwrap_or_default(),
        detail: "every key was accepted but Vault is still sealed".into(),
    })
}
