//! Handler tests: the router driven in process (`crate::test_client`) and
//! requests signed by [`Signer`], the documentation's signing test vectors, and one test
//! of `FakeOci::start` over real TCP.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};

use super::handlers::router;
use super::signature::{AuthError, RequestParts, Signer, Verifier, signing_string};
use super::state::Shared;
use super::{FakeOci, Fault, Options};
use crate::test_client::Answer;

/// The test key pair of OCI's "Request Signatures" page, with the key's real fingerprint.
const KEY_ID: &str = "ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq/ocid1.user.oc1..aaaaaaaat5nvwcna5j6aqzjcaty5eqbb6qt2jvpkanghtgdaqedqw3rynjq/73:61:a2:21:67:e0:df:be:7e:4b:93:1e:15:98:a5:b7";
const PUBLIC_KEY: &str = include_str!("../../../vectors/oci-signing/public_key.pem");
const PRIVATE_KEY: &str = include_str!("../../../vectors/oci-signing/private_key.pem");
const CASES: &str = include_str!("../../../vectors/oci-signing/cases.json");

/// Another RSA key, not the configured one.
const OTHER_PRIVATE_KEY: &str = "-----BEGIN RSA PRIVATE KEY-----
MIICWwIBAAKBgQCnuAok0GoxGErHJYwLN54pnvA43lBl/HvrZgj3LgMlfDNa6avM
9t6uQcRy+6bRqF6QuOxaUDzYVymnCemZg/Tt/ilhgtH3QZMUAu2D7yl2nb3z62tA
0b5f8osYzvEGUhxkPJXjqZlm7GurYmLTvbnlQl20Y4iv3QA1W0V8RJxxeQIDAQAB
AoGAPKBQOmKEIF8RmM8/wkZGi/ECEOx7z4HnIX5uuzsMtB4jSjexfJO4hvELHC1P
bfYYyOOvvC3I8MMBMXpp0K5ceJ0B6Be+db5DjtmuOzG4uJbtuMDwCfCwGgBirBCD
fRY6ZH5hC/GAfdqSjCb3QlUDjRfcxl7gjMX0X+cjRLW1bmkCQQDd11y5GI4IH0g4
4wXIQDPFSL4QYeK4yHU9wf/2/fMtQKjiwCld5buBntNG6KKH+Lhs5cp80dCDm2Di
mpEBWYJDAkEAwYtCIMX+u1nZWTZKtvshm/uUJNAmWdzLr99JyHVLXHOHu2CFCV5O
pRWxKrhxnL1IokUUHTuTszP3NTlY09j3kwJAR20o+Ju0V18jFNXbrb8mLBYgxAuQ
QSihvxGwhWj8nAxelCuE5iuqtLBbnFAYzKjDUKSoDopLlaQ4jJ1xpLqaGwJABc/Y
vIM1kwqvrC4lMDl6WOTFHhXiEPDAbReXb52WFcCiYs4TMKTUV8C/ATlor/w/IiBQ
6k/Pr6Hv2nlOYY4yYQJACrDuDJrlyaw90Cma+7Wk6TMbqzqeUBFpYqLs1mkE22bV
aDlxrfjv74LFlShQD54hHzXZlmjBo33Go9w1+vR7Eg==
-----END RSA PRIVATE KEY-----
";

const HOST: &str = "iaas.us-ashburn-1.oraclecloud.com";
const COMPARTMENT: &str = "ocid1.compartment.oc1..aaaaaaaafakecompartment";
const IMAGE: &str = "ocid1.image.oc1.iad.aaaaaaaafakeimage";
const SUBNET: &str = "ocid1.subnet.oc1.iad.aaaaaaaafakesubnet";

struct Fake {
    app: Router,
    shared: Arc<Shared>,
    signer: Signer,
}

fn fake(options: Options) -> Fake {
    let verifier = Verifier::new(KEY_ID, PUBLIC_KEY).expect("the test public key parses");
    let shared = Arc::new(Shared::new(verifier, &options));
    Fake {
        app: router(shared.clone()),
        shared,
        signer: Signer::new(KEY_ID, PRIVATE_KEY).expect("the test private key parses"),
    }
}

/// Instances run at once and stay listed once terminated; no faults, no limit.
fn instant() -> Options {
    Options {
        provision_duration: Duration::ZERO,
        terminate_duration: Duration::ZERO,
        ..Options::default()
    }
}

