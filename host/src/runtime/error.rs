//! Errors of loading and calling plugins. Every message names the plugin and its sha256, and
//! says which limit or rule was hit; none carries a secret (guest text is redacted first).

use super::plugin::PluginId;
use crate::config::Export;
use std::path::PathBuf;

/// An error the plugin itself returned (the WIT `error` variant), already redacted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuestError {
    /// `invalid-config`.
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    /// `denied`.
    #[error("denied: {0}")]
    Denied(String),
    /// `provider`.
    #[error("provider error: {0}")]
    Provider(String),
    /// `transient`.
    #[error("transient error: {0}")]
    Transient(String),
}

/// Loading or calling a plugin failed. The host is unaffected.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The file could not be read.
    #[error("cannot read plugin {}: {source}", path.display())]
    Read {
        /// Path given.
        path: PathBuf,
        /// I/O error.
        source: std::io::Error,
    },
    /// The bytes are not what cluster.toml pinned.
    #[error("{id}: sha256 does not match the pin in cluster.toml (expected {expected})")]
    PinMismatch {
        /// The plugin.
        id: PluginId,
        /// Pinned digest.
        expected: String,
    },
    /// Not a component wasmtime accepts.
    #[error("{id}: not a valid WebAssembly component: {reason}")]
    Invalid {
        /// The plugin.
        id: PluginId,
        /// Why.
        reason: String,
    },
    /// Built against an incompatible contract version.
    #[error(
        "{id}: built against contract tazlab:bootstrap@{found}, but this tazhost implements tazlab:bootstrap@{host}; rebuild the plugin against {host} or use a matching tazhost"
    )]
    Contract {
        /// The plugin.
        id: PluginId,
        /// The plugin's version.
        found: String,
        /// The host's version.
        host: String,
    },
    /// Imports something the host does not lend.
    #[error(
        "{id}: imports `{import}`, which this host does not provide (plugins may import only WASI and tazlab:bootstrap)"
    )]
    ForeignImport {
        /// The plugin.
        id: PluginId,
        /// The import.
        import: String,
    },
    /// Does not export the world's functions.
    #[error("{id}: does not implement the `{world}` world: {reason}")]
    WrongWorld {
        /// The plugin.
        id: PluginId,
        /// Expected world.
        world: &'static str,
        /// wasmtime's explanation.
        reason: String,
    },
    /// `describe` returned something unusable.
    #[error("{id}: describe() returned an invalid plugin-info: {reason}")]
    BadInfo {
        /// The plugin.
        id: PluginId,
        /// What is wrong.
        reason: String,
    },
    /// Wall-clock deadline.
    #[error("{id}: {export} did not finish within its deadline of {secs} s and was stopped")]
    Deadline {
        /// The plugin.
        id: PluginId,
        /// The export.
        export: Export,
        /// Deadline.
        secs: u64,
    },
    /// CPU budget.
    #[error("{id}: {export} used more than its CPU budget of {ms} ms and was stopped")]
    CpuBudget {
        /// The plugin.
        id: PluginId,
        /// The export.
        export: Export,
        /// Budget.
        ms: u64,
    },
    /// Memory cap.
    #[error("{id}: {export} exceeded its memory cap of {mib} MiB and was stopped")]
    Memory {
        /// The plugin.
        id: PluginId,
        /// The export.
        export: Export,
        /// Cap.
        mib: u64,
    },
    /// Any other trap (panic, unreachable, out-of-bounds access, stack overflow).
    #[error("{id}: {export} trapped: {reason}")]
    Trap {
        /// The plugin.
        id: PluginId,
        /// The export.
        export: Export,
        /// The trap.
        reason: String,
    },
    /// Returned too much.
    #[error("{id}: {export} returned {what} larger than the {limit}-byte limit")]
    Oversized {
        /// The plugin.
        id: PluginId,
        /// The export.
        export: Export,
        /// What was too large.
        what: &'static str,
        /// Limit.
        limit: usize,
    },
    /// The plugin returned an error.
    #[error("{id}: {export} failed: {error}")]
    Guest {
        /// The plugin.
        id: PluginId,
        /// The export.
        export: Export,
        /// The error.
        error: GuestError,
    },
}

impl PluginError {
    /// The guest's own error, if that is what this is.
    pub fn guest(&self) -> Option<&GuestError> {
        match self {
            PluginError::Guest { error, .. } => Some(error),
            _ => None,
        }
    }
}
