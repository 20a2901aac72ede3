//! Proxmox VE end to end: the real `tazhost` binary, the real proxmox.wasm, the fake PVE API over
//! HTTPS with a freshly made CA, as a new node has. TLS is pinned (CA or fingerprint), never
//! switched off; the machine config travels as a cidata ISO the fake keeps for inspection.

use crate::support::*;
use fakecloud::proxmox::{FakeProxmox, Options, Running, VmStatus};
use std::process::Output;
use std::time::Duration;

const TOKEN_ID: &str = "tazhost@pve!bootstrap";
pub(crate) const TOKEN_SECRET: &str = "5b0e7c1a-9d2f-4e6b-8a3c-1f2e3d4c5b6a";

pub(crate) async fn fake() -> Running {
    let options = Options {
        task_duration: Duration::from_millis(200),
        auth_failure_delay: Duration::ZERO,
        ..Options::default()
    };
    FakeProxmox::start(
        "127.0.0.1:0".parse().unwrap(),
        format!("{TOKEN_ID}={TOKEN_SECRET}"),
        options,
    )
    .await
    .expect("fake Proxmox starts")
}

/// How the cluster trusts the fake's certificate.
pub(crate) enum Trust<'a> {
    Ca,
    Fingerprint(&'a str),
    Nothing,
}

