//! The fake's state: instances, retry tokens, address pools, the rate limiter and the
//! injected failures. Handlers lock it briefly; nothing here awaits.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use rand::Rng as _;
use serde_json::Value;

use super::Options;
use super::catalog;
use super::errors::{ApiError, Fault};
use super::launch::LaunchSpec;
use super::model::{self, Instance, InstanceRecord, Lifecycle, Termination, Vnic};
use super::signature::Verifier;

/// "Retry tokens expire after 24 hours."
pub const RETRY_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// How many reasons for refused requests are kept (the oldest are dropped).
pub const MAX_AUTH_FAILURES: usize = 1000;

/// The longest `opc-retry-token` the API accepts.
pub const MAX_RETRY_TOKEN_LEN: usize = 64;

/// Everything the router shares between requests.
pub(crate) struct Shared {
    pub verifier: Verifier,
    requests: AtomicU64,
    state: Mutex<State>,
}

impl Shared {
    pub fn new(verifier: Verifier, options: &Options) -> Self {
        Self {
            verifier,
            requests: AtomicU64::new(0),
            state: Mutex::new(State::new(options, Instant::now())),
        }
    }

    /// The state; a handler that panicked while holding the lock does not poison it for
    /// the other requests (the fake is a test tool: keep serving).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn instances(&self) -> Vec<InstanceRecord> {
        let now = Instant::now();
        let mut st = self.lock();
        st.purge(now);
        st.ordered().map(|i| InstanceRecord::of(i, now)).collect()
    }
}

/// `limit` requests per second with bursts of up to `limit`: a token bucket.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    limit: u32,
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    pub fn new(limit: u32, now: Instant) -> Self {
        Self {
            limit,
            tokens: f64::from(limit),
            last: now,
        }
    }

    /// Counts one request at `now`; false when none is left.
    pub fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        self.tokens = (self.tokens + elapsed * f64::from(self.limit)).min(f64::from(self.limit));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What an `opc-retry-token` was first used for.
#[derive(Debug, Clone)]
struct RetryEntry {
    request: Value,
    instance_id: String,
    at: Instant,
}

pub(crate) struct State {
    region: String,
    provision: Duration,
    terminate: Duration,
    retention: Duration,
    instances: BTreeMap<String, Instance>,
    retry_tokens: HashMap<String, RetryEntry>,
    next_seq: u64,
    pub fail_next_launches: u32,
    pub launch_fault: Fault,
    /// LaunchInstance calls that succeed but whose answer is replaced by a 503, as when the
    /// response is lost on the way back.
    pub lose_next_launch_answers: u32,
    pub fail_next_requests: u32,
    pub request_fault: Fault,
    pub limiter: Option<RateLimiter>,
    auth_failures: VecDeque<String>,
}

/// The documentation ranges (RFC 5737) public IPs are taken from, in order.
const PUBLIC_POOLS: [[u8; 3]; 3] = [[203, 0, 113], [198, 51, 100], [192, 0, 2]];

/// Lowercase base32, the alphabet of OCIDs' unique part.
const OCID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

impl State {
    fn new(options: &Options, now: Instant) -> Self {
        Self {
            region: options.region.clone(),
            provision: options.provision_duration,
            terminate: options.terminate_duration,
            retention: options.terminated_retention,
            instances: BTreeMap::new(),
            retry_tokens: HashMap::new(),
            next_seq: 1,
            fail_next_launches: options.fail_next_launches,
            lose_next_launch_answers: 0,
            launch_fault: options.launch_fault,
            fail_next_requests: 0,
            request_fault: Fault::default(),
            limiter: options.rate_limit.map(|l| RateLimiter::new(l, now)),
            auth_failures: VecDeque::new(),
        }
    }

    /// A new OCID of `kind` in this region (`ocid1.instance.oc1.iad.a...`).
    pub fn ocid(&self, kind: &str) -> String {
        let mut rng = rand::rng();
        let unique: String = std::iter::once('a')
            .chain(
                (0..59)
                    .map(|_| char::from(OCID_ALPHABET[rng.random_range(0..OCID_ALPHABET.len())])),
            )
            .collect();
        format!(
            "ocid1.{kind}.oc1.{}.{unique}",
            catalog::region_key(&self.region)
        )
    }

    /// Instances in creation order.
    pub fn ordered(&self) -> impl Iterator<Item = &Instance> {
        let mut all: Vec<&Instance> = self.instances.values().collect();
        all.sort_by_key(|i| i.seq);
        all.into_iter()
    }

    pub fn instance(&self, id: &str) -> Result<&Instance, ApiError> {
        self.instances.get(id).ok_or_else(ApiError::not_found)
    }

