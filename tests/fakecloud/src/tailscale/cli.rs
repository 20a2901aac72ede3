//! `fakecloud tailscale`: serves the Tailscale fake until SIGINT or SIGTERM. Parsing and
//! printing only; the fake lives in [`super`].

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

use super::{FakeTailscale, Options};

/// Arguments of `fakecloud tailscale`.
#[derive(clap::Args, Debug)]
pub struct TailscaleArgs {
    /// Address to listen on; port 0 picks a free port (see the printed URL)
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The OAuth client's id (client_id at /api/v2/oauth/token)
    #[arg(long, value_name = "ID")]
    pub client_id: String,
    /// The OAuth client's secret (client_secret at /api/v2/oauth/token)
    #[arg(
        long,
        value_name = "SECRET",
        env = "FAKECLOUD_TAILSCALE_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: String,
    /// The tailnet's name, accepted in paths besides "-"
    #[arg(long, default_value = "example.com", value_name = "NAME")]
    pub tailnet: String,
    /// A tag of the OAuth client (repeat for more); default: tag:k8s and tag:tazhost
    #[arg(long = "allowed-tag", value_name = "TAG")]
    pub allowed_tags: Vec<String>,
    /// A tag owned by the client's tags, which keys may carry instead (repeat for more)
    #[arg(long = "owned-tag", value_name = "TAG")]
    pub owned_tags: Vec<String>,
    /// A scope of the OAuth client (repeat for more); default: auth_keys and devices:core
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// How long access tokens live
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub token_ttl_secs: u64,
    /// A user's API access token also accepted, with full access
    #[arg(
        long,
        value_name = "TOKEN",
        env = "FAKECLOUD_TAILSCALE_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
    /// Identify the client by its secret alone, as Tailscale does
    #[arg(long)]
    pub ignore_client_id: bool,
    /// Answer the next N requests with 500 internal server error
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub fail_next_requests: u32,
}

impl TailscaleArgs {
    /// The options these arguments ask for (the defaults where a list is not given).
    pub fn options(&self) -> Options {
        let defaults = Options::default();
        let or_default = |given: &Vec<String>, default: Vec<String>| {
            if given.is_empty() {
                default
            } else {
                given.clone()
            }
        };
        Options {
            tailnet: self.tailnet.clone(),
            allowed_tags: or_default(&self.allowed_tags, defaults.allowed_tags),
            owned_tags: self.owned_tags.clone(),
            scopes: or_default(&self.scopes, defaults.scopes),
            token_ttl: Duration::from_secs(self.token_ttl_secs),
            api_key: self.api_key.clone(),
            ignore_client_id: self.ignore_client_id,
            fail_next_requests: self.fail_next_requests,
            ..defaults
        }
    }
}

/// Serve until SIGINT or SIGTERM; the first stdout line is the base URL.
pub async fn serve(args: TailscaleArgs) -> anyhow::Result<()> {
    let options = args.options();
    let running = FakeTailscale::start(
        args.listen,
        args.client_id.clone(),
        args.client_secret.clone(),
        options,
    )
    .await
    .with_context(|| format!("cannot start the Tailscale fake on {}", args.listen))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", running.base_url())?;
    stdout.flush()?;
    drop(stdout);
    eprintln!(
        "fakecloud: tailscale fake at {}/api/v2 (tailnet {}); stop with Ctrl-C or SIGTERM",
        running.base_url(),
        args.tailnet
    );
    crate::until_signal().await?;
    running.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: TailscaleArgs,
    }

    #[test]
    fn lists_default_when_not_given_and_replace_the_default_when_given() {
        let cli = Cli::try_parse_from(["t", "--client-id", "id", "--client-secret", "s"]).unwrap();
        let o = cli.args.options();
        assert_eq!(o, Options::default());

        let cli = Cli::try_parse_from([
            "t",
            "--client-id",
            "id",
            "--client-secret",
            "s",
            "--tailnet",
            "corp.example",
            "--allowed-tag",
            "tag:a",
            "--allowed-tag",
            "tag:b",
            "--owned-tag",
            "tag:c",
            "--scope",
            "all",
            "--token-ttl-secs",
            "60",
            "--ignore-client-id",
        ])
        .unwrap();
        let o = cli.args.options();
        assert_eq!(o.tailnet, "corp.example");
        assert_eq!(o.allowed_tags, vec!["tag:a", "tag:b"]);
        assert_eq!(o.owned_tags, vec!["tag:c"]);
        assert_eq!(o.scopes, vec!["all"]);
        assert_eq!(o.token_ttl, Duration::from_secs(60));
        assert!(o.ignore_client_id);
    }

    #[test]
    fn secret_values_from_the_environment_are_not_shown_in_help() {
        use clap::CommandFactory as _;
        let cmd = Cli::command();
        for id in ["client_secret", "api_key"] {
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_id() == id)
                .expect("the argument exists");
            assert!(
                arg.get_env().is_some(),
                "{id} may come from the environment"
            );
            assert!(arg.is_hide_env_values_set(), "{id}'s value is hidden");
        }
    }
}
