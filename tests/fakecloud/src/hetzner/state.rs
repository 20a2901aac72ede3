//! The fake's state: servers, actions, id counters, address pools, the rate limiter and
//! the injected failures. Handlers lock it briefly; nothing here awaits.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::distr::{Alphanumeric, SampleString};

use super::Options;
use super::catalog::{Datacenter, ImageChoice, Location, ServerType};
use super::errors::ApiError;
use super::model::{Action, PrivateNet, Server, ServerRecord};

/// Everything the router shares between requests.
pub(crate) struct Shared {
    pub token: String,
    pub requests: AtomicU64,
    state: Mutex<State>,
}

impl Shared {
    pub fn new(token: String, options: &Options) -> Self {
        Self {
            token,
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

    pub fn servers(&self) -> Vec<ServerRecord> {
        let now = Instant::now();
        self.lock()
            .servers
            .values()
            .map(|s| ServerRecord::of(s, now))
            .collect()
    }
}

/// What the rate limiter says about one request; also the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateInfo {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// UNIX time at which the full number of requests is available again.
    pub reset: u64,
}

/// Hetzner's limiter: `limit` requests per hour, bursts allowed, and the remaining count
/// grows back gradually (by one per second for the default 3600/hour): a token bucket.
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

    fn per_second(&self) -> f64 {
        f64::from(self.limit) / 3600.0
    }

    /// Counts one request at `now` (`wall` is the same instant on the wall clock).
    pub fn take(&mut self, now: Instant, wall: SystemTime) -> RateInfo {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        self.tokens = (self.tokens + elapsed * self.per_second()).min(f64::from(self.limit));
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        let missing = f64::from(self.limit) - self.tokens;
        let wait = if missing <= 0.0 || self.limit == 0 {
            0
        } else {
            (missing / self.per_second()).ceil() as u64
        };
        let wall_secs = wall
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        RateInfo {
            allowed,
            limit: self.limit,
            remaining: self.tokens.floor() as u32,
            reset: wall_secs + wait,
        }
    }
}

/// A validated create request (see `handlers::parse_create`).
#[derive(Debug, Clone)]
pub(crate) struct CreateServer {
    pub name: String,
    pub server_type: &'static ServerType,
    pub image: ImageChoice,
    pub location: &'static Location,
    pub datacenter: &'static Datacenter,
    pub start_after_create: bool,
    pub user_data: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub ssh_keys: Vec<String>,
    pub networks: Vec<u64>,
    pub firewalls: Vec<u64>,
    pub volumes: Vec<u64>,
    pub automount: bool,
    pub placement_group: Option<u64>,
    pub enable_ipv4: bool,
    pub enable_ipv6: bool,
}

/// What `POST /v1/servers` created.
#[derive(Debug, Clone)]
pub(crate) struct Created {
    pub server: u64,
    pub action: u64,
    pub next_actions: Vec<u64>,
    pub root_password: Option<String>,
}

pub(crate) struct State {
    action_duration: Duration,
    pub servers: BTreeMap<u64, Server>,
    pub actions: BTreeMap<u64, Action>,
    next_server_id: u64,
    next_action_id: u64,
    next_primary_ip_id: u64,
    ipv6_networks: u64,
    pub fail_next_creates: u32,
    pub limiter: Option<RateLimiter>,
}

/// The documentation ranges (RFC 5737) public IPv4 addresses are taken from, in order.
const IPV4_POOLS: [[u8; 3]; 3] = [[203, 0, 113], [198, 51, 100], [192, 0, 2]];

impl State {
    fn new(options: &Options, now: Instant) -> Self {
        Self {
            action_duration: options.action_duration,
            servers: BTreeMap::new(),
            actions: BTreeMap::new(),
            // Distinct ranges so a client mixing up kinds of id gets a 404, not a wrong hit.
            next_server_id: 10_000_001,
            next_action_id: 20_000_001,
            next_primary_ip_id: 30_000_001,
            ipv6_networks: 0,
            fail_next_creates: options.fail_next_creates,
            limiter: options.rate_limit.map(|l| RateLimiter::new(l, now)),
        }
    }

    fn new_action(
        &mut self,
        command: &'static str,
        server: u64,
        now: Instant,
        wall: SystemTime,
    ) -> u64 {
        let id = self.next_action_id;
        self.next_action_id += 1;
        self.actions.insert(
            id,
            Action {
                id,
                command,
                resources: vec![(server, "server")],
                started_at: now,
                started_wall: wall,
                duration: self.action_duration,
            },
        );
        id
    }

    fn free_ipv4(&self) -> Option<Ipv4Addr> {
        let used: Vec<Ipv4Addr> = self
            .servers
            .values()
            .filter_map(|s| s.ipv4.map(|(_, ip)| ip))
            .collect();
        IPV4_POOLS
            .iter()
            .flat_map(|[a, b, c]| (1..=254).map(move |d| Ipv4Addr::new(*a, *b, *c, d)))
            .find(|ip| !used.contains(ip))
    }