/// Nothing moves on by itself during a test.
fn frozen() -> Options {
    Options {
        provision_duration: Duration::from_secs(3600),
        terminate_duration: Duration::from_secs(3600),
        ..Options::default()
    }
}

impl Answer {
    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("<no error code>")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn now_date() -> String {
    httpdate::fmt_http_date(SystemTime::now())
}

fn launch_body(name: &str) -> Value {
    json!({
        "availabilityDomain": "Uocm:US-ASHBURN-AD-1",
        "compartmentId": COMPARTMENT,
        "displayName": name,
        "shape": "VM.Standard.A1.Flex",
        "shapeConfig": {"ocpus": 2, "memoryInGBs": 12},
        "sourceDetails": {"sourceType": "image", "imageId": IMAGE, "bootVolumeSizeInGBs": 60},
        "createVnicDetails": {"subnetId": SUBNET, "assignPublicIp": true, "hostnameLabel": name},
        "freeformTags": {"tazhost-cluster": "test", "tazhost-node": name},
        "metadata": {
            "user_data": "I2Nsb3VkLWNvbmZpZwo=",
            "ssh_authorized_keys": "ssh-ed25519 AAAAC3Nz test",
        },
    })
}

impl Fake {
    /// Sends `headers` as given (no signing) with `body`.
    async fn send_raw(
        &self,
        method: Method,
        target: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Answer {
        crate::test_client::send(&self.app, method, target, headers, body).await
    }

    /// Signs with the configured key, as the SDKs do, and sends.
    async fn send(
        &self,
        method: Method,
        target: &str,
        body: Vec<u8>,
        extra: &[(&str, String)],
    ) -> Answer {
        let mut headers = self
            .signer
            .sign_at(
                method.as_str(),
                &format!("http://{HOST}{target}"),
                &now_date(),
                &body,
            )
            .expect("signable");
        headers.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
        self.send_raw(method, target, &headers, body).await
    }

    async fn get(&self, target: &str) -> Answer {
        self.send(Method::GET, target, Vec::new(), &[]).await
    }

    async fn delete(&self, target: &str) -> Answer {
        self.send(Method::DELETE, target, Vec::new(), &[]).await
    }

    async fn post(&self, target: &str, body: &Value, extra: &[(&str, String)]) -> Answer {
        let bytes = serde_json::to_vec(body).expect("serializable");
        self.send(Method::POST, target, bytes, extra).await
    }

    async fn launch(&self, name: &str) -> Value {
        let a = self
            .post("/20160918/instances", &launch_body(name), &[])
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.body
    }

    async fn instance_state(&self, id: &str) -> String {
        let a = self.get(&format!("/20160918/instances/{id}")).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.body["lifecycleState"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

fn list_target(extra: &str) -> String {
    format!("/20160918/instances?compartmentId={COMPARTMENT}{extra}")
}

// ---------------------------------------------------------------------------------------
// Signatures

#[test]
fn the_documented_test_vectors_verify_and_are_reproduced() {
    let doc: Value = serde_json::from_str(CASES).expect("cases.json is JSON");
    let key_id = doc["key_id"].as_str().expect("key_id");
    let verifier = Verifier::new(key_id, PUBLIC_KEY).expect("public key");
    let signer = Signer::new(key_id, PRIVATE_KEY).expect("private key");
    let cases = doc["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 2);
    for case in cases {
        let name = case["name"].as_str().unwrap_or_default();
        let method = case["method"].as_str().unwrap_or_default();
        let url = case["url"].as_str().unwrap_or_default();
        let body = case["body"].as_str().unwrap_or_default().as_bytes();
        let date = case["headers"]["date"].as_str().unwrap_or_default();
        let target = &url[url.find("/20160918").expect("a Core Services URL")..];
        let names: Vec<String> = case["signed_headers"]
            .as_array()
            .expect("signed_headers")
            .iter()
            .filter_map(|h| h.as_str().map(str::to_string))
            .collect();

        // The signing string as the documentation gives it.
        let text = signing_string(&names, method, target, |h| {
            case["headers"][h].as_str().map(str::to_string)
        })
        .expect("all signed headers are given");
        assert_eq!(text, case["signing_string"], "{name}");

        // The published signature verifies, alone and as a whole request at its date.
        let signature = case["signature"].as_str().unwrap_or_default();
        assert!(verifier.verify_string(&text, signature), "{name}");
        let mut headers = HeaderMap::new();
        for (k, v) in case["headers"].as_object().expect("headers") {
            headers.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.as_str().unwrap_or_default().parse().expect("value"),
            );
        }
        let authorization = case["authorization"].as_str().unwrap_or_default();
        headers.insert("authorization", authorization.parse().expect("value"));
        let when = super::signature::parse_date(date).expect("the case's date");
        let parts = RequestParts {
            method,
            target,
            headers: &headers,
            authority: None,
            body,
        };
        assert_eq!(verifier.verify(&parts, when), Ok(()), "{name}");
        // ... but not today: the date is years off.
        assert!(matches!(
            verifier.verify(&parts, SystemTime::now()),
            Err(AuthError::ClockSkew(_))
        ));
        // A changed signing string does not verify.
        assert!(!verifier.verify_string(&text.replace("/20160918/", "/20160919/"), signature));

        // Our signer produces the documented Authorization header byte for byte.
        let signed = signer.sign_at(method, url, date, body).expect("signable");
        let ours = signed
            .iter()
            .find(|(k, _)| *k == "authorization")
            .map(|(_, v)| v.as_str());
        assert_eq!(ours, Some(authorization), "{name}");
    }
}

#[tokio::test]
async fn signed_requests_are_accepted() {
    let f = fake(instant());
    let a = f.get(&list_target("")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body, json!([]));
    assert!(a.header("opc-request-id").is_some());
    // `x-date` may stand in for `date`.
    let target = list_target("");
    let date = now_date();
    let text = format!("x-date: {date}\n(request-target): get {target}\nhost: {HOST}");
    let sig = f.signer.sign_string(&text).unwrap();
    let auth = f
        .signer
        .authorization(&["x-date", "(request-target)", "host"], &sig);
    let a = f
        .send_raw(
            Method::GET,
            &target,
            &[
                ("x-date", date),
                ("host", HOST.to_string()),
                ("authorization", auth),
            ],
            Vec::new(),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(f.shared.lock().auth_failures().is_empty());
}

/// Headers to send, in order.
type Headers = Vec<(&'static str, String)>;

/// Signs a GET of `target` over `names` with `key`, dated `date`.
fn manual_get(key: &Signer, names: &[&str], target: &str, date: &str) -> Headers {
    let owned: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let text = signing_string(&owned, "GET", target, |h| match h {
        "date" => Some(date.to_string()),
        "host" => Some(HOST.to_string()),
        _ => None,
    })
    .unwrap();
    let auth = key.authorization(names, &key.sign_string(&text).unwrap());
    vec![
        ("date", date.to_string()),
        ("host", HOST.to_string()),
        ("authorization", auth),
    ]
}

#[tokio::test]
async fn requests_that_are_not_signed_right_are_not_authenticated() {
    let f = fake(instant());
    let target = list_target("");
    let generic = ["date", "(request-target)", "host"];
    let other_key = Signer::new(KEY_ID, OTHER_PRIVATE_KEY).unwrap();
    let other_id = Signer::new(
        "ocid1.tenancy.oc1..x/ocid1.user.oc1..y/00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
        PRIVATE_KEY,
    )
    .unwrap();
    let stale = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(6 * 60));
    let future = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(6 * 60));
    let good = manual_get(&f.signer, &generic, &target, &now_date());
    let with_auth = |auth: &str| {
        let mut h = good.clone();
        h[2].1 = auth.to_string();
        h
    };
    let sig_of_good = good[2].1.rsplit("signature=\"").next().unwrap_or_default();
    let sig_of_good = sig_of_good.trim_end_matches('"').to_string();

    let cases: Vec<(&str, Headers, &str, &str)> = vec![
        (
            "no Authorization",
            good[..2].to_vec(),
            &target,
            "no Authorization header",
        ),
        (
            "wrong key",
            manual_get(&other_key, &generic, &target, &now_date()),
            &target,
            "does not verify",
        ),
        (
            "wrong keyId",
            manual_get(&other_id, &generic, &target, &now_date()),
            &target,
            "Unknown keyId",
        ),
        (
            "host not signed",
            manual_get(
                &f.signer,
                &["date", "(request-target)"],
                &target,
                &now_date(),
            ),
            &target,
            "\"host\" is not among the signed headers",
        ),
        (
            "request-target not signed",
            manual_get(&f.signer, &["date", "host"], &target, &now_date()),
            &target,
            "\"(request-target)\"",
        ),
        (
            "stale date",
            manual_get(&f.signer, &generic, &target, &stale),
            &target,
            "more than 5 minutes",
        ),
        (
            "date in the future",
            manual_get(&f.signer, &generic, &target, &future),
            &target,
            "more than 5 minutes",
        ),
        (
            "unparsable date",
            manual_get(&f.signer, &generic, &target, "yesterday"),
            &target,
            "Cannot parse date",
        ),
        (
            "other query than signed",
            good.clone(),
            "/20160918/instances?compartmentId=ocid1.compartment.oc1..other",
            "does not verify",
        ),
        (
            "other method than signed",
            good.clone(),
            &target,
            "does not verify",
        ),
        (
            "rsa-sha1",
            with_auth(&good[2].1.replace("rsa-sha256", "rsa-sha1")),
            &target,
            "Unsupported signature algorithm",
        ),
        (
            "no version",
            with_auth(&good[2].1.replace("version=\"1\",", "")),
            &target,
            "Unsupported signature version",
        ),
        (
            "not base64",
            with_auth(&good[2].1.replace(&sig_of_good, "%%%")),
            &target,
            "does not verify",
        ),
        (
            "bearer token",
            with_auth("Bearer abc"),
            &target,
            "Malformed Authorization",
        ),
    ];
    for (i, (what, headers, target, why)) in cases.iter().enumerate() {
        let method = if *what == "other method than signed" {
            Method::DELETE
        } else {
            Method::GET
        };
        let a = f.send_raw(method, target, headers, Vec::new()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}: {}", a.body);
        assert_eq!(a.code(), "NotAuthenticated", "{what}");
        assert!(
            a.body["message"].as_str().unwrap_or_default().contains(why),
            "{what}: {}",
            a.body
        );
        assert!(a.header("opc-request-id").is_some(), "{what}");
        assert_eq!(f.shared.lock().auth_failures().len(), i + 1, "{what}");
    }
    // Unknown paths too: authentication comes first.
    let a = f
        .send_raw(Method::GET, "/20160918/nothing", &[], Vec::new())
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = f.get("/20160918/nothing").await;
    assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "NotFound"));
}

#[tokio::test]
async fn bodies_must_match_their_signed_hash_and_length() {
    let f = fake(instant());
    let body = serde_json::to_vec(&launch_body("node-1")).unwrap();
    let signed = f
        .signer
        .sign_at(
            "POST",
            &format!("http://{HOST}/20160918/instances"),
            &now_date(),
            &body,
        )
        .unwrap();

    // Same length, other content.
    let mut tampered = body.clone();
    if let Some(b) = tampered.iter_mut().find(|b| **b == b'1') {
        *b = b'2';
    }
    let a = f
        .send_raw(Method::POST, "/20160918/instances", &signed, tampered)
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    assert!(
        a.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("x-content-sha256")
    );

    // A POST must sign the body headers.
    let target = "/20160918/instances";
    let text = format!(
        "date: {}\n(request-target): post {target}\nhost: {HOST}",
        signed[0].1
    );
    let auth = f.signer.authorization(
        &["date", "(request-target)", "host"],
        &f.signer.sign_string(&text).unwrap(),
    );
    let mut headers = signed.clone();
    headers.pop();
    headers.push(("authorization", auth));
    let a = f
        .send_raw(Method::POST, target, &headers, body.clone())
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(
        a.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("\"content-length\" is not among the signed headers"),
        "{}",
        a.body
    );

    // The untouched request goes through, and nothing was created before.
    assert!(f.shared.instances().is_empty());
    let a = f
        .send_raw(Method::POST, "/20160918/instances", &signed, body)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

// ---------------------------------------------------------------------------------------
// Instances

#[tokio::test]
async fn launch_answers_the_documented_instance() {
    let f = fake(frozen());
    let a = f
        .post("/20160918/instances", &launch_body("node-1"), &[])
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let i = &a.body;
    for key in [
        "availabilityDomain",
        "compartmentId",
        "definedTags",
        "displayName",
        "extendedMetadata",
        "faultDomain",
        "freeformTags",
        "id",
        "imageId",
        "launchMode",
        "launchOptions",
        "lifecycleState",
        "metadata",
        "region",
        "shape",
        "shapeConfig",
        "sourceDetails",
        "systemTags",
        "timeCreated",
    ] {
        assert!(!i[key].is_null(), "{key} missing in {i}");
    }
    let id = i["id"].as_str().unwrap();
    assert!(id.starts_with("ocid1.instance.oc1.iad.a"), "{id}");
    assert_eq!(i["lifecycleState"], "PROVISIONING");
    assert_eq!(i["region"], "iad");
    assert_eq!(i["displayName"], "node-1");
    assert_eq!(i["shape"], "VM.Standard.A1.Flex");
    assert_eq!(i["shapeConfig"]["ocpus"], 2.0);
    assert_eq!(i["shapeConfig"]["memoryInGBs"], 12.0);
    assert_eq!(i["shapeConfig"]["vcpus"], 2);
    assert_eq!(
        i["sourceDetails"],
        json!({"sourceType": "image", "imageId": IMAGE, "bootVolumeSizeInGBs": 60})
    );
    assert_eq!(i["freeformTags"]["tazhost-cluster"], "test");
    assert_eq!(i["metadata"]["user_data"], "I2Nsb3VkLWNvbmZpZwo=");
    assert_eq!(i["faultDomain"], "FAULT-DOMAIN-1");
    let created = i["timeCreated"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");
    let etag = a.header("etag").expect("etag").to_string();
    assert!(
        a.header("opc-work-request-id")
            .is_some_and(|w| w.starts_with("ocid1.coreservicesworkrequest.oc1.iad."))
    );
    assert!(a.header("opc-request-id").is_some());

    // GET answers the same object and etag while nothing changes.
    let g = f.get(&format!("/20160918/instances/{id}")).await;
    assert_eq!(g.status, StatusCode::OK);
    assert_eq!(g.body, a.body);
    assert_eq!(g.header("etag"), Some(etag.as_str()));

    // The record has the decoded user_data.
    let records = f.shared.instances();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.id, id);
    assert_eq!(r.user_data.as_deref(), Some("#cloud-config\n"));
    assert_eq!(
        r.ssh_authorized_keys.as_deref(),
        Some("ssh-ed25519 AAAAC3Nz test")
    );
    assert_eq!(r.lifecycle_state, "PROVISIONING");
    assert_eq!(r.hostname_label.as_deref(), Some("node-1"));
    assert_eq!(r.private_ip, "10.0.0.2");
    assert_eq!(r.public_ip.as_deref(), Some("203.0.113.1"));
    assert_eq!(r.boot_volume_size_in_gbs, Some(60));
    assert_eq!(r.preserve_boot_volume, None);
}

#[tokio::test]
async fn an_opc_request_id_sent_is_echoed_first() {
    let f = fake(instant());
    let a = f
        .send(
            Method::GET,
            &list_target(""),
            Vec::new(),
            &[("opc-request-id", "my-trace".to_string())],
        )
        .await;
    assert!(
        a.header("opc-request-id")
            .is_some_and(|r| r.starts_with("my-trace/"))
    );
}

#[tokio::test]
async fn instances_provision_run_terminate_and_are_forgotten() {
    let f = fake(Options {
        provision_duration: Duration::from_millis(150),
        terminate_duration: Duration::from_millis(150),
        terminated_retention: Duration::from_millis(300),
        ..Options::default()
    });
    let id = f.launch("node-1").await["id"].as_str().unwrap().to_string();
    assert_eq!(f.instance_state(&id).await, "PROVISIONING");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(f.instance_state(&id).await, "RUNNING");

    let d = f
        .delete(&format!(
            "/20160918/instances/{id}?preserveBootVolume=false"
        ))
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT, "{}", d.body);
    assert_eq!(d.body, Value::Null);
    assert_eq!(f.instance_state(&id).await, "TERMINATING");
    // A second terminate changes nothing.
    let d = f.delete(&format!("/20160918/instances/{id}")).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(f.instance_state(&id).await, "TERMINATED");
    let listed = f.get(&list_target("&lifecycleState=terminated")).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1));
    assert_eq!(f.shared.instances()[0].preserve_boot_volume, Some(false));

