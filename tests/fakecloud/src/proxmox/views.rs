//! The JSON the read endpoints return, field by field as the PVE API viewer documents the
//! return schemas (`/version`, `/nodes`, `/cluster/nextid`, `/cluster/resources`,
//! `/nodes/{node}/qemu`, `.../status/current`, `.../tasks/{upid}/status` and `/log`).
//!
//! `cluster/resources` is built as `PVE::API2::Cluster` builds it: `lock` and `tags` come
//! from the guest configs (current at once), while `name`, `status`, `template`, the sizes
//! and the counters come from the RRD data `pvestatd` writes every 10 s; a VM `pvestatd` has
//! not seen yet is listed with `status: "unknown"` and nothing else
//! (`Options::stats_interval` sets how long that lasts; zero by default).

use serde_json::{Map, Value, json};

use super::config;
use super::errors::ApiError;
use super::model::{Task, Vm};
use super::state::{Clock, State};
use super::upid::Upid;

/// What `GET /version` reports.
pub(crate) const VERSION: &str = "9.0.10";
const RELEASE: &str = "9.0";
const REPOID: &str = "deb1ca707ec72a89";

/// The node's hardware, as the fake reports it.
const NODE_CPUS: u64 = 8;
const NODE_MEM: u64 = 32 << 30;
const NODE_ROOTFS: u64 = 100 << 30;

pub(crate) fn version() -> Value {
    json!({ "version": VERSION, "release": RELEASE, "repoid": REPOID })
}

impl State {
    fn uptime(&self, clock: Clock) -> u64 {
        clock.now.saturating_duration_since(self.boot).as_secs()
    }

    /// `GET /nodes`.
    pub fn nodes_json(&self, clock: Clock, fingerprint: &str) -> Value {
        json!([{
            "node": self.node,
            "id": format!("node/{}", self.node),
            "type": "node",
            "status": "online",
            "level": "",
            "ssl_fingerprint": fingerprint,
            "uptime": self.uptime(clock),
            "cpu": 0.03,
            "maxcpu": NODE_CPUS,
            "mem": self.used_memory() + (2 << 30),
            "maxmem": NODE_MEM,
            "disk": 5u64 << 30,
            "maxdisk": NODE_ROOTFS,
        }])
    }

    fn used_memory(&self) -> u64 {
        self.vms
            .values()
            .filter(|v| v.run.is_some())
            .map(|v| v.maxmem() / 3)
            .sum()
    }

    /// `GET /cluster/nextid[?vmid=N]`: the id as a **string** (PVE's JSON encoder sees a
    /// string there), or 400 if the asked id is taken.
    pub fn next_id(&self, vmid: Option<u32>) -> Result<Value, ApiError> {
        if let Some(id) = vmid {
            if self.vms.contains_key(&id) {
                return Err(ApiError::param("vmid", format!("VM {id} already exists")));
            }
            return Ok(Value::from(id.to_string()));
        }
        (100..1_000_000)
            .find(|id| !self.vms.contains_key(id))
            .map(|id| Value::from(id.to_string()))
            .ok_or_else(|| ApiError::die("unable to get any free VMID in range [100, 1000000]"))
    }

    /// `GET /cluster/resources[?type=vm|storage|node|sdn]`.
    pub fn resources_json(&self, kind: Option<&str>, clock: Clock) -> Vec<Value> {
        let mut out = Vec::new();
        if kind.is_none_or(|k| k == "vm") {
            out.extend(self.vms.values().map(|vm| self.vm_resource(vm, clock)));
        }
        if kind.is_none_or(|k| k == "node") {
            out.push(json!({
                "id": format!("node/{}", self.node),
                "node": self.node,
                "type": "node",
                "status": "online",
                "level": "",
                "cgroup-mode": 2,
                "uptime": self.uptime(clock),
                "cpu": 0.03,
                "maxcpu": NODE_CPUS,
                "mem": self.used_memory() + (2 << 30),
                "maxmem": NODE_MEM,
                "disk": 5u64 << 30,
                "maxdisk": NODE_ROOTFS,
            }));
        }
        if kind.is_none_or(|k| k == "storage") {
            out.extend(self.storages.values().map(|s| {
                json!({
                    "id": format!("storage/{}/{}", self.node, s.id),
                    "storage": s.id,
                    "node": self.node,
                    "type": "storage",
                    "status": "available",
                    "plugintype": s.kind.type_name(),
                    "content": s.content.iter().cloned().collect::<Vec<_>>().join(","),
                    "shared": 0,
                    "disk": self.used(&s.id),
                    "maxdisk": s.total,
                })
            }));
        }
        out
    }

    fn vm_resource(&self, vm: &Vm, clock: Clock) -> Value {
        let mut e = json!({
            "id": format!("qemu/{}", vm.vmid),
            "vmid": vm.vmid,
            "node": self.node,
            "type": "qemu",
            "status": "unknown",
        });
        if let Some(s) = &vm.stats {
            let uptime = s
                .running_since
                .map_or(0, |t| clock.now.saturating_duration_since(t).as_secs());
            let running = s.running_since.is_some();
            e["name"] = json!(s.name);
            e["status"] = json!(if running { "running" } else { "stopped" });
            e["template"] = json!(u8::from(s.template));
            e["uptime"] = json!(uptime);
            e["maxcpu"] = json!(s.maxcpu);
            e["cpu"] = json!(if running { 0.02 } else { 0.0 });
            e["maxmem"] = json!(s.maxmem);
            e["mem"] = json!(if running { s.maxmem / 3 } else { 0 });
            e["maxdisk"] = json!(s.maxdisk);
            e["disk"] = json!(0);
            for counter in ["netin", "netout", "diskread", "diskwrite"] {
                e[counter] = json!(if running { uptime * 1024 } else { 0 });
            }
        }
        if let Some(tags) = vm.get("tags") {
            e["tags"] = json!(tags);
        }
        if let Some(lock) = vm.lock() {
            e["lock"] = json!(lock);
        }
        if let Some(pool) = &vm.pool {
            e["pool"] = json!(pool);
        }
        e
    }

