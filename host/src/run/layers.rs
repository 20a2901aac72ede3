//! Running the `[[layers]]` DAG: each layer once its dependencies succeeded, independent ones in
//! parallel, each in its own process group with only the secrets granted to it, its output
//! redacted into a log file of its own.

use crate::config::LayerConfig;
use crate::secrets::{Redactor, SecretSet};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// How one layer ended.
#[derive(Debug, Clone)]
pub struct LayerOutcome {
    /// Layer name.
    pub name: String,
    /// When it started, relative to the start of all layers (`None`: it never ran).
    pub started: Option<Duration>,
    /// How long it ran, retries included.
    pub duration: Duration,
    /// Attempts made.
    pub attempts: u32,
    /// `Ok`, or why it failed or did not run (never a secret: its output is in the log).
    pub result: Result<(), String>,
    /// Its log (redacted).
    pub log: PathBuf,
}

/// Run every layer; returns one outcome per layer, in completion order.
pub async fn run_layers(
    layers: &[LayerConfig],
    secrets: &SecretSet,
    redactor: &Redactor,
    log_dir: &Path,
) -> std::io::Result<Vec<LayerOutcome>> {
    create_private_dir(log_dir)?;
    let t0 = Instant::now();
    // Settled layers: `true` succeeded, `false` failed or was skipped.
    let mut settled: BTreeMap<&str, bool> = BTreeMap::new();
    let mut started: Vec<&str> = Vec::new();
    let mut outcomes = Vec::new();
    let mut running = FuturesUnordered::new();
    loop {
        // Skip what depends on a failure (which may make more skippable), start what is ready.
        let mut changed = true;
        while changed {
            changed = false;
            for layer in layers {
                let name = layer.name.as_str();
                if settled.contains_key(name) || started.contains(&name) {
                    continue;
                }
                if let Some(dep) = layer
                    .depends_on
                    .iter()
                    .find(|d| settled.get(d.as_str()) == Some(&false))
                {
                    outcomes.push(LayerOutcome {
                        name: layer.name.clone(),
                        started: None,
                        duration: Duration::ZERO,
                        attempts: 0,
                        result: Err(format!("not run: `{dep}` did not succeed")),
                        log: log_dir.join(format!("{name}.log")),
                    });
                    settled.insert(name, false);
                    changed = true;
                } else if layer
                    .depends_on
                    .iter()
                    .all(|d| settled.get(d.as_str()) == Some(&true))
                {
                    started.push(name);
                    let log = log_dir.join(format!("{name}.log"));
                    running.push(run_layer(layer, secrets, redactor, log, t0));
                }
            }
        }
        let Some(outcome) = running.next().await else {
            break;
        };
        let name = started
            .iter()
            .copied()
            .find(|n| *n == outcome.name)
            .expect("an outcome belongs to a started layer");
        settled.insert(name, outcome.result.is_ok());
        started.retain(|n| *n != name);
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// One layer, with its retries.
async fn run_layer(
    layer: &LayerConfig,
    secrets: &SecretSet,
    redactor: &Redactor,
    log: PathBuf,
    t0: Instant,
) -> LayerOutcome {
    let start = Instant::now();
    let mut attempts = 0;
    let mut result = Err("never started".to_string());
    for attempt in 0..=layer.retries {
        attempts += 1;
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(u64::from(attempt).min(10))).await;
        }
        result = run_once(layer, secrets, redactor, &log, attempt + 1).await;
        if result.is_ok() {
            break;
        }
    }
    LayerOutcome {
        name: layer.name.clone(),
        started: Some(start.duration_since(t0)),
        duration: start.elapsed(),
        attempts,
        result,
        log,
    }
}

/// One attempt: spawn, copy redacted output to the log, wait with the timeout.
async fn run_once(
    layer: &LayerConfig,
    secrets: &SecretSet,
    redactor: &Redactor,
    log: &Path,
    attempt: u32,
) -> Result<(), String> {
    let mut file = open_private_append(log)
        .await
        .map_err(|e| format!("cannot write its log {}: {e}", log.display()))?;
    let _ = file
        .write_all(format!("=== {} attempt {attempt}\n", layer.name).as_bytes())
        .await;
    let mut cmd = tokio::process::Command::new(&layer.run[0]);
    cmd.args(&layer.run[1..])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TAZHOST_LAYER", &layer.name)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = &layer.dir {
        cmd.current_dir(dir);
    }
    for (var, secret) in &layer.env {
        let value = secrets
            .get(secret)
            .ok_or_else(|| format!("secret `{secret}` has no value in this run"))?;
        cmd.env(var, value.expose());
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", layer.run[0]))?;
    let pgid = child.id();
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(256);
    for (stream, tag) in [
        (
            Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            "out",
        ),
        (Box::new(stderr), "err"),
    ] {
        let tx = tx.clone();
        let redactor = redactor.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx
                    .send(format!("[{tag}] {}\n", redactor.redact(&line)))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
    }
    drop(tx);
    let copy = async {
        while let Some(line) = rx.recv().await {
            let _ = file.write_all(line.as_bytes()).await;
        }
        let _ = file.flush().await;
    };
    let timeout = Duration::from_secs(layer.timeout_s);
    let wait = async {
        let (status, ()) = tokio::join!(child.wait(), copy);
        status
    };
    match tokio::time::timeout(timeout, wait).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(match status.code() {
            Some(code) => format!("exited with status {code}"),
            None => "was killed by a signal".to_string(),
        }),
        Ok(Err(e)) => Err(format!("could not be waited for: {e}")),
        Err(_) => {
            kill_group(pgid);
            Err(format!(
                "timed out after {} s and was stopped",
                layer.timeout_s
            ))
        }
    }
}

/// SIGKILL the layer's whole process group (the command and whatever it started).
fn kill_group(pgid: Option<u32>) {
    if let Some(pgid) = pgid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) on a process group this run created; no memory is involved.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

async fn open_private_append(path: &Path) -> std::io::Result<tokio::fs::File> {
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .await
}
