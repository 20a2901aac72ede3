//! `[[layers]]` through `tazhost run`: a DAG of real commands, independent ones overlapping,
//! each with only the secrets granted to it, its output redacted into its own log.

use crate::support::*;
use std::process::Output;

const GITHUB_TOKEN: &str = "ghp_layerTestToken0123456789abcdef";

fn cluster(layers: &str) -> ClusterDir {
    ClusterDir::new(&format!(
        r#"
[cluster]
name = "tazlab-layers"

[secrets]
github-token = {{ from = "env", var = "LAYER_TEST_GITHUB_TOKEN" }}
{layers}
"#
    ))
}

fn run(dir: &ClusterDir) -> Output {
    tazhost()
        .args(["run", "--logs"])
        .arg(dir.dir.path().join("logs"))
        .arg("-c")
        .arg(dir.path())
        .env("LAYER_TEST_GITHUB_TOKEN", GITHUB_TOKEN)
        .env("LAYER_TEST_PARENT_ONLY", "must-not-be-inherited")
        .output()
        .expect("tazhost runs")
}

/// The log of `layer` from the run's log directory.
fn log_of(dir: &ClusterDir, layer: &str) -> (String, u32) {
    use std::os::unix::fs::PermissionsExt;
    let runs: Vec<_> = std::fs::read_dir(dir.dir.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let path = runs[0].join(format!("{layer}.log"));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    (std::fs::read_to_string(&path).unwrap(), mode)
}

/// Nanoseconds since the epoch written by a layer into `<name>.<what>`.
fn stamp(dir: &ClusterDir, name: &str, what: &str) -> u128 {
    std::fs::read_to_string(dir.dir.path().join(format!("{name}.{what}")))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn independent_layers_overlap_after_their_dependency() {
    let step = |name: &str, deps: &str| {
        format!(
            r#"
[[layers]]
name = "{name}"
run = ["sh", "-c", "date +%s%N > $TAZHOST_LAYER.start; sleep 1; date +%s%N > $TAZHOST_LAYER.end"]
depends_on = [{deps}]
"#
        )
    };
    let dir = cluster(
        &[
            step("platform-ready", ""),
            step("networking", r#""platform-ready""#),
            step("gitops", r#""platform-ready""#),
            step("storage", r#""platform-ready""#),
        ]
        .concat(),
    );
    let out = run(&dir);
    assert!(out.status.success(), "{}", output_text(&out));
    let text = output_text(&out);
    for layer in ["platform-ready", "networking", "gitops", "storage"] {
        assert!(
            text.contains(layer),
            "the timing table names {layer}:\n{text}"
        );
    }
    let ready_end = stamp(&dir, "platform-ready", "end");
    let parallel = ["networking", "gitops", "storage"];
    for a in parallel {
        assert!(
            stamp(&dir, a, "start") >= ready_end,
            "{a} waited for its dependency"
        );
        for b in parallel {
            if a != b {
                assert!(
                    stamp(&dir, a, "start") < stamp(&dir, b, "end"),
                    "{a} started before {b} ended: they overlapped"
                );
            }
        }
    }
}

#[test]
fn a_layer_gets_only_its_secrets_and_its_log_never_shows_them() {
    let dir = cluster(
        r#"
[[layers]]
name = "gitops"
run = ["sh", "-c", "echo token=$GITHUB_TOKEN; echo parent=$LAYER_TEST_PARENT_ONLY; echo home=$HOME; echo to stderr >&2"]
env = { GITHUB_TOKEN = "github-token" }

[[layers]]
name = "storage"
run = ["sh", "-c", "echo token=$GITHUB_TOKEN"]
"#,
    );
    let out = run(&dir);
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(!output_text(&out).contains(GITHUB_TOKEN));
    let (gitops, mode) = log_of(&dir, "gitops");
    assert_eq!(mode, 0o600, "logs are private");
    assert!(
        gitops.contains("[out] token=[redacted:github-token]"),
        "{gitops}"
    );
    assert!(
        gitops.contains("[out] parent=\n"),
        "nothing inherited: {gitops}"
    );
    assert!(gitops.contains("[out] home=\n"), "{gitops}");
    assert!(gitops.contains("[err] to stderr"), "{gitops}");
    assert!(!gitops.contains(GITHUB_TOKEN));
    let (storage, _) = log_of(&dir, "storage");
    assert!(storage.contains("[out] token=\n"), "not granted: {storage}");
}

#[test]
fn a_failing_layer_is_retried_then_its_dependents_are_skipped() {
    let dir = cluster(
        r#"
[[layers]]
name = "networking"
run = ["sh", "-c", "echo try >> attempts; exit 3"]
retries = 1

[[layers]]
name = "gitops"
run = ["sh", "-c", "touch gitops-ran"]
depends_on = ["networking"]

[[layers]]
name = "flux"
run = ["true"]
depends_on = ["gitops"]

[[layers]]
name = "slow"
run = ["sh", "-c", "sleep 60"]
timeout_s = 1
"#,
    );
    let out = run(&dir);
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(text.contains("exited with status 3"), "{text}");
    assert!(
        text.contains("not run: `networking` did not succeed"),
        "{text}"
    );
    assert!(text.contains("not run: `gitops` did not succeed"), "{text}");
    assert!(text.contains("timed out after 1 s"), "{text}");
    let attempts = std::fs::read_to_string(dir.dir.path().join("attempts")).unwrap();
    assert_eq!(attempts.lines().count(), 2, "one retry");
    assert!(!dir.dir.path().join("gitops-ran").exists());
}

#[test]
fn a_cycle_is_refused_when_the_config_loads() {
    let dir = cluster(
        r#"
[[layers]]
name = "a"
run = ["true"]
depends_on = ["b"]

[[layers]]
name = "b"
run = ["true"]
depends_on = ["a"]
"#,
    );
    let out = run(&dir);
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(text.contains("cycle: a → b → a"), "{text}");
    assert!(!dir.dir.path().join("logs").exists(), "nothing ran");
}

#[test]
fn the_run_ends_with_a_timing_table_and_a_json_report() {
    let dir = cluster(
        r#"
[[layers]]
name = "networking"
run = ["sh", "-c", "sleep 0.3"]
"#,
    );
    let report = dir.dir.path().join("report.json");
    let out = tazhost()
        .args(["run", "--logs"])
        .arg(dir.dir.path().join("logs"))
        .arg("--report")
        .arg(&report)
        .arg("-c")
        .arg(dir.path())
        .env("LAYER_TEST_GITHUB_TOKEN", GITHUB_TOKEN)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(text.contains("PHASE"), "{text}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let phases: Vec<&str> = doc["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["secrets", "plugins", "plan", "platform", "layers"]);
    let layers = doc["phases"][4]["duration_s"].as_f64().unwrap();
    assert!(
        layers >= 0.3,
        "the layers phase includes the layer's 0.3 s: {layers}"
    );
    assert_eq!(doc["layers"][0]["name"], "networking");
    assert_eq!(doc["layers"][0]["ok"], true);
    assert!(doc["total_s"].as_f64().unwrap() >= layers);
    assert!(!String::from_utf8_lossy(&std::fs::read(&report).unwrap()).contains(GITHUB_TOKEN));
}
