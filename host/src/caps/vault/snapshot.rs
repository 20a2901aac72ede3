//! Vault's raft snapshots on S3, and restoring one into an empty Vault.
//!
//! `push` writes `<prefix>/vault-<UTC time>.snap` (created only if absent) and replaces
//! `<prefix>/vault-latest.snap`, both with the snapshot's sha256 in `x-amz-meta-sha256`, then
//! keeps the newest N timestamped ones. `restore` refuses a snapshot whose checksum does not
//! match before touching Vault, initializes the empty server with a throwaway key, force-loads
//! the snapshot, waits for the seal that follows, unseals with the OLD cluster's keys from the
//! archive and checks that the old token works.

use super::client::{VaultClient, VaultError};
use super::unseal::{UnsealError, unseal};
use crate::caps::s3::{S3Error, S3Location, S3Store, WriteCondition};
use crate::secrets::SecretValue;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// The snapshot that `restore` takes by default.
pub const LATEST: &str = "vault-latest.snap";
/// The metadata entry holding the sha256 (hex).
pub const SHA256_META: &str = "sha256";
/// A restored Vault seals itself about 5.6 s after the snapshot is loaded.
const SEAL_TIMEOUT: Duration = Duration::from_secs(60);
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(30);

/// A snapshot could not be pushed or restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Vault.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// S3.
    #[error(transparent)]
    S3(#[from] S3Error),
    /// Unsealing after the restore (the cause is in the message, printed once).
    #[error("the snapshot was loaded, but unsealing failed: {0}")]
    Unseal(UnsealError),
    /// No checksum stored with the snapshot.
    #[error(
        "{0} has no sha256 in its metadata (x-amz-meta-sha256); refusing to restore an unverifiable snapshot"
    )]
    NoChecksum(S3Location),
    /// The bytes are not what was pushed.
    #[error(
        "{location} does not match its sha256 (stored {expected}, got {actual}): damaged or altered; Vault was not touched"
    )]
    ChecksumMismatch {
        /// Where.
        location: S3Location,
        /// From the metadata.
        expected: String,
        /// Of the bytes read.
        actual: String,
    },
    /// Restore targets an empty Vault only.
    #[error(
        "Vault at {0} is already initialized; restore loads a snapshot into an empty (uninitialized) Vault only"
    )]
    NotEmpty(String),
    /// The seal that follows a forced restore never came.
    #[error(
        "Vault at {0} did not seal itself within {SEAL_TIMEOUT:?} after the snapshot was loaded"
    )]
    NeverSealed(String),
    /// The old cluster's token does not work on the restored Vault.
    #[error(
        "the snapshot was restored and unsealed, but the archive's token is refused by it (is the archive from the same cluster as the snapshot?)"
    )]
    OldTokenRefused,
    /// The throwaway server for `verify` could not be run.
    #[error("the throwaway Vault for verifying: {0}")]
    Throwaway(String),
    /// A step after the empty Vault was initialized failed: say what state it is left in.
    #[error(
        "{cause}; Vault at {addr} is now initialized with throwaway keys that were discarded: if it did not come up with the old cluster's data, wipe its storage and run the restore again"
    )]
    AfterInit {
        /// The Vault.
        addr: String,
        /// What failed (in the message, not a source, so it is printed once).
        cause: Box<SnapshotError>,
    },
    /// `--keep 0`.
    #[error("--keep must be at least 1 (the newest snapshot is never deleted)")]
    KeepZero,
}

impl From<UnsealError> for SnapshotError {
    fn from(e: UnsealError) -> Self {
        Self::Unseal(e)
    }
}

/// What [`push`] did.
#[derive(Debug)]
pub struct Pushed {
    /// The timestamped object.
    pub location: S3Location,
    /// Its size.
    pub size: usize,
    /// Its sha256, hex.
    pub sha256: String,
    /// Older snapshots deleted by retention.
    pub deleted: Vec<String>,
}

/// What [`restore`] did.
#[derive(Debug)]
pub struct Restored {
    /// The snapshot restored.
    pub location: S3Location,
    /// Its size.
    pub size: usize,
    /// Old keys submitted to unseal.
    pub keys_used: usize,
}

