//! `[limits]`: what one plugin call may cost. Every default is explained where it is set.

use serde::Deserialize;
use std::time::Duration;

/// Sandbox limits applied to every plugin call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Linear memory cap per call, MiB (64: a provider plugin needs 1-2 MiB; JSON for a few
    /// thousand servers fits easily).
    pub memory_mib: u64,
    /// CPU time the guest may spend running (not waiting in host calls), milliseconds (5000:
    /// real plugins use a few ms per call; a loop is stopped within seconds).
    pub cpu_ms: u64,
    /// Wall-clock deadline of `describe`, seconds (5: it must not do I/O).
    pub describe_timeout_s: u64,
    /// Wall-clock deadline of `validate` and `list`, seconds (60: a few paginated requests).
    pub query_timeout_s: u64,
    /// Wall-clock deadline of `create` and `delete`, seconds (900: a server can take minutes).
    pub mutate_timeout_s: u64,
    /// Largest HTTP response body a plugin may receive, MiB (8).
    pub http_response_mib: u64,
    /// Largest string or list a plugin may return, KiB (1024: a node list is a few KiB).
    pub return_kib: u64,
    /// How many `create`/`delete` calls run at once (4: polite to provider rate limits).
    pub concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mib: 64,
            cpu_ms: 5000,
            describe_timeout_s: 5,
            query_timeout_s: 60,
            mutate_timeout_s: 900,
            http_response_mib: 8,
            return_kib: 1024,
            concurrency: 4,
        }
    }
}

impl Limits {
    pub(super) fn check(&self) -> Result<(), String> {
        let positive = [
            ("memory_mib", self.memory_mib),
            ("cpu_ms", self.cpu_ms),
            ("describe_timeout_s", self.describe_timeout_s),
            ("query_timeout_s", self.query_timeout_s),
            ("mutate_timeout_s", self.mutate_timeout_s),
            ("http_response_mib", self.http_response_mib),
            ("return_kib", self.return_kib),
            ("concurrency", self.concurrency as u64),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("limits.{name} must be greater than 0"));
            }
        }
        if self.memory_mib > 4096 {
            return Err("limits.memory_mib must be at most 4096 (wasm32 address space)".into());
        }
        Ok(())
    }

    /// Memory cap in bytes.
    pub fn memory_bytes(&self) -> usize {
        (self.memory_mib as usize) << 20
    }

    /// Largest returned string or list in bytes.
    pub fn return_bytes(&self) -> usize {
        (self.return_kib as usize) << 10
    }

    /// Deadline for an export.
    pub fn deadline(&self, export: Export) -> Duration {
        Duration::from_secs(match export {
            Export::Describe => self.describe_timeout_s,
            Export::Validate | Export::List => self.query_timeout_s,
            Export::Create | Export::Delete | Export::Extend => self.mutate_timeout_s,
        })
    }
}

/// The exports of the contract, for limits and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// `describe`.
    Describe,
    /// `validate`.
    Validate,
    /// `list`.
    List,
    /// `create`.
    Create,
    /// `delete`.
    Delete,
    /// `extend` (machine-config extensions).
    Extend,
}

impl std::fmt::Display for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Export::Describe => "describe",
            Export::Validate => "validate",
            Export::List => "list",
            Export::Create => "create",
            Export::Delete => "delete",
            Export::Extend => "extend",
        })
    }
}
