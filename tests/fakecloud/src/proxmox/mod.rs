//! A fake of the Proxmox VE API (`https://NODE:8006/api2/json`), in memory, served over
//! HTTPS with the certificates a freshly installed node has.
//!
//! # TLS
//! At start the fake generates a cluster CA (like `pve-root-ca.pem`) and a node certificate
//! signed by it (like `pve-ssl.pem`) for `127.0.0.1`, `localhost` and the node name. A
//! client trusts [`Running::ca_pem`] or pins [`Running::fingerprint`] (SHA-256 of the node
//! certificate, `AB:CD:...` as the GUI shows it); [`Running::cert_pem`] is the node
//! certificate. Plain HTTP is redirected to HTTPS, as `pveproxy` does.
//!
//! # Authentication
//! `Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET` with the token given to
//! [`FakeProxmox::start`]; the secret is compared in constant time. Anything else is 401 with
//! PVE's message as reason phrase ("No ticket", "invalid token value!", "no such token 'X' for
//! user 'Y'", ...), after PVE's 3 s delay ([`Options::auth_failure_delay`]). The token has
//! every privilege (a token without privilege separation on `root@pam`), but it is not
//! `root@pam` itself: root-only parameters (`skiplock`, ...) are refused as PVE refuses them.
//!
//! # Endpoints (under `/api2/json`)
//! - `GET /version`, `GET /nodes`, `GET /cluster/nextid[?vmid=]` (a string, 400 when the id
//!   is taken), `GET /cluster/resources[?type=vm|storage|node|sdn]`;
//! - `GET /nodes/{node}/qemu`, `GET|DELETE /nodes/{node}/qemu/{vmid}`
//!   (`purge`, `destroy-unreferenced-disks`), `POST .../clone`, `GET|POST|PUT .../config`,
//!   `PUT .../resize`, `GET .../status/current`, `POST .../status/start|stop|shutdown`;
//! - `GET /nodes/{node}/tasks/{upid}`, `.../status`, `.../log`;
//! - `GET /nodes/{node}/storage`, `POST /nodes/{node}/storage/{storage}/upload`,
//!   `GET .../content`, `DELETE .../content/{volume}`.
//!
//! Asynchronous calls return a UPID (`UPID:pve:0001A2B3:...:qmclone:9000:root@pam!tok:`);
//! the task runs for [`Options::task_duration`] and takes effect when it ends. Answers,
//! errors (status, reason phrase, `{"data":null,"message":...,"errors":...}`), which check
//! fails synchronously and which fails the task: see the modules `errors`, `params`,
//! `vm_ops`, `config_ops`, `storage_ops`, `multipart` and `views`.
//!
//! # Seeded state
//! Node `pve`; template 9000 `talos-template` (`template: 1`, `scsi0` on a `local-lvm` base
//! volume, `ide2: none,media=cdrom`, `net0` on `vmbr0`, `serial0: socket`, `agent: 1`);
//! storages `local` (dir: `iso`, `vztmpl`, `backup`) and `local-lvm` (lvmthin: `images`,
//! `rootdir`); bridge `vmbr0`; no pools. All of it through [`Options`].
//!
//! # Faults
//! [`Options::fail_next_clones`] (the clone task fails with an LVM error and the new VM is
//! removed, as PVE cleans up), [`Options::half_done_next_clones`] (the worker "dies": the
//! task stops with `unexpected status` and the new VM stays, locked `clone`, as after a
//! killed worker; on PVE only `qm unlock` on the node or root's `skiplock` get it unlocked,
//! here [`Running::unlock_vm`]), [`Options::fail_next_requests`] with
//! [`Options::fail_status`] (500 "cluster not ready - no quorum?", 503, 595, ...).
//!
//! # Left out
//! - Ticket (password) login, `/access/*`, CSRF tokens, users, ACLs and privilege checks,
//!   privilege-separated tokens, token expiry.
//! - Clusters: one node only; another `{node}` fails like an unresolvable host name; `target`
//!   on clone, migration, HA (`ha` is always `{"managed":0}`), replication, backup jobs.
//! - The `pending` section: config changes apply at once, also to running VMs (no hotplug
//!   rules, no `revert` effect); `GET .../pending`, `.../config?current=1` is the same config.
//! - Snapshots (`snapname`/`snapshot` always "does not exist"), `move_disk`, `unlink`,
//!   `template` (converting), `POST /nodes/{node}/qemu` (create), `reboot`, `reset`,
//!   `suspend`, `resume`, the guest agent, VNC/SPICE/terminal, RRD data, firewall, cloud-init
//!   (`cloudinit` drives are kept as config only), `GET /nodes/{node}/tasks` (task list),
//!   `DELETE` of a task, `GET /nodes/{node}/status`, SDN and `network` rows in
//!   `cluster/resources`.
//! - Value checks: property strings (`cpu`, `agent`, `smbios1`, `vga`, `ipconfigN`, ...) are
//!   stored without checking their inner keys; drives and network devices are checked only
//!   for what the fake uses (volume, `media`, `size`, model, MAC); the message for an invalid
//!   tag and those of inner property-string errors are the fake's wording.
//! - Storage: two plugin kinds (dir, lvmthin); no thin-pool space accounting (clones never
//!   run out unless injected), no `download-url`, `vztmpl`/`import` uploads are stored but not
//!   inspected, uploads up to 64 MiB (kept in memory), `md5`/`sha1` checksums cannot be
//!   verified (the task fails saying so), content `ctime` for VM disks, `notes`,
//!   `protected`, `used`.
//! - Digests are 40 hex digits like PVE's SHA-1 of the config file, computed differently.
//! - `cluster/resources` numbers (cpu, mem, counters) are made up; `stats_interval` models
//!   `pvestatd`'s delay but defaults to live numbers.
//! - Task logs carry plausible lines, not PVE's exact output.
//! - HTTP: no gzip, no `extjs`/`html` formats (501), no web GUI (`/` is 501 "no such
//!   file"), the 401 body is the message as text, no request logging.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use fakecloud::proxmox::{FakeProxmox, Options};
//! let fake = FakeProxmox::start(
//!     "127.0.0.1:0".parse().unwrap(),
//!     "root@pam!tazhost=3f1c7a52-8a8e-4d6c-9a55-0c1b2d3e4f50",
//!     Options::default(),
//! )
//! .await?;
//! let api = format!("{}/api2/json", fake.base_url());
//! // ... trust fake.ca_pem() or pin fake.fingerprint(), drive the code under test ...
//! assert_eq!(fake.vms().len(), 1); // the template
//! fake.stop().await;
//! # Ok(()) }
//! ```

