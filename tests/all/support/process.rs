//! Stopping a server the harness started, by its PID: SIGTERM, a grace period, then SIGKILL.

use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Stop `child` unless it has already exited (and been reaped: then its PID may be reused, so
/// nothing is sent).
pub fn stop_child(child: &mut Child, grace: Duration) {
    if !matches!(child.try_wait(), Ok(None)) {
        return;
    }
    let sent = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if sent {
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            match child.try_wait() {
                Ok(None) => sleep(Duration::from_millis(50)),
                _ => return,
            }
        }
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}
