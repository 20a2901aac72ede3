//! tazhost: rebuild infrastructure from an S3 bucket, a passphrase and WebAssembly provider
//! plugins.
//!
//! - [`archive`]: the encrypted secrets archive; [`audit`]: proving repositories hold none of it.
//! - [`runtime`]: the wasmtime engine, component cache and sandboxed plugin calls.
//! - [`caps`]: the capabilities the host lends to plugins (http, secrets, crypto, log, time).
//! - [`config`]: the `cluster.toml` file.
//! - [`secrets`]: secret values, their sources and redaction.
//! - [`run`]: the bootstrap itself: plan, apply, destroy.
//! - [`report`]: what the CLI prints.
//! - [`progress`]: progress of long transfers on a terminal.

pub mod archive;
pub mod audit;
pub mod caps;
pub mod config;
pub mod progress;
pub mod report;
pub mod run;
pub mod runtime;
pub mod secrets;
