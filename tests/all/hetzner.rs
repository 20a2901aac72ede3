//! Hetzner end to end: the real `tazhost` binary, the real hetzner.wasm, the fake Hetzner API.

use crate::support::*;
use fakecloud::hetzner::{FakeHetzner, Options, Running};
use std::process::Output;
use std::time::Duration;

const TOKEN: &str = "hz-test-token-5f1d9c2e7a";

async fn fake() -> Running {
    let options = Options {
        action_duration: Duration::from_millis(150),
        ..Options::default()
    };
    FakeHetzner::start("127.0.0.1:0".parse().unwrap(), TOKEN, options)
        .await
        .expect("fake hetzner starts")
}

async fn tazhost_in(cluster: &ClusterDir, token: &str, args: &[&str]) -> Output {
    let mut cmd = tazhost();
    cmd.args(args)
        .arg("-c")
        .arg(cluster.path())
        .env("HCLOUD_TOKEN", token)
        .stdin(std::process::Stdio::null());
    tokio::process::Command::from(cmd)
        .output()
        .await
        .expect("tazhost runs")
}

fn cluster(fake: &Running, count: u32) -> ClusterDir {
    let dir = ClusterDir::new(&hetzner_cluster_toml(
        &fake.base_url(),
        &plugins().hetzner,
        count,
    ));
    dir.write("controlplane.yaml", MACHINE_CONFIG);
    dir
}