    tokio::time::sleep(Duration::from_millis(350)).await;
    let g = f.get(&format!("/20160918/instances/{id}")).await;
    assert_eq!(
        (g.status, g.code()),
        (StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound")
    );
    assert!(f.shared.instances().is_empty());
}

#[tokio::test]
async fn the_vnic_shows_its_addresses_once_attached() {
    let f = fake(frozen());
    let id = f.launch("node-1").await["id"].as_str().unwrap().to_string();
    let attachments =
        format!("/20160918/vnicAttachments?compartmentId={COMPARTMENT}&instanceId={id}");
    let a = f.get(&attachments).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let att = &a.body[0];
    assert_eq!(att["lifecycleState"], "ATTACHING");
    assert_eq!(att["instanceId"], id.as_str());
    assert_eq!(att["subnetId"], SUBNET);
    assert!(
        att.get("vnicId").is_none(),
        "no vnicId before attached: {att}"
    );

    let f = fake(instant());
    let id = f.launch("node-1").await["id"].as_str().unwrap().to_string();
    let attachments =
        format!("/20160918/vnicAttachments?compartmentId={COMPARTMENT}&instanceId={id}");
    let a = f.get(&attachments).await;
    let att = &a.body[0];
    assert_eq!(att["lifecycleState"], "ATTACHED");
    assert_eq!(att["nicIndex"], 0);
    let vnic_id = att["vnicId"].as_str().expect("vnicId once attached");
    assert!(vnic_id.starts_with("ocid1.vnic.oc1.iad."));
    let att_id = att["id"].as_str().unwrap();
    let g = f.get(&format!("/20160918/vnicAttachments/{att_id}")).await;
    assert_eq!(g.body, *att);

    let v = f.get(&format!("/20160918/vnics/{vnic_id}")).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    assert!(v.header("etag").is_some());
    assert_eq!(v.body["lifecycleState"], "AVAILABLE");
    assert_eq!(v.body["isPrimary"], true);
    assert_eq!(v.body["privateIp"], "10.0.0.2");
    assert_eq!(v.body["publicIp"], "203.0.113.1");
    assert_eq!(v.body["hostnameLabel"], "node-1");
    assert!(
        v.body["macAddress"]
            .as_str()
            .is_some_and(|m| m.starts_with("02:00:17:"))
    );

    // Next in the same subnet, without a public IP.
    let mut body = launch_body("node-2");
    body["createVnicDetails"]["assignPublicIp"] = json!(false);
    let a = f.post("/20160918/instances", &body, &[]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let r = &f.shared.instances()[1];
    assert_eq!(
        (r.private_ip.as_str(), r.public_ip.as_deref()),
        ("10.0.0.3", None)
    );
    let v = f.get(&format!("/20160918/vnics/{}", r.vnic_id)).await;
    assert!(v.body.get("publicIp").is_none(), "{}", v.body);

    // Filters.
    let all = f
        .get(&format!(
            "/20160918/vnicAttachments?compartmentId={COMPARTMENT}"
        ))
        .await;
    assert_eq!(all.body.as_array().map(Vec::len), Some(2));
    let by_vnic = f
        .get(&format!(
            "/20160918/vnicAttachments?compartmentId={COMPARTMENT}&vnicId={vnic_id}"
        ))
        .await;
    assert_eq!(by_vnic.body.as_array().map(Vec::len), Some(1));
    let missing = f.get("/20160918/vnicAttachments").await;
    assert_eq!(missing.code(), "MissingParameter");
    let unknown = f.get("/20160918/vnics/ocid1.vnic.oc1.iad.nothing").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // Terminated: detached, and the addresses are free again.
    f.delete(&format!("/20160918/instances/{id}")).await;
    let a = f.get(&attachments).await;
    assert_eq!(a.body[0]["lifecycleState"], "DETACHED");
    let v = f.get(&format!("/20160918/vnics/{vnic_id}")).await;
    assert_eq!(v.body["lifecycleState"], "TERMINATED");
    f.launch("node-3").await;
    let r = &f.shared.instances()[2];
    assert_eq!(
        (r.private_ip.as_str(), r.public_ip.as_deref()),
        ("10.0.0.2", Some("203.0.113.1"))
    );
}

#[tokio::test]
async fn a_retry_token_gives_the_same_instance_again() {
    let f = fake(instant());
    let token = ("opc-retry-token", "launch-node-1-attempt".to_string());
    let first = f
        .post(
            "/20160918/instances",
            &launch_body("node-1"),
            std::slice::from_ref(&token),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let again = f
        .post(
            "/20160918/instances",
            &launch_body("node-1"),
            std::slice::from_ref(&token),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(f.shared.instances().len(), 1);
    assert_eq!(
        f.shared.instances()[0].retry_token.as_deref(),
        Some("launch-node-1-attempt")
    );

    // The same token for another request: 409.
    let other = f
        .post(
            "/20160918/instances",
            &launch_body("node-2"),
            std::slice::from_ref(&token),
        )
        .await;
    assert_eq!(
        (other.status, other.code()),
        (StatusCode::CONFLICT, "InvalidatedRetryToken")
    );
    assert_eq!(f.shared.instances().len(), 1);

    // Too long.
    let long = ("opc-retry-token", "x".repeat(65));
    let a = f
        .post("/20160918/instances", &launch_body("node-3"), &[long])
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "InvalidParameter")
    );

    // Without a token, the same body makes a second instance.
    f.launch("node-1").await;
    assert_eq!(f.shared.instances().len(), 2);
}

#[tokio::test]
async fn a_failed_launch_does_not_use_up_its_retry_token() {
    let f = fake(Options {
        fail_next_launches: 2,
        launch_fault: Fault::ServiceUnavailable,
        ..instant()
    });
    let token = ("opc-retry-token", "t-1".to_string());
    for _ in 0..2 {
        let a = f
            .post(
                "/20160918/instances",
                &launch_body("node-1"),
                std::slice::from_ref(&token),
            )
            .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable")
        );
    }
    assert!(f.shared.instances().is_empty());
    let a = f
        .post("/20160918/instances", &launch_body("node-1"), &[token])
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(f.shared.instances().len(), 1);
}

#[tokio::test]
async fn a_retry_token_of_a_forgotten_instance_is_invalidated() {
    let f = fake(Options {
        terminated_retention: Duration::ZERO,
        ..instant()
    });
    let token = ("opc-retry-token", "t-2".to_string());
    let a = f
        .post(
            "/20160918/instances",
            &launch_body("node-1"),
            std::slice::from_ref(&token),
        )
        .await;
    let id = a.body["id"].as_str().unwrap().to_string();
    f.delete(&format!("/20160918/instances/{id}")).await;
    let again = f
        .post("/20160918/instances", &launch_body("node-1"), &[token])
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "InvalidatedRetryToken")
    );
}