/// `vault-20261125T000712.345Z.snap`: UTC, fixed width, so names sort by time.
pub fn snapshot_name(now: std::time::SystemTime) -> String {
    let since = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "vault-{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{:03}Z.snap",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Whether `name` is one of ours: `vault-YYYYMMDDTHHMMSS.mmmZ.snap`.
fn is_snapshot_name(name: &str) -> bool {
    let Some(stamp) = name
        .strip_prefix("vault-")
        .and_then(|n| n.strip_suffix("Z.snap"))
    else {
        return false;
    };
    let b = stamp.as_bytes();
    b.len() == 19
        && b[8] == b'T'
        && b[15] == b'.'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 8 || i == 15 || c.is_ascii_digit())
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn child(prefix: &S3Location, name: &str) -> S3Location {
    S3Location {
        bucket: prefix.bucket.clone(),
        key: format!("{}/{name}", prefix.key.trim_end_matches('/')),
    }
}

/// Take a snapshot and store it under `prefix`, keeping the newest `keep` timestamped ones.
pub async fn push(
    client: &VaultClient,
    token: &SecretValue,
    s3: &S3Store,
    prefix: &S3Location,
    keep: Option<usize>,
) -> Result<Pushed, SnapshotError> {
    if keep == Some(0) {
        return Err(SnapshotError::KeepZero);
    }
    // Streamed: Vault -> sha256 -> S3 (multipart beyond one part), never whole in memory.
    // The checksum is known only at the end, so it is set afterwards by copying the object
    // onto itself with the metadata, on condition that it is still the one just written.
    let location = child(prefix, &snapshot_name(std::time::SystemTime::now()));
    let mut stream = client.snapshot_stream(token).await?;
    let (mut writer, upload) = s3.writer(
        &location,
        WriteCondition::CreateNew,
        crate::progress::Progress::on_terminal(format!("pushing {location}")),
    );
    let mut hasher = Sha256::new();
    let mut size = 0usize;
    let streamed: Result<(), SnapshotError> = async {
        while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
            let chunk = chunk.map_err(|e| {
                SnapshotError::Vault(VaultError::Unreachable {
                    addr: client.addr().to_string(),
                    reason: format!("the snapshot download broke off: {e}"),
                })
            })?;
            hasher.update(&chunk);
            size += chunk.len();
            writer
                .write_all_async(&chunk)
                .await
                .map_err(|_| SnapshotError::S3(S3Error::Abandoned(location.clone())))?;
        }
        writer
            .finish_async()
            .await
            .map_err(|_| SnapshotError::S3(S3Error::Abandoned(location.clone())))
    }
    .await;
    let uploaded = upload.wait().await;
    let written = match (streamed, uploaded) {
        (Ok(()), Ok(w)) => w,
        (_, Err(e)) if !matches!(e, S3Error::Abandoned(_)) => return Err(e.into()),
        (Err(e), _) => return Err(e),
        (Ok(()), Err(e)) => return Err(e.into()),
    };
    let sha256 = hex::encode(hasher.finalize());
    let meta = [(SHA256_META, sha256.as_str())];
    s3.copy_with_metadata(&location, &location, &meta, written.etag.as_deref())
        .await?;
    s3.copy_with_metadata(&location, &child(prefix, LATEST), &meta, None)
        .await?;
    let mut deleted = Vec::new();
    if let Some(keep) = keep {
        let dir = format!("{}/", prefix.key.trim_end_matches('/'));
        let listed = match s3.list(&prefix.bucket, &format!("{dir}vault-")).await {
            Ok(listed) => listed,
            Err(e) => {
                tracing::warn!("retention skipped: listing {prefix} failed: {e}");
                Vec::new()
            }
        };
        let mut stamped: Vec<String> = listed
            .into_iter()
            .map(|o| o.key)
            .filter(|key| is_snapshot_name(&key[dir.len()..]) && *key != location.key)
            .collect();
        stamped.sort();
        // The one just pushed is kept whatever its name sorts as (a clock not yet set).
        let excess = (stamped.len() + 1).saturating_sub(keep);
        for key in stamped.into_iter().take(excess) {
            let old = S3Location {
                bucket: prefix.bucket.clone(),
                key,
            };
            match s3.delete(&old).await {
                Ok(()) => deleted.push(old.to_string()),
                Err(e) => {
                    // The snapshot itself is safely stored: say so, do not fail the push.
                    tracing::warn!("retention: could not delete {old}: {e}");
                }
            }
        }
    }
    Ok(Pushed {
        location,
        size,
        sha256,
        deleted,
    })
}

/// Where `restore` reads: the object itself if `at` names a `.snap`, else `vault-latest.snap`
/// under it.
pub fn snapshot_location(at: &S3Location) -> S3Location {
    if at.key.ends_with(".snap") {
        at.clone()
    } else {
        child(at, LATEST)
    }
}

/// Restore the snapshot at `at` into the empty Vault behind `client`, then unseal it with the
/// old cluster's `keys` and check `old_token`.
pub async fn restore(
    client: &VaultClient,
    s3: &S3Store,
    at: &S3Location,
    keys: &[(String, SecretValue)],
    key_pattern: &str,
    old_token: &SecretValue,
) -> Result<Restored, SnapshotError> {
    let location = snapshot_location(at);
    let object = s3.get(&location).await?;
    let expected = object
        .metadata
        .get(SHA256_META)
        .cloned()
        .ok_or_else(|| SnapshotError::NoChecksum(location.clone()))?;
    let actual = hex::encode(Sha256::digest(&object.bytes));
    if !expected.eq_ignore_ascii_case(&actual) {
        return Err(SnapshotError::ChecksumMismatch {
            location,
            expected: crate::report::clean(&expected),
            actual,
        });
    }
    if keys.len() < 2 {
        // Checked before anything touches Vault: without the old keys the restored Vault
        // could never be unsealed.
        return Err(UnsealError::TooFewKeys {
            have: keys.len(),
            need: 2,
            names: key_pattern.replace("{n}", "N"),
        }
        .into());
    }
    let health = client.health().await?;
    if health.initialized {
        return Err(SnapshotError::NotEmpty(client.addr().to_string()));
    }
    load_and_unseal(
        client,
        object.bytes,
        &location,
        keys,
        key_pattern,
        old_token,
    )
    .await
    .map_err(|e| SnapshotError::AfterInit {
        addr: client.addr().to_string(),
        cause: Box::new(e),
    })
}