    pub fn by_vnic(&self, vnic_id: &str) -> Result<&Instance, ApiError> {
        self.instances
            .values()
            .find(|i| i.vnic.id == vnic_id)
            .ok_or_else(ApiError::not_found)
    }

    pub fn by_attachment(&self, attachment_id: &str) -> Result<&Instance, ApiError> {
        self.instances
            .values()
            .find(|i| i.vnic.attachment_id == attachment_id)
            .ok_or_else(ApiError::not_found)
    }

    /// Forgets instances terminated longer ago than the retention, and expired retry
    /// tokens.
    pub fn purge(&mut self, now: Instant) {
        let retention = self.retention;
        self.instances.retain(|_, i| {
            i.termination
                .as_ref()
                .is_none_or(|t| now < t.done_at + retention)
        });
        self.retry_tokens
            .retain(|_, e| now.saturating_duration_since(e.at) < RETRY_TOKEN_TTL);
    }

    /// The answer for this request if it is throttled or hit by an injected fault.
    pub fn throttle(&mut self, now: Instant) -> Option<ApiError> {
        if self.limiter.as_mut().is_some_and(|l| !l.allow(now)) {
            return Some(ApiError::too_many_requests());
        }
        if self.fail_next_requests > 0 {
            self.fail_next_requests -= 1;
            return Some(ApiError::fault(self.request_fault));
        }
        None
    }

    /// Records why a request was not authenticated (the last [`MAX_AUTH_FAILURES`]).
    pub fn record_auth_failure(&mut self, why: String) {
        if self.auth_failures.len() == MAX_AUTH_FAILURES {
            self.auth_failures.pop_front();
        }
        self.auth_failures.push_back(why);
    }

    /// The recorded reasons, oldest first.
    pub fn auth_failures(&self) -> Vec<String> {
        self.auth_failures.iter().cloned().collect()
    }

    /// The injected failure for this `LaunchInstance`, if one is due.
    /// Whether this committed launch's answer is to be lost.
    pub fn take_lost_answer(&mut self) -> bool {
        let lose = self.lose_next_launch_answers > 0;
        if lose {
            self.lose_next_launch_answers -= 1;
        }
        lose
    }

    pub fn take_launch_fault(&mut self) -> Option<ApiError> {
        (self.fail_next_launches > 0).then(|| {
            self.fail_next_launches -= 1;
            ApiError::fault(self.launch_fault)
        })
    }

    /// Addresses held by instances that are not terminated.
    fn live_addresses(
        &self,
        now: Instant,
    ) -> impl Iterator<Item = (&Instance, Ipv4Addr, Option<Ipv4Addr>)> {
        self.instances
            .values()
            .filter(move |i| i.lifecycle(now) != Lifecycle::Terminated)
            .map(|i| (i, i.vnic.private_ip, i.vnic.public_ip))
    }

    fn free_public_ip(&self, now: Instant) -> Option<Ipv4Addr> {
        let used: Vec<Ipv4Addr> = self.live_addresses(now).filter_map(|(_, _, p)| p).collect();
        PUBLIC_POOLS
            .iter()
            .flat_map(|[a, b, c]| (1..=254).map(move |d| Ipv4Addr::new(*a, *b, *c, d)))
            .find(|ip| !used.contains(ip))
    }

    /// First free host of 10.0.0.0/16 in `subnet`; like OCI, the first two addresses
    /// (network, gateway) and the last (broadcast) are never handed out.
    fn free_private_ip(&self, subnet: &str, now: Instant) -> Option<Ipv4Addr> {
        let used: Vec<Ipv4Addr> = self
            .live_addresses(now)
            .filter(|(i, _, _)| i.spec.vnic.subnet_id == subnet)
            .map(|(_, p, _)| p)
            .collect();
        (2u32..0xffff)
            .map(|n| Ipv4Addr::new(10, 0, (n >> 8) as u8, n as u8))
            .find(|ip| !used.contains(ip))
    }

