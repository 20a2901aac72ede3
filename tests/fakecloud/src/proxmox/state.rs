//! The fake's state and its clock. Tasks run for `Options::task_duration` and take effect
//! when they end; nothing runs in the background: every request (and every `Running`
//! accessor) first brings the state up to the current time (`State::tick`), ending the tasks
//! whose time is up in the order they end. Handlers lock the state briefly; nothing here
//! awaits.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::Options;
use super::auth::TokenAuth;
use super::config::{self, Drive};
use super::errors::ApiError;
use super::model::{Effect, Run, Storage, StorageKind, Task, TaskEnd, TemplateSeed, Vm, Volume};
use super::upid::Upid;

/// Everything the router shares between requests.
pub(crate) struct Shared {
    pub node: String,
    pub auth: TokenAuth,
    pub fingerprint: String,
    pub auth_failure_delay: Duration,
    requests: AtomicU64,
    state: Mutex<State>,
}

impl Shared {
    pub fn new(auth: TokenAuth, fingerprint: String, options: &Options) -> Self {
        Self {
            node: options.node.clone(),
            fingerprint,
            auth_failure_delay: options.auth_failure_delay,
            requests: AtomicU64::new(0),
            state: Mutex::new(State::new(options, auth.token_id(), Clock::now())),
            auth,
        }
    }

    /// The state as it is, without advancing tasks.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks, ends the tasks whose time is up, and runs `f` at the current time.
    pub fn at_now<T>(&self, f: impl FnOnce(&mut State, Clock) -> T) -> T {
        let clock = Clock::now();
        let mut st = self.lock();
        st.tick(clock);
        f(&mut st, clock)
    }

    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The `{node}` of a path that PVE would proxy (`proxyto => 'node'`): this node or
    /// `localhost`; any other name fails the way a single node fails to resolve it.
    pub fn check_node(&self, node: &str) -> Result<(), ApiError> {
        if node == self.node || node == "localhost" {
            Ok(())
        } else {
            Err(ApiError::die(format!(
                "hostname lookup '{node}' failed - failed to get address info for: {node}: Name or service not known"
            )))
        }
    }
}

/// The current time, monotonic and wall.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub now: Instant,
    /// UNIX seconds.
    pub wall: u64,
}

impl Clock {
    pub fn now() -> Self {
        Self {
            now: Instant::now(),
            wall: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs(),
        }
    }
}

pub(crate) struct State {
    pub node: String,
    /// The token id tasks run as.
    pub user: String,
    pub task_duration: Duration,
    stats_interval: Duration,
    next_stats: Instant,
    pub vms: BTreeMap<u32, Vm>,
    pub storages: BTreeMap<String, Storage>,
    /// By volume id (`storage:name`).
    pub volumes: BTreeMap<String, Volume>,
    pub pools: BTreeSet<String>,
    pub bridges: BTreeSet<String>,
    pub tasks: Vec<Task>,
    next_pid: u32,
    /// When the fake node "booted": `pstart` counts clock ticks from here.
    pub boot: Instant,
    pub fail_next_clones: u32,
    pub half_done_next_clones: u32,
    pub fail_next_requests: u32,
    pub fail_status: u16,
}

impl State {
    fn new(options: &Options, user: String, clock: Clock) -> Self {
        let uptime = Duration::from_secs(3 * 86_400 + rand::random_range(0..86_400));
        let mut st = Self {
            node: options.node.clone(),
            user,
            task_duration: options.task_duration,
            stats_interval: options.stats_interval,
            next_stats: clock.now,
            vms: BTreeMap::new(),
            storages: options
                .storages
                .iter()
                .map(|s| {
                    (
                        s.id.clone(),
                        Storage {
                            id: s.id.clone(),
                            kind: s.kind,
                            content: s.content.iter().cloned().collect(),
                            total: s.total,
                        },
                    )
                })
                .collect(),
            volumes: BTreeMap::new(),
            pools: options.pools.iter().cloned().collect(),
            bridges: options.bridges.iter().cloned().collect(),
            tasks: Vec::new(),
            next_pid: rand::random_range(20_000..200_000),
            boot: clock.now.checked_sub(uptime).unwrap_or(clock.now),
            fail_next_clones: options.fail_next_clones,
            half_done_next_clones: options.half_done_next_clones,
            fail_next_requests: options.fail_next_requests,
            fail_status: options.fail_status,
        };
        if let Some(t) = &options.template {
            st.seed_template(t, clock);
        }
        st.refresh_stats(clock.now);
        st
    }

