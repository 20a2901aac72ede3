//! The fake over real HTTPS, with a reqwest client that trusts the fake's CA (or pins its
//! fingerprint): authentication, TLS, the endpoints, the task lifecycle, error shapes and
//! the injected faults.

use std::time::Duration;

use axum::http::Method;
use serde_json::{Value, json};

use super::{FakeProxmox, Options, Running, StorageKind, StorageSeed, VmStatus};

const TOKEN: &str = "root@pam!tazhost=3f1c7a52-8a8e-4d6c-9a55-0c1b2d3e4f50";
const AUTH: &str = "PVEAPIToken=root@pam!tazhost=3f1c7a52-8a8e-4d6c-9a55-0c1b2d3e4f50";

/// Short tasks, no authentication delay.
fn fast() -> Options {
    Options {
        task_duration: Duration::from_millis(60),
        auth_failure_delay: Duration::ZERO,
        ..Options::default()
    }
}

struct Fake {
    fake: Running,
    client: reqwest::Client,
}

/// One answer: status, reason phrase, body (JSON, or the text as a JSON string).
#[derive(Debug)]
struct Answer {
    status: u16,
    reason: String,
    body: Value,
}

impl Answer {
    fn data(&self) -> &Value {
        &self.body["data"]
    }

    fn upid(&self) -> String {
        assert_eq!(self.status, 200, "{self:?}");
        self.data()
            .as_str()
            .unwrap_or_else(|| panic!("no UPID: {self:?}"))
            .to_string()
    }
}

enum Body<'a> {
    None,
    Form(&'a [(&'a str, &'a str)]),
    Raw(&'a str, Vec<u8>),
}

fn trusting_client(fake: &Running) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(fake.ca_pem().as_bytes()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap()
}

impl Fake {
    async fn start(options: Options) -> Fake {
        let fake = FakeProxmox::start("127.0.0.1:0".parse().unwrap(), TOKEN, options)
            .await
            .unwrap();
        let client = trusting_client(&fake);
        Fake { fake, client }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api2/json{path}", self.fake.base_url())
    }

    async fn send(&self, method: Method, path: &str, auth: Option<&str>, body: Body<'_>) -> Answer {
        let url = if path.starts_with("/api2/") || path == "/index.html" {
            format!("{}{path}", self.fake.base_url())
        } else {
            self.url(path)
        };
        let mut req = self.client.request(method, url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req = match body {
            Body::None => req,
            Body::Form(pairs) => {
                let mut ser = form_urlencoded::Serializer::new(String::new());
                for (k, v) in pairs {
                    ser.append_pair(k, v);
                }
                req.header("content-type", "application/x-www-form-urlencoded")
                    .body(ser.finish())
            }
            Body::Raw(ct, bytes) => req.header("content-type", ct).body(bytes),
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let reason = resp
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .or_else(|| resp.status().canonical_reason().map(String::from))
            .unwrap_or_default();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            reason,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, Some(AUTH), Body::None).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.send(Method::POST, path, Some(AUTH), Body::Form(form))
            .await
    }

    async fn put(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.send(Method::PUT, path, Some(AUTH), Body::Form(form))
            .await
    }

    async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, Some(AUTH), Body::None)
            .await
    }

    /// Polls a task until it stops; returns its status object.
    async fn wait(&self, upid: &str) -> Value {
        let path = format!("/nodes/pve/tasks/{upid}/status");
        for _ in 0..200 {
            let a = self.get(&path).await;
            assert_eq!(a.status, 200, "{a:?}");
            if a.data()["status"] == "stopped" {
                return a.data().clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("task {upid} did not stop");
    }

    /// Runs a task to its end; returns its exit status.
    async fn run(&self, a: Answer) -> String {
        let status = self.wait(&a.upid()).await;
        status["exitstatus"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// `POST /nodes/pve/storage/{storage}/upload` with these multipart parts.
    async fn upload(&self, storage: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Answer {
        let (ct, body) = multipart(parts);
        let path = format!("/nodes/pve/storage/{storage}/upload");
        self.send(Method::POST, &path, Some(AUTH), Body::Raw(&ct, body))
            .await
    }

    async fn clone_template(&self, newid: u32, name: &str) -> Answer {
        let newid = newid.to_string();
        self.post(
            "/nodes/pve/qemu/9000/clone",
            &[("newid", &newid), ("name", name)],
        )
        .await
    }
}

fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----fakecloudBoundary7MA4YWxk";
    let mut b = Vec::new();
    for (name, filename, data) in parts {
        b.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => b.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => b.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        b.extend_from_slice(data);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), b)
}

#[tokio::test]
async fn authentication_is_checked_and_refusals_carry_pves_reasons() {
    let f = Fake::start(fast()).await;
    let cases = [
        (None, "No ticket"),
        (Some("Bearer x"), "No ticket"),
        (
            Some("PVEAPIToken=root@pam!tazhost=wrong"),
            "invalid token value!",
        ),
        (
            Some("PVEAPIToken=root@pam!other=x"),
            "no such token 'other' for user 'root@pam'",
        ),
        (Some("PVEAPIToken=root@pam!tazhost"), "no tokenid specified"),
    ];
    for (auth, reason) in cases {
        let a = f.send(Method::GET, "/version", auth, Body::None).await;
        assert_eq!((a.status, a.reason.as_str()), (401, reason), "{auth:?}");
        assert_eq!(a.body, json!(reason));
    }
    // Unknown paths too: authentication comes first.
    let a = f.send(Method::GET, "/nothing", None, Body::None).await;
    assert_eq!(a.status, 401);
    let a = f.get("/version").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.data()["release"], "9.0");
    assert!(a.data()["version"].as_str().unwrap().starts_with("9."));
    assert!(f.fake.request_count() >= 7);
}

#[tokio::test]
async fn refused_authentication_is_delayed_like_pve() {
    let f = Fake::start(Options {
        auth_failure_delay: Duration::from_millis(300),
        ..fast()
    })
    .await;
    let t = std::time::Instant::now();
    let a = f.send(Method::GET, "/version", None, Body::None).await;
    assert_eq!(a.status, 401);
    assert!(t.elapsed() >= Duration::from_millis(300));
}

mod pin {
    //! A rustls verifier that accepts exactly one certificate fingerprint.
    use std::sync::Arc;

    use rustls::DigitallySignedStruct;
    use rustls::SignatureScheme;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

    #[derive(Debug)]
    pub struct Pin {
        pub fingerprint: String,
        pub provider: Arc<CryptoProvider>,
    }

    impl ServerCertVerifier for Pin {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            if super::super::tls::fingerprint(end_entity) == self.fingerprint {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(rustls::Error::General("fingerprint mismatch".into()))
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }

    pub fn client(fingerprint: &str) -> reqwest::Client {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pin {
                fingerprint: fingerprint.to_string(),
                provider,
            }))
            .with_no_client_auth();
        reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .build()
            .unwrap()
    }
}

#[tokio::test]
async fn tls_needs_the_ca_or_the_pinned_fingerprint() {
    let f = Fake::start(fast()).await;
    let url = f.url("/version");
    // The fingerprint is the SHA-256 of the node certificate the server presents.
    use base64::Engine as _;
    let b64: String = f
        .fake
        .cert_pem()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(super::tls::fingerprint(&der), f.fake.fingerprint());
    assert_eq!(f.fake.fingerprint().len(), 95);
    assert!(f.fake.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));

    // No CA, no pin: refused.
    let plain = reqwest::Client::builder().build().unwrap();
    let err = plain
        .get(&url)
        .header("authorization", AUTH)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    // Another CA: refused.
    let other = FakeProxmox::start("127.0.0.1:0".parse().unwrap(), TOKEN, fast())
        .await
        .unwrap();
    let wrong_ca = trusting_client(&other);
    assert!(
        wrong_ca
            .get(&url)
            .header("authorization", AUTH)
            .send()
            .await
            .is_err()
    );
    // The right CA, the right pin: accepted; the wrong pin: refused.
    let a = f.get("/version").await;
    assert_eq!(a.status, 200);
    let pinned = pin::client(f.fake.fingerprint());
    let ok = pinned
        .get(&url)
        .header("authorization", AUTH)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let wrong_pin = pin::client(other.fingerprint());
    assert!(
        wrong_pin
            .get(&url)
            .header("authorization", AUTH)
            .send()
            .await
            .is_err()
    );
    // localhost is in the certificate too.
    let by_name = format!(
        "https://localhost:{}/api2/json/version",
        f.fake.addr().port()
    );
    let a = f
        .client
        .get(by_name)
        .header("authorization", AUTH)
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 200);
}

