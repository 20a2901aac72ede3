//! The command line: help that explains, inspect, and clear errors for bad input.

use crate::support::*;

fn run(args: &[&str]) -> std::process::Output {
    tazhost().args(args).output().expect("tazhost runs")
}

#[test]
fn every_command_has_help_that_explains_it() {
    for (args, needle) in [
        (vec!["--help"], "sandboxed WebAssembly component plugin"),
        (vec!["run", "--help"], "creates only what is missing"),
        (vec!["plan", "--help"], "Changes nothing"),
        (vec!["destroy", "--help"], "--yes"),
        (vec!["plugin", "inspect", "--help"], "sha256"),
        (vec!["run", "--help"], "--extension"),
    ] {
        let out = run(&args);
        assert!(out.status.success(), "{args:?}: {}", output_text(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(needle),
            "{args:?} help lacks {needle:?}:\n{text}"
        );
    }
}

#[test]
fn inspect_names_each_plugins_world() {
    for (plugin, world) in [
        (
            &plugins().hetzner,
            "world:     provider (describe, validate, list, create, delete)",
        ),
        (
            &plugins().tailscale,
            "world:     machine-config-extension (describe, validate, extend)",
        ),
    ] {
        let out = run(&["plugin", "inspect", plugin.to_str().unwrap()]);
        assert!(out.status.success(), "{}", output_text(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(world), "{text}");
    }
}

#[test]
fn inspect_shows_sha256_hosts_and_secrets() {
    let path = plugins().hetzner.to_str().unwrap().to_string();
    let out = run(&["plugin", "inspect", &path]);
    assert!(out.status.success(), "{}", output_text(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(std::fs::read(&path).unwrap()));
    let contract = tazhost::runtime::CONTRACT_VERSION;
    for needle in [
        "name:      hetzner",
        &format!("contract:  tazlab:bootstrap@{contract}"),
        &format!("sha256:    {sha}"),
        "hosts:     https://api.hetzner.cloud",
        "secrets:   hcloud-token",
        &format!("tazlab:bootstrap/http@{contract}"),
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }

    let out = run(&["plugin", "inspect", &path, "--json"]);
    assert!(out.status.success(), "{}", output_text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["name"], "hetzner");
    assert_eq!(json["sha256"], sha);
    assert_eq!(json["hosts"][0], "https://api.hetzner.cloud");
    assert_eq!(json["secrets"][0], "hcloud-token");
    assert!(json["imports"].as_array().unwrap().len() > 3);
}

#[test]
fn inspect_of_a_missing_file_says_so() {
    let out = run(&["plugin", "inspect", "/nonexistent/x.wasm"]);
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(
        text.contains("cannot read plugin /nonexistent/x.wasm"),
        "{text}"
    );
}

#[test]
fn inspect_of_a_hostile_plugin_fails_with_its_reason() {
    let path = plugins().foreign_import.to_str().unwrap().to_string();
    let out = run(&["plugin", "inspect", &path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        output_text(&out).contains("tazlab:evil/teleport"),
        "{}",
        output_text(&out)
    );
}

#[test]
fn a_typo_in_cluster_toml_is_named() {
    let dir = ClusterDir::new("[cluster]\nname = \"x\"\nnmae = \"y\"\n");
    let out = run(&["plan", "-c", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        output_text(&out).contains("unknown field `nmae`"),
        "{}",
        output_text(&out)
    );
}

#[test]
fn a_missing_secret_is_named_without_a_value() {
    let toml = hetzner_cluster_toml("http://127.0.0.1:9", &plugins().hetzner, 1);
    let dir = ClusterDir::new(&toml);
    let out = tazhost()
        .args(["plan", "-c", dir.path().to_str().unwrap()])
        .env_remove("HCLOUD_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        output_text(&out)
            .contains("secret `hcloud-token`: environment variable HCLOUD_TOKEN is not set"),
        "{}",
        output_text(&out)
    );
}

#[test]
fn a_plugin_that_names_no_configured_provider_is_refused() {
    let toml = hetzner_cluster_toml("http://127.0.0.1:9", &plugins().hetzner, 1);
    let dir = ClusterDir::new(&toml);
    let misbehave = plugins().misbehave.to_str().unwrap().to_string();
    let out = tazhost()
        .args([
            "plan",
            "-c",
            dir.path().to_str().unwrap(),
            "--plugin",
            &misbehave,
        ])
        .env("HCLOUD_TOKEN", "x-token-value")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        output_text(&out).contains("no [providers.misbehave]"),
        "{}",
        output_text(&out)
    );
}