    /// The fields `PVE::QemuServer::vmstatus` reports for a VM.
    fn vm_status_fields(&self, vm: &Vm, clock: Clock) -> Map<String, Value> {
        let uptime = vm.run.map_or(0, |r| {
            clock.now.saturating_duration_since(r.since).as_secs()
        });
        let running = vm.run.is_some();
        let mut m = Map::new();
        m.insert("vmid".into(), json!(vm.vmid));
        m.insert("name".into(), json!(vm.display_name()));
        m.insert("status".into(), json!(vm.status().as_str()));
        m.insert("cpus".into(), json!(vm.cpus()));
        m.insert("maxmem".into(), json!(vm.maxmem()));
        m.insert("maxdisk".into(), json!(vm.maxdisk()));
        m.insert("uptime".into(), json!(uptime));
        m.insert("cpu".into(), json!(if running { 0.02 } else { 0.0 }));
        m.insert(
            "mem".into(),
            json!(if running { vm.maxmem() / 3 } else { 0 }),
        );
        m.insert("disk".into(), json!(0));
        for counter in ["netin", "netout", "diskread", "diskwrite"] {
            m.insert(
                counter.into(),
                json!(if running { uptime * 1024 } else { 0 }),
            );
        }
        if let Some(run) = vm.run {
            m.insert("pid".into(), json!(run.pid));
        }
        if let Some(tags) = vm.get("tags") {
            m.insert("tags".into(), json!(tags));
        }
        if let Some(lock) = vm.lock() {
            m.insert("lock".into(), json!(lock));
        }
        if vm.is_template() {
            m.insert("template".into(), json!(1));
        }
        if vm.config.keys().any(|k| k.starts_with("serial")) {
            m.insert("serial".into(), json!(1));
        }
        m
    }

    /// `GET /nodes/{node}/qemu`.
    pub fn qemu_list_json(&self, clock: Clock) -> Vec<Value> {
        self.vms
            .values()
            .map(|vm| Value::Object(self.vm_status_fields(vm, clock)))
            .collect()
    }

    /// `GET /nodes/{node}/qemu/{vmid}/status/current`.
    pub fn status_json(&self, vmid: u32, clock: Clock) -> Result<Value, ApiError> {
        let vm = self.vm(vmid)?;
        let mut m = self.vm_status_fields(vm, clock);
        m.insert("qmpstatus".into(), json!(vm.status().as_str()));
        m.insert("ha".into(), json!({ "managed": 0 }));
        if config::agent_enabled(vm.get("agent")) {
            m.insert("agent".into(), json!(1));
        }
        if vm.run.is_some() {
            m.insert("running-machine".into(), json!("pc-i440fx-9.2+pve1"));
            m.insert("running-qemu".into(), json!("9.2.0"));
            m.insert("proxmox-support".into(), json!({}));
        }
        Ok(Value::Object(m))
    }

    /// The task of a `{upid}` path segment, or PVE's parameter errors.
    fn task_for(&self, upid: &str) -> Result<(&Task, Upid), ApiError> {
        let parsed = Upid::parse(upid)
            .ok_or_else(|| ApiError::param("upid", "unable to parse worker upid"))?;
        let task = self
            .task(upid)
            .ok_or_else(|| ApiError::param("upid", "no such task"))?;
        Ok((task, parsed))
    }

    /// `GET /nodes/{node}/tasks/{upid}/status`.
    pub fn task_status_json(&self, upid: &str) -> Result<Value, ApiError> {
        let (task, u) = self.task_for(upid)?;
        let mut v = json!({
            "upid": task.upid_text,
            "node": u.node,
            "pid": u.pid,
            "pstart": u.pstart,
            "starttime": u.starttime,
            "type": u.kind,
            "id": u.id,
            "user": u.user,
            "status": if task.done { "stopped" } else { "running" },
        });
        if task.done {
            v["exitstatus"] = json!(task.end.exitstatus());
        }
        Ok(v)
    }

    /// `GET /nodes/{node}/tasks/{upid}/log?start=&limit=` (limit 0 or absent: 50): the
    /// lines and the total.
    pub fn task_log_json(
        &self,
        upid: &str,
        start: usize,
        limit: usize,
    ) -> Result<(Vec<Value>, usize), ApiError> {
        let (task, _) = self.task_for(upid)?;
        let mut lines = task.log_lines();
        if lines.is_empty() {
            // PVE's hack for ExtJS, which dislikes empty arrays.
            lines.push("no content".into());
        }
        let total = lines.len();
        let page = lines
            .into_iter()
            .enumerate()
            .skip(start)
            .take(if limit == 0 { 50 } else { limit })
            .map(|(i, t)| json!({ "n": i + 1, "t": t }))
            .collect();
        Ok((page, total))
    }
}
