//! VM lifecycle as `qemu-server`'s API does it: clone (`qmclone`), start (`qmstart`),
//! stop (`qmstop`), shutdown (`qmshutdown`) and destroy (`qmdestroy`).
//!
//! What is checked before the task starts (a synchronous error) and what fails inside the
//! task (a UPID whose task stops with an error) follows `PVE/API2/Qemu.pm`:
//! - clone: everything in `$load_and_check` runs before forking (missing source, lock,
//!   storage, linked-clone rules, existing target id); the copy itself can fail in the task;
//! - start: nothing is checked before forking; a template, a lock, a running VM, a missing
//!   ISO or bridge fail the task;
//! - stop/shutdown: nothing before forking; stopping a stopped VM succeeds;
//! - destroy: a missing VM, `protection` and a running VM are refused before forking; a lock
//!   fails the task.

use std::collections::BTreeMap;
use std::time::Duration;

use super::config::{self, Drive, Net};
use super::errors::ApiError;
use super::model::{Effect, StorageKind, TaskEnd, Vm};
use super::state::{Clock, Job, State};

/// Parameters of `POST /nodes/{node}/qemu/{vmid}/clone`.
#[derive(Debug, Clone, Default)]
pub(crate) struct CloneArgs {
    pub vmid: u32,
    pub newid: u32,
    pub name: Option<String>,
    pub description: Option<String>,
    pub pool: Option<String>,
    pub snapname: Option<String>,
    pub storage: Option<String>,
    pub format: Option<String>,
    pub full: Option<bool>,
    pub target: Option<String>,
}

/// Config keys a clone does not copy.
const NOT_CLONED: &[&str] = &[
    "snapshots",
    "parent",
    "snaptime",
    "vmstate",
    "snapstate",
    "runningcpu",
    "runningmachine",
    "running-nets-host-mtu",
    "lock",
];

impl State {
    /// `$load_and_check` of `clone_vm`: returns whether the clone is full.
    fn clone_checks(&self, a: &CloneArgs) -> Result<bool, ApiError> {
        if let Some(pool) = &a.pool
            && !self.pools.contains(pool)
        {
            return Err(ApiError::permission(&format!(
                "pool '{pool}' does not exist"
            )));
        }
        if let Some(target) = &a.target {
            return Err(ApiError::die(format!("no such cluster node '{target}'")));
        }
        if let Some(storage) = &a.storage {
            let s = self.storage(storage)?;
            if !s.content.contains("images") {
                return Err(ApiError::param(
                    "storage",
                    format!("storage '{storage}' does not support vm images"),
                ));
            }
        }
        let src = self.vm(a.vmid)?;
        check_lock(src)?;
        if let Some(snap) = &a.snapname {
            return Err(ApiError::die(format!("snapshot '{snap}' does not exist")));
        }
        let full = a.full.unwrap_or(!src.is_template());
        if a.storage.is_some() && !full {
            return Err(ApiError::die(
                "parameter 'storage' not allowed for linked clones",
            ));
        }
        if a.format.is_some() && !full {
            return Err(ApiError::die(
                "parameter 'format' not allowed for linked clones",
            ));
        }
        if self.vms.contains_key(&a.newid) {
            return Err(ApiError::die(format!(
                "unable to create VM {}: config file already exists",
                a.newid
            )));
        }
        if !full {
            // Linked clones need base volumes on a storage that can clone them (LVM-thin
            // here): `volume_has_feature(..., 'clone', ...)`.
            for (key, drive) in src.drives().filter(|(k, _)| config::is_drive_key(k)) {
                let Some((storage, name)) = drive.volume().filter(|_| !drive.is_cdrom()) else {
                    continue;
                };
                let linkable = name.starts_with("base-")
                    && !name.contains('/')
                    && self.storages.get(storage).map(|s| s.kind) == Some(StorageKind::LvmThin);
                if !linkable {
                    return Err(ApiError::die(format!(
                        "Linked clone feature is not supported for '{storage}:{name}' ({key})"
                    )));
                }
            }
        }
        Ok(full)
    }

