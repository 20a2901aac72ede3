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
    let wrong = vault(
        &ours,
        &[
            "unseal",
            "--archive",
            archive.to_str().unwrap(),
            "--passphrase-file",
            pass.to_str().unwrap(),
        ],
        &secrets,
    );
    assert!(!wrong.status.success());
    let text = output_text(&wrong);
    assert!(text.contains("Vault refused the unseal keys"), "{text}");
    assert!(text.contains("nothing changed"), "{text}");
    let status = ours.call("GET", "/v1/sys/seal-status", None, None).json();
    assert_eq!(status["sealed"], true);
    assert_eq!(status["progress"], 0, "progress was reset");

    let few_dir = tempfile::tempdir().unwrap();
    let (few, few_pass) = archive_with(few_dir.path(), &our_keys[..2]);
    let too_few = vault(
        &ours,
        &[
            "unseal",
            "--archive",
            few.to_str().unwrap(),
            "--passphrase-file",
            few_pass.to_str().unwrap(),
        ],
        &secrets,
    );
    assert!(!too_few.status.success());
    assert!(
        output_text(&too_few).contains("needs 3 unseal keys and the archive holds 2"),
        "{}",
        output_text(&too_few)
    );
    let status = ours.call("GET", "/v1/sys/seal-status", None, None).json();
    assert_eq!(status["progress"], 0, "nothing was submitted");

    let empty = OpenBao::start();
    let uninit = vault(
        &empty,
        &[
            "unseal",
            "--archive",
            archive.to_str().unwrap(),
            "--passphrase-file",
            pass.to_str().unwrap(),
        ],
        &secrets,
    );
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
