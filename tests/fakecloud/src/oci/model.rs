//! The resources the fake keeps (an instance and its primary VNIC) and their JSON, field
//! by field as the Core Services API reference (20160918) documents the `Instance`,
//! `VnicAttachment` and `Vnic` objects. States are computed from the clock whenever read.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::catalog;
use super::launch::LaunchSpec;

/// `2016-08-25T21:10:29.600Z`: RFC 3339 in UTC with milliseconds, as the API returns.
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// `20160825211029`: the suffix of default display names.
pub fn compact_timestamp(t: SystemTime) -> String {
    timestamp(t)
        .chars()
        .take(19)
        .filter(char::is_ascii_digit)
        .collect()
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

/// An etag: a digest of the resource's JSON, so it changes whenever the resource does
/// (its lifecycle state included).
pub fn etag(resource: &Value) -> String {
    let digest = Sha256::digest(serde_json::to_vec(resource).unwrap_or_default());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Where an instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lifecycle {
    Provisioning,
    Running,
    Terminating,
    Terminated,
}

impl Lifecycle {
    /// `Instance.lifecycleState`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "PROVISIONING",
            Self::Running => "RUNNING",
            Self::Terminating => "TERMINATING",
            Self::Terminated => "TERMINATED",
        }
    }

    /// `VnicAttachment.lifecycleState`.
    pub fn attachment(self) -> &'static str {
        match self {
            Self::Provisioning => "ATTACHING",
            Self::Running => "ATTACHED",
            Self::Terminating => "DETACHING",
            Self::Terminated => "DETACHED",
        }
    }

    /// `Vnic.lifecycleState`.
    pub fn vnic(self) -> &'static str {
        match self {
            Self::Provisioning => "PROVISIONING",
            Self::Running => "AVAILABLE",
            Self::Terminating => "TERMINATING",
            Self::Terminated => "TERMINATED",
        }
    }
}

/// A `TerminateInstance` that was accepted.
#[derive(Debug, Clone)]
pub struct Termination {
    pub done_at: Instant,
    pub preserve_boot_volume: bool,
}

/// The instance's primary VNIC and its attachment.
#[derive(Debug, Clone)]
pub struct Vnic {
    pub id: String,
    pub attachment_id: String,
    pub private_ip: Ipv4Addr,
    pub public_ip: Option<Ipv4Addr>,
    pub mac_address: String,
    pub vlan_tag: u32,
}

/// An instance as the fake stores it.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Creation order.
    pub seq: u64,
    pub id: String,
    pub spec: LaunchSpec,
    pub display_name: String,
    pub fault_domain: String,
    /// The region's name, e.g. `us-ashburn-1`.
    pub region: String,
    pub created: SystemTime,
    pub running_at: Instant,
    pub termination: Option<Termination>,
    pub retry_token: Option<String>,
    pub vnic: Vnic,
}

impl Instance {
    pub fn lifecycle(&self, now: Instant) -> Lifecycle {
        match &self.termination {
            Some(t) if now >= t.done_at => Lifecycle::Terminated,
            Some(_) => Lifecycle::Terminating,
            None if now >= self.running_at => Lifecycle::Running,
            None => Lifecycle::Provisioning,
        }
    }

    fn shape_config_json(&self) -> Value {
        let shape = self.spec.shape;
        let mut c = json!({
            "ocpus": self.spec.ocpus,
            "memoryInGBs": self.spec.memory_gbs,
            "vcpus": (self.spec.ocpus as u32) * shape.vcpus_per_ocpu,
            "processorDescription": shape.processor_description,
            "networkingBandwidthInGbps": shape.bandwidth_gbps(self.spec.ocpus),
            "maxVnicAttachments": shape.max_vnic_attachments,
            "gpus": 0,
            "localDisks": 0,
        });
        if let Some(b) = &self.spec.baseline_ocpu_utilization {
            c["baselineOcpuUtilization"] = json!(b);
        }
        c
    }

