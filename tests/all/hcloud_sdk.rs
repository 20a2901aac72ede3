//! The fake Hetzner API checked with Hetzner's official Python SDK (`hcloud` from PyPI): if the
//! real client library can create, wait, list by label and delete against the fake, the fake
//! speaks the real API's shapes.

use crate::support::*;
use fakecloud::hetzner::{FakeHetzner, Options};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_hcloud_sdk_agrees_with_the_fake() {
    let token = "sdk-check-token-41b7";
    let options = Options {
        action_duration: Duration::from_millis(300),
        ..Options::default()
    };
    let fake = FakeHetzner::start("127.0.0.1:0".parse().unwrap(), token, options)
        .await
        .unwrap();
    let out = tokio::process::Command::new(python())
        .arg(workspace().join("tests/sdk/hcloud_check.py"))
        .arg(fake.base_url())
        .arg(token)
        .output()
        .await
        .expect("python runs");
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("checks passed"), "{text}");
    assert!(
        fake.servers().is_empty(),
        "the script cleans up after itself"
    );
}
