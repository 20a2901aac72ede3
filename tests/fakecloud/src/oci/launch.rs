//! Validating a `LaunchInstance` body (`LaunchInstanceDetails` of the Core Services API
//! reference, version 20160918) into a [`LaunchSpec`]. The first problem found is the
//! answer, as the API reports one error at a time.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::catalog::{self, Shape, Sizing};
use super::errors::ApiError;

/// "The combined size of the `metadata` and `extendedMetadata` objects can be a maximum
/// of 32,000 bytes." The fake measures the two objects serialized as compact JSON.
pub const MAX_METADATA_BYTES: usize = 32_000;

/// Smallest and largest `sourceDetails.bootVolumeSizeInGBs` (50 GB to 32 TB).
pub const BOOT_VOLUME_GBS: (u64, u64) = (50, 32_768);

/// Fields of `LaunchInstanceDetails` the fake accepts and ignores (see the module docs).
const IGNORED_FIELDS: &[&str] = &[
    "agentConfig",
    "availabilityConfig",
    "capacityReservationId",
    "clusterPlacementGroupId",
    "computeClusterId",
    "dedicatedVmHostId",
    "instanceConfigurationId",
    "instanceOptions",
    "ipxeScript",
    "isAIEnterpriseEnabled",
    "isPvEncryptionInTransitEnabled",
    "launchOptions",
    "launchVolumeAttachments",
    "licensingConfigs",
    "placementConstraintDetails",
    "platformConfig",
    "preemptibleInstanceConfig",
    "securityAttributes",
];

const LAUNCH_FIELDS: &[&str] = &[
    "availabilityDomain",
    "compartmentId",
    "createVnicDetails",
    "definedTags",
    "displayName",
    "extendedMetadata",
    "faultDomain",
    "freeformTags",
    "hostnameLabel",
    "imageId",
    "metadata",
    "shape",
    "shapeConfig",
    "sourceDetails",
    "subnetId",
];

const SHAPE_CONFIG_FIELDS: &[&str] = &[
    "ocpus",
    "vcpus",
    "memoryInGBs",
    "baselineOcpuUtilization",
    "nvmes",
    "resourceManagement",
    "localVolumeSizeInGBs",
];

const IMAGE_SOURCE_FIELDS: &[&str] = &[
    "sourceType",
    "imageId",
    "bootVolumeSizeInGBs",
    "bootVolumeVpusPerGB",
    "kmsKeyId",
    "instanceSourceImageFilterDetails",
];

const VNIC_FIELDS: &[&str] = &[
    "assignIpv6Ip",
    "assignPrivateDnsRecord",
    "assignPublicIp",
    "definedTags",
    "displayName",
    "freeformTags",
    "hostnameLabel",
    "ipv6AddressIpv6SubnetCidrPairDetails",
    "nsgIds",
    "privateIp",
    "privateIpId",
    "securityAttributes",
    "skipSourceDestCheck",
    "subnetCidr",
    "subnetId",
    "vlanId",
];

/// The primary VNIC as requested (`createVnicDetails`).
#[derive(Debug, Clone, PartialEq)]
pub struct VnicSpec {
    pub subnet_id: String,
    /// Default true: the fake has no private subnets.
    pub assign_public_ip: bool,
    pub hostname_label: Option<String>,
    pub display_name: Option<String>,
    pub private_ip: Option<Ipv4Addr>,
    pub nsg_ids: Vec<String>,
    pub skip_source_dest_check: bool,
    pub freeform_tags: BTreeMap<String, String>,
    pub defined_tags: Map<String, Value>,
}

/// A validated `LaunchInstanceDetails`.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchSpec {
    pub availability_domain: String,
    pub compartment_id: String,
    pub shape: &'static Shape,
    pub ocpus: f64,
    pub memory_gbs: f64,
    pub baseline_ocpu_utilization: Option<String>,
    pub display_name: Option<String>,
    pub fault_domain: Option<String>,
    pub freeform_tags: BTreeMap<String, String>,
    pub defined_tags: Map<String, Value>,
    pub metadata: BTreeMap<String, String>,
    pub extended_metadata: Map<String, Value>,
    /// `metadata.user_data`, base64-decoded.
    pub user_data: Option<Vec<u8>>,
    pub image_id: String,
    pub boot_volume_size_gbs: Option<u64>,
    pub vnic: VnicSpec,
}

