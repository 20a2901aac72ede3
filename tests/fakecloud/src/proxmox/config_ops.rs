//! Reading and changing a VM's configuration: `GET/POST/PUT .../config` (`update_vm_api`)
//! and `PUT .../resize`.
//!
//! As in PVE, the option checks (`delete`/`revert` conflicts, ISO drives without
//! `media=cdrom`, storages), a missing VM, a `digest` mismatch and a lock are refused before
//! anything happens, also for the asynchronous `POST`; what `$updatefn` finds later (an
//! invalid boot order) is a synchronous 500 for `PUT` and a failed `qmconfig` task for
//! `POST`. New disks (`scsi1=local-lvm:10`) are allocated, replaced and deleted disks become
//! `unusedN` (freed with `force`), deleted devices leave the boot order, network devices
//! without a MAC get one, and tags are normalised (`get_unique_tags`). Changes apply at once,
//! also to a running VM: the fake has no `pending` section and no hotplug.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::config::{self, Drive, Net};
use super::errors::ApiError;
use super::model::{Effect, TaskEnd};
use super::state::{Clock, Job, State, free_unused_key};
use super::vm_ops::check_lock;

/// The parameters of a config change, already verified against the schema.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigUpdate {
    pub set: BTreeMap<String, String>,
    pub delete: Vec<String>,
    pub revert: Vec<String>,
    pub force: bool,
    pub digest: Option<String>,
}

impl State {
    /// `GET .../config`: the config with integer and boolean options as numbers, plus
    /// `digest`.
    pub fn config_json(&self, vmid: u32) -> Result<Value, ApiError> {
        let vm = self.vm(vmid)?;
        let mut obj = Map::new();
        for (k, v) in &vm.config {
            let value = if config::is_numeric_key(k) {
                v.parse::<i64>()
                    .map_or_else(|_| Value::from(v.as_str()), Value::from)
            } else {
                Value::from(v.as_str())
            };
            obj.insert(k.clone(), value);
        }
        obj.insert("digest".into(), Value::from(digest(&vm.config)));
        Ok(Value::Object(obj))
    }

    /// `PUT` (`sync`, returns `None`) or `POST` (returns the `qmconfig` UPID).
    pub fn update_config(
        &mut self,
        vmid: u32,
        mut u: ConfigUpdate,
        sync: bool,
        clock: Clock,
    ) -> Result<Option<String>, ApiError> {
        if u.set.is_empty() && u.delete.is_empty() && u.revert.is_empty() {
            return Err(ApiError::die("no options specified"));
        }
        if let Some(cd) = u.set.remove("cdrom") {
            let value = if cd.contains("media=") {
                cd
            } else {
                format!("{cd},media=cdrom")
            };
            u.set.insert("ide2".into(), value);
        }
        for opt in &u.revert {
            if config::key_ty(opt).is_none() {
                return Err(ApiError::param("revert", format!("unknown option '{opt}'")));
            }
            if u.set.contains_key(opt) {
                return Err(ApiError::param(
                    "delete",
                    format!("you can't use '-{opt}' and -revert {opt}' at the same time"),
                ));
            }
        }
        let mut delete = Vec::new();
        for opt in &u.delete {
            let opt = if opt == "cdrom" { "ide2" } else { opt.as_str() };
            if u.set.contains_key(opt) {
                return Err(ApiError::param(
                    "delete",
                    format!("you can't use '-{opt}' and -delete {opt}' at the same time"),
                ));
            }
            if u.revert.iter().any(|r| r == opt) {
                return Err(ApiError::param(
                    "revert",
                    format!("you can't use '-delete {opt}' and -revert {opt}' at the same time"),
                ));
            }
            if config::key_ty(opt).is_none() {
                return Err(ApiError::param("delete", format!("unknown option '{opt}'")));
            }
            delete.push(opt.to_string());
        }
        self.check_new_values(&mut u.set)?;

        let vm = self.vm(vmid)?;
        if let Some(d) = &u.digest
            && *d != digest(&vm.config)
        {
            return Err(ApiError::die(
                "checksum mismatch (file change by other user?)",
            ));
        }
        check_lock(vm)?;
        let boot_problem = u
            .set
            .get("boot")
            .and_then(|b| config::boot_order(b))
            .and_then(|devs| {
                devs.into_iter().find(|dev| {
                    let exists = vm.config.contains_key(dev) || u.set.contains_key(dev);
                    !exists || delete.contains(dev)
                })
            })
            .map(|dev| format!("invalid bootorder: device '{dev}' does not exist'"));

        if sync {
            if let Some(msg) = boot_problem {
                return Err(ApiError::die(msg));
            }
            self.apply_config(vmid, u.set, &delete, u.force, clock);
            return Ok(None);
        }
        let id = vmid.to_string();
        let mut args: Vec<String> = u
            .set
            .iter()
            .map(|(k, v)| {
                let v = if k == "cipassword" {
                    "<hidden>"
                } else {
                    v.as_str()
                };
                format!("-{k} '{v}'")
            })
            .collect();
        if !delete.is_empty() {
            args.push(format!("-delete '{}'", delete.join(",")));
        }
        let log = vec![format!("update VM {vmid}: {}", args.join(" "))];
        Ok(Some(match boot_problem {
            Some(msg) => self.failed_task("qmconfig", &id, clock, msg),
            None => self.spawn(
                clock,
                Job {
                    kind: "qmconfig",
                    id,
                    duration: self.task_duration,
                    log,
                    end: TaskEnd::Ok,
                    effect: Effect::Config {
                        vmid,
                        set: u.set,
                        delete,
                        force: u.force,
                    },
                },
            ),
        }))
    }

