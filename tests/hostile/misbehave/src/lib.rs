//! Test fixture: a `provider` plugin that misbehaves on purpose, one way per `mode`.
//!
//! `list(config, _)` reads `{"mode": "...", ...}` and does what the mode says; see [`Mode`].
//! The host's tests check that each misbehaviour fails only the call, with a clear error.

use serde::Deserialize;
use tazhost_sdk::http::{Credential, Request};
use tazhost_sdk::{Error, Guest, Node, NodeSpec, PluginInfo, crypto, error, log, secrets, time};

#[derive(Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
enum Mode {
    /// Spin forever without calling the host.
    Loop,
    /// Allocate and touch 1 MiB blocks forever, keeping them all.
    MemoryBomb,
    /// Read a file (default `/etc/passwd`).
    ReadFile { path: Option<String> },
    /// Count environment variables and arguments.
    ReadEnv,
    /// One GET, no retries, optionally with a bearer secret.
    Http { url: String, secret: Option<String> },
    /// Reveal a secret and leak it through log, stdout, stderr and the error.
    LogSecret { secret: String },
    /// An error message of `size` bytes.
    HugeString { size: usize },
    /// Sleep in the host forever.
    SleepForever,
    /// Panic (a trap, with `panic = "abort"`).
    Panic,
    /// The names of the granted secrets, as an error.
    ListSecrets,
    /// Print `bytes` bytes to stdout in 100-byte lines, then fail with "printed".
    Chatty { bytes: usize },
    /// Not hostile: `count` cheap guest-to-host calls, for the benchmarks.
    HostCalls { count: u64 },
}

struct Misbehave;

impl Guest for Misbehave {
    fn describe() -> PluginInfo {
        tazhost_sdk::plugin_info(
            "misbehave",
            env!("CARGO_PKG_VERSION"),
            &["https://allowed.test", "https://declared-only.test"],
            &["api-token", "reveal-me"],
        )
    }

    fn validate(_config: String) -> Result<(), Error> {
        Ok(())
    }

    fn list(config: String, _selector: Vec<(String, String)>) -> Result<Vec<Node>, Error> {
        let mode: Mode = serde_json::from_str(&config)
            .map_err(|e| error::invalid_config(format!("misbehave config: {e}")))?;
        match mode {
            Mode::Loop => {
                let mut n = 0u64;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            Mode::MemoryBomb => {
                let mut kept: Vec<Vec<u8>> = Vec::new();
                loop {
                    let mut block = vec![0u8; 1 << 20];
                    // Touch every page so the memory is really used.
                    for i in (0..block.len()).step_by(4096) {
                        block[i] = (kept.len() as u8).wrapping_add(1);
                    }
                    kept.push(std::hint::black_box(block));
                }
            }
            Mode::ReadFile { path } => {
                let path = path.unwrap_or_else(|| "/etc/passwd".to_owned());
                match std::fs::read_to_string(&path) {
                    Ok(text) => Ok(vec![node(
                        format!("READ:{}", text.chars().take(100).collect::<String>()),
                        "read".into(),
                    )]),
                    Err(e) => Err(error::provider(format!("read failed: {e}"))),
                }
            }
            Mode::ReadEnv => {
                let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
                let args: Vec<String> = std::env::args().collect();
                Err(error::provider(format!(
                    "env={} args={} names={}",
                    vars.len(),
                    args.len(),
                    vars.join(",")
                )))
            }
            Mode::Http { url, secret } => {
                let mut req = Request::get(url);
                if let Some(secret) = secret {
                    req = req.credential(Credential::Bearer(secret));
                }
                let resp = req.send_once()?;
                let body = String::from_utf8_lossy(&resp.body);
                Ok(vec![node(
                    format!("STATUS:{}", resp.status),
                    body.chars().take(200).collect(),
                )])
            }
            Mode::LogSecret { secret } => {
                let value = secrets::reveal(&secret)?;
                log::info(&format!("the secret is {value}"));
                println!("stdout secret: {value}");
                eprintln!("stderr secret: {value}");
                Err(error::provider(format!("leaked {value}")))
            }
            Mode::HugeString { size } => Err(error::provider("x".repeat(size))),
            Mode::SleepForever => loop {
                time::sleep(1000);
            },
            Mode::Panic => panic!("hostile panic"),
            Mode::ListSecrets => Err(error::provider(secrets::granted().join(","))),
            Mode::Chatty { bytes } => {
                let line = "y".repeat(99);
                for _ in 0..bytes / 100 {
                    println!("{line}");
                }
                Err(error::provider("printed"))
            }
            Mode::HostCalls { count } => {
                for _ in 0..count {
                    std::hint::black_box(crypto::random_bytes(0));
                }
                Ok(vec![])
            }
        }
    }

    fn create(_config: String, _spec: NodeSpec, _user_data: String) -> Result<Node, Error> {
        Err(error::provider("unsupported"))
    }

    fn delete(_config: String, _provider_id: String) -> Result<(), Error> {
        Err(error::provider("unsupported"))
    }
}

fn node(name: String, status: String) -> Node {
    Node {
        name,
        provider_id: "0".into(),
        public_ipv4: None,
        private_ipv4: None,
        status,
        labels: Vec::new(),
    }
}

tazhost_sdk::export_provider!(Misbehave);
