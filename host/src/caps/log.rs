//! The `log` capability: leveled lines and progress, tagged with the plugin's name and redacted.

use super::{CallState, PluginCaps};
use crate::runtime::bindings::tazlab::bootstrap::log as wit;
use std::sync::{Arc, Mutex};

/// Most bytes of one log line kept (the rest is cut), so a plugin cannot flood the terminal.
const MAX_LINE: usize = 4096;

/// Severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Trace.
    Trace,
    /// Debug.
    Debug,
    /// Info.
    Info,
    /// Warn.
    Warn,
    /// Error.
    Error,
}

/// Where plugin log lines go: `tracing` (the CLI), or a shared buffer (tests, reports).
#[derive(Clone, Debug, Default)]
pub enum LogSink {
    /// Emit through `tracing`, target `plugin`.
    #[default]
    Tracing,
    /// Keep (plugin, level, line) in memory.
    Memory(Arc<Mutex<Vec<(String, LogLevel, String)>>>),
}

impl PluginCaps {
    /// Emit one line, redacted and bounded.
    pub fn log(&self, level: LogLevel, message: &str) {
        let mut line = self.redactor.redact(message);
        if line.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push_str(" …[cut]");
        }
        let plugin = self.plugin.as_str();
        match &self.sink {
            LogSink::Tracing => match level {
                LogLevel::Trace => tracing::trace!(target: "plugin", "{plugin}: {line}"),
                LogLevel::Debug => tracing::debug!(target: "plugin", "{plugin}: {line}"),
                LogLevel::Info => tracing::info!(target: "plugin", "{plugin}: {line}"),
                LogLevel::Warn => tracing::warn!(target: "plugin", "{plugin}: {line}"),
                LogLevel::Error => tracing::error!(target: "plugin", "{plugin}: {line}"),
            },
            LogSink::Memory(buf) => {
                if let Ok(mut buf) = buf.lock() {
                    buf.push((plugin.to_string(), level, line));
                }
            }
        }
    }
}

impl wit::Host for CallState {
    fn log(&mut self, level: wit::Level, message: String) {
        let level = match level {
            wit::Level::Trace => LogLevel::Trace,
            wit::Level::Debug => LogLevel::Debug,
            wit::Level::Info => LogLevel::Info,
            wit::Level::Warn => LogLevel::Warn,
            wit::Level::Error => LogLevel::Error,
        };
        self.log(level, &message);
    }

    fn progress(&mut self, step: String, done: u32, total: Option<u32>) {
        let message = match total {
            Some(total) => format!("{step} ({done}/{total})"),
            None => format!("{step} ({done})"),
        };
        // Progress ticks are many; they show with -v. Plugins log milestones at info.
        self.log(LogLevel::Debug, &message);
    }
}