    /// Checks, creates the new VM locked `clone`, and starts the `qmclone` task (its id is
    /// the source VMID, as in PVE).
    pub fn clone_vm(&mut self, a: CloneArgs, clock: Clock) -> Result<String, ApiError> {
        let full = self.clone_checks(&a)?;
        let src = self.vm(a.vmid)?.clone();
        let mut conf = BTreeMap::new();
        let mut log = vec![format!(
            "create {} clone of VM {}",
            if full { "full" } else { "linked" },
            a.vmid
        )];
        let mut first_volume = None;
        for (key, value) in &src.config {
            if NOT_CLONED.contains(&key.as_str()) || config::is_unused_key(key) || key == "template"
            {
                continue;
            }
            if config::is_net_key(key) {
                let new = Net::parse(value).map_or_else(
                    || value.clone(),
                    |mut n| {
                        n.mac = Some(config::random_mac());
                        n.print()
                    },
                );
                conf.insert(key.clone(), new);
                continue;
            }
            let drive = config::is_drive_key(key)
                .then(|| Drive::parse(value))
                .flatten();
            match drive {
                Some(mut d) if !d.is_cdrom() && d.volume().is_some() => {
                    let (storage, name) = d
                        .volume()
                        .map(|(s, n)| (s.to_string(), n.to_string()))
                        .unwrap_or_default();
                    let size = d.opt("size").and_then(config::parse_size).unwrap_or(0);
                    let volume = if full {
                        let target = a.storage.clone().unwrap_or_else(|| storage.clone());
                        log.push(format!(
                            "create full clone of drive {key} ({storage}:{name})"
                        ));
                        self.alloc_disk(&target, a.newid, size, None, clock)
                    } else {
                        log.push(format!(
                            "create linked clone of drive {key} ({storage}:{name})"
                        ));
                        self.alloc_disk(&storage, a.newid, size, Some(&name), clock)
                    };
                    log.push(format!("  Logical volume \"{}\" created.", volume.name));
                    first_volume.get_or_insert_with(|| volume.name.clone());
                    d.file = volume.volid();
                    conf.insert(key.clone(), d.print());
                }
                _ => {
                    conf.insert(key.clone(), value.clone());
                }
            }
        }
        conf.insert(
            "smbios1".into(),
            config::smbios_with_new_uuid(src.get("smbios1")),
        );
        if conf.contains_key("vmgenid") {
            conf.insert("vmgenid".into(), config::random_uuid());
        }
        let name = a.name.clone().unwrap_or_else(|| {
            format!(
                "Copy-of-VM-{}",
                src.get("name")
                    .map_or_else(|| a.vmid.to_string(), String::from)
            )
        });
        conf.insert("name".into(), name);
        if let Some(d) = a.description.as_ref().filter(|d| !d.is_empty()) {
            conf.insert("description".into(), d.clone());
        }
        conf.insert("lock".into(), "clone".into());
        self.vms.insert(
            a.newid,
            Vm {
                vmid: a.newid,
                config: conf,
                run: None,
                pool: a.pool.clone(),
                stats: None,
            },
        );

        let (end, effect) = if self.fail_next_clones > 0 {
            self.fail_next_clones -= 1;
            let volume = first_volume.unwrap_or_else(|| format!("vm-{}-disk-0", a.newid));
            (
                TaskEnd::Error(format!(
                    "clone failed: lvcreate 'pve/{volume}' error:   Volume group \"pve\" has insufficient free space (511 extents): 5120 required."
                )),
                Effect::CloneUndo { newid: a.newid },
            )
        } else if self.half_done_next_clones > 0 {
            self.half_done_next_clones -= 1;
            (TaskEnd::Vanished, Effect::None)
        } else {
            (TaskEnd::Ok, Effect::CloneDone { newid: a.newid })
        };
        Ok(self.spawn(
            clock,
            Job {
                kind: "qmclone",
                id: a.vmid.to_string(),
                duration: self.task_duration,
                log,
                end,
                effect,
            },
        ))
    }

    /// `qmstart`: the checks of `vm_start` run inside the task.
    pub fn start_vm(&mut self, vmid: u32, clock: Clock) -> String {
        match self.start_problem(vmid) {
            Some(msg) => self.failed_task("qmstart", &vmid.to_string(), clock, msg),
            None => self.spawn(
                clock,
                Job {
                    kind: "qmstart",
                    id: vmid.to_string(),
                    duration: self.task_duration,
                    log: Vec::new(),
                    end: TaskEnd::Ok,
                    effect: Effect::Started { vmid },
                },
            ),
        }
    }