#[tokio::test]
async fn plain_http_is_redirected_to_https() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let f = Fake::start(fast()).await;
    let mut tcp = tokio::net::TcpStream::connect(f.fake.addr()).await.unwrap();
    let host = format!("127.0.0.1:{}", f.fake.addr().port());
    tcp.write_all(format!("GET /api2/json/version HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.unwrap();
    assert!(
        out.starts_with("HTTP/1.1 301 Moved Permanently\r\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!("Location: https://{host}/api2/json/version\r\n")),
        "{out}"
    );
}

#[tokio::test]
async fn nodes_nextid_and_resources() {
    let f = Fake::start(fast()).await;
    let nodes = f.get("/nodes").await;
    assert_eq!(nodes.data()[0]["node"], "pve");
    assert_eq!(nodes.data()[0]["status"], "online");
    assert_eq!(nodes.data()[0]["ssl_fingerprint"], f.fake.fingerprint());

    // A string, as PVE sends it.
    assert_eq!(f.get("/cluster/nextid").await.data(), &json!("100"));
    assert_eq!(
        f.get("/cluster/nextid?vmid=150").await.data(),
        &json!("150")
    );
    let taken = f.get("/cluster/nextid?vmid=9000").await;
    assert_eq!(
        (taken.status, taken.reason.as_str()),
        (400, "Parameter verification failed.")
    );
    assert_eq!(taken.body["errors"]["vmid"], "VM 9000 already exists");
    assert_eq!(taken.body["data"], Value::Null);
    let bad = f.get("/cluster/nextid?vmid=99").await;
    assert_eq!(
        bad.body["errors"]["vmid"],
        "invalid format - value does not look like a valid VM ID\n"
    );

    let all = f.get("/cluster/resources").await;
    let types: Vec<&str> = all
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["qemu", "node", "storage", "storage"]);
    let vms = f.get("/cluster/resources?type=vm").await;
    let t = &vms.data()[0];
    assert_eq!(t["id"], "qemu/9000");
    assert_eq!(t["vmid"], 9000);
    assert_eq!(t["name"], "talos-template");
    assert_eq!(t["node"], "pve");
    assert_eq!(t["status"], "stopped");
    assert_eq!(t["template"], 1);
    assert_eq!(t["maxmem"], 2048u64 << 20);
    assert_eq!(t["maxcpu"], 2);
    assert_eq!(t["maxdisk"], 20u64 << 30);
    let bad = f.get("/cluster/resources?type=vms").await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.body["errors"]["type"],
        "value 'vms' does not have a value in the enumeration 'vm, storage, node, sdn'"
    );
    let list = f.get("/nodes/pve/qemu").await;
    assert_eq!(list.data()[0]["vmid"], 9000);
    assert_eq!(list.data()[0]["template"], 1);
    assert_eq!(list.data()[0]["status"], "stopped");
}