pub(crate) fn cluster(fake: &Running, count: u32, trust: Trust<'_>) -> ClusterDir {
    let base = fake.base_url();
    let tls = match trust {
        Trust::Ca => format!(r#"tls = {{ "{base}" = {{ ca = "pve-ca" }} }}"#),
        Trust::Fingerprint(fp) => format!(r#"tls = {{ "{base}" = {{ fingerprint = "{fp}" }} }}"#),
        Trust::Nothing => String::new(),
    };
    let toml = format!(
        r#"
[cluster]
name = "tazlab-pve"

[secrets]
proxmox-token = {{ from = "env", var = "PROXMOX_TOKEN_SECRET" }}
pve-ca = {{ from = "file", path = "pve-root-ca.pem" }}

[providers.proxmox]
plugin = "{plugin}"

[providers.proxmox.config]
api_url = "{base}"
node = "{node}"
token_id = "{TOKEN_ID}"
bridge = "vmbr0"
vlan = 20
poll_interval_ms = 100
create_timeout_s = 20
sizes = {{ small = {{ cores = 4, memory_mib = 4096, disk_gib = 32 }} }}

[providers.proxmox.grants]
hosts = ["{base}"]
secrets = [{{ name = "proxmox-token" }}]
{tls}

[[pools]]
name = "control"
provider = "proxmox"
count = {count}
role = "controlplane"
size = "small"
image = "talos-template"
machine_config = "controlplane.yaml"
"#,
        plugin = plugins().proxmox.display(),
        node = fake.node(),
    );
    let dir = ClusterDir::new(&toml);
    dir.write("pve-root-ca.pem", fake.ca_pem());
    dir.write("controlplane.yaml", MACHINE_CONFIG);
    dir
}

async fn tazhost_in(cluster: &ClusterDir, args: &[&str]) -> Output {
    let mut cmd = tazhost();
    cmd.args(args)
        .arg("-c")
        .arg(cluster.path())
        .env("PROXMOX_TOKEN_SECRET", TOKEN_SECRET)
        .stdin(std::process::Stdio::null());
    tokio::process::Command::from(cmd)
        .output()
        .await
        .expect("tazhost runs")
}

/// The VMs tazhost made (the template excluded).
pub(crate) fn nodes(fake: &Running) -> Vec<fakecloud::proxmox::VmRecord> {
    fake.vms().into_iter().filter(|v| !v.template).collect()
}

fn assert_no_token(outputs: &[&Output]) {
    for out in outputs {
        let text = output_text(out);
        assert!(!text.contains(TOKEN_SECRET), "the token leaked:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_twice_creates_each_vm_once_with_its_config_iso_and_destroy_removes_everything() {
    let fake = fake().await;
    let dir = cluster(&fake, 2, Trust::Ca);

    let first = tazhost_in(&dir, &["run"]).await;
    assert!(first.status.success(), "{}", output_text(&first));
    let vms = nodes(&fake);
    assert_eq!(vms.len(), 2, "{vms:?}");
    for vm in &vms {
        let name = vm.name.clone().unwrap();
        assert!(name.starts_with("tazlab-pve-control-"), "{name}");
        assert_eq!(vm.status, VmStatus::Running, "{vm:?}");
        assert_eq!(vm.config.get("cores").map(String::as_str), Some("4"));
        assert_eq!(vm.config.get("memory").map(String::as_str), Some("4096"));
        let net0 = &vm.config["net0"];
        assert!(
            net0.contains("bridge=vmbr0") && net0.contains("tag=20"),
            "{net0}"
        );
        assert!(vm.config["scsi0"].contains("size=32G"), "{:?}", vm.config);
        assert!(vm.tags.iter().any(|t| t == "tazhost"), "{:?}", vm.tags);
        let volid = format!("local:iso/tazhost-{}-cidata.iso", vm.vmid);
        assert!(vm.config["ide2"].starts_with(&volid), "{:?}", vm.config);
        let iso = fake.upload(&volid).expect("the cidata ISO was uploaded");
        let cidata = tazhost_cidata::read(&iso).expect("a readable cidata image");
        assert_eq!(cidata.label, "cidata");
        assert_eq!(cidata.file("user-data"), Some(MACHINE_CONFIG.as_bytes()));
        let meta = String::from_utf8(cidata.file("meta-data").unwrap().to_vec()).unwrap();
        assert!(meta.contains(&format!("local-hostname: {name}")), "{meta}");
    }

    let second = tazhost_in(&dir, &["run"]).await;
    assert!(second.status.success(), "{}", output_text(&second));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("Nothing to create"),
        "{}",
        output_text(&second)
    );
    let again: Vec<u32> = nodes(&fake).iter().map(|v| v.vmid).collect();
    assert_eq!(again, vms.iter().map(|v| v.vmid).collect::<Vec<_>>());

    let destroy = tazhost_in(&dir, &["destroy", "--yes"]).await;
    assert!(destroy.status.success(), "{}", output_text(&destroy));
    assert!(nodes(&fake).is_empty(), "{:?}", fake.vms());
    assert!(fake.uploads().is_empty(), "the ISOs go with their VMs");
    assert!(
        fake.vms().iter().any(|v| v.template),
        "the template is never touched"
    );
    assert_no_token(&[&first, &second, &destroy]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_pinned_by_fingerprint_and_refused_without_a_pin() {
    let fake = fake().await;

    let unpinned = tazhost_in(&cluster(&fake, 1, Trust::Nothing), &["run"]).await;
    assert!(!unpinned.status.success());
    let text = output_text(&unpinned);
    assert!(text.contains("TLS refused"), "{text}");
    assert!(
        text.contains("grants.tls"),
        "the error says how to fix it: {text}"
    );

    let wrong = "AA:".repeat(31) + "AA";
    let mispinned = tazhost_in(&cluster(&fake, 1, Trust::Fingerprint(&wrong)), &["run"]).await;
    assert!(!mispinned.status.success());
    let text = output_text(&mispinned);
    assert!(text.contains("does not match the pinned one"), "{text}");
    assert_eq!(nodes(&fake).len(), 0);

    let pinned = tazhost_in(
        &cluster(&fake, 1, Trust::Fingerprint(fake.fingerprint())),
        &["run"],
    )
    .await;
    assert!(pinned.status.success(), "{}", output_text(&pinned));
    assert_eq!(nodes(&fake).len(), 1);
    assert_no_token(&[&unpinned, &mispinned, &pinned]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_clone_task_is_reported_with_its_exit_status_and_not_retried() {
    let fake = fake().await;
    fake.set_fail_next_clones(1);
    let dir = cluster(&fake, 1, Trust::Ca);
    let failed = tazhost_in(&dir, &["run"]).await;
    assert!(!failed.status.success());
    let text = output_text(&failed);
    assert!(text.contains("task failed"), "{text}");
    let clones = fake.tasks().iter().filter(|t| t.kind == "qmclone").count();
    assert_eq!(clones, 1, "a failed task is not retried blindly");
    assert!(nodes(&fake).is_empty(), "PVE removes a failed clone");

    let retried = tazhost_in(&dir, &["run"]).await;
    assert!(retried.status.success(), "{}", output_text(&retried));
    assert_eq!(nodes(&fake).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_that_died_locked_is_explained_then_finished_once_unlocked() {
    let fake = fake().await;
    fake.set_half_done_next_clones(1);
    let mut toml = std::fs::read_to_string(cluster(&fake, 1, Trust::Ca).path()).unwrap();
    toml = toml.replace("create_timeout_s = 20", "create_timeout_s = 2");
    let dir = cluster(&fake, 1, Trust::Ca);
    std::fs::write(dir.path(), toml).unwrap();

    let first = tazhost_in(&dir, &["run"]).await;
    assert!(!first.status.success(), "{}", output_text(&first));
    let half = nodes(&fake);
    assert_eq!(half.len(), 1, "{half:?}");
    assert_eq!(half[0].lock.as_deref(), Some("clone"));

    let second = tazhost_in(&dir, &["run"]).await;
    assert!(!second.status.success());
    let text = output_text(&second);
    assert!(
        text.contains(&format!("qm unlock {}", half[0].vmid)),
        "{text}"
    );
    assert_eq!(
        nodes(&fake).len(),
        1,
        "no second clone beside the locked one"
    );

    assert!(fake.unlock_vm(half[0].vmid));
    let third = tazhost_in(&dir, &["run"]).await;
    assert!(third.status.success(), "{}", output_text(&third));
    let done = nodes(&fake);
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].vmid, half[0].vmid, "the half-made VM was finished");
    assert_eq!(done[0].status, VmStatus::Running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_answers_are_retried_with_backoff() {
    let fake = fake().await;
    fake.set_fail_next_requests(3, 503);
    let dir = cluster(&fake, 1, Trust::Ca);
    let out = tazhost_in(&dir, &["run"]).await;
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(nodes(&fake).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_fails_clearly_and_is_never_echoed() {
    let fake = fake().await;
    let dir = cluster(&fake, 1, Trust::Ca);
    let mut cmd = tazhost();
    cmd.args(["run", "-c"])
        .arg(dir.path())
        .env(
            "PROXMOX_TOKEN_SECRET",
            "00000000-dead-beef-0000-000000000000",
        )
        .stdin(std::process::Stdio::null());
    let out = tokio::process::Command::from(cmd).output().await.unwrap();
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(text.contains("401"), "{text}");
    assert!(!text.contains("dead-beef"), "{text}");
    assert!(nodes(&fake).is_empty());
}
