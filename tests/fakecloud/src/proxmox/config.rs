//! The QEMU VM configuration as `qemu-server` describes it: which keys exist (the schema of
//! `POST/PUT /nodes/{node}/qemu/{vmid}/config`, `PVE::QemuServer::json_config_properties`),
//! how their values are checked, and the property strings the fake looks into: drives
//! (`scsi0`, `virtio0`, `ide2`, ...), network devices (`net0`...), `boot`, `memory`, `tags`.
//!
//! Values are kept as the strings PVE writes into the config file; `GET .../config` types
//! integer and boolean options as JSON numbers, as PVE does.

use super::params::{STRING, Ty, parse_bool, split_list, valid_tag};

/// Network card models (`$nic_model_list`).
const NIC_MODELS: &[&str] = &[
    "e1000",
    "e1000-82540em",
    "e1000-82544gc",
    "e1000-82545em",
    "e1000e",
    "i82551",
    "i82557b",
    "i82559er",
    "ne2k_isa",
    "ne2k_pci",
    "pcnet",
    "rtl8139",
    "virtio",
    "vmxnet3",
];

const OSTYPES: &[&str] = &[
    "other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24",
    "l26", "solaris",
];

const SCSIHW: &[&str] = &[
    "lsi",
    "lsi53c810",
    "virtio-scsi-pci",
    "virtio-scsi-single",
    "megasas",
    "pvscsi",
];

const LOCKS: &[&str] = &[
    "backup",
    "clone",
    "create",
    "migrate",
    "rollback",
    "snapshot",
    "snapshot-delete",
    "suspending",
    "suspended",
];

/// Drive buses and how many of each a VM may have.
const DRIVE_BUSES: &[(&str, u32)] = &[("ide", 3), ("sata", 5), ("scsi", 30), ("virtio", 15)];

/// `name` followed by a number from 0 to `max`.
fn family(key: &str, name: &str, max: u32) -> bool {
    key.strip_prefix(name)
        .filter(|n| !n.is_empty() && (n.len() == 1 || !n.starts_with('0')))
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| n <= max)
}

/// A drive key: `ide0`-`ide3`, `sata0`-`sata5`, `scsi0`-`scsi30`, `virtio0`-`virtio15`,
/// `efidisk0`, `tpmstate0`.
pub(crate) fn is_drive_key(key: &str) -> bool {
    key == "efidisk0"
        || key == "tpmstate0"
        || DRIVE_BUSES.iter().any(|(bus, max)| family(key, bus, *max))
}

pub(crate) fn is_net_key(key: &str) -> bool {
    family(key, "net", 31)
}

pub(crate) fn is_unused_key(key: &str) -> bool {
    family(key, "unused", 255)
}

/// All drive keys in PVE's order (the `disk` enumeration of `PUT .../resize`).
pub(crate) fn drive_keys() -> Vec<String> {
    let mut keys: Vec<String> = DRIVE_BUSES
        .iter()
        .flat_map(|(bus, max)| (0..=*max).map(move |n| format!("{bus}{n}")))
        .collect();
    keys.push("efidisk0".into());
    keys.push("tpmstate0".into());
    keys
}