#[tokio::test]
async fn lists_filter_sort_and_paginate() {
    let f = fake(instant());
    for name in ["c", "a", "e", "b", "d"] {
        f.launch(name).await;
    }
    let mut other = launch_body("elsewhere");
    other["compartmentId"] = json!("ocid1.compartment.oc1..aaaaaaaaother");
    f.post("/20160918/instances", &other, &[]).await;

    let names = |a: &Answer| -> Vec<String> {
        a.body
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|i| i["displayName"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };

    // Default: newest first.
    let all = f.get(&list_target("")).await;
    assert_eq!(names(&all), ["d", "b", "e", "a", "c"]);
    assert!(all.header("opc-next-page").is_none());

    // Pages of two, by display name.
    let mut seen = Vec::new();
    let mut page: Option<String> = None;
    let mut pages = 0;
    loop {
        let extra = match &page {
            Some(p) => format!("&sortBy=DISPLAYNAME&limit=2&page={p}"),
            None => "&sortBy=DISPLAYNAME&limit=2".to_string(),
        };
        let a = f.get(&list_target(&extra)).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        seen.extend(names(&a));
        pages += 1;
        match a.header("opc-next-page") {
            Some(p) => page = Some(p.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    assert_eq!(pages, 3);

    let desc = f
        .get(&list_target("&sortBy=DISPLAYNAME&sortOrder=DESC"))
        .await;
    assert_eq!(names(&desc), ["e", "d", "c", "b", "a"]);
    let asc = f
        .get(&list_target("&sortBy=TIMECREATED&sortOrder=ASC"))
        .await;
    assert_eq!(names(&asc), ["c", "a", "e", "b", "d"]);
    let one = f.get(&list_target("&displayName=e")).await;
    assert_eq!(names(&one), ["e"]);
    let by_ad = f
        .get(&list_target("&availabilityDomain=Uocm:US-ASHBURN-AD-2"))
        .await;
    assert_eq!(names(&by_ad), Vec::<String>::new());
    let running = f.get(&list_target("&lifecycleState=Running")).await;
    assert_eq!(names(&running).len(), 5);
    let stopped = f.get(&list_target("&lifecycleState=STOPPED")).await;
    assert_eq!(names(&stopped).len(), 0);

    for (extra, code) in [
        ("&lifecycleState=ASLEEP", "InvalidParameter"),
        ("&sortBy=NAME", "InvalidParameter"),
        ("&sortOrder=up", "InvalidParameter"),
        ("&limit=0", "InvalidParameter"),
        ("&page=garbage", "InvalidParameter"),
    ] {
        let a = f.get(&list_target(extra)).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, code),
            "{extra}"
        );
    }
    let a = f.get("/20160918/instances").await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "MissingParameter")
    );
}