#[tokio::test]
async fn a_clone_runs_as_a_task_and_the_new_vm_is_locked_meanwhile() {
    let f = Fake::start(Options {
        task_duration: Duration::from_millis(400),
        ..fast()
    })
    .await;
    let a = f.clone_template(100, "talos-w1").await;
    let upid = a.upid();
    let parts: Vec<&str> = upid.split(':').collect();
    assert_eq!(parts.len(), 9, "{upid}");
    assert_eq!(
        (parts[0], parts[1], parts[5], parts[6], parts[7], parts[8]),
        ("UPID", "pve", "qmclone", "9000", "root@pam!tazhost", "")
    );
    for hex in &parts[2..5] {
        assert_eq!(hex.len(), 8, "{upid}");
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
            "{upid}"
        );
    }

    // While it runs: the new VM exists, locked.
    let st = f.get(&format!("/nodes/pve/tasks/{upid}/status")).await;
    assert_eq!(st.data()["status"], "running");
    assert!(st.data().get("exitstatus").is_none());
    let vm = f.fake.vm(100).unwrap();
    assert_eq!(vm.lock.as_deref(), Some("clone"));
    let conf = f.get("/nodes/pve/qemu/100/config").await;
    assert_eq!(conf.data()["lock"], "clone");
    let res = f.get("/cluster/resources?type=vm").await;
    assert!(
        res.data()
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["vmid"] == 100 && e["lock"] == "clone")
    );
    // Starting it now fails in the task.
    assert_eq!(
        f.run(f.post("/nodes/pve/qemu/100/status/start", &[]).await)
            .await,
        "VM is locked (clone)"
    );
    assert_eq!(f.get("/cluster/nextid").await.data(), &json!("101"));

    let done = f.wait(&upid).await;
    assert_eq!(done["exitstatus"], "OK");
    assert_eq!(done["type"], "qmclone");
    assert_eq!(done["id"], "9000");
    assert_eq!(done["user"], "root@pam!tazhost");
    assert_eq!(done["node"], "pve");
    assert_eq!(done["upid"], upid.as_str());
    assert!(
        done["pid"].as_u64().unwrap() > 0 && done["starttime"].as_u64().unwrap() > 1_600_000_000
    );
    assert!(done["pstart"].as_u64().unwrap() > 0);

    let vm = f.fake.vm(100).unwrap();
    let template = f.fake.vm(9000).unwrap();
    assert_eq!(vm.lock, None);
    assert_eq!(vm.name.as_deref(), Some("talos-w1"));
    assert!(!vm.template && vm.status == VmStatus::Stopped);
    assert_eq!(
        vm.config["scsi0"],
        "local-lvm:base-9000-disk-0/vm-100-disk-0,iothread=1,size=20G"
    );
    assert_ne!(vm.config["net0"], template.config["net0"]);
    assert!(
        vm.config["net0"].starts_with("virtio=BC:24:11:")
            && vm.config["net0"].ends_with(",bridge=vmbr0,firewall=1")
    );
    assert_ne!(vm.config["smbios1"], template.config["smbios1"]);
    assert!(!vm.config.contains_key("template"));
    let log = f.get(&format!("/nodes/pve/tasks/{upid}/log")).await;
    let lines = log.data().as_array().unwrap();
    assert_eq!(lines[0]["n"], 1);
    assert_eq!(lines.last().unwrap()["t"], "TASK OK");
    assert_eq!(log.body["total"], lines.len());
    let images = f.get("/nodes/pve/storage/local-lvm/content?vmid=100").await;
    assert_eq!(
        images.data()[0]["volid"],
        "local-lvm:base-9000-disk-0/vm-100-disk-0"
    );

    // A full clone gets its own volume.
    let full = f
        .post(
            "/nodes/pve/qemu/9000/clone",
            &[
                ("newid", "101"),
                ("full", "1"),
                ("name", "talos-w2"),
                ("storage", "local-lvm"),
            ],
        )
        .await;
    assert_eq!(f.run(full).await, "OK");
    assert_eq!(
        f.fake.vm(101).unwrap().config["scsi0"],
        "local-lvm:vm-101-disk-0,iothread=1,size=20G"
    );
    // A clone of a clone must be full, and gets a generated name.
    let again = f
        .post("/nodes/pve/qemu/101/clone", &[("newid", "102")])
        .await;
    assert_eq!(f.run(again).await, "OK");
    assert_eq!(
        f.fake.vm(102).unwrap().name.as_deref(),
        Some("Copy-of-VM-talos-w2")
    );
}

/// Source VMID, form, status, reason phrase.
type CloneCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);

#[tokio::test]
async fn clone_errors_are_pves() {
    let f = Fake::start(fast()).await;
    assert_eq!(f.run(f.clone_template(100, "w1").await).await, "OK");
    let cases: [CloneCase; 6] = [
        (
            "9000",
            vec![("newid", "100")],
            500,
            "unable to create VM 100: config file already exists",
        ),
        (
            "100",
            vec![("newid", "101"), ("full", "0")],
            500,
            "Linked clone feature is not supported for 'local-lvm:base-9000-disk-0/vm-100-disk-0' (scsi0)",
        ),
        (
            "9000",
            vec![("newid", "101"), ("storage", "local-lvm")],
            500,
            "parameter 'storage' not allowed for linked clones",
        ),
        (
            "123",
            vec![("newid", "101")],
            500,
            "Configuration file 'nodes/pve/qemu-server/123.conf' does not exist",
        ),
        (
            "9000",
            vec![("newid", "101"), ("pool", "nope")],
            403,
            "Permission check failed (pool 'nope' does not exist)",
        ),
        (
            "9000",
            vec![("newid", "101"), ("full", "1"), ("storage", "local")],
            400,
            "Parameter verification failed.",
        ),
    ];
    for (src, form, status, reason) in cases {
        let a = f.post(&format!("/nodes/pve/qemu/{src}/clone"), &form).await;
        assert_eq!((a.status, a.reason.as_str()), (status, reason), "{form:?}");
        assert_eq!(a.body["data"], Value::Null);
    }
    let a = f
        .post(
            "/nodes/pve/qemu/9000/clone",
            &[("newid", "101"), ("full", "1"), ("storage", "local")],
        )
        .await;
    assert_eq!(
        a.body["errors"]["storage"],
        "storage 'local' does not support vm images"
    );
    let a = f
        .post("/nodes/pve/qemu/9000/clone", &[("name", "x_y")])
        .await;
    assert_eq!(
        a.body["errors"],
        json!({
            "newid": "property is missing and it is not optional",
            "name": "invalid format - value does not look like a valid DNS name\n",
        })
    );
    assert_eq!(a.body["message"], "Parameter verification failed.\n");
    // Nothing was created by the refused calls.
    assert_eq!(f.fake.vms().len(), 2);
}