/// The schema type of a config key, `None` for keys the API does not accept.
pub(crate) fn key_ty(key: &str) -> Option<Ty> {
    let int = |min| Ty::Int {
        min: Some(min),
        max: None,
    };
    Some(match key {
        "name" => Ty::DnsName,
        "description" => Ty::Str {
            max_len: Some(8192),
        },
        "tags" => Ty::TagList,
        "cores" | "sockets" | "vcpus" => int(1),
        "memory" => Ty::Custom(verify_memory),
        "balloon" => int(0),
        "cpuunits" => Ty::Int {
            min: Some(1),
            max: Some(262_144),
        },
        "boot" => Ty::Custom(verify_boot),
        // An alias of `ide2` with `media=cdrom`.
        "cdrom" => Ty::Custom(verify_drive),
        "onboot" | "numa" | "protection" | "template" | "kvm" | "acpi" | "tablet" | "localtime"
        | "freeze" | "reboot" | "ciupgrade" => Ty::Bool,
        "ostype" => Ty::Enum(OSTYPES),
        "scsihw" => Ty::Enum(SCSIHW),
        "bios" => Ty::Enum(&["seabios", "ovmf"]),
        "citype" => Ty::Enum(&["configdrive2", "nocloud", "opennebula"]),
        "lock" => Ty::Enum(LOCKS),
        "cpu" | "cpulimit" | "agent" | "smbios1" | "vga" | "machine" | "hotplug" | "startup"
        | "args" | "cicustom" | "ciuser" | "cipassword" | "nameserver" | "searchdomain"
        | "sshkeys" | "vmgenid" | "hookscript" | "affinity" | "keyboard" | "watchdog" | "rng0"
        | "audio0" | "spice_enhancements" | "ivshmem" | "bootdisk" | "amd-sev" | "intel-tdx"
        | "migrate_downtime" | "migrate_speed" | "vmstatestorage" | "tdf" => STRING,
        k if is_drive_key(k) => Ty::Custom(verify_drive),
        k if is_net_key(k) => Ty::Custom(verify_net),
        k if family(k, "serial", 3) => Ty::Custom(verify_serial),
        k if family(k, "ipconfig", 31)
            || family(k, "usb", 4)
            || family(k, "hostpci", 15)
            || family(k, "numa", 7)
            || family(k, "parallel", 2)
            || family(k, "virtiofs", 9)
            || is_unused_key(k) =>
        {
            STRING
        }
        _ => return None,
    })
}

/// Whether `GET .../config` prints the key's value as a JSON number.
pub(crate) fn is_numeric_key(key: &str) -> bool {
    matches!(key_ty(key), Some(Ty::Int { .. } | Ty::Bool))
}

fn verify_memory(value: &str) -> Result<(), String> {
    match parse_memory(value) {
        Some(n) if n >= 16 => Ok(()),
        Some(_) => Err("invalid format - current: value must have a minimum value of 16\n".into()),
        None => Err(format!(
            "invalid format - value '{value}' does not look like '[current=]<integer>'\n"
        )),
    }
}

/// `memory` (`[current=]<MiB>`) in MiB.
pub(crate) fn parse_memory(value: &str) -> Option<u64> {
    value.strip_prefix("current=").unwrap_or(value).parse().ok()
}

fn verify_boot(value: &str) -> Result<(), String> {
    let legacy_ok = |v: &str| (1..=4).contains(&v.len()) && v.bytes().all(|b| b"acdn".contains(&b));
    for part in value.split(',') {
        let ok = match part.split_once('=') {
            Some(("order", devs)) => !devs.is_empty(),
            Some(("legacy", v)) => legacy_ok(v),
            None => legacy_ok(part),
            Some(_) => false,
        };
        if !ok {
            return Err(format!("invalid format - format error\nboot: '{part}'\n"));
        }
    }
    Ok(())
}

/// The devices of `boot: order=a;b;c`, if it uses the new syntax.
pub(crate) fn boot_order(value: &str) -> Option<Vec<String>> {
    value
        .split(',')
        .find_map(|p| p.strip_prefix("order="))
        .map(|devs| split_list(devs).into_iter().map(String::from).collect())
}

fn verify_serial(value: &str) -> Result<(), String> {
    if value == "socket" || value.strip_prefix("/dev/").is_some_and(|d| !d.is_empty()) {
        Ok(())
    } else {
        Err("invalid format - value does not match the regex pattern\n".into())
    }
}

