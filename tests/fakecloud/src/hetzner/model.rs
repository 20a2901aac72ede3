//! The resources the fake keeps (servers, actions) and their JSON, field by field as the
//! Hetzner Cloud API reference documents the Server and Action objects. Every field that
//! hcloud-python's `BoundServer`/`Server`/`BoundAction` parsing reads is present.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::catalog::{self, Datacenter, Image, ImageChoice, Location, ServerType};

/// `2016-01-30T23:55:00+00:00`, the timestamp format of the API reference's examples.
pub fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's method).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// An action: it is `running` from `started` for `duration`, then `success`. Nothing
/// moves it along; its state is computed from the clock whenever it is read.
#[derive(Debug, Clone)]
pub struct Action {
    pub id: u64,
    pub command: &'static str,
    /// `(id, type)` of the resources the action works on.
    pub resources: Vec<(u64, &'static str)>,
    pub started_at: Instant,
    pub started_wall: SystemTime,
    pub duration: Duration,
}

impl Action {
    /// `("running", progress)` or `("success", 100)` at `now`.
    pub fn status_at(&self, now: Instant) -> (&'static str, u8) {
        let elapsed = now.saturating_duration_since(self.started_at);
        if elapsed >= self.duration {
            return ("success", 100);
        }
        // Grows with time; stays below 100 while running.
        let pct = elapsed.as_secs_f64() / self.duration.as_secs_f64() * 100.0;
        ("running", (pct as u8).min(99))
    }

    pub fn concerns(&self, id: u64, kind: &str) -> bool {
        self.resources.iter().any(|(i, k)| *i == id && *k == kind)
    }

    pub fn to_json(&self, now: Instant) -> Value {
        let (status, progress) = self.status_at(now);
        let finished = (status != "running").then(|| timestamp(self.started_wall + self.duration));
        json!({
            "id": self.id,
            "command": self.command,
            "status": status,
            "progress": progress,
            "started": timestamp(self.started_wall),
            "finished": finished,
            "resources": self
                .resources
                .iter()
                .map(|(id, kind)| json!({"id": id, "type": kind}))
                .collect::<Vec<_>>(),
            "error": null,
        })
    }
}

/// A server's attachment to a private network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateNet {
    pub network: u64,
    pub ip: Ipv4Addr,
    pub mac_address: String,
}

/// A server as the fake stores it.
#[derive(Debug, Clone)]
pub struct Server {
    pub id: u64,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub user_data: Option<String>,
    pub server_type: &'static ServerType,
    pub image: ImageChoice,
    pub location: &'static Location,
    pub datacenter: &'static Datacenter,
    pub created: SystemTime,
    /// When the create action (and the start action, if any) finishes.
    pub ready_at: Instant,
    pub start_after_create: bool,
    /// Primary IPv4: (primary IP id, address).
    pub ipv4: Option<(u64, Ipv4Addr)>,
    /// Primary IPv6: (primary IP id, /64 network in CIDR notation).
    pub ipv6: Option<(u64, String)>,
    pub private_net: Vec<PrivateNet>,
    pub firewalls: Vec<u64>,
    pub ssh_keys: Vec<String>,
    pub volumes: Vec<u64>,
    pub automount: bool,
    pub placement_group: Option<u64>,
}

impl Server {
    /// `initializing` until the create action has finished, then `running` (or `off`
    /// when the request said `start_after_create: false`).
    pub fn status_at(&self, now: Instant) -> &'static str {
        if now < self.ready_at {
            "initializing"
        } else if self.start_after_create {
            "running"
        } else {
            "off"
        }
    }

    pub fn to_json(&self, now: Instant) -> Value {
        let created = timestamp(self.created);
        let ipv4 = self.ipv4.map(|(id, ip)| {
            let o = ip.octets();
            json!({
                "id": id,
                "ip": ip.to_string(),
                "blocked": false,
                "dns_ptr": format!("static.{}.{}.{}.{}.clients.your-server.de", o[3], o[2], o[1], o[0]),
            })
        });
        let ipv6 = self
            .ipv6
            .as_ref()
            .map(|(id, net)| json!({ "id": id, "ip": net, "blocked": false, "dns_ptr": [] }));
        let placement_group = self.placement_group.map(|id| {
            json!({
                "id": id,
                "name": format!("placement-group-{id}"),
                "labels": {},
                "type": "spread",
                "created": created,
                "servers": [self.id],
            })
        });
        json!({
            "id": self.id,
            "name": self.name,
            "status": self.status_at(now),
            "created": created,
            "public_net": {
                "ipv4": ipv4,
                "ipv6": ipv6,
                "floating_ips": [],
                "firewalls": self
                    .firewalls
                    .iter()
                    .map(|id| json!({"id": id, "status": "applied"}))
                    .collect::<Vec<_>>(),
            },
            "private_net": self
                .private_net
                .iter()
                .map(|p| json!({
                    "network": p.network,
                    "ip": p.ip.to_string(),
                    "alias_ips": [],
                    "mac_address": p.mac_address,
                }))
                .collect::<Vec<_>>(),
            "server_type": server_type_json(self.server_type),
            "datacenter": datacenter_json(self.datacenter),
            "location": location_json(self.location),
            "image": image_json(&self.image, self.created),
            "iso": null,
            "rescue_enabled": false,
            "locked": false,
            "backup_window": null,
            "outgoing_traffic": 0,
            "ingoing_traffic": 0,
            "included_traffic": catalog::INCLUDED_TRAFFIC,
            "protection": { "delete": false, "rebuild": false },
            "labels": self.labels,
            "volumes": self.volumes,
            "load_balancers": [],
            "primary_disk_size": self.server_type.disk,
            "placement_group": placement_group,
        })
    }
}

