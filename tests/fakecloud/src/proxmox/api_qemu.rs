//! `/nodes/{node}/qemu...`: list, index, clone, config (GET, async POST, sync PUT), resize,
//! status/current, status/start|stop|shutdown and destroy. Each handler resolves the node
//! first (PVE proxies these calls to `{node}` before it verifies parameters), verifies the
//! parameters against the endpoint's schema, refuses root-only parameters (a token is never
//! `root@pam`: "Only root may use this option."), then calls the state.

use std::time::{Duration, Instant};

use axum::extract::{Path, Request, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::config;
use super::config_ops::ConfigUpdate;
use super::errors::{ApiError, ok};
use super::model::TaskEnd;
use super::params::{Extra, Prop, STRING, Ty, Values, split_list, validate};
use super::routes::{Shr, read_params};
use super::vm_ops::CloneArgs;

const NODE_VMID: [Prop; 2] = [Prop::req("node", Ty::Node), Prop::req("vmid", Ty::Vmid)];

const SECONDS: Ty = Ty::Int {
    min: Some(0),
    max: None,
};

/// Verifies the parameters of a `/nodes/{node}/qemu/{vmid}/...` call.
async fn vm_params(
    node: &str,
    vmid: &str,
    req: Request,
    extra: &[Prop],
    dynamic: Extra<'_>,
) -> Result<(u32, Values), ApiError> {
    let props: Vec<Prop> = NODE_VMID.iter().chain(extra).copied().collect();
    let v = validate(
        read_params(req).await?,
        &[("node", node), ("vmid", vmid)],
        &props,
        dynamic,
    )?;
    let id = v.vmid("vmid").ok_or_else(|| {
        ApiError::param(
            "vmid",
            "invalid format - value does not look like a valid VM ID\n",
        )
    })?;
    Ok((id, v))
}

/// 400 for a root-only parameter that is set (Perl truth: not empty, not `0`).
fn root_only(v: &Values, names: &[&str]) -> Result<(), ApiError> {
    match names
        .iter()
        .find(|n| v.str(n).is_some_and(|x| !x.is_empty() && x != "0"))
    {
        Some(n) => Err(ApiError::param(n, "Only root may use this option.")),
        None => Ok(()),
    }
}

/// `requires`: `a` needs `b` (PVE's message sits on the missing one).
fn requires(v: &Values, a: &str, b: &str) -> Result<(), ApiError> {
    if v.str(a).is_some() && v.str(b).is_none() {
        return Err(ApiError::param(
            b,
            format!("missing property - '{a}' requires this property"),
        ));
    }
    Ok(())
}

/// `GET /nodes/{node}/qemu[?full=1]`.
pub(crate) async fn list(
    State(shared): Shr,
    Path(node): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    validate(
        read_params(req).await?,
        &[("node", &node)],
        &[Prop::req("node", Ty::Node), Prop::opt("full", Ty::Bool)],
        None,
    )?;
    Ok(ok(json!(
        shared.at_now(|st, clock| st.qemu_list_json(clock))
    )))
}

/// `GET /nodes/{node}/qemu/{vmid}`: the directory index (the VM must exist).
pub(crate) async fn index(
    State(shared): Shr,
    Path((node, vmid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    let (id, _) = vm_params(&node, &vmid, req, &[], None).await?;
    shared.at_now(|st, _| st.vm(id).map(|_| ()))?;
    let subdirs = [
        "config",
        "pending",
        "status",
        "unlink",
        "vncproxy",
        "termproxy",
        "migrate",
        "resize",
        "move",
        "rrd",
        "rrddata",
        "monitor",
        "agent",
        "snapshot",
        "spiceproxy",
        "sendkey",
        "firewall",
        "mtunnel",
        "remote_migrate",
    ];
    Ok(ok(json!(
        subdirs
            .iter()
            .map(|s| json!({ "subdir": s }))
            .collect::<Vec<_>>()
    )))
}

/// `POST /nodes/{node}/qemu/{vmid}/clone` → UPID of `qmclone`.
pub(crate) async fn clone(
    State(shared): Shr,
    Path((node, vmid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    let (id, v) = vm_params(
        &node,
        &vmid,
        req,
        &[
            Prop::req("newid", Ty::Vmid),
            Prop::opt("name", Ty::DnsName),
            Prop::opt("description", STRING),
            Prop::opt("pool", Ty::PoolId),
            Prop::opt("snapname", Ty::Str { max_len: Some(40) }),
            Prop::opt("storage", Ty::StorageId),
            Prop::opt("format", Ty::Enum(&["raw", "qcow2", "vmdk"])),
            Prop::opt("full", Ty::Bool),
            Prop::opt("target", Ty::Node),
            Prop::opt("bwlimit", SECONDS),
        ],
        None,
    )
    .await?;
    let own = |k: &str| v.str(k).map(String::from);
    let args = CloneArgs {
        vmid: id,
        newid: v.vmid("newid").unwrap_or_default(),
        name: own("name"),
        description: own("description"),
        pool: own("pool"),
        snapname: own("snapname"),
        storage: own("storage"),
        format: own("format"),
        full: v.flag("full"),
        target: own("target").filter(|t| *t != shared.node && t != "localhost"),
    };
    let upid = shared.at_now(|st, clock| st.clone_vm(args, clock))?;
    Ok(ok(json!(upid)))
}

/// `GET /nodes/{node}/qemu/{vmid}/config`.
pub(crate) async fn config(
    State(shared): Shr,
    Path((node, vmid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    let (id, v) = vm_params(
        &node,
        &vmid,
        req,
        &[
            Prop::opt("current", Ty::Bool),
            Prop::opt("snapshot", Ty::Str { max_len: Some(40) }),
        ],
        None,
    )
    .await?;
    if let Some(snap) = v.str("snapshot") {
        shared.at_now(|st, _| st.vm(id).map(|_| ()))?;
        return Err(ApiError::die(format!("snapshot '{snap}' does not exist")));
    }
    Ok(ok(shared.at_now(|st, _| st.config_json(id))?))
}

/// The parameters of `POST/PUT .../config` besides the config keys.
fn update_props(with_delay: bool) -> Vec<Prop> {
    let mut props = vec![
        Prop::opt("skiplock", Ty::Bool),
        Prop::opt("delete", Ty::ConfigIdList),
        Prop::opt("revert", Ty::ConfigIdList),
        Prop::opt("force", Ty::Bool),
        Prop::opt("digest", Ty::Str { max_len: Some(40) }),
    ];
    if with_delay {
        props.push(Prop::opt(
            "background_delay",
            Ty::Int {
                min: Some(1),
                max: Some(30),
            },
        ));
    }
    props
}

async fn update_config(
    shared: Shr,
    node: String,
    vmid: String,
    req: Request,
    sync: bool,
) -> Result<Response, ApiError> {
    let State(shared) = shared;
    shared.check_node(&node)?;
    let dynamic = |k: &str| config::key_ty(k);
    let (id, v) = vm_params(&node, &vmid, req, &update_props(!sync), Some(&dynamic)).await?;
    root_only(&v, &["skiplock"])?;
    requires(&v, "force", "delete")?;
    let fixed = [
        "node",
        "vmid",
        "skiplock",
        "delete",
        "revert",
        "force",
        "digest",
        "background_delay",
    ];
    let list = |k: &str| {
        v.str(k)
            .map(|s| split_list(s).into_iter().map(String::from).collect())
            .unwrap_or_default()
    };
    let update = ConfigUpdate {
        set: v
            .0
            .iter()
            .filter(|(k, _)| !fixed.contains(&k.as_str()))
            .map(|(k, val)| (k.clone(), val.clone()))
            .collect(),
        delete: list("delete"),
        revert: list("revert"),
        force: v.flag("force").unwrap_or(false),
        digest: v.str("digest").map(String::from),
    };
    let upid = shared.at_now(|st, clock| st.update_config(id, update, sync, clock))?;
    let Some(upid) = upid else {
        return Ok(ok(Value::Null));
    };
    if let Some(delay) = v
        .int("background_delay")
        .and_then(|d| u64::try_from(d).ok())
    {
        // Wait for the task like PVE does: null if it ended well in time, its error if not.
        let deadline = Instant::now() + Duration::from_secs(delay);
        loop {
            let end =
                shared.at_now(|st, _| st.task(&upid).filter(|t| t.done).map(|t| t.end.clone()));
            match end {
                Some(TaskEnd::Ok | TaskEnd::Warnings(_)) => return Ok(ok(Value::Null)),
                Some(other) => {
                    return Err(ApiError::die(format!(
                        "failed to update VM {id}: {}",
                        other.exitstatus()
                    )));
                }
                None if Instant::now() >= deadline => break,
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
    Ok(ok(json!(upid)))
}

/// `POST .../config`: asynchronous, returns the `qmconfig` UPID (or null with
/// `background_delay` when the task ended in time).
pub(crate) async fn update_config_async(
    shared: Shr,
    Path((node, vmid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    update_config(shared, node, vmid, req, false).await
}

/// `PUT .../config`: synchronous, returns null.
pub(crate) async fn update_config_sync(
    shared: Shr,
    Path((node, vmid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    update_config(shared, node, vmid, req, true).await
}

fn verify_drive_name(value: &str) -> Result<(), String> {
    let names = config::drive_keys();
    if names.iter().any(|n| n == value) {
        Ok(())
    } else {
        Err(format!(
            "value '{value}' does not have a value in the enumeration '{}'",
            names.join(", ")
        ))
    }
}

/// `\+?\d+(\.\d+)?[KMGT]?`
fn size_pattern(value: &str) -> bool {
    let v = value.strip_prefix('+').unwrap_or(value);
    let v = v.strip_suffix(['K', 'M', 'G', 'T']).unwrap_or(v);
    let (int, frac) = v.split_once('.').unwrap_or((v, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// `PUT .../resize` → UPID of `resize` (PVE 8+; the checks run in the task).
pub(crate) async fn resize(
    State(shared): Shr,
    Path((node, vmid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    let (id, v) = vm_params(
        &node,
        &vmid,
        req,
        &[
            Prop::opt("skiplock", Ty::Bool),
            Prop::req("disk", Ty::Custom(verify_drive_name)),
            Prop::req("size", Ty::Pattern(size_pattern)),
            Prop::opt("digest", Ty::Str { max_len: Some(40) }),
        ],
        None,
    )
    .await?;
    root_only(&v, &["skiplock"])?;
    let disk = v.str("disk").unwrap_or_default().to_string();
    let size = v.str("size").unwrap_or_default().to_string();
    let digest = v.str("digest").map(String::from);
    let upid = shared.at_now(|st, clock| st.resize(id, &disk, &size, digest.as_deref(), clock));
    Ok(ok(json!(upid)))
}

/// `GET .../status/current`.
pub(crate) async fn status_current(
    State(shared): Shr,
    Path((node, vmid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    let (id, _) = vm_params(&node, &vmid, req, &[], None).await?;
    Ok(ok(shared.at_now(|st, clock| st.status_json(id, clock))?))
}

/// `POST .../status/start` → UPID of `qmstart`.
pub(crate) async fn start(
    State(shared): Shr,
    Path((node, vmid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    let root = [
        "skiplock",
        "stateuri",
        "migratedfrom",
        "migration_type",
        "migration_network",
        "targetstorage",
        "force-cpu",
        "with-conntrack-state",
        "nets-host-mtu",
    ];
    let (id, v) = vm_params(
        &node,
        &vmid,
        req,
        &[
            Prop::opt("skiplock", Ty::Bool),
            Prop::opt("stateuri", STRING),
            Prop::opt("migratedfrom", Ty::Node),
            Prop::opt("migration_type", Ty::Enum(&["secure", "insecure"])),
            Prop::opt("migration_network", STRING),
            Prop::opt("machine", STRING),
            Prop::opt("force-cpu", STRING),
            Prop::opt("targetstorage", STRING),
            Prop::opt("timeout", SECONDS),
            Prop::opt("with-conntrack-state", Ty::Bool),
            Prop::opt("nets-host-mtu", STRING),
        ],
        None,
    )
    .await?;
    root_only(&v, &root)?;
    Ok(ok(json!(shared.at_now(|st, clock| st.start_vm(id, clock)))))
}

/// `POST .../status/stop` → UPID of `qmstop`.
pub(crate) async fn stop(
    State(shared): Shr,
    Path((node, vmid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    let (id, v) = vm_params(
        &node,
        &vmid,
        req,
        &[
            Prop::opt("skiplock", Ty::Bool),
            Prop::opt("migratedfrom", Ty::Node),
            Prop::opt("timeout", SECONDS),
            Prop::opt("keepActive", Ty::Bool),
            Prop::opt("overrule-shutdown", Ty::Bool),
        ],
        None,
    )
    .await?;
    root_only(&v, &["skiplock", "keepActive", "migratedfrom"])?;
    Ok(ok(json!(
        shared.at_now(|st, clock| st.stop_vm(id, false, clock))
    )))
}

/// `POST .../status/shutdown` → UPID of `qmshutdown`.
pub(crate) async fn shutdown(
    State(shared): Shr,
    Path((node, vmid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    let (id, v) = vm_params(
        &node,
        &vmid,
        req,
        &[
            Prop::opt("skiplock", Ty::Bool),
            Prop::opt("timeout", SECONDS),
            Prop::opt("forceStop", Ty::Bool),
            Prop::opt("keepActive", Ty::Bool),
        ],
        None,
    )
    .await?;
    root_only(&v, &["skiplock", "keepActive"])?;
    Ok(ok(json!(
        shared.at_now(|st, clock| st.stop_vm(id, true, clock))
    )))
}

/// `DELETE /nodes/{node}/qemu/{vmid}[?purge=1&destroy-unreferenced-disks=1]` → UPID of
/// `qmdestroy`.
pub(crate) async fn destroy(
    State(shared): Shr,
    Path((node, vmid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    let (id, v) = vm_params(
        &node,
        &vmid,
        req,
        &[
            Prop::opt("skiplock", Ty::Bool),
            Prop::opt("purge", Ty::Bool),
            Prop::opt("destroy-unreferenced-disks", Ty::Bool),
        ],
        None,
    )
    .await?;
    root_only(&v, &["skiplock"])?;
    let purge = v.flag("purge").unwrap_or(false);
    let unreferenced = v.flag("destroy-unreferenced-disks").unwrap_or(false);
    let upid = shared.at_now(|st, clock| st.destroy_vm(id, purge, unreferenced, clock))?;
    Ok(ok(json!(upid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_pves_pattern() {
        for good in ["32G", "+10G", "1.5T", "1024", "+512M"] {
            assert!(size_pattern(good), "{good}");
        }
        for bad in ["", "G", "-1G", "10X", "1.G", "+"] {
            assert!(!size_pattern(bad), "{bad}");
        }
        assert!(verify_drive_name("scsi0").is_ok());
        assert!(verify_drive_name("scsi99").is_err());
    }
}
