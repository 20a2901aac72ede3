//! `tazhost vault` against real OpenBao servers (raft storage): status in every state, and
//! unsealing with the Shamir keys kept in the archive; another cluster's keys, too few keys
//! and an uninitialized server are refused with nothing changed, and no key is ever printed.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Output;

const PASSPHRASE: &str = "vault test passphrase 3a9f";

/// An archive holding `keys` as vault/vault-unseal-key-N, and its passphrase file.
fn archive_with(dir: &Path, keys: &[String]) -> (PathBuf, PathBuf) {
    let secrets = dir.join("secrets/vault");
    std::fs::create_dir_all(&secrets).unwrap();
    for (i, key) in keys.iter().enumerate() {
        std::fs::write(
            secrets.join(format!("vault-unseal-key-{}", i + 1)),
            format!("{key}\n"),
        )
        .unwrap();
    }
    let pass = dir.join("pass");
    std::fs::write(&pass, PASSPHRASE).unwrap();
    let archive = dir.join("archive.taz");
    let out = tazhost()
        .args(["secrets", "seal"])
        .arg(dir.join("secrets"))
        .arg("--to")
        .arg(&archive)
        .arg("--passphrase-file")
        .arg(&pass)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    std::fs::remove_dir_all(dir.join("secrets")).unwrap();
    (archive, pass)
}

fn vault(bao: &OpenBao, args: &[&str], secrets: &[&str]) -> Output {
    let out = tazhost()
        .arg("vault")
        .arg("--addr")
        .arg(bao.addr())
        .args(args)
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_TOKEN")
        .output()
        .unwrap();
    let text = output_text(&out);
    for secret in secrets.iter().chain([&PASSPHRASE]) {
        assert!(!text.contains(secret), "a secret was printed:\n{text}");
    }
    out
}

/// `tazhost vault unseal` with the keys in `archive`.
fn unseal_from(bao: &OpenBao, archive: &Path, pass: &Path, secrets: &[&str]) -> Output {
    vault(
        bao,
        &[
            "unseal",
            "--archive",
            archive.to_str().unwrap(),
            "--passphrase-file",
            pass.to_str().unwrap(),
        ],
        secrets,
    )
}

#[test]
fn unseal_uses_the_archives_keys_and_status_tells_every_state() {
    let bao = OpenBao::start_unsealed();
    let keys = bao.keys.clone().unwrap();
    let secrets: Vec<&str> = keys
        .keys_b64
        .iter()
        .map(String::as_str)
        .chain([keys.root_token.as_str()])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (archive, pass) = archive_with(dir.path(), &keys.keys_b64);
    let (archive, pass) = (archive.to_str().unwrap(), pass.to_str().unwrap());

    let status = vault(&bao, &["status"], &secrets);
    assert_eq!(status.status.code(), Some(0), "{}", output_text(&status));
    assert!(String::from_utf8_lossy(&status.stdout).contains(": active (version"));

    bao.seal();
    let sealed = vault(&bao, &["status", "--json"], &secrets);
    assert_eq!(sealed.status.code(), Some(2), "{}", output_text(&sealed));
    let json: serde_json::Value = serde_json::from_slice(&sealed.stdout).unwrap();
    assert_eq!(json["state"], "sealed");

    let unseal = vault(
        &bao,
        &["unseal", "--archive", archive, "--passphrase-file", pass],
        &secrets,
    );
    assert!(unseal.status.success(), "{}", output_text(&unseal));
    assert!(
        output_text(&unseal).contains("unsealed with 3 key(s) from the archive; now active"),
        "{}",
        output_text(&unseal)
    );
    assert_eq!(bao.health(), 200);

    let again = vault(
        &bao,
        &["unseal", "--archive", archive, "--passphrase-file", pass],
        &secrets,
    );
    assert!(again.status.success());
    assert!(output_text(&again).contains("already unsealed (active)"));
}

