//! The plugin's configuration: `[providers.proxmox.config]` as JSON.

use std::collections::BTreeMap;

use serde::Deserialize;
use tazhost_sdk::{Error, error};

/// Proxmox VE settings. Unknown fields are refused so that typos do not go unnoticed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The API's origin, e.g. `https://pve1.lan:8006` (the operator grants exactly this origin,
    /// and pins its CA or certificate fingerprint in `grants.tls`).
    pub api_url: String,
    /// The cluster node VMs are created on, e.g. `pve1`.
    pub node: String,
    /// `USER@REALM!TOKENID` when the granted secret holds only the token's secret (as the seeds'
    /// PROXMOX_TOKEN_ID / PROXMOX_TOKEN_SECRET do); absent when the secret holds the whole
    /// `USER@REALM!TOKENID=SECRET`.
    #[serde(default)]
    pub token_id: Option<String>,
    /// Storage the NoCloud `cidata` ISO carrying the machine config is uploaded to (must allow
    /// `iso` content). Default `local`.
    #[serde(default = "default_iso_storage")]
    pub iso_storage: String,
    /// Storage for the clone's disks (the template's storage when absent).
    #[serde(default)]
    pub disk_storage: Option<String>,
    /// Full clone (default) or linked clone.
    #[serde(default = "yes")]
    pub full_clone: bool,
    /// Bridge of the first network interface, e.g. `vmbr0` (kept from the template when absent).
    #[serde(default)]
    pub bridge: Option<String>,
    /// VLAN tag on that interface.
    #[serde(default)]
    pub vlan: Option<u16>,
    /// The template's boot disk, grown to the size's `disk_gib`. Default `scsi0`.
    #[serde(default = "default_disk")]
    pub disk: String,
    /// Machine sizes by name (the pool's `size`).
    pub sizes: BTreeMap<String, Size>,
    /// Pause between two polls of a task, in milliseconds (100..=60000).
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u32,
    /// How long `create` and `delete` wait for Proxmox, in seconds (1..=7200).
    #[serde(default = "default_create_timeout_s")]
    pub create_timeout_s: u32,
}

/// CPU, memory and disk of one size.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Size {
    /// Cores (1..=512).
    pub cores: u32,
    /// Memory in MiB (16..=4194304, Proxmox's range).
    pub memory_mib: u32,
    /// Boot disk size in GiB; the disk is grown to it, never shrunk. Unchanged when absent.
    #[serde(default)]
    pub disk_gib: Option<u32>,
}

fn default_iso_storage() -> String {
    "local".into()
}

fn default_disk() -> String {
    "scsi0".into()
}

fn yes() -> bool {
    true
}

fn default_poll_interval_ms() -> u32 {
    1000
}

fn default_create_timeout_s() -> u32 {
    900
}

impl Config {
    /// Parses and checks a configuration.
    pub fn parse(json: &str) -> Result<Config, Error> {
        let mut cfg: Config = error::parse_config(json)?;
        cfg.api_url = cfg.api_url.trim_end_matches('/').to_string();
        cfg.check()?;
        Ok(cfg)
    }

    /// `<api_url>/api2/json`.
    pub fn api_base(&self) -> String {
        format!("{}/api2/json", self.api_url)
    }

