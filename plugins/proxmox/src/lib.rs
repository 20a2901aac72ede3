//! tazhost provider plugin for Proxmox VE: one QEMU VM per node, cloned from a template.
//!
//! Declares `https://*`: the API lives wherever the operator's Proxmox is, so the operator's
//! grant (one exact origin, with its CA or certificate fingerprint pinned in `grants.tls`) is
//! the gate. The host attaches `Authorization: PVEAPIToken=…` from the granted secret
//! `proxmox-token`; the plugin never sees it.
//!
//! Creating a node: `GET /cluster/nextid`; clone the template (`POST …/qemu/{template}/clone`,
//! with the node's name and tazhost's labels in the description, so that the very first step
//! already marks the VM as ours); wait for the `qmclone` task; upload the machine config as a
//! NoCloud `cidata` ISO (`POST …/storage/{iso_storage}/upload`: snippets cannot be uploaded
//! through the API, ISOs can, and Talos reads `user-data` from a volume labelled `cidata`); set
//! cores, memory, network and the ISO as `ide2`; grow the disk; start; wait for `qmstart`.
//! Every step checks its own state first, so a node left half-made by an earlier run is found
//! by name and finished. A task that fails is reported with its exit status and not retried.
//!
//! The ISO holds the whole machine config (the cluster's PKI, and with the Tailscale extension
//! an auth key) and stays on `iso_storage` until the node is destroyed, since the VM boots from
//! it: whoever may browse that storage may read it. Give the ISOs a storage only tazhost's token
//! and the administrators can read.
//!
//! Configuration (`[providers.proxmox.config]`, as JSON): see [`config::Config`].

mod api;
mod config;

use std::time::Duration;

use tazhost_sdk::error::{self, with_context};
use tazhost_sdk::http::{Request, Response, ResponseExt};
use tazhost_sdk::retry::RetryPolicy;
use tazhost_sdk::{Error, Guest, Node, NodeSpec, PluginInfo, crypto, log, poll_until};

use api::{Data, Resource, TaskStatus, VmStatus};
use config::Config;

/// Any origin: the operator's grant names the one Proxmox API.
pub const API_HOSTS: &str = "https://*";
/// The secret holding the API token (`USER@REALM!TOKENID=SECRET`, or only the secret part when
/// the config gives `token_id`).
pub const TOKEN_SECRET: &str = "proxmox-token";

struct Proxmox;

impl Guest for Proxmox {
    fn describe() -> PluginInfo {
        tazhost_sdk::plugin_info(
            "proxmox",
            env!("CARGO_PKG_VERSION"),
            &[API_HOSTS],
            &[TOKEN_SECRET],
        )
    }

    fn validate(config: String) -> Result<(), Error> {
        Config::parse(&config).map(|_| ())
    }

    fn list(config: String, selector: Vec<(String, String)>) -> Result<Vec<Node>, Error> {
        let cfg = Config::parse(&config)?;
        let mut nodes = Vec::new();
        for vm in tazhost_vms(&cfg)? {
            let Some(labels) = vm_labels(&cfg, &vm.node, vm.vmid)? else {
                continue;
            };
            if selector.iter().all(|l| labels.contains(l)) {
                // cluster/resources takes name and status from pvestatd, which lags up to 10 s
                // behind a new VM; the VM's own config and status are current.
                let config: serde_json::Value = get(
                    &cfg,
                    &api::vm_url(&cfg, &vm.node, vm.vmid, "/config"),
                    "GET config",
                )?;
                let name = config
                    .get("name")
                    .and_then(|n| n.as_str())
                    .map(str::to_owned)
                    .or(vm.name.clone())
                    .unwrap_or_default();
                let status = match vm_status(&cfg, &vm.node, vm.vmid)? {
                    Some(s) => s.status,
                    None => continue,
                };
                nodes.push(api::node_of(&name, &vm.node, vm.vmid, &status, labels));
            }
        }
        log::debug(&format!("found {} VMs", nodes.len()));
        Ok(nodes)
    }

