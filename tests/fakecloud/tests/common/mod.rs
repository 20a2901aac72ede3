//! What the standalone-binary tests share.

/// Kills the child by PID when dropped, on failure too.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
