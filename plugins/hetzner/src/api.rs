//! Hetzner Cloud API shapes and the pure functions around them (no host calls).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tazhost_sdk::{Node, NodeSpec};

use crate::API_ORIGIN;
use crate::config::Config;

/// Servers asked for per page when listing (Hetzner's maximum is 50).
pub const PER_PAGE: u32 = 50;
/// Safety stop for a pagination that never ends.
const MAX_PAGES: u64 = 1000;

/// A server as Hetzner reports it (only the fields used here).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Server {
    pub id: u64,
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub public_net: Option<PublicNet>,
    #[serde(default)]
    pub private_net: Vec<PrivateNet>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PublicNet {
    #[serde(default)]
    pub ipv4: Option<Ipv4>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Ipv4 {
    pub ip: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PrivateNet {
    #[serde(default)]
    pub ip: Option<String>,
}

impl Server {
    /// The contract's view of this server.
    pub fn into_node(self) -> Node {
        Node {
            provider_id: self.id.to_string(),
            public_ipv4: self.public_net.and_then(|p| p.ipv4).map(|v4| v4.ip),
            private_ipv4: self.private_net.into_iter().find_map(|p| p.ip),
            status: self.status,
            labels: self.labels.into_iter().collect(),
            name: self.name,
        }
    }
}

/// An action (an asynchronous operation) as Hetzner reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Action {
    pub id: u64,
    #[serde(default)]
    pub command: String,
    /// `running`, `success` or `error`.
    pub status: String,
    #[serde(default)]
    pub progress: Option<u32>,
    #[serde(default)]
    pub error: Option<ActionError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ActionError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

impl Action {
    /// `message (code)` of a failed action.
    pub fn error_message(&self) -> String {
        match &self.error {
            Some(e) if !e.code.is_empty() => format!("{} ({})", e.message, e.code),
            Some(e) => e.message.clone(),
            None => "no error details".to_owned(),
        }
    }
}

/// `POST /v1/servers` answer (201).
#[derive(Debug, Deserialize)]
pub struct CreateAnswer {
    pub server: Server,
    #[serde(default)]
    pub action: Option<Action>,
}

/// `GET /v1/servers/{id}` answer.
#[derive(Debug, Deserialize)]
pub struct ServerAnswer {
    pub server: Server,
}

/// `GET /v1/actions/{id}` and `DELETE /v1/servers/{id}` answers.
#[derive(Debug, Deserialize)]
pub struct ActionAnswer {
    pub action: Action,
}

/// One page of `GET /v1/servers`.
#[derive(Debug, Deserialize)]
pub struct ServersPage {
    pub servers: Vec<Server>,
    #[serde(default)]
    pub meta: Option<Meta>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Pagination {
    #[serde(default)]
    pub next_page: Option<u64>,
}

/// The page after `current`, if Hetzner announces one (and it moves forward).
pub fn next_page(meta: &Option<Meta>, current: u64) -> Option<u64> {
    let next = meta.as_ref()?.pagination.as_ref()?.next_page?;
    (next > current && next <= MAX_PAGES).then_some(next)
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub use tazhost_sdk::http::percent_encode;

/// Hetzner's label selector for "carries all these labels": `k1=v1,k2=v2`.
pub fn label_selector(labels: &[(String, String)]) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `GET /v1/servers` URL for one page of servers carrying all `labels`.
pub fn servers_url(labels: &[(String, String)], page: u64) -> String {
    let mut url = format!("{API_ORIGIN}/v1/servers?");
    if !labels.is_empty() {
        url.push_str("label_selector=");
        url.push_str(&percent_encode(&label_selector(labels)));
        url.push('&');
    }
    url.push_str(&format!("page={page}&per_page={PER_PAGE}"));
    url
}

/// The first label of `wanted` that `server` does not carry with the same value.
pub fn missing_label<'a>(
    server: &Server,
    wanted: &'a [(String, String)],
) -> Option<&'a (String, String)> {
    wanted.iter().find(|(k, v)| server.labels.get(k) != Some(v))
}

#[derive(Debug, Serialize)]
pub struct Firewall {
    pub firewall: u64,
}

/// `POST /v1/servers` body.
#[derive(Debug, Serialize)]
pub struct CreateBody<'a> {
    pub name: &'a str,
    pub server_type: &'a str,
    pub image: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub user_data: &'a str,
    pub labels: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "<[u64]>::is_empty")]
    pub networks: &'a [u64],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub firewalls: Vec<Firewall>,
    pub start_after_create: bool,
}

