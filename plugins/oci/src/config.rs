//! The plugin's configuration: `[providers.oci.config]` as JSON.

use std::collections::BTreeMap;

use serde::Deserialize;
use tazhost_sdk::{Error, error};

/// OCI settings. Unknown fields are refused so that typos do not go unnoticed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Region identifier, e.g. `eu-frankfurt-1`; the API is `https://iaas.<region>.oraclecloud.com`.
    pub region: String,
    /// Tenancy OCID (first part of the signing key id).
    pub tenancy_id: String,
    /// User OCID the API key belongs to.
    pub user_id: String,
    /// Fingerprint of the API key (`aa:bb:…`, as the console shows it).
    pub fingerprint: String,
    /// Compartment the instances live in.
    pub compartment_id: String,
    /// Availability domain name, e.g. `Uocm:EU-FRANKFURT-1-AD-1`.
    pub availability_domain: String,
    /// Subnet of the primary VNIC.
    pub subnet_id: String,
    /// Whether the primary VNIC gets a public IPv4 (default true).
    #[serde(default = "yes")]
    pub assign_public_ip: bool,
    /// Boot volume size in GB (50..=32768); OCI's image default when absent.
    #[serde(default)]
    pub boot_volume_size_gbs: Option<u32>,
    /// Shape configurations for flexible shapes, by shape name (the pool's `size`).
    #[serde(default)]
    pub shape_configs: BTreeMap<String, ShapeConfig>,
    /// Pause between two polls of an instance, in milliseconds (100..=60000).
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u32,
    /// How long `create` and `delete` wait for OCI, in seconds (1..=7200).
    #[serde(default = "default_create_timeout_s")]
    pub create_timeout_s: u32,
}

/// OCPUs and memory of a flexible shape.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeConfig {
    /// OCPUs (1..=128).
    pub ocpus: f32,
    /// Memory in GB (1..=2048).
    pub memory_in_gbs: f32,
}

fn yes() -> bool {
    true
}

fn default_poll_interval_ms() -> u32 {
    2000
}

fn default_create_timeout_s() -> u32 {
    900
}

impl Config {
    /// Parses and checks a configuration.
    pub fn parse(json: &str) -> Result<Config, Error> {
        let cfg: Config = error::parse_config(json)?;
        cfg.check()?;
        Ok(cfg)
    }

    /// The API origin for the region.
    pub fn api_origin(&self) -> String {
        format!("https://iaas.{}.oraclecloud.com", self.region)
    }

    /// The signing key id, `TENANCY/USER/FINGERPRINT`.
    pub fn key_id(&self) -> String {
        format!("{}/{}/{}", self.tenancy_id, self.user_id, self.fingerprint)
    }

    fn check(&self) -> Result<(), Error> {
        let bad = |msg: String| Err(error::invalid_config(format!("oci config: {msg}")));
        let region_ok = !self.region.is_empty()
            && self.region.len() <= 64
            && self
                .region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !region_ok {
            return bad(format!(
                "region {:?} is not an OCI region identifier (like \"eu-frankfurt-1\")",
                self.region
            ));
        }
        for (field, value, kind) in [
            ("tenancy_id", &self.tenancy_id, "tenancy"),
            ("user_id", &self.user_id, "user"),
            ("compartment_id", &self.compartment_id, ""),
            ("subnet_id", &self.subnet_id, "subnet"),
        ] {
            if !is_ocid(value, kind) {
                return bad(format!("{field} is not an OCID (ocid1.{kind}…)"));
            }
        }
        let fp_ok = self.fingerprint.len() == 47
            && self.fingerprint.split(':').count() == 16
            && self
                .fingerprint
                .split(':')
                .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
        if !fp_ok {
            return bad(
                "fingerprint must be the key's MD5 fingerprint, 16 hex pairs separated by `:`"
                    .into(),
            );
        }
        if self.availability_domain.trim().is_empty() || self.availability_domain.len() > 255 {
            return bad("availability_domain is empty".into());
        }
        if let Some(gb) = self.boot_volume_size_gbs
            && !(50..=32768).contains(&gb)
        {
            return bad(format!(
                "boot_volume_size_gbs is {gb}; OCI accepts 50 to 32768"
            ));
        }
        for (shape, sc) in &self.shape_configs {
            if !(1.0..=128.0).contains(&sc.ocpus) || !(1.0..=2048.0).contains(&sc.memory_in_gbs) {
                return bad(format!(
                    "shape_configs.{shape}: ocpus must be 1..=128 and memory_in_gbs 1..=2048"
                ));
            }
        }
        tazhost_sdk::check_poll_settings("oci", self.poll_interval_ms, self.create_timeout_s)
    }
}

/// `ocid1.<kind>.…` (any kind when `kind` is empty), printable, no separators that would break a
/// URL or a header.
pub fn is_ocid(value: &str, kind: &str) -> bool {
    let prefix = format!("ocid1.{kind}");
    value.starts_with(&prefix)
        && value.len() <= 255
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// A minimal valid configuration, for tests.
#[cfg(test)]
pub(crate) fn tests_minimal() -> &'static str {
    tests::MINIMAL
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const MINIMAL: &str = r#"{
        "region": "eu-frankfurt-1",
        "tenancy_id": "ocid1.tenancy.oc1..aaaa",
        "user_id": "ocid1.user.oc1..bbbb",
        "fingerprint": "20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34",
        "compartment_id": "ocid1.compartment.oc1..cccc",
        "availability_domain": "Uocm:EU-FRANKFURT-1-AD-1",
        "subnet_id": "ocid1.subnet.oc1.eu-frankfurt-1.dddd"
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
    fn minimal_config_and_derived_values() {
        let c = Config::parse(MINIMAL).unwrap();
        assert!(c.assign_public_ip);
        assert_eq!(c.poll_interval_ms, 2000);
        assert_eq!(
            c.api_origin(),
            "https://iaas.eu-frankfurt-1.oraclecloud.com"
        );
        assert_eq!(
            c.key_id(),
            "ocid1.tenancy.oc1..aaaa/ocid1.user.oc1..bbbb/20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34"
        );
        let flex = Config::parse(&with(
            r#""shape_configs": {"VM.Standard.A1.Flex": {"ocpus": 2, "memory_in_gbs": 12}}"#,
        ))
        .unwrap();
        assert_eq!(flex.shape_configs["VM.Standard.A1.Flex"].ocpus, 2.0);
    }

    #[test]
    fn refusals() {
        assert!(err("{}").contains("missing field"));
        assert!(err(&with(r#""endpoint": "http://x""#)).contains("unknown field `endpoint`"));
        assert!(err(&MINIMAL.replace("eu-frankfurt-1\"", "EU Frankfurt\"")).contains("region"));
        assert!(err(&MINIMAL.replace("ocid1.user.oc1..bbbb", "bbbb")).contains("user_id"));
        assert!(err(&MINIMAL.replace("20:3b", "zz:3b")).contains("fingerprint"));
        assert!(err(&with(r#""boot_volume_size_gbs": 10"#)).contains("boot_volume_size_gbs"));
        assert!(
            err(&with(
                r#""shape_configs": {"X": {"ocpus": 0, "memory_in_gbs": 1}}"#
            ))
            .contains("shape_configs.X")
        );
        assert!(err(&with(r#""poll_interval_ms": 5"#)).contains("poll_interval_ms"));
    }
}