    fn start_problem(&self, vmid: u32) -> Option<String> {
        let vm = match self.vm(vmid) {
            Ok(vm) => vm,
            Err(e) => return Some(e.message),
        };
        if vm.is_template() {
            return Some("you can't start a vm if it's a template".into());
        }
        if let Some(lock) = vm.lock() {
            return Some(format!("VM is locked ({lock})"));
        }
        if vm.run.is_some() {
            return Some(format!("VM {vmid} already running"));
        }
        for (key, drive) in vm.drives().filter(|(k, _)| config::is_drive_key(k)) {
            let Some((storage, name)) = drive.volume() else {
                continue;
            };
            let volid = format!("{storage}:{name}");
            if !self.storages.contains_key(storage) {
                return Some(format!("storage '{storage}' does not exist"));
            }
            if !self.volumes.contains_key(&volid) {
                return Some(if drive.is_cdrom() {
                    format!("volume '{volid}' does not exist")
                } else {
                    format!("{key}: volume '{volid}' does not exist")
                });
            }
        }
        for value in vm
            .config
            .iter()
            .filter(|(k, _)| config::is_net_key(k))
            .map(|(_, v)| v)
        {
            if let Some(bridge) = Net::parse(value).as_ref().and_then(Net::bridge)
                && !self.bridges.contains(bridge)
            {
                return Some(format!("bridge '{bridge}' does not exist"));
            }
        }
        None
    }

    /// `qmstop` (hard stop) or `qmshutdown` (ACPI; the fake's guests always obey).
    pub fn stop_vm(&mut self, vmid: u32, shutdown: bool, clock: Clock) -> String {
        let kind = if shutdown { "qmshutdown" } else { "qmstop" };
        let id = vmid.to_string();
        let Some(vm) = self.vms.get(&vmid) else {
            let msg = format!(
                "unable to find configuration file for VM {vmid} on node '{}'",
                self.node
            );
            return self.failed_task(kind, &id, clock, msg);
        };
        if vm.run.is_none() {
            return self.spawn(
                clock,
                Job {
                    kind,
                    id,
                    duration: Duration::ZERO,
                    log: Vec::new(),
                    end: TaskEnd::Ok,
                    effect: Effect::None,
                },
            );
        }
        if let Some(lock) = vm.lock() {
            let msg = format!("VM is locked ({lock})");
            return self.failed_task(kind, &id, clock, msg);
        }
        self.spawn(
            clock,
            Job {
                kind,
                id,
                duration: self.task_duration,
                log: Vec::new(),
                end: TaskEnd::Ok,
                effect: Effect::Stopped { vmid },
            },
        )
    }

    /// `qmdestroy`: refused at once for a missing, protected or running VM.
    pub fn destroy_vm(
        &mut self,
        vmid: u32,
        purge: bool,
        unreferenced: bool,
        clock: Clock,
    ) -> Result<String, ApiError> {
        let vm = self.vm(vmid)?;
        if config::flag(vm.get("protection")) {
            return Err(ApiError::die(format!(
                "can't remove VM {vmid} - protection mode enabled"
            )));
        }
        if vm.run.is_some() {
            return Err(ApiError::die(format!(
                "VM {vmid} is running - destroy failed"
            )));
        }
        let id = vmid.to_string();
        if let Some(lock) = vm.lock() {
            let msg = format!("VM is locked ({lock})");
            return Ok(self.failed_task("qmdestroy", &id, clock, msg));
        }
        let volumes: Vec<String> = vm
            .drives()
            .filter(|(_, d)| !d.is_cdrom())
            .filter_map(|(_, d)| d.volume().map(|(s, n)| format!("{s}:{n}")))
            .collect();
        let mut log = Vec::new();
        if purge {
            log.push(format!("purging VM {vmid} from related configurations.."));
        }
        if let Some(vm) = self.vms.get_mut(&vmid) {
            // destroy_vm leaves only the lock behind until the config is removed.
            vm.config = BTreeMap::from([("lock".to_string(), "destroyed".to_string())]);
        }
        Ok(self.spawn(
            clock,
            Job {
                kind: "qmdestroy",
                id,
                duration: self.task_duration,
                log,
                end: TaskEnd::Ok,
                effect: Effect::Destroyed {
                    vmid,
                    volumes,
                    unreferenced,
                },
            },
        ))
    }
}

/// `PVE::AbstractConfig::check_lock`.
pub(crate) fn check_lock(vm: &Vm) -> Result<(), ApiError> {
    match vm.lock() {
        Some(lock) => Err(ApiError::die(format!("VM is locked ({lock})"))),
        None => Ok(()),
    }
}