mod api_cluster;
mod api_qemu;
mod api_storage;
mod auth;
pub mod cli;
mod config;
mod config_ops;
mod errors;
mod model;
mod multipart;
mod params;
mod routes;
mod server;
mod state;
mod storage_ops;
#[cfg(test)]
mod tests;
mod tls;
mod upid;
mod views;
mod vm_ops;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use model::{
    StorageKind, StorageSeed, TaskRecord, TaskStatus, TemplateSeed, VmRecord, VmStatus,
};

use auth::TokenAuth;
use state::Shared;
use tls::NodeTls;

/// How the fake behaves and what it starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The node's name. Default: `pve`.
    pub node: String,
    /// How long a task (clone, start, stop, shutdown, destroy, config, resize, upload,
    /// volume delete) runs before it takes effect. Tasks that fail a check at the start
    /// (starting a template, a locked VM, ...) stop at once. Default: 500 ms.
    pub task_duration: Duration,
    /// How long a refused authentication is held back (PVE: 3 s). Default: 3 s.
    pub auth_failure_delay: Duration,
    /// How often `pvestatd` refreshes what `cluster/resources` shows of a VM (name, status,
    /// sizes); until its first look a new VM shows `status: "unknown"`. PVE: 10 s.
    /// Default: zero (always current).
    pub stats_interval: Duration,
    /// The template to seed; `None` for none.
    pub template: Option<TemplateSeed>,
    pub storages: Vec<StorageSeed>,
    /// Bridges VMs may use (`vmbr0`); starting a VM on another fails like PVE.
    pub bridges: Vec<String>,
    /// Resource pools that exist (`pool` on clone).
    pub pools: Vec<String>,
    /// The next this-many clone tasks fail ("clone failed: lvcreate ... insufficient free
    /// space"); the new VM is removed again.
    pub fail_next_clones: u32,
    /// The next this-many clone tasks die half-way: `exitstatus` is `unexpected status`,
    /// the new VM stays, locked `clone`.
    pub half_done_next_clones: u32,
    /// The next this-many authenticated requests fail with `fail_status`.
    pub fail_next_requests: u32,
    /// Status of the injected request failures: 500 ("cluster not ready - no quorum?"),
    /// 595 ("Connection refused"), 596, or any other code with its canonical reason.
    /// Default: 500.
    pub fail_status: u16,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            node: "pve".into(),
            task_duration: Duration::from_millis(500),
            auth_failure_delay: Duration::from_secs(3),
            stats_interval: Duration::ZERO,
            template: Some(TemplateSeed::default()),
            storages: vec![
                StorageSeed::new(
                    "local",
                    StorageKind::Dir,
                    &["backup", "iso", "vztmpl"],
                    100 << 30,
                ),
                StorageSeed::new(
                    "local-lvm",
                    StorageKind::LvmThin,
                    &["images", "rootdir"],
                    400 << 30,
                ),
            ],
            bridges: vec!["vmbr0".into()],
            pools: Vec::new(),
            fail_next_clones: 0,
            half_done_next_clones: 0,
            fail_next_requests: 0,
            fail_status: 500,
        }
    }
}

