//! `fakecloud`: serves one fake cloud API on a local port until killed.
//! Parsing and printing only; the fakes live in the library.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use fakecloud::hetzner::{FakeHetzner, Options};

#[derive(Parser)]
#[command(
    name = "fakecloud",
    version,
    about = "In-memory fakes of cloud APIs for tazhost's tests",
    long_about = "In-memory fakes of cloud APIs for tazhost's tests.\n\n\
        Each subcommand serves one fake API on a local port. The first line printed on \
        stdout is the base URL (e.g. http://127.0.0.1:40123); the fake then serves until \
        it receives SIGINT (Ctrl-C) or SIGTERM. All state is in memory and is lost when \
        it stops.\n\n\
        The proxmox fake serves HTTPS with a fresh self-signed certificate and prints its \
        SHA-256 fingerprint on the second line.\n\n\
        Fakes: hetzner, proxmox, oci, tailscale."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fake Hetzner Cloud API: servers and actions under /v1 (SDK endpoint: BASE_URL/v1)
    Hetzner(HetznerArgs),
    /// Fake Proxmox VE API over HTTPS: /api2/json (nextid, qemu clone/config/start/delete, tasks)
    Proxmox(fakecloud::proxmox::cli::ProxmoxArgs),
    /// Fake OCI Core Services API: /20160918/instances, accepting only requests signed with one key
    Oci(fakecloud::oci::cli::OciArgs),
    /// Fake Tailscale API: OAuth client credentials at /api/v2/oauth/token, auth keys under /api/v2/tailnet/{tailnet}/keys
    Tailscale(fakecloud::tailscale::cli::TailscaleArgs),
}

#[derive(Args)]
struct HetznerArgs {
    /// Address to listen on; port 0 picks a free port (see the printed URL)
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// API token clients must send as `Authorization: Bearer TOKEN`
    #[arg(long, env = "FAKECLOUD_TOKEN", hide_env_values = true)]
    token: String,
    /// How long each action (create, start, delete) runs before it succeeds
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    action_duration_ms: u64,
    /// Requests per hour before 429 rate_limit_exceeded (refilled gradually); 0 = no limit
    #[arg(long, default_value_t = 3600, value_name = "N")]
    rate_limit: u32,
    /// Answer the next N `POST /v1/servers` with 503 unavailable
    #[arg(long, default_value_t = 0, value_name = "N")]
    fail_next_creates: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Hetzner(args) => hetzner(args).await,
        Command::Proxmox(args) => fakecloud::proxmox::cli::serve(args).await,
        Command::Oci(args) => fakecloud::oci::cli::serve(args).await,
        Command::Tailscale(args) => fakecloud::tailscale::cli::serve(args).await,
    }
}

async fn hetzner(args: HetznerArgs) -> anyhow::Result<()> {
    let options = Options {
        action_duration: Duration::from_millis(args.action_duration_ms),
        rate_limit: (args.rate_limit > 0).then_some(args.rate_limit),
        fail_next_creates: args.fail_next_creates,
    };
    let running = FakeHetzner::start(args.listen, args.token, options)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", running.base_url())?;
    stdout.flush()?;
    drop(stdout);
    eprintln!(
        "fakecloud: hetzner fake at {}/v1; stop with Ctrl-C or SIGTERM",
        running.base_url()
    );
    fakecloud::until_signal().await?;
    running.stop().await;
    Ok(())
}
