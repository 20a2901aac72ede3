//! The fixed catalogue the fake knows: locations, datacenters, server types and system
//! images. Names and shapes mirror Hetzner's public catalogue; ids, prices and figures are
//! plausible stand-ins, not a copy of live data.

/// A location (`fsn1`, `nbg1`, ...).
#[derive(Debug, PartialEq)]
pub struct Location {
    pub id: u64,
    pub name: &'static str,
    pub description: &'static str,
    pub country: &'static str,
    pub city: &'static str,
    pub latitude: f64,
    pub longitude: f64,
    pub network_zone: &'static str,
}

/// A datacenter (deprecated by Hetzner in favour of locations, still in the server object).
#[derive(Debug, PartialEq)]
pub struct Datacenter {
    pub id: u64,
    pub name: &'static str,
    pub description: &'static str,
    pub location: &'static str,
}

/// A server type (`cx22`, `cax11`, ...).
#[derive(Debug, PartialEq)]
pub struct ServerType {
    pub id: u64,
    pub name: &'static str,
    pub description: &'static str,
    pub category: &'static str,
    pub cores: u32,
    /// GB
    pub memory: f64,
    /// GB
    pub disk: u64,
    pub cpu_type: &'static str,
    pub architecture: &'static str,
    /// EUR per month, net
    pub monthly_net: f64,
}

/// A system image (`ubuntu-24.04`, ...). The same name exists once per architecture.
#[derive(Debug, PartialEq)]
pub struct Image {
    pub id: u64,
    pub name: &'static str,
    pub description: &'static str,
    pub os_flavor: &'static str,
    pub os_version: &'static str,
    pub architecture: &'static str,
}

pub const LOCATIONS: &[Location] = &[
    Location {
        id: 1,
        name: "fsn1",
        description: "Falkenstein DC Park 1",
        country: "DE",
        city: "Falkenstein",
        latitude: 50.47612,
        longitude: 12.370071,
        network_zone: "eu-central",
    },
    Location {
        id: 2,
        name: "nbg1",
        description: "Nuremberg DC Park 1",
        country: "DE",
        city: "Nuremberg",
        latitude: 49.452102,
        longitude: 11.076665,
        network_zone: "eu-central",
    },
    Location {
        id: 3,
        name: "hel1",
        description: "Helsinki DC Park 1",
        country: "FI",
        city: "Helsinki",
        latitude: 60.169855,
        longitude: 24.938379,
        network_zone: "eu-central",
    },
    Location {
        id: 4,
        name: "ash",
        description: "Ashburn, VA",
        country: "US",
        city: "Ashburn, VA",
        latitude: 39.045821,
        longitude: -77.487073,
        network_zone: "us-east",
    },
    Location {
        id: 5,
        name: "hil",
        description: "Hillsboro, OR",
        country: "US",
        city: "Hillsboro, OR",
        latitude: 45.54222,
        longitude: -122.951924,
        network_zone: "us-west",
    },
    Location {
        id: 6,
        name: "sin",
        description: "Singapore",
        country: "SG",
        city: "Singapore",
        latitude: 1.283333,
        longitude: 103.833333,
        network_zone: "ap-southeast",
    },
];

pub const DATACENTERS: &[Datacenter] = &[
    Datacenter {
        id: 4,
        name: "fsn1-dc14",
        description: "Falkenstein 1 virtual DC 14",
        location: "fsn1",
    },
    Datacenter {
        id: 2,
        name: "nbg1-dc3",
        description: "Nuremberg 1 virtual DC 3",
        location: "nbg1",
    },
    Datacenter {
        id: 3,
        name: "hel1-dc2",
        description: "Helsinki 1 virtual DC 2",
        location: "hel1",
    },
    Datacenter {
        id: 5,
        name: "ash-dc1",
        description: "Ashburn virtual DC 1",
        location: "ash",
    },
    Datacenter {
        id: 6,
        name: "hil-dc1",
        description: "Hillsboro virtual DC 1",
        location: "hil",
    },
    Datacenter {
        id: 7,
        name: "sin-dc1",
        description: "Singapore virtual DC 1",
        location: "sin",
    },
];

#[allow(clippy::too_many_arguments)] // one row of the table
const fn st(
    id: u64,
    name: &'static str,
    category: &'static str,
    cores: u32,
    memory: f64,
    disk: u64,
    cpu_type: &'static str,
    architecture: &'static str,
    monthly_net: f64,
) -> ServerType {
    ServerType {
        id,
        name,
        description: name,
        category,
        cores,
        memory,
        disk,
        cpu_type,
        architecture,
        monthly_net,
    }
}

pub const SERVER_TYPES: &[ServerType] = &[
    st(
        22,
        "cpx11",
        "regular_purpose",
        2,
        2.0,
        40,
        "shared",
        "x86",
        4.35,
    ),
    st(
        23,
        "cpx21",
        "regular_purpose",
        3,
        4.0,
        80,
        "shared",
        "x86",
        7.55,
    ),
    st(
        24,
        "cpx31",
        "regular_purpose",
        4,
        8.0,
        160,
        "shared",
        "x86",
        13.60,
    ),
    st(
        45,
        "cax11",
        "cost_optimized",
        2,
        4.0,
        40,
        "shared",
        "arm",
        3.79,
    ),
    st(
        93,
        "cax21",
        "cost_optimized",
        4,
        8.0,
        80,
        "shared",
        "arm",
        6.49,
    ),
    st(
        96,
        "ccx13",
        "general_purpose",
        2,
        8.0,
        80,
        "dedicated",
        "x86",
        12.49,
    ),
    st(
        104,
        "cx22",
        "cost_optimized",
        2,
        4.0,
        40,
        "shared",
        "x86",
        3.79,
    ),
    st(
        105,
        "cx32",
        "cost_optimized",
        4,
        8.0,
        80,
        "shared",
        "x86",
        6.80,
    ),
    st(
        106,
        "cx42",
        "cost_optimized",
        8,
        16.0,
        160,
        "shared",
        "x86",
        16.40,
    ),
    st(
        107,
        "cx52",
        "cost_optimized",
        16,
        32.0,
        320,
        "shared",
        "x86",
        32.40,
    ),
];