pub fn location_json(l: &Location) -> Value {
    json!({
        "id": l.id,
        "name": l.name,
        "description": l.description,
        "country": l.country,
        "city": l.city,
        "latitude": l.latitude,
        "longitude": l.longitude,
        "network_zone": l.network_zone,
    })
}

pub fn datacenter_json(d: &Datacenter) -> Value {
    let ids: Vec<u64> = catalog::SERVER_TYPES.iter().map(|t| t.id).collect();
    json!({
        "id": d.id,
        "name": d.name,
        "description": d.description,
        "location": location_json(catalog::location_by_name(d.location)),
        "server_types": {
            "supported": ids,
            "available": ids,
            "available_for_migration": ids,
        },
    })
}

fn price(net: f64) -> Value {
    json!({ "net": format!("{net:.4}"), "gross": format!("{:.4}", net * 1.19) })
}

pub fn server_type_json(t: &ServerType) -> Value {
    let hourly = t.monthly_net / 730.0;
    json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "category": t.category,
        "cores": t.cores,
        "memory": t.memory,
        "disk": t.disk,
        "deprecated": false,
        "deprecation": null,
        "prices": catalog::LOCATIONS
            .iter()
            .map(|l| json!({
                "location": l.name,
                "price_hourly": price(hourly),
                "price_monthly": price(t.monthly_net),
                "included_traffic": catalog::INCLUDED_TRAFFIC,
                "price_per_tb_traffic": price(1.0),
            }))
            .collect::<Vec<_>>(),
        "storage_type": "local",
        "cpu_type": t.cpu_type,
        "architecture": t.architecture,
        // hcloud-python builds a ServerTypeLocation from each entry and requires
        // `deprecation`, `available` and `recommended` to be present.
        "locations": catalog::LOCATIONS
            .iter()
            .map(|l| json!({
                "id": l.id,
                "name": l.name,
                "deprecation": null,
                "available": true,
                "recommended": true,
            }))
            .collect::<Vec<_>>(),
    })
}

fn system_image_json(i: &Image) -> Value {
    json!({
        "id": i.id,
        "type": "system",
        "status": "available",
        "name": i.name,
        "description": i.description,
        "image_size": null,
        "disk_size": 5,
        "created": "2024-04-25T12:00:00+00:00",
        "created_from": null,
        "bound_to": null,
        "os_flavor": i.os_flavor,
        "os_version": i.os_version,
        "rapid_deploy": true,
        "protection": { "delete": false },
        "deprecated": null,
        "deprecation": null,
        "deleted": null,
        "labels": {},
        "architecture": i.architecture,
    })
}

pub fn image_json(image: &ImageChoice, created: SystemTime) -> Value {
    match image {
        ImageChoice::System(i) => system_image_json(i),
        ImageChoice::Snapshot(id) => json!({
            "id": id,
            "type": "snapshot",
            "status": "available",
            "name": null,
            "description": format!("snapshot {id}"),
            "image_size": 0.5,
            "disk_size": 20,
            "created": timestamp(created),
            "created_from": null,
            "bound_to": null,
            "os_flavor": "unknown",
            "os_version": null,
            "rapid_deploy": false,
            "protection": { "delete": false },
            "deprecated": null,
            "deprecation": null,
            "deleted": null,
            "labels": {},
            "architecture": "x86",
        }),
    }
}

