//! What the fake keeps: VMs (a config map as in `/etc/pve/qemu-server/VMID.conf` plus the
//! run state), storages, volumes (VM disks and uploaded ISO images with their bytes) and
//! tasks; and the snapshots tests read (`VmRecord`, `TaskRecord`) and the seeds `Options`
//! takes (`StorageSeed`, `TemplateSeed`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use super::config::{self, Drive};
use super::upid::Upid;

/// Power state of a VM as `status/current` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmStatus {
    Running,
    Stopped,
}

impl VmStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VmStatus::Running => "running",
            VmStatus::Stopped => "stopped",
        }
    }
}

/// A VM as it is now, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmRecord {
    pub vmid: u32,
    /// `name` from the config (PVE shows "VM {vmid}" where it is unset).
    pub name: Option<String>,
    pub node: String,
    pub status: VmStatus,
    /// `lock` from the config (`clone` while a clone runs or after one died half-way).
    pub lock: Option<String>,
    pub template: bool,
    /// `tags` split on `;`.
    pub tags: Vec<String>,
    pub pool: Option<String>,
    /// The whole config, values as PVE writes them (`digest` not included).
    pub config: BTreeMap<String, String>,
}

/// State of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    Running,
    Stopped,
}

/// A task, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub upid: String,
    /// Worker type: `qmclone`, `qmstart`, `qmstop`, `qmshutdown`, `qmdestroy`, `qmconfig`,
    /// `resize`, `imgcopy`, `imgdel`.
    pub kind: String,
    /// Worker id: the VMID (the source VM for `qmclone`), the storage for `imgdel`, empty for
    /// `imgcopy`.
    pub id: String,
    pub status: TaskStatus,
    /// `OK`, `WARNINGS: N`, the error message, or `unexpected status` (worker vanished);
    /// `None` while running.
    pub exitstatus: Option<String>,
}

/// How a storage keeps its volumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// A directory (`local`): has a path, so it takes uploads; ISOs live in
    /// `template/iso/`.
    Dir,
    /// LVM-thin (`local-lvm`): block volumes only, no path, no uploads; supports linked
    /// clones of template (base) volumes.
    LvmThin,
}

impl StorageKind {
    pub fn type_name(self) -> &'static str {
        match self {
            StorageKind::Dir => "dir",
            StorageKind::LvmThin => "lvmthin",
        }
    }
}

/// A storage to seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSeed {
    pub id: String,
    pub kind: StorageKind,
    /// Allowed content types: `iso`, `vztmpl`, `backup`, `images`, `rootdir`, `snippets`,
    /// `import`.
    pub content: Vec<String>,
    /// Size in bytes.
    pub total: u64,
}

impl StorageSeed {
    pub fn new(id: &str, kind: StorageKind, content: &[&str], total: u64) -> Self {
        Self {
            id: id.to_string(),
            kind,
            content: content.iter().map(|c| (*c).to_string()).collect(),
            total,
        }
    }
}

/// The template VM to seed (a Talos image turned into a template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSeed {
    pub vmid: u32,
    pub name: String,
    /// Storage of its `scsi0` base volume (`base-VMID-disk-0`).
    pub storage: String,
    pub disk_size: u64,
    pub memory_mib: u64,
    pub cores: u32,
}

impl Default for TemplateSeed {
    fn default() -> Self {
        Self {
            vmid: 9000,
            name: "talos-template".into(),
            storage: "local-lvm".into(),
            disk_size: 20 << 30,
            memory_mib: 2048,
            cores: 2,
        }
    }
}

/// A storage.
#[derive(Debug, Clone)]
pub(crate) struct Storage {
    pub id: String,
    pub kind: StorageKind,
    pub content: BTreeSet<String>,
    pub total: u64,
}

/// A volume: a VM disk or an uploaded file.
#[derive(Debug, Clone)]
pub(crate) struct Volume {
    pub storage: String,
    /// Volume name within the storage: `vm-101-disk-0`, `base-9000-disk-0/vm-101-disk-0`,
    /// `iso/cidata.iso`.
    pub name: String,
    /// `images` or `iso`.
    pub content: &'static str,
    pub format: &'static str,
    pub size: u64,
    /// Owner VM (disks).
    pub vmid: Option<u32>,
    /// UNIX seconds.
    pub ctime: u64,
    /// The bytes of an uploaded file.
    pub data: Option<Arc<Vec<u8>>>,
}

impl Volume {
    pub fn volid(&self) -> String {
        format!("{}:{}", self.storage, self.name)
    }
}

/// A running VM's process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Run {
    pub pid: u32,
    pub since: Instant,
}

/// What `pvestatd` last saw of a VM: `cluster/resources` takes name, status, template and
/// sizes from these (RRD) numbers, not from the config.
#[derive(Debug, Clone)]
pub(crate) struct Stats {
    pub name: String,
    pub running_since: Option<Instant>,
    pub template: bool,
    pub maxcpu: u64,
    pub maxmem: u64,
    pub maxdisk: u64,
}

/// A VM.
#[derive(Debug, Clone)]
pub(crate) struct Vm {
    pub vmid: u32,
    pub config: BTreeMap<String, String>,
    pub run: Option<Run>,
    pub pool: Option<String>,
    /// `None` until `pvestatd` has seen the VM.
    pub stats: Option<Stats>,
}