    /// The `Instance` object.
    pub fn to_json(&self, now: Instant) -> Value {
        let mut source = json!({ "sourceType": "image", "imageId": self.spec.image_id });
        if let Some(size) = self.spec.boot_volume_size_gbs {
            source["bootVolumeSizeInGBs"] = json!(size);
        }
        json!({
            "availabilityDomain": self.spec.availability_domain,
            "compartmentId": self.spec.compartment_id,
            "definedTags": self.spec.defined_tags,
            "displayName": self.display_name,
            "extendedMetadata": self.spec.extended_metadata,
            "faultDomain": self.fault_domain,
            "freeformTags": self.spec.freeform_tags,
            "id": self.id,
            "imageId": self.spec.image_id,
            "launchMode": "PARAVIRTUALIZED",
            "launchOptions": {
                "bootVolumeType": "PARAVIRTUALIZED",
                "firmware": "UEFI_64",
                "networkType": "PARAVIRTUALIZED",
                "remoteDataVolumeType": "PARAVIRTUALIZED",
                "isPvEncryptionInTransitEnabled": false,
                "isConsistentVolumeNamingEnabled": true,
            },
            "instanceOptions": { "areLegacyImdsEndpointsDisabled": false },
            "availabilityConfig": { "recoveryAction": "RESTORE_INSTANCE" },
            "agentConfig": {
                "isMonitoringDisabled": false,
                "isManagementDisabled": false,
                "areAllPluginsDisabled": false,
            },
            "lifecycleState": self.lifecycle(now).as_str(),
            "metadata": self.spec.metadata,
            "region": catalog::instance_region(&self.region),
            "shape": self.spec.shape.name,
            "shapeConfig": self.shape_config_json(),
            "isCrossNumaNode": false,
            "sourceDetails": source,
            "systemTags": {},
            "timeCreated": timestamp(self.created),
        })
    }

    /// The primary `VnicAttachment`; `vnicId` and `vlanTag` appear once it is attached,
    /// as the reference says ("Available after the attachment process is complete").
    pub fn attachment_json(&self, now: Instant) -> Value {
        let state = self.lifecycle(now);
        let mut a = json!({
            "availabilityDomain": self.spec.availability_domain,
            "compartmentId": self.spec.compartment_id,
            "displayName": self.vnic_display_name(),
            "id": self.vnic.attachment_id,
            "instanceId": self.id,
            "lifecycleState": state.attachment(),
            "nicIndex": 0,
            "subnetId": self.spec.vnic.subnet_id,
            "timeCreated": timestamp(self.created),
        });
        if state >= Lifecycle::Running {
            a["vnicId"] = json!(self.vnic.id);
            a["vlanTag"] = json!(self.vnic.vlan_tag);
        }
        a
    }

    fn vnic_display_name(&self) -> &str {
        self.spec
            .vnic
            .display_name
            .as_deref()
            .unwrap_or(&self.display_name)
    }

    /// The primary `Vnic`; its public IP shows once it is available.
    pub fn vnic_json(&self, now: Instant) -> Value {
        let state = self.lifecycle(now);
        let mut v = json!({
            "availabilityDomain": self.spec.availability_domain,
            "compartmentId": self.spec.compartment_id,
            "definedTags": self.spec.vnic.defined_tags,
            "displayName": self.vnic_display_name(),
            "freeformTags": self.spec.vnic.freeform_tags,
            "id": self.vnic.id,
            "isPrimary": true,
            "lifecycleState": state.vnic(),
            "macAddress": self.vnic.mac_address,
            "nsgIds": self.spec.vnic.nsg_ids,
            "privateIp": self.vnic.private_ip.to_string(),
            "skipSourceDestCheck": self.spec.vnic.skip_source_dest_check,
            "subnetId": self.spec.vnic.subnet_id,
            "systemTags": {},
            "timeCreated": timestamp(self.created),
            "ipv6Addresses": [],
        });
        if let Some(h) = &self.spec.vnic.hostname_label {
            v["hostnameLabel"] = json!(h);
        }
        if let (Some(ip), Lifecycle::Running) = (self.vnic.public_ip, state) {
            v["publicIp"] = json!(ip.to_string());
        }
        v
    }
}