#[tokio::test]
async fn failing_and_half_done_clones() {
    let f = Fake::start(Options {
        fail_next_clones: 1,
        ..fast()
    })
    .await;
    let status = f.run(f.clone_template(100, "w1").await).await;
    assert!(
        status.starts_with("clone failed: lvcreate 'pve/"),
        "{status}"
    );
    assert!(f.fake.vm(100).is_none(), "PVE removes a failed clone");
    assert!(f.fake.tasks()[0].exitstatus.as_deref() == Some(status.as_str()));
    // The next one works.
    assert_eq!(f.run(f.clone_template(100, "w1").await).await, "OK");

    f.fake.set_half_done_next_clones(1);
    let a = f.clone_template(101, "w2").await;
    let upid = a.upid();
    assert_eq!(f.run(a).await, "unexpected status");
    let vm = f.fake.vm(101).expect("the half-done VM stays");
    assert_eq!(vm.lock.as_deref(), Some("clone"));
    assert_eq!(vm.name.as_deref(), Some("w2"));
    let log = f.get(&format!("/nodes/pve/tasks/{upid}/log")).await;
    assert!(
        !log.data()
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["t"].as_str().unwrap().starts_with("TASK"))
    );
    // It can be found, but neither started nor destroyed while locked.
    let res = f.get("/cluster/resources?type=vm").await;
    assert!(
        res.data()
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "w2" && e["lock"] == "clone")
    );
    assert_eq!(
        f.run(f.post("/nodes/pve/qemu/101/status/start", &[]).await)
            .await,
        "VM is locked (clone)"
    );
    assert_eq!(
        f.run(f.delete("/nodes/pve/qemu/101?purge=1").await).await,
        "VM is locked (clone)"
    );
    let a = f.put("/nodes/pve/qemu/101/config", &[("cores", "2")]).await;
    assert_eq!((a.status, a.reason.as_str()), (500, "VM is locked (clone)"));
    let a = f.delete("/nodes/pve/qemu/101?skiplock=1").await;
    assert_eq!(
        a.body["errors"]["skiplock"],
        "Only root may use this option."
    );
    // The operator unlocks it (`qm unlock`); then it can go.
    assert!(f.fake.unlock_vm(101));
    assert_eq!(
        f.run(f.delete("/nodes/pve/qemu/101?purge=1").await).await,
        "OK"
    );
    assert!(f.fake.vm(101).is_none());
}

/// Form, status, reason phrase, expected `errors` entry.
type ConfigCase<'a> = (
    Vec<(&'a str, &'a str)>,
    u16,
    &'a str,
    Option<(&'a str, &'a str)>,
);