    /// `LaunchInstance`. With a retry token: the same token and the same request give the
    /// instance created the first time; another request under that token, or a token
    /// whose instance is gone, is 409 `InvalidatedRetryToken`. Returns the instance id.
    pub fn launch(
        &mut self,
        spec: LaunchSpec,
        retry: Option<(String, Value)>,
        now: Instant,
        wall: SystemTime,
    ) -> Result<String, ApiError> {
        self.purge(now);
        if let Some((token, request)) = &retry
            && let Some(entry) = self.retry_tokens.get(token)
        {
            if entry.request != *request {
                return Err(ApiError::invalidated_retry_token(
                    "The opc-retry-token was already used with a different request; use a new token.",
                ));
            }
            if !self.instances.contains_key(&entry.instance_id) {
                return Err(ApiError::invalidated_retry_token(
                    "The instance created with this opc-retry-token no longer exists; use a new token.",
                ));
            }
            return Ok(entry.instance_id.clone());
        }
        let private_ip = match spec.vnic.private_ip {
            Some(ip) => ip,
            None => self
                .free_private_ip(&spec.vnic.subnet_id, now)
                .ok_or_else(|| {
                    ApiError::invalid_parameter("The subnet has no free private IP left.")
                })?,
        };
        let public_ip = if spec.vnic.assign_public_ip {
            let ip = self.free_public_ip(now);
            Some(ip.ok_or_else(|| ApiError::invalid_parameter("The fake has no public IPs left."))?)
        } else {
            None
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let id = self.ocid("instance");
        let b = seq.to_be_bytes();
        let vnic = Vnic {
            id: self.ocid("vnic"),
            attachment_id: self.ocid("vnicattachment"),
            private_ip,
            public_ip,
            mac_address: format!("02:00:17:{:02X}:{:02X}:{:02X}", b[5], b[6], b[7]),
            vlan_tag: (seq % 4000) as u32 + 1,
        };
        let display_name = spec
            .display_name
            .clone()
            .unwrap_or_else(|| format!("instance{}", model::compact_timestamp(wall)));
        let fault_domain = spec
            .fault_domain
            .clone()
            .unwrap_or_else(|| format!("FAULT-DOMAIN-{}", (seq - 1) % 3 + 1));
        let retry_token = retry.as_ref().map(|(t, _)| t.clone());
        self.instances.insert(
            id.clone(),
            Instance {
                seq,
                id: id.clone(),
                spec,
                display_name,
                fault_domain,
                region: self.region.clone(),
                created: wall,
                running_at: now + self.provision,
                termination: None,
                retry_token,
                vnic,
            },
        );
        if let Some((token, request)) = retry {
            self.retry_tokens.insert(
                token,
                RetryEntry {
                    request,
                    instance_id: id.clone(),
                    at: now,
                },
            );
        }
        Ok(id)
    }

    /// `TerminateInstance`: the instance is TERMINATING for the terminate duration, then
    /// TERMINATED (and still readable for the retention). Terminating an instance that is
    /// already terminating or terminated is accepted and changes nothing. `if_match`, when
    /// given, must be the current etag (412 `NoEtagMatch` otherwise).
    pub fn terminate(
        &mut self,
        id: &str,
        if_match: Option<&str>,
        preserve_boot_volume: bool,
        now: Instant,
    ) -> Result<(), ApiError> {
        self.purge(now);
        let terminate = self.terminate;
        let instance = self.instances.get_mut(id).ok_or_else(ApiError::not_found)?;
        if let Some(tag) = if_match
            && tag != model::etag(&instance.to_json(now))
        {
            return Err(ApiError::no_etag_match());
        }
        if instance.termination.is_none() {
            instance.termination = Some(Termination {
                done_at: now + terminate,
                preserve_boot_volume,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limiter_allows_a_burst_then_refills_per_second() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(3, t0);
        assert!(rl.allow(t0));
        assert!(rl.allow(t0));
        assert!(rl.allow(t0));
        assert!(!rl.allow(t0));
        assert!(!rl.allow(t0 + Duration::from_millis(300)));
        assert!(rl.allow(t0 + Duration::from_millis(700)));
        assert!(rl.allow(t0 + Duration::from_secs(10)));
    }

    #[test]
    fn only_the_latest_auth_failures_are_kept() {
        let mut st = State::new(&Options::default(), Instant::now());
        for i in 0..MAX_AUTH_FAILURES + 5 {
            st.record_auth_failure(format!("failure {i}"));
        }
        let kept = st.auth_failures();
        assert_eq!(kept.len(), MAX_AUTH_FAILURES);
        assert_eq!(kept[0], "failure 5");
        assert_eq!(kept.last().map(String::as_str), Some("failure 1004"));
    }

    #[test]
    fn ocids_have_the_documented_shape() {
        let st = State::new(&Options::default(), Instant::now());
        let id = st.ocid("instance");
        let parts: Vec<&str> = id.split('.').collect();
        assert_eq!(parts[..4], ["ocid1", "instance", "oc1", "iad"]);
        assert_eq!(parts[4].len(), 60);
        assert!(super::super::launch::is_ocid(&id, "instance"));
        assert_ne!(st.ocid("instance"), id);
    }
}