const fn img(
    id: u64,
    name: &'static str,
    description: &'static str,
    os_flavor: &'static str,
    os_version: &'static str,
    architecture: &'static str,
) -> Image {
    Image {
        id,
        name,
        description,
        os_flavor,
        os_version,
        architecture,
    }
}

pub const IMAGES: &[Image] = &[
    img(
        161547269,
        "ubuntu-24.04",
        "Ubuntu 24.04",
        "ubuntu",
        "24.04",
        "x86",
    ),
    img(
        161547270,
        "ubuntu-24.04",
        "Ubuntu 24.04",
        "ubuntu",
        "24.04",
        "arm",
    ),
    img(
        67794396,
        "ubuntu-22.04",
        "Ubuntu 22.04",
        "ubuntu",
        "22.04",
        "x86",
    ),
    img(
        103908130,
        "ubuntu-22.04",
        "Ubuntu 22.04",
        "ubuntu",
        "22.04",
        "arm",
    ),
    img(114690387, "debian-12", "Debian 12", "debian", "12", "x86"),
    img(114690389, "debian-12", "Debian 12", "debian", "12", "arm"),
];

/// Free traffic per billing period, in bytes (20 TB).
pub const INCLUDED_TRAFFIC: u64 = 21_990_232_555_520;

/// The location used when a create request names neither a location nor a datacenter.
pub const DEFAULT_LOCATION: &str = "fsn1";

/// A reference to a catalogue entry by name or by id, as the API accepts both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdOrName {
    Id(u64),
    Name(String),
}

impl std::fmt::Display for IdOrName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdOrName::Id(id) => write!(f, "{id}"),
            IdOrName::Name(n) => f.write_str(n),
        }
    }
}

impl IdOrName {
    fn is(&self, id: u64, name: &str) -> bool {
        match self {
            IdOrName::Id(i) => *i == id,
            // A numeric string is an id too ("22" names cpx11).
            IdOrName::Name(n) => n == name || n.parse::<u64>().is_ok_and(|i| i == id),
        }
    }

    fn as_id(&self) -> Option<u64> {
        match self {
            IdOrName::Id(i) => Some(*i),
            IdOrName::Name(n) => n.parse().ok(),
        }
    }
}

pub fn location(r: &IdOrName) -> Option<&'static Location> {
    LOCATIONS.iter().find(|l| r.is(l.id, l.name))
}

pub fn location_by_name(name: &str) -> &'static Location {
    LOCATIONS
        .iter()
        .find(|l| l.name == name)
        .expect("catalogue location")
}

pub fn datacenter(r: &IdOrName) -> Option<&'static Datacenter> {
    DATACENTERS.iter().find(|d| r.is(d.id, d.name))
}

/// The datacenter new servers in this location are placed in.
pub fn datacenter_in(location: &Location) -> &'static Datacenter {
    DATACENTERS
        .iter()
        .find(|d| d.location == location.name)
        .expect("every location has a datacenter")
}

pub fn server_type(r: &IdOrName) -> Option<&'static ServerType> {
    SERVER_TYPES.iter().find(|t| r.is(t.id, t.name))
}

/// The image a create request names, for a server of the given architecture.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageChoice {
    System(&'static Image),
    /// Any numeric id the catalogue does not know is taken as one of the project's own
    /// snapshots (Talos images on Hetzner are snapshots referenced by id).
    Snapshot(u64),
}

pub fn image(r: &IdOrName, architecture: &str) -> Option<ImageChoice> {
    if let Some(id) = r.as_id() {
        return Some(match IMAGES.iter().find(|i| i.id == id) {
            Some(i) => ImageChoice::System(i),
            None => ImageChoice::Snapshot(id),
        });
    }
    IMAGES
        .iter()
        .find(|i| r.is(i.id, i.name) && i.architecture == architecture)
        .map(ImageChoice::System)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_accept_names_ids_and_numeric_strings() {
        assert_eq!(server_type(&IdOrName::Name("cx22".into())).unwrap().id, 104);
        assert_eq!(server_type(&IdOrName::Id(104)).unwrap().name, "cx22");
        assert_eq!(
            server_type(&IdOrName::Name("104".into())).unwrap().name,
            "cx22"
        );
        assert!(server_type(&IdOrName::Name("cx99".into())).is_none());
        assert_eq!(location(&IdOrName::Name("hel1".into())).unwrap().id, 3);
        assert_eq!(
            datacenter(&IdOrName::Name("nbg1-dc3".into()))
                .unwrap()
                .location,
            "nbg1"
        );
        for l in LOCATIONS {
            assert_eq!(datacenter_in(l).location, l.name);
        }
    }

    #[test]
    fn images_resolve_per_architecture_and_unknown_ids_are_snapshots() {
        let name = IdOrName::Name("ubuntu-24.04".into());
        assert_eq!(image(&name, "arm"), Some(ImageChoice::System(&IMAGES[1])));
        assert_eq!(image(&name, "x86"), Some(ImageChoice::System(&IMAGES[0])));
        assert_eq!(
            image(&IdOrName::Id(424242), "x86"),
            Some(ImageChoice::Snapshot(424242))
        );
        assert_eq!(image(&IdOrName::Name("nope".into()), "x86"), None);
    }
}
