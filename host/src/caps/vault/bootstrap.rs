//! The bootstrap read: ONE read of KV v2 `<mount>/data/<cluster>/bootstrap` returning the
//! fields the config lists. A field missing from Vault is an error naming it. Only when Vault
//! cannot be reached (or is sealed) do the same fields come from the archive's files of those
//! names, and the caller is told so; never the other way round.

use super::client::{VaultClient, VaultError};
use crate::archive::SecretFolder;
use crate::secrets::SecretValue;
use std::collections::BTreeMap;
use std::time::Duration;

/// The seeds' eight bootstrap fields.
pub const DEFAULT_FIELDS: [&str; 8] = [
    "PROXMOX_TOKEN_ID",
    "PROXMOX_TOKEN_SECRET",
    "GITHUB_TOKEN",
    "TALOS_SECRETBOX_KEY",
    "TAILSCALE_OPERATOR_CLIENT_ID",
    "TAILSCALE_OPERATOR_CLIENT_SECRET",
    "VAULT_CA_CRT",
    "ESO_READER_TOKEN",
];

/// Renew a token that has less than this left...
pub const RENEW_BELOW: Duration = Duration::from_secs(3600);
/// ...asking for this much by default (`[vault] renew_cap_hours`; Vault caps it at the
/// token's own maximum).
pub const DEFAULT_RENEW_CAP: Duration = Duration::from_secs(768 * 3600);

/// Where the bootstrap values came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Vault answered.
    Vault,
    /// Vault could not be used (the reason); the archive's files were read instead.
    ArchiveFallback(String),
}

/// The bootstrap read failed.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// Vault refused (permission, missing path) or answered oddly.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The secret exists but lacks fields.
    #[error("{path} has no field(s) {}: add them to the secret, or drop them from the config", .missing.join(", "))]
    MissingInVault {
        /// The KV path.
        path: String,
        /// The fields.
        missing: Vec<String>,
    },
    /// Vault was unreachable and the archive lacks fields too.
    #[error("Vault is unusable ({reason}) and the archive has no file(s) {} to fall back on", .missing.join(", "))]
    MissingInArchive {
        /// Why Vault was not used.
        reason: String,
        /// The fields.
        missing: Vec<String>,
    },
    /// Vault was unreachable and there is no archive.
    #[error("Vault is unusable ({0}) and no archive was given to fall back on")]
    NoFallback(String),
}

/// Whether an error means "Vault cannot be used now" (so the archive may stand in) rather than
/// "Vault said no" (which must not be papered over).
fn unusable(e: &VaultError) -> Option<String> {
    match e {
        // A certificate Vault's CA does not sign is a configuration error, not an outage.
        VaultError::Unreachable { reason, .. } if !reason.starts_with("TLS failed") => {
            Some(reason.clone())
        }
        VaultError::Refused { status: 503, .. } => Some("sealed or unavailable (503)".into()),
        _ => None,
    }
}

/// Read `fields` from `mount`/`path` in one request, or, if Vault is unusable, from `archive`.
pub async fn read(
    client: &VaultClient,
    token: &SecretValue,
    mount: &str,
    path: &str,
    fields: &[String],
    archive: Option<&SecretFolder>,
) -> Result<(BTreeMap<String, SecretValue>, Origin), BootstrapError> {
    match client.kv2_read(token, mount, path).await {
        Ok(mut data) => {
            let missing: Vec<String> = fields
                .iter()
                .filter(|f| !data.contains_key(f.as_str()))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(BootstrapError::MissingInVault {
                    path: format!("{mount}/data/{path}"),
                    missing,
                });
            }
            data.retain(|k, _| fields.contains(k));
            Ok((data, Origin::Vault))
        }
        Err(e) => {
            let Some(reason) = unusable(&e) else {
                return Err(e.into());
            };
            let Some(folder) = archive else {
                return Err(BootstrapError::NoFallback(reason));
            };
            let mut data = BTreeMap::new();
            let mut missing = Vec::new();
            for field in fields {
                match super::unseal::file_from_archive(folder, field) {
                    Ok(Some(value)) => {
                        data.insert(field.clone(), value);
                    }
                    _ => missing.push(field.clone()),
                }
            }
            if !missing.is_empty() {
                return Err(BootstrapError::MissingInArchive { reason, missing });
            }
            Ok((data, Origin::ArchiveFallback(reason)))
        }
    }
}

impl VaultClient {
    /// `GET <mount>/data/<path>`: the latest version's fields. Values that are not strings
    /// are kept as their JSON text.
    pub async fn kv2_read(
        &self,
        token: &SecretValue,
        mount: &str,
        path: &str,
    ) -> Result<BTreeMap<String, SecretValue>, VaultError> {
        let what = format!("GET {mount}/data/{path}");
        let json = self
            .get_json(&what, &format!("/v1/{mount}/data/{path}"), token)
            .await?;
        let Some(fields) = json["data"]["data"].as_object() else {
            return Err(VaultError::Unexpected {
                addr: self.addr().to_string(),
                what,
                detail: "no data.data object (is this a KV version 2 mount?)".into(),
            });
        };
        Ok(fields
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), SecretValue::new(value))
            })
            .collect())
    }

    /// Renew `token` if it expires within [`RENEW_BELOW`], asking for `cap` more. Tokens that
    /// never expire (root: ttl 0) are left alone. Returns the seconds left afterwards (0 =
    /// never expires).
    pub async fn renew_if_near_expiry(
        &self,
        token: &SecretValue,
        cap: Duration,
    ) -> Result<u64, VaultError> {
        let json = self
            .get_json(
                "GET auth/token/lookup-self",
                "/v1/auth/token/lookup-self",
                token,
            )
            .await?;
        let ttl = json["data"]["ttl"].as_u64().unwrap_or(0);
        let renewable = json["data"]["renewable"].as_bool().unwrap_or(false);
        if ttl == 0 || ttl >= RENEW_BELOW.as_secs() || !renewable {
            return Ok(ttl);
        }
        let what = "POST auth/token/renew-self";
        let request = serde_json::json!({ "increment": format!("{}s", cap.as_secs()) });
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/v1/auth/token/renew-self",
                Some(token),
                Some(request.to_string()),
            )
            .await?;
        let body = zeroize::Zeroizing::new(body);
        if status != 200 {
            return Err(self.refused(what, status, &body));
        }
        let json: serde_json::Value = self.parse(what, &body)?;
        let left = json["auth"]["lease_duration"].as_u64().unwrap_or(ttl);
        tracing::info!("renewed the Vault token: {left} s left (was {ttl} s)");
        Ok(left)
    }
}
