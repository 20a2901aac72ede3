//! Logging and progress through the host's `log` import.
//!
//! Lines are tagged with the plugin's name by the host, and every secret value the host holds is
//! redacted from them. Never log what a secret was derived from, nor user data.

use crate::bindings::tazlab::bootstrap::log as wit;

pub use wit::{Level, log, progress};

/// Logs at `trace` level.
pub fn trace(message: &str) {
    wit::log(Level::Trace, message);
}

/// Logs at `debug` level.
pub fn debug(message: &str) {
    wit::log(Level::Debug, message);
}

/// Logs at `info` level.
pub fn info(message: &str) {
    wit::log(Level::Info, message);
}

/// Logs at `warn` level.
pub fn warn(message: &str) {
    wit::log(Level::Warn, message);
}

/// Logs at `error` level.
pub fn error(message: &str) {
    wit::log(Level::Error, message);
}