    /// A template as `qm template` leaves one: `template: 1` and a `base-` volume.
    fn seed_template(&mut self, t: &TemplateSeed, clock: Clock) {
        let volume = Volume {
            storage: t.storage.clone(),
            name: format!("base-{}-disk-0", t.vmid),
            content: "images",
            format: "raw",
            size: t.disk_size,
            vmid: Some(t.vmid),
            ctime: clock.wall.saturating_sub(86_400),
            data: None,
        };
        let pairs = [
            ("agent", "1".to_string()),
            ("boot", "order=scsi0;ide2;net0".into()),
            ("cores", t.cores.to_string()),
            ("cpu", "x86-64-v2-AES".into()),
            ("ide2", "none,media=cdrom".into()),
            ("memory", t.memory_mib.to_string()),
            (
                "meta",
                format!("creation-qemu=9.2.0,ctime={}", volume.ctime),
            ),
            ("name", t.name.clone()),
            (
                "net0",
                format!("virtio={},bridge=vmbr0,firewall=1", config::random_mac()),
            ),
            ("numa", "0".into()),
            ("ostype", "l26".into()),
            (
                "scsi0",
                format!(
                    "{},iothread=1,size={}",
                    volume.volid(),
                    config::format_size(t.disk_size)
                ),
            ),
            ("scsihw", "virtio-scsi-single".into()),
            ("serial0", "socket".into()),
            ("smbios1", format!("uuid={}", config::random_uuid())),
            ("sockets", "1".into()),
            ("template", "1".into()),
            ("vmgenid", config::random_uuid()),
        ];
        self.volumes.insert(volume.volid(), volume);
        self.vms.insert(
            t.vmid,
            Vm {
                vmid: t.vmid,
                config: pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                run: None,
                pool: None,
                stats: None,
            },
        );
    }

    /// Ends every task whose time is up, earliest first, and lets `pvestatd` look.
    pub fn tick(&mut self, clock: Clock) {
        loop {
            let next = self
                .tasks
                .iter()
                .enumerate()
                .filter(|(_, t)| !t.done && t.ends_at <= clock.now)
                .min_by_key(|(i, t)| (t.ends_at, *i))
                .map(|(i, _)| i);
            let Some(i) = next else { break };
            self.finish_task(i, clock);
        }
        self.refresh_stats(clock.now);
    }

    /// `pvestatd` runs every `stats_interval` (10 s on PVE); at zero the numbers are live.
    fn refresh_stats(&mut self, now: Instant) {
        if now < self.next_stats {
            return;
        }
        for vm in self.vms.values_mut() {
            vm.stats = Some(vm.stats_now());
        }
        self.next_stats = now + self.stats_interval;
    }

    fn finish_task(&mut self, i: usize, clock: Clock) {
        let effect = std::mem::replace(&mut self.tasks[i].effect, Effect::None);
        let warnings = self.apply(effect, clock);
        let task = &mut self.tasks[i];
        task.done = true;
        task.endtime = Some(clock.wall);
        if !warnings.is_empty() {
            task.end = match std::mem::replace(&mut task.end, TaskEnd::Ok) {
                TaskEnd::Ok => TaskEnd::Warnings(warnings),
                TaskEnd::Warnings(mut w) => {
                    w.extend(warnings);
                    TaskEnd::Warnings(w)
                }
                other => other,
            };
        }
    }

    /// Applies what a task does when it ends; returns warnings for its log.
    fn apply(&mut self, effect: Effect, clock: Clock) -> Vec<String> {
        match effect {
            Effect::None => Vec::new(),
            Effect::CloneDone { newid } => {
                if let Some(vm) = self.vms.get_mut(&newid) {
                    vm.config.remove("lock");
                }
                Vec::new()
            }
            Effect::CloneUndo { newid } => {
                self.vms.remove(&newid);
                self.volumes.retain(|_, v| v.vmid != Some(newid));
                Vec::new()
            }
            Effect::Started { vmid } => {
                let pid = self.next_pid();
                if let Some(vm) = self.vms.get_mut(&vmid) {
                    vm.run = Some(Run {
                        pid,
                        since: clock.now,
                    });
                }
                Vec::new()
            }
            Effect::Stopped { vmid } => {
                if let Some(vm) = self.vms.get_mut(&vmid) {
                    vm.run = None;
                }
                Vec::new()
            }
            Effect::Destroyed {
                vmid,
                volumes,
                unreferenced,
            } => self.remove_vm(vmid, &volumes, unreferenced),
            Effect::Config {
                vmid,
                set,
                delete,
                force,
            } => self.apply_config(vmid, set, &delete, force, clock),
            Effect::Resized { vmid, disk, size } => {
                self.apply_resize(vmid, &disk, size);
                Vec::new()
            }
            Effect::VolumeAdded(volume) => {
                self.volumes.insert(volume.volid(), volume);
                Vec::new()
            }
            Effect::VolumeRemoved(volid) => {
                if self.volumes.remove(&volid).is_some() {
                    Vec::new()
                } else {
                    vec![format!("disk image '{volid}' does not exist")]
                }
            }
        }
    }

    /// Removes a destroyed VM and the volumes it owns; a base volume still used by linked
    /// clones stays, with PVE's warning.
    fn remove_vm(&mut self, vmid: u32, referenced: &[String], unreferenced: bool) -> Vec<String> {
        if self.vms.remove(&vmid).is_none() {
            return Vec::new();
        }
        let mut warnings = Vec::new();
        let owned: Vec<String> = self
            .volumes
            .iter()
            .filter(|(id, v)| v.vmid == Some(vmid) && (unreferenced || referenced.contains(*id)))
            .map(|(id, _)| id.clone())
            .collect();
        for volid in owned {
            let Some(v) = self.volumes.get(&volid) else {
                continue;
            };
            let prefix = format!("{}/", v.name);
            let in_use = self
                .volumes
                .values()
                .any(|o| o.storage == v.storage && o.name.starts_with(&prefix));
            if in_use {
                warnings.push(format!(
                    "Could not remove disk '{volid}', check manually: base volume '{}' is still in use by linked clones",
                    v.name
                ));
            } else {
                self.volumes.remove(&volid);
            }
        }
        warnings
    }

