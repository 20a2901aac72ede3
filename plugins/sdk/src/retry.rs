//! When and how long to wait before retrying a request. Pure functions: no host calls.
//!
//! [`crate::http::Request::send`] retries on 429, on 5xx and on `transient` errors from the host.
//! Before attempt `n + 1` it waits [`RetryPolicy::delay`]: the server's own hint when it gave one
//! ([`server_hint`]: `Retry-After`, or on a 429 Hetzner's `RateLimit-Reset`), otherwise an
//! exponential backoff with jitter ([`RetryPolicy::backoff`]), never more than
//! [`RetryPolicy::max_delay`].

use std::time::Duration;

use crate::http::header;

/// How often and how patiently to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included. `1` means no retry; `0` is read as `1`.
    pub max_attempts: u32,
    /// Backoff before the second attempt; it doubles for each further attempt.
    pub base_delay: Duration,
    /// Longest single wait, whatever the backoff or the server's hint says.
    pub max_delay: Duration,
    /// Whether a plain `500 Internal Server Error` is retried. Most cloud APIs use it for
    /// passing faults; Proxmox VE uses it for definite refusals ("VM 105 already running"), so
    /// its plugin turns this off (502, 503, 504 and 429 are retried either way).
    pub retry_internal_error: bool,
}

impl Default for RetryPolicy {
    /// 5 attempts, backoff from 500 ms, waits capped at 30 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            retry_internal_error: true,
        }
    }
}

impl RetryPolicy {
    /// A policy that sends exactly once.
    pub const fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            retry_internal_error: false,
        }
    }

    /// Whether an answer with this status is worth another attempt under this policy.
    pub fn retries_status(&self, status: u16) -> bool {
        crate::error::is_retryable_status(status) && (status != 500 || self.retry_internal_error)
    }

    /// Whether another attempt may follow attempt number `attempt` (1-based).
    pub fn may_retry(&self, attempt: u32) -> bool {
        attempt < self.max_attempts.max(1)
    }

    /// Exponential backoff with "equal jitter" after failed attempt `attempt` (1-based).
    ///
    /// The un-jittered delay is `base_delay * 2^(attempt-1)`, capped at `max_delay`; the result
    /// lies between half of it and all of it, chosen by `random`.
    pub fn backoff(&self, attempt: u32, random: u32) -> Duration {
        let base = self.base_delay.as_millis().min(u128::from(u64::MAX)) as u64;
        let cap = self.max_delay.as_millis().min(u128::from(u64::MAX)) as u64;
        let shift = attempt.saturating_sub(1).min(32);
        let full = base.saturating_mul(1u64 << shift).min(cap);
        let half = full / 2;
        let jitter = u64::from(random) % (full - half + 1);
        Duration::from_millis(half + jitter)
    }

    /// The wait after failed attempt `attempt`: the server's `hint` when it gave a positive one,
    /// else [`backoff`](Self::backoff); capped at `max_delay` either way.
    pub fn delay(&self, attempt: u32, hint: Option<Duration>, random: u32) -> Duration {
        match hint {
            Some(h) if !h.is_zero() => h.min(self.max_delay),
            _ => self.backoff(attempt, random),
        }
    }
}

/// How long the server asked us to wait, if it did.
///
/// `Retry-After` (delta-seconds or an HTTP date) on any status; on 429 only, Hetzner's
/// `RateLimit-Reset` (the unix time at which the limit is restored). `now_unix` is the current
/// unix time, needed for the date forms; pass the response's `Date` when it has one (the
/// server's own clock, see [`parse_http_date`]). A time in the past gives `Duration::ZERO`.
pub fn server_hint(
    status: u16,
    headers: &[(String, String)],
    now_unix: Option<u64>,
) -> Option<Duration> {
    if let Some(v) = header(headers, "retry-after") {
        let v = v.trim();
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let (Some(at), Some(now)) = (parse_http_date(v), now_unix) {
            return Some(Duration::from_secs(at.saturating_sub(now)));
        }
    }
    let reset = header(headers, "ratelimit-reset").and_then(|v| v.trim().parse::<u64>().ok());
    match (status, reset, now_unix) {
        (429, Some(reset), Some(now)) => Some(Duration::from_secs(reset.saturating_sub(now))),
        _ => None,
    }
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, the form HTTP servers send) into
/// unix seconds. The obsolete RFC 850 and asctime forms give `None`.
pub fn parse_http_date(s: &str) -> Option<u64> {
    let s = s.trim();
    let (_weekday, rest) = s.split_once(", ")?;
    let mut parts = rest.split(' ');
    let day: u32 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let h: u64 = hms.next()?.parse().ok()?;
    let m: u64 = hms.next()?.parse().ok()?;
    let sec: u64 = hms.next()?.parse().ok()?;
    if parts.next()? != "GMT" || parts.next().is_some() || hms.next().is_some() {
        return None;
    }
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 || !(1970..=9999).contains(&year) {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + h * 3600 + m * 60 + sec)
}