#[test]
fn wrong_or_too_few_keys_and_an_empty_server_are_refused_and_change_nothing() {
    let ours = OpenBao::start_unsealed();
    let theirs = OpenBao::start_unsealed();
    let our_keys = ours.keys.clone().unwrap().keys_b64;
    let their_keys = theirs.keys.clone().unwrap().keys_b64;
    let secrets: Vec<&str> = our_keys
        .iter()
        .chain(&their_keys)
        .map(String::as_str)
        .collect();
    ours.seal();

    let dir = tempfile::tempdir().unwrap();
    let (archive, pass) = archive_with(dir.path(), &their_keys);
    let wrong = unseal_from(&ours, &archive, &pass, &secrets);
    assert!(!wrong.status.success());
    let text = output_text(&wrong);
    assert!(text.contains("Vault refused the unseal keys"), "{text}");
    assert!(text.contains("nothing changed"), "{text}");
    let status = ours.call("GET", "/v1/sys/seal-status", None, None).json();
    assert_eq!(status["sealed"], true);
    assert_eq!(status["progress"], 0, "progress was reset");

    let few_dir = tempfile::tempdir().unwrap();
    let (few, few_pass) = archive_with(few_dir.path(), &our_keys[..2]);
    let too_few = unseal_from(&ours, &few, &few_pass, &secrets);
    assert!(!too_few.status.success());
    assert!(
        output_text(&too_few).contains("needs 3 unseal keys and the archive holds 2"),
        "{}",
        output_text(&too_few)
    );
    let status = ours.call("GET", "/v1/sys/seal-status", None, None).json();
    assert_eq!(status["progress"], 0, "nothing was submitted");

    let empty = OpenBao::start();
    let uninit = unseal_from(&empty, &archive, &pass, &secrets);
    assert!(!uninit.status.success());
    assert!(
        output_text(&uninit).contains("is not initialized"),
        "{}",
        output_text(&uninit)
    );
    let status = vault(&empty, &["status"], &secrets);
    assert_eq!(status.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&status.stdout).contains("uninitialized"));

    let down = tazhost()
        .args(["vault", "--addr", "http://127.0.0.1:9", "status"])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(1));
    assert!(
        output_text(&down).contains("unreachable"),
        "{}",
        output_text(&down)
    );
}

/// An archive holding `bao`'s keys and root token (as the seeds lay them out).
fn cluster_archive(dir: &Path, bao: &OpenBao) -> (PathBuf, PathBuf) {
    let keys = bao.keys.clone().unwrap();
    let (archive, pass) = {
        let secrets = dir.join("secrets/vault");
        std::fs::create_dir_all(&secrets).unwrap();
        std::fs::write(secrets.join("vault-root-token"), &keys.root_token).unwrap();
        archive_with(dir, &keys.keys_b64)
    };
    (archive, pass)
}

fn aws(s3: &S3Server, args: &[&str]) -> Output {
    std::process::Command::new(workspace().join(".venv/bin/aws"))
        .arg("--endpoint-url")
        .arg(s3.endpoint())
        .args(args)
        .envs(s3.client_env())
        .output()
        .unwrap()
}

fn with_s3(s3: &S3Server, bao: &OpenBao, args: &[&str], secrets: &[&str]) -> Output {
    let out = tazhost()
        .arg("vault")
        .arg("--addr")
        .arg(bao.addr())
        .args(args)
        .envs(s3.client_env())
        .env_remove("VAULT_TOKEN")
        // Every log on: no key or token may show even at trace level.
        .env("TAZHOST_LOG", "trace")
        .output()
        .unwrap();
    let text = output_text(&out);
    for secret in secrets.iter().chain([&PASSPHRASE]) {
        assert!(!text.contains(secret), "a secret was printed:\n{text}");
    }
    out
}

/// The throwaway servers' folders in the temp dir.
fn throwaway_dirs() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("tazhost-verify-"))
        .collect();
    names.sort();
    names
}

