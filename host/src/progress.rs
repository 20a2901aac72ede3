//! Progress of long transfers, drawn on stderr only when stderr is a terminal and the transfer
//! is large enough to be worth watching. Counts bytes only: never names a secret or a key.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Set while a prompt waits on the terminal: progress lines are not drawn over it.
static PROMPTING: AtomicBool = AtomicBool::new(false);
/// Whether a progress line is on the screen without its newline.
static LINE_OPEN: AtomicBool = AtomicBool::new(false);

/// Holds progress drawing off while a prompt is on the terminal.
pub struct PromptGuard(());

impl PromptGuard {
    /// Stop drawing, and end a half-drawn progress line so the prompt starts on its own line.
    pub fn new() -> Self {
        PROMPTING.store(true, Ordering::SeqCst);
        if LINE_OPEN.swap(false, Ordering::SeqCst) {
            eprintln!();
        }
        Self(())
    }
}

impl Default for PromptGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for PromptGuard {
    fn drop(&mut self) {
        PROMPTING.store(false, Ordering::SeqCst);
    }
}

/// Transfers smaller than this are not shown (most archives are kilobytes).
pub const SHOW_FROM_BYTES: u64 = 8 << 20;
const REDRAW: Duration = Duration::from_millis(250);

#[derive(Debug)]
struct State {
    label: String,
    bytes: AtomicU64,
    /// `u64::MAX` while unknown.
    total: AtomicU64,
    finished: AtomicBool,
}

/// A byte counter, shared by the parts of one transfer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Progress(Option<Arc<State>>);

impl Progress {
    /// Not shown (tests, pipes, small objects).
    pub fn hidden() -> Self {
        Self(None)
    }

    /// Shown as `label` on stderr if stderr is a terminal; the drawing task stops at
    /// [`Progress::done`]. Must be called inside a tokio runtime.
    pub fn on_terminal(label: impl Into<String>) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self::hidden();
        }
        let state = Arc::new(State {
            label: label.into(),
            bytes: AtomicU64::new(0),
            total: AtomicU64::new(u64::MAX),
            finished: AtomicBool::new(false),
        });
        let drawn = Arc::clone(&state);
        tokio::spawn(async move {
            let start = Instant::now();
            let mut shown = false;
            while !drawn.finished.load(Ordering::Relaxed) {
                tokio::time::sleep(REDRAW).await;
                let bytes = drawn.bytes.load(Ordering::Relaxed);
                let total = drawn.total.load(Ordering::Relaxed);
                if PROMPTING.load(Ordering::SeqCst)
                    || (bytes < SHOW_FROM_BYTES && (total == u64::MAX || total < SHOW_FROM_BYTES))
                {
                    continue;
                }
                shown = true;
                eprint!("\r{}", line(&drawn.label, bytes, total, start.elapsed()));
                LINE_OPEN.store(true, Ordering::SeqCst);
                let _ = std::io::stderr().flush();
            }
            if shown && !PROMPTING.load(Ordering::SeqCst) {
                let bytes = drawn.bytes.load(Ordering::Relaxed);
                let total = drawn.total.load(Ordering::Relaxed);
                eprintln!("\r{}", line(&drawn.label, bytes, total, start.elapsed()));
                LINE_OPEN.store(false, Ordering::SeqCst);
            }
        });
        Self(Some(state))
    }

    /// The transfer's size, once known.
    pub fn set_total(&self, total: Option<u64>) {
        if let (Some(state), Some(total)) = (&self.0, total) {
            state.total.store(total, Ordering::Relaxed);
        }
    }

    /// `n` more bytes moved.
    pub fn add(&self, n: u64) {
        if let Some(state) = &self.0 {
            state.bytes.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The transfer ended (either way): draw the last line and stop.
    pub fn done(&self) {
        if let Some(state) = &self.0 {
            state.finished.store(true, Ordering::Relaxed);
        }
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// `label: 12.0 / 256.0 MiB (4%), 85.3 MiB/s`
fn line(label: &str, bytes: u64, total: u64, elapsed: Duration) -> String {
    let rate = mib(bytes) / elapsed.as_secs_f64().max(0.001);
    if total == u64::MAX || total == 0 {
        format!("{label}: {:.1} MiB, {rate:.1} MiB/s", mib(bytes))
    } else {
        format!(
            "{label}: {:.1} / {:.1} MiB ({}%), {rate:.1} MiB/s",
            mib(bytes),
            mib(total),
            bytes.saturating_mul(100) / total
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_shows_sizes_percent_and_rate() {
        let text = line("pushing", 64 << 20, 256 << 20, Duration::from_secs(2));
        assert_eq!(text, "pushing: 64.0 / 256.0 MiB (25%), 32.0 MiB/s");
        let unknown = line("pulling", 3 << 20, u64::MAX, Duration::from_secs(1));
        assert_eq!(unknown, "pulling: 3.0 MiB, 3.0 MiB/s");
    }

    #[test]
    fn a_hidden_counter_ignores_everything() {
        let p = Progress::hidden();
        p.set_total(Some(10));
        p.add(5);
        p.done();
        assert!(p.0.is_none());
    }
}
