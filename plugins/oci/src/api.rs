//! OCI Core Services API shapes (version 20160918) and the pure functions around them.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tazhost_sdk::http::percent_encode;
use tazhost_sdk::{Node, NodeSpec};

use crate::config::Config;

/// API version prefix of every Core Services path.
pub const VERSION: &str = "/20160918";
/// OCI's limit on the combined instance metadata, which holds the base64 `user_data`.
pub const MAX_METADATA: usize = 32_000;
/// Instances asked for per page when listing (OCI's maximum for ListInstances).
pub const PAGE_LIMIT: u32 = 100;
/// Safety stop for a pagination that never ends.
pub const MAX_PAGES: usize = 1000;

/// An instance as OCI reports it (only the fields used here).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub id: String,
    #[serde(default)]
    pub display_name: String,
    /// `MOVING`, `PROVISIONING`, `RUNNING`, `STARTING`, `STOPPING`, `STOPPED`, `CREATING_IMAGE`,
    /// `TERMINATING` or `TERMINATED`.
    pub lifecycle_state: String,
    #[serde(default)]
    pub freeform_tags: BTreeMap<String, String>,
}

impl Instance {
    /// Whether the instance is gone or going (terminated instances stay listed for a while).
    pub fn is_ended(&self) -> bool {
        matches!(self.lifecycle_state.as_str(), "TERMINATING" | "TERMINATED")
    }

    /// Whether it carries every label.
    pub fn carries(&self, labels: &[(String, String)]) -> bool {
        labels
            .iter()
            .all(|(k, v)| self.freeform_tags.get(k) == Some(v))
    }

    /// The contract's view, with the addresses of its primary VNIC if known.
    pub fn into_node(self, vnic: Option<Vnic>) -> Node {
        let (public_ipv4, private_ipv4) = match vnic {
            Some(v) => (v.public_ip, v.private_ip),
            None => (None, None),
        };
        Node {
            name: self.display_name,
            provider_id: self.id,
            public_ipv4,
            private_ipv4,
            status: self.lifecycle_state,
            labels: self.freeform_tags.into_iter().collect(),
        }
    }
}

/// A VNIC attachment (which VNIC an instance uses).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VnicAttachment {
    #[serde(default)]
    pub vnic_id: Option<String>,
    pub lifecycle_state: String,
}

/// A VNIC's addresses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vnic {
    #[serde(default)]
    pub public_ip: Option<String>,
    #[serde(default)]
    pub private_ip: Option<String>,
    #[serde(default)]
    pub is_primary: Option<bool>,
}

/// LaunchInstanceDetails.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchDetails {
    pub availability_domain: String,
    pub compartment_id: String,
    pub shape: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape_config: Option<ShapeConfig>,
    pub display_name: String,
    pub freeform_tags: BTreeMap<String, String>,
    pub metadata: BTreeMap<String, String>,
    pub source_details: SourceDetails,
    pub create_vnic_details: VnicDetails,
}

/// LaunchInstanceShapeConfigDetails.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShapeConfig {
    pub ocpus: f32,
    #[serde(rename = "memoryInGBs")]
    pub memory_in_gbs: f32,
}

/// InstanceSourceViaImageDetails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceDetails {
    pub source_type: &'static str,
    pub image_id: String,
    #[serde(
        skip_serializing_if = "Option::is_none",
        rename = "bootVolumeSizeInGBs"
    )]
    pub boot_volume_size_in_gbs: Option<u32>,
}

/// CreateVnicDetails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VnicDetails {
    pub subnet_id: String,
    pub assign_public_ip: bool,
}

/// The LaunchInstance body for one node.
pub fn launch_details(cfg: &Config, spec: &NodeSpec, user_data: &str) -> LaunchDetails {
    let mut metadata = BTreeMap::new();
    metadata.insert(
        "user_data".to_string(),
        base64::engine::general_purpose::STANDARD.encode(user_data),
    );
    LaunchDetails {
        availability_domain: cfg.availability_domain.clone(),
        compartment_id: cfg.compartment_id.clone(),
        shape: spec.size.clone(),
        shape_config: cfg.shape_configs.get(&spec.size).map(|sc| ShapeConfig {
            ocpus: sc.ocpus,
            memory_in_gbs: sc.memory_in_gbs,
        }),
        display_name: spec.name.clone(),
        freeform_tags: spec.labels.iter().cloned().collect(),
        metadata,
        source_details: SourceDetails {
            source_type: "image",
            image_id: spec.image.clone(),
            boot_volume_size_in_gbs: cfg.boot_volume_size_gbs,
        },
        create_vnic_details: VnicDetails {
            subnet_id: cfg.subnet_id.clone(),
            assign_public_ip: cfg.assign_public_ip,
        },
    }
}

/// Size of the `user_data` metadata value once base64-encoded.
pub fn encoded_user_data_len(user_data: &str) -> usize {
    user_data.len().div_ceil(3) * 4
}