#[test]
fn burn_and_rebuild_restores_the_snapshot_and_the_old_token_reads_the_bootstrap() {
    let s3 = S3Server::start();
    assert!(
        aws(&s3, &["s3", "mb", "s3://tazlab-backup"])
            .status
            .success()
    );
    let old = OpenBao::start_unsealed();
    old.kv_put(
        "tazlab-k8s/bootstrap",
        r#"{"GITHUB_TOKEN":"ghp_restoreCheck123","TALOS_SECRETBOX_KEY":"c2VjcmV0Ym94"}"#,
    );
    let keys = old.keys.clone().unwrap();
    let secrets: Vec<&str> = keys
        .keys_b64
        .iter()
        .map(String::as_str)
        .chain([keys.root_token.as_str(), "ghp_restoreCheck123"])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (archive, pass) = cluster_archive(dir.path(), &old);
    let archive_args = [
        "--archive",
        archive.to_str().unwrap(),
        "--passphrase-file",
        pass.to_str().unwrap(),
    ];
    let mut push = vec!["snapshot", "push", "s3://tazlab-backup/vault"];
    push.extend(archive_args);
    let pushed = with_s3(&s3, &old, &push, &secrets);
    assert!(pushed.status.success(), "{}", output_text(&pushed));

    // The snapshot is proven restorable in a throwaway server, which is gone afterwards.
    let bao_bin = workspace().join(".venv/bin/bao");
    let mut verify = vec![
        "snapshot",
        "verify",
        "s3://tazlab-backup/vault",
        "--canary",
        "secret/tazlab-k8s/bootstrap",
        "--bao",
        bao_bin.to_str().unwrap(),
    ];
    verify.extend(archive_args);
    let before = throwaway_dirs();
    let verified = with_s3(&s3, &old, &verify, &secrets);
    assert!(verified.status.success(), "{}", output_text(&verified));
    assert!(
        output_text(&verified).contains("canary secret/tazlab-k8s/bootstrap: 2 field(s)"),
        "{}",
        output_text(&verified)
    );
    assert_eq!(
        throwaway_dirs(),
        before,
        "the throwaway server's data was deleted"
    );

    // Burn: the server and its data are gone.
    drop(old);
    let fresh = OpenBao::start();
    let mut restore = vec!["restore", "s3://tazlab-backup/vault"];
    restore.extend(archive_args);
    let restored = with_s3(&s3, &fresh, &restore, &secrets);
    assert!(
        restored.status.success(),
        "{}\n{}",
        output_text(&restored),
        fresh.log()
    );
    assert!(output_text(&restored).contains("its token works"));
    let read = fresh.call(
        "GET",
        "/v1/secret/data/tazlab-k8s/bootstrap",
        Some(&keys.root_token),
        None,
    );
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(
        read.json()["data"]["data"]["GITHUB_TOKEN"],
        "ghp_restoreCheck123"
    );

    // A second restore into the now-initialized Vault is refused.
    let again = with_s3(&s3, &fresh, &restore, &secrets);
    assert!(!again.status.success());
    assert!(
        output_text(&again).contains("already initialized"),
        "{}",
        output_text(&again)
    );
}

