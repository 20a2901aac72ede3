//! The standalone binary, as the rehearsal and CI use it: `fakecloud oci --listen
//! 127.0.0.1:0 --key-id T/U/F --public-key FILE.pem` prints its base URL first and accepts
//! only requests signed with that key; a bad key file stops it with a clear message.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use fakecloud::oci::Signer;

const KEY_ID: &str = "ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq/ocid1.user.oc1..aaaaaaaat5nvwcna5j6aqzjcaty5eqbb6qt2jvpkanghtgdaqedqw3rynjq/73:61:a2:21:67:e0:df:be:7e:4b:93:1e:15:98:a5:b7";
const COMPARTMENT: &str = "ocid1.compartment.oc1..aaaaaaaastandalone";

mod common;
use common::Child;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors/oci-signing")
}

fn fakecloud(public_key: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fakecloud"));
    cmd.args(["oci", "--listen", "127.0.0.1:0", "--key-id", KEY_ID])
        .arg("--public-key")
        .arg(public_key)
        .args(["--provision-duration-ms", "0"]);
    cmd
}

/// Sends a request signed with `signer`.
async fn send(
    client: &reqwest::Client,
    signer: &Signer,
    method: reqwest::Method,
    url: &str,
    body: &[u8],
) -> reqwest::Response {
    let mut req = client.request(method.clone(), url).body(body.to_vec());
    for (k, v) in signer.sign(method.as_str(), url, body).expect("signable") {
        // reqwest sets Host and Content-Length itself, to the same values.
        if k != "host" && k != "content-length" {
            req = req.header(k, v);
        }
    }
    req.send().await.expect("the fake answers")
}

#[tokio::test]
async fn prints_its_base_url_first_and_accepts_only_its_key() {
    let mut child = Child(
        fakecloud(&vectors().join("public_key.pem"))
            .args(["--fail-next-launches", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("fakecloud starts"),
    );
    let stdout = child.0.stdout.take().expect("piped stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a first line");
    let base = first.trim();
    assert!(base.starts_with("http://127.0.0.1:"), "{base:?}");
    assert!(!base.ends_with(":0"), "a real port was chosen: {base}");

    let private = std::fs::read_to_string(vectors().join("private_key.pem")).unwrap();
    let signer = Signer::new(KEY_ID, &private).unwrap();
    let client = reqwest::Client::new();

    let list = format!("{base}/20160918/instances?compartmentId={COMPARTMENT}");
    let ok = send(&client, &signer, reqwest::Method::GET, &list, b"").await;
    assert_eq!(ok.status(), 200);
    assert!(ok.headers().contains_key("opc-request-id"));
    assert_eq!(ok.text().await.unwrap(), "[]");

    // A launch: the first one fails as asked on the command line, the second succeeds.
    let launch = format!("{base}/20160918/instances");
    let body = serde_json::to_vec(&serde_json::json!({
        "availabilityDomain": "Uocm:US-ASHBURN-AD-1",
        "compartmentId": COMPARTMENT,
        "shape": "VM.Standard.E2.1.Micro",
        "sourceDetails": {"sourceType": "image", "imageId": "ocid1.image.oc1.iad.aaaaaaaastandalone"},
        "createVnicDetails": {"subnetId": "ocid1.subnet.oc1.iad.aaaaaaaastandalone"},
        "metadata": {"user_data": "I2Nsb3VkLWNvbmZpZwo="},
    }))
    .unwrap();
    let failed = send(&client, &signer, reqwest::Method::POST, &launch, &body).await;
    assert_eq!(failed.status(), 500);
    let launched = send(&client, &signer, reqwest::Method::POST, &launch, &body).await;
    assert_eq!(launched.status(), 200);
    let instance: serde_json::Value =
        serde_json::from_str(&launched.text().await.unwrap()).unwrap();
    // --provision-duration-ms 0: running from the start.
    assert_eq!(instance["lifecycleState"], "RUNNING");
    let id = instance["id"].as_str().unwrap();
    let got = send(
        &client,
        &signer,
        reqwest::Method::GET,
        &format!("{base}/20160918/instances/{id}"),
        b"",
    )
    .await;
    let got: serde_json::Value = serde_json::from_str(&got.text().await.unwrap()).unwrap();
    assert_eq!(
        got["lifecycleState"], "RUNNING",
        "--provision-duration-ms 0"
    );

    // Unsigned, or signed with another key id: 401 NotAuthenticated.
    let none = client.get(&list).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(none.headers().contains_key("opc-request-id"));
    let body = none.text().await.unwrap();
    assert!(body.contains("\"code\":\"NotAuthenticated\""), "{body}");
    let stranger = Signer::new("t/u/00:00", &private).unwrap();
    let wrong = send(&client, &stranger, reqwest::Method::GET, &list, b"").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains("Unknown keyId"));
}

#[test]
fn a_key_file_that_is_not_an_rsa_public_key_stops_it_with_a_clear_message() {
    for (file, expected) in [
        (
            vectors().join("private_key.pem"),
            "is not a usable RSA public key",
        ),
        (
            vectors().join("no-such-key.pem"),
            "cannot read the public key file",
        ),
    ] {
        let out = fakecloud(&file).output().expect("fakecloud runs");
        assert!(!out.status.success(), "{file:?}");
        assert!(out.stdout.is_empty(), "no URL printed for {file:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{file:?}: {stderr}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_fakecloud"))
        .args(["oci", "--key-id", "just-one-part", "--public-key"])
        .arg(vectors().join("public_key.pem"))
        .output()
        .expect("fakecloud runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TENANCY_OCID/USER_OCID/FINGERPRINT"));
}
