//! Plugins that misbehave on purpose (tests/hostile). Each is stopped with its own clear error,
//! the host lives on, and no secret value reaches any output.

use crate::support::*;
use std::sync::Arc;
use tazhost::caps::LogSink;
use tazhost::config::{ClusterConfig, Limits};
use tazhost::run::{ProviderHandle, Session};
use tazhost::runtime::{GuestError, PluginError, Runtime};
use tazhost::secrets::{SecretSet, SecretValue};

const API_TOKEN: &str = "api-token-value-7c1e55";
const REVEAL_ME: &str = "revealed-value-93ab01";

struct Harness {
    _runtime: Runtime,
    session: Session,
    logs: Logs,
    echo: EchoServer,
}

impl Harness {
    async fn new(limits: &str) -> Self {
        Self::with_provider_config(limits, "", "").await
    }

    async fn with_provider_config(limits: &str, provider_extra: &str, pools: &str) -> Self {
        let echo = EchoServer::start().await;
        let toml = format!(
            r#"
[cluster]
name = "hostile"
[secrets]
api-token = {{ from = "env", var = "UNUSED_IN_THIS_TEST" }}
reveal-me = {{ from = "env", var = "UNUSED_IN_THIS_TEST" }}
[providers.misbehave]
plugin = "{plugin}"
{provider_extra}
[providers.misbehave.grants]
hosts = ["https://allowed.test"]
secrets = [{{ name = "api-token" }}, {{ name = "reveal-me", reveal = true }}]
endpoints = {{ "https://allowed.test" = "{echo}" }}
{pools}
[limits]
{limits}
"#,
            plugin = plugins().misbehave.display(),
            echo = echo.url,
        );
        let config = ClusterConfig::parse(&toml, std::path::Path::new(".")).unwrap();
        let mut secrets = SecretSet::default();
        secrets.insert("api-token", SecretValue::new(API_TOKEN.into()));
        secrets.insert("reveal-me", SecretValue::new(REVEAL_ME.into()));
        let logs = Logs::default();
        let runtime = runtime();
        let session =
            Session::open_with_secrets(config, &runtime, &[], Arc::new(secrets), logs.sink())
                .await
                .expect("session opens");
        Self {
            _runtime: runtime,
            session,
            logs,
            echo,
        }
    }

    fn provider(&self) -> &ProviderHandle {
        &self.session.providers["misbehave"]
    }

    /// Run `list` in the given mode and return its error (every hostile mode must fail).
    async fn attack(&self, config: serde_json::Value) -> PluginError {
        let p = self.provider();
        let result = p
            .plugin
            .list(
                p.caps.clone(),
                &self.session.config.limits,
                &config.to_string(),
                vec![],
            )
            .await;
        let err = result.expect_err("a hostile mode must not succeed");
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains(API_TOKEN) && !text.contains(REVEAL_ME),
            "secret in error: {text}"
        );
        let logs = self.logs.text();
        assert!(
            !logs.contains(API_TOKEN) && !logs.contains(REVEAL_ME),
            "secret in logs: {logs}"
        );
        err
    }

    /// The host is still fine: the same plugin answers a normal call afterwards.
    async fn still_alive(&self) {
        let p = self.provider();
        p.plugin
            .validate(p.caps.clone(), &self.session.config.limits, "{}")
            .await
            .expect("the plugin (and host) still work after an attack");
    }
}

