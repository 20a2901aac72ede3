//! The WASI a plugin sees: nothing. Rust's std links WASI (cli, io, clocks, filesystem, random)
//! even when a plugin uses none of it, so the imports must exist; this context gives them
//! nothing to reach: no preopened directories, no environment, no arguments, no sockets, no
//! stdin. Clocks and randomness stay available (harmless, and needed by std's hash maps).

use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

/// An empty context whose stdout and stderr are captured for the log.
pub fn empty_ctx(stdout: MemoryOutputPipe, stderr: MemoryOutputPipe) -> WasiCtx {
    let mut builder = WasiCtxBuilder::new();
    builder
        .stdout(stdout)
        .stderr(stderr)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    builder.build()
}
