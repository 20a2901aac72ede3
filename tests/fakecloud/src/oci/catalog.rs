//! What the fake knows about OCI's world: a few compute shapes (the limits are those of
//! the "Compute Shapes" documentation for flexible shapes) and region keys.

/// How a shape's OCPUs and memory are chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sizing {
    /// Fixed OCPUs and memory; `shapeConfig` is refused.
    Fixed { ocpus: f64, memory_gbs: f64 },
    /// `shapeConfig.ocpus` (or `vcpus`) is required; memory defaults to
    /// `default_gbs_per_ocpu` per OCPU and must stay within the per-OCPU and total limits.
    Flexible {
        max_ocpus: u32,
        min_gbs_per_ocpu: f64,
        max_gbs_per_ocpu: f64,
        max_memory_gbs: f64,
        default_gbs_per_ocpu: f64,
    },
}

/// A compute shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub name: &'static str,
    pub sizing: Sizing,
    /// vCPUs per OCPU: 2 on x86, 1 on Ampere (Arm).
    pub vcpus_per_ocpu: u32,
    pub processor_description: &'static str,
    /// Network bandwidth per OCPU, capped at `max_bandwidth_gbps`.
    pub gbps_per_ocpu: f64,
    pub max_bandwidth_gbps: f64,
    pub max_vnic_attachments: u32,
}

impl Shape {
    pub fn bandwidth_gbps(&self, ocpus: f64) -> f64 {
        (ocpus * self.gbps_per_ocpu).min(self.max_bandwidth_gbps)
    }
}

const fn flex(max_ocpus: u32, max_memory_gbs: f64, default_gbs_per_ocpu: f64) -> Sizing {
    Sizing::Flexible {
        max_ocpus,
        min_gbs_per_ocpu: 1.0,
        max_gbs_per_ocpu: 64.0,
        max_memory_gbs,
        default_gbs_per_ocpu,
    }
}

/// The shapes the fake accepts; any other name is `400 InvalidParameter`.
pub const SHAPES: &[Shape] = &[
    Shape {
        name: "VM.Standard.A1.Flex",
        sizing: flex(80, 512.0, 6.0),
        vcpus_per_ocpu: 1,
        processor_description: "3.0 GHz Ampere® Altra™",
        gbps_per_ocpu: 1.0,
        max_bandwidth_gbps: 40.0,
        max_vnic_attachments: 24,
    },
    Shape {
        name: "VM.Standard.A2.Flex",
        sizing: flex(78, 946.0, 6.0),
        vcpus_per_ocpu: 2,
        processor_description: "3.0 GHz AmpereOne®",
        gbps_per_ocpu: 1.0,
        max_bandwidth_gbps: 78.0,
        max_vnic_attachments: 24,
    },
    Shape {
        name: "VM.Standard.E4.Flex",
        sizing: flex(64, 1024.0, 16.0),
        vcpus_per_ocpu: 2,
        processor_description: "2.55 GHz AMD EPYC™ 7J13 (Milan)",
        gbps_per_ocpu: 1.0,
        max_bandwidth_gbps: 40.0,
        max_vnic_attachments: 24,
    },
    Shape {
        name: "VM.Standard.E5.Flex",
        sizing: flex(94, 1049.0, 12.0),
        vcpus_per_ocpu: 2,
        processor_description: "2.4 GHz AMD EPYC™ 9J14 (Genoa)",
        gbps_per_ocpu: 1.0,
        max_bandwidth_gbps: 40.0,
        max_vnic_attachments: 24,
    },
    Shape {
        name: "VM.Standard3.Flex",
        sizing: flex(32, 512.0, 16.0),
        vcpus_per_ocpu: 2,
        processor_description: "2.6 GHz Intel® Xeon® Platinum 8358 (Ice Lake)",
        gbps_per_ocpu: 1.0,
        max_bandwidth_gbps: 32.0,
        max_vnic_attachments: 24,
    },
    Shape {
        name: "VM.Standard.E2.1.Micro",
        sizing: Sizing::Fixed {
            ocpus: 1.0,
            memory_gbs: 1.0,
        },
        vcpus_per_ocpu: 2,
        processor_description: "2.0 GHz AMD EPYC™ 7551 (Naples)",
        gbps_per_ocpu: 0.48,
        max_bandwidth_gbps: 0.48,
        max_vnic_attachments: 1,
    },
    Shape {
        name: "VM.Standard2.1",
        sizing: Sizing::Fixed {
            ocpus: 1.0,
            memory_gbs: 15.0,
        },
        vcpus_per_ocpu: 2,
        processor_description: "2.0 GHz Intel® Xeon® Platinum 8167M (Skylake)",
        gbps_per_ocpu: 1.0,
        max_bandwidth_gbps: 1.0,
        max_vnic_attachments: 2,
    },
];

pub fn shape(name: &str) -> Option<&'static Shape> {
    SHAPES.iter().find(|s| s.name == name)
}

/// The short key OCIDs use for a region (`iad` for `us-ashburn-1`); the region's own name
/// for regions not in this table.
pub fn region_key(region: &str) -> &str {
    match region {
        "us-ashburn-1" => "iad",
        "us-phoenix-1" => "phx",
        "us-sanjose-1" => "sjc",
        "us-chicago-1" => "ord",
        "ca-toronto-1" => "yyz",
        "eu-frankfurt-1" => "fra",
        "eu-amsterdam-1" => "ams",
        "eu-paris-1" => "cdg",
        "eu-zurich-1" => "zrh",
        "uk-london-1" => "lhr",
        "ap-tokyo-1" => "nrt",
        "ap-sydney-1" => "syd",
        "ap-singapore-1" => "sin",
        "sa-saopaulo-1" => "gru",
        other => other,
    }
}

/// What `Instance.region` says: "For the us-phoenix-1 and us-ashburn-1 regions, `phx` and
/// `iad` are returned, respectively. For all other regions, the full region name is
/// returned." (API reference).
pub fn instance_region(region: &str) -> &str {
    match region {
        "us-ashburn-1" => "iad",
        "us-phoenix-1" => "phx",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_unique_and_found_by_exact_name() {
        for s in SHAPES {
            assert_eq!(shape(s.name), Some(s));
            assert_eq!(SHAPES.iter().filter(|t| t.name == s.name).count(), 1);
        }
        assert!(shape("vm.standard.a1.flex").is_none());
        let flexible = |s: &&Shape| matches!(s.sizing, Sizing::Flexible { .. });
        assert!(shape("VM.Standard.A1.Flex").is_some_and(|s| flexible(&s)));
        assert!(!shape("VM.Standard.E2.1.Micro").is_some_and(|s| flexible(&s)));
    }

    #[test]
    fn region_names_follow_the_reference() {
        assert_eq!(instance_region("us-ashburn-1"), "iad");
        assert_eq!(instance_region("eu-frankfurt-1"), "eu-frankfurt-1");
        assert_eq!(region_key("eu-frankfurt-1"), "fra");
        assert_eq!(region_key("xx-nowhere-1"), "xx-nowhere-1");
    }
}
