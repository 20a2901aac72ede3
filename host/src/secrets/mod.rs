//! Secret values held by the host: how they are kept in memory, where they come from, and how
//! they are scrubbed from anything a person or a plugin might see.
//!
//! A [`SecretValue`] zeroizes its bytes on drop, has a redacted `Debug`, and no `Display` or
//! `Serialize`: the only way to read it is [`SecretValue::expose`], which is easy to grep for.

mod kept;
mod passphrase;
mod redact;
mod source;

pub use kept::{KeepError, KeptSecrets, MIN_KEPT_VALUE};

pub use passphrase::{PASSPHRASE_FILE_ENV, PassphraseError, PassphraseSource, TTY_ATTEMPTS};
pub use redact::{MIN_REDACTED_LEN, Redactor};
pub use source::{Fetched, SecretError, SecretSource};

use std::collections::BTreeMap;
use std::fmt;
use zeroize::Zeroizing;

/// A secret string. Zeroized on drop; never printed.
#[derive(Clone)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// Wrap a value. The caller's copy should be dropped (or zeroized) right after.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The plain value. Every call site is a place where a secret leaves the vault; keep them few.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue([redacted])")
    }
}

/// The secrets resolved for one run, by name.
#[derive(Default, Clone, Debug)]
pub struct SecretSet {
    values: BTreeMap<String, SecretValue>,
}

impl SecretSet {
    /// Resolve every named source. Fails on the first source that cannot be read, naming it.
    pub fn resolve<'a>(
        sources: impl IntoIterator<Item = (&'a String, &'a SecretSource)>,
    ) -> Result<Self, SecretError> {
        Self::resolve_with(sources, Fetched::default())
    }

    /// [`SecretSet::resolve`], taking archive and Vault secrets from `fetched`.
    pub fn resolve_with<'a>(
        sources: impl IntoIterator<Item = (&'a String, &'a SecretSource)>,
        fetched: Fetched<'_>,
    ) -> Result<Self, SecretError> {
        let mut values = BTreeMap::new();
        for (name, source) in sources {
            let value = source.resolve(name, fetched)?;
            if value.expose().len() < MIN_REDACTED_LEN {
                tracing::warn!(
                    "secret `{name}` is shorter than {MIN_REDACTED_LEN} characters: it cannot be redacted from output"
                );
            }
            values.insert(name.clone(), value);
        }
        Ok(Self { values })
    }

    /// Add or replace one secret (tests, and later the archive and Vault sources).
    pub fn insert(&mut self, name: impl Into<String>, value: SecretValue) {
        self.values.insert(name.into(), value);
    }

    /// The secret with this name, if the run holds it.
    pub fn get(&self, name: &str) -> Option<&SecretValue> {
        self.values.get(name)
    }

    /// Names of every secret held.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// A redactor that scrubs every value held here.
    pub fn redactor(&self) -> Redactor {
        Redactor::new(self.values.iter().map(|(n, v)| (n.as_str(), v.expose())))
    }
}

/// Make the process non-dumpable (no core dumps, no ptrace by other users' processes) while it
/// holds secrets. A no-op off Linux.
pub fn harden_process() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_DUMPABLE, 0) only changes a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}