    /// The checks and normalisation PVE applies to new values before locking the config.
    fn check_new_values(&self, set: &mut BTreeMap<String, String>) -> Result<(), ApiError> {
        for (key, value) in set.iter_mut() {
            if config::is_drive_key(key) {
                let Some(drive) = Drive::parse(value) else {
                    return Err(ApiError::param(key, "unable to parse drive options"));
                };
                if let Some((storage, _)) = drive.new_disk() {
                    let s = self.storage(storage)?;
                    if !s.content.contains("images") {
                        return Err(ApiError::param(
                            "storage",
                            format!("storage '{storage}' does not support vm images"),
                        ));
                    }
                } else if let Some((storage, name)) = drive.volume() {
                    self.storage(storage)?;
                    if name.starts_with("iso/") && !drive.is_cdrom() {
                        return Err(ApiError::param(
                            key,
                            "explicit 'media=cdrom' is required for iso images",
                        ));
                    }
                }
                *value = drive.print();
            } else if config::is_net_key(key) {
                if let Some(mut net) = Net::parse(value) {
                    net.mac.get_or_insert_with(config::random_mac);
                    *value = net.print();
                }
            } else if key == "tags" {
                *value = config::normalize_tags(value);
            }
        }
        Ok(())
    }

    /// Writes a change into the config; returns the warnings PVE would log.
    pub(crate) fn apply_config(
        &mut self,
        vmid: u32,
        set: BTreeMap<String, String>,
        delete: &[String],
        force: bool,
        clock: Clock,
    ) -> Vec<String> {
        let Some(vm) = self.vms.get(&vmid) else {
            return Vec::new();
        };
        let mut conf = vm.config.clone();
        let mut warnings = Vec::new();
        let mut to_free = Vec::new();
        for key in delete {
            let Some(old) = conf.remove(key) else {
                warnings.push(format!(
                    "cannot delete '{key}' - not set in current configuration!"
                ));
                continue;
            };
            if let Some(d) = Drive::parse(&old).filter(|d| !d.is_cdrom() && d.volume().is_some()) {
                if config::is_unused_key(key) || force {
                    to_free.push(d);
                } else if config::is_drive_key(key) {
                    let slot = free_unused_key(&conf);
                    conf.insert(slot, d.file);
                }
            }
            if let Some(mut order) = conf.get("boot").and_then(|b| config::boot_order(b))
                && order.iter().any(|d| d == key)
            {
                order.retain(|d| d != key);
                conf.insert("boot".into(), format!("order={}", order.join(";")));
            }
        }
        for (key, value) in set {
            if !config::is_drive_key(&key) {
                conf.insert(key, value);
                continue;
            }
            let Some(mut d) = Drive::parse(&value) else {
                continue;
            };
            if let Some((storage, gib)) = d.new_disk() {
                let size = (gib * f64::from(1u32 << 30)) as u64;
                let storage = storage.to_string();
                let volume = self.alloc_disk(&storage, vmid, size, None, clock);
                d.file = volume.volid();
                d.set_opt("size", config::format_size(size));
            }
            if let Some(old) = conf.get(&key).and_then(|v| Drive::parse(v))
                && !old.is_cdrom()
                && old.volume().is_some()
                && old.file != d.file
            {
                let slot = free_unused_key(&conf);
                conf.insert(slot, old.file);
            }
            conf.insert(key, d.print());
        }
        for d in &to_free {
            self.free_volume(d);
        }
        if let Some(vm) = self.vms.get_mut(&vmid) {
            vm.config = conf;
        }
        warnings
    }

