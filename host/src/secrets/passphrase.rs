//! Where a passphrase comes from: a terminal prompt without echo, a file, or an inherited file
//! descriptor. Never the command line or a plain environment variable (both are visible to other
//! processes); `TAZHOST_PASSPHRASE_FILE` names a file, it does not hold the passphrase.

use super::SecretValue;
use std::io::Read;
use std::path::PathBuf;

/// The environment variable naming a passphrase file (for CI).
pub const PASSPHRASE_FILE_ENV: &str = "TAZHOST_PASSPHRASE_FILE";

/// How many times a terminal user may retype a wrong passphrase.
pub const TTY_ATTEMPTS: u32 = 3;

/// Where to read a passphrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassphraseSource {
    /// A file (one trailing newline dropped).
    File(PathBuf),
    /// An open file descriptor, read to its end.
    Fd(i32),
    /// Ask on the terminal.
    Prompt,
}

/// A passphrase could not be read. Never contains the passphrase.
#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    /// The file could not be read.
    #[error("cannot read the passphrase file {}: {source}", path.display())]
    File {
        /// Path.
        path: PathBuf,
        /// Error.
        source: std::io::Error,
    },
    /// The descriptor could not be read.
    #[error("cannot read the passphrase from file descriptor {fd}: {source}")]
    Fd {
        /// Descriptor.
        fd: i32,
        /// Error.
        source: std::io::Error,
    },
    /// No terminal to ask on.
    #[error(
        "no passphrase: there is no terminal to ask on; use --passphrase-file, --passphrase-fd or {PASSPHRASE_FILE_ENV}"
    )]
    NoTerminal,
    /// Empty.
    #[error("the passphrase is empty")]
    Empty,
    /// The two entries differ.
    #[error("the two passphrases entered differ")]
    Mismatch,
}

impl PassphraseSource {
    /// The source chosen by flags, else `TAZHOST_PASSPHRASE_FILE`, else the terminal.
    pub fn choose(file: Option<PathBuf>, fd: Option<i32>, use_env: bool) -> Self {
        if let Some(path) = file {
            return Self::File(path);
        }
        if let Some(fd) = fd {
            return Self::Fd(fd);
        }
        if use_env
            && let Some(path) = std::env::var_os(PASSPHRASE_FILE_ENV).filter(|v| !v.is_empty())
        {
            return Self::File(path.into());
        }
        Self::Prompt
    }

    /// Whether a wrong passphrase may be retried (only when a person is typing it).
    pub fn can_retry(&self) -> bool {
        matches!(self, Self::Prompt)
    }

    /// Read the passphrase. With `confirm`, a terminal prompt asks twice (for new passphrases).
    pub fn read(&self, prompt: &str, confirm: bool) -> Result<SecretValue, PassphraseError> {
        let mut text = match self {
            Self::File(path) => {
                std::fs::read_to_string(path).map_err(|source| PassphraseError::File {
                    path: path.clone(),
                    source,
                })?
            }
            Self::Fd(fd) => read_fd(*fd)?,
            Self::Prompt => {
                // No progress line may be drawn over the prompt.
                let _quiet = crate::progress::PromptGuard::new();
                let first = prompt_tty(prompt)?;
                if confirm {
                    let second = prompt_tty("Repeat it: ")?;
                    if first.expose() != second.expose() {
                        return Err(PassphraseError::Mismatch);
                    }
                }
                return non_empty(first);
            }
        };
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        non_empty(SecretValue::new(text))
    }
}

fn non_empty(value: SecretValue) -> Result<SecretValue, PassphraseError> {
    if value.expose().is_empty() {
        Err(PassphraseError::Empty)
    } else {
        Ok(value)
    }
}

fn prompt_tty(prompt: &str) -> Result<SecretValue, PassphraseError> {
    rpassword::prompt_password(prompt)
        .map(SecretValue::new)
        .map_err(|_| PassphraseError::NoTerminal)
}

#[cfg(unix)]
fn read_fd(fd: i32) -> Result<String, PassphraseError> {
    use std::os::fd::FromRawFd;
    if fd < 0 {
        return Err(PassphraseError::Fd {
            fd,
            source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
        });
    }
    // SAFETY: the operator handed us this descriptor for exactly this purpose; we take ownership
    // and close it after reading, as the flag documents.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|source| PassphraseError::Fd { fd, source })?;
    Ok(text)
}

#[cfg(not(unix))]
fn read_fd(fd: i32) -> Result<String, PassphraseError> {
    Err(PassphraseError::Fd {
        fd,
        source: std::io::Error::from(std::io::ErrorKind::Unsupported),
    })
}
