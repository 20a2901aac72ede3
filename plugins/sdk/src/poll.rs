//! Waiting in the host.

use std::time::Duration;

use crate::Error;
use crate::bindings::tazlab::bootstrap::time as wit;

/// Longest sleep the host grants per `time.sleep` call.
const MAX_SLEEP_MS: u32 = 60_000;

/// Sleeps in the host (`time.sleep`, in chunks of at most 60 s). Costs no CPU budget but counts
/// against the call's wall-clock deadline. Sub-millisecond remainders are rounded up.
pub fn sleep(duration: Duration) {
    for chunk in sleep_chunks(duration) {
        wit::sleep(chunk);
    }
}

fn sleep_chunks(duration: Duration) -> Vec<u32> {
    let mut ms = duration.as_millis();
    if !duration.subsec_nanos().is_multiple_of(1_000_000) {
        ms += 1;
    }
    let mut chunks = Vec::new();
    while ms > 0 {
        let c = ms.min(u128::from(MAX_SLEEP_MS)) as u32;
        chunks.push(c);
        ms -= u128::from(c);
    }
    chunks
}

/// Checks the two polling settings every provider's config has: `poll_interval_ms` (100 to
/// 60 000) and `create_timeout_s` (1 to 7200). `plugin` prefixes the message, e.g. `hetzner`.
pub fn check_poll_settings(
    plugin: &str,
    poll_interval_ms: u32,
    create_timeout_s: u32,
) -> Result<(), Error> {
    if !(100..=60_000).contains(&poll_interval_ms) {
        return Err(crate::error::invalid_config(format!(
            "{plugin} config: poll_interval_ms is {poll_interval_ms}; it must be between 100 and 60000"
        )));
    }
    if !(1..=7200).contains(&create_timeout_s) {
        return Err(crate::error::invalid_config(format!(
            "{plugin} config: create_timeout_s is {create_timeout_s}; it must be between 1 and 7200"
        )));
    }
    Ok(())
}

/// Calls `check` until it returns `Ok(Some(value))`, sleeping `interval` in the host between
/// calls; an error from `check` ends the wait at once.
///
/// Gives up with `transient("still not done after N s")` once the time slept reaches
/// `max_wait` (`check` runs once more at that point). Time spent inside `check` (e.g. HTTP
/// requests) is not counted: the host's deadline for the call bounds it. Wrap the error with
/// [`crate::error::with_context`] to say what was awaited.
pub fn poll_until<T, F>(interval: Duration, max_wait: Duration, check: F) -> Result<T, Error>
where
    F: FnMut() -> Result<Option<T>, Error>,
{
    poll_with(interval, max_wait, check, sleep)
}

fn poll_with<T, F, S>(
    interval: Duration,
    max_wait: Duration,
    mut check: F,
    mut sleep: S,
) -> Result<T, Error>
where
    F: FnMut() -> Result<Option<T>, Error>,
    S: FnMut(Duration),
{
    // A zero interval would spin through host calls; one millisecond is the floor.
    let interval = interval.max(Duration::from_millis(1));
    let mut waited = Duration::ZERO;
    loop {
        if let Some(v) = check()? {
            return Ok(v);
        }
        if waited >= max_wait {
            return Err(crate::error::transient(format!(
                "still not done after {} s",
                waited.as_secs_f64().round()
            )));
        }
        let step = interval.min(max_wait - waited);
        sleep(step);
        waited += step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_the_host_cap() {
        assert_eq!(sleep_chunks(Duration::ZERO), Vec::<u32>::new());
        assert_eq!(sleep_chunks(Duration::from_micros(1)), vec![1]);
        assert_eq!(sleep_chunks(Duration::from_millis(1500)), vec![1500]);
        assert_eq!(
            sleep_chunks(Duration::from_secs(130)),
            vec![60_000, 60_000, 10_000]
        );
    }

    #[test]
    fn polls_until_ready() {
        let mut calls = 0;
        let mut slept = Vec::new();
        let v = poll_with(
            Duration::from_millis(100),
            Duration::from_secs(10),
            || {
                calls += 1;
                Ok(if calls == 3 { Some("done") } else { None })
            },
            |d| slept.push(d),
        )
        .unwrap();
        assert_eq!(v, "done");
        assert_eq!(slept, vec![Duration::from_millis(100); 2]);
    }

    #[test]
    fn gives_up_after_max_wait() {
        let mut calls = 0;
        let mut total = Duration::ZERO;
        let err = poll_with(
            Duration::from_millis(400),
            Duration::from_secs(1),
            || {
                calls += 1;
                Ok::<Option<()>, Error>(None)
            },
            |d| total += d,
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::Transient(m) if m == "still not done after 1 s"),
            "{err:?}"
        );
        assert_eq!(total, Duration::from_secs(1)); // 400 + 400 + 200
        assert_eq!(calls, 4);
    }

    #[test]
    fn errors_stop_polling() {
        let err = poll_with(
            Duration::from_millis(1),
            Duration::from_secs(1),
            || Err::<Option<()>, _>(crate::error::provider("boom")),
            |_| panic!("must not sleep"),
        )
        .unwrap_err();
        assert_eq!(err, Error::Provider("boom".into()));
    }
}
