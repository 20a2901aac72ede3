//! tazhost's one integration test binary (wasmtime's model): a module per area. Every test uses
//! real WebAssembly components built from `plugins/` and `tests/hostile/`, and the fake clouds of
//! `tests/fakecloud` on free 127.0.0.1 ports.

mod support;

mod audit;
mod cache;
mod cli;
mod examples;
mod hcloud_sdk;
mod hetzner;
mod hostile;
mod http_policy;
mod layers;
mod leaks;
mod oauth_http;
mod oci;
mod oci_signing_sdk;
mod proxmox;
mod run_lock;
mod s3;
mod secrets;
mod signed_http;
mod tailscale;
mod vault;