#[tokio::test]
async fn config_is_read_written_and_checked() {
    let f = Fake::start(fast()).await;
    assert_eq!(f.run(f.clone_template(100, "w1").await).await, "OK");
    let a = f
        .put(
            "/nodes/pve/qemu/100/config",
            &[
                ("cores", "4"),
                ("sockets", "1"),
                ("memory", "4096"),
                ("cpu", "host"),
                ("tags", "tazhost,pool-workers;tazhost Cluster-A"),
                ("description", "managed by tazhost"),
                ("net1", "virtio,bridge=vmbr0"),
                ("onboot", "true"),
                ("scsi1", "local-lvm:10"),
                (
                    "smbios1",
                    "uuid=7dd1c2a8-4a5d-4c86-9c49-3e5c4d1f1a01,serial=ZHM9aHR0cA==",
                ),
                ("boot", "order=scsi0;ide2;net0"),
            ],
        )
        .await;
    assert_eq!((a.status, a.data()), (200, &Value::Null), "{a:?}");
    let conf = f.get("/nodes/pve/qemu/100/config").await;
    let c = conf.data();
    assert_eq!(c["cores"], 4);
    assert_eq!(c["onboot"], 1);
    assert_eq!(c["memory"], "4096");
    assert_eq!(c["tags"], "Cluster-A;pool-workers;tazhost");
    assert!(c["net1"].as_str().unwrap().starts_with("virtio=BC:24:11:"));
    assert_eq!(c["scsi1"], "local-lvm:vm-100-disk-1,size=10G");
    assert_eq!(c["digest"].as_str().unwrap().len(), 40);
    let vm = f.fake.vm(100).unwrap();
    assert_eq!(vm.tags, ["Cluster-A", "pool-workers", "tazhost"]);

    // Deleting a disk leaves it as unusedN; deleting a device drops it from the boot order.
    let a = f
        .put("/nodes/pve/qemu/100/config", &[("delete", "scsi1,net0")])
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let vm = f.fake.vm(100).unwrap();
    assert_eq!(vm.config["unused0"], "local-lvm:vm-100-disk-1");
    assert_eq!(vm.config["boot"], "order=scsi0;ide2");

    // Asynchronous: a qmconfig task, applied when it ends.
    let a = f
        .post("/nodes/pve/qemu/100/config", &[("cores", "8")])
        .await;
    let upid = a.upid();
    assert!(upid.contains(":qmconfig:100:"), "{upid}");
    assert_eq!(f.wait(&upid).await["exitstatus"], "OK");
    assert_eq!(f.fake.vm(100).unwrap().config["cores"], "8");
    let a = f
        .post(
            "/nodes/pve/qemu/100/config",
            &[("memory", "2048"), ("background_delay", "5")],
        )
        .await;
    assert_eq!((a.status, a.data()), (200, &Value::Null));

    // Errors.
    let digest = conf.data()["digest"].as_str().unwrap().to_string();
    let cases: Vec<ConfigCase> = vec![
        (
            vec![("bogus", "1")],
            400,
            "Parameter verification failed.",
            Some((
                "bogus",
                "property is not defined in schema and the schema does not allow additional properties",
            )),
        ),
        (
            vec![("cores", "x")],
            400,
            "Parameter verification failed.",
            Some(("cores", "type check ('integer') failed - got 'x'")),
        ),
        (
            vec![("cores", "0")],
            400,
            "Parameter verification failed.",
            Some(("cores", "value must have a minimum value of 1")),
        ),
        (
            vec![("tags", "a b/c")],
            400,
            "Parameter verification failed.",
            Some(("tags", "invalid format - invalid characters in tag\n")),
        ),
        (
            vec![("cores", "2"), ("delete", "cores")],
            400,
            "Parameter verification failed.",
            Some((
                "delete",
                "you can't use '-cores' and -delete cores' at the same time",
            )),
        ),
        (
            vec![("delete", "nonsense")],
            400,
            "Parameter verification failed.",
            Some(("delete", "unknown option 'nonsense'")),
        ),
        (
            vec![("ide2", "local:iso/cidata.iso")],
            400,
            "Parameter verification failed.",
            Some(("ide2", "explicit 'media=cdrom' is required for iso images")),
        ),
        (
            vec![("scsi2", "local:5")],
            400,
            "Parameter verification failed.",
            Some(("storage", "storage 'local' does not support vm images")),
        ),
        (
            vec![("force", "1")],
            400,
            "Parameter verification failed.",
            Some((
                "delete",
                "missing property - 'force' requires this property",
            )),
        ),
        (vec![], 500, "no options specified", None),
        (
            vec![("cores", "2"), ("digest", &digest)],
            500,
            "checksum mismatch (file change by other user?)",
            None,
        ),
        (
            vec![("boot", "order=scsi0;virtio7")],
            500,
            "invalid bootorder: device 'virtio7' does not exist'",
            None,
        ),
        (
            vec![("scsi2", "nowhere:5")],
            500,
            "storage 'nowhere' does not exist",
            None,
        ),
    ];
    for (form, status, reason, error) in cases {
        let a = f.put("/nodes/pve/qemu/100/config", &form).await;
        assert_eq!(
            (a.status, a.reason.as_str()),
            (status, reason),
            "{form:?}: {a:?}"
        );
        if let Some((k, v)) = error {
            assert_eq!(a.body["errors"][k], v, "{form:?}");
        } else {
            assert_eq!(a.body["message"], format!("{reason}\n"));
        }
    }
    // POST finds the boot order problem inside the task.
    let a = f
        .post("/nodes/pve/qemu/100/config", &[("boot", "order=virtio7")])
        .await;
    assert_eq!(
        f.run(a).await,
        "invalid bootorder: device 'virtio7' does not exist'"
    );
    // Unknown VM.
    let a = f.get("/nodes/pve/qemu/555/config").await;
    assert_eq!(
        (a.status, a.reason.as_str()),
        (
            500,
            "Configuration file 'nodes/pve/qemu-server/555.conf' does not exist"
        )
    );
}

#[tokio::test]
async fn resize_grows_disks_and_refuses_to_shrink_them() {
    let f = Fake::start(fast()).await;
    assert_eq!(f.run(f.clone_template(100, "w1").await).await, "OK");
    let a = f
        .put(
            "/nodes/pve/qemu/100/resize",
            &[("disk", "scsi0"), ("size", "+10G")],
        )
        .await;
    assert!(a.upid().contains(":resize:100:"));
    assert_eq!(f.run(a).await, "OK");
    assert_eq!(
        f.fake.vm(100).unwrap().config["scsi0"],
        "local-lvm:base-9000-disk-0/vm-100-disk-0,iothread=1,size=30G"
    );
    let a = f
        .put(
            "/nodes/pve/qemu/100/resize",
            &[("disk", "scsi0"), ("size", "32G")],
        )
        .await;
    assert_eq!(f.run(a).await, "OK");
    let a = f
        .put(
            "/nodes/pve/qemu/100/resize",
            &[("disk", "scsi0"), ("size", "10G")],
        )
        .await;
    assert_eq!(f.run(a).await, "shrinking disks is not supported");
    let a = f
        .put(
            "/nodes/pve/qemu/100/resize",
            &[("disk", "scsi5"), ("size", "+1G")],
        )
        .await;
    assert_eq!(f.run(a).await, "disk 'scsi5' does not exist");
    let a = f
        .put(
            "/nodes/pve/qemu/100/resize",
            &[("disk", "ide2"), ("size", "+1G")],
        )
        .await;
    assert_eq!(f.run(a).await, "disk 'ide2' has no associated volume");
    let a = f
        .put(
            "/nodes/pve/qemu/100/resize",
            &[("disk", "scsi0"), ("size", "ten")],
        )
        .await;
    assert_eq!(
        a.body["errors"]["size"],
        "value does not match the regex pattern"
    );
    let a = f
        .put(
            "/nodes/pve/qemu/100/resize",
            &[("disk", "sda"), ("size", "1G")],
        )
        .await;
    assert!(
        a.body["errors"]["disk"]
            .as_str()
            .unwrap()
            .starts_with("value 'sda' does not have a value in the enumeration 'ide0, ide1")
    );
}