/// A snapshot of one instance, for assertions in tests (`Running::instances`).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRecord {
    pub id: String,
    pub display_name: String,
    pub compartment_id: String,
    pub availability_domain: String,
    pub fault_domain: String,
    /// `PROVISIONING`, `RUNNING`, `TERMINATING` or `TERMINATED`, as a GET would say now.
    pub lifecycle_state: String,
    pub shape: String,
    pub ocpus: f64,
    pub memory_in_gbs: f64,
    pub image_id: String,
    pub boot_volume_size_in_gbs: Option<u64>,
    pub freeform_tags: BTreeMap<String, String>,
    pub defined_tags: Map<String, Value>,
    /// `metadata` exactly as sent (`user_data` still base64).
    pub metadata: BTreeMap<String, String>,
    /// `metadata.user_data` decoded (lossy UTF-8).
    pub user_data: Option<String>,
    pub ssh_authorized_keys: Option<String>,
    pub subnet_id: String,
    pub assign_public_ip: bool,
    pub hostname_label: Option<String>,
    pub private_ip: String,
    /// Assigned at launch (when `assignPublicIp`); the API shows it once RUNNING.
    pub public_ip: Option<String>,
    pub vnic_id: String,
    /// The `opc-retry-token` of the launch that created it.
    pub retry_token: Option<String>,
    /// `Some(preserveBootVolume)` once terminated.
    pub preserve_boot_volume: Option<bool>,
}

impl InstanceRecord {
    pub(crate) fn of(i: &Instance, now: Instant) -> Self {
        Self {
            id: i.id.clone(),
            display_name: i.display_name.clone(),
            compartment_id: i.spec.compartment_id.clone(),
            availability_domain: i.spec.availability_domain.clone(),
            fault_domain: i.fault_domain.clone(),
            lifecycle_state: i.lifecycle(now).as_str().to_string(),
            shape: i.spec.shape.name.to_string(),
            ocpus: i.spec.ocpus,
            memory_in_gbs: i.spec.memory_gbs,
            image_id: i.spec.image_id.clone(),
            boot_volume_size_in_gbs: i.spec.boot_volume_size_gbs,
            freeform_tags: i.spec.freeform_tags.clone(),
            defined_tags: i.spec.defined_tags.clone(),
            metadata: i.spec.metadata.clone(),
            user_data: i
                .spec
                .user_data
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned()),
            ssh_authorized_keys: i.spec.metadata.get("ssh_authorized_keys").cloned(),
            subnet_id: i.spec.vnic.subnet_id.clone(),
            assign_public_ip: i.spec.vnic.assign_public_ip,
            hostname_label: i.spec.vnic.hostname_label.clone(),
            private_ip: i.vnic.private_ip.to_string(),
            public_ip: i.vnic.public_ip.map(|ip| ip.to_string()),
            vnic_id: i.vnic.id.clone(),
            retry_token: i.retry_token.clone(),
            preserve_boot_volume: i.termination.as_ref().map(|t| t.preserve_boot_volume),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_with_milliseconds() {
        let table = [
            (0, 0, "1970-01-01T00:00:00.000Z"),
            (1_472_159_429, 600, "2016-08-25T21:10:29.600Z"),
            (951_782_400, 5, "2000-02-29T00:00:00.005Z"),
        ];
        for (secs, ms, want) in table {
            let t = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(ms);
            assert_eq!(timestamp(t), want);
        }
        assert_eq!(
            compact_timestamp(UNIX_EPOCH + Duration::from_secs(1_472_159_429)),
            "20160825211029"
        );
    }

    #[test]
    fn etags_follow_the_content() {
        assert_eq!(etag(&json!({"a": 1})), etag(&json!({"a": 1})));
        assert_ne!(etag(&json!({"a": 1})), etag(&json!({"a": 2})));
        assert_eq!(etag(&json!({})).len(), 32);
    }

    #[test]
    fn lifecycle_names_line_up() {
        let all = [
            Lifecycle::Provisioning,
            Lifecycle::Running,
            Lifecycle::Terminating,
            Lifecycle::Terminated,
        ];
        let names: Vec<_> = all
            .iter()
            .map(|l| (l.as_str(), l.attachment(), l.vnic()))
            .collect();
        assert_eq!(
            names,
            [
                ("PROVISIONING", "ATTACHING", "PROVISIONING"),
                ("RUNNING", "ATTACHED", "AVAILABLE"),
                ("TERMINATING", "DETACHING", "TERMINATING"),
                ("TERMINATED", "DETACHED", "TERMINATED"),
            ]
        );
    }
}
