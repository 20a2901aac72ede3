//! Shared test helpers: building the plugins once, runtimes, cluster.toml files, fake clouds,
//! and running the real `tazhost` binary.

#![allow(dead_code)]

mod flaky;
mod http;
mod openbao;
mod plugins;
mod process;
mod s3server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use tazhost::caps::{LogLevel, LogSink};
use tazhost::runtime::{ComponentCache, Runtime};

pub use flaky::FlakyProxy;
pub use openbao::OpenBao;
pub use plugins::{plugins, python, workspace};
pub use s3server::S3Server;

/// A component cache shared by the tests of this process (compiling every plugin in every test
/// would only slow them down; the cache's own tests use private directories).
pub fn shared_cache_dir() -> PathBuf {
    workspace().join("target/test-component-cache")
}

/// A runtime with the shared cache.
pub fn runtime() -> Runtime {
    Runtime::new(ComponentCache::at(shared_cache_dir())).expect("runtime")
}

/// Log lines collected from plugins.
#[derive(Clone, Default)]
pub struct Logs(pub Arc<Mutex<Vec<(String, LogLevel, String)>>>);

impl Logs {
    pub fn sink(&self) -> LogSink {
        LogSink::Memory(self.0.clone())
    }
    pub fn text(&self) -> String {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(p, l, m)| format!("{p} {l:?} {m}\n"))
            .collect()
    }
}

/// The `tazhost` binary built with this test.
pub fn tazhost() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tazhost"));
    cmd.env("TAZHOST_CACHE_DIR", shared_cache_dir())
        .env_remove("TAZHOST_LOG")
        .env("NO_COLOR", "1");
    cmd
}

/// stdout + stderr of a finished command, as text.
pub fn output_text(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A temporary directory holding a cluster.toml.
pub struct ClusterDir {
    pub dir: tempfile::TempDir,
}

impl ClusterDir {
    pub fn new(toml: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("cluster.toml"), toml).unwrap();
        Self { dir }
    }
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("cluster.toml")
    }
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// A cluster.toml for one Hetzner pool against a fake at `endpoint`.
pub fn hetzner_cluster_toml(endpoint: &str, plugin: &Path, count: u32) -> String {
    format!(
        r#"
[cluster]
name = "tazlab-k8s"

[secrets]
hcloud-token = {{ from = "env", var = "HCLOUD_TOKEN" }}

[providers.hetzner]
plugin = "{plugin}"
config = {{ location = "fsn1", poll_interval_ms = 100 }}

[providers.hetzner.grants]
hosts = ["https://api.hetzner.cloud"]
secrets = [{{ name = "hcloud-token" }}]
endpoints = {{ "https://api.hetzner.cloud" = "{endpoint}" }}

[[pools]]
name = "control"
provider = "hetzner"
count = {count}
role = "controlplane"
size = "cx22"
image = "182733"
machine_config = "controlplane.yaml"
labels = {{ env = "test" }}
"#,
        plugin = plugin.display()
    )
}

/// A small Talos-like machine config.
pub const MACHINE_CONFIG: &str = "version: v1alpha1\nmachine:\n  type: controlplane\n  token: test-machine-token\ncluster:\n  clusterName: tazlab-k8s\n";

/// A request as the echo server saw it: URI and headers.
pub type SeenRequest = (String, Vec<(String, String)>);

/// A tiny local HTTP server that records what it receives: stands in for a granted API.
pub struct EchoServer {
    pub url: String,
    pub seen: Arc<Mutex<Vec<SeenRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EchoServer {
    /// Routes: `/ok` → 200 "ok"; `/away?to=URL` → 302 to URL; `/same` → 302 to `/ok`;
    /// `/big?bytes=N` → N bytes; `/echo` → the request's headers as the body (as httpbin does).
    pub async fn start() -> Self {
        use axum::extract::{Query, Request};
        use axum::response::{IntoResponse, Redirect};
        use std::collections::HashMap;
        let seen: Arc<Mutex<Vec<SeenRequest>>> = Default::default();
        let record = seen.clone();
        let app = axum::Router::new()
            .route("/ok", axum::routing::any(|| async { "ok" }))
            .route(
                "/away",
                axum::routing::get(|Query(q): Query<HashMap<String, String>>| async move {
                    Redirect::to(q.get("to").map(String::as_str).unwrap_or("/")).into_response()
                }),
            )
            .route(
                "/same",
                axum::routing::get(|| async { Redirect::to("/ok") }),
            )
            .route(
                "/echo",
                axum::routing::get(|headers: axum::http::HeaderMap| async move {
                    headers
                        .iter()
                        .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
                        .collect::<String>()
                }),
            )
            .route(
                "/big",
                axum::routing::get(|Query(q): Query<HashMap<String, usize>>| async move {
                    vec![b'x'; q.get("bytes").copied().unwrap_or(0)]
                }),
            )
            .layer(axum::middleware::from_fn(
                move |req: Request, next: axum::middleware::Next| {
                    let record = record.clone();
                    async move {
                        let headers = req
                            .headers()
                            .iter()
                            .map(|(k, v)| {
                                (
                                    k.to_string(),
                                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                )
                            })
                            .collect();
                        record
                            .lock()
                            .unwrap()
                            .push((req.uri().to_string(), headers));
                        next.run(req).await
                    }
                },
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, seen, task }
    }

    pub fn requests(&self) -> Vec<SeenRequest> {
        self.seen.lock().unwrap().clone()
    }
}