#[tokio::test]
async fn errors_have_the_documented_codes() {
    let f = fake(frozen());
    let a = f
        .get("/20160918/instances/ocid1.instance.oc1.iad.nothing")
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound")
    );
    assert!(a.header("opc-request-id").is_some());
    let a = f
        .delete("/20160918/instances/ocid1.instance.oc1.iad.nothing")
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    let a = f
        .send(
            Method::POST,
            "/20160918/instances",
            b"{not json".to_vec(),
            &[],
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "CannotParseRequest")
    );
    let mut body = launch_body("x");
    body.as_object_mut().map(|o| o.remove("shape"));
    let a = f.post("/20160918/instances", &body, &[]).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "MissingParameter")
    );
    let mut body = launch_body("x");
    body["metadata"]["user_data"] = json!("#cloud-config, not base64");
    let a = f.post("/20160918/instances", &body, &[]).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "InvalidParameter")
    );
    assert!(f.shared.instances().is_empty());

    let id = f.launch("node-1").await["id"].as_str().unwrap().to_string();
    let path = format!("/20160918/instances/{id}");
    let a = f.send(Method::PUT, &path, b"{}".to_vec(), &[]).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed")
    );
    let a = f.delete(&format!("{path}?preserveBootVolume=maybe")).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "InvalidParameter")
    );
    let a = f
        .send(
            Method::DELETE,
            &path,
            Vec::new(),
            &[("if-match", "not-the-etag".to_string())],
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::PRECONDITION_FAILED, "NoEtagMatch")
    );
    assert_eq!(f.instance_state(&id).await, "PROVISIONING");
    let etag = f.get(&path).await.header("etag").unwrap().to_string();
    let a = f
        .send(
            Method::DELETE,
            &format!("{path}?preserveBootVolume=true"),
            Vec::new(),
            &[("if-match", etag)],
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(f.instance_state(&id).await, "TERMINATING");
    assert_eq!(f.shared.instances()[0].preserve_boot_volume, Some(true));
}