/// A snapshot of one server, for assertions in tests (`Running::servers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRecord {
    pub id: u64,
    pub name: String,
    /// `initializing`, `running` or `off`, as `GET /v1/servers/{id}` would say now.
    pub status: String,
    pub labels: BTreeMap<String, String>,
    /// Exactly as sent in the create request (the API itself never returns it).
    pub user_data: Option<String>,
    /// Server type name, e.g. `cx22`.
    pub server_type: String,
    /// Image name for system images (`ubuntu-24.04`), the id for snapshots (`"123"`).
    pub image: String,
    /// Location name, e.g. `fsn1`.
    pub location: String,
    /// Datacenter name, e.g. `fsn1-dc14`.
    pub datacenter: String,
    pub public_ipv4: Option<String>,
    /// The server's /64, e.g. `2001:db8:0:1::/64`.
    pub public_ipv6: Option<String>,
    /// Private IPs, one per attached network, in the order the networks were given.
    pub private_ipv4: Vec<String>,
    pub networks: Vec<u64>,
    pub firewalls: Vec<u64>,
    pub ssh_keys: Vec<String>,
    pub volumes: Vec<u64>,
    pub placement_group: Option<u64>,
    pub automount: bool,
    pub start_after_create: bool,
}

impl ServerRecord {
    pub(crate) fn of(s: &Server, now: Instant) -> Self {
        Self {
            id: s.id,
            name: s.name.clone(),
            status: s.status_at(now).to_string(),
            labels: s.labels.clone(),
            user_data: s.user_data.clone(),
            server_type: s.server_type.name.to_string(),
            image: match &s.image {
                ImageChoice::System(i) => i.name.to_string(),
                ImageChoice::Snapshot(id) => id.to_string(),
            },
            location: s.location.name.to_string(),
            datacenter: s.datacenter.name.to_string(),
            public_ipv4: s.ipv4.map(|(_, ip)| ip.to_string()),
            public_ipv6: s.ipv6.as_ref().map(|(_, net)| net.clone()),
            private_ipv4: s.private_net.iter().map(|p| p.ip.to_string()).collect(),
            networks: s.private_net.iter().map(|p| p.network).collect(),
            firewalls: s.firewalls.clone(),
            ssh_keys: s.ssh_keys.clone(),
            volumes: s.volumes.clone(),
            placement_group: s.placement_group,
            automount: s.automount,
            start_after_create: s.start_after_create,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso8601_utc() {
        let table = [
            (0, "1970-01-01T00:00:00+00:00"),
            (1_454_198_100, "2016-01-30T23:55:00+00:00"),
            (951_782_400, "2000-02-29T00:00:00+00:00"),
            (4_107_542_399, "2100-02-28T23:59:59+00:00"),
        ];
        for (secs, want) in table {
            assert_eq!(timestamp(UNIX_EPOCH + Duration::from_secs(secs)), want);
        }
    }

    #[test]
    fn actions_progress_with_time_and_finish() {
        let t0 = Instant::now();
        let a = Action {
            id: 7,
            command: "create_server",
            resources: vec![(1, "server")],
            started_at: t0,
            started_wall: UNIX_EPOCH + Duration::from_secs(1_454_198_100),
            duration: Duration::from_secs(10),
        };
        assert_eq!(a.status_at(t0), ("running", 0));
        assert_eq!(a.status_at(t0 + Duration::from_secs(5)), ("running", 50));
        assert_eq!(
            a.status_at(t0 + Duration::from_millis(9_999)),
            ("running", 99)
        );
        assert_eq!(a.status_at(t0 + Duration::from_secs(10)), ("success", 100));
        let running = a.to_json(t0 + Duration::from_secs(3));
        assert_eq!(running["status"], "running");
        assert_eq!(running["progress"], 30);
        assert!(running["finished"].is_null());
        let done = a.to_json(t0 + Duration::from_secs(11));
        assert_eq!(done["status"], "success");
        assert_eq!(done["finished"], "2016-01-30T23:55:10+00:00");
        assert_eq!(done["resources"], json!([{"id": 1, "type": "server"}]));
        assert!(done["error"].is_null());
    }

    #[test]
    fn a_zero_duration_action_is_done_at_once() {
        let t0 = Instant::now();
        let a = Action {
            id: 1,
            command: "delete_server",
            resources: vec![],
            started_at: t0,
            started_wall: SystemTime::now(),
            duration: Duration::ZERO,
        };
        assert_eq!(a.status_at(t0), ("success", 100));
    }
}
