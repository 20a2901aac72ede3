//! The capabilities the host lends to plugins, one module each. A plugin gets exactly these and
//! nothing else: an empty WASI (no files, environment, arguments or sockets), `http` under its
//! policy, `secrets` by name, `crypto`, `log` (redacted) and `time.sleep`.

pub mod crypto;
pub mod http;
mod http_host;
mod log;
pub mod s3;
mod secrets;
mod time;
pub mod vault;
mod wasi;

pub use log::{LogLevel, LogSink};

use crate::runtime::bindings;
use crate::secrets::{KeptSecrets, Redactor, SecretSet};
use http::{HttpCap, HttpPolicy};
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// What one plugin is lent, shared by all of its calls.
#[derive(Clone, Debug)]
pub struct PluginCaps {
    /// The plugin's name, for log lines.
    pub plugin: String,
    /// Its network and secret policy.
    pub http: HttpCap,
    /// The run's secrets (only reachable through the policy).
    pub secrets: Arc<SecretSet>,
    /// Secrets plugins of the run made and kept (shared by every plugin of the run).
    pub kept: KeptSecrets,
    /// Scrubs every secret value of the run, kept ones included.
    pub redactor: Redactor,
    /// Where log lines go.
    pub sink: LogSink,
}

impl PluginCaps {
    /// Capabilities under `policy`.
    pub fn new(
        plugin: impl Into<String>,
        policy: HttpPolicy,
        secrets: Arc<SecretSet>,
        limits: http::HttpLimits,
        sink: LogSink,
    ) -> Self {
        let kept = KeptSecrets::default();
        let redactor = secrets.redactor().following(kept.clone());
        Self {
            plugin: plugin.into(),
            http: HttpCap::new(Arc::new(policy), secrets.clone(), limits),
            secrets,
            kept,
            redactor,
            sink,
        }
    }

    /// These capabilities sharing the run's kept secrets (instead of a store of their own).
    pub fn sharing(mut self, kept: &KeptSecrets) -> Self {
        self.kept = kept.clone();
        self.redactor = self.secrets.redactor().following(kept.clone());
        self
    }

    /// Nothing granted at all: what `describe` runs with.
    pub fn nothing(plugin: impl Into<String>, sink: LogSink) -> Self {
        Self::new(
            plugin,
            HttpPolicy::default(),
            Arc::new(SecretSet::default()),
            http::HttpLimits::default(),
            sink,
        )
    }
}

/// Bytes of stdout/stderr kept per call before the rest is dropped.
const CAPTURED_OUTPUT: usize = 64 << 10;

/// The data of one plugin call's `Store`: created fresh for every call and dropped after it.
pub struct CallState {
    pub(crate) caps: Arc<PluginCaps>,
    wasi: WasiCtx,
    table: ResourceTable,
    stdout: wasi::CapturedOutput,
    stderr: wasi::CapturedOutput,
    pub(crate) limiter: crate::runtime::MemoryLimiter,
    pub(crate) cpu_ticks: u64,
    /// Set by host calls that waited (sleep, http): the epoch tick that passed meanwhile is not
    /// charged to the guest's CPU budget.
    pub(crate) waited: bool,
    /// Log lines this call has written, and how many were dropped past the budget.
    log_lines: usize,
    log_dropped: usize,
}

/// Log lines one call may write (1000): enough for progress, not enough to flood a terminal.
const LOG_LINES_PER_CALL: usize = 1000;

impl CallState {
    /// A fresh state for one call.
    pub fn new(caps: Arc<PluginCaps>, memory_cap: usize) -> Self {
        let stdout = wasi::CapturedOutput::new(CAPTURED_OUTPUT);
        let stderr = wasi::CapturedOutput::new(CAPTURED_OUTPUT);
        let wasi = wasi::empty_ctx(stdout.clone(), stderr.clone());
        Self {
            caps,
            wasi,
            table: ResourceTable::new(),
            stdout,
            stderr,
            limiter: crate::runtime::MemoryLimiter::new(memory_cap),
            cpu_ticks: 0,
            waited: false,
            log_lines: 0,
            log_dropped: 0,
        }
    }

    /// Send what the guest printed to the log, one redacted line at a time.
    pub fn flush_output(&mut self) {
        for stream in ["stdout", "stderr"] {
            let pipe = if stream == "stdout" {
                &self.stdout
            } else {
                &self.stderr
            };
            let (bytes, dropped) = pipe.contents();
            // Redact the whole text first: a multi-line secret (a PEM key) split into lines
            // would match line by line nowhere.
            let text = self.caps.redactor.redact(&String::from_utf8_lossy(&bytes));
            for line in text.lines() {
                if !line.trim().is_empty() {
                    self.log(LogLevel::Info, &format!("[{stream}] {line}"));
                }
            }
            if dropped > 0 {
                self.log(
                    LogLevel::Warn,
                    &format!("[{stream}] {dropped} more bytes dropped (only {CAPTURED_OUTPUT} are kept per call)"),
                );
            }
        }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Put every capability into the linker.
pub fn add_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    bindings::Provider::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    Ok(())
}

impl CallState {
    /// Log one line for the plugin, within the call's line budget.
    pub(crate) fn log(&mut self, level: LogLevel, message: &str) {
        if self.log_lines >= LOG_LINES_PER_CALL {
            self.log_dropped += 1;
            return;
        }
        self.log_lines += 1;
        self.caps.log(level, message);
    }

    /// Say how many lines were dropped, if any (called once, after the call).
    pub(crate) fn flush_log_budget(&mut self) {
        if self.log_dropped > 0 {
            self.caps.log(
                LogLevel::Warn,
                &format!(
                    "{} more log lines dropped (at most {LOG_LINES_PER_CALL} per call)",
                    self.log_dropped
                ),
            );
        }
    }

    /// Record that a host call took `elapsed`: waits of half a tick or more are not CPU. (Not
    /// every call: a guest calling `sleep(0)` in a loop must still pay for its loop.)
    pub(crate) fn note_wait(&mut self, elapsed: std::time::Duration) {
        if elapsed >= crate::runtime::TICK / 2 {
            self.waited = true;
        }
    }
}

impl bindings::tazlab::bootstrap::types::Host for CallState {}
