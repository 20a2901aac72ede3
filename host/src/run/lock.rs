//! One run at a time per estate: a lock object beside the archive in S3, taken with a
//! conditional create (`If-None-Match: *`), so that a second operator's run stops with a clear
//! message instead of racing the first on the same nodes and Vault.

use crate::caps::s3::{S3Error, S3Location, S3Store, WriteCondition};
use serde::{Deserialize, Serialize};

/// Who holds the lock (no secrets: shown to whoever finds it taken).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Holder {
    /// The cluster being run.
    pub cluster: String,
    /// Host name of the machine running it.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// When it started, seconds since the Unix epoch.
    pub since: u64,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ago = now().saturating_sub(self.since);
        write!(
            f,
            "cluster {} on {} (pid {}), {} s ago",
            self.cluster, self.host, self.pid, ago
        )
    }
}

/// The lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds it.
    #[error(
        "another tazhost run holds {location}: {holder}. Wait for it to finish; if it died, run again with --break-lock"
    )]
    Held {
        /// The lock object.
        location: S3Location,
        /// Who holds it (as recorded; `unknown` if unreadable).
        holder: String,
    },
    /// S3 failed.
    #[error(transparent)]
    S3(#[from] S3Error),
}

/// A taken lock. Release it with [`RunLock::release`]; a run that dies leaves it behind, and
/// the next one needs `--break-lock`.
#[derive(Debug)]
pub struct RunLock {
    store: S3Store,
    location: S3Location,
}

/// `<archive key>.lock` in the archive's bucket.
pub fn lock_location(archive: &S3Location) -> S3Location {
    S3Location {
        bucket: archive.bucket.clone(),
        key: format!("{}.lock", archive.key),
    }
}

impl RunLock {
    /// Take the lock beside `archive`, first removing whatever lock is there if `break_lock`.
    pub async fn acquire(
        store: S3Store,
        archive: &S3Location,
        cluster: &str,
        break_lock: bool,
    ) -> Result<Self, LockError> {
        let location = lock_location(archive);
        if break_lock {
            match store.get(&location).await {
                Ok(old) => {
                    let holder = describe(&old.bytes);
                    tracing::warn!("breaking the lock {location} held by {holder}");
                    store.delete(&location).await?;
                }
                Err(S3Error::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let holder = Holder {
            cluster: cluster.to_string(),
            host: host_name(),
            pid: std::process::id(),
            since: now(),
        };
        let body = serde_json::to_vec_pretty(&holder).expect("a holder serializes");
        match store.put(&location, body, &WriteCondition::CreateNew).await {
            Ok(_) => {
                tracing::info!("took the run lock {location}");
                Ok(Self { store, location })
            }
            Err(S3Error::Conflict(_)) => {
                let holder = match store.get(&location).await {
                    Ok(current) => describe(&current.bytes),
                    Err(_) => "unknown".into(),
                };
                Err(LockError::Held { location, holder })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Give the lock back.
    pub async fn release(self) -> Result<(), S3Error> {
        match self.store.delete(&self.location).await {
            Ok(()) | Err(S3Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The lock object.
    pub fn location(&self) -> &S3Location {
        &self.location
    }
}

/// A lock object's holder as text, or what is wrong with it.
fn describe(bytes: &[u8]) -> String {
    match serde_json::from_slice::<Holder>(bytes) {
        Ok(h) => h.to_string(),
        Err(_) => "a holder tazhost cannot read".into(),
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "an unknown host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_sits_beside_the_archive_and_names_its_holder() {
        let archive = S3Location {
            bucket: "tazlab-backup".into(),
            key: "tazpod/vault/vault.tar.aes".into(),
        };
        assert_eq!(
            lock_location(&archive).key,
            "tazpod/vault/vault.tar.aes.lock"
        );
        let h = Holder {
            cluster: "tazlab-k8s".into(),
            host: "laptop".into(),
            pid: 42,
            since: now() - 5,
        };
        let text = describe(&serde_json::to_vec(&h).unwrap());
        assert!(
            text.starts_with("cluster tazlab-k8s on laptop (pid 42), "),
            "{text}"
        );
        assert_eq!(describe(b"garbage"), "a holder tazhost cannot read");
    }
}
