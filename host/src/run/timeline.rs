//! When each phase of a run started and how long it took: the timing table at the end of
//! `tazhost run`, and `--report FILE` as JSON.

use std::time::{Duration, Instant};

/// One finished phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// `secrets`, `plugins`, `plan`, `platform`, `layers`.
    pub name: String,
    /// Since the run started.
    pub started: Duration,
    /// How long it took.
    pub took: Duration,
    /// Whether it succeeded.
    pub ok: bool,
}

/// The phases of one run, in order.
#[derive(Debug, Clone)]
pub struct Timeline {
    t0: Instant,
    phases: Vec<Phase>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// A timeline starting now.
    pub fn new() -> Self {
        Self {
            t0: Instant::now(),
            phases: Vec::new(),
        }
    }

    /// Run `work` as phase `name`, recording its time whether it succeeds or not.
    pub async fn phase<T, E>(
        &mut self,
        name: &str,
        work: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let start = Instant::now();
        let result = work.await;
        self.record(name, start, result.is_ok());
        result
    }

    /// Record a phase that ran from `start` until now.
    pub fn record(&mut self, name: &str, start: Instant, ok: bool) {
        self.phases.push(Phase {
            name: name.to_string(),
            started: start.duration_since(self.t0),
            took: start.elapsed(),
            ok,
        });
    }

    /// The phases so far.
    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// Since the run started.
    pub fn total(&self) -> Duration {
        self.t0.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn phases_are_recorded_in_order_with_their_result() {
        let mut t = Timeline::new();
        let ok: Result<u8, ()> = t
            .phase("secrets", async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(1)
            })
            .await;
        assert_eq!(ok, Ok(1));
        let failed: Result<(), &str> = t.phase("platform", async { Err("no") }).await;
        assert!(failed.is_err());
        let names: Vec<_> = t.phases().iter().map(|p| (p.name.as_str(), p.ok)).collect();
        assert_eq!(names, [("secrets", true), ("platform", false)]);
        assert!(t.phases()[0].took >= Duration::from_millis(20));
        assert!(t.phases()[1].started >= t.phases()[0].took);
        assert!(t.total() >= t.phases()[0].took);
    }
}
