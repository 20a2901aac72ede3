//! Archives on a real S3 server (SeaweedFS, started per test): round trips with tazhost and the
//! AWS CLI, conditional writes between concurrent operators, and clear errors.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PASSPHRASE: &str = "s3 test passphrase 4c1d";
const VALUE: &str = "unseal-key-VALUE-on-s3-77aa";

struct Estate {
    s3: S3Server,
    dir: tempfile::TempDir,
}

impl Estate {
    fn new() -> Self {
        let s3 = S3Server::start();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("secrets/vault")).unwrap();
        std::fs::write(dir.path().join("secrets/vault/vault-unseal-key-1"), VALUE).unwrap();
        std::fs::write(dir.path().join("pass"), PASSPHRASE).unwrap();
        std::fs::write(dir.path().join("new-pass"), "another passphrase 9e").unwrap();
        let e = Self { s3, dir };
        let mb = e.aws(&["s3", "mb", "s3://tazlab-backup"]);
        assert!(mb.status.success(), "{}\n{}", output_text(&mb), e.s3.log());
        e
    }

    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn aws(&self, args: &[&str]) -> Output {
        let aws = workspace().join(".venv/bin/aws");
        assert!(
            aws.exists(),
            "awscli missing: scripts/test installs tests/sdk/requirements.txt"
        );
        Command::new(aws)
            .arg("--endpoint-url")
            .arg(self.s3.endpoint())
            .args(args)
            .envs(self.s3.client_env())
            .output()
            .unwrap()
    }

    fn tazhost(&self, args: &[&str]) -> Command {
        let mut cmd = tazhost();
        cmd.args(args).envs(self.s3.client_env());
        cmd
    }

    /// Seal the test folder to `to` with the test passphrase.
    fn seal_to(&self, to: &str) -> Output {
        let (secrets, pass) = (self.p("secrets"), self.p("pass"));
        self.run(&[
            "secrets",
            "seal",
            s(&secrets),
            "--to",
            to,
            "--passphrase-file",
            s(&pass),
        ])
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.tazhost(args).output().unwrap();
        let text = output_text(&out);
        for secret in [VALUE, PASSPHRASE, self.s3.secret_key()] {
            assert!(
                !text.contains(secret),
                "a secret reached the output of {args:?}:\n{text}"
            );
        }
        out
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const KEY: &str = "s3://tazlab-backup/tazpod/vault/vault.tar.aes";

#[test]
fn seal_to_s3_then_pull_and_open_and_the_aws_cli_agrees() {
    let e = Estate::new();
    let seal = e.seal_to(KEY);
    assert!(
        seal.status.success(),
        "{}\n{}",
        output_text(&seal),
        e.s3.log()
    );

    let shm = tempfile::tempdir_in("/dev/shm").unwrap();
    let into = shm.path().join("opened");
    let pull = e.run(&[
        "secrets",
        "pull",
        KEY,
        "--open",
        s(&into),
        "--passphrase-file",
        s(&e.p("pass")),
    ]);
    assert!(pull.status.success(), "{}", output_text(&pull));
    assert_eq!(
        std::fs::read_to_string(into.join("vault/vault-unseal-key-1")).unwrap(),
        VALUE
    );

    // The AWS CLI downloads exactly what tazhost uploaded: tazhost opens its copy.
    let copy = e.p("copy.tar.aes");
    let cp = e.aws(&["s3", "cp", KEY, s(&copy)]);
    assert!(cp.status.success(), "{}", output_text(&cp));
    assert!(std::fs::read(&copy).unwrap().starts_with(b"TAZHOSTA"));
    assert!(
        e.run(&[
            "secrets",
            "list",
            s(&copy),
            "--passphrase-file",
            s(&e.p("pass"))
        ])
        .status
        .success()
    );

    // And tazhost reads what the AWS CLI uploaded.
    let up = e.aws(&[
        "s3",
        "cp",
        s(&copy),
        "s3://tazlab-backup/other/copy.tar.aes",
    ]);
    assert!(up.status.success(), "{}", output_text(&up));
    let list = e.run(&[
        "secrets",
        "list",
        "s3://tazlab-backup/other/copy.tar.aes",
        "--passphrase-file",
        s(&e.p("pass")),
    ]);
    assert!(list.status.success(), "{}", output_text(&list));
    assert!(String::from_utf8_lossy(&list.stdout).contains("vault/vault-unseal-key-1"));
}

#[test]
fn sealing_over_an_existing_archive_is_a_conflict_unless_forced() {
    let e = Estate::new();
    let (secrets, pass) = (e.p("secrets"), e.p("pass"));
    let args = [
        "secrets",
        "seal",
        s(&secrets),
        "--to",
        KEY,
        "--passphrase-file",
        s(&pass),
    ];
    assert!(e.run(&args).status.success());
    let second = e.run(&args);
    assert!(!second.status.success());
    assert!(
        output_text(&second).contains("was changed by someone else"),
        "{}",
        output_text(&second)
    );
    let mut forced = args.to_vec();
    forced.push("--force");
    assert!(e.run(&forced).status.success());
}

#[test]
fn two_concurrent_rekeys_never_both_win_and_nothing_is_lost() {
    let e = Estate::new();
    let seal = e.seal_to(KEY);
    assert!(seal.status.success(), "{}", output_text(&seal));
    let start = || {
        e.tazhost(&[
            "secrets",
            "rekey",
            KEY,
            "--passphrase-file",
            s(&e.p("pass")),
            "--new-passphrase-file",
            s(&e.p("new-pass")),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
    };
    let (a, b) = (start(), start());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let wins = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(
        wins,
        1,
        "{}\n{}",
        output_text(&outs[0]),
        output_text(&outs[1])
    );
    let loser = outs.iter().find(|o| !o.status.success()).unwrap();
    let text = output_text(loser);
    assert!(
        text.contains("was changed by someone else") || text.contains("wrong passphrase"),
        "{text}"
    );
    let list = e.run(&[
        "secrets",
        "list",
        KEY,
        "--passphrase-file",
        s(&e.p("new-pass")),
    ]);
    assert!(
        list.status.success(),
        "the winner's archive opens: {}",
        output_text(&list)
    );
}

#[test]
fn missing_objects_bad_credentials_and_dead_endpoints_are_explained() {
    let e = Estate::new();
    let missing = e.run(&[
        "secrets",
        "list",
        "s3://tazlab-backup/nope.tar.aes",
        "--passphrase-file",
        s(&e.p("pass")),
    ]);
    assert!(!missing.status.success());
    assert!(
        output_text(&missing).contains("s3://tazlab-backup/nope.tar.aes does not exist"),
        "{}",
        output_text(&missing)
    );

    let bad = e
        .tazhost(&["secrets", "list", KEY, "--passphrase-file", s(&e.p("pass"))])
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wrong-secret-key-000000000000000000000",
        )
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let text = output_text(&bad);
    assert!(text.contains("S3 refused access"), "{text}");
    assert!(
        !text.contains("wrong-secret-key") && !text.contains(e.s3.secret_key()),
        "{text}"
    );

    let dead = e
        .tazhost(&[
            "secrets",
            "--endpoint-url",
            "http://127.0.0.1:9",
            "list",
            KEY,
            "--passphrase-file",
            s(&e.p("pass")),
        ])
        .output()
        .unwrap();
    assert!(!dead.status.success());
    assert!(
        output_text(&dead).contains("unreachable"),
        "{}",
        output_text(&dead)
    );
}

/// Random bytes (incompressible, like real ciphertext or keys), deterministic per seed.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn a_large_archive_goes_up_in_parallel_parts_byte_for_byte_and_conditionally() {
    let e = Estate::new();
    // 20 MiB: three 8 MiB parts.
    let big = noise(20 << 20, 7);
    std::fs::write(e.p("secrets/vault/raft.snap"), &big).unwrap();
    let local = e.p("big.tar.aes");
    let pass = e.p("pass");
    let seal = e.seal_to(s(&local));
    assert!(seal.status.success(), "{}", output_text(&seal));

    let copy = e.run(&["secrets", "copy", s(&local), KEY]);
    assert!(
        copy.status.success(),
        "{}\n{}",
        output_text(&copy),
        e.s3.log()
    );
    let head = e.aws(&[
        "s3api",
        "head-object",
        "--bucket",
        "tazlab-backup",
        "--key",
        "tazpod/vault/vault.tar.aes",
    ]);
    let head_text = String::from_utf8_lossy(&head.stdout).to_string();
    assert!(
        head_text.contains("-3\\\""),
        "a multipart ETag ends in -<parts>: {head_text}"
    );

    // The AWS CLI downloads exactly the bytes tazhost sealed and uploaded.
    let down = e.p("down.tar.aes");
    let cp = e.aws(&["s3", "cp", KEY, s(&down)]);
    assert!(cp.status.success(), "{}", output_text(&cp));
    assert!(
        std::fs::read(&down).unwrap() == std::fs::read(&local).unwrap(),
        "aws s3 cp got different bytes"
    );

    // Sealing straight to S3 (multipart from the encryptor) opens to the same contents.
    let direct = "s3://tazlab-backup/direct.tar.aes";
    let seal_s3 = e.seal_to(direct);
    assert!(seal_s3.status.success(), "{}", output_text(&seal_s3));
    let shm = tempfile::tempdir_in("/dev/shm").unwrap();
    let pull = e.run(&[
        "secrets",
        "pull",
        direct,
        "--open",
        s(&shm.path().join("o")),
        "--passphrase-file",
        s(&pass),
    ]);
    assert!(pull.status.success(), "{}", output_text(&pull));
    assert!(std::fs::read(shm.path().join("o/vault/raft.snap")).unwrap() == big);

    // The multipart completion is conditional too: a second create is a conflict, and the
    // object is still the first one.
    let again = e.run(&["secrets", "copy", s(&local), direct]);
    assert!(!again.status.success());
    assert!(
        output_text(&again).contains("was changed by someone else"),
        "{}",
        output_text(&again)
    );
    let uploads = e.aws(&[
        "s3api",
        "list-multipart-uploads",
        "--bucket",
        "tazlab-backup",
    ]);
    assert!(
        !String::from_utf8_lossy(&uploads.stdout).contains("UploadId"),
        "the refused upload was aborted, not left behind: {}",
        String::from_utf8_lossy(&uploads.stdout)
    );
    let check = e.p("check.tar.aes");
    assert!(e.aws(&["s3", "cp", direct, s(&check)]).status.success());
    assert!(std::fs::read(&check).unwrap() != std::fs::read(&local).unwrap());
}

#[test]
fn on_a_versioned_bucket_rekey_keeps_the_previous_archive_as_an_older_version() {
    let e = Estate::new();
    let on = e.aws(&[
        "s3api",
        "put-bucket-versioning",
        "--bucket",
        "tazlab-backup",
        "--versioning-configuration",
        "Status=Enabled",
    ]);
    assert!(on.status.success(), "{}", output_text(&on));
    let seal = e.seal_to(KEY);
    assert!(seal.status.success(), "{}", output_text(&seal));
    let rekey = e.run(&[
        "secrets",
        "rekey",
        KEY,
        "--passphrase-file",
        s(&e.p("pass")),
        "--new-passphrase-file",
        s(&e.p("new-pass")),
    ]);
    assert!(rekey.status.success(), "{}", output_text(&rekey));

    let versions = e.aws(&[
        "s3api",
        "list-object-versions",
        "--bucket",
        "tazlab-backup",
        "--prefix",
        "tazpod/vault/vault.tar.aes",
        "--query",
        "Versions[?IsLatest==`false`].VersionId",
        "--output",
        "text",
    ]);
    let older = String::from_utf8_lossy(&versions.stdout).trim().to_string();
    assert!(
        versions.status.success() && !older.is_empty() && !older.contains('\t'),
        "exactly one older version: {}",
        output_text(&versions)
    );
    let old_copy = e.p("old.tar.aes");
    let get = e.aws(&[
        "s3api",
        "get-object",
        "--bucket",
        "tazlab-backup",
        "--key",
        "tazpod/vault/vault.tar.aes",
        "--version-id",
        &older,
        s(&old_copy),
    ]);
    assert!(get.status.success(), "{}", output_text(&get));
    // The older version is the archive as it was: it opens with the old passphrase only.
    let list = |archive: &str, pass: &str| {
        e.run(&[
            "secrets",
            "list",
            archive,
            "--passphrase-file",
            s(&e.p(pass)),
        ])
        .status
        .success()
    };
    assert!(list(s(&old_copy), "pass"));
    assert!(!list(s(&old_copy), "new-pass"));
    assert!(list(KEY, "new-pass"));
}

#[test]
fn slow_down_answers_are_retried_and_persistent_ones_are_reported() {
    let e = Estate::new();
    let seal = e.seal_to(KEY);
    assert!(seal.status.success(), "{}", output_text(&seal));
    let upstream: u16 = e.s3.endpoint().rsplit(':').next().unwrap().parse().unwrap();
    let list_through = |proxy: &FlakyProxy| {
        e.tazhost(&[
            "secrets",
            "--endpoint-url",
            &proxy.endpoint(),
            "list",
            KEY,
            "--passphrase-file",
            s(&e.p("pass")),
        ])
        .output()
        .unwrap()
    };

    let flaky = FlakyProxy::start(upstream, 2);
    let out = list_through(&flaky);
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(flaky.refused(), 2, "both 503s were seen and retried");

    let down = FlakyProxy::start(upstream, usize::MAX);
    let out = list_through(&down);
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(text.contains("SlowDown"), "{text}");
    assert!(down.refused() >= 3, "retried before giving up");
}