    /// Starts a task and returns its UPID.
    pub fn spawn(&mut self, clock: Clock, job: Job) -> String {
        let pid = self.next_pid();
        let ticks = clock.now.saturating_duration_since(self.boot).as_millis() / 10;
        let upid = Upid {
            node: self.node.clone(),
            pid,
            pstart: u64::try_from(ticks).unwrap_or(u64::MAX),
            starttime: clock.wall,
            kind: job.kind.to_string(),
            id: job.id,
            user: self.user.clone(),
        };
        let text = upid.to_string();
        self.tasks.push(Task {
            upid,
            upid_text: text.clone(),
            ends_at: clock.now + job.duration,
            log: job.log,
            end: job.end,
            effect: job.effect,
            done: false,
            endtime: None,
        });
        // A task that ends at once has ended when its UPID is returned.
        self.tick(clock);
        text
    }

    /// A task that failed before doing anything.
    pub fn failed_task(
        &mut self,
        kind: &'static str,
        id: &str,
        clock: Clock,
        message: String,
    ) -> String {
        self.spawn(
            clock,
            Job {
                kind,
                id: id.to_string(),
                duration: Duration::ZERO,
                log: Vec::new(),
                end: TaskEnd::Error(message),
                effect: Effect::None,
            },
        )
    }

    fn next_pid(&mut self) -> u32 {
        self.next_pid += rand::random_range(1..40);
        if self.next_pid > 4_000_000 {
            self.next_pid = 20_000;
        }
        self.next_pid
    }

    pub fn task(&self, upid: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.upid_text == upid)
    }

    /// The VM or PVE's "Configuration file ... does not exist".
    pub fn vm(&self, vmid: u32) -> Result<&Vm, ApiError> {
        self.vms
            .get(&vmid)
            .ok_or_else(|| ApiError::no_config(&self.node, vmid))
    }

    pub fn storage(&self, id: &str) -> Result<&Storage, ApiError> {
        self.storages
            .get(id)
            .ok_or_else(|| ApiError::die(format!("storage '{id}' does not exist")))
    }

    /// Allocates a new disk volume for `vmid` on `storage` (`vm-VMID-disk-N`, or
    /// `BASE/vm-VMID-disk-N` for a linked clone of `base`).
    pub fn alloc_disk(
        &mut self,
        storage: &str,
        vmid: u32,
        size: u64,
        base: Option<&str>,
        clock: Clock,
    ) -> Volume {
        let taken: BTreeSet<u32> = self
            .volumes
            .values()
            .filter(|v| v.storage == storage && v.vmid == Some(vmid))
            .filter_map(|v| v.name.rsplit("-disk-").next().and_then(disk_index))
            .collect();
        let n = (0..).find(|n| !taken.contains(n)).unwrap_or(0);
        let kind = self.storages.get(storage).map(|s| s.kind);
        let (name, format) = match kind {
            Some(StorageKind::Dir) => (format!("{vmid}/vm-{vmid}-disk-{n}.raw"), "raw"),
            _ => (format!("vm-{vmid}-disk-{n}"), "raw"),
        };
        let name = match base {
            Some(b) => format!("{b}/{name}"),
            None => name,
        };
        let volume = Volume {
            storage: storage.to_string(),
            name,
            content: "images",
            format,
            size,
            vmid: Some(vmid),
            ctime: clock.wall,
            data: None,
        };
        self.volumes.insert(volume.volid(), volume.clone());
        volume
    }

    /// Frees a disk volume (when a drive is deleted with `force` or an unused disk is
    /// removed).
    pub fn free_volume(&mut self, drive: &Drive) {
        if let Some((s, n)) = drive.volume() {
            self.volumes.remove(&format!("{s}:{n}"));
        }
    }
}

/// A task to start.
pub(crate) struct Job {
    /// Worker type (`qmclone`, ...).
    pub kind: &'static str,
    /// Worker id (the VMID, ...).
    pub id: String,
    /// How long it runs; zero for a worker that fails (or has nothing to do) at once.
    pub duration: Duration,
    /// Lines logged when it starts.
    pub log: Vec<String>,
    pub end: TaskEnd,
    /// What it changes when it ends.
    pub effect: Effect,
}

/// `7` from `7` or `7.raw`.
fn disk_index(s: &str) -> Option<u32> {
    s.split('.').next().and_then(|n| n.parse().ok())
}

/// The first `unusedN` key free in a config.
pub(crate) fn free_unused_key(config: &BTreeMap<String, String>) -> String {
    (0..)
        .map(|n| format!("unused{n}"))
        .find(|k| !config.contains_key(k))
        .unwrap_or_else(|| "unused0".into())
}