/// One JSON object of the request, with its path for messages (`createVnicDetails.x`).
struct Obj<'a> {
    map: &'a Map<String, Value>,
    prefix: &'static str,
}

impl<'a> Obj<'a> {
    fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// A field; absent and `null` are the same.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn wrong_type(&self, key: &str, what: &str) -> ApiError {
        ApiError::invalid_parameter(format!("{} must be {what}.", self.path(key)))
    }

    /// Unknown fields are refused (the fake's choice; see the module docs).
    fn only(&self, known: &[&[&str]]) -> Result<(), ApiError> {
        match self
            .map
            .keys()
            .find(|k| !known.iter().any(|list| list.contains(&k.as_str())))
        {
            Some(k) => Err(ApiError::cannot_parse(format!(
                "Unrecognized field '{}' in the request body.",
                self.path(k)
            ))),
            None => Ok(()),
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.wrong_type(key, "a string")),
        }
    }

    fn required_string(&self, key: &str) -> Result<String, ApiError> {
        match self.string(key)? {
            None => Err(ApiError::missing_parameter(&self.path(key))),
            Some(s) if s.trim().is_empty() => Err(ApiError::invalid_parameter(format!(
                "{} must not be empty.",
                self.path(key)
            ))),
            Some(s) => Ok(s),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.wrong_type(key, "a boolean")),
        }
    }

    fn number(&self, key: &str) -> Result<Option<f64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.wrong_type(key, "a number")),
            Some(_) => Err(self.wrong_type(key, "a number")),
        }
    }

    fn object(&self, key: &str, prefix: &'static str) -> Result<Option<Obj<'a>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Obj { map, prefix })),
            Some(_) => Err(self.wrong_type(key, "an object")),
        }
    }

    /// An object of string values (`freeformTags`, `metadata`).
    fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, ApiError> {
        let Some(v) = self.get(key) else {
            return Ok(BTreeMap::new());
        };
        let Value::Object(m) = v else {
            return Err(self.wrong_type(key, "an object of string values"));
        };
        m.iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(ApiError::invalid_parameter(format!(
                    "{}.{k} must be a string.",
                    self.path(key)
                ))),
            })
            .collect()
    }

    /// `definedTags`: namespace -> object of tag values.
    fn defined_tags(&self, key: &str) -> Result<Map<String, Value>, ApiError> {
        let Some(v) = self.get(key) else {
            return Ok(Map::new());
        };
        match v {
            Value::Object(m) if m.values().all(Value::is_object) => Ok(m.clone()),
            _ => Err(self.wrong_type(key, "an object of namespaces, each an object of tags")),
        }
    }

    /// An OCID of one of `kinds` (`ocid1.<kind>.`).
    fn ocid(&self, key: &str, kinds: &[&str]) -> Result<Option<String>, ApiError> {
        let Some(s) = self.string(key)? else {
            return Ok(None);
        };
        if kinds.iter().any(|k| is_ocid(&s, k)) {
            Ok(Some(s))
        } else {
            Err(ApiError::invalid_parameter(format!(
                "{} is not a valid {} OCID.",
                self.path(key),
                kinds.join(" or ")
            )))
        }
    }
}

/// `ocid1.<kind>.<realm>.[region].<unique>`: at least five dot-separated parts, the last
/// one non-empty.
pub fn is_ocid(s: &str, kind: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() >= 5
        && parts[0] == "ocid1"
        && parts[1] == kind
        && parts.last().is_some_and(|u| !u.is_empty())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
}

/// RFC 952/1123 host name label as OCI documents it: up to 63 letters, digits and
/// hyphens, starting with a letter, not ending with a hyphen.
pub fn valid_hostname_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !s.ends_with('-')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// `Uocm:PHX-AD-1`, `Uocm:US-ASHBURN-AD-1`: a tenancy prefix, a colon, and a name ending
/// in `-AD-<n>`.
pub fn valid_availability_domain(s: &str) -> bool {
    let Some((prefix, name)) = s.split_once(':') else {
        return false;
    };
    !prefix.is_empty()
        && name
            .rsplit_once("-AD-")
            .is_some_and(|(region, n)| !region.is_empty() && n.parse::<u8>().is_ok())
}

