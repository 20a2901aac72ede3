//! The capabilities the host lends to plugins, one module each. A plugin gets exactly these and
//! nothing else: an empty WASI (no files, environment, arguments or sockets), `http` under its
//! policy, `secrets` by name, `crypto`, `log` (redacted) and `time.sleep`.

mod crypto;
pub mod http;
mod http_host;
mod log;
mod secrets;
mod time;
mod wasi;

pub use log::{LogLevel, LogSink};

use crate::runtime::bindings;
use crate::secrets::{Redactor, SecretSet};
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
    /// Scrubs every secret value of the run.
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
        let redactor = secrets.redactor();
        Self {
            plugin: plugin.into(),
            http: HttpCap::new(Arc::new(policy), secrets.clone(), limits),
            secrets,
            redactor,
            sink,
        }
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
}

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
        }
    }

    /// Send what the guest printed to the log, one redacted line at a time.
    pub fn flush_output(&self) {
        for (pipe, stream) in [(&self.stdout, "stdout"), (&self.stderr, "stderr")] {
            let (bytes, dropped) = pipe.contents();
            for line in String::from_utf8_lossy(&bytes).lines() {
                if !line.trim().is_empty() {
                    self.caps.log(LogLevel::Info, &format!("[{stream}] {line}"));
                }
            }
            if dropped > 0 {
                self.caps.log(
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

impl bindings::tazlab::bootstrap::types::Host for CallState {}