    fn create(config: String, spec: NodeSpec, user_data: String) -> Result<Node, Error> {
        let cfg = Config::parse(&config)?;
        let size = cfg.size(&spec.size)?.clone();
        if spec.name.trim().is_empty() {
            return Err(error::invalid_config("node name is empty"));
        }
        let iso = tazhost_cidata::nocloud(user_data.as_bytes(), meta_data(&spec).as_bytes())
            .map_err(|e| error::invalid_config(format!("cannot build the cidata ISO: {e}")))?;
        let ctx = format!("creating VM {}", spec.name);
        let vmid = match find_by_name(&cfg, &spec.name).map_err(|e| with_context(e, &ctx))? {
            Some(existing) => adopt(&cfg, &existing, &spec).map_err(|e| with_context(e, &ctx))?,
            None => clone_template(&cfg, &spec).map_err(|e| with_context(e, &ctx))?,
        };
        let node = cfg.node.clone();
        upload_iso(&cfg, &node, vmid, &iso).map_err(|e| with_context(e, &ctx))?;
        configure(&cfg, &node, vmid, &size).map_err(|e| with_context(e, &ctx))?;
        start(&cfg, &node, vmid).map_err(|e| with_context(e, &ctx))?;
        log::info(&format!("VM {} is running ({node}/{vmid})", spec.name));
        Ok(api::node_of(
            &spec.name,
            &node,
            vmid,
            "running",
            spec.labels,
        ))
    }

    fn delete(config: String, provider_id: String) -> Result<(), Error> {
        let cfg = Config::parse(&config)?;
        let (node, vmid) = api::parse_provider_id(&provider_id).ok_or_else(|| {
            error::invalid_config(format!("provider id {provider_id:?} is not NODE/VMID"))
        })?;
        let ctx = format!("deleting VM {node}/{vmid}");
        log::info(&ctx);
        let Some(status) = vm_status(&cfg, &node, vmid).map_err(|e| with_context(e, &ctx))? else {
            log::info(&format!("VM {node}/{vmid} is already gone"));
            return delete_iso(&cfg, &node, vmid).map_err(|e| with_context(e, &ctx));
        };
        if vm_labels(&cfg, &node, vmid)?.is_none() {
            return Err(error::provider(format!(
                "{ctx}: it carries no tazhost labels; refusing to delete a VM tazhost did not make"
            )));
        }
        if status.status == "running" {
            let upid = post_task(&cfg, &node, &format!("/qemu/{vmid}/status/stop"), &[])
                .map_err(|e| with_context(e, &ctx))?;
            wait_task(&cfg, &upid, &format!("stopping {vmid}"))
                .map_err(|e| with_context(e, &ctx))?;
        }
        let url = format!(
            "{}?purge=1&destroy-unreferenced-disks=1",
            api::vm_url(&cfg, &node, vmid, "")
        );
        let resp = pve(&cfg, Request::delete(url))
            .send()
            .map_err(|e| with_context(e, &ctx))?;
        let upid: String = expect_data(resp, "DELETE qemu").map_err(|e| with_context(e, &ctx))?;
        wait_task(&cfg, &upid, &format!("destroying {vmid}")).map_err(|e| with_context(e, &ctx))?;
        delete_iso(&cfg, &node, vmid).map_err(|e| with_context(e, &ctx))
    }
}

/// A request with the token and Proxmox's retry rules (500 means "refused", not "try again").
fn pve(cfg: &Config, req: Request) -> Request {
    let req = match &cfg.token_id {
        Some(id) => req.prefixed(format!("PVEAPIToken={id}="), TOKEN_SECRET),
        None => req.prefixed("PVEAPIToken=", TOKEN_SECRET),
    };
    req.header("accept", "application/json").retry(RetryPolicy {
        retry_internal_error: false,
        ..RetryPolicy::default()
    })
}

/// `data` of a successful answer; any other status is an error, 500 a `provider` one (Proxmox
/// uses it for refusals, with the reason in the status line).
fn expect_data<T: serde::de::DeserializeOwned>(resp: Response, what: &str) -> Result<T, Error> {
    if resp.status == 500 {
        let e = error::status_error(500, resp.reason.as_deref(), &resp.body, what);
        return Err(error::provider(error::message(&e)));
    }
    let resp = Request::error_for_status(resp, what)?;
    let data: Data<T> = resp.json()?;
    Ok(data.data)
}