    /// The size called `name`.
    pub fn size(&self, name: &str) -> Result<&Size, Error> {
        self.sizes.get(name).ok_or_else(|| {
            error::invalid_config(format!(
                "size {name:?} is not in the proxmox config's sizes ({})",
                self.sizes.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    fn check(&self) -> Result<(), Error> {
        let bad = |msg: String| Err(error::invalid_config(format!("proxmox config: {msg}")));
        let url_ok = (self.api_url.starts_with("https://") || self.api_url.starts_with("http://"))
            && !self.api_url[self.api_url.find("//").map_or(0, |i| i + 2)..]
                .contains(['/', '?', '#', '@']);
        if !url_ok {
            return bad(format!(
                "api_url {:?} must be an origin like \"https://pve1.lan:8006\" (no path)",
                self.api_url
            ));
        }
        if !is_pve_id(&self.node) {
            return bad(format!("node {:?} is not a Proxmox node name", self.node));
        }
        for (field, storage) in [
            ("iso_storage", Some(&self.iso_storage)),
            ("disk_storage", self.disk_storage.as_ref()),
        ] {
            if let Some(s) = storage
                && !is_pve_id(s)
            {
                return bad(format!("{field} {s:?} is not a storage id"));
            }
        }
        if !self.full_clone && self.disk_storage.is_some() {
            return bad(
                "disk_storage applies to full clones only (Proxmox refuses it for linked clones)"
                    .into(),
            );
        }
        if let Some(id) = &self.token_id {
            let ok = id.contains('@')
                && id.contains('!')
                && !id.contains('=')
                && id.len() <= 200
                && !id.chars().any(|c| c.is_control() || c.is_whitespace());
            if !ok {
                return bad("token_id must look like USER@REALM!TOKENID".into());
            }
        }
        if let Some(bridge) = &self.bridge
            && !is_pve_id(bridge)
        {
            return bad(format!("bridge {bridge:?} is not a bridge name"));
        }
        if let Some(vlan) = self.vlan
            && !(1..=4094).contains(&vlan)
        {
            return bad(format!("vlan {vlan} is outside 1..=4094"));
        }
        let disk_ok = ["scsi", "virtio", "sata", "ide"].iter().any(|bus| {
            self.disk.strip_prefix(bus).is_some_and(|n| {
                !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit())
            })
        });
        if !disk_ok {
            return bad(format!(
                "disk {:?} is not a disk key like \"scsi0\"",
                self.disk
            ));
        }
        if self.sizes.is_empty() {
            return bad("sizes is empty; define at least one, e.g. {\"small\": {\"cores\": 2, \"memory_mib\": 4096}}".into());
        }
        for (name, size) in &self.sizes {
            if !(1..=512).contains(&size.cores) || !(16..=4_194_304).contains(&size.memory_mib) {
                return bad(format!(
                    "sizes.{name}: cores must be 1..=512 and memory_mib 16..=4194304"
                ));
            }
            if size.disk_gib == Some(0) {
                return bad(format!("sizes.{name}: disk_gib must be positive"));
            }
        }
        tazhost_sdk::check_poll_settings("proxmox", self.poll_interval_ms, self.create_timeout_s)
    }
}

/// Proxmox's `pve-configid`-like identifiers: letters, digits, `-`, `_`, `.`.
fn is_pve_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const MINIMAL: &str = r#"{
        "api_url": "https://pve1.lan:8006/",
        "node": "pve1",
        "sizes": {"small": {"cores": 2, "memory_mib": 4096, "disk_gib": 32}}
    }"#;

    fn with(extra: &str) -> String {
        MINIMAL.replacen('{', &format!("{{ {extra},"), 1)
    }

    fn err(json: &str) -> String {
        match Config::parse(json) {
            Err(Error::InvalidConfig(m)) => m,
            other => panic!("expected invalid-config for {json}, got {other:?}"),
        }
    }

    #[test]
    fn minimal_config_and_defaults() {
        let c = Config::parse(MINIMAL).unwrap();
        assert_eq!(c.api_base(), "https://pve1.lan:8006/api2/json");
        assert_eq!(c.iso_storage, "local");
        assert_eq!(c.disk, "scsi0");
        assert!(c.full_clone);
        assert_eq!(c.size("small").unwrap().cores, 2);
        assert!(error::message(&c.size("huge").unwrap_err()).contains("small"));
    }

    #[test]
    fn refusals() {
        assert!(err("{}").contains("missing field"));
        assert!(err(&with(r#""token": "x""#)).contains("unknown field `token`"));
        assert!(
            err(&MINIMAL.replace("https://pve1.lan:8006/", "https://pve1.lan:8006/api2/json"))
                .contains("api_url")
        );
        assert!(err(&MINIMAL.replace("https://pve1.lan:8006/", "ftp://pve")).contains("api_url"));
        assert!(err(&MINIMAL.replace("\"pve1\"", "\"pve 1\"")).contains("node"));
        assert!(err(&with(r#""token_id": "root@pam""#)).contains("token_id"));
        assert!(err(&with(r#""token_id": "root@pam!t=secret""#)).contains("token_id"));
        assert!(err(&with(r#""vlan": 5000"#)).contains("vlan"));
        assert!(err(&with(r#""disk": "nvme0""#)).contains("disk"));
        assert!(err(&MINIMAL.replace("\"cores\": 2", "\"cores\": 0")).contains("sizes.small"));
        assert!(err(&with(r#""poll_interval_ms": 5"#)).contains("poll_interval_ms"));
        assert!(
            Config::parse(&with(
                r#""token_id": "tazhost@pve!bootstrap", "vlan": 20, "bridge": "vmbr0""#
            ))
            .is_ok()
        );
    }
}
