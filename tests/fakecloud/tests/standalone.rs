//! The standalone binary, as the rehearsal and CI use it: `fakecloud hetzner --listen
//! 127.0.0.1:0 --token T` prints its base URL first and accepts only that token.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

mod common;
use common::Child;

#[tokio::test]
async fn prints_its_base_url_first_and_accepts_only_its_token() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_fakecloud"))
            .args([
                "hetzner",
                "--listen",
                "127.0.0.1:0",
                "--token",
                "standalone-token",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("fakecloud starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let base = first.trim();
    assert!(base.starts_with("http://127.0.0.1:"), "{base:?}");
    assert!(!base.ends_with(":0"), "a real port was chosen: {base}");

    let client = reqwest::Client::new();
    let url = format!("{base}/v1/servers");
    let ok = client
        .get(&url)
        .bearer_auth("standalone-token")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let wrong = client
        .get(&url)
        .bearer_auth("other-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body = wrong.text().await.unwrap();
    assert!(body.contains("\"code\":\"unauthorized\""), "{body}");
    let none = client.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
}
