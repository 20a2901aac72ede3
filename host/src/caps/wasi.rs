//! The WASI a plugin sees: nothing. Rust's std links WASI (cli, io, clocks, filesystem, random)
//! even when a plugin uses none of it, so the imports must exist; this context gives them
//! nothing to reach: no preopened directories, no environment, no arguments, no sockets, no
//! stdin. Clocks and randomness stay available (harmless, and needed by std's hash maps).
//! Stdout and stderr are captured for the log.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

/// An empty context whose stdout and stderr go to the given captures.
pub fn empty_ctx(stdout: CapturedOutput, stderr: CapturedOutput) -> WasiCtx {
    let mut builder = WasiCtxBuilder::new();
    builder
        .stdout(stdout)
        .stderr(stderr)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    builder.build()
}

/// What a plugin printed, kept up to a cap. Writes past the cap are accepted and dropped (a
/// failed write would make Rust's `println!` panic, turning chattiness into a trap), and the log
/// says how much was dropped.
#[derive(Clone, Debug)]
pub struct CapturedOutput {
    inner: Arc<Mutex<Captured>>,
}

#[derive(Debug, Default)]
struct Captured {
    kept: Vec<u8>,
    dropped: usize,
    cap: usize,
}

impl CapturedOutput {
    /// Keep at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Captured {
                cap,
                ..Captured::default()
            })),
        }
    }

    /// (kept bytes, number of bytes dropped).
    pub fn contents(&self) -> (Vec<u8>, usize) {
        let c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (c.kept.clone(), c.dropped)
    }

    fn append(&self, buf: &[u8]) {
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let room = c.cap.saturating_sub(c.kept.len());
        let take = room.min(buf.len());
        c.kept.extend_from_slice(&buf[..take]);
        c.dropped += buf.len() - take;
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for CapturedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