    /// First free host of 10.0.0.0/16 in `network` (10.0.0.1 is the gateway).
    fn free_private_ip(&self, network: u64, also_taken: &[PrivateNet]) -> Option<Ipv4Addr> {
        let used: Vec<Ipv4Addr> = self
            .servers
            .values()
            .flat_map(|s| s.private_net.iter())
            .chain(also_taken)
            .filter(|p| p.network == network)
            .map(|p| p.ip)
            .collect();
        (2u32..=0xfffe)
            .map(|n| Ipv4Addr::new(10, 0, (n >> 8) as u8, n as u8))
            .filter(|ip| ip.octets()[3] != 0 && ip.octets()[3] != 255)
            .find(|ip| !used.contains(ip))
    }

    fn primary_ip_id(&mut self) -> u64 {
        let id = self.next_primary_ip_id;
        self.next_primary_ip_id += 1;
        id
    }

    pub fn create_server(
        &mut self,
        req: CreateServer,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Created, ApiError> {
        if self.servers.values().any(|s| s.name == req.name) {
            return Err(ApiError::uniqueness("name", "server name is already used"));
        }
        let ipv4 = if req.enable_ipv4 {
            let ip = self.free_ipv4().ok_or_else(|| {
                ApiError::resource_limit_exceeded("no public IPv4 addresses left in the fake")
            })?;
            Some((self.primary_ip_id(), ip))
        } else {
            None
        };
        let ipv6 = if req.enable_ipv6 {
            self.ipv6_networks += 1;
            let n = self.ipv6_networks;
            let net = format!("2001:db8:{:x}:{:x}::/64", (n >> 16) & 0xffff, n & 0xffff);
            Some((self.primary_ip_id(), net))
        } else {
            None
        };
        let id = self.next_server_id;
        let mut private_net: Vec<PrivateNet> = Vec::new();
        for (i, network) in req.networks.iter().enumerate() {
            let ip = self
                .free_private_ip(*network, &private_net)
                .ok_or_else(|| {
                    ApiError::resource_limit_exceeded(format!("network {network} has no free IP"))
                })?;
            let b = id.to_be_bytes();
            private_net.push(PrivateNet {
                network: *network,
                ip,
                mac_address: format!("86:00:{:02x}:{:02x}:{:02x}:{:02x}", b[5], b[6], b[7], i),
            });
        }
        self.next_server_id += 1;

        let action = self.new_action("create_server", id, now, wall);
        let next_actions = if req.start_after_create {
            vec![self.new_action("start_server", id, now, wall)]
        } else {
            Vec::new()
        };
        let root_password = req
            .ssh_keys
            .is_empty()
            .then(|| Alphanumeric.sample_string(&mut rand::rng(), 20));
        self.servers.insert(
            id,
            Server {
                id,
                name: req.name,
                labels: req.labels,
                user_data: req.user_data,
                server_type: req.server_type,
                image: req.image,
                location: req.location,
                datacenter: req.datacenter,
                created: wall,
                ready_at: now + self.action_duration,
                start_after_create: req.start_after_create,
                ipv4,
                ipv6,
                private_net,
                firewalls: req.firewalls,
                ssh_keys: req.ssh_keys,
                volumes: req.volumes,
                automount: req.automount,
                placement_group: req.placement_group,
            },
        );
        Ok(Created {
            server: id,
            action,
            next_actions,
            root_password,
        })
    }

    /// Removes the server at once and returns a `delete_server` action that runs for the
    /// configured action duration. The server disappears immediately (GET answers 404
    /// right after DELETE), so a client never has to wait to see it gone; its name and
    /// addresses are free again at once. The action stays readable, also through
    /// `GET /v1/servers/{id}/actions/{action_id}`.
    pub fn delete_server(
        &mut self,
        id: u64,
        now: Instant,
        wall: SystemTime,
    ) -> Result<u64, ApiError> {
        self.servers
            .remove(&id)
            .ok_or_else(|| ApiError::not_found("server"))?;
        Ok(self.new_action("delete_server", id, now, wall))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_allows_a_burst_then_refuses_then_refills() {
        let t0 = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut rl = RateLimiter::new(3600, t0);
        let first = rl.take(t0, wall);
        assert_eq!(
            first,
            RateInfo {
                allowed: true,
                limit: 3600,
                remaining: 3599,
                reset: 1_000_001
            }
        );
        for _ in 0..3599 {
            assert!(rl.take(t0, wall).allowed);
        }
        let refused = rl.take(t0, wall);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.reset, 1_000_000 + 3600);
        // 3600/hour comes back at one request per second.
        let later = rl.take(t0 + Duration::from_millis(2_500), wall);
        assert!(later.allowed);
        assert_eq!(later.remaining, 1);
    }

    #[test]
    fn a_small_limit_refills_slowly() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(2, t0);
        assert!(rl.take(t0, UNIX_EPOCH).allowed);
        assert!(rl.take(t0, UNIX_EPOCH).allowed);
        assert!(!rl.take(t0, UNIX_EPOCH).allowed);
        // 2/hour: one request back every 30 minutes.
        assert!(!rl.take(t0 + Duration::from_secs(1700), UNIX_EPOCH).allowed);
        assert!(rl.take(t0 + Duration::from_secs(1801), UNIX_EPOCH).allowed);
    }

    #[test]
    fn a_zero_limit_refuses_everything() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(0, t0);
        let info = rl.take(t0, UNIX_EPOCH);
        assert!(!info.allowed);
        assert_eq!(info.remaining, 0);
    }
}
