//! `fakecloud proxmox`: serves the fake Proxmox VE API over HTTPS until SIGINT or SIGTERM.
//! The first stdout line is the base URL (`https://127.0.0.1:PORT`), the second the SHA-256
//! fingerprint of the node certificate; `--ca-out FILE` writes the CA certificate to trust.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use super::{FakeProxmox, Options};

/// Arguments of `fakecloud proxmox`.
#[derive(clap::Args, Debug)]
pub struct ProxmoxArgs {
    /// Address to listen on; port 0 picks a free port (see the printed URL)
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// API token clients must send as `Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET`
    #[arg(
        long,
        env = "FAKECLOUD_PROXMOX_TOKEN",
        hide_env_values = true,
        value_name = "USER@REALM!TOKENID=SECRET"
    )]
    pub token: String,
    /// Node name (the `{node}` of the API paths)
    #[arg(long, default_value = "pve")]
    pub node: String,
    /// How long each task (clone, start, stop, destroy, upload, ...) runs
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub task_duration_ms: u64,
    /// How long a refused authentication is held back (PVE: 3000)
    #[arg(long, default_value_t = 3000, value_name = "MS")]
    pub auth_failure_delay_ms: u64,
    /// Write the cluster CA certificate (PEM) to this file
    #[arg(long, value_name = "FILE")]
    pub ca_out: Option<PathBuf>,
    /// Make the next N clone tasks fail
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub fail_next_clones: u32,
    /// Answer the next N authenticated requests with 500 "cluster not ready - no quorum?"
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub fail_next_requests: u32,
}

/// Serve until SIGINT or SIGTERM.
pub async fn serve(args: ProxmoxArgs) -> anyhow::Result<()> {
    let options = Options {
        node: args.node,
        task_duration: Duration::from_millis(args.task_duration_ms),
        auth_failure_delay: Duration::from_millis(args.auth_failure_delay_ms),
        fail_next_clones: args.fail_next_clones,
        fail_next_requests: args.fail_next_requests,
        ..Options::default()
    };
    let running = FakeProxmox::start(args.listen, args.token, options)
        .await
        .with_context(|| format!("cannot start the Proxmox fake on {}", args.listen))?;
    if let Some(path) = &args.ca_out {
        std::fs::write(path, running.ca_pem())
            .with_context(|| format!("cannot write the CA certificate to {}", path.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", running.base_url())?;
    writeln!(stdout, "{}", running.fingerprint())?;
    stdout.flush()?;
    drop(stdout);
    eprintln!(
        "fakecloud: proxmox fake (node {}) at {}/api2/json; stop with Ctrl-C or SIGTERM",
        running.node(),
        running.base_url()
    );
    crate::until_signal().await?;
    running.stop().await;
    Ok(())
}