impl Vm {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.config.get(key).map(String::as_str)
    }

    pub fn lock(&self) -> Option<&str> {
        self.get("lock")
    }

    pub fn is_template(&self) -> bool {
        config::flag(self.get("template"))
    }

    pub fn status(&self) -> VmStatus {
        if self.run.is_some() {
            VmStatus::Running
        } else {
            VmStatus::Stopped
        }
    }

    /// `name`, or "VM {vmid}" as `vmstatus` shows an unnamed VM.
    pub fn display_name(&self) -> String {
        self.get("name")
            .map_or_else(|| format!("VM {}", self.vmid), String::from)
    }

    pub fn tags(&self) -> Vec<String> {
        self.get("tags")
            .map(|t| {
                t.split(';')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `sockets * cores` (or `vcpus`).
    pub fn cpus(&self) -> u64 {
        let n = |k: &str, d: u64| self.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
        self.get("vcpus")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| n("sockets", 1) * n("cores", 1))
    }

    /// Memory in bytes (default 512 MiB).
    pub fn maxmem(&self) -> u64 {
        self.get("memory")
            .and_then(config::parse_memory)
            .unwrap_or(512)
            << 20
    }

    /// The drives, by key.
    pub fn drives(&self) -> impl Iterator<Item = (&str, Drive)> {
        self.config
            .iter()
            .filter(|(k, _)| config::is_drive_key(k) || config::is_unused_key(k))
            .filter_map(|(k, v)| Drive::parse(v).map(|d| (k.as_str(), d)))
    }

    /// Size of the boot disk: the first disk of `boot: order=`, else the first of
    /// `scsi0`, `virtio0`, `sata0`, `ide0`.
    pub fn maxdisk(&self) -> u64 {
        let size_of = |key: &str| {
            self.get(key)
                .and_then(Drive::parse)
                .filter(|d| !d.is_cdrom())
                .and_then(|d| d.opt("size").and_then(config::parse_size))
        };
        let from_order = self
            .get("boot")
            .and_then(config::boot_order)
            .and_then(|order| order.iter().find_map(|k| size_of(k)));
        from_order
            .or_else(|| {
                ["scsi0", "virtio0", "sata0", "ide0"]
                    .iter()
                    .find_map(|k| size_of(k))
            })
            .unwrap_or(0)
    }

    pub fn stats_now(&self) -> Stats {
        Stats {
            name: self.display_name(),
            running_since: self.run.map(|r| r.since),
            template: self.is_template(),
            maxcpu: self.cpus(),
            maxmem: self.maxmem(),
            maxdisk: self.maxdisk(),
        }
    }

    pub fn record(&self, node: &str) -> VmRecord {
        VmRecord {
            vmid: self.vmid,
            name: self.get("name").map(String::from),
            node: node.to_string(),
            status: self.status(),
            lock: self.lock().map(String::from),
            template: self.is_template(),
            tags: self.tags(),
            pool: self.pool.clone(),
            config: self.config.clone(),
        }
    }
}

/// How a task ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TaskEnd {
    Ok,
    /// Finished with these warnings (`TASK WARNINGS: N`).
    Warnings(Vec<String>),
    Error(String),
    /// The worker died without writing a final line (`unexpected status`).
    Vanished,
}

impl TaskEnd {
    /// `exitstatus` as `upid_read_status` derives it from the log's last line.
    pub fn exitstatus(&self) -> String {
        match self {
            TaskEnd::Ok => "OK".into(),
            TaskEnd::Warnings(w) => format!("WARNINGS: {}", w.len()),
            TaskEnd::Error(e) => e.lines().next().unwrap_or_default().to_string(),
            TaskEnd::Vanished => "unexpected status".into(),
        }
    }
}

/// The change a task makes when it ends.
#[derive(Debug, Clone)]
pub(crate) enum Effect {
    None,
    /// The clone is complete: drop its `clone` lock.
    CloneDone {
        newid: u32,
    },
    /// The clone failed: remove the new VM and its volumes.
    CloneUndo {
        newid: u32,
    },
    Started {
        vmid: u32,
    },
    Stopped {
        vmid: u32,
    },
    /// Remove the VM and free these volumes (and, with `unreferenced`, every other
    /// volume it owns).
    Destroyed {
        vmid: u32,
        volumes: Vec<String>,
        unreferenced: bool,
    },
    Config {
        vmid: u32,
        set: BTreeMap<String, String>,
        delete: Vec<String>,
        force: bool,
    },
    Resized {
        vmid: u32,
        disk: String,
        size: u64,
    },
    VolumeAdded(Volume),
    VolumeRemoved(String),
}

/// A task.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub upid: Upid,
    pub upid_text: String,
    pub ends_at: Instant,
    /// Log lines written when it started (the final line is added when it ends).
    pub log: Vec<String>,
    pub end: TaskEnd,
    pub effect: Effect,
    pub done: bool,
    /// UNIX seconds when it ended.
    pub endtime: Option<u64>,
}

impl Task {
    /// The whole log as `GET .../log` shows it.
    pub fn log_lines(&self) -> Vec<String> {
        let mut lines = self.log.clone();
        if self.done {
            match &self.end {
                TaskEnd::Ok => lines.push("TASK OK".into()),
                TaskEnd::Warnings(w) => {
                    lines.extend(w.iter().map(|m| format!("WARN: {m}")));
                    lines.push(format!("TASK WARNINGS: {}", w.len()));
                }
                TaskEnd::Error(e) => lines.push(format!("TASK ERROR: {}", e.trim_end())),
                TaskEnd::Vanished => {}
            }
        }
        lines
    }

    pub fn record(&self) -> TaskRecord {
        TaskRecord {
            upid: self.upid_text.clone(),
            kind: self.upid.kind.clone(),
            id: self.upid.id.clone(),
            status: if self.done {
                TaskStatus::Stopped
            } else {
                TaskStatus::Running
            },
            exitstatus: self.done.then(|| self.end.exitstatus()),
        }
    }
}