fn get<T: serde::de::DeserializeOwned>(cfg: &Config, url: &str, what: &str) -> Result<T, Error> {
    let resp = pve(cfg, Request::get(url)).send()?;
    expect_data(resp, what)
}

/// POST a form to a node path that answers with a task's UPID.
fn post_task(
    cfg: &Config,
    node: &str,
    rest: &str,
    form: &[(&str, String)],
) -> Result<String, Error> {
    let resp = pve(cfg, Request::post(api::node_url(cfg, node, rest)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(api::form(form))
        .send()?;
    expect_data(resp, &format!("POST {rest}"))
}

/// VMs carrying tazhost's tag (templates excluded).
fn tazhost_vms(cfg: &Config) -> Result<Vec<Resource>, Error> {
    let url = format!("{}/cluster/resources?type=vm", cfg.api_base());
    let all: Vec<Resource> = get(cfg, &url, "GET /cluster/resources")?;
    Ok(all
        .into_iter()
        .filter(|r| !r.is_template() && r.has_tazhost_tag())
        .collect())
}

/// The labels in a VM's description, `None` if it has none (not ours).
fn vm_labels(cfg: &Config, node: &str, vmid: u32) -> Result<Option<Vec<(String, String)>>, Error> {
    let config: serde_json::Value =
        get(cfg, &api::vm_url(cfg, node, vmid, "/config"), "GET config")?;
    Ok(config
        .get("description")
        .and_then(|d| d.as_str())
        .and_then(api::labels_from_description))
}

/// `status/current`, `None` when the VM does not exist.
fn vm_status(cfg: &Config, node: &str, vmid: u32) -> Result<Option<VmStatus>, Error> {
    let resp = pve(
        cfg,
        Request::get(api::vm_url(cfg, node, vmid, "/status/current")),
    )
    .send()?;
    let missing = resp.status == 404
        || (resp.status == 500
            && resp
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("does not exist")));
    if missing {
        return Ok(None);
    }
    expect_data(resp, "GET status/current").map(Some)
}

/// The VM called `name`, if any. cluster/resources may not know a VM's name yet (pvestatd lags up
/// to 10 s), so nameless entries are asked for their config.
fn find_by_name(cfg: &Config, name: &str) -> Result<Option<Resource>, Error> {
    let url = format!("{}/cluster/resources?type=vm", cfg.api_base());
    let all: Vec<Resource> = get(cfg, &url, "GET /cluster/resources")?;
    let mut same = Vec::new();
    for r in all.into_iter().filter(|r| !r.is_template()) {
        let matches = match r.name.as_deref() {
            Some(n) if !n.is_empty() => n == name,
            _ => {
                let config: serde_json::Value = get(
                    cfg,
                    &api::vm_url(cfg, &r.node, r.vmid, "/config"),
                    "GET config",
                )?;
                config.get("name").and_then(|n| n.as_str()) == Some(name)
            }
        };
        if matches {
            same.push(r);
        }
    }
    if same.len() > 1 {
        return Err(error::provider(format!(
            "{} VMs are named {name}; resolve that by hand first",
            same.len()
        )));
    }
    Ok(same.pop())
}

/// Take over a VM an earlier run left behind, if it is really ours.
fn adopt(cfg: &Config, existing: &Resource, spec: &NodeSpec) -> Result<u32, Error> {
    if existing.node != cfg.node {
        return Err(error::provider(format!(
            "a VM named {} exists on node {}, not on {}",
            spec.name, existing.node, cfg.node
        )));
    }
    let labels = wait_unlocked(cfg, existing.vmid)?;
    match labels {
        Some(l) if spec.labels.iter().all(|want| l.contains(want)) => {
            log::warn(&format!(
                "VM {} already exists ({}/{}, {}): left by an earlier run; finishing it",
                spec.name, existing.node, existing.vmid, existing.status
            ));
            Ok(existing.vmid)
        }
        _ => Err(error::provider(format!(
            "a VM named {} already exists ({}/{}) without tazhost's labels; refusing to adopt it",
            spec.name, existing.node, existing.vmid
        ))),
    }
}

/// How long a lock may last before it is taken for a clone that died (a real clone of a Talos
/// template takes seconds to a few minutes).
const MAX_LOCK_WAIT: Duration = Duration::from_secs(300);

/// Waits while the VM is locked (a clone still running), then returns its labels. A lock that
/// outlasts the wait is reported with what to do: a token may not break it.
fn wait_unlocked(cfg: &Config, vmid: u32) -> Result<Option<Vec<(String, String)>>, Error> {
    let url = api::vm_url(cfg, &cfg.node, vmid, "/config");
    let mut lock_seen = None;
    let waited = poll_until(interval(cfg), timeout(cfg).min(MAX_LOCK_WAIT), || {
        let config: serde_json::Value = get(cfg, &url, "GET config")?;
        if let Some(lock) = config.get("lock").and_then(|l| l.as_str()) {
            log::debug(&format!("VM {vmid} is locked ({lock}); waiting"));
            lock_seen = Some(lock.to_string());
            return Ok(None);
        }
        Ok(Some(
            config
                .get("description")
                .and_then(|d| d.as_str())
                .and_then(api::labels_from_description),
        ))
    });
    match (waited, lock_seen) {
        (Err(Error::Transient(_)), Some(lock)) => Err(error::provider(format!(
            "VM {vmid} stays locked ({lock}): an earlier {lock} did not finish. An API token cannot \
             unlock it: run `qm unlock {vmid}` on {node} (or destroy the VM) and run again",
            node = cfg.node
        ))),
        (result, _) => result,
    }
}

/// Attempts at claiming a VM id: `nextid` is a suggestion, not a reservation, so concurrent
/// creates (ours or anyone's) can pick the same one.
const CLAIM_ATTEMPTS: u32 = 8;

fn clone_template(cfg: &Config, spec: &NodeSpec) -> Result<u32, Error> {
    let template = template_vmid(cfg, &spec.image)?;
    for attempt in 1..=CLAIM_ATTEMPTS {
        let vmid = next_vmid(cfg)?;
        log::info(&format!(
            "cloning template {template} into VM {vmid} ({}) on {}",
            spec.name, cfg.node
        ));
        let mut form = vec![
            ("newid", vmid.to_string()),
            ("name", spec.name.clone()),
            ("description", api::description_with_labels(&spec.labels)),
            ("full", if cfg.full_clone { "1" } else { "0" }.to_string()),
        ];
        if let Some(storage) = &cfg.disk_storage {
            form.push(("storage", storage.clone()));
        }
        // Sent once: resending a clone whose answer was lost would meet our own VM and, read as
        // "taken", clone a second one under the same name.
        let sent = pve(
            cfg,
            Request::post(api::node_url(
                cfg,
                &cfg.node,
                &format!("/qemu/{template}/clone"),
            )),
        )
        .no_retry()
        .header("content-type", "application/x-www-form-urlencoded")
        .body(api::form(&form))
        .send()
        .and_then(|resp| expect_data::<String>(resp, "POST clone"));
        let failure = match sent {
            Ok(upid) => {
                wait_task(cfg, &upid, &format!("cloning {}", spec.name))?;
                tag(cfg, vmid, &spec.labels)?;
                return Ok(vmid);
            }
            Err(e) => e,
        };
        let taken =
            matches!(&failure, Error::Provider(m) if m.contains("config file already exists"));
        let unknown = matches!(&failure, Error::Transient(_));
        if !(taken || unknown) || attempt == CLAIM_ATTEMPTS {
            return Err(failure);
        }
        // Did our own request get through (its answer lost, or a retry meeting it)?
        if is_our_clone(cfg, vmid, spec)? {
            log::warn(&format!(
                "VM {vmid} is our clone of {} after all; waiting for it",
                spec.name
            ));
            wait_unlocked(cfg, vmid)?;
            tag(cfg, vmid, &spec.labels)?;
            return Ok(vmid);
        }
        log::debug(&format!(
            "cloning into VM {vmid} failed ({}); trying again",
            error::message(&failure)
        ));
        tazhost_sdk::sleep(Duration::from_millis(200 * u64::from(attempt)));
    }
    unreachable!("the last attempt returns")
}

/// Whether VM `vmid` exists with this node's name and labels.
fn is_our_clone(cfg: &Config, vmid: u32, spec: &NodeSpec) -> Result<bool, Error> {
    let resp = pve(
        cfg,
        Request::get(api::vm_url(cfg, &cfg.node, vmid, "/config")),
    )
    .send()?;
    if resp.status != 200 {
        return Ok(false);
    }
    let config: serde_json::Value = expect_data(resp, "GET config")?;
    let name_matches = config.get("name").and_then(|n| n.as_str()) == Some(spec.name.as_str());
    let labels = config
        .get("description")
        .and_then(|d| d.as_str())
        .and_then(api::labels_from_description);
    Ok(name_matches && labels.is_some_and(|l| spec.labels.iter().all(|want| l.contains(want))))
}

/// Tag a fresh clone as tazhost's at once (the clone API takes no tags), so that `list`, and
/// with it `destroy`, sees it even if a later step fails.
fn tag(cfg: &Config, vmid: u32, labels: &[(String, String)]) -> Result<(), Error> {
    let resp = pve(
        cfg,
        Request::put(api::vm_url(cfg, &cfg.node, vmid, "/config")),
    )
    .header("content-type", "application/x-www-form-urlencoded")
    .body(api::form(&[("tags", api::tags_for(labels))]))
    .send()?;
    let _: serde_json::Value = expect_data(resp, "PUT config tags")?;
    Ok(())
}

/// `GET /cluster/nextid` (a string in PVE's answer; a number accepted too).
fn next_vmid(cfg: &Config) -> Result<u32, Error> {
    let next: serde_json::Value = get(
        cfg,
        &format!("{}/cluster/nextid", cfg.api_base()),
        "GET /cluster/nextid",
    )?;
    match &next {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        _ => None,
    }
    .ok_or_else(|| error::provider("GET /cluster/nextid: not a VM id"))
}

/// The template's vmid: `image` is either the vmid or the template's name.
fn template_vmid(cfg: &Config, image: &str) -> Result<u32, Error> {
    if let Ok(vmid) = image.trim().parse::<u32>() {
        return Ok(vmid);
    }
    let url = format!("{}/cluster/resources?type=vm", cfg.api_base());
    let all: Vec<Resource> = get(cfg, &url, "GET /cluster/resources")?;
    all.into_iter()
        .find(|r| r.is_template() && r.name.as_deref() == Some(image) && r.node == cfg.node)
        .map(|r| r.vmid)
        .ok_or_else(|| {
            error::invalid_config(format!(
                "no template named {image:?} on node {}; give its name or vmid as the pool's image",
                cfg.node
            ))
        })
}

/// Uploads the cidata ISO, replacing one an earlier run left (the config may have changed).
fn upload_iso(cfg: &Config, node: &str, vmid: u32, iso: &[u8]) -> Result<(), Error> {
    delete_iso(cfg, node, vmid)?;
    let boundary = format!(
        "tazhost-{}",
        crypto::random_bytes(12)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let (content_type, body) = api::upload_body(&boundary, "iso", &api::iso_name(vmid), iso);
    let url = api::node_url(cfg, node, &format!("/storage/{}/upload", cfg.iso_storage));
    let resp = pve(cfg, Request::post(url))
        .header("content-type", content_type)
        .body(body)
        .send()?;
    let upid: Option<String> = expect_data(resp, "POST storage upload")?;
    if let Some(upid) = upid {
        wait_task(cfg, &upid, &format!("uploading {}", api::iso_name(vmid)))?;
    }
    Ok(())
}

/// Deletes the VM's cidata ISO if it is there.
fn delete_iso(cfg: &Config, node: &str, vmid: u32) -> Result<(), Error> {
    let volid = api::iso_volid(&cfg.iso_storage, vmid);
    let url = api::node_url(
        cfg,
        node,
        &format!("/storage/{}/content?content=iso", cfg.iso_storage),
    );
    let content: Vec<serde_json::Value> = get(cfg, &url, "GET storage content")?;
    if !content
        .iter()
        .any(|v| v.get("volid").and_then(|x| x.as_str()) == Some(volid.as_str()))
    {
        return Ok(());
    }
    let url = api::node_url(
        cfg,
        node,
        &format!(
            "/storage/{}/content/{}",
            cfg.iso_storage,
            tazhost_sdk::http::percent_encode(&volid)
        ),
    );
    let resp = pve(cfg, Request::delete(url)).send()?;
    let upid: Option<String> = expect_data(resp, "DELETE storage content")?;
    if let Some(upid) = upid {
        wait_task(cfg, &upid, &format!("deleting {volid}"))?;
    }
    Ok(())
}

/// Cores, memory, network, the ISO, and a larger disk.
fn configure(cfg: &Config, node: &str, vmid: u32, size: &config::Size) -> Result<(), Error> {
    let current: serde_json::Value =
        get(cfg, &api::vm_url(cfg, node, vmid, "/config"), "GET config")?;
    let mut form = vec![
        ("cores", size.cores.to_string()),
        ("memory", size.memory_mib.to_string()),
        (
            "ide2",
            format!("{},media=cdrom", api::iso_volid(&cfg.iso_storage, vmid)),
        ),
    ];
    if let Some(labels) = current
        .get("description")
        .and_then(|d| d.as_str())
        .and_then(api::labels_from_description)
    {
        form.push(("tags", api::tags_for(&labels)));
    }
    if let Some(bridge) = &cfg.bridge {
        let mut net = format!("virtio,bridge={bridge}");
        if let Some(vlan) = cfg.vlan {
            net.push_str(&format!(",tag={vlan}"));
        }
        form.push(("net0", net));
    }
    let resp = pve(cfg, Request::put(api::vm_url(cfg, node, vmid, "/config")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(api::form(&form))
        .send()?;
    let _: serde_json::Value = expect_data(resp, "PUT config")?;
    if let Some(want) = size.disk_gib {
        let have = current
            .get(&cfg.disk)
            .and_then(|d| d.as_str())
            .and_then(api::disk_size_gib);
        if have.is_none_or(|h| h < f64::from(want)) {
            let resp = pve(cfg, Request::put(api::vm_url(cfg, node, vmid, "/resize")))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(api::form(&[
                    ("disk", cfg.disk.clone()),
                    ("size", format!("{want}G")),
                ]))
                .send()?;
            let upid: Option<String> = expect_data(resp, "PUT resize")?;
            if let Some(upid) = upid {
                wait_task(cfg, &upid, &format!("resizing {vmid}"))?;
            }
        }
    }
    Ok(())
}

fn start(cfg: &Config, node: &str, vmid: u32) -> Result<(), Error> {
    match vm_status(cfg, node, vmid)? {
        Some(s) if s.status == "running" => return Ok(()),
        Some(_) => {}
        None => {
            return Err(error::provider(format!(
                "VM {vmid} vanished before it started"
            )));
        }
    }
    let upid = post_task(cfg, node, &format!("/qemu/{vmid}/status/start"), &[])?;
    wait_task(cfg, &upid, &format!("starting {vmid}"))
}

/// Polls a task until it stops; a non-`OK` exit status is a `provider` error carrying it.
fn wait_task(cfg: &Config, upid: &str, what: &str) -> Result<(), Error> {
    let node = api::upid_node(upid)
        .ok_or_else(|| error::provider(format!("{what}: the API answered with no task id")))?;
    let url = api::task_status_url(cfg, node, upid);
    let mut polls = 0u32;
    poll_until(interval(cfg), timeout(cfg), || {
        polls += 1;
        let status: TaskStatus = get(cfg, &url, "GET task status")?;
        if status.status != "stopped" {
            log::progress(what, polls, None);
            return Ok(None);
        }
        match status.exitstatus.as_deref() {
            Some("OK") => Ok(Some(())),
            Some(other) if other.starts_with("WARNINGS") => {
                log::warn(&format!("{what}: {other}"));
                Ok(Some(()))
            }
            other => Err(error::provider(format!(
                "{what}: task failed: {}",
                other.unwrap_or("no exit status")
            ))),
        }
    })
    .map_err(|e| with_context(e, &format!("waiting for task {upid}")))
}

/// NoCloud meta-data: the instance id and host name Talos reads.
fn meta_data(spec: &NodeSpec) -> String {
    format!("instance-id: {0}\nlocal-hostname: {0}\n", spec.name)
}

fn interval(cfg: &Config) -> Duration {
    Duration::from_millis(cfg.poll_interval_ms.into())
}

fn timeout(cfg: &Config) -> Duration {
    Duration::from_secs(cfg.create_timeout_s.into())
}

tazhost_sdk::export_provider!(Proxmox);
