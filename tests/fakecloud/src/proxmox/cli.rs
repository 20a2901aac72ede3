//! `fakecloud proxmox`.

/// Arguments of `fakecloud proxmox`.
#[derive(clap::Args)]
pub struct ProxmoxArgs {}

/// Serve until SIGINT or SIGTERM.
pub async fn serve(_args: ProxmoxArgs) -> anyhow::Result<()> {
    anyhow::bail!("the Proxmox fake is not written yet")
}
