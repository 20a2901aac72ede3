//! Restore from S3 into an empty OpenBao, timed against the same steps by hand with the `bao`
//! CLI and `aws s3 cp`, in one run: pull the snapshot, initialize and unseal the empty server,
//! force-load the snapshot, wait for the seal, unseal with the old keys, first read.
//!
//! Run with `cargo bench -p tazhost --bench vault` after `scripts/test` has made the venv
//! (OpenBao, SeaweedFS, awscli). Both sides wait the ~5.6 s OpenBao takes to seal after a
//! forced restore, so the ratio measures everything around that wait.

#[path = "../../tests/all/support/http.rs"]
#[allow(dead_code)]
mod http;
#[path = "../../tests/all/support/openbao.rs"]
#[allow(dead_code)]
mod openbao;
#[path = "../../tests/all/support/process.rs"]
mod process;
#[path = "../../tests/all/support/s3server.rs"]
#[allow(dead_code)]
mod s3server;

use openbao::OpenBao;
use s3server::S3Server;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let venv = workspace().join(".venv/bin");
    let s3 = S3Server::start();
    let aws = |args: &[&str]| {
        let mut c = Command::new(venv.join("aws"));
        c.arg("--endpoint-url")
            .arg(s3.endpoint())
            .args(args)
            .envs(s3.client_env());
        c
    };
    run(&mut aws(&["s3", "mb", "s3://bench"]));
    let old = OpenBao::start_unsealed();
    old.kv_put(
        "tazlab-k8s/bootstrap",
        r#"{"GITHUB_TOKEN":"bench-not-secret"}"#,
    );
    let keys = old.keys.clone().unwrap();
    let work = tempfile::tempdir().unwrap();
    let secrets = work.path().join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    for (i, k) in keys.keys_b64.iter().enumerate() {
        std::fs::write(secrets.join(format!("vault-unseal-key-{}", i + 1)), k).unwrap();
    }
    std::fs::write(secrets.join("vault-root-token"), &keys.root_token).unwrap();
    let pass = work.path().join("pass");
    std::fs::write(&pass, "bench passphrase").unwrap();
    let archive = work.path().join("a.taz");
    let tazhost = env!("CARGO_BIN_EXE_tazhost");
    run(Command::new(tazhost)
        .args(["secrets", "seal"])
        .arg(&secrets)
        .arg("--to")
        .arg(&archive)
        .arg("--passphrase-file")
        .arg(&pass));
    run(Command::new(tazhost)
        .args([
            "vault",
            "--addr",
            &old.addr(),
            "snapshot",
            "push",
            "s3://bench/vault",
        ])
        .arg("--archive")
        .arg(&archive)
        .arg("--passphrase-file")
        .arg(&pass)
        .envs(s3.client_env()));
    drop(old);

    // Ours: one command, then the first read.
    let fresh = OpenBao::start();
    let start = Instant::now();
    run(Command::new(tazhost)
        .args([
            "vault",
            "--addr",
            &fresh.addr(),
            "restore",
            "s3://bench/vault",
        ])
        .arg("--archive")
        .arg(&archive)
        .arg("--passphrase-file")
        .arg(&pass)
        .envs(s3.client_env()));
    let read = fresh.call(
        "GET",
        "/v1/secret/data/tazlab-k8s/bootstrap",
        Some(&keys.root_token),
        None,
    );
    assert_eq!(read.status, 200);
    let ours = start.elapsed();
    drop(fresh);

    // By hand: aws s3 cp, then the bao CLI for every step.
    let fresh = OpenBao::start();
    let bao = |args: &[&str], token: Option<&str>| {
        let mut c = Command::new(venv.join("bao"));
        c.args(args)
            .env("BAO_ADDR", fresh.addr())
            .env_remove("VAULT_ADDR");
        if let Some(t) = token {
            c.env("BAO_TOKEN", t);
        }
        c
    };
    let snap = work.path().join("latest.snap");
    let start = Instant::now();
    run(&mut aws(&[
        "s3",
        "cp",
        "--only-show-errors",
        "s3://bench/vault/vault-latest.snap",
        snap.to_str().unwrap(),
    ]));
    let init: serde_json::Value = serde_json::from_str(&run(&mut bao(
        &[
            "operator",
            "init",
            "-key-shares=5",
            "-key-threshold=3",
            "-format=json",
        ],
        None,
    )))
    .unwrap();
    let temp_keys: Vec<String> = init["unseal_keys_b64"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let temp_token = init["root_token"].as_str().unwrap().to_string();
    for k in &temp_keys[..3] {
        run(&mut bao(&["operator", "unseal", k], None));
    }
    while fresh.health() != 200 {
        std::thread::sleep(Duration::from_millis(50));
    }
    run(&mut bao(
        &[
            "operator",
            "raft",
            "snapshot",
            "restore",
            "-force",
            snap.to_str().unwrap(),
        ],
        Some(&temp_token),
    ));
    while fresh.health() != 503 {
        std::thread::sleep(Duration::from_millis(100));
    }
    for k in &keys.keys_b64[..3] {
        run(&mut bao(&["operator", "unseal", k], None));
    }
    while fresh.health() != 200 {
        std::thread::sleep(Duration::from_millis(50));
    }
    run(&mut bao(
        &["kv", "get", "-mount=secret", "tazlab-k8s/bootstrap"],
        Some(&keys.root_token),
    ));
    let by_hand = start.elapsed();

    println!("restore from S3 into an empty OpenBao, through the first read:");
    println!(
        "  tazhost vault restore          {:>6.2} s",
        ours.as_secs_f64()
    );
    println!(
        "  aws s3 cp + bao CLI by hand    {:>6.2} s",
        by_hand.as_secs_f64()
    );
    println!(
        "  ratio (ours / by hand): {:.2}x (goal <= 1.0)",
        ours.as_secs_f64() / by_hand.as_secs_f64()
    );
}
