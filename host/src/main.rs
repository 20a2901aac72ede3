//! The `tazhost` command line: parse arguments, call the library, print. Nothing else lives here.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use tazhost::archive::files::{self, ArchiveLocation, Archives};
use tazhost::archive::{Contents, FolderLimits, KdfParams};
use tazhost::caps::LogSink;
use tazhost::config::ClusterConfig;
use tazhost::report;
use tazhost::run::{Session, Timeline};
use tazhost::runtime::{ComponentCache, Runtime};
use tazhost::secrets::PassphraseSource;

/// Rebuild infrastructure from an S3 bucket, a passphrase and WebAssembly provider plugins.
///
/// Every cloud provider is a sandboxed WebAssembly component plugin (see wit/ for the contract).
/// Plugins reach only the hosts they declare AND the operator grants in cluster.toml, and never
/// see a credential: the host attaches it to their requests.
#[derive(Parser)]
#[command(
    name = "tazhost",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    /// More log output (-v: debug, -vv: trace). TAZHOST_LOG overrides (e.g. `plugin=debug`).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    /// Directory for compiled plugins [default: $XDG_CACHE_HOME/tazhost/components].
    #[arg(long, global = true, env = "TAZHOST_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// Compile plugins in memory every time instead of using the cache.
    #[arg(long, global = true)]
    no_cache: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate, plan and apply: create every node cluster.toml wants that does not exist yet.
    ///
    /// Safe to run again: nodes carry tazhost's cluster and pool labels, so a rerun finds what
    /// exists and creates only what is missing. Prints the cluster's nodes at the end.
    Run(ClusterArgs),
    /// Show what `run` would create. Changes nothing.
    Plan(ClusterArgs),
    /// Delete every node that carries this cluster's label, with every provider of cluster.toml.
    Destroy {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Work with plugin files.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Seal, open (pull), list, rekey, copy and convert the encrypted secrets archive, locally or on S3.
    ///
    /// The passphrase is read from the terminal without echo (3 attempts), or from
    /// --passphrase-file, --passphrase-fd or the file named by $TAZHOST_PASSPHRASE_FILE; never
    /// from the command line or a plain environment variable. Opened secrets live in memory.
    Secrets {
        /// S3-compatible endpoint (else $AWS_ENDPOINT_URL, else AWS); path-style addressing.
        #[arg(long, value_name = "URL")]
        endpoint_url: Option<String>,
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Vault (or OpenBao): status, and unsealing with the keys kept in the archive.
    ///
    /// VAULT_ADDR, VAULT_CACERT and VAULT_NAMESPACE are honored.
    Vault {
        /// Vault's address.
        #[arg(long, env = "VAULT_ADDR", value_name = "URL")]
        addr: Option<String>,
        /// S3-compatible endpoint for an s3:// archive (else $AWS_ENDPOINT_URL, else AWS).
        #[arg(long, value_name = "URL")]
        endpoint_url: Option<String>,
        #[command(subcommand)]
        command: VaultCommand,
    },
}

#[derive(Subcommand)]
enum VaultCommand {
    /// Show whether Vault is uninitialized, sealed, standby or active.
    ///
    /// Exit status: 0 when unsealed, 2 when sealed or uninitialized, 1 on error.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Unseal Vault with the Shamir keys in the archive, if it is sealed.
    ///
    /// Keys are submitted in order until Vault unseals; if it refuses them (another cluster's
    /// archive, a damaged key), the unseal progress is reset so nothing changes.
    Unseal {
        #[command(flatten)]
        archive: VaultArchiveArgs,
    },
    /// Raft snapshots on S3.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Restore a snapshot from S3 into an empty Vault and unseal it with the old cluster's keys.
    ///
    /// The snapshot's sha256 (stored by `snapshot push`) is checked before Vault is touched.
    /// The empty Vault is initialized with a throwaway key, the snapshot force-loaded, and once
    /// Vault seals itself it is unsealed with the archive's keys; the archive's token must then
    /// work, or the restore is reported as failed.
    Restore {
        /// s3://bucket/prefix (its vault-latest.snap) or s3://bucket/prefix/vault-<time>.snap.
        from: String,
        #[command(flatten)]
        archive: VaultArchiveArgs,
    },
}

#[derive(Subcommand)]
enum SnapshotCommand {
    /// Take a snapshot and store it as <prefix>/vault-<UTC time>.snap and vault-latest.snap.
    ///
    /// Both carry the sha256 in x-amz-meta-sha256. With --keep N, the oldest timestamped
    /// snapshots beyond N are deleted (never the newest). The token is $VAULT_TOKEN, else the
    /// archive's token file.
    Push {
        /// s3://bucket/prefix.
        to: String,
        /// Keep only the newest N timestamped snapshots.
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
        #[command(flatten)]
        archive: VaultArchiveArgs,
    },
    /// Prove the latest snapshot restores: load it into a throwaway local OpenBao/Vault.
    ///
    /// The server (`--bao`, else $TAZHOST_BAO, else `bao` or `vault` on the PATH) runs on
    /// loopback with its data in a private temporary folder; the snapshot is restored and
    /// unsealed with the archive's keys, the archive's token is checked and the canary read;
    /// then the server is stopped and its data deleted. --addr is not used.
    Verify {
        /// s3://bucket/prefix (its vault-latest.snap) or a .snap object.
        from: String,
        /// A KV v2 secret that must be readable afterwards, as MOUNT/PATH
        /// (e.g. secret/tazlab-k8s/bootstrap).
        #[arg(long, value_name = "MOUNT/PATH")]
        canary: Option<String>,
        /// The OpenBao or Vault binary to run.
        #[arg(long, value_name = "FILE")]
        bao: Option<PathBuf>,
        #[command(flatten)]
        archive: VaultArchiveArgs,
    },
}

#[derive(Args)]
struct VaultArchiveArgs {
    /// The secrets archive holding the unseal keys and the token: a file or s3://bucket/key.
    #[arg(long, value_name = "FILE|S3")]
    archive: Option<String>,
    /// Key file names in the archive, `{n}` counting from 1 (full path or file name).
    #[arg(long, default_value = tazhost::caps::vault::DEFAULT_KEY_NAME, value_name = "PATTERN")]
    key_name: String,
    /// How many key files to look for.
    #[arg(long, default_value_t = 5, value_name = "N")]
    key_count: u32,
    /// The token's file name in the archive.
    #[arg(long, default_value = tazhost::caps::vault::DEFAULT_TOKEN_NAME, value_name = "NAME")]
    token_name: String,
    /// Trust the CA certificate kept in the archive under this name (PEM, used as stored)
    /// instead of $VAULT_CACERT, e.g. VAULT_CA_CRT.
    #[arg(long, value_name = "NAME")]
    ca_name: Option<String>,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

impl VaultArchiveArgs {
    async fn open(&self, archives: &Archives) -> Result<tazhost::archive::SecretFolder> {
        let Some(archive) = &self.archive else {
            anyhow::bail!("this needs the secrets archive: pass --archive FILE|s3://bucket/key");
        };
        Ok(files::open(
            archives,
            &ArchiveLocation::parse(archive)?,
            &self.passphrase.source(),
            &FolderLimits::default(),
            Contents::Keep,
        )
        .await?)
    }

    fn keys(
        &self,
        folder: &tazhost::archive::SecretFolder,
    ) -> Result<Vec<(String, tazhost::secrets::SecretValue)>> {
        Ok(tazhost::caps::vault::keys_from_archive(
            folder,
            &self.key_name,
            self.key_count,
        )?)
    }

    /// The client: trusting the archive's CA (as stored) when --ca-name is given.
    fn client(
        &self,
        addr: Option<&str>,
        folder: Option<&tazhost::archive::SecretFolder>,
    ) -> Result<tazhost::caps::vault::VaultClient> {
        use tazhost::caps::vault::VaultClient;
        let (Some(name), Some(folder)) = (&self.ca_name, folder) else {
            return Ok(VaultClient::from_env(addr)?);
        };
        let ca = tazhost::caps::vault::file_bytes_from_archive(folder, name)?.ok_or_else(|| {
            anyhow::anyhow!(
                "the archive has no `{}` (the CA for --ca-name)",
                report::clean(name)
            )
        })?;
        Ok(VaultClient::from_env_with_ca(addr, Some(&ca))?)
    }

    fn token(
        &self,
        folder: &tazhost::archive::SecretFolder,
    ) -> Result<tazhost::secrets::SecretValue> {
        tazhost::caps::vault::file_from_archive(folder, &self.token_name)?.ok_or_else(|| {
            anyhow::anyhow!(
                "the archive has no `{}` (the Vault token); name it with --token-name",
                report::clean(&self.token_name)
            )
        })
    }
}

#[derive(Args)]
struct PassphraseArgs {
    /// Read the passphrase from this file (one trailing newline is dropped).
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Read the passphrase from this open file descriptor (read to its end, then closed).
    #[arg(long, value_name = "FD", conflicts_with = "passphrase_file")]
    passphrase_fd: Option<i32>,
}

impl PassphraseArgs {
    fn source(&self) -> PassphraseSource {
        PassphraseSource::choose(self.passphrase_file.clone(), self.passphrase_fd, true)
    }
}

#[derive(Args)]
struct NewPassphraseArgs {
    /// Read the new passphrase from this file.
    #[arg(long, value_name = "FILE")]
    new_passphrase_file: Option<PathBuf>,
    /// Read the new passphrase from this open file descriptor.
    #[arg(long, value_name = "FD", conflicts_with = "new_passphrase_file")]
    new_passphrase_fd: Option<i32>,
}

impl NewPassphraseArgs {
    fn given(&self) -> bool {
        self.new_passphrase_file.is_some() || self.new_passphrase_fd.is_some()
    }
    fn source(&self) -> PassphraseSource {
        PassphraseSource::choose(
            self.new_passphrase_file.clone(),
            self.new_passphrase_fd,
            false,
        )
    }
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Seal a folder into a new archive (Argon2id + AES-256-GCM, streamed in 64 KiB chunks).
    Seal {
        /// The secrets folder.
        dir: PathBuf,
        /// Where to write the archive: a file or s3://bucket/key (created only if absent).
        #[arg(long, value_name = "FILE|S3")]
        to: String,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
        /// Write the legacy TazPod format instead (for tools that read only that).
        #[arg(long)]
        legacy: bool,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Verify an archive and unpack it into a folder on tmpfs/ramfs (files 0600, folder 0700).
    ///
    /// Nothing is written unless the whole archive verifies. The folder must be missing or
    /// empty, and in memory (e.g. under /dev/shm or $XDG_RUNTIME_DIR) unless --allow-disk.
    #[command(alias = "pull")]
    Open {
        /// The archive (ours or legacy TazPod): a file or s3://bucket/key.
        archive: String,
        /// The folder to create.
        #[arg(long, alias = "open", value_name = "DIR")]
        into: PathBuf,
        /// Allow a folder on a disk-backed filesystem.
        #[arg(long)]
        allow_disk: bool,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Verify an archive and list its files: names, sizes and modes, never contents.
    List {
        /// The archive (ours or legacy TazPod): a file or s3://bucket/key.
        archive: String,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Change an archive's passphrase without decrypting its contents (only the header changes).
    Rekey {
        /// The archive (ours): a file or s3://bucket/key, replaced only if unchanged since read.
        archive: String,
        /// Write the result here instead of replacing the archive.
        #[arg(long, value_name = "FILE|S3")]
        to: Option<String>,
        #[command(flatten)]
        passphrase: PassphraseArgs,
        #[command(flatten)]
        new_passphrase: NewPassphraseArgs,
    },
    /// Check that a folder and its git history hold none of the archive's values.
    ///
    /// Every secret in the archive is searched for raw, base64 (standard and URL-safe, at any
    /// alignment), URL-encoded, as a PEM body at any line width, and by the random tokens
    /// inside it; values under 8 bytes are skipped and named. Each hit prints as
    /// `file:line: NAME (form)` or `commit:file:line: NAME (form)`, never the value.
    /// Exit status: 0 when clean, 3 when something was found, 1 on error. As a pre-commit
    /// hook, pass --no-history and the passphrase with --passphrase-file or --passphrase-fd.
    Audit {
        /// The folder (or file) to scan.
        path: PathBuf,
        /// The archive whose values to look for: a file or s3://bucket/key.
        #[arg(long, value_name = "FILE|S3")]
        archive: String,
        /// Scan the working tree only, not the git history.
        #[arg(long)]
        no_history: bool,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Copy an archive byte for byte between a file and S3: no passphrase, only ciphertext moves.
    ///
    /// Use it to push a local archive to the bucket (created only if absent, unless --force) or
    /// to keep an offline copy. The header is checked first, so a file that is not an archive
    /// is refused.
    Copy {
        /// The archive: a file or s3://bucket/key.
        from: String,
        /// The copy: a file or s3://bucket/key.
        to: String,
        /// Replace an existing copy.
        #[arg(long)]
        force: bool,
    },
    /// Convert a legacy TazPod archive to tazhost's format (same passphrase unless a new one is given).
    Convert {
        /// The legacy archive: a file or s3://bucket/key.
        archive: String,
        /// Where to write the new archive (created only if absent).
        #[arg(long, value_name = "FILE|S3")]
        to: String,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        passphrase: PassphraseArgs,
        #[command(flatten)]
        new_passphrase: NewPassphraseArgs,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Show a plugin's name, version, contract, declared hosts and secrets, sha256 and imports.
    ///
    /// The plugin runs `describe()` in a sandbox with nothing granted.
    Inspect {
        /// The plugin's .wasm file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct ClusterArgs {
    /// The cluster description.
    #[arg(
        short = 'c',
        long = "config",
        default_value = "cluster.toml",
        value_name = "FILE"
    )]
    config: PathBuf,
    /// Use this plugin file for the provider it names (its describe().name); repeatable.
    #[arg(long = "plugin", value_name = "FILE.wasm")]
    plugins: Vec<PathBuf>,
    /// Use this plugin file for the machine-config extension it names (an [[extensions]] entry
    /// of cluster.toml, which gives its config, grants and place in the order); repeatable.
    #[arg(long = "extension", value_name = "FILE.wasm")]
    extensions: Vec<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Remove the run lock beside an S3 archive before taking it, when a run that held it died.
    #[arg(long)]
    break_lock: bool,
    /// `run` also writes its timing (phases, nodes, layers) as JSON to this file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Where `run` writes each layer's log (redacted), in a subdirectory per run.
    #[arg(long, default_value = "tazhost-logs", value_name = "DIR")]
    logs: PathBuf,
    /// For `[archive]` secrets: the archive's passphrase (else $TAZHOST_PASSPHRASE_FILE, else
    /// the terminal). Not read unless a secret comes from the archive.
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    tazhost::secrets::harden_process();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", tazhost::report::clean(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        // rustls logs each refused certificate itself; the error tazhost reports already says
        // which origin and why, and how to pin it.
        0 => "info,rustls=off",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TAZHOST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .without_time()
        .init();
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let command = match cli.command {
        // The archive needs no plugin runtime.
        Command::Secrets {
            endpoint_url,
            command,
        } => return secrets(Archives::new(endpoint_url), command).await,
        Command::Vault {
            addr,
            endpoint_url,
            command,
        } => return vault(addr, Archives::new(endpoint_url), command).await,
        other => other,
    };
    let cache = if cli.no_cache {
        ComponentCache::disabled()
    } else {
        cli.cache_dir
            .map(ComponentCache::at)
            .unwrap_or_else(ComponentCache::from_env)
    };
    let runtime = Runtime::new(cache).map_err(|e| anyhow::anyhow!("{e}"))?;
    match command {
        Command::Secrets { .. } | Command::Vault { .. } => unreachable!("handled above"),
        Command::Run(args) => run(&runtime, args).await,
        Command::Plan(args) => plan(&runtime, args).await,
        Command::Destroy { cluster, yes } => destroy(&runtime, cluster, yes).await,
        Command::Plugin(PluginCommand::Inspect { file, json }) => {
            inspect(&runtime, file, json).await
        }
    }
}

async fn open(runtime: &Runtime, args: &ClusterArgs) -> Result<Session> {
    let config = ClusterConfig::load(&args.config)?;
    let passphrase = args.passphrase.source();
    Ok(Session::open(
        config,
        runtime,
        &plugin_files(args),
        &passphrase,
        LogSink::Tracing,
    )
    .await?)
}

/// `--plugin` and `--extension` files.
fn plugin_files(args: &ClusterArgs) -> Vec<PathBuf> {
    args.plugins
        .iter()
        .chain(&args.extensions)
        .cloned()
        .collect()
}

async fn plan(runtime: &Runtime, args: ClusterArgs) -> Result<ExitCode> {
    let session = open(runtime, &args).await?;
    session.validate().await?;
    let plan = session.plan().await?;
    if args.json {
        println!("{}", report::plan_json(&plan));
    } else {
        print!("{}", report::plan_text(&plan));
    }
    Ok(ExitCode::SUCCESS)
}

async fn run(runtime: &Runtime, args: ClusterArgs) -> Result<ExitCode> {
    let timeline = Timeline::new();
    let config = ClusterConfig::load(&args.config)?;
    // One run at a time per estate: the lock sits beside an S3 archive.
    let lock = match config.archive.as_ref().map(|a| {
        (
            ArchiveLocation::parse(&a.location),
            a.endpoint_url.as_deref(),
        )
    }) {
        Some((Ok(ArchiveLocation::S3(archive)), endpoint)) => {
            let store = tazhost::caps::s3::S3Store::from_env(endpoint).await;
            Some(
                tazhost::run::RunLock::acquire(
                    store,
                    &archive,
                    &config.cluster.name,
                    args.break_lock,
                )
                .await?,
            )
        }
        _ => None,
    };
    let result = tokio::select! {
        result = run_locked(runtime, &args, config, timeline) => result,
        interrupted = tokio::signal::ctrl_c() => match interrupted {
            Ok(()) => {
                eprintln!("interrupted: stopping; nodes already created are kept, a rerun creates only what is missing");
                Ok(ExitCode::from(130))
            }
            // Fall through to releasing the lock either way.
            Err(e) => Err(anyhow::Error::new(e).context("cannot watch Ctrl-C")),
        }
    };
    if let Some(lock) = lock {
        let at = lock.location().to_string();
        if let Err(e) = lock.release().await {
            eprintln!(
                "warning: could not release the run lock {at}: {e}; the next run needs --break-lock"
            );
        }
    }
    result
}

/// `run` once the lock (if any) is held.
async fn run_locked(
    runtime: &Runtime,
    args: &ClusterArgs,
    config: ClusterConfig,
    mut timeline: Timeline,
) -> Result<ExitCode> {
    let passphrase = args.passphrase.source();
    let secrets = timeline
        .phase(
            "secrets",
            tazhost::run::resolve_secrets(&config, &passphrase),
        )
        .await?;
    let session = timeline
        .phase(
            "plugins",
            Session::open_with_secrets(
                config,
                runtime,
                &plugin_files(args),
                std::sync::Arc::new(secrets),
                LogSink::Tracing,
            ),
        )
        .await?;
    if session.extensions.is_empty() {
        tracing::info!("validating {} provider(s)", session.providers.len());
    } else {
        tracing::info!(
            "validating {} provider(s) and {} extension(s)",
            session.providers.len(),
            session.extensions.len()
        );
    }
    let plan = timeline
        .phase("plan", async {
            session.validate().await?;
            session.plan().await
        })
        .await?;
    if !args.json {
        eprint!("{}", report::plan_text(&plan));
    }
    let platform_start = std::time::Instant::now();
    let outcomes = session.apply(&plan).await?;
    let failures = report::failures(&outcomes);
    timeline.record("platform", platform_start, failures.is_empty());
    let mut rows: Vec<(&str, &str, &tazhost::runtime::bindings::Node)> = Vec::new();
    for p in &plan.pools {
        rows.extend(
            p.existing
                .iter()
                .map(|n| (p.pool.as_str(), p.provider.as_str(), n)),
        );
    }
    for o in &outcomes {
        if let Ok(n) = &o.result {
            rows.push((o.pool.as_str(), o.provider.as_str(), n));
        }
    }
    let nodes: Vec<_> = rows
        .iter()
        .map(|(pool, provider, n)| report::node_json(pool, provider, n))
        .collect();
    if args.json {
        println!(
            "{}",
            serde_json::json!({"nodes": nodes, "created": outcomes.len() - failures.len(), "failed": failures})
        );
    } else {
        print!("{}", report::nodes_table(rows));
    }
    let code = if failures.is_empty() {
        let start = std::time::Instant::now();
        let (code, layers) = run_layers_of(&session, args).await?;
        if !session.config.layers.is_empty() {
            timeline.record("layers", start, code == ExitCode::SUCCESS);
        }
        finish(args, &timeline, &nodes, layers.as_ref())?;
        code
    } else {
        for f in &failures {
            eprintln!("error: {f}");
        }
        eprintln!(
            "{} of {} node(s) failed; the others are kept. Run again to retry the missing ones.",
            failures.len(),
            outcomes.len()
        );
        finish(args, &timeline, &nodes, None)?;
        ExitCode::FAILURE
    };
    Ok(code)
}

/// The timing table, and `--report` if asked for.
fn finish(
    args: &ClusterArgs,
    timeline: &Timeline,
    nodes: &[serde_json::Value],
    layers: Option<&serde_json::Value>,
) -> Result<()> {
    if !args.json {
        eprint!("{}", report::phases_table(timeline));
    }
    if let Some(path) = &args.report {
        let mut doc = report::phases_json(timeline);
        doc["nodes"] = serde_json::Value::from(nodes.to_vec());
        doc["layers"] = layers
            .and_then(|l| l.get("layers").cloned())
            .unwrap_or_default();
        std::fs::write(path, serde_json::to_vec_pretty(&doc)?)
            .with_context(|| format!("cannot write the report {}", path.display()))?;
    }
    Ok(())
}

/// The `[[layers]]` DAG, once every node exists; a table of what each did.
async fn run_layers_of(
    session: &Session,
    args: &ClusterArgs,
) -> Result<(ExitCode, Option<serde_json::Value>)> {
    let layers = &session.config.layers;
    if layers.is_empty() {
        return Ok((ExitCode::SUCCESS, None));
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let dir = args.logs.join(format!("run-{stamp}"));
    tracing::info!(
        "running {} layer(s); logs in {}",
        layers.len(),
        dir.display()
    );
    let redactor = session.secrets.redactor().following(session.kept.clone());
    let outcomes = tazhost::run::run_layers(layers, &session.secrets, &redactor, &dir)
        .await
        .with_context(|| format!("cannot write layer logs in {}", dir.display()))?;
    let json = report::layers_json(&outcomes);
    if args.json {
        println!("{json}");
    } else {
        eprint!("{}", report::layers_table(&outcomes));
    }
    let failed: Vec<_> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    for o in &failed {
        if let Err(why) = &o.result {
            eprintln!("error: layer {}: {why} (log: {})", o.name, o.log.display());
        }
    }
    let code = if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    Ok((code, Some(json)))
}

async fn destroy(runtime: &Runtime, args: ClusterArgs, yes: bool) -> Result<ExitCode> {
    let session = open(runtime, &args).await?;
    session.validate().await?;
    let nodes = session.find_cluster_nodes().await?;
    if nodes.is_empty() {
        println!(
            "No node carries the label of cluster `{}`.",
            session.config.cluster.name
        );
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("These nodes will be deleted:");
    for (provider, n) in &nodes {
        eprintln!(
            "  - {} ({provider} {})",
            report::clean(&n.name),
            report::clean(&n.provider_id)
        );
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("refusing to delete without confirmation: pass --yes (stdin is not a terminal)");
        }
        eprint!("Delete {} node(s)? Type `yes` to confirm: ", nodes.len());
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .context("reading the confirmation")?;
        if answer.trim() != "yes" {
            bail!("not confirmed; nothing was deleted");
        }
    }
    let outcomes = session.destroy(nodes).await;
    let failures = report::failures(&outcomes);
    for o in &outcomes {
        if o.result.is_ok() {
            println!("deleted {} ({})", report::clean(&o.name), o.provider);
        }
    }
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for f in &failures {
            eprintln!("error: {f}");
        }
        Ok(ExitCode::FAILURE)
    }
}

async fn inspect(runtime: &Runtime, file: PathBuf, json: bool) -> Result<ExitCode> {
    let limits = tazhost::config::Limits::default();
    let plugin = runtime.load(&file, None, &limits, LogSink::Tracing).await?;
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report::plugin_json(&plugin, size))?
        );
    } else {
        print!("{}", report::plugin_text(&plugin, size));
    }
    Ok(ExitCode::SUCCESS)
}

async fn secrets(archives: Archives, cmd: SecretsCommand) -> Result<ExitCode> {
    let limits = FolderLimits::default();
    let params = KdfParams::default();
    let at = ArchiveLocation::parse;
    match cmd {
        SecretsCommand::Seal {
            dir,
            to,
            force,
            legacy,
            passphrase,
        } => {
            let out = at(&to)?;
            if legacy {
                files::seal_legacy(&archives, &dir, &out, &passphrase.source(), force).await?;
                eprintln!("sealed {} into {out} (legacy TazPod format)", dir.display());
            } else {
                let size =
                    files::seal(&archives, &dir, &out, &passphrase.source(), params, force).await?;
                eprintln!("sealed {} into {out} ({size} bytes)", dir.display());
            }
        }
        SecretsCommand::Open {
            archive,
            into,
            allow_disk,
            passphrase,
        } => {
            let folder = files::open(
                &archives,
                &at(&archive)?,
                &passphrase.source(),
                &limits,
                Contents::Keep,
            )
            .await?;
            let written = folder
                .write_into(&into, allow_disk)
                .map_err(files::FilesError::from)?;
            eprintln!("opened {written} file(s) into {}", into.display());
        }
        SecretsCommand::List {
            archive,
            passphrase,
        } => {
            let folder = files::open(
                &archives,
                &at(&archive)?,
                &passphrase.source(),
                &limits,
                Contents::SizesOnly,
            )
            .await?;
            let mut total = 0;
            for (name, file) in &folder.files {
                total += file.size();
                println!(
                    "{:>8}  {:04o}  {}",
                    file.size(),
                    file.mode,
                    report::clean(name)
                );
            }
            for (name, target) in &folder.symlinks {
                println!(
                    "{:>8}  link  {} -> {}",
                    "-",
                    report::clean(name),
                    report::clean(target)
                );
            }
            eprintln!(
                "{} file(s), {total} bytes; archive verified",
                folder.files.len()
            );
        }
        SecretsCommand::Rekey {
            archive,
            to,
            passphrase,
            new_passphrase,
        } => {
            let archive = at(&archive)?;
            let out = to.as_deref().map(at).transpose()?;
            files::rekey(
                &archives,
                &archive,
                out.as_ref(),
                &passphrase.source(),
                &new_passphrase.source(),
                params,
            )
            .await?;
            eprintln!("rekeyed {}", out.as_ref().unwrap_or(&archive));
        }
        SecretsCommand::Audit {
            path,
            archive,
            no_history,
            passphrase,
        } => {
            let folder = files::open(
                &archives,
                &at(&archive)?,
                &passphrase.source(),
                &limits,
                Contents::Keep,
            )
            .await?;
            return audit(&path, &folder, !no_history).await;
        }
        SecretsCommand::Copy { from, to, force } => {
            let (from, to) = (at(&from)?, at(&to)?);
            let bytes = files::copy(&archives, &from, &to, force).await?;
            eprintln!("copied {from} to {to} ({bytes} bytes)");
        }
        SecretsCommand::Convert {
            archive,
            to,
            force,
            passphrase,
            new_passphrase,
        } => {
            let new = new_passphrase.given().then(|| new_passphrase.source());
            let (archive, out) = (at(&archive)?, at(&to)?);
            files::convert(
                &archives,
                &archive,
                &out,
                &passphrase.source(),
                new.as_ref(),
                params,
                &limits,
                force,
            )
            .await?;
            eprintln!("converted {archive} into {out}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Exit status of `secrets audit` when a value was found.
const AUDIT_FOUND: u8 = 3;

async fn audit(
    path: &std::path::Path,
    folder: &tazhost::archive::SecretFolder,
    history: bool,
) -> Result<ExitCode> {
    let needles = tazhost::audit::Needles::from_folder(folder);
    let started = std::time::Instant::now();
    let root = path.to_path_buf();
    let report = tokio::task::block_in_place(|| tazhost::audit::audit(&root, &needles, history))?;
    for hit in &report.hits {
        println!("{hit}");
    }
    for skipped in &report.skipped {
        eprintln!("skipped {}", report::clean(skipped));
    }
    if !needles.too_short.is_empty() {
        eprintln!(
            "not searched (shorter than {} bytes): {}",
            tazhost::audit::needles::MIN_LEN,
            report::clean(&needles.too_short.join(", "))
        );
    }
    if let Some(note) = &report.history_note {
        eprintln!("{note}");
    }
    let secrets = folder.files.len() - needles.too_short.len();
    eprintln!(
        "audit: {} secret(s) in {} form(s); {} file(s) and {} history blob(s), {:.1} MiB in {:.2} s: {}",
        secrets,
        needles.list.len(),
        report.files,
        report.blobs,
        report.bytes as f64 / f64::from(1 << 20),
        started.elapsed().as_secs_f64(),
        if report.hits.is_empty() {
            "clean".to_string()
        } else {
            format!("{} hit(s)", report.hits.len())
        }
    );
    Ok(if report.hits.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(AUDIT_FOUND)
    })
}

async fn vault(addr: Option<String>, archives: Archives, cmd: VaultCommand) -> Result<ExitCode> {
    use tazhost::caps::vault::{self, VaultClient, snapshot};
    let client = || VaultClient::from_env(addr.as_deref());
    match cmd {
        VaultCommand::Status { json } => {
            let client = client()?;
            let health = client.health().await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "addr": client.addr(),
                        "state": health.state(),
                        "initialized": health.initialized,
                        "sealed": health.sealed,
                        "standby": health.standby,
                        "version": health.version,
                        "cluster_name": health.cluster_name,
                        "cluster_id": health.cluster_id,
                    })
                );
            } else {
                println!(
                    "{}: {} (version {}{})",
                    client.addr(),
                    health.state(),
                    report::clean(&health.version),
                    health
                        .cluster_name
                        .as_deref()
                        .map(|n| format!(", cluster {}", report::clean(n)))
                        .unwrap_or_default()
                );
            }
            Ok(if health.sealed {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        VaultCommand::Unseal { archive } => {
            let folder = archive.open(&archives).await?;
            let client = archive.client(addr.as_deref(), Some(&folder))?;
            let keys = archive.keys(&folder)?;
            drop(folder);
            let outcome = vault::unseal(&client, &keys, &archive.key_name).await?;
            if outcome.was_sealed {
                eprintln!(
                    "{}: unsealed with {} key(s) from the archive; now {}",
                    client.addr(),
                    outcome.keys_submitted,
                    outcome.health.state()
                );
            } else {
                eprintln!(
                    "{}: already unsealed ({})",
                    client.addr(),
                    outcome.health.state()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        VaultCommand::Snapshot(SnapshotCommand::Verify {
            from,
            canary,
            bao,
            archive,
        }) => {
            let at = tazhost::caps::s3::S3Location::parse(&from)?;
            let binary = vault::throwaway::find_binary(bao.as_deref()).ok_or_else(|| {
                anyhow::anyhow!(
                    "no OpenBao or Vault binary to verify with: pass --bao FILE, set TAZHOST_BAO, or put `bao` or `vault` on the PATH"
                )
            })?;
            let canary = canary
                .as_deref()
                .map(|c| {
                    c.split_once('/')
                        .filter(|(m, p)| !m.is_empty() && !p.is_empty())
                        .ok_or_else(|| {
                            anyhow::anyhow!(
                                "--canary must be MOUNT/PATH, e.g. secret/tazlab-k8s/bootstrap"
                            )
                        })
                })
                .transpose()?;
            let folder = archive.open(&archives).await?;
            let keys = archive.keys(&folder)?;
            let token = archive.token(&folder)?;
            drop(folder);
            let verifying = snapshot::verify(
                &binary,
                archives.store().await,
                &at,
                &keys,
                &archive.key_name,
                &token,
                canary,
            );
            // Ctrl-C or SIGTERM drops the verification, whose throwaway server is then
            // stopped and its data (the restored secrets) deleted.
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            let verified = tokio::select! {
                result = verifying => result?,
                _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted: the throwaway server was stopped and its data deleted"),
                _ = term.recv() => anyhow::bail!("terminated: the throwaway server was stopped and its data deleted"),
            };
            eprintln!(
                "verified {} ({} bytes): it restores into a fresh server, the archive's {} key(s) unseal it and its token works{}",
                verified.restored.location,
                verified.restored.size,
                verified.restored.keys_used,
                match (verified.canary_fields, canary) {
                    (Some(n), Some((mount, path))) =>
                        format!("; canary {mount}/{path}: {n} field(s)"),
                    _ => String::new(),
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        VaultCommand::Snapshot(SnapshotCommand::Push { to, keep, archive }) => {
            let prefix = tazhost::caps::s3::S3Location::parse(&to)?;
            let env_token = std::env::var("VAULT_TOKEN").ok().filter(|t| !t.is_empty());
            // The archive is opened only if the token or the CA comes from it.
            let folder = if env_token.is_none() || archive.ca_name.is_some() {
                Some(archive.open(&archives).await?)
            } else {
                None
            };
            let client = archive.client(addr.as_deref(), folder.as_ref())?;
            let token = match (env_token, &folder) {
                (Some(t), _) => tazhost::secrets::SecretValue::new(t),
                (None, Some(folder)) => archive.token(folder)?,
                (None, None) => unreachable!("opened above when there is no VAULT_TOKEN"),
            };
            drop(folder);
            let pushed =
                snapshot::push(&client, &token, archives.store().await, &prefix, keep).await?;
            eprintln!(
                "pushed {} ({} bytes, sha256 {}) and {}",
                pushed.location,
                pushed.size,
                pushed.sha256,
                snapshot::LATEST
            );
            for old in &pushed.deleted {
                eprintln!("deleted {old} (beyond --keep)");
            }
            Ok(ExitCode::SUCCESS)
        }
        VaultCommand::Restore { from, archive } => {
            let at = tazhost::caps::s3::S3Location::parse(&from)?;
            let folder = archive.open(&archives).await?;
            let client = archive.client(addr.as_deref(), Some(&folder))?;
            let keys = archive.keys(&folder)?;
            let token = archive.token(&folder)?;
            drop(folder);
            let restored = snapshot::restore(
                &client,
                archives.store().await,
                &at,
                &keys,
                &archive.key_name,
                &token,
            )
            .await?;
            eprintln!(
                "restored {} ({} bytes) into {}; unsealed with {} of the old cluster's keys; its token works",
                restored.location,
                restored.size,
                client.addr(),
                restored.keys_used
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
