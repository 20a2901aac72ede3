//! OCI end to end: the real `tazhost` binary, the real oci.wasm, the fake OCI API that verifies
//! every request's signature. The private key lives in a file the host reads; the plugin only
//! names it.

use crate::support::*;
use fakecloud::oci::{FakeOci, Fault, Options, Running};
use std::process::Output;
use std::time::Duration;

const TENANCY: &str = "ocid1.tenancy.oc1..aaaaaaaatazhosttest";
const USER: &str = "ocid1.user.oc1..aaaaaaaatazhosttest";
const FINGERPRINT: &str = "11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00";
const REGION: &str = "eu-frankfurt-1";
const KEY: &str = include_str!("../vectors/oci-signing/test_key_2048.pem");
const PUBLIC_KEY: &str = include_str!("../vectors/oci-signing/test_key_2048.pub.pem");

fn key_id() -> String {
    format!("{TENANCY}/{USER}/{FINGERPRINT}")
}

async fn fake_with_key(public_key: &str) -> Running {
    fake_provisioning_in(public_key, Duration::from_millis(300)).await
}

async fn fake_provisioning_in(public_key: &str, provision: Duration) -> Running {
    let options = Options {
        region: REGION.into(),
        provision_duration: provision,
        terminate_duration: Duration::from_millis(300),
        ..Options::default()
    };
    FakeOci::start(
        "127.0.0.1:0".parse().unwrap(),
        key_id(),
        public_key,
        options,
    )
    .await
    .expect("fake OCI starts")
}

fn cluster(fake: &Running, count: u32) -> ClusterDir {
    let toml = format!(
        r#"
[cluster]
name = "tazlab-oci"

[secrets]
oci-private-key = {{ from = "file", path = "oci_api_key.pem" }}

[providers.oci]
plugin = "{plugin}"

[providers.oci.config]
region = "{REGION}"
tenancy_id = "{TENANCY}"
user_id = "{USER}"
fingerprint = "{FINGERPRINT}"
compartment_id = "ocid1.compartment.oc1..aaaaaaaatazhosttest"
availability_domain = "Uocm:EU-FRANKFURT-1-AD-1"
subnet_id = "ocid1.subnet.oc1.eu-frankfurt-1.aaaaaaaatazhosttest"
poll_interval_ms = 100
shape_configs = {{ "VM.Standard.A1.Flex" = {{ ocpus = 2, memory_in_gbs = 12 }} }}

[providers.oci.grants]
hosts = ["https://iaas.{REGION}.oraclecloud.com"]
secrets = [{{ name = "oci-private-key" }}]
endpoints = {{ "https://iaas.{REGION}.oraclecloud.com" = "{endpoint}" }}

[[pools]]
name = "workers"
provider = "oci"
count = {count}
role = "worker"
size = "VM.Standard.A1.Flex"
image = "ocid1.image.oc1.eu-frankfurt-1.aaaaaaaatalos"
machine_config = "worker.yaml"
"#,
        plugin = plugins().oci.display(),
        endpoint = fake.base_url(),
    );
    let dir = ClusterDir::new(&toml);
    dir.write("oci_api_key.pem", KEY);
    dir.write("worker.yaml", MACHINE_CONFIG);
    dir
}

async fn tazhost_in(cluster: &ClusterDir, args: &[&str]) -> Output {
    let mut cmd = tazhost();
    cmd.args(args)
        .arg("-c")
        .arg(cluster.path())
        .stdin(std::process::Stdio::null());
    tokio::process::Command::from(cmd)
        .output()
        .await
        .expect("tazhost runs")
}

/// No line of the private key's body in any output.
fn assert_no_key(outputs: &[&Output]) {
    let lines: Vec<&str> = KEY
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .collect();
    for out in outputs {
        let text = output_text(out);
        for line in &lines {
            assert!(!text.contains(line), "the private key leaked:\n{text}");
        }
    }
}