#[test]
fn a_corrupt_snapshot_is_refused_before_vault_is_touched_and_retention_keeps_n() {
    let s3 = S3Server::start();
    assert!(
        aws(&s3, &["s3", "mb", "s3://tazlab-backup"])
            .status
            .success()
    );
    let bao = OpenBao::start_unsealed();
    let keys = bao.keys.clone().unwrap();
    let secrets: Vec<&str> = keys
        .keys_b64
        .iter()
        .map(String::as_str)
        .chain([keys.root_token.as_str()])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (archive, pass) = cluster_archive(dir.path(), &bao);
    let archive_args = [
        "--archive",
        archive.to_str().unwrap(),
        "--passphrase-file",
        pass.to_str().unwrap(),
    ];
    for _ in 0..4 {
        let mut push = vec![
            "snapshot",
            "push",
            "s3://tazlab-backup/vault",
            "--keep",
            "2",
        ];
        push.extend(archive_args);
        let out = with_s3(&s3, &bao, &push, &secrets);
        assert!(out.status.success(), "{}", output_text(&out));
    }
    let listing = aws(&s3, &["s3", "ls", "s3://tazlab-backup/vault/"]);
    let names: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect();
    let stamped = names.iter().filter(|n| n.starts_with("vault-2")).count();
    assert_eq!(stamped, 2, "{names:?}");
    assert!(
        names.contains(&"vault-latest.snap".to_string()),
        "{names:?}"
    );

    // Flip one byte of the latest snapshot, keeping its stored sha256.
    let local = dir.path().join("latest.snap");
    let get = aws(
        &s3,
        &[
            "s3api",
            "get-object",
            "--bucket",
            "tazlab-backup",
            "--key",
            "vault/vault-latest.snap",
            local.to_str().unwrap(),
        ],
    );
    assert!(get.status.success(), "{}", output_text(&get));
    let meta: serde_json::Value = serde_json::from_slice(&get.stdout).unwrap();
    let sha = meta["Metadata"]["sha256"].as_str().unwrap().to_string();
    let mut bytes = std::fs::read(&local).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&local, &bytes).unwrap();
    let put = aws(
        &s3,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "tazlab-backup",
            "--key",
            "vault/vault-latest.snap",
            "--body",
            local.to_str().unwrap(),
            "--metadata",
            &format!("sha256={sha}"),
        ],
    );
    assert!(put.status.success(), "{}", output_text(&put));

    let empty = OpenBao::start();
    let mut restore = vec!["restore", "s3://tazlab-backup/vault"];
    restore.extend(archive_args);
    let refused = with_s3(&s3, &empty, &restore, &secrets);
    assert!(!refused.status.success());
    let text = output_text(&refused);
    assert!(text.contains("does not match its sha256"), "{text}");
    assert!(text.contains("Vault was not touched"), "{text}");
    assert_eq!(empty.health(), 501, "still uninitialized");

    // An archive without the old keys is refused before the empty Vault is initialized.
    let keyless_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(keyless_dir.path().join("secrets")).unwrap();
    std::fs::write(
        keyless_dir.path().join("secrets/vault-root-token"),
        &keys.root_token,
    )
    .unwrap();
    let (keyless, keyless_pass) = archive_with(keyless_dir.path(), &[]);
    // The latest is the corrupted one: name a timestamped snapshot.
    let good = names.iter().find(|n| n.starts_with("vault-2")).unwrap();
    let good_key = format!("s3://tazlab-backup/vault/{good}");
    let restore = [
        "restore",
        good_key.as_str(),
        "--archive",
        keyless.to_str().unwrap(),
        "--passphrase-file",
        keyless_pass.to_str().unwrap(),
    ];
    let no_keys = with_s3(&s3, &empty, &restore, &secrets);
    assert!(!no_keys.status.success());
    assert!(
        output_text(&no_keys).contains("needs 2 unseal keys and the archive holds 0"),
        "{}",
        output_text(&no_keys)
    );
    assert_eq!(empty.health(), 501, "still uninitialized");
}

const HCLOUD: &str = "hz-vault-sourced-token-7e21";

/// A Hetzner cluster.toml whose token is a Vault bootstrap field, with the archive at `archive`.
fn vault_cluster(fake: &str, bao: &OpenBao, archive: &Path) -> ClusterDir {
    let toml = hetzner_cluster_toml(fake, &plugins().hetzner, 1).replace(
        r#"hcloud-token = { from = "env", var = "HCLOUD_TOKEN" }"#,
        &format!(
            "hcloud-token = {{ from = \"vault\", field = \"HCLOUD_TOKEN\" }}\n\n[vault]\naddr = \"{}\"\n\n[archive]\nlocation = \"{}\"",
            bao.addr(),
            archive.display()
        ),
    );
    let dir = ClusterDir::new(&toml);
    dir.write("controlplane.yaml", MACHINE_CONFIG);
    dir
}

