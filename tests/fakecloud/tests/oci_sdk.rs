//! The fake OCI API checked with Oracle's official Python SDK (`oci` from PyPI): if the SDK
//! signs its requests and the fake verifies them, the fake's verifier matches OCI's real
//! signing scheme; if the SDK can launch, wait, list, read VNICs and terminate, the fake
//! speaks the real API's shapes.

use std::path::PathBuf;
use std::time::Duration;

use fakecloud::oci::{FakeOci, Options};

const TENANCY: &str =
    "ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq";
const USER: &str = "ocid1.user.oc1..aaaaaaaat5nvwcna5j6aqzjcaty5eqbb6qt2jvpkanghtgdaqedqw3rynjq";
/// The MD5 fingerprint of the test key (`openssl rsa -pubin -outform DER | openssl md5 -c`).
const FINGERPRINT: &str = "73:61:a2:21:67:e0:df:be:7e:4b:93:1e:15:98:a5:b7";

/// The repository root.
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python with `oci` installed: `$TAZHOST_PYTHON`, else the workspace's `.venv`.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TAZHOST_PYTHON") {
        return p.into();
    }
    let venv = workspace().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with the oci SDK at {}: run scripts/test (it creates .venv with \
         tests/sdk/requirements.txt), or `python -m venv .venv && .venv/bin/pip install -r \
         tests/sdk/requirements.txt`, or set TAZHOST_PYTHON",
        venv.display()
    );
    venv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_oci_sdk_agrees_with_the_fake() {
    let vectors = workspace().join("tests/vectors/oci-signing");
    let public_key =
        std::fs::read_to_string(vectors.join("public_key.pem")).expect("the test public key");
    let options = Options {
        provision_duration: Duration::from_millis(300),
        terminate_duration: Duration::from_millis(300),
        // The script's first launch must get past this with the SDK's retry strategy.
        fail_next_launches: 1,
        ..Options::default()
    };
    let key_id = format!("{TENANCY}/{USER}/{FINGERPRINT}");
    let fake = FakeOci::start("127.0.0.1:0".parse().unwrap(), key_id, &public_key, options)
        .await
        .expect("the fake starts");
    let out = tokio::process::Command::new(python())
        .arg(workspace().join("tests/sdk/oci_check.py"))
        .arg(fake.base_url())
        .arg(TENANCY)
        .arg(USER)
        .arg(FINGERPRINT)
        .arg(vectors.join("private_key.pem"))
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

    // Two instances, whatever the retries: the failed attempt and the replay of the retry
    // token created nothing more. The script terminated both.
    let instances = fake.instances();
    assert_eq!(instances.len(), 2, "{instances:#?}");
    assert!(
        instances.iter().all(|i| i.lifecycle_state == "TERMINATED"),
        "{instances:#?}"
    );
    let first = &instances[0];
    assert_eq!(
        first.user_data.as_deref(),
        Some("#cloud-config\nruncmd:\n  - echo hello from oci_check\n")
    );
    assert!(
        first
            .retry_token
            .as_deref()
            .is_some_and(|t| t.starts_with("oci-check-"))
    );
    assert_eq!(first.preserve_boot_volume, Some(false));
    // Only the script's deliberately unknown key was refused: every request the SDK signed
    // with the right key verified.
    let failures = fake.auth_failures();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(failures[0].contains("Unknown keyId"), "{failures:#?}");
    fake.stop().await;
}
