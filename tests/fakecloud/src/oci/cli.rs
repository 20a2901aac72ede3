//! `fakecloud oci`: serves the OCI fake until SIGINT or SIGTERM. Parsing and printing
//! only; the fake lives in [`super`].

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

use super::{FakeOci, Options, signature};

/// Arguments of `fakecloud oci`.
#[derive(clap::Args, Debug)]
pub struct OciArgs {
    /// Address to listen on; port 0 picks a free port (see the printed URL)
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The API key requests must be signed with: TENANCY_OCID/USER_OCID/FINGERPRINT
    #[arg(long, value_name = "TENANCY/USER/FINGERPRINT")]
    pub key_id: String,
    /// The key's RSA public key, PEM ("PUBLIC KEY" or "RSA PUBLIC KEY")
    #[arg(long, value_name = "FILE.pem")]
    pub public_key: PathBuf,
    /// The region the fake pretends to be (OCIDs and Instance.region follow it)
    #[arg(long, default_value = "us-ashburn-1")]
    pub region: String,
    /// How long a new instance is PROVISIONING before it is RUNNING
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub provision_duration_ms: u64,
    /// How long a terminated instance is TERMINATING before it is TERMINATED
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub terminate_duration_ms: u64,
    /// Answer the next N LaunchInstance with 500 InternalServerError
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub fail_next_launches: u32,
    /// Requests per second before 429 TooManyRequests; 0 = no limit
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub rate_limit: u32,
}

/// `TENANCY/USER/FINGERPRINT`: three non-empty parts.
fn check_key_id(key_id: &str) -> anyhow::Result<()> {
    let parts: Vec<&str> = key_id.split('/').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        bail!("--key-id must be TENANCY_OCID/USER_OCID/FINGERPRINT, got {key_id:?}");
    }
    Ok(())
}

/// Reads and checks the public key file, with a message that names it.
fn read_public_key(path: &std::path::Path) -> anyhow::Result<String> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the public key file {}", path.display()))?;
    signature::parse_public_key(&pem)
        .with_context(|| format!("{} is not a usable RSA public key", path.display()))?;
    Ok(pem)
}

/// Serve until SIGINT or SIGTERM; the first stdout line is the base URL.
pub async fn serve(args: OciArgs) -> anyhow::Result<()> {
    check_key_id(&args.key_id)?;
    let pem = read_public_key(&args.public_key)?;
    let options = Options {
        region: args.region,
        provision_duration: Duration::from_millis(args.provision_duration_ms),
        terminate_duration: Duration::from_millis(args.terminate_duration_ms),
        fail_next_launches: args.fail_next_launches,
        rate_limit: (args.rate_limit > 0).then_some(args.rate_limit),
        ..Options::default()
    };
    let running = FakeOci::start(args.listen, args.key_id, &pem, options)
        .await
        .with_context(|| format!("cannot start the OCI fake on {}", args.listen))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", running.base_url())?;
    stdout.flush()?;
    drop(stdout);
    eprintln!(
        "fakecloud: oci fake at {}/20160918; stop with Ctrl-C or SIGTERM",
        running.base_url()
    );
    crate::until_signal().await?;
    running.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_need_three_parts() {
        assert!(check_key_id("ocid1.tenancy.oc1..a/ocid1.user.oc1..b/aa:bb").is_ok());
        for bad in ["", "a/b", "a//c", "a/b/c/d", "/b/c"] {
            assert!(check_key_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unreadable_or_wrong_key_files_are_named_in_the_error() {
        let missing = std::path::Path::new("/nonexistent/key.pem");
        let err = format!("{:#}", read_public_key(missing).unwrap_err());
        assert!(
            err.contains("cannot read the public key file /nonexistent/key.pem"),
            "{err}"
        );
        let private = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../vectors/oci-signing/private_key.pem"
        ));
        let err = format!("{:#}", read_public_key(private).unwrap_err());
        assert!(err.contains("is not a usable RSA public key"), "{err}");
        assert!(err.contains("found PEM \"RSA PRIVATE KEY\""), "{err}");
        let public = private.with_file_name("public_key.pem");
        assert!(read_public_key(&public).is_ok());
    }
}