/// `metadata.user_data`: base64 (ASCII whitespace such as line breaks is ignored, as
/// cloud-init's decoder does).
fn decode_user_data(s: &str) -> Result<Vec<u8>, ApiError> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(compact.as_bytes()).map_err(|e| {
        ApiError::invalid_parameter(format!("metadata.user_data must be base64-encoded: {e}."))
    })
}

fn shape_size(shape: &Shape, config: Option<&Obj<'_>>) -> Result<(f64, f64), ApiError> {
    match (shape.sizing, config) {
        (Sizing::Fixed { ocpus, memory_gbs }, None) => Ok((ocpus, memory_gbs)),
        (Sizing::Fixed { .. }, Some(_)) => Err(ApiError::invalid_parameter(format!(
            "shapeConfig is only allowed for flexible shapes; {} is a fixed shape.",
            shape.name
        ))),
        (Sizing::Flexible { .. }, None) => Err(ApiError::invalid_parameter(format!(
            "shapeConfig with ocpus is required for the flexible shape {}.",
            shape.name
        ))),
        (
            Sizing::Flexible {
                max_ocpus,
                min_gbs_per_ocpu,
                max_gbs_per_ocpu,
                max_memory_gbs,
                default_gbs_per_ocpu,
            },
            Some(c),
        ) => {
            let per = f64::from(shape.vcpus_per_ocpu);
            let ocpus = match (c.number("ocpus")?, c.number("vcpus")?) {
                (Some(o), None) => o,
                (None, Some(v)) => v / per,
                (Some(o), Some(v)) if (o * per - v).abs() < f64::EPSILON => o,
                (Some(_), Some(_)) => {
                    return Err(ApiError::invalid_parameter(
                        "shapeConfig.ocpus and shapeConfig.vcpus do not agree.",
                    ));
                }
                (None, None) => return Err(ApiError::missing_parameter("shapeConfig.ocpus")),
            };
            if ocpus.fract() != 0.0 || ocpus < 1.0 || ocpus > f64::from(max_ocpus) {
                return Err(ApiError::invalid_parameter(format!(
                    "shapeConfig.ocpus must be a whole number from 1 to {max_ocpus} for {}.",
                    shape.name
                )));
            }
            let memory = c
                .number("memoryInGBs")?
                .unwrap_or((ocpus * default_gbs_per_ocpu).min(max_memory_gbs));
            let (low, high) = (
                ocpus * min_gbs_per_ocpu,
                (ocpus * max_gbs_per_ocpu).min(max_memory_gbs),
            );
            if !(low..=high).contains(&memory) {
                return Err(ApiError::invalid_parameter(format!(
                    "shapeConfig.memoryInGBs must be from {low} to {high} for {ocpus} OCPUs of {}.",
                    shape.name
                )));
            }
            Ok((ocpus, memory))
        }
    }
}

