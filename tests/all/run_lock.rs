//! One run at a time per estate: the lock object beside the S3 archive, on a real S3 server.

use crate::support::*;
use std::process::{Command, Output, Stdio};

fn aws(s3: &S3Server, args: &[&str]) -> Output {
    let aws = workspace().join(".venv/bin/aws");
    assert!(aws.exists(), "awscli missing: scripts/test installs it");
    Command::new(aws)
        .args(args)
        .envs(s3.client_env())
        .output()
        .expect("aws runs")
}

fn cluster(s3: &S3Server, layer_seconds: f32) -> ClusterDir {
    ClusterDir::new(&format!(
        r#"
[cluster]
name = "tazlab-lock"

[archive]
location = "s3://tazlab-backup/tazpod/vault.tar.aes"
endpoint_url = "{endpoint}"

[[layers]]
name = "work"
run = ["sleep", "{layer_seconds}"]
"#,
        endpoint = s3.endpoint()
    ))
}

fn tazhost_run(s3: &S3Server, dir: &ClusterDir, extra: &[&str]) -> Command {
    let mut cmd = tazhost();
    cmd.arg("run")
        .args(extra)
        .arg("--logs")
        .arg(dir.dir.path().join("logs"))
        .arg("-c")
        .arg(dir.path())
        .envs(s3.client_env())
        .stdin(Stdio::null());
    cmd
}

fn lock_listed(s3: &S3Server) -> bool {
    let ls = aws(s3, &["s3", "ls", "s3://tazlab-backup/tazpod/"]);
    String::from_utf8_lossy(&ls.stdout).contains("vault.tar.aes.lock")
}

#[test]
fn a_second_run_stops_while_the_first_holds_the_lock_and_a_stale_lock_needs_breaking() {
    let s3 = S3Server::start();
    let mb = aws(&s3, &["s3", "mb", "s3://tazlab-backup"]);
    assert!(mb.status.success(), "{}", output_text(&mb));
    let slow = cluster(&s3, 4.0);
    let first = tazhost_run(&s3, &slow, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first run holds the lock.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !lock_listed(&s3) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let quick = cluster(&s3, 0.1);
    let second = tazhost_run(&s3, &quick, &[]).output().unwrap();
    assert!(!second.status.success());
    let text = output_text(&second);
    assert!(text.contains("another tazhost run holds"), "{text}");
    assert!(
        text.contains("cluster tazlab-lock on "),
        "names the holder: {text}"
    );
    assert!(text.contains("--break-lock"), "{text}");
    assert!(
        !quick.dir.path().join("logs").exists(),
        "the second run did nothing"
    );

    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", output_text(&first));
    assert!(!lock_listed(&s3), "released at the end");

    // A run that died left its lock: the next one stops until told to break it.
    let stale = quick.write(
        "stale.lock",
        "{\"cluster\":\"tazlab-lock\",\"host\":\"gone\",\"pid\":1,\"since\":0}",
    );
    let cp = aws(
        &s3,
        &[
            "s3",
            "cp",
            stale.to_str().unwrap(),
            "s3://tazlab-backup/tazpod/vault.tar.aes.lock",
        ],
    );
    assert!(cp.status.success(), "{}", output_text(&cp));
    let refused = tazhost_run(&s3, &quick, &[]).output().unwrap();
    assert!(!refused.status.success());
    assert!(
        output_text(&refused).contains("on gone (pid 1)"),
        "{}",
        output_text(&refused)
    );
    let broken = tazhost_run(&s3, &quick, &["--break-lock"])
        .output()
        .unwrap();
    assert!(broken.status.success(), "{}", output_text(&broken));
    assert!(
        output_text(&broken).contains("breaking the lock"),
        "{}",
        output_text(&broken)
    );
    assert!(!lock_listed(&s3));
}
