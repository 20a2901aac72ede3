//! In-memory fakes of the cloud APIs tazhost's provider plugins talk to, for tests and
//! for CI runs without real clouds. Each fake is an HTTP server on a local port, started
//! from a Rust test with `start(...)` or from the command line with the `fakecloud`
//! binary (`fakecloud hetzner --listen 127.0.0.1:0 --token T`).
//!
//! Fakes: [`hetzner`], [`proxmox`], [`oci`], [`tailscale`]. Each module has the same shape
//! (`start`, `Options`, `Running`) and its own `cli` for the binary.

pub mod hetzner;
pub mod oci;
pub mod proxmox;
pub mod serve;
pub mod tailscale;
#[cfg(test)]
mod test_client;

use anyhow::Context as _;

/// Returns on SIGINT or SIGTERM.
pub async fn until_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot watch SIGINT")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot watch Ctrl-C")?;
    Ok(())
}