/// The body that creates `spec`'s server.
pub fn create_body<'a>(cfg: &'a Config, spec: &'a NodeSpec, user_data: &'a str) -> CreateBody<'a> {
    CreateBody {
        name: &spec.name,
        server_type: &spec.size,
        image: &spec.image,
        location: cfg.location.as_deref(),
        user_data,
        labels: spec
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        networks: &cfg.networks,
        firewalls: cfg
            .firewalls
            .iter()
            .map(|&id| Firewall { firewall: id })
            .collect(),
        start_after_create: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn selector_is_encoded() {
        let sel = labels(&[("tazhost-cluster", "lab"), ("tazhost-pool", "cp 1/a&b")]);
        assert_eq!(
            label_selector(&sel),
            "tazhost-cluster=lab,tazhost-pool=cp 1/a&b"
        );
        assert_eq!(
            servers_url(&sel, 2),
            "https://api.hetzner.cloud/v1/servers?label_selector=\
             tazhost-cluster%3Dlab%2Ctazhost-pool%3Dcp%201%2Fa%26b&page=2&per_page=50"
        );
        assert_eq!(
            servers_url(&[], 1),
            "https://api.hetzner.cloud/v1/servers?page=1&per_page=50"
        );
        assert_eq!(percent_encode("a.b_c-d~é"), "a.b_c-d~%C3%A9");
    }

    fn sample_server() -> serde_json::Value {
        json!({
            "id": 42,
            "name": "lab-cp-1",
            "status": "running",
            "created": "2024-01-01T00:00:00+00:00",
            "public_net": {
                "ipv4": {"id": 1, "ip": "203.0.113.7", "blocked": false, "dns_ptr": "x"},
                "ipv6": {"ip": "2001:db8::/64"},
                "floating_ips": [],
                "firewalls": []
            },
            "private_net": [
                {"network": 9, "ip": "10.0.0.2", "alias_ips": [], "mac_address": "86:00:00:00:00:01"},
                {"network": 10, "ip": "10.1.0.2", "alias_ips": []}
            ],
            "server_type": {"name": "cx22"},
            "labels": {"tazhost-pool": "cp", "tazhost-cluster": "lab"}
        })
    }

    #[test]
    fn server_maps_to_node() {
        let s: Server = serde_json::from_value(sample_server()).unwrap();
        let n = s.into_node();
        assert_eq!(n.name, "lab-cp-1");
        assert_eq!(n.provider_id, "42");
        assert_eq!(n.public_ipv4.as_deref(), Some("203.0.113.7"));
        assert_eq!(n.private_ipv4.as_deref(), Some("10.0.0.2"));
        assert_eq!(n.status, "running");
        assert_eq!(
            n.labels,
            labels(&[("tazhost-cluster", "lab"), ("tazhost-pool", "cp")])
        );
    }

    #[test]
    fn server_without_networks_maps_to_node() {
        let s: Server = serde_json::from_value(json!({
            "id": 7, "name": "n", "status": "initializing",
            "public_net": {"ipv4": null, "ipv6": null}, "private_net": [], "labels": {}
        }))
        .unwrap();
        let n = s.into_node();
        assert_eq!((n.public_ipv4, n.private_ipv4), (None, None));
        let s: Server =
            serde_json::from_value(json!({"id": 8, "name": "m", "status": "off"})).unwrap();
        assert_eq!(s.into_node().provider_id, "8");
    }

    #[test]
    fn pages() {
        let page: ServersPage = serde_json::from_value(json!({
            "servers": [sample_server()],
            "meta": {"pagination": {"page": 1, "per_page": 50, "previous_page": null,
                                    "next_page": 2, "last_page": 3, "total_entries": 120}}
        }))
        .unwrap();
        assert_eq!(page.servers.len(), 1);
        assert_eq!(next_page(&page.meta, 1), Some(2));
        assert_eq!(next_page(&page.meta, 2), None); // must move forward
        let last: ServersPage = serde_json::from_value(json!({
            "servers": [], "meta": {"pagination": {"page": 3, "next_page": null}}
        }))
        .unwrap();
        assert_eq!(next_page(&last.meta, 3), None);
        let bare: ServersPage = serde_json::from_value(json!({"servers": []})).unwrap();
        assert_eq!(next_page(&bare.meta, 1), None);
    }

    #[test]
    fn create_body_shape() {
        let cfg = Config {
            location: Some("fsn1".into()),
            networks: vec![5],
            firewalls: vec![6, 7],
            ..Config::default()
        };
        let spec = NodeSpec {
            name: "lab-cp-1".into(),
            role: "controlplane".into(),
            size: "cx22".into(),
            image: "talos".into(),
            labels: labels(&[("tazhost-cluster", "lab")]),
        };
        let v = serde_json::to_value(create_body(&cfg, &spec, "machine: {}")).unwrap();
        assert_eq!(
            v,
            json!({
                "name": "lab-cp-1", "server_type": "cx22", "image": "talos", "location": "fsn1",
                "user_data": "machine: {}", "labels": {"tazhost-cluster": "lab"},
                "networks": [5], "firewalls": [{"firewall": 6}, {"firewall": 7}],
                "start_after_create": true
            })
        );
        let v = serde_json::to_value(create_body(&Config::default(), &spec, "")).unwrap();
        let obj = v.as_object().unwrap();
        for absent in ["location", "user_data", "networks", "firewalls"] {
            assert!(!obj.contains_key(absent), "{absent} should be left out");
        }
    }

    #[test]
    fn create_answer_and_actions() {
        let a: CreateAnswer = serde_json::from_value(json!({
            "server": sample_server(),
            "action": {"id": 13, "command": "create_server", "status": "running",
                       "progress": 0, "started": "x", "finished": null, "resources": [],
                       "error": null},
            "next_actions": [{"id": 14, "command": "start_server", "status": "running"}],
            "root_password": null
        }))
        .unwrap();
        assert_eq!(a.server.id, 42);
        let action = a.action.unwrap();
        assert_eq!((action.id, action.status.as_str()), (13, "running"));
        let failed: ActionAnswer = serde_json::from_value(json!({
            "action": {"id": 13, "command": "create_server", "status": "error",
                       "error": {"code": "action_failed", "message": "no capacity"}}
        }))
        .unwrap();
        assert_eq!(failed.action.error_message(), "no capacity (action_failed)");
    }

    #[test]
    fn adoption_requires_all_labels() {
        let s: Server = serde_json::from_value(sample_server()).unwrap();
        assert_eq!(
            missing_label(&s, &labels(&[("tazhost-cluster", "lab")])),
            None
        );
        let other = labels(&[("tazhost-cluster", "prod")]);
        assert_eq!(missing_label(&s, &other), Some(&other[0]));
        let extra = labels(&[("tazhost-cluster", "lab"), ("team", "x")]);
        assert_eq!(missing_label(&s, &extra), Some(&extra[1]));
    }
}