#[tokio::test]
async fn injected_faults_and_the_rate_limit() {
    let f = fake(instant());
    f.shared.lock().fail_next_requests = 1;
    f.shared.lock().request_fault = Fault::TooManyRequests;
    let a = f.get(&list_target("")).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests")
    );
    assert_eq!(f.get(&list_target("")).await.status, StatusCode::OK);

    f.shared.lock().fail_next_launches = 1;
    let a = f.post("/20160918/instances", &launch_body("n"), &[]).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError")
    );
    f.launch("n").await;

    let f = fake(Options {
        rate_limit: Some(2),
        ..instant()
    });
    assert_eq!(f.get(&list_target("")).await.status, StatusCode::OK);
    assert_eq!(f.get(&list_target("")).await.status, StatusCode::OK);
    let a = f.get(&list_target("")).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests")
    );
    assert_eq!(f.shared.request_count(), 3);
}

#[tokio::test]
async fn start_serves_signed_requests_over_tcp() {
    let fake = FakeOci::start(
        "127.0.0.1:0".parse().unwrap(),
        KEY_ID,
        PUBLIC_KEY,
        instant(),
    )
    .await
    .unwrap();
    let base = fake.base_url();
    assert!(base.starts_with("http://127.0.0.1:"));
    let signer = Signer::new(KEY_ID, PRIVATE_KEY).unwrap();
    let client = reqwest::Client::new();

    let body = serde_json::to_vec(&launch_body("tcp-node")).unwrap();
    let url = format!("{base}/20160918/instances");
    let mut req = client.post(&url).body(body.clone());
    for (k, v) in signer.sign("POST", &url, &body).unwrap() {
        if k != "host" && k != "content-length" {
            req = req.header(k, v);
        }
    }
    let resp = req.send().await.unwrap();
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    assert_eq!(fake.instances().len(), 1);
    fake.fail_next_launches(1, Fault::ServiceUnavailable);
    fake.fail_next_requests(0, Fault::InternalServerError);

    let unsigned = client
        .get(format!("{base}/20160918/instances"))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    assert_eq!(fake.auth_failures().len(), 1);
    assert_eq!(fake.request_count(), 2);
    fake.stop().await;
}

#[test]
fn start_refuses_a_key_that_is_not_an_rsa_public_key() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(FakeOci::start(
            "127.0.0.1:0".parse().unwrap(),
            KEY_ID,
            PRIVATE_KEY,
            Options::default(),
        ))
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("RSA PRIVATE KEY"), "{err}");
}