    /// `PUT .../resize`: a `resize` task; every check runs inside it.
    pub fn resize(
        &mut self,
        vmid: u32,
        disk: &str,
        size: &str,
        digest_param: Option<&str>,
        clock: Clock,
    ) -> String {
        let id = vmid.to_string();
        match self.resize_plan(vmid, disk, size, digest_param) {
            Err(msg) => self.failed_task("resize", &id, clock, msg),
            Ok(None) => self.spawn(
                clock,
                Job {
                    kind: "resize",
                    id,
                    duration: Duration::ZERO,
                    log: Vec::new(),
                    end: TaskEnd::Ok,
                    effect: Effect::None,
                },
            ),
            Ok(Some((volid, old, new))) => {
                let log = vec![format!(
                    "  Size of logical volume {volid} changed from {} to {}.",
                    config::format_size(old),
                    config::format_size(new)
                )];
                self.spawn(
                    clock,
                    Job {
                        kind: "resize",
                        id,
                        duration: self.task_duration,
                        log,
                        end: TaskEnd::Ok,
                        effect: Effect::Resized {
                            vmid,
                            disk: disk.to_string(),
                            size: new,
                        },
                    },
                )
            }
        }
    }

    /// `Some((volid, old size, new size))`, `None` when the size does not change, or the
    /// task's error.
    fn resize_plan(
        &self,
        vmid: u32,
        disk: &str,
        size: &str,
        digest_param: Option<&str>,
    ) -> Result<Option<(String, u64, u64)>, String> {
        let vm = self.vm(vmid).map_err(|e| e.message)?;
        if digest_param.is_some_and(|d| d != digest(&vm.config)) {
            return Err("checksum mismatch (file change by other user?)".into());
        }
        check_lock(vm).map_err(|e| e.message)?;
        let drive = vm
            .get(disk)
            .and_then(Drive::parse)
            .ok_or_else(|| format!("disk '{disk}' does not exist"))?;
        let Some((storage, name)) = drive.volume() else {
            return Err(format!("disk '{disk}' has no associated volume"));
        };
        if drive.is_cdrom() {
            return Err("you can't resize a cdrom".into());
        }
        let volid = format!("{storage}:{name}");
        let current = self
            .volumes
            .get(&volid)
            .map(|v| v.size)
            .or_else(|| drive.opt("size").and_then(config::parse_size))
            .ok_or_else(|| format!("Could not determine current size of volume '{volid}'"))?;
        let (relative, absolute) = match size.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, size),
        };
        let amount = config::parse_size(absolute).ok_or_else(|| "internal error".to_string())?;
        let new = if relative { current + amount } else { amount };
        if new < current {
            return Err("shrinking disks is not supported".into());
        }
        Ok((new != current).then_some((volid, current, new)))
    }

    pub(crate) fn apply_resize(&mut self, vmid: u32, disk: &str, size: u64) {
        let Some(vm) = self.vms.get_mut(&vmid) else {
            return;
        };
        let Some(mut d) = vm.get(disk).and_then(Drive::parse) else {
            return;
        };
        d.set_opt("size", config::format_size(size));
        let volid = d.volume().map(|(s, n)| format!("{s}:{n}"));
        vm.config.insert(disk.to_string(), d.print());
        if let Some(v) = volid.and_then(|id| self.volumes.get_mut(&id)) {
            v.size = size;
        }
    }
}

/// The config's digest: 40 hex digits like PVE's SHA-1 of the config file (here the first
/// 160 bits of a SHA-256 of the same text).
pub(crate) fn digest(config: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for (k, v) in config {
        h.update(format!("{k}: {v}\n").as_bytes());
    }
    h.finalize()[..20]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
