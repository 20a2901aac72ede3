//! The host's OCI signing through the http capability itself (no wasm), against the fake OCI API
//! that verifies every signature: the edges a plugin could probe.

use fakecloud::oci::{FakeOci, Options, Running};
use std::sync::Arc;
use tazhost::caps::http::{
    Allowlist, CredentialRef, HttpCap, HttpError, HttpLimits, HttpPolicy, OutboundRequest,
    SecretGrant,
};
use tazhost::secrets::{SecretSet, SecretValue};

const KEY: &str = include_str!("../vectors/oci-signing/test_key_2048.pem");
const PUBLIC_KEY: &str = include_str!("../vectors/oci-signing/test_key_2048.pub.pem");
const KEY_ID: &str = "ocid1.tenancy.oc1..aaaatest/ocid1.user.oc1..bbbbtest/11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00";

async fn fake() -> Running {
    FakeOci::start(
        "127.0.0.1:0".parse().unwrap(),
        KEY_ID,
        PUBLIC_KEY,
        Options::default(),
    )
    .await
    .unwrap()
}

fn cap(fake: &Running) -> HttpCap {
    let origin = fake.base_url();
    let mut secrets = SecretSet::default();
    secrets.insert("oci-key", SecretValue::new(KEY.into()));
    let policy = HttpPolicy {
        declared_hosts: Allowlist::parse(&[origin.as_str()]).unwrap(),
        granted_hosts: Allowlist::parse(&[origin.as_str()]).unwrap(),
        declared_secrets: ["oci-key".to_string()].into(),
        secrets: [(
            "oci-key".to_string(),
            SecretGrant {
                hosts: Allowlist::parse(&[origin.as_str()]).unwrap(),
                reveal: false,
                oauth: false,
            },
        )]
        .into(),
        ..HttpPolicy::default()
    };
    HttpCap::new(Arc::new(policy), Arc::new(secrets), HttpLimits::default())
}

fn signed(method: &str, url: String, body: Option<&str>) -> OutboundRequest {
    OutboundRequest {
        method: method.into(),
        url,
        headers: vec![],
        body: body.map(|b| b.as_bytes().to_vec()),
        credential: Some(CredentialRef::OciSignature {
            key_id: KEY_ID.into(),
            private_key: "oci-key".into(),
        }),
    }
}

#[tokio::test]
async fn a_body_method_without_a_body_is_signed_as_sent() {
    let fake = fake().await;
    let c = cap(&fake);
    // An instance action: POST with no body, signed with `content-length: 0`, which must also
    // be what goes out.
    let url = format!(
        "{}/20160918/instances/ocid1.instance.oc1..nosuch?action=START",
        fake.base_url()
    );
    let resp = c.send(signed("POST", url, None)).await.unwrap();
    assert_ne!(resp.status, 401, "{}", String::from_utf8_lossy(&resp.body));
    assert!(
        fake.auth_failures().is_empty(),
        "{:?}",
        fake.auth_failures()
    );

    let list = format!(
        "{}/20160918/instances?compartmentId=ocid1.compartment.oc1..x",
        fake.base_url()
    );
    let resp = c.send(signed("GET", list, None)).await.unwrap();
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert!(
        fake.auth_failures().is_empty(),
        "{:?}",
        fake.auth_failures()
    );
}

#[tokio::test]
async fn a_private_key_is_never_sent_as_a_header_credential() {
    let fake = fake().await;
    let c = cap(&fake);
    let url = format!("{}/20160918/instances", fake.base_url());
    for credential in [
        CredentialRef::Bearer("oci-key".into()),
        CredentialRef::Prefixed {
            prefix: "x ".into(),
            secret: "oci-key".into(),
        },
        CredentialRef::Basic {
            username: "oci-key".into(),
            password: "oci-key".into(),
        },
    ] {
        let mut req = signed("GET", url.clone(), None);
        req.credential = Some(credential);
        match c.send(req).await {
            Err(HttpError::Denied(m)) => assert!(m.contains("private key"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(fake.request_count(), 0, "nothing left the host");
}

#[tokio::test]
async fn two_content_types_on_a_signed_request_are_refused() {
    let fake = fake().await;
    let c = cap(&fake);
    let mut req = signed(
        "POST",
        format!("{}/20160918/instances", fake.base_url()),
        Some("{}"),
    );
    req.headers = vec![
        ("content-type".into(), "application/json".into()),
        ("Content-Type".into(), "text/plain".into()),
    ];
    match c.send(req).await {
        Err(HttpError::Denied(m)) => assert!(m.contains("content-type"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(fake.request_count(), 0);
}
