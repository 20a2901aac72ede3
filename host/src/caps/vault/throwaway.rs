//! A throwaway local OpenBao (or Vault) server for `snapshot verify`: raft storage in a private
//! temporary folder, API and cluster ports on loopback, nothing of the caller's environment.
//! Dropping it stops the process (SIGTERM, then SIGKILL) and removes the folder.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(8);

/// A running throwaway server.
pub struct Throwaway {
    child: Child,
    dir: PathBuf,
    addr: String,
}

/// The server binary: `explicit`, else `$TAZHOST_BAO`, else `bao` or `vault` on the PATH.
pub fn find_binary(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("TAZHOST_BAO").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["bao", "vault"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

impl Throwaway {
    /// Start `binary` and wait until its API answers.
    pub async fn start(binary: &Path) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!(
            "tazhost-verify-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&dir)
            .map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let guard = RemoveOnDrop(dir.clone());
        let data = dir.join("raft");
        std::fs::create_dir(&data).map_err(|e| format!("creating {}: {e}", data.display()))?;
        let (port, cluster_port) = two_free_ports().map_err(|e| format!("choosing ports: {e}"))?;
        let config = dir.join("server.hcl");
        std::fs::write(
            &config,
            format!(
                "storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"verify\"\n  performance_multiplier = 1\n}}\n\
                 listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  cluster_address = \"127.0.0.1:{cluster_port}\"\n  tls_disable = true\n}}\n\
                 api_addr = \"http://127.0.0.1:{port}\"\ncluster_addr = \"http://127.0.0.1:{cluster_port}\"\ndisable_mlock = true\nui = false\n",
                data.display()
            ),
        )
        .map_err(|e| format!("writing {}: {e}", config.display()))?;
        let log = std::fs::File::create(dir.join("server.log"))
            .map_err(|e| format!("creating the server log: {e}"))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("creating the server log: {e}"))?;
        let mut command = Command::new(binary);
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl(2) only, in the child between fork and exec. If tazhost dies
            // without running Drop (SIGKILL), the server, which holds the restored secrets,
            // is terminated with it.
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    Ok(())
                });
            }
        }
        let child = command
            .arg("server")
            .arg(format!("-config={}", config.display()))
            .env_clear()
            .envs(std::env::var_os("PATH").map(|p| ("PATH", p)))
            .env("HOME", &dir)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        std::mem::forget(guard); // `Throwaway` removes the folder from now on
        let mut server = Self {
            child,
            dir,
            addr: format!("http://127.0.0.1:{port}"),
        };
        let client =
            super::VaultClient::new(&server.addr, None, None).map_err(|e| e.to_string())?;
        let start = Instant::now();
        loop {
            if client.health().await.is_ok() {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "{} exited before it answered ({status}): {}",
                    binary.display(),
                    server.log_tail()
                ));
            }
            if start.elapsed() > READY_TIMEOUT {
                return Err(format!(
                    "{} did not answer within {READY_TIMEOUT:?}: {}",
                    binary.display(),
                    server.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Its API address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let start = text.len().saturating_sub(2000);
        crate::report::clean(text.get(start..).unwrap_or(""))
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: kill(2) with our own child's PID, which is not reaped yet.
            unsafe {
                libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
            }
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn two_free_ports() -> std::io::Result<(u16, u16)> {
    let a = std::net::TcpListener::bind("127.0.0.1:0")?;
    let b = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}
