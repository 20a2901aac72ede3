//! Proxmox VE API shapes and the pure functions around them (no host calls).

use std::collections::BTreeMap;

use serde::Deserialize;
use tazhost_sdk::http::percent_encode;
use tazhost_sdk::{Label, Node};

use crate::config::Config;

/// Every answer is `{"data": …}`.
#[derive(Debug, Deserialize)]
pub struct Data<T> {
    pub data: T,
}

/// One entry of `GET /cluster/resources?type=vm`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Resource {
    pub vmid: u32,
    #[serde(default)]
    pub name: Option<String>,
    pub node: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub template: Option<u8>,
    #[serde(default)]
    pub tags: Option<String>,
}

impl Resource {
    /// Whether this is a template (never a node).
    pub fn is_template(&self) -> bool {
        self.template == Some(1)
    }

    /// Whether it carries tazhost's tag (the cheap pre-filter before reading its labels).
    pub fn has_tazhost_tag(&self) -> bool {
        self.tags
            .as_deref()
            .is_some_and(|t| t.split([';', ',', ' ']).any(|tag| tag == TAZHOST_TAG))
    }
}

/// A task's status: `running`, or `stopped` with an `exitstatus` (`OK` or the error).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskStatus {
    pub status: String,
    #[serde(default)]
    pub exitstatus: Option<String>,
}

/// `status/current` of a VM.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VmStatus {
    /// `running` or `stopped`.
    pub status: String,
    #[serde(default)]
    pub lock: Option<String>,
}

/// The tag every VM tazhost creates carries.
pub const TAZHOST_TAG: &str = "tazhost";
/// The line of a VM's description that holds its labels as JSON.
pub const LABELS_PREFIX: &str = "tazhost-labels: ";

/// A description carrying the labels (Proxmox tags cannot hold `key=value` pairs).
pub fn description_with_labels(labels: &[Label]) -> String {
    let map: BTreeMap<&str, &str> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    format!(
        "Created by tazhost; do not edit the next line.\n{LABELS_PREFIX}{}",
        serde_json::to_string(&map).unwrap_or_default()
    )
}

/// The labels stored in a description, if it has tazhost's line.
pub fn labels_from_description(description: &str) -> Option<Vec<Label>> {
    let line = description
        .lines()
        .find_map(|l| l.trim().strip_prefix(LABELS_PREFIX.trim_end()))?;
    let map: BTreeMap<String, String> = serde_json::from_str(line.trim()).ok()?;
    Some(map.into_iter().collect())
}

/// Tags for a VM: tazhost's own plus each label value that Proxmox's tag syntax accepts, so that
/// the GUI shows cluster and pool at a glance. Sorted, `;`-separated.
pub fn tags_for(labels: &[Label]) -> String {
    let mut tags: Vec<String> = std::iter::once(TAZHOST_TAG.to_string())
        .chain(
            labels
                .iter()
                .map(|(_, v)| v.to_ascii_lowercase())
                .filter(|v| {
                    !v.is_empty()
                        && v.len() <= 64
                        && v.chars()
                            .next()
                            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                        && v.chars().all(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '.')
                        })
                }),
        )
        .collect();
    tags.sort();
    tags.dedup();
    tags.join(";")
}

/// `node/vmid`, the provider id of a VM.
pub fn provider_id(node: &str, vmid: u32) -> String {
    format!("{node}/{vmid}")
}

/// The node and vmid in a provider id.
pub fn parse_provider_id(id: &str) -> Option<(String, u32)> {
    let (node, vmid) = id.trim().split_once('/')?;
    let vmid: u32 = vmid.parse().ok()?;
    let node_ok = !node.is_empty()
        && node
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (node_ok && (100..=999_999_999).contains(&vmid)).then(|| (node.to_string(), vmid))
}

/// The contract's view of a VM.
pub fn node_of(name: &str, node: &str, vmid: u32, status: &str, labels: Vec<Label>) -> Node {
    Node {
        name: name.to_string(),
        provider_id: provider_id(node, vmid),
        public_ipv4: None,
        private_ipv4: None,
        status: status.to_string(),
        labels,
    }
}

/// The cidata ISO's file name for a VM.
pub fn iso_name(vmid: u32) -> String {
    format!("tazhost-{vmid}-cidata.iso")
}

/// The ISO's volume id on `storage`.
pub fn iso_volid(storage: &str, vmid: u32) -> String {
    format!("{storage}:iso/{}", iso_name(vmid))
}

/// URL of a path under `/api2/json` on the configured node.
pub fn node_url(cfg: &Config, node: &str, rest: &str) -> String {
    format!("{}/nodes/{}{rest}", cfg.api_base(), percent_encode(node))
}