fn live(fake: &Running) -> Vec<fakecloud::oci::InstanceRecord> {
    fake.instances()
        .into_iter()
        .filter(|i| i.lifecycle_state != "TERMINATED")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_twice_creates_each_instance_once_and_destroy_terminates_them() {
    let fake = fake_with_key(PUBLIC_KEY).await;
    let dir = cluster(&fake, 2);

    let first = tazhost_in(&dir, &["run"]).await;
    assert!(first.status.success(), "{}", output_text(&first));
    let instances = live(&fake);
    assert_eq!(instances.len(), 2, "{instances:?}");
    for i in &instances {
        assert_eq!(i.lifecycle_state, "RUNNING", "{i:?}");
        assert_eq!(i.shape, "VM.Standard.A1.Flex");
        assert_eq!((i.ocpus, i.memory_in_gbs), (2.0, 12.0));
        assert_eq!(i.user_data.as_deref(), Some(MACHINE_CONFIG));
        assert!(i.retry_token.is_some(), "launches carry an opc-retry-token");
        assert_eq!(
            i.freeform_tags.get("tazhost-cluster").map(String::as_str),
            Some("tazlab-oci")
        );
        assert_eq!(
            i.freeform_tags.get("tazhost-pool").map(String::as_str),
            Some("workers")
        );
    }
    let stdout = String::from_utf8_lossy(&first.stdout);
    for i in &instances {
        assert!(stdout.contains(&i.display_name), "{stdout}");
        if let Some(ip) = &i.public_ip {
            assert!(
                stdout.contains(ip.as_str()),
                "the node's address is reported: {stdout}"
            );
        }
    }

    let second = tazhost_in(&dir, &["run"]).await;
    assert!(second.status.success(), "{}", output_text(&second));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("Nothing to create"),
        "{}",
        output_text(&second)
    );
    let mut before: Vec<String> = instances.iter().map(|i| i.id.clone()).collect();
    let mut after: Vec<String> = live(&fake).iter().map(|i| i.id.clone()).collect();
    before.sort();
    after.sort();
    assert_eq!(
        before, after,
        "a rerun must not launch or replace instances"
    );

    let destroy = tazhost_in(&dir, &["destroy", "--yes"]).await;
    assert!(destroy.status.success(), "{}", output_text(&destroy));
    assert!(live(&fake).is_empty(), "{:?}", fake.instances());
    assert!(
        fake.auth_failures().is_empty(),
        "every request was signed right: {:?}",
        fake.auth_failures()
    );
    assert_no_key(&[&first, &second, &destroy]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_launch_is_retried_with_the_same_token_and_makes_one_instance() {
    let fake = fake_with_key(PUBLIC_KEY).await;
    // Refused before anything is made, then launched but its answer lost: only resending the
    // same opc-retry-token gets the instance back instead of a second one.
    fake.fail_next_launches(1, Fault::ServiceUnavailable);
    fake.lose_next_launch_answers(1);
    let dir = cluster(&fake, 1);
    let out = tazhost_in(&dir, &["run"]).await;
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(live(&fake).len(), 1, "{:?}", fake.instances());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_left_provisioning_by_a_failed_run_is_found_and_finished() {
    // Long enough that the second run surely starts while it still provisions.
    let fake = fake_provisioning_in(PUBLIC_KEY, Duration::from_secs(12)).await;
    let dir = cluster(&fake, 1);
    let impatient = std::fs::read_to_string(dir.path()).unwrap().replace(
        "poll_interval_ms = 100",
        "poll_interval_ms = 100\ncreate_timeout_s = 1",
    );
    std::fs::write(dir.path(), impatient).unwrap();
    let first = tazhost_in(&dir, &["run"]).await;
    assert!(!first.status.success(), "{}", output_text(&first));
    let left = live(&fake);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].lifecycle_state, "PROVISIONING");

    let patient = cluster(&fake, 1);
    let second = tazhost_in(&patient, &["run"]).await;
    assert!(second.status.success(), "{}", output_text(&second));
    assert!(
        output_text(&second).contains("left by an earlier run"),
        "{}",
        output_text(&second)
    );
    let now = live(&fake);
    assert_eq!(now.len(), 1, "no second instance: {now:?}");
    assert_eq!(now[0].id, left[0].id);
    assert_eq!(now[0].lifecycle_state, "RUNNING");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_the_api_does_not_know_fails_clearly_and_is_never_shown() {
    // The fake trusts Oracle's documentation key; tazhost signs with another one.
    let fake = fake_with_key(include_str!("../vectors/oci-signing/public_key.pem")).await;
    let dir = cluster(&fake, 1);
    let out = tazhost_in(&dir, &["run"]).await;
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(text.contains("NotAuthenticated"), "{text}");
    assert!(text.contains("plugin `oci` (sha256:"), "{text}");
    assert!(live(&fake).is_empty());
    assert!(!fake.auth_failures().is_empty());
    assert_no_key(&[&out]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_below_2048_bits_is_refused_by_the_host_before_sending() {
    let fake = fake_with_key(PUBLIC_KEY).await;
    let dir = cluster(&fake, 1);
    dir.write(
        "oci_api_key.pem",
        include_str!("../vectors/oci-signing/private_key.pem"),
    );
    let out = tazhost_in(&dir, &["run"]).await;
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(text.contains("2048 bits"), "{text}");
    assert_eq!(fake.request_count(), 0, "nothing was sent");
}