/// Starts fakes of the Proxmox VE API.
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeProxmox;

impl FakeProxmox {
    /// Generates the node's certificates, binds `addr` (port 0 picks a free port) and serves
    /// HTTPS on the current tokio runtime until [`Running::stop`] is called or the
    /// [`Running`] is dropped. `token` is `USER@REALM!TOKENID=SECRET`; a malformed token or
    /// node name is `InvalidInput`.
    pub async fn start(
        addr: SocketAddr,
        token: impl Into<String>,
        options: Options,
    ) -> std::io::Result<Running> {
        let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
        let auth = TokenAuth::parse(&token.into()).map_err(invalid)?;
        if !upid::valid_node_name(&options.node) {
            return Err(invalid(format!(
                "'{}' is not a valid node name",
                options.node
            )));
        }
        let node = options.node.clone();
        let tls = tokio::task::spawn_blocking(move || NodeTls::generate(&node))
            .await
            .map_err(std::io::Error::other)?
            .map_err(std::io::Error::other)?;
        let server_config = tls.server_config().map_err(std::io::Error::other)?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(auth, tls.fingerprint.clone(), &options));
        let app = routes::router(shared.clone());
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, server_config, app, stop_rx));
        Ok(Running {
            addr,
            shared,
            tls,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A running fake. Dropping it stops the server (the task is aborted).
pub struct Running {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tls: NodeTls,
    stop: Option<watch::Sender<bool>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .field("node", &self.shared.node)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// `https://127.0.0.1:PORT`, without `/api2/json`.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The node's name.
    pub fn node(&self) -> &str {
        &self.shared.node
    }

    /// `USER@REALM!TOKENID` of the accepted token (tasks run as this user).
    pub fn token_id(&self) -> String {
        self.shared.auth.token_id()
    }

    /// SHA-256 fingerprint of the node certificate: upper-case hex pairs joined by `:`.
    pub fn fingerprint(&self) -> &str {
        &self.tls.fingerprint
    }

    /// The cluster CA certificate (PEM), the one to trust.
    pub fn ca_pem(&self) -> &str {
        &self.tls.ca_pem
    }

    /// The node certificate (PEM) the server presents.
    pub fn cert_pem(&self) -> &str {
        &self.tls.cert_pem
    }

    /// The VMs that exist now (the template included), by VMID.
    pub fn vms(&self) -> Vec<VmRecord> {
        self.shared
            .at_now(|st, _| st.vms.values().map(|vm| vm.record(&st.node)).collect())
    }

    pub fn vm(&self, vmid: u32) -> Option<VmRecord> {
        self.shared
            .at_now(|st, _| st.vms.get(&vmid).map(|vm| vm.record(&st.node)))
    }

    /// Every task started so far, oldest first.
    pub fn tasks(&self) -> Vec<TaskRecord> {
        self.shared
            .at_now(|st, _| st.tasks.iter().map(|t| t.record()).collect())
    }

    /// The bytes of every uploaded file that exists now, by volume id
    /// (`local:iso/NAME.iso`).
    pub fn uploads(&self) -> BTreeMap<String, Vec<u8>> {
        self.shared.at_now(|st, _| {
            st.uploads()
                .into_iter()
                .map(|(id, data)| (id, data.as_ref().clone()))
                .collect()
        })
    }

    /// The bytes of one uploaded file.
    pub fn upload(&self, volid: &str) -> Option<Vec<u8>> {
        self.uploads().remove(volid)
    }

    /// Requests received so far, whatever their answer.
    pub fn request_count(&self) -> u64 {
        self.shared.request_count()
    }

    /// Makes the next `n` clone tasks fail (replaces any count left).
    pub fn set_fail_next_clones(&self, n: u32) {
        self.shared.lock().fail_next_clones = n;
    }

    /// Makes the next `n` clone tasks die half-way (replaces any count left).
    pub fn set_half_done_next_clones(&self, n: u32) {
        self.shared.lock().half_done_next_clones = n;
    }

    /// Makes the next `n` authenticated requests fail with `status`.
    pub fn set_fail_next_requests(&self, n: u32, status: u16) {
        let mut st = self.shared.lock();
        st.fail_next_requests = n;
        st.fail_status = status;
    }

    /// Removes a VM's lock as `qm unlock` does on the node; false if there is no such VM.
    pub fn unlock_vm(&self, vmid: u32) -> bool {
        self.shared.at_now(|st, _| {
            st.vms
                .get_mut(&vmid)
                .map(|vm| vm.config.remove("lock"))
                .is_some()
        })
    }

    /// Stops accepting connections, lets in-flight requests finish (for at most 2 s),
    /// then ends the server task.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(3), &mut task)
                .await
                .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
