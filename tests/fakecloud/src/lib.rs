//! In-memory fakes of the cloud APIs tazhost's provider plugins talk to, for tests and
//! for CI runs without real clouds. Each fake is an HTTP server on a local port, started
//! from a Rust test with `start(...)` or from the command line with the `fakecloud`
//! binary (`fakecloud hetzner --listen 127.0.0.1:0 --token T`).
//!
//! Fakes: [`hetzner`]. Proxmox VE, OCI and Tailscale are planned beside it, one module
//! each, with the same shape (`start`, `Options`, `Running`).

pub mod hetzner;