/// `GET /instances` for the compartment, optionally one display name, one page.
pub fn instances_url(cfg: &Config, display_name: Option<&str>, page: Option<&str>) -> String {
    let mut url = format!(
        "{}{VERSION}/instances?compartmentId={}&limit={PAGE_LIMIT}",
        cfg.api_origin(),
        percent_encode(&cfg.compartment_id)
    );
    if let Some(name) = display_name {
        url.push_str(&format!("&displayName={}", percent_encode(name)));
    }
    if let Some(page) = page {
        url.push_str(&format!("&page={}", percent_encode(page)));
    }
    url
}

/// `GET /instances/{id}`.
pub fn instance_url(cfg: &Config, id: &str) -> String {
    format!(
        "{}{VERSION}/instances/{}",
        cfg.api_origin(),
        percent_encode(id)
    )
}

/// `GET /vnicAttachments` of one instance.
pub fn vnic_attachments_url(cfg: &Config, instance_id: &str) -> String {
    format!(
        "{}{VERSION}/vnicAttachments?compartmentId={}&instanceId={}",
        cfg.api_origin(),
        percent_encode(&cfg.compartment_id),
        percent_encode(instance_id)
    )
}

/// `GET /vnics/{id}`.
pub fn vnic_url(cfg: &Config, vnic_id: &str) -> String {
    format!(
        "{}{VERSION}/vnics/{}",
        cfg.api_origin(),
        percent_encode(vnic_id)
    )
}

/// An `opc-retry-token` from random bytes: OCI accepts up to 64 characters.
pub fn retry_token(random: &[u8]) -> String {
    random.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::parse(crate::config::tests_minimal()).unwrap()
    }

    fn spec() -> NodeSpec {
        NodeSpec {
            name: "demo-worker-1".into(),
            role: "worker".into(),
            size: "VM.Standard.A1.Flex".into(),
            image: "ocid1.image.oc1.eu-frankfurt-1.img".into(),
            labels: vec![
                ("tazhost-cluster".into(), "demo".into()),
                ("tazhost-pool".into(), "workers".into()),
            ],
        }
    }

    #[test]
    fn launch_body_uses_the_api_field_names() {
        let mut c = cfg();
        c.shape_configs.insert(
            "VM.Standard.A1.Flex".into(),
            crate::config::ShapeConfig {
                ocpus: 2.0,
                memory_in_gbs: 12.0,
            },
        );
        c.boot_volume_size_gbs = Some(60);
        let body = serde_json::to_value(launch_details(&c, &spec(), "machine: {}\n")).unwrap();
        assert_eq!(body["displayName"], "demo-worker-1");
        assert_eq!(body["shape"], "VM.Standard.A1.Flex");
        assert_eq!(body["shapeConfig"]["ocpus"], 2.0);
        assert_eq!(body["shapeConfig"]["memoryInGBs"], 12.0);
        assert_eq!(body["sourceDetails"]["sourceType"], "image");
        assert_eq!(body["sourceDetails"]["bootVolumeSizeInGBs"], 60);
        assert_eq!(body["createVnicDetails"]["assignPublicIp"], true);
        assert_eq!(body["freeformTags"]["tazhost-pool"], "workers");
        assert_eq!(body["metadata"]["user_data"], "bWFjaGluZToge30K");
        assert_eq!(encoded_user_data_len("machine: {}\n"), 16);
        let plain = serde_json::to_value(launch_details(&cfg(), &spec(), "")).unwrap();
        assert!(plain.get("shapeConfig").is_none());
        assert!(plain["sourceDetails"].get("bootVolumeSizeInGBs").is_none());
    }

    #[test]
    fn urls_escape_their_values() {
        let c = cfg();
        assert_eq!(
            instances_url(&c, Some("a b"), Some("p/1")),
            "https://iaas.eu-frankfurt-1.oraclecloud.com/20160918/instances?compartmentId=ocid1.compartment.oc1..cccc&limit=100&displayName=a%20b&page=p%2F1"
        );
        assert_eq!(retry_token(&[0xab, 0x01]), "ab01");
    }

    #[test]
    fn instances_map_to_nodes() {
        let i: Instance = serde_json::from_value(serde_json::json!({
            "id": "ocid1.instance.oc1..x", "displayName": "n1", "lifecycleState": "RUNNING",
            "freeformTags": {"tazhost-cluster": "demo"}, "shape": "VM.Standard.E4.Flex"
        }))
        .unwrap();
        assert!(i.carries(&[("tazhost-cluster".into(), "demo".into())]));
        assert!(!i.carries(&[("tazhost-cluster".into(), "other".into())]));
        assert!(!i.is_ended());
        let node = i.into_node(Some(Vnic {
            public_ip: Some("203.0.113.5".into()),
            private_ip: Some("10.0.0.5".into()),
            is_primary: Some(true),
        }));
        assert_eq!(node.provider_id, "ocid1.instance.oc1..x");
        assert_eq!(node.public_ipv4.as_deref(), Some("203.0.113.5"));
        assert_eq!(node.status, "RUNNING");
    }
}