#[tokio::test]
async fn power_and_status_follow_qemu_server() {
    let f = Fake::start(fast()).await;
    let start = |vmid: &str| format!("/nodes/pve/qemu/{vmid}/status/start");
    assert_eq!(
        f.run(f.post(&start("9000"), &[]).await).await,
        "you can't start a vm if it's a template"
    );
    assert_eq!(
        f.run(f.post(&start("555"), &[]).await).await,
        "Configuration file 'nodes/pve/qemu-server/555.conf' does not exist"
    );
    assert_eq!(f.run(f.clone_template(100, "w1").await).await, "OK");
    let a = f
        .put(
            "/nodes/pve/qemu/100/config",
            &[("ide2", "local:iso/missing.iso,media=cdrom")],
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        f.run(f.post(&start("100"), &[]).await).await,
        "volume 'local:iso/missing.iso' does not exist"
    );
    f.put(
        "/nodes/pve/qemu/100/config",
        &[
            ("ide2", "none,media=cdrom"),
            ("net1", "virtio,bridge=vmbr9"),
        ],
    )
    .await;
    assert_eq!(
        f.run(f.post(&start("100"), &[]).await).await,
        "bridge 'vmbr9' does not exist"
    );
    f.put("/nodes/pve/qemu/100/config", &[("delete", "net1")])
        .await;

    let a = f.post(&start("100"), &[]).await;
    assert!(a.upid().contains(":qmstart:100:"));
    assert_eq!(f.run(a).await, "OK");
    let st = f.get("/nodes/pve/qemu/100/status/current").await;
    let s = st.data();
    assert_eq!(
        (s["status"].as_str(), s["qmpstatus"].as_str()),
        (Some("running"), Some("running"))
    );
    assert_eq!(s["vmid"], 100);
    assert_eq!(s["name"], "w1");
    assert_eq!(s["agent"], 1);
    assert_eq!(s["ha"], json!({"managed": 0}));
    assert!(s["pid"].as_u64().unwrap() > 0);
    assert_eq!(s["cpus"], 2);
    assert_eq!(f.fake.vm(100).unwrap().status, VmStatus::Running);
    assert_eq!(
        f.run(f.post(&start("100"), &[]).await).await,
        "VM 100 already running"
    );
    let a = f.delete("/nodes/pve/qemu/100").await;
    assert_eq!(
        (a.status, a.reason.as_str()),
        (500, "VM 100 is running - destroy failed")
    );
    let a = f
        .post("/nodes/pve/qemu/100/status/start", &[("skiplock", "1")])
        .await;
    assert_eq!(
        a.body["errors"]["skiplock"],
        "Only root may use this option."
    );

    let a = f
        .post("/nodes/pve/qemu/100/status/shutdown", &[("timeout", "30")])
        .await;
    assert!(a.upid().contains(":qmshutdown:100:"));
    assert_eq!(f.run(a).await, "OK");
    let st = f.get("/nodes/pve/qemu/100/status/current").await;
    assert_eq!(st.data()["status"], "stopped");
    assert_eq!(st.data()["qmpstatus"], "stopped");
    // Stopping a stopped VM is fine; stopping a missing one fails in the task.
    assert_eq!(
        f.run(f.post("/nodes/pve/qemu/100/status/stop", &[]).await)
            .await,
        "OK"
    );
    assert_eq!(
        f.run(f.post("/nodes/pve/qemu/555/status/stop", &[]).await)
            .await,
        "unable to find configuration file for VM 555 on node 'pve'"
    );
    assert_eq!(f.run(f.post(&start("100"), &[]).await).await, "OK");
    assert_eq!(
        f.run(f.post("/nodes/pve/qemu/100/status/stop", &[]).await)
            .await,
        "OK"
    );
    assert_eq!(f.fake.vm(100).unwrap().status, VmStatus::Stopped);
    let a = f.get("/nodes/pve/qemu/555/status/current").await;
    assert_eq!(a.status, 500);
}

#[tokio::test]
async fn destroy_removes_the_vm_and_its_disks() {
    let f = Fake::start(Options {
        task_duration: Duration::from_millis(300),
        ..fast()
    })
    .await;
    assert_eq!(f.run(f.clone_template(100, "w1").await).await, "OK");
    f.put("/nodes/pve/qemu/100/config", &[("scsi1", "local-lvm:4")])
        .await;
    let a = f
        .delete("/nodes/pve/qemu/100?purge=1&destroy-unreferenced-disks=1")
        .await;
    let upid = a.upid();
    assert!(upid.contains(":qmdestroy:100:"));
    assert_eq!(
        f.fake
            .vm(100)
            .unwrap()
            .config
            .get("lock")
            .map(String::as_str),
        Some("destroyed")
    );
    assert_eq!(f.wait(&upid).await["exitstatus"], "OK");
    assert!(f.fake.vm(100).is_none());
    let images = f.get("/nodes/pve/storage/local-lvm/content").await;
    let volids: Vec<&str> = images
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["volid"].as_str().unwrap())
        .collect();
    assert_eq!(volids, ["local-lvm:base-9000-disk-0"]);
    let a = f.delete("/nodes/pve/qemu/100").await;
    assert_eq!(
        (a.status, a.reason.as_str()),
        (
            500,
            "Configuration file 'nodes/pve/qemu-server/100.conf' does not exist"
        )
    );
    // Protected VMs are refused.
    assert_eq!(f.run(f.clone_template(101, "w2").await).await, "OK");
    f.put("/nodes/pve/qemu/101/config", &[("protection", "1")])
        .await;
    let a = f.delete("/nodes/pve/qemu/101").await;
    assert_eq!(
        (a.status, a.reason.as_str()),
        (500, "can't remove VM 101 - protection mode enabled")
    );
    // The template's base volume stays while a linked clone uses it.
    f.put("/nodes/pve/qemu/101/config", &[("delete", "protection")])
        .await;
    let status = f.run(f.delete("/nodes/pve/qemu/9000").await).await;
    assert_eq!(status, "WARNINGS: 1");
    assert!(f.fake.vm(9000).is_none());
    let images = f.get("/nodes/pve/storage/local-lvm/content").await;
    assert!(
        images
            .data()
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["volid"] == "local-lvm:base-9000-disk-0")
    );
}

