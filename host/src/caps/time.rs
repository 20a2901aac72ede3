//! The `time` capability: sleeping in the host, so polling never burns guest CPU.

use super::CallState;
use crate::runtime::bindings::tazlab::bootstrap::time as wit;
use std::time::Duration;

/// Longest single sleep (60 s); longer waits are several calls, each bounded by the deadline.
const MAX_SLEEP_MS: u32 = 60_000;

impl wit::Host for CallState {
    async fn sleep(&mut self, millis: u32) {
        let started = std::time::Instant::now();
        tokio::time::sleep(Duration::from_millis(millis.min(MAX_SLEEP_MS).into())).await;
        self.note_wait(started.elapsed());
    }
}