fn verify_drive(value: &str) -> Result<(), String> {
    let drive = Drive::parse(value)
        .ok_or_else(|| "invalid format - format error\nfile: property is missing\n".to_string())?;
    if let Some(media) = drive.opt("media")
        && media != "cdrom"
        && media != "disk"
    {
        return Err(format!(
            "invalid format - format error\nmedia: value '{media}' does not have a value in the enumeration 'cdrom, disk'\n"
        ));
    }
    if let Some(size) = drive.opt("size")
        && parse_size(size).is_none()
    {
        return Err(format!(
            "invalid format - format error\nsize: unable to parse size '{size}'\n"
        ));
    }
    Ok(())
}

fn verify_net(value: &str) -> Result<(), String> {
    let net = Net::parse(value).ok_or_else(|| {
        "invalid format - format error\nmodel: property is missing and it is not optional\n"
            .to_string()
    })?;
    if !NIC_MODELS.contains(&net.model.as_str()) {
        return Err(format!(
            "invalid format - format error\nmodel: value '{}' does not have a value in the enumeration '{}'\n",
            net.model,
            NIC_MODELS.join(", ")
        ));
    }
    if let Some(mac) = &net.mac
        && !valid_unicast_mac(mac)
    {
        return Err(format!(
            "invalid format - format error\nmacaddr: value '{mac}' does not look like a valid unicast MAC address\n"
        ));
    }
    Ok(())
}

fn valid_unicast_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
        && u8::from_str_radix(parts[0], 16).is_ok_and(|b| b & 1 == 0)
}

/// `get_unique_tags`: split, drop duplicates (case-insensitively, the first spelling
/// wins), sort alphabetically ignoring case, join with `;` (PVE's default `tag-style`).
pub(crate) fn normalize_tags(value: &str) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let mut tags: Vec<&str> = split_list(value)
        .into_iter()
        .filter(|t| valid_tag(t) && seen.insert(t.to_ascii_lowercase()))
        .collect();
    tags.sort_by_key(|t| t.to_ascii_lowercase());
    tags.join(";")
}

/// A drive property string: the volume (`file`, the default key) and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Drive {
    pub file: String,
    pub opts: Vec<(String, String)>,
}

impl Drive {
    pub fn parse(value: &str) -> Option<Drive> {
        let mut file = None;
        let mut opts = Vec::new();
        for (i, part) in value.split(',').enumerate() {
            match part.split_once('=') {
                Some(("file" | "volume", v)) => file = Some(v.to_string()),
                Some((k, v)) => opts.push((k.to_string(), v.to_string())),
                None if i == 0 => file = Some(part.to_string()),
                None => return None,
            }
        }
        file.filter(|f| !f.is_empty())
            .map(|file| Drive { file, opts })
    }

    pub fn opt(&self, key: &str) -> Option<&str> {
        self.opts
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn set_opt(&mut self, key: &str, value: String) {
        match self.opts.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.opts.push((key.to_string(), value)),
        }
    }

    pub fn is_cdrom(&self) -> bool {
        self.opt("media") == Some("cdrom") || self.file == "cdrom"
    }

    /// `STORAGE:VOLNAME` of a managed volume (not `none`, `cdrom`, a device path or a
    /// new-disk request).
    pub fn volume(&self) -> Option<(&str, &str)> {
        if self.new_disk().is_some() {
            return None;
        }
        let (storage, name) = self.file.split_once(':')?;
        (!storage.is_empty() && !name.is_empty() && !self.file.starts_with('/'))
            .then_some((storage, name))
    }

    /// `STORAGE:SIZE_GIB` asks for a new disk (`NEW_DISK_RE`).
    pub fn new_disk(&self) -> Option<(&str, f64)> {
        let (storage, size) = self.file.split_once(':')?;
        let numeric = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && size.bytes().next().is_some_and(|b| b.is_ascii_digit());
        if storage.is_empty() || !numeric {
            return None;
        }
        size.parse().ok().map(|s| (storage, s))
    }