/// URL of a VM's path.
pub fn vm_url(cfg: &Config, node: &str, vmid: u32, rest: &str) -> String {
    node_url(cfg, node, &format!("/qemu/{vmid}{rest}"))
}

/// URL of a task's status.
pub fn task_status_url(cfg: &Config, node: &str, upid: &str) -> String {
    node_url(
        cfg,
        node,
        &format!("/tasks/{}/status", percent_encode(upid)),
    )
}

/// The node a UPID (`UPID:node:pid:pstart:starttime:type:id:user:`) runs on.
pub fn upid_node(upid: &str) -> Option<&str> {
    let mut parts = upid.split(':');
    (parts.next()? == "UPID").then_some(())?;
    parts.next().filter(|n| !n.is_empty())
}

/// `application/x-www-form-urlencoded` body from pairs.
pub fn form(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The size in GiB of a disk config value (`local-lvm:vm-105-disk-0,size=10G`), if it says.
pub fn disk_size_gib(value: &str) -> Option<f64> {
    let size = value
        .split(',')
        .find_map(|part| part.trim().strip_prefix("size="))?;
    let (number, unit) = size.split_at(size.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = number.parse().ok()?;
    Some(match unit {
        "K" => n / (1024.0 * 1024.0),
        "M" => n / 1024.0,
        "G" => n,
        "T" => n * 1024.0,
        _ => return None,
    })
}

/// A `multipart/form-data` body for the storage upload: the `content` field, then the file as the
/// `filename` field (what the API expects, and what proxmoxer sends). Returns the content type
/// and the body.
pub fn upload_body(
    boundary: &str,
    content: &str,
    file_name: &str,
    bytes: &[u8],
) -> (String, Vec<u8>) {
    let mut body = Vec::with_capacity(bytes.len() + 512);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\n{content}\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"filename\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<Label> {
        vec![
            ("tazhost-cluster".into(), "demo".into()),
            ("tazhost-pool".into(), "Workers".into()),
            ("team".into(), "a=b".into()),
        ]
    }

    #[test]
    fn labels_round_trip_through_the_description() {
        let d = description_with_labels(&labels());
        let mut expected = labels();
        expected.sort();
        assert_eq!(labels_from_description(&d), Some(expected));
        assert_eq!(labels_from_description("someone else's VM"), None);
        assert_eq!(labels_from_description("tazhost-labels: {broken"), None);
    }

    #[test]
    fn tags_keep_what_proxmox_accepts() {
        assert_eq!(tags_for(&labels()), "demo;tazhost;workers");
        let r = Resource {
            vmid: 100,
            name: Some("x".into()),
            node: "pve".into(),
            status: "running".into(),
            template: None,
            tags: Some("demo;tazhost".into()),
        };
        assert!(r.has_tazhost_tag());
        assert!(
            !Resource {
                tags: Some("tazhostile".into()),
                ..r.clone()
            }
            .has_tazhost_tag()
        );
        assert!(!r.is_template());
    }

    #[test]
    fn provider_ids_and_upids() {
        assert_eq!(parse_provider_id("pve1/105"), Some(("pve1".into(), 105)));
        for bad in ["pve1", "pve1/abc", "/105", "pve1/5", "pve 1/105", "a/b/105"] {
            assert_eq!(parse_provider_id(bad), None, "{bad}");
        }
        assert_eq!(
            upid_node("UPID:pve1:0000A1B2:0001C3D4:6560F00D:qmclone:9000:root@pam!t:"),
            Some("pve1")
        );
        assert_eq!(upid_node("nope"), None);
    }

    #[test]
    fn disk_sizes_and_forms() {
        assert_eq!(
            disk_size_gib("local-lvm:vm-105-disk-0,size=10G"),
            Some(10.0)
        );
        assert_eq!(
            disk_size_gib("local-lvm:vm-105-disk-0,iothread=1,size=512M"),
            Some(0.5)
        );
        assert_eq!(disk_size_gib("local-lvm:vm-105-disk-0"), None);
        assert_eq!(
            form(&[
                ("name", "a b".into()),
                ("net0", "virtio,bridge=vmbr0".into())
            ]),
            "name=a%20b&net0=virtio%2Cbridge%3Dvmbr0"
        );
    }

    #[test]
    fn the_upload_body_is_well_formed_multipart() {
        let (ct, body) = upload_body("XyZ", "iso", "tazhost-105-cidata.iso", b"\x00ISO");
        assert_eq!(ct, "multipart/form-data; boundary=XyZ");
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(
            "--XyZ\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\niso\r\n"
        ));
        assert!(text.contains("name=\"filename\"; filename=\"tazhost-105-cidata.iso\""));
        assert!(body.ends_with(b"\x00ISO\r\n--XyZ--\r\n"));
    }
}