/// Days from 1970-01-01 to the given proleptic Gregorian date.
fn days_since_epoch(year: i64, month: u32, day: u32) -> i64 {
    // Count from 0000-03-01 so that the leap day ends the year.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * i64::from(m) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_can_be_left_alone() {
        let pve = RetryPolicy {
            retry_internal_error: false,
            ..RetryPolicy::default()
        };
        assert!(!pve.retries_status(500));
        for status in [429, 502, 503, 504] {
            assert!(pve.retries_status(status), "{status}");
        }
        assert!(RetryPolicy::default().retries_status(500));
        assert!(!RetryPolicy::default().retries_status(404));
    }

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            retry_internal_error: true,
            max_attempts: 10,
            base_delay: Duration::from_millis(1000),
            max_delay: Duration::from_millis(5000),
        };
        // random = 0 gives the lower half, u32::MAX-ish the upper end
        assert_eq!(p.backoff(1, 0), Duration::from_millis(500));
        assert_eq!(p.backoff(2, 0), Duration::from_millis(1000));
        assert_eq!(p.backoff(3, 0), Duration::from_millis(2000));
        assert_eq!(p.backoff(4, 0), Duration::from_millis(2500)); // capped at 5000
        assert_eq!(p.backoff(40, 0), Duration::from_millis(2500));
        for r in [0u32, 1, 17, 500, 501, u32::MAX] {
            let d = p.backoff(2, r);
            assert!(
                d >= Duration::from_millis(1000) && d <= Duration::from_millis(2000),
                "{d:?}"
            );
        }
        assert_eq!(p.backoff(2, 1000), Duration::from_millis(2000));
    }

    #[test]
    fn attempts() {
        let p = RetryPolicy::default();
        assert!(p.may_retry(1));
        assert!(p.may_retry(4));
        assert!(!p.may_retry(5));
        assert!(!RetryPolicy::none().may_retry(1));
        let zero = RetryPolicy {
            retry_internal_error: true,
            max_attempts: 0,
            ..RetryPolicy::default()
        };
        assert!(!zero.may_retry(1));
    }

    #[test]
    fn retry_after_seconds_and_date() {
        assert_eq!(
            server_hint(503, &h(&[("retry-after", "7")]), None),
            Some(Duration::from_secs(7))
        );
        let now = parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            server_hint(
                429,
                &h(&[("Retry-After", "Wed, 21 Oct 2015 07:28:09 GMT")]),
                Some(now)
            ),
            Some(Duration::from_secs(9))
        );
        assert_eq!(
            server_hint(503, &h(&[("retry-after", "soon")]), Some(now)),
            None
        );
    }

    #[test]
    fn ratelimit_reset_only_on_429() {
        let headers = h(&[
            ("ratelimit-reset", "1700000042"),
            ("ratelimit-remaining", "0"),
        ]);
        assert_eq!(
            server_hint(429, &headers, Some(1_700_000_000)),
            Some(Duration::from_secs(42))
        );
        assert_eq!(server_hint(503, &headers, Some(1_700_000_000)), None);
        assert_eq!(server_hint(429, &headers, None), None);
        // already reset: zero, so the caller falls back to backoff
        assert_eq!(
            server_hint(429, &headers, Some(1_800_000_000)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn delay_prefers_hint_and_caps_it() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3)), 0),
            Duration::from_secs(3)
        );
        assert_eq!(p.delay(1, Some(Duration::from_secs(3600)), 0), p.max_delay);
        assert_eq!(p.delay(1, Some(Duration::ZERO), 0), p.backoff(1, 0));
        assert_eq!(p.delay(2, None, 7), p.backoff(2, 7));
    }

    #[test]
    fn http_dates() {
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2000 12:00:00 GMT"),
            Some(951_825_600)
        );
        assert_eq!(
            parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 CET"), None);
        assert_eq!(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"), None);
        assert_eq!(parse_http_date(""), None);
    }
}