async fn run_in(dir: &ClusterDir, pass: &Path, token: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = tazhost();
    cmd.args(args)
        .arg("-c")
        .arg(dir.path())
        .arg("--passphrase-file")
        .arg(pass)
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_TOKEN")
        .stdin(std::process::Stdio::null());
    if let Some(t) = token {
        cmd.env("VAULT_TOKEN", t);
    }
    let out = tokio::process::Command::from(cmd).output().await.unwrap();
    assert!(!output_text(&out).contains(HCLOUD), "{}", output_text(&out));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_secrets_come_from_one_vault_read_with_the_archive_as_fallback() {
    use fakecloud::hetzner::{FakeHetzner, Options};
    let fake = FakeHetzner::start("127.0.0.1:0".parse().unwrap(), HCLOUD, Options::default())
        .await
        .unwrap();
    let mut bao = OpenBao::start_unsealed();
    bao.kv_put(
        "tazlab-k8s/bootstrap",
        &format!(r#"{{"HCLOUD_TOKEN":"{HCLOUD}","GITHUB_TOKEN":"ghp_unrelated"}}"#),
    );
    let dir = tempfile::tempdir().unwrap();
    {
        // The archive also keeps the field, for when Vault is down.
        let secrets = dir.path().join("secrets");
        std::fs::create_dir_all(&secrets).unwrap();
        std::fs::write(secrets.join("HCLOUD_TOKEN"), HCLOUD).unwrap();
    }
    let (archive, pass) = cluster_archive(dir.path(), &bao);
    let cluster = vault_cluster(&fake.base_url(), &bao, &archive);

    let run = run_in(&cluster, &pass, None, &["run"]).await;
    assert!(run.status.success(), "{}", output_text(&run));
    assert!(
        output_text(&run).contains("read 1 bootstrap field(s) from Vault in one request"),
        "{}",
        output_text(&run)
    );
    assert!(
        output_text(&run).contains(
            "no scoped `bootstrap-token.txt`: reading the bootstrap secret with the admin token"
        ),
        "{}",
        output_text(&run)
    );
    assert_eq!(fake.servers().len(), 1);

    // A short-lived token (renewable, may read the bootstrap path) is renewed before use.
    let policy = r#"{"policy":"path \"secret/data/tazlab-k8s/*\" { capabilities = [\"read\"] }"}"#;
    let put = bao.call(
        "PUT",
        "/v1/sys/policies/acl/bootstrap-read",
        Some(bao.root_token()),
        Some(policy),
    );
    assert_eq!(put.status, 204, "{}", put.text());
    let made = bao.call(
        "POST",
        "/v1/auth/token/create",
        Some(bao.root_token()),
        Some(r#"{"ttl":"10m","explicit_max_ttl":"48h","policies":["bootstrap-read"],"renewable":true}"#),
    );
    let child = made.json()["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    let plan = run_in(&cluster, &pass, Some(&child), &["plan"]).await;
    assert!(plan.status.success(), "{}", output_text(&plan));
    let ttl = bao
        .call("GET", "/v1/auth/token/lookup-self", Some(&child), None)
        .json()["data"]["ttl"]
        .as_u64()
        .unwrap();
    assert!(
        ttl > 3600,
        "renewed from 10 minutes to the cap allowed (48 h): {ttl} s left"
    );

    // A field Vault lacks is an error naming it (no silent fallback).
    cluster.write(
        "cluster.toml",
        &std::fs::read_to_string(cluster.path()).unwrap().replace(
            "addr = ",
            "fields = [\"HCLOUD_TOKEN\", \"PROXMOX_TOKEN_ID\"]\naddr = ",
        ),
    );
    let refused = run_in(&cluster, &pass, None, &["plan"]).await;
    assert!(!refused.status.success());
    assert!(
        output_text(&refused).contains("has no field(s) PROXMOX_TOKEN_ID"),
        "{}",
        output_text(&refused)
    );
    cluster.write(
        "cluster.toml",
        &std::fs::read_to_string(cluster.path())
            .unwrap()
            .replace("fields = [\"HCLOUD_TOKEN\", \"PROXMOX_TOKEN_ID\"]\n", ""),
    );

    // Vault gone: the same field comes from the archive, and the run says so.
    bao.stop();
    let fallback = run_in(&cluster, &pass, None, &["destroy", "--yes"]).await;
    assert!(fallback.status.success(), "{}", output_text(&fallback));
    assert!(
        output_text(&fallback).contains("come from the archive instead"),
        "{}",
        output_text(&fallback)
    );
    assert!(fake.servers().is_empty());
}

#[test]
fn tls_is_verified_with_the_ca_kept_in_the_archive() {
    let bao = OpenBao::start_unsealed_with_tls();
    let keys = bao.keys.clone().unwrap();
    let secrets: Vec<&str> = keys.keys_b64.iter().map(String::as_str).collect();
    let (https, ca_pem) = bao.tls_addr();
    let dir = tempfile::tempdir().unwrap();
    let secrets_dir = dir.path().join("secrets");
    std::fs::create_dir_all(&secrets_dir).unwrap();
    std::fs::write(secrets_dir.join("VAULT_CA_CRT"), &ca_pem).unwrap();
    let (archive, pass) = archive_with(dir.path(), &keys.keys_b64);
    bao.seal();

    let run = |args: &[&str]| {
        let out = tazhost()
            .args(["vault", "--addr", &https])
            .args(args)
            .env_remove("VAULT_CACERT")
            .env_remove("VAULT_TOKEN")
            .output()
            .unwrap();
        let text = output_text(&out);
        for s in secrets.iter().chain([&PASSPHRASE]) {
            assert!(!text.contains(s), "{text}");
        }
        out
    };
    // Without the CA, the self-signed certificate is refused.
    let untrusted = run(&["status"]);
    assert_eq!(untrusted.status.code(), Some(1));
    assert!(
        output_text(&untrusted).contains("TLS failed (is its CA trusted?"),
        "{}",
        output_text(&untrusted)
    );
    // With the archive's CA, the same server is reached and unsealed over TLS.
    let unseal = run(&[
        "unseal",
        "--archive",
        archive.to_str().unwrap(),
        "--passphrase-file",
        pass.to_str().unwrap(),
        "--ca-name",
        "VAULT_CA_CRT",
    ]);
    assert!(unseal.status.success(), "{}", output_text(&unseal));
    assert!(output_text(&unseal).contains(&format!("{https}: unsealed with 3 key(s)")));
    assert_eq!(bao.health(), 200);
}

#[test]
fn a_large_snapshot_streams_to_s3_in_parts_with_its_checksum() {
    use base64::Engine;
    use sha2::Digest;
    let s3 = S3Server::start();
    assert!(
        aws(&s3, &["s3", "mb", "s3://tazlab-backup"])
            .status
            .success()
    );
    let bao = OpenBao::start_unsealed();
    // About 16 MB of incompressible data in Vault (raft entries stay under 1 MiB each).
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..30 {
        let raw: Vec<u8> = (0..520_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        let blob = base64::engine::general_purpose::STANDARD.encode(raw);
        bao.kv_put(&format!("bulk/{i}"), &format!(r#"{{"blob":"{blob}"}}"#));
    }
    let keys = bao.keys.clone().unwrap();
    let out = tazhost()
        .args([
            "vault",
            "--addr",
            &bao.addr(),
            "snapshot",
            "push",
            "s3://tazlab-backup/vault",
        ])
        .envs(s3.client_env())
        .env("VAULT_TOKEN", &keys.root_token)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(!output_text(&out).contains(&keys.root_token));

    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("latest.snap");
    let get = aws(
        &s3,
        &[
            "s3api",
            "get-object",
            "--bucket",
            "tazlab-backup",
            "--key",
            "vault/vault-latest.snap",
            local.to_str().unwrap(),
        ],
    );
    assert!(get.status.success(), "{}", output_text(&get));
    let meta: serde_json::Value = serde_json::from_slice(&get.stdout).unwrap();
    let bytes = std::fs::read(&local).unwrap();
    assert!(
        bytes.len() > 8 << 20,
        "more than one 8 MiB part: {} bytes",
        bytes.len()
    );
    assert_eq!(
        meta["Metadata"]["sha256"].as_str().unwrap(),
        hex::encode(sha2::Sha256::digest(&bytes)),
        "the checksum stored is that of the bytes stored"
    );
}