fn guest(err: &PluginError) -> &GuestError {
    err.guest()
        .unwrap_or_else(|| panic!("expected a guest error, got {err}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_is_stopped_by_the_cpu_budget() {
    let h = Harness::new("cpu_ms = 300\nquery_timeout_s = 30").await;
    let started = std::time::Instant::now();
    let err = h.attack(serde_json::json!({"mode": "loop"})).await;
    assert!(
        matches!(err, PluginError::CpuBudget { ms: 300, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("CPU budget of 300 ms"), "{err}");
    assert!(err.to_string().contains("sha256:"), "{err}");
    // Not a timing assertion on speed, only that the budget (not the 30 s deadline) fired.
    assert!(started.elapsed() < std::time::Duration::from_secs(25));
    h.still_alive().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_in_the_host_is_not_charged_to_the_cpu_budget() {
    // 50 ms of CPU, but 3 s of sleeping in 1 s steps: only the deadline may stop it.
    let h = Harness::new("cpu_ms = 50\nquery_timeout_s = 3").await;
    let err = h.attack(serde_json::json!({"mode": "sleep-forever"})).await;
    assert!(
        matches!(err, PluginError::Deadline { secs: 3, .. }),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_echoing_the_credential_is_refused_so_the_plugin_never_reads_it() {
    let h = Harness::new("").await;
    let err = h
        .attack(serde_json::json!({"mode": "http", "url": "https://allowed.test/echo", "secret": "api-token"}))
        .await;
    let GuestError::Denied(msg) = guest(&err) else {
        panic!("{err}")
    };
    assert!(
        msg.contains("contains the credential the host attached"),
        "{msg}"
    );
    assert_eq!(
        h.echo.requests().len(),
        1,
        "the request was sent; only the answer is withheld"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_without_the_requested_labels_are_ignored_by_plan() {
    // misbehave's `http` mode answers `list` with one node that carries no labels at all.
    let h = Harness::with_provider_config(
        "",
        r#"config = { mode = "http", url = "https://allowed.test/ok" }"#,
        "[[pools]]\nname = \"p\"\nprovider = \"misbehave\"\ncount = 1\nsize = \"s\"\nimage = \"i\"\n",
    )
    .await;
    let plan = h.session.plan().await.expect("plan");
    assert!(
        plan.pools[0].existing.is_empty(),
        "{:?}",
        plan.pools[0].existing
    );
    assert_eq!(plan.pools[0].to_create.len(), 1);
    assert!(h.session.find_cluster_nodes().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_sleeping_forever_hits_the_wall_clock_deadline() {
    let h = Harness::new("query_timeout_s = 1").await;
    let err = h.attack(serde_json::json!({"mode": "sleep-forever"})).await;
    assert!(
        matches!(err, PluginError::Deadline { secs: 1, .. }),
        "{err}"
    );
    h.still_alive().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_is_stopped_by_the_memory_cap() {
    let h = Harness::new("memory_mib = 32").await;
    let err = h.attack(serde_json::json!({"mode": "memory-bomb"})).await;
    assert!(matches!(err, PluginError::Memory { mib: 32, .. }), "{err}");
    assert!(err.to_string().contains("memory cap of 32 MiB"), "{err}");
    h.still_alive().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_a_file_finds_no_filesystem() {
    let h = Harness::new("").await;
    let err = h
        .attack(serde_json::json!({"mode": "read-file", "path": "/etc/passwd"}))
        .await;
    let GuestError::Provider(msg) = guest(&err) else {
        panic!("{err}")
    };
    assert!(msg.starts_with("read failed"), "{msg}");
    assert!(!msg.contains("root:"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_and_arguments_are_empty() {
    // SAFETY-free check: the host process has variables; the plugin must see none of them.
    let h = Harness::new("").await;
    let err = h.attack(serde_json::json!({"mode": "read-env"})).await;
    let GuestError::Provider(msg) = guest(&err) else {
        panic!("{err}")
    };
    assert!(msg.starts_with("env=0 args=0"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeclared_host_is_denied() {
    let h = Harness::new("").await;
    let err = h
        .attack(serde_json::json!({"mode": "http", "url": format!("{}/ok", h.echo.url)}))
        .await;
    let GuestError::Denied(msg) = guest(&err) else {
        panic!("{err}")
    };
    assert!(
        msg.contains("not among the hosts this plugin declares"),
        "{msg}"
    );
    assert!(h.echo.requests().is_empty(), "nothing may reach the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_but_not_granted_host_is_denied() {
    let h = Harness::new("").await;
    let err = h
        .attack(serde_json::json!({"mode": "http", "url": "https://declared-only.test/ok"}))
        .await;
    let GuestError::Denied(msg) = guest(&err) else {
        panic!("{err}")
    };
    assert!(
        msg.contains("https://declared-only.test is not granted"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_host_is_refused_and_not_followed() {
    let h = Harness::new("").await;
    let elsewhere = EchoServer::start().await;
    let url = format!("https://allowed.test/away?to={}/ok", elsewhere.url);
    let err = h
        .attack(serde_json::json!({"mode": "http", "url": url, "secret": "api-token"}))
        .await;
    let GuestError::Denied(msg) = guest(&err) else {
        panic!("{err}")
    };
    assert!(msg.contains("cross-origin redirects are refused"), "{msg}");
    assert_eq!(
        h.echo.requests().len(),
        1,
        "the granted host was asked once"
    );
    assert!(
        elsewhere.requests().is_empty(),
        "the redirect was not followed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_attaches_the_token_and_the_plugin_never_holds_it() {
    let h = Harness::new("").await;
    let p = h.provider();
    let config = serde_json::json!({"mode": "http", "url": "https://allowed.test/same", "secret": "api-token"});
    let nodes = p
        .plugin
        .list(
            p.caps.clone(),
            &h.session.config.limits,
            &config.to_string(),
            vec![],
        )
        .await
        .expect("a granted request succeeds");
    assert_eq!(
        nodes[0].name, "STATUS:200",
        "same-origin redirect followed to /ok"
    );
    let requests = h.echo.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    for (_, headers) in &requests {
        let auth = headers.iter().find(|(k, _)| k == "authorization");
        assert_eq!(
            auth.map(|(_, v)| v.as_str()),
            Some(&*format!("Bearer {API_TOKEN}"))
        );
        let host = headers.iter().find(|(k, _)| k == "host").unwrap();
        assert!(
            h.echo.url.ends_with(&host.1),
            "Host header is the destination's"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeclared_secret_is_never_attached() {
    let h = Harness::new("").await;
    let err = h
        .attack(serde_json::json!({"mode": "http", "url": "https://allowed.test/ok", "secret": "not-declared"}))
        .await;
    let GuestError::Denied(msg) = guest(&err) else {
        panic!("{err}")
    };
    assert!(
        msg.contains("secret `not-declared` is not among the secrets"),
        "{msg}"
    );
    assert!(h.echo.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_secret_logged_or_returned_by_the_plugin_is_redacted() {
    let h = Harness::new("").await;
    let err = h
        .attack(serde_json::json!({"mode": "log-secret", "secret": "reveal-me"}))
        .await;
    let GuestError::Provider(msg) = guest(&err) else {
        panic!("{err}")
    };
    assert_eq!(msg, "leaked [redacted:reveal-me]");
    let logs = h.logs.text();
    assert!(logs.contains("[redacted:reveal-me]"), "{logs}");
    assert!(
        logs.contains("[stdout]") && logs.contains("[stderr]"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reveal_is_refused_unless_granted() {
    let h = Harness::new("").await;
    let err = h
        .attack(serde_json::json!({"mode": "log-secret", "secret": "api-token"}))
        .await;
    let GuestError::Denied(msg) = guest(&err) else {
        panic!("{err}")
    };
    assert!(msg.contains("not revealed"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_string_is_stopped_by_the_memory_cap() {
    let h = Harness::new("").await;
    let err = h
        .attack(serde_json::json!({"mode": "huge-string", "size": 100_000_000}))
        .await;
    assert!(matches!(err, PluginError::Memory { mib: 64, .. }), "{err}");
    h.still_alive().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_string_over_the_return_limit_is_refused() {
    let h = Harness::new("").await;
    let err = h
        .attack(serde_json::json!({"mode": "huge-string", "size": 4_000_000}))
        .await;
    assert!(
        matches!(
            err,
            PluginError::Oversized {
                limit: 1_048_576,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_plugin_traps_with_a_clear_error() {
    let h = Harness::new("").await;
    let err = h.attack(serde_json::json!({"mode": "panic"})).await;
    assert!(matches!(err, PluginError::Trap { .. }), "{err}");
    assert!(err.to_string().contains("panicked"), "{err}");
    assert!(h.logs.text().contains("hostile panic"), "{}", h.logs.text());
    h.still_alive().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn granted_lists_only_what_is_both_declared_and_granted() {
    let h = Harness::new("").await;
    let err = h.attack(serde_json::json!({"mode": "list-secrets"})).await;
    assert_eq!(
        guest(&err),
        &GuestError::Provider("api-token,reveal-me".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_import_is_refused_at_load() {
    let runtime = runtime();
    let err = runtime
        .load(
            &plugins().foreign_import,
            None,
            &Limits::default(),
            LogSink::Tracing,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::ForeignImport { .. }), "{err}");
    assert!(err.to_string().contains("tazlab:evil/teleport"), "{err}");
    assert!(err.to_string().contains("sha256:"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_major_contract_version_is_refused_naming_both() {
    let runtime = runtime();
    let err = runtime
        .load(
            &plugins().wrong_major,
            None,
            &Limits::default(),
            LogSink::Tracing,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::Contract { .. }), "{err}");
    let msg = err.to_string();
    let ours = tazhost::runtime::CONTRACT_VERSION.to_string();
    assert!(msg.contains("9.0.0") && msg.contains(&ours), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_are_not_a_component_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.wasm");
    std::fs::write(&path, b"\0asm\x01\0\0\0garbage").unwrap();
    let err = runtime()
        .load(&path, None, &Limits::default(), LogSink::Tracing)
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::Invalid { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatty_plugin_is_cut_off_in_the_log_not_trapped() {
    let h = Harness::new("").await;
    let err = h
        .attack(serde_json::json!({"mode": "chatty", "bytes": 1_000_000}))
        .await;
    assert_eq!(guest(&err), &GuestError::Provider("printed".into()));
    let logs = h.logs.text();
    assert!(
        logs.contains("[stdout] yyyy"),
        "{}",
        &logs[..200.min(logs.len())]
    );
    assert!(
        logs.contains("more bytes dropped"),
        "the log says output was cut"
    );
}