    /// PVE's `print_drive`: the volume first, then the options sorted by name.
    pub fn print(&self) -> String {
        let mut opts = self.opts.clone();
        opts.sort();
        std::iter::once(self.file.clone())
            .chain(opts.into_iter().map(|(k, v)| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A network device: `MODEL[=MAC],bridge=...,firewall=1,...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Net {
    pub model: String,
    pub mac: Option<String>,
    pub opts: Vec<(String, String)>,
}

impl Net {
    pub fn parse(value: &str) -> Option<Net> {
        let mut model = None;
        let mut mac = None;
        let mut opts = Vec::new();
        for part in value.split(',') {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            if NIC_MODELS.contains(&k) && model.is_none() {
                model = Some(k.to_string());
                if !v.is_empty() {
                    mac = Some(v.to_string());
                }
            } else if k == "model" {
                model = Some(v.to_string());
            } else if k == "macaddr" {
                mac = Some(v.to_string());
            } else if part.contains('=') {
                opts.push((k.to_string(), v.to_string()));
            } else if model.is_none() {
                model = Some(k.to_string());
            } else {
                return None;
            }
        }
        model.map(|model| Net { model, mac, opts })
    }

    pub fn bridge(&self) -> Option<&str> {
        self.opts
            .iter()
            .find(|(k, _)| k == "bridge")
            .map(|(_, v)| v.as_str())
    }

    /// `print_net`: `model=MAC` first, then the options sorted by name.
    pub fn print(&self) -> String {
        let mut opts = self.opts.clone();
        opts.sort();
        let head = match &self.mac {
            Some(mac) => format!("{}={mac}", self.model),
            None => self.model.clone(),
        };
        std::iter::once(head)
            .chain(opts.into_iter().map(|(k, v)| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A random MAC with PVE's default prefix `BC:24:11` (datacenter `mac_prefix`).
pub(crate) fn random_mac() -> String {
    let b: [u8; 3] = rand::random();
    format!("BC:24:11:{:02X}:{:02X}:{:02X}", b[0], b[1], b[2])
}

/// A random UUID (v4) as `generate_uuid` makes them.
pub(crate) fn random_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// `smbios1` with a fresh `uuid`, other fields kept (clones get a new one).
pub(crate) fn smbios_with_new_uuid(old: Option<&str>) -> String {
    let mut parts: Vec<String> = old
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty() && !p.starts_with("uuid="))
        .map(String::from)
        .collect();
    parts.push(format!("uuid={}", random_uuid()));
    parts.sort();
    parts.join(",")
}

/// `20G`, `512M`, `1.5T`, `4096` (bytes) into bytes.
pub(crate) fn parse_size(value: &str) -> Option<u64> {
    let (num, mult) = match value.as_bytes().last()? {
        b'K' => (&value[..value.len() - 1], 1u64 << 10),
        b'M' => (&value[..value.len() - 1], 1 << 20),
        b'G' => (&value[..value.len() - 1], 1 << 30),
        b'T' => (&value[..value.len() - 1], 1 << 40),
        _ => (value, 1),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    Some((n * mult as f64) as u64)
}

/// PVE's `format_size`: the largest unit that divides the size evenly.
pub(crate) fn format_size(bytes: u64) -> String {
    for (unit, div) in [
        ("T", 1u64 << 40),
        ("G", 1 << 30),
        ("M", 1 << 20),
        ("K", 1 << 10),
    ] {
        if bytes >= div && bytes.is_multiple_of(div) {
            return format!("{}{unit}", bytes / div);
        }
    }
    bytes.to_string()
}

/// A boolean option's value.
pub(crate) fn flag(value: Option<&str>) -> bool {
    value.and_then(parse_bool).unwrap_or(false)
}

/// `agent: [enabled=]<1|0>,...`: whether the guest agent is enabled.
pub(crate) fn agent_enabled(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        v.split(',').any(|p| {
            let v = p.strip_prefix("enabled=").unwrap_or(p);
            !p.contains('=') && parse_bool(v) == Some(true)
                || p.starts_with("enabled=") && parse_bool(v) == Some(true)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_families() {
        assert!(key_ty("net0").is_some() && key_ty("net31").is_some());
        assert!(key_ty("net32").is_none() && key_ty("net01").is_none());
        assert!(is_drive_key("scsi30") && !is_drive_key("scsi31") && is_drive_key("ide2"));
        assert!(key_ty("bogus").is_none());
        assert!(is_numeric_key("cores") && is_numeric_key("onboot") && !is_numeric_key("memory"));
        assert_eq!(drive_keys().len(), 4 + 6 + 31 + 16 + 2);
    }

    #[test]
    fn drives_parse_and_print_like_pve() {
        let d = Drive::parse("local-lvm:vm-100-disk-0,size=20G,iothread=1").unwrap();
        assert_eq!(d.volume(), Some(("local-lvm", "vm-100-disk-0")));
        assert_eq!(d.print(), "local-lvm:vm-100-disk-0,iothread=1,size=20G");
        let cd = Drive::parse("local:iso/cidata.iso,media=cdrom").unwrap();
        assert!(cd.is_cdrom());
        assert_eq!(Drive::parse("none,media=cdrom").unwrap().volume(), None);
        assert_eq!(
            Drive::parse("local-lvm:32").unwrap().new_disk(),
            Some(("local-lvm", 32.0))
        );
        assert!(Drive::parse("").is_none());
        assert!(verify_drive("local:iso/x.iso,media=floppy").is_err());
    }

    #[test]
    fn nets_get_parsed_and_checked() {
        let n = Net::parse("virtio,bridge=vmbr0,firewall=1").unwrap();
        assert_eq!((n.model.as_str(), n.mac.as_deref()), ("virtio", None));
        assert_eq!(n.bridge(), Some("vmbr0"));
        let n = Net::parse("virtio=BC:24:11:00:00:01,bridge=vmbr0").unwrap();
        assert_eq!(n.print(), "virtio=BC:24:11:00:00:01,bridge=vmbr0");
        assert!(verify_net("virtio,bridge=vmbr0").is_ok());
        assert!(verify_net("bogus,bridge=vmbr0").is_err());
        assert!(verify_net("virtio=01:00:00:00:00:00").is_err());
        assert!(random_mac().starts_with("BC:24:11:"));
    }

    #[test]
    fn tags_are_deduplicated_and_sorted() {
        assert_eq!(
            normalize_tags("tazhost;Pool-w, tazhost zeta alpha"),
            "alpha;Pool-w;tazhost;zeta"
        );
        assert_eq!(normalize_tags("A;a"), "A");
    }

    #[test]
    fn sizes_memory_boot_agent() {
        assert_eq!(parse_size("20G"), Some(20 << 30));
        assert_eq!(parse_size("1.5K"), Some(1536));
        assert_eq!(parse_size("x"), None);
        assert_eq!(format_size(20 << 30), "20G");
        assert_eq!(format_size(1536), "1536");
        assert_eq!(parse_memory("current=2048"), Some(2048));
        assert!(verify_memory("8").is_err() && verify_memory("abc").is_err());
        assert_eq!(
            boot_order("order=scsi0;ide2;net0"),
            Some(vec!["scsi0".into(), "ide2".into(), "net0".into()])
        );
        assert!(verify_boot("cdn").is_ok() && verify_boot("xyz").is_err());
        assert!(agent_enabled(Some("1")) && agent_enabled(Some("enabled=1,fstrim_cloned_disks=1")));
        assert!(!agent_enabled(Some("0")) && !agent_enabled(None));
        let s = smbios_with_new_uuid(Some("uuid=old,serial=abc"));
        assert!(
            s.starts_with("serial=abc,uuid=") && !s.contains("old"),
            "{s}"
        );
    }
}
