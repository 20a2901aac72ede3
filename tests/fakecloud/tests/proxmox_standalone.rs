//! The standalone binary as the rehearsal and CI use it: `fakecloud proxmox --listen
//! 127.0.0.1:0 --token T --ca-out FILE` prints its HTTPS base URL and the certificate
//! fingerprint first, writes the CA to trust, accepts only its token, and exits cleanly on
//! SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "tazhost@pve!standalone=5b0d1c6e-2f4a-4e11-9d0c-7a8b9c0d1e2f";

mod common;
use common::Child;

#[tokio::test]
async fn prints_url_and_fingerprint_writes_the_ca_and_accepts_only_its_token() {
    let ca_path = std::env::temp_dir().join(format!(
        "fakecloud-proxmox-ca-{}-{}.pem",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ));
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_fakecloud"))
            .args(["proxmox", "--listen", "127.0.0.1:0", "--token", TOKEN])
            .arg("--ca-out")
            .arg(&ca_path)
            .args(["--auth-failure-delay-ms", "0", "--node", "pve1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("fakecloud starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = lines.next().unwrap().unwrap();
    let fingerprint = lines.next().unwrap().unwrap();
    assert!(base.starts_with("https://127.0.0.1:"), "{base:?}");
    assert!(!base.ends_with(":0"), "a real port was chosen: {base}");
    let pairs: Vec<&str> = fingerprint.split(':').collect();
    assert_eq!(pairs.len(), 32, "{fingerprint}");
    assert!(
        pairs.iter().all(|p| p.len() == 2
            && p.bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))),
        "{fingerprint}"
    );

    let ca_pem = std::fs::read(&ca_path).expect("the CA was written");
    let _ = std::fs::remove_file(&ca_path);
    let ca = reqwest::Certificate::from_pem(&ca_pem).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let url = format!("{base}/api2/json/nodes");
    let ok = client
        .get(&url)
        .header("authorization", format!("PVEAPIToken={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&ok.text().await.unwrap()).unwrap();
    assert_eq!(body["data"][0]["node"], "pve1");
    assert_eq!(
        body["data"][0]["ssl_fingerprint"], fingerprint,
        "the printed fingerprint is the served certificate's"
    );
    let wrong = client
        .get(&url)
        .header("authorization", "PVEAPIToken=tazhost@pve!standalone=wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let none = client.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    // Without the CA, TLS fails.
    assert!(reqwest::Client::new().get(&url).send().await.is_err());

    // SIGTERM ends it cleanly.
    let pid = child.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "fakecloud did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