#[tokio::test]
async fn iso_upload_list_and_delete() {
    let mut options = fast();
    options.storages.push(StorageSeed::new(
        "dump",
        StorageKind::Dir,
        &["backup"],
        1 << 30,
    ));
    let f = Fake::start(options).await;
    let iso: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let a = f
        .upload(
            "local",
            &[
                ("content", None, b"iso"),
                ("filename", Some("cidata-w1.iso"), &iso),
            ],
        )
        .await;
    let upid = a.upid();
    assert!(upid.contains(":imgcopy::root@pam!tazhost:"), "{upid}");
    assert_eq!(f.wait(&upid).await["exitstatus"], "OK");
    assert_eq!(f.fake.upload("local:iso/cidata-w1.iso"), Some(iso.clone()));
    let list = f.get("/nodes/pve/storage/local/content?content=iso").await;
    let e = &list.data()[0];
    assert_eq!(e["volid"], "local:iso/cidata-w1.iso");
    assert_eq!(e["format"], "iso");
    assert_eq!(e["content"], "iso");
    assert_eq!(e["size"], iso.len());
    assert!(e["ctime"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(
        f.get("/nodes/pve/storage/local-lvm/content?content=iso")
            .await
            .data(),
        &json!([])
    );

    // Checksums are verified in the task.
    let sum = {
        use sha2::Digest;
        sha2::Sha256::digest(&iso)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let a = f
        .upload(
            "local",
            &[
                ("content", None, b"iso"),
                ("checksum-algorithm", None, b"sha256"),
                ("checksum", None, sum.as_bytes()),
                ("filename", Some("b.iso"), &iso),
            ],
        )
        .await;
    assert_eq!(f.run(a).await, "OK");
    let a = f
        .upload(
            "local",
            &[
                ("content", None, b"iso"),
                ("checksum-algorithm", None, b"sha256"),
                ("checksum", None, b"00"),
                ("filename", Some("c.iso"), &iso),
            ],
        )
        .await;
    assert_eq!(
        f.run(a).await,
        format!("checksum mismatch: got '{sum}' != expect '00'")
    );
    assert!(f.fake.upload("local:iso/c.iso").is_none());

    // Refusals.
    let a = f
        .upload(
            "local-lvm",
            &[("content", None, b"iso"), ("filename", Some("a.iso"), b"x")],
        )
        .await;
    assert_eq!(
        (a.status, a.reason.as_str()),
        (500, "can't upload to storage type 'lvmthin'")
    );
    let a = f
        .upload(
            "dump",
            &[("content", None, b"iso"), ("filename", Some("a.iso"), b"x")],
        )
        .await;
    assert_eq!(
        (a.status, a.reason.as_str()),
        (500, "storage 'dump' does not support 'iso' content")
    );
    let a = f
        .upload(
            "local",
            &[("content", None, b"iso"), ("filename", Some("a.txt"), b"x")],
        )
        .await;
    assert_eq!(a.body["errors"]["filename"], "wrong file extension");
    let a = f
        .upload(
            "local",
            &[
                ("content", None, b"snippets"),
                ("filename", Some("a.yaml"), b"x"),
            ],
        )
        .await;
    assert_eq!(
        a.body["errors"]["content"],
        "value 'snippets' does not have a value in the enumeration 'iso, vztmpl, import'"
    );
    let a = f
        .upload(
            "local",
            &[("content", None, b"iso"), ("file", Some("a.iso"), b"x")],
        )
        .await;
    assert_eq!(
        (a.status, a.reason.as_str()),
        (
            501,
            "wrong field name 'file' for file upload, expected 'filename'"
        )
    );
    let a = f
        .upload(
            "nowhere",
            &[("content", None, b"iso"), ("filename", Some("a.iso"), b"x")],
        )
        .await;
    assert_eq!(
        (a.status, a.reason.as_str()),
        (500, "storage 'nowhere' does not exist")
    );

    // Delete, by full or relative volume id; a missing file only warns.
    let a = f
        .delete("/nodes/pve/storage/local/content/local:iso/cidata-w1.iso")
        .await;
    assert!(a.upid().contains(":imgdel:local:"));
    assert_eq!(f.run(a).await, "OK");
    assert!(f.fake.upload("local:iso/cidata-w1.iso").is_none());
    let a = f
        .delete("/nodes/pve/storage/local/content/iso%2Fcidata-w1.iso")
        .await;
    assert_eq!(f.run(a).await, "WARNINGS: 1");
    let a = f
        .delete("/nodes/pve/storage/local/content/other:iso/x.iso")
        .await;
    assert_eq!(
        a.body["errors"]["volume"],
        "storage ID mismatch (other != local)\n"
    );
}

#[tokio::test]
async fn error_shapes_follow_the_pve_http_server() {
    let f = Fake::start(fast()).await;
    let a = f.get("/nodes/pve/nothing").await;
    assert_eq!(
        (a.status, a.reason.as_str()),
        (501, "Method 'GET /nodes/pve/nothing' not implemented")
    );
    assert_eq!(
        a.body,
        json!({"data": null, "message": "Method 'GET /nodes/pve/nothing' not implemented"})
    );
    let a = f
        .send(Method::PATCH, "/version", Some(AUTH), Body::None)
        .await;
    assert_eq!(
        (a.status, a.reason.as_str()),
        (501, "method 'PATCH' not available")
    );
    let a = f
        .send(Method::DELETE, "/version", Some(AUTH), Body::None)
        .await;
    assert_eq!(a.reason, "Method 'DELETE /version' not implemented");
    let a = f
        .send(
            Method::GET,
            "/version",
            Some(AUTH),
            Body::Form(&[("x", "1")]),
        )
        .await;
    assert_eq!(
        (a.status, a.reason.as_str()),
        (501, "Unexpected content for method 'GET'")
    );
    let a = f.get("/nodes/elsewhere/qemu").await;
    assert_eq!(a.status, 500);
    assert!(
        a.reason.starts_with("hostname lookup 'elsewhere' failed"),
        "{}",
        a.reason
    );
    let a = f.get("/nodes/localhost/qemu").await;
    assert_eq!(a.status, 200);
    let a = f.get("/nodes/pve/qemu/9000/config?vmid=9000").await;
    assert_eq!(
        a.body["errors"]["vmid"],
        "duplicate parameter (already defined in URI)"
    );
    let a = f.get("/nodes/pve/qemu/abc/config").await;
    assert_eq!(
        a.body["errors"]["vmid"],
        "type check ('integer') failed - got 'abc'"
    );
    let a = f
        .send(Method::GET, "/api2/extjs/version", Some(AUTH), Body::None)
        .await;
    assert_eq!(
        (a.status, a.reason.as_str()),
        (501, "no formatter for uri /version, extjs")
    );
    let a = f
        .send(Method::GET, "/index.html", Some(AUTH), Body::None)
        .await;
    assert_eq!(a.status, 501);
    // JSON bodies are accepted, as PVE accepts them.
    let a = f
        .send(
            Method::POST,
            "/nodes/pve/qemu/9000/clone",
            Some(AUTH),
            Body::Raw(
                "application/json",
                br#"{"newid":105,"full":true,"name":"j1"}"#.to_vec(),
            ),
        )
        .await;
    assert_eq!(f.run(a).await, "OK");
    assert_eq!(f.fake.vm(105).unwrap().name.as_deref(), Some("j1"));
    let a = f.get("/nodes/pve/tasks/nonsense/status").await;
    assert_eq!(a.body["errors"]["upid"], "unable to parse worker upid");
    let a = f
        .get("/nodes/pve/tasks/UPID:pve:00001234:00001234:65000000:qmstart:100:root@pam:/status")
        .await;
    assert_eq!(a.body["errors"]["upid"], "no such task");
}

#[tokio::test]
async fn injected_request_failures_then_recovery() {
    let f = Fake::start(fast()).await;
    f.fake.set_fail_next_requests(2, 503);
    for _ in 0..2 {
        let a = f.get("/version").await;
        assert_eq!((a.status, a.reason.as_str()), (503, "Service Unavailable"));
    }
    assert_eq!(f.get("/version").await.status, 200);
    f.fake.set_fail_next_requests(1, 500);
    let a = f.get("/cluster/nextid").await;
    assert_eq!(
        (a.status, a.reason.as_str()),
        (500, "cluster not ready - no quorum?")
    );
    // Unauthenticated requests are refused before any injected failure.
    f.fake.set_fail_next_requests(1, 500);
    assert_eq!(
        f.send(Method::GET, "/version", None, Body::None)
            .await
            .status,
        401
    );
    assert_eq!(f.get("/version").await.status, 500);
}

#[tokio::test]
async fn pvestatd_lag_hides_new_vms_in_cluster_resources() {
    let f = Fake::start(Options {
        stats_interval: Duration::from_secs(3600),
        ..fast()
    })
    .await;
    assert_eq!(f.run(f.clone_template(100, "w1").await).await, "OK");
    f.put("/nodes/pve/qemu/100/config", &[("tags", "tazhost")])
        .await;
    let res = f.get("/cluster/resources?type=vm").await;
    let new = res
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["vmid"] == 100)
        .unwrap()
        .clone();
    assert_eq!(new["status"], "unknown");
    assert!(new.get("name").is_none());
    assert_eq!(new["tags"], "tazhost", "tags come from the config at once");
    // The template was seen long ago.
    let template = res
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["vmid"] == 9000);
    assert_eq!(template.unwrap()["name"], "talos-template");
}

#[tokio::test]
async fn seeds_follow_the_options() {
    let f = Fake::start(Options {
        node: "pve7".into(),
        template: Some(super::TemplateSeed {
            vmid: 8000,
            name: "other-template".into(),
            ..super::TemplateSeed::default()
        }),
        pools: vec!["tazhost".into()],
        ..fast()
    })
    .await;
    let a = f.get("/nodes/pve7/qemu").await;
    assert_eq!(a.data()[0]["vmid"], 8000);
    assert_eq!(a.data()[0]["name"], "other-template");
    assert_eq!(f.get("/nodes/pve/qemu").await.status, 500);
    let a = f
        .post(
            "/nodes/pve7/qemu/8000/clone",
            &[("newid", "100"), ("pool", "tazhost")],
        )
        .await;
    let upid = a.upid();
    assert!(upid.starts_with("UPID:pve7:"));
    let status = f.get(&format!("/nodes/pve7/tasks/{upid}/status")).await;
    assert_eq!(status.status, 200);
    let res = f.get("/cluster/resources?type=vm").await;
    assert!(
        res.data()
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["vmid"] == 100 && e["pool"] == "tazhost")
    );
    let storages = f.get("/nodes/pve7/storage?content=iso").await;
    assert_eq!(storages.data()[0]["storage"], "local");
    assert_eq!(storages.data().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn start_refuses_malformed_tokens_and_stop_ends_the_server() {
    for bad in ["nope", "root@pam=x", "root@pam!t="] {
        let e = FakeProxmox::start("127.0.0.1:0".parse().unwrap(), bad, fast())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{bad}");
    }
    let f = Fake::start(fast()).await;
    let addr = f.fake.addr();
    assert_eq!(f.get("/version").await.status, 200);
    let Fake { fake, client } = f;
    fake.stop().await;
    let url = format!("https://{addr}/api2/json/version");
    assert!(
        client
            .get(url)
            .header("authorization", AUTH)
            .send()
            .await
            .is_err()
    );
}