fn parse_vnic(o: &Obj<'_>) -> Result<VnicSpec, ApiError> {
    let vnic = o.object("createVnicDetails", "createVnicDetails")?;
    if let Some(v) = &vnic {
        v.only(&[VNIC_FIELDS])?;
    }
    let subnet_id = match vnic.as_ref().map(|v| v.ocid("subnetId", &["subnet"])) {
        Some(Err(e)) => return Err(e),
        Some(Ok(Some(s))) => s,
        _ => o
            .ocid("subnetId", &["subnet"])?
            .ok_or_else(|| ApiError::missing_parameter("createVnicDetails.subnetId"))?,
    };
    let field = |key: &str| -> Result<Option<String>, ApiError> {
        match &vnic {
            Some(v) => v.string(key),
            None => Ok(None),
        }
    };
    let hostname_label = match field("hostnameLabel")? {
        Some(h) => Some(h),
        None => o.string("hostnameLabel")?,
    };
    if let Some(h) = &hostname_label
        && !valid_hostname_label(h)
    {
        return Err(ApiError::invalid_parameter(format!(
            "hostnameLabel '{h}' must be 1 to 63 letters, digits or hyphens, start with a letter and not end with a hyphen."
        )));
    }
    let private_ip = field("privateIp")?
        .map(|s| {
            s.parse::<Ipv4Addr>().map_err(|_| {
                ApiError::invalid_parameter(format!(
                    "createVnicDetails.privateIp '{s}' is not an IPv4 address."
                ))
            })
        })
        .transpose()?;
    let nsg_ids = match vnic.as_ref().and_then(|v| v.get("nsgIds")) {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v.as_str() {
                Some(s) if is_ocid(s, "networksecuritygroup") => Ok(s.to_string()),
                _ => Err(ApiError::invalid_parameter(
                    "createVnicDetails.nsgIds must be a list of network security group OCIDs.",
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                "createVnicDetails.nsgIds must be a list.",
            ));
        }
    };
    if nsg_ids.len() > 5 {
        return Err(ApiError::invalid_parameter(
            "createVnicDetails.nsgIds can hold at most 5 network security groups.",
        ));
    }
    let flag = |key: &str| match &vnic {
        Some(v) => v.bool(key),
        None => Ok(None),
    };
    Ok(VnicSpec {
        subnet_id,
        assign_public_ip: flag("assignPublicIp")?.unwrap_or(true),
        hostname_label,
        display_name: field("displayName")?,
        private_ip,
        nsg_ids,
        skip_source_dest_check: flag("skipSourceDestCheck")?.unwrap_or(false),
        freeform_tags: match &vnic {
            Some(v) => v.string_map("freeformTags")?,
            None => BTreeMap::new(),
        },
        defined_tags: match &vnic {
            Some(v) => v.defined_tags("definedTags")?,
            None => Map::new(),
        },
    })
}

fn parse_source(o: &Obj<'_>) -> Result<(String, Option<u64>), ApiError> {
    let Some(src) = o.object("sourceDetails", "sourceDetails")? else {
        // The deprecated top-level `imageId`.
        return match o.ocid("imageId", &["image"])? {
            Some(id) => Ok((id, None)),
            None => Err(ApiError::missing_parameter("sourceDetails")),
        };
    };
    match src.required_string("sourceType")?.as_str() {
        "image" => {}
        "bootVolume" => {
            return Err(ApiError::invalid_parameter(
                "sourceDetails.sourceType 'bootVolume' is not supported by this fake; use 'image'.",
            ));
        }
        other => {
            return Err(ApiError::invalid_parameter(format!(
                "sourceDetails.sourceType '{other}' is not one of 'image', 'bootVolume'."
            )));
        }
    }
    src.only(&[IMAGE_SOURCE_FIELDS])?;
    let image = src
        .ocid("imageId", &["image"])?
        .ok_or_else(|| ApiError::missing_parameter("sourceDetails.imageId"))?;
    let size = match src.number("bootVolumeSizeInGBs")? {
        None => None,
        Some(n) => {
            let (low, high) = BOOT_VOLUME_GBS;
            if n.fract() != 0.0 || n < low as f64 || n > high as f64 {
                return Err(ApiError::invalid_parameter(format!(
                    "sourceDetails.bootVolumeSizeInGBs must be a whole number from {low} to {high}."
                )));
            }
            Some(n as u64)
        }
    };
    Ok((image, size))
}