/// The part of a restore that runs once the empty Vault has been initialized.
async fn load_and_unseal(
    client: &VaultClient,
    snapshot: Vec<u8>,
    location: &S3Location,
    keys: &[(String, SecretValue)],
    key_pattern: &str,
    old_token: &SecretValue,
) -> Result<Restored, SnapshotError> {
    // Throwaway keys and token, held only in memory, to get an active Vault to load into.
    // Shaped like the old cluster's seal (Shamir, its number of keys): with a single share
    // Vault keeps the key unsplit, and would then not take the old cluster's shares.
    let shares = (keys.len() as u32).max(2);
    let threshold = shares.min(3);
    let (temp_keys, temp_token) = client.init(shares, threshold).await?;
    if temp_keys.len() < threshold as usize {
        return Err(VaultError::Unexpected {
            addr: client.addr().to_string(),
            what: "PUT sys/init".into(),
            detail: format!(
                "{} key(s) returned for a threshold of {threshold} (an auto-unseal Vault?)",
                temp_keys.len()
            ),
        }
        .into());
    }
    for key in &temp_keys[..threshold as usize] {
        client.submit_unseal_key(key).await?;
    }
    client.wait_active(ACTIVE_TIMEOUT).await?;
    tracing::info!("loading {location} into {}", client.addr());
    let size = snapshot.len();
    client.restore_snapshot_force(&temp_token, snapshot).await?;
    wait_sealed(client).await?;
    let outcome = unseal(client, keys, key_pattern).await?;
    if !client.token_valid(old_token).await? {
        return Err(SnapshotError::OldTokenRefused);
    }
    Ok(Restored {
        location: location.clone(),
        size,
        keys_used: outcome.keys_submitted,
    })
}

/// What [`verify`] found.
#[derive(Debug)]
pub struct Verified {
    /// The restore into the throwaway server.
    pub restored: Restored,
    /// Fields read at the canary path, if one was given.
    pub canary_fields: Option<usize>,
}

/// Restore the snapshot at `at` into a throwaway local server started from `binary`, unseal it
/// with the archive's keys, check the token and read the canary (`mount`, `path`), then stop
/// the server and delete its data.
pub async fn verify(
    binary: &std::path::Path,
    s3: &S3Store,
    at: &S3Location,
    keys: &[(String, SecretValue)],
    key_pattern: &str,
    old_token: &SecretValue,
    canary: Option<(&str, &str)>,
) -> Result<Verified, SnapshotError> {
    let server = super::throwaway::Throwaway::start(binary)
        .await
        .map_err(SnapshotError::Throwaway)?;
    let client = VaultClient::new(server.addr(), None, None)?;
    let restored = restore(&client, s3, at, keys, key_pattern, old_token).await?;
    let canary_fields = match canary {
        Some((mount, path)) => Some(client.kv2_read(old_token, mount, path).await?.len()),
        None => None,
    };
    drop(server);
    Ok(Verified {
        restored,
        canary_fields,
    })
}

/// After a forced restore Vault answers 200, then 500 for a few seconds, then sealed.
async fn wait_sealed(client: &VaultClient) -> Result<(), SnapshotError> {
    let start = Instant::now();
    while start.elapsed() < SEAL_TIMEOUT {
        if let Ok(h) = client.health().await
            && h.sealed
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(SnapshotError::NeverSealed(client.addr().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_utc_fixed_width_and_sort_by_time() {
        let t = std::time::UNIX_EPOCH + Duration::from_millis(1_795_997_232_345);
        assert_eq!(snapshot_name(t), "vault-20261130T000712.345Z.snap");
        let epoch = snapshot_name(std::time::UNIX_EPOCH);
        assert_eq!(epoch, "vault-19700101T000000.000Z.snap");
        let leap = std::time::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert!(snapshot_name(leap).starts_with("vault-20000229T"));
        assert!(snapshot_name(t) > epoch);
    }

    #[test]
    fn retention_counts_only_our_names() {
        assert!(is_snapshot_name(&snapshot_name(
            std::time::SystemTime::now()
        )));
        for other in [
            "vault-manual.snap",
            "vault-latest.snap",
            "vault-20261125T004412Z.snap",
            "vault-2026112xT004412.345Z.snap",
        ] {
            assert!(!is_snapshot_name(other), "{other}");
        }
    }
}
