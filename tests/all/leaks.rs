//! The whole secrets workflow, end to end, with every log turned up to trace: seal, push to a
//! real S3 server, list, pull into memory, rekey, audit, then plan/run/destroy a Hetzner pool
//! whose token comes from the archive on S3. Every byte any command printed, every file left
//! in the work folder and every object in the bucket is then searched for every known secret
//! (raw, base64, URL-encoded); none may be found.

use crate::support::*;
use base64::Engine;
use fakecloud::hetzner::{FakeHetzner, Options};
use std::path::Path;
use std::process::{Command, Output};

const PASSPHRASE: &str = "leak test passphrase c0ffee";
const NEW_PASSPHRASE: &str = "leak test new passphrase beef";
const HCLOUD: &str = "hz-leak-token-8e1f0c3b5d7a";
const UNSEAL: &str = "unseal-key-LEAKCHECK-4f5e6d";
const ROOT_TOKEN: &str = "hvs.LEAKCHECKROOTTOKEN9z8y7x";

fn forms(value: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    vec![
        value.to_string(),
        b64.encode(value).trim_end_matches('=').to_string(),
        url.encode(value),
        value.replace(' ', "%20"),
    ]
}

fn find_in(haystack: &[u8], needles: &[(String, String)]) -> Option<String> {
    needles.iter().find_map(|(name, form)| {
        memchr::memmem::find(haystack, form.as_bytes()).map(|_| name.clone())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_any_output_file_or_object_in_the_whole_workflow() {
    let s3 = S3Server::start();
    let fake = FakeHetzner::start("127.0.0.1:0".parse().unwrap(), HCLOUD, Options::default())
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let w = |name: &str| work.path().join(name).display().to_string();
    let secrets = tempfile::tempdir().unwrap(); // the plaintext folder, outside `work`
    std::fs::create_dir_all(secrets.path().join("hetzner")).unwrap();
    std::fs::create_dir_all(secrets.path().join("vault")).unwrap();
    std::fs::write(secrets.path().join("hetzner/hcloud-token"), HCLOUD).unwrap();
    std::fs::write(secrets.path().join("vault/unseal-key-1"), UNSEAL).unwrap();
    std::fs::write(secrets.path().join("vault/root-token"), ROOT_TOKEN).unwrap();
    // Passphrase files live outside `work` too: they are the operator's, not output.
    let keys = tempfile::tempdir().unwrap();
    let pass = keys.path().join("pass");
    let new_pass = keys.path().join("new-pass");
    std::fs::write(&pass, PASSPHRASE).unwrap();
    std::fs::write(&new_pass, NEW_PASSPHRASE).unwrap();
    let (pass, new_pass) = (pass.display().to_string(), new_pass.display().to_string());
    let shm = tempfile::tempdir_in("/dev/shm").unwrap();

    let aws = workspace().join(".venv/bin/aws");
    let mb = Command::new(&aws)
        .args(["--endpoint-url", &s3.endpoint(), "s3", "mb", "s3://leaks"])
        .envs(s3.client_env())
        .output()
        .unwrap();
    assert!(mb.status.success(), "{}", output_text(&mb));

    let key = "s3://leaks/tazpod/vault.tar.aes";
    let mut outputs: Vec<(String, Output)> = Vec::new();
    let mut step = |label: &str, args: &[&str]| {
        let out = tazhost()
            .args(args)
            .envs(s3.client_env())
            .env("TAZHOST_LOG", "trace")
            .current_dir(work.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{label}: {}", output_text(&out));
        outputs.push((label.to_string(), out));
    };
    let secrets_dir = secrets.path().display().to_string();
    let opened = shm.path().join("opened").display().to_string();
    step(
        "seal",
        &[
            "secrets",
            "seal",
            &secrets_dir,
            "--to",
            &w("a.taz"),
            "--passphrase-file",
            &pass,
        ],
    );
    step("copy", &["secrets", "copy", &w("a.taz"), key]);
    step(
        "list",
        &["secrets", "list", key, "--passphrase-file", &pass],
    );
    step(
        "pull",
        &[
            "secrets",
            "pull",
            key,
            "--open",
            &opened,
            "--passphrase-file",
            &pass,
        ],
    );
    step(
        "rekey",
        &[
            "secrets",
            "rekey",
            key,
            "--passphrase-file",
            &pass,
            "--new-passphrase-file",
            &new_pass,
        ],
    );
    step(
        "legacy",
        &[
            "secrets",
            "seal",
            &secrets_dir,
            "--legacy",
            "--to",
            &w("old.tar.aes"),
            "--passphrase-file",
            &pass,
        ],
    );
    step(
        "convert",
        &[
            "secrets",
            "convert",
            &w("old.tar.aes"),
            "--to",
            &w("conv.taz"),
            "--passphrase-file",
            &pass,
        ],
    );
    std::fs::create_dir(work.path().join("repo")).unwrap();
    std::fs::write(work.path().join("repo/README"), "nothing secret here\n").unwrap();
    step(
        "audit",
        &[
            "secrets",
            "audit",
            &w("repo"),
            "--archive",
            key,
            "--passphrase-file",
            &new_pass,
        ],
    );

    let toml = hetzner_cluster_toml(&fake.base_url(), &plugins().hetzner, 2).replace(
        r#"hcloud-token = { from = "env", var = "HCLOUD_TOKEN" }"#,
        &format!(
            "hcloud-token = {{ from = \"archive\", path = \"hetzner/hcloud-token\" }}\n\n[archive]\nlocation = \"{key}\"\nendpoint_url = \"{}\"",
            s3.endpoint()
        ),
    );
    std::fs::write(work.path().join("cluster.toml"), toml).unwrap();
    std::fs::write(work.path().join("controlplane.yaml"), MACHINE_CONFIG).unwrap();
    for (label, args) in [
        ("plan", vec!["plan"]),
        ("run", vec!["run"]),
        ("destroy", vec!["destroy", "--yes"]),
    ] {
        let mut args = args;
        args.extend(["-c", "cluster.toml", "--passphrase-file", &new_pass]);
        step(label, &args);
    }
    assert!(fake.servers().is_empty(), "destroy removed the nodes");

    let needles: Vec<(String, String)> = [
        ("the hcloud token", HCLOUD),
        ("the unseal key", UNSEAL),
        ("the root token", ROOT_TOKEN),
        ("the passphrase", PASSPHRASE),
        ("the new passphrase", NEW_PASSPHRASE),
        ("the S3 secret key", s3.secret_key()),
    ]
    .iter()
    .flat_map(|(name, value)| forms(value).into_iter().map(|f| (name.to_string(), f)))
    .collect();

    let mut printed = 0;
    for (label, out) in &outputs {
        printed += out.stdout.len() + out.stderr.len();
        for stream in [&out.stdout, &out.stderr] {
            if let Some(name) = find_in(stream, &needles) {
                panic!(
                    "{name} reached the output of `{label}`:\n{}",
                    output_text(out)
                );
            }
        }
    }
    assert!(printed > 10_000, "trace logging was on: {printed} bytes");

    let mut files = 0;
    let mut stack = vec![work.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files += 1;
                if let Some(name) = find_in(&std::fs::read(&path).unwrap(), &needles) {
                    panic!("{name} is in {}", path.display());
                }
            }
        }
    }
    assert!(files >= 5, "{files}");

    let objects = work.path().join("bucket");
    let sync = Command::new(&aws)
        .args(["--endpoint-url", &s3.endpoint(), "s3", "sync", "s3://leaks"])
        .arg(&objects)
        .envs(s3.client_env())
        .output()
        .unwrap();
    assert!(sync.status.success(), "{}", output_text(&sync));
    let archive = std::fs::read(objects.join("tazpod/vault.tar.aes")).unwrap();
    assert!(archive.starts_with(b"TAZHOSTA"));
    assert_eq!(find_in(&archive, &needles), None);
    // The opened copy is the one place the values are meant to be: in memory (tmpfs).
    assert_eq!(
        std::fs::read_to_string(Path::new(&opened).join("vault/unseal-key-1")).unwrap(),
        UNSEAL
    );
}