fn assert_no_token(outputs: &[&Output]) {
    for out in outputs {
        let text = output_text(out);
        assert!(!text.contains(TOKEN), "the token leaked:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_twice_creates_each_node_once_and_destroy_removes_them() {
    let fake = fake().await;
    let dir = cluster(&fake, 3);

    let first = tazhost_in(&dir, TOKEN, &["run"]).await;
    assert!(first.status.success(), "{}", output_text(&first));
    let stdout = String::from_utf8_lossy(&first.stdout);
    for i in 1..=3 {
        assert!(
            stdout.contains(&format!("tazlab-k8s-control-{i}")),
            "{stdout}"
        );
    }
    let servers = fake.servers();
    assert_eq!(servers.len(), 3);
    for s in &servers {
        assert_eq!(s.status, "running", "{s:?}");
        assert_eq!(s.server_type, "cx22");
        assert_eq!(s.location, "fsn1");
        assert_eq!(s.user_data.as_deref(), Some(MACHINE_CONFIG));
        assert_eq!(
            s.labels.get("tazhost-cluster").map(String::as_str),
            Some("tazlab-k8s")
        );
        assert_eq!(
            s.labels.get("tazhost-pool").map(String::as_str),
            Some("control")
        );
        assert_eq!(s.labels.get("env").map(String::as_str), Some("test"));
    }
    let ids: Vec<u64> = servers.iter().map(|s| s.id).collect();

    let second = tazhost_in(&dir, TOKEN, &["run"]).await;
    assert!(second.status.success(), "{}", output_text(&second));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("Nothing to create"),
        "{}",
        output_text(&second)
    );
    let again: Vec<u64> = fake.servers().iter().map(|s| s.id).collect();
    assert_eq!(again, ids, "a rerun must not create or replace servers");

    let bigger = cluster(&fake, 4);
    let plan = tazhost_in(&bigger, TOKEN, &["plan"]).await;
    assert!(plan.status.success(), "{}", output_text(&plan));
    let plan_text = String::from_utf8_lossy(&plan.stdout);
    assert!(plan_text.contains("+ tazlab-k8s-control-4"), "{plan_text}");
    assert!(plan_text.contains("3 existing, 1 to create"), "{plan_text}");
    assert_eq!(fake.servers().len(), 3, "plan changes nothing");

    let destroy = tazhost_in(&dir, TOKEN, &["destroy", "--yes"]).await;
    assert!(destroy.status.success(), "{}", output_text(&destroy));
    assert!(fake.servers().is_empty(), "{:?}", fake.servers());

    assert_no_token(&[&first, &second, &plan, &destroy]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_fails_clearly_and_is_never_echoed() {
    let fake = fake().await;
    let dir = cluster(&fake, 1);
    let wrong = "hz-wrong-token-0000aaaa";
    let out = tazhost_in(&dir, wrong, &["run"]).await;
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(text.to_lowercase().contains("unauthorized"), "{text}");
    assert!(text.contains("plugin `hetzner` (sha256:"), "{text}");
    assert!(!text.contains(wrong), "{text}");
    assert!(fake.servers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_create_failures_are_retried_by_the_plugin() {
    let fake = fake().await;
    fake.set_fail_next_creates(2);
    let dir = cluster(&fake, 1);
    let out = tazhost_in(&dir, TOKEN, &["run"]).await;
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(fake.servers().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_data_over_32_kib_is_refused_before_anything_is_sent() {
    let fake = fake().await;
    let dir = cluster(&fake, 1);
    dir.write("controlplane.yaml", &"#".repeat(33 * 1024));
    let out = tazhost_in(&dir, TOKEN, &["run"]).await;
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(text.contains("Hetzner accepts at most 32768"), "{text}");
    assert!(fake.servers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_asks_for_yes_when_stdin_is_not_a_terminal() {
    let fake = fake().await;
    let dir = cluster(&fake, 1);
    let run = tazhost_in(&dir, TOKEN, &["run"]).await;
    assert!(run.status.success(), "{}", output_text(&run));
    let out = tazhost_in(&dir, TOKEN, &["destroy"]).await;
    assert!(!out.status.success());
    assert!(output_text(&out).contains("--yes"), "{}", output_text(&out));
    assert_eq!(
        fake.servers().len(),
        1,
        "nothing deleted without confirmation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_whose_sha256_differs_from_the_pin_is_refused() {
    let fake = fake().await;
    let text = hetzner_cluster_toml(&fake.base_url(), &plugins().hetzner, 1).replace(
        "[providers.hetzner]\n",
        &format!("[providers.hetzner]\nsha256 = \"{}\"\n", "ab".repeat(32)),
    );
    let dir = ClusterDir::new(&text);
    dir.write("controlplane.yaml", MACHINE_CONFIG);
    let out = tazhost_in(&dir, TOKEN, &["plan"]).await;
    assert!(!out.status.success());
    assert!(
        output_text(&out).contains("does not match the pin"),
        "{}",
        output_text(&out)
    );
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_server_with_a_node_name_is_not_adopted() {
    let fake = fake().await;
    // Someone else's server already has the name tazhost wants, without tazhost's labels.
    let created = reqwest::Client::new()
        .post(format!("{}/v1/servers", fake.base_url()))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(
            serde_json::json!({
                "name": "tazlab-k8s-control-1", "server_type": "cx22", "image": "ubuntu-24.04"
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let dir = cluster(&fake, 1);
    let out = tazhost_in(&dir, TOKEN, &["run"]).await;
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(text.contains("refusing to adopt it"), "{text}");
    let servers = fake.servers();
    assert_eq!(servers.len(), 1, "nothing created, nothing taken over");
    assert!(servers[0].labels.is_empty());
    assert_no_token(&[&out]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_can_come_from_the_sealed_archive_and_needs_its_passphrase() {
    let fake = fake().await;
    let toml = hetzner_cluster_toml(&fake.base_url(), &plugins().hetzner, 1).replace(
        r#"hcloud-token = { from = "env", var = "HCLOUD_TOKEN" }"#,
        "hcloud-token = { from = \"archive\", path = \"hetzner/hcloud-token\" }\n\n[archive]\nlocation = \"secrets.tar.aes\"",
    );
    let dir = ClusterDir::new(&toml);
    dir.write("controlplane.yaml", MACHINE_CONFIG);
    let secrets = dir.dir.path().join("secrets/hetzner");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("hcloud-token"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(secrets.join("unrelated"), "never-granted-value-99").unwrap();
    let pass = dir.write("pass", "archive pass for hetzner 1f");
    let wrong = dir.write("wrong", "not the passphrase");
    let seal = tazhost()
        .args(["secrets", "seal"])
        .arg(dir.dir.path().join("secrets"))
        .arg("--to")
        .arg(dir.dir.path().join("secrets.tar.aes"))
        .arg("--passphrase-file")
        .arg(&pass)
        .output()
        .unwrap();
    assert!(seal.status.success(), "{}", output_text(&seal));
    std::fs::remove_dir_all(dir.dir.path().join("secrets")).unwrap();

    let refused = tazhost_in(
        &dir,
        "unused",
        &["run", "--passphrase-file", wrong.to_str().unwrap()],
    )
    .await;
    assert!(!refused.status.success());
    assert!(
        output_text(&refused).contains("the secrets archive: wrong passphrase"),
        "{}",
        output_text(&refused)
    );
    assert!(fake.servers().is_empty());

    let run = tazhost_in(
        &dir,
        "unused",
        &["run", "--passphrase-file", pass.to_str().unwrap()],
    )
    .await;
    assert!(run.status.success(), "{}", output_text(&run));
    assert_eq!(fake.servers().len(), 1);
    assert_no_token(&[&refused, &run]);
    assert!(!output_text(&run).contains("never-granted-value-99"));
}