/// Validates a `LaunchInstance` body.
pub fn parse(body: &Value) -> Result<LaunchSpec, ApiError> {
    let Value::Object(map) = body else {
        return Err(ApiError::cannot_parse(
            "The request body must be a JSON object.",
        ));
    };
    let o = Obj { map, prefix: "" };
    o.only(&[LAUNCH_FIELDS, IGNORED_FIELDS])?;

    let availability_domain = o.required_string("availabilityDomain")?;
    if !valid_availability_domain(&availability_domain) {
        return Err(ApiError::invalid_parameter(format!(
            "availabilityDomain '{availability_domain}' is not a valid availability domain name (like 'Uocm:PHX-AD-1')."
        )));
    }
    let compartment_id = o
        .ocid("compartmentId", &["compartment", "tenancy"])?
        .ok_or_else(|| ApiError::missing_parameter("compartmentId"))?;
    let shape_name = o.required_string("shape")?;
    let shape = catalog::shape(&shape_name).ok_or_else(|| {
        ApiError::invalid_parameter(format!(
            "Shape '{shape_name}' is not known (the fake knows: {}).",
            catalog::SHAPES
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let shape_config = o.object("shapeConfig", "shapeConfig")?;
    if let Some(c) = &shape_config {
        c.only(&[SHAPE_CONFIG_FIELDS])?;
    }
    let (ocpus, memory_gbs) = shape_size(shape, shape_config.as_ref())?;
    let baseline_ocpu_utilization = match &shape_config {
        Some(c) => c.string("baselineOcpuUtilization")?,
        None => None,
    };
    if let Some(b) = &baseline_ocpu_utilization
        && !["BASELINE_1_8", "BASELINE_1_2", "BASELINE_1_1"].contains(&b.as_str())
    {
        return Err(ApiError::invalid_parameter(format!(
            "shapeConfig.baselineOcpuUtilization '{b}' is not one of BASELINE_1_8, BASELINE_1_2, BASELINE_1_1."
        )));
    }

    let fault_domain = o.string("faultDomain")?;
    if let Some(fd) = &fault_domain
        && !["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"].contains(&fd.as_str())
    {
        return Err(ApiError::invalid_parameter(format!(
            "faultDomain '{fd}' is not one of FAULT-DOMAIN-1, FAULT-DOMAIN-2, FAULT-DOMAIN-3."
        )));
    }

    let metadata = o.string_map("metadata")?;
    let extended_metadata = match o.get("extendedMetadata") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(o.wrong_type("extendedMetadata", "an object")),
    };
    let metadata_size = serde_json::to_vec(&metadata).map_or(0, |v| v.len())
        + if extended_metadata.is_empty() {
            0
        } else {
            serde_json::to_vec(&extended_metadata).map_or(0, |v| v.len())
        };
    if metadata_size > MAX_METADATA_BYTES {
        return Err(ApiError::invalid_parameter(format!(
            "The combined size of metadata and extendedMetadata is {metadata_size} bytes; at most {MAX_METADATA_BYTES} are allowed."
        )));
    }
    let user_data = metadata
        .get("user_data")
        .map(|s| decode_user_data(s))
        .transpose()?;

    let (image_id, boot_volume_size_gbs) = parse_source(&o)?;
    let vnic = parse_vnic(&o)?;

    Ok(LaunchSpec {
        availability_domain,
        compartment_id,
        shape,
        ocpus,
        memory_gbs,
        baseline_ocpu_utilization,
        display_name: o.string("displayName")?,
        fault_domain,
        freeform_tags: o.string_map("freeformTags")?,
        defined_tags: o.defined_tags("definedTags")?,
        metadata,
        extended_metadata,
        user_data,
        image_id,
        boot_volume_size_gbs,
        vnic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const COMPARTMENT: &str = "ocid1.compartment.oc1..aaaaaaaatest";
    const IMAGE: &str = "ocid1.image.oc1.iad.aaaaaaaatest";
    const SUBNET: &str = "ocid1.subnet.oc1.iad.aaaaaaaatest";

    fn minimal() -> Value {
        json!({
            "availabilityDomain": "Uocm:US-ASHBURN-AD-1",
            "compartmentId": COMPARTMENT,
            "shape": "VM.Standard.A1.Flex",
            "shapeConfig": {"ocpus": 2},
            "sourceDetails": {"sourceType": "image", "imageId": IMAGE},
            "createVnicDetails": {"subnetId": SUBNET},
        })
    }

    fn with(mut v: Value, path: &[&str], value: Value) -> Value {
        let mut cur = &mut v;
        for key in &path[..path.len() - 1] {
            cur = &mut cur[*key];
        }
        match value {
            Value::Null => {
                if let Some(o) = cur.as_object_mut() {
                    o.remove(path[path.len() - 1]);
                }
            }
            value => cur[path[path.len() - 1]] = value,
        }
        v
    }

    fn error(v: Value) -> (u16, &'static str, String) {
        let e = parse(&v).expect_err("must be refused");
        (e.status.as_u16(), e.code, e.message)
    }

    #[test]
    fn a_minimal_launch_gets_the_documented_defaults() {
        let s = parse(&minimal()).unwrap();
        assert_eq!(s.shape.name, "VM.Standard.A1.Flex");
        assert_eq!((s.ocpus, s.memory_gbs), (2.0, 12.0));
        assert!(s.vnic.assign_public_ip);
        assert_eq!(s.vnic.subnet_id, SUBNET);
        assert_eq!(s.image_id, IMAGE);
        assert_eq!(s.user_data, None);
        assert_eq!(s.display_name, None);
    }

    #[test]
    fn required_fields_are_missing_parameters() {
        for (path, name) in [
            (&["availabilityDomain"][..], "availabilityDomain"),
            (&["compartmentId"][..], "compartmentId"),
            (&["shape"][..], "shape"),
            (&["sourceDetails"][..], "sourceDetails"),
            (&["sourceDetails", "imageId"][..], "sourceDetails.imageId"),
            (&["createVnicDetails"][..], "createVnicDetails.subnetId"),
            (&["shapeConfig", "ocpus"][..], "shapeConfig.ocpus"),
        ] {
            let (status, code, message) = error(with(minimal(), path, Value::Null));
            assert_eq!((status, code), (400, "MissingParameter"), "{path:?}");
            assert!(message.contains(name), "{message}");
        }
    }

    #[test]
    fn deprecated_top_level_fields_still_work() {
        let v = with(minimal(), &["sourceDetails"], Value::Null);
        let v = with(v, &["imageId"], json!(IMAGE));
        let v = with(v, &["createVnicDetails"], Value::Null);
        let v = with(v, &["subnetId"], json!(SUBNET));
        let v = with(v, &["hostnameLabel"], json!("node-1"));
        let s = parse(&v).unwrap();
        assert_eq!(s.image_id, IMAGE);
        assert_eq!(s.vnic.subnet_id, SUBNET);
        assert_eq!(s.vnic.hostname_label.as_deref(), Some("node-1"));
    }

    #[test]
    fn invalid_values_are_invalid_parameters() {
        let cases = [
            (&["availabilityDomain"][..], json!("us-ashburn-1")),
            (&["compartmentId"][..], json!("ocid1.instance.oc1.iad.abc")),
            (&["shape"][..], json!("VM.Huge")),
            (&["shapeConfig", "ocpus"][..], json!(1.5)),
            (&["shapeConfig", "ocpus"][..], json!(81)),
            (&["shapeConfig", "memoryInGBs"][..], json!(1)),
            (&["shapeConfig", "memoryInGBs"][..], json!(129)),
            (
                &["shapeConfig", "baselineOcpuUtilization"][..],
                json!("HALF"),
            ),
            (&["sourceDetails", "imageId"][..], json!("ubuntu")),
            (&["sourceDetails", "sourceType"][..], json!("bootVolume")),
            (&["sourceDetails", "bootVolumeSizeInGBs"][..], json!(49)),
            (&["createVnicDetails", "subnetId"][..], json!("subnet-1")),
            (&["createVnicDetails", "hostnameLabel"][..], json!("1node")),
            (&["createVnicDetails", "hostnameLabel"][..], json!("node_1")),
            (&["createVnicDetails", "privateIp"][..], json!("10.0.0")),
            (&["createVnicDetails", "assignPublicIp"][..], json!("yes")),
            (&["faultDomain"][..], json!("FAULT-DOMAIN-4")),
            (&["freeformTags"][..], json!({"a": 1})),
            (&["definedTags"][..], json!({"ns": "v"})),
            (&["metadata"][..], json!({"user_data": "not base64!"})),
            (&["displayName"][..], json!(7)),
        ];
        for (path, value) in cases {
            let (status, code, _) = error(with(minimal(), path, value.clone()));
            assert_eq!(
                (status, code),
                (400, "InvalidParameter"),
                "{path:?} = {value}"
            );
        }
        // A fixed shape refuses shapeConfig; a flexible one requires it.
        let fixed = with(minimal(), &["shape"], json!("VM.Standard.E2.1.Micro"));
        assert_eq!(error(fixed.clone()).1, "InvalidParameter");
        let fixed = with(fixed, &["shapeConfig"], Value::Null);
        assert_eq!(parse(&fixed).unwrap().memory_gbs, 1.0);
        let flex = with(minimal(), &["shapeConfig"], Value::Null);
        assert_eq!(error(flex).1, "InvalidParameter");
    }

    #[test]
    fn unknown_fields_cannot_be_parsed_and_ignored_ones_are_accepted() {
        let (status, code, message) = error(with(minimal(), &["displayname"], json!("x")));
        assert_eq!((status, code), (400, "CannotParseRequest"));
        assert!(message.contains("'displayname'"), "{message}");
        let (_, code, message) = error(with(
            minimal(),
            &["createVnicDetails", "subnet"],
            json!(SUBNET),
        ));
        assert_eq!(code, "CannotParseRequest");
        assert!(message.contains("createVnicDetails.subnet"), "{message}");
        let v = with(
            minimal(),
            &["agentConfig"],
            json!({"isMonitoringDisabled": true}),
        );
        assert!(parse(&v).is_ok());
        assert_eq!(
            error(json!([1, 2])).1,
            "CannotParseRequest",
            "the body must be an object"
        );
    }

    #[test]
    fn vcpus_can_stand_in_for_ocpus() {
        let v = with(minimal(), &["shape"], json!("VM.Standard.E4.Flex"));
        let v = with(v, &["shapeConfig"], json!({"vcpus": 4}));
        let s = parse(&v).unwrap();
        assert_eq!((s.ocpus, s.memory_gbs), (2.0, 32.0));
    }

    #[test]
    fn user_data_is_decoded_and_the_metadata_limit_applies() {
        let v = with(
            minimal(),
            &["metadata"],
            json!({"user_data": "aGVs\nbG8=", "ssh_authorized_keys": "ssh-ed25519 AAAA"}),
        );
        assert_eq!(parse(&v).unwrap().user_data.as_deref(), Some(&b"hello"[..]));
        // {"user_data":"..."} is 16 bytes of JSON around the value.
        let fits = BASE64.encode(vec![b'x'; 23_985]);
        assert_eq!(fits.len(), 31_980);
        let v = with(minimal(), &["metadata"], json!({ "user_data": fits }));
        assert!(parse(&v).is_ok());
        let too_big = BASE64.encode(vec![b'x'; 23_991]);
        let v = with(minimal(), &["metadata"], json!({ "user_data": too_big }));
        let (status, code, message) = error(v);
        assert_eq!((status, code), (400, "InvalidParameter"));
        assert!(message.contains("32000"), "{message}");
        // extendedMetadata counts too.
        let v = with(minimal(), &["metadata"], json!({ "user_data": fits }));
        let v = with(v, &["extendedMetadata"], json!({"k": "v"}));
        assert_eq!(error(v).1, "InvalidParameter");
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_hostname_label("a"));
        assert!(valid_hostname_label("node-01"));
        assert!(!valid_hostname_label(""));
        assert!(!valid_hostname_label("-a"));
        assert!(!valid_hostname_label("a-"));
        assert!(!valid_hostname_label(&"a".repeat(64)));
        assert!(valid_availability_domain("Uocm:PHX-AD-1"));
        assert!(valid_availability_domain("Uocm:US-ASHBURN-AD-3"));
        assert!(!valid_availability_domain("PHX-AD-1"));
        assert!(!valid_availability_domain("Uocm:PHX"));
        assert!(is_ocid("ocid1.tenancy.oc1..aaaa", "tenancy"));
        assert!(is_ocid("ocid1.instance.oc1.iad.anuwc", "instance"));
        assert!(!is_ocid("ocid1.instance.oc1.iad.", "instance"));
        assert!(!is_ocid("ocid1.instance.oc1", "instance"));
        assert!(!is_ocid("ocid1.image.oc1.iad.x", "instance"));
    }
}
