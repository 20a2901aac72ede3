//! Handler tests: the router driven in process (`crate::test_client`), plus
//! one test of `FakeHetzner::start` over real TCP.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::handlers::{MAX_USER_DATA, router};
use super::state::Shared;
use super::{FakeHetzner, Options};
use crate::test_client::Answer;

const TOKEN: &str = "test-token";

struct Fake {
    app: Router,
    shared: Arc<Shared>,
}

fn fake(options: Options) -> Fake {
    let shared = Arc::new(Shared::new(TOKEN.to_string(), &options));
    Fake {
        app: router(shared.clone()),
        shared,
    }
}

/// Actions finish at once, no rate limit.
fn instant() -> Options {
    Options {
        action_duration: Duration::ZERO,
        rate_limit: None,
        fail_next_creates: 0,
    }
}

impl Fake {
    async fn send(
        &self,
        method: Method,
        uri: &str,
        auth: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Answer {
        let mut headers = Vec::new();
        if let Some(a) = auth {
            headers.push(("authorization", a.to_string()));
        }
        if body.is_some() {
            headers.push(("content-type", "application/json".to_string()));
        }
        crate::test_client::send(&self.app, method, uri, &headers, body.unwrap_or_default()).await
    }

    async fn get(&self, uri: &str) -> Answer {
        self.send(Method::GET, uri, Some(&format!("Bearer {TOKEN}")), None)
            .await
    }

    async fn delete(&self, uri: &str) -> Answer {
        self.send(Method::DELETE, uri, Some(&format!("Bearer {TOKEN}")), None)
            .await
    }

    async fn post(&self, uri: &str, body: &Value) -> Answer {
        self.post_raw(uri, serde_json::to_vec(body).unwrap()).await
    }

    async fn post_raw(&self, uri: &str, body: Vec<u8>) -> Answer {
        self.send(
            Method::POST,
            uri,
            Some(&format!("Bearer {TOKEN}")),
            Some(body),
        )
        .await
    }

    async fn create(&self, name: &str, labels: Value) -> Value {
        let a = self
            .post(
                "/v1/servers",
                &json!({"name": name, "server_type": "cx22", "image": "ubuntu-24.04", "labels": labels}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.body
    }
}

fn error_code(a: &Answer) -> &str {
    a.body["error"]["code"]
        .as_str()
        .unwrap_or("<no error code>")
}

#[tokio::test]
async fn requests_without_the_right_bearer_token_are_unauthorized() {
    let f = fake(instant());
    let wrong = [
        None,
        Some("Bearer wrong"),
        Some("Bearer test-token2"),
        Some("Bearer test-toke"),
        Some("Basic test-token"),
        Some("test-token"),
        Some("Bearer "),
    ];
    for auth in wrong {
        let a = f.send(Method::GET, "/v1/servers", auth, None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(error_code(&a), "unauthorized", "{auth:?}");
    }
    // Unknown paths too: authentication comes first.
    let a = f.send(Method::GET, "/v1/nothing", None, None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // The scheme is case-insensitive.
    let a = f
        .send(Method::GET, "/v1/servers", Some("bearer test-token"), None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(f.shared.request_count(), wrong.len() as u64 + 2);
}

#[tokio::test]
async fn create_answers_201_with_the_documented_objects() {
    let f = fake(Options {
        action_duration: Duration::from_secs(3600),
        ..instant()
    });
    let a = f
        .post(
            "/v1/servers",
            &json!({
                "name": "node-1",
                "server_type": "cx22",
                "image": "ubuntu-24.04",
                "location": "nbg1",
                "labels": {"tazhost.io/cluster": "prod", "role": "worker"},
                "user_data": "#cloud-config\n",
            }),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let b = &a.body;
    let s = &b["server"];
    // Every field of the documented Server object (and all hcloud-python reads).
    for key in [
        "id",
        "name",
        "status",
        "created",
        "public_net",
        "private_net",
        "server_type",
        "datacenter",
        "location",
        "image",
        "iso",
        "rescue_enabled",
        "locked",
        "backup_window",
        "outgoing_traffic",
        "ingoing_traffic",
        "included_traffic",
        "protection",
        "labels",
        "volumes",
        "load_balancers",
        "primary_disk_size",
        "placement_group",
    ] {
        assert!(s.get(key).is_some(), "server.{key} missing in {s}");
    }
    assert_eq!(s["name"], "node-1");
    assert_eq!(s["status"], "initializing");
    assert_eq!(
        s["labels"],
        json!({"tazhost.io/cluster": "prod", "role": "worker"})
    );
    assert_eq!(s["server_type"]["name"], "cx22");
    assert_eq!(s["server_type"]["architecture"], "x86");
    assert_eq!(s["image"]["name"], "ubuntu-24.04");
    assert_eq!(s["image"]["type"], "system");
    assert_eq!(s["location"]["name"], "nbg1");
    assert_eq!(s["datacenter"]["location"]["name"], "nbg1");
    assert_eq!(s["protection"], json!({"delete": false, "rebuild": false}));
    assert_eq!(s["private_net"], json!([]));
    let pn = &s["public_net"];
    assert!(
        pn["ipv4"]["ip"].as_str().unwrap().starts_with("203.0.113."),
        "{pn}"
    );
    for key in ["id", "blocked", "dns_ptr"] {
        assert!(pn["ipv4"].get(key).is_some(), "ipv4.{key}");
        assert!(pn["ipv6"].get(key).is_some(), "ipv6.{key}");
    }
    assert!(pn["ipv6"]["ip"].as_str().unwrap().starts_with("2001:db8:"));
    assert_eq!(pn["floating_ips"], json!([]));
    assert_eq!(pn["firewalls"], json!([]));
    assert!(s["created"].as_str().unwrap().ends_with("+00:00"));

    let action = &b["action"];
    assert_eq!(action["command"], "create_server");
    assert_eq!(action["status"], "running");
    assert!(action["progress"].as_u64().unwrap() < 100);
    assert!(action["finished"].is_null());
    assert!(action["error"].is_null());
    assert_eq!(
        action["resources"],
        json!([{"id": s["id"], "type": "server"}])
    );
    assert_eq!(b["next_actions"][0]["command"], "start_server");
    assert_eq!(b["next_actions"].as_array().unwrap().len(), 1);
    assert_eq!(b["root_password"].as_str().unwrap().len(), 20);

    // The library's snapshot keeps what the API never returns.
    let records = f.shared.servers();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].user_data.as_deref(), Some("#cloud-config\n"));
    assert_eq!(records[0].location, "nbg1");
    assert_eq!(records[0].status, "initializing");
}

#[tokio::test]
async fn servers_run_once_their_create_action_has_finished() {
    let f = fake(Options {
        action_duration: Duration::from_millis(300),
        ..instant()
    });
    let created = f.create("web-1", json!({})).await;
    let id = created["server"]["id"].as_u64().unwrap();
    let action = created["action"]["id"].as_u64().unwrap();

    let a = f.get(&format!("/v1/actions/{action}")).await;
    assert_eq!(a.body["action"]["status"], "running");
    let s = f.get(&format!("/v1/servers/{id}")).await;
    assert_eq!(s.body["server"]["status"], "initializing");

    tokio::time::sleep(Duration::from_millis(350)).await;
    let a = f.get(&format!("/v1/actions/{action}")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["action"]["status"], "success");
    assert_eq!(a.body["action"]["progress"], 100);
    assert!(a.body["action"]["finished"].is_string());
    let a = f.get(&format!("/v1/servers/{id}/actions/{action}")).await;
    assert_eq!(a.body["action"]["status"], "success");
    let s = f.get(&format!("/v1/servers/{id}")).await;
    assert_eq!(s.body["server"]["status"], "running");
}

#[tokio::test]
async fn options_of_the_create_request_shape_the_server() {
    let f = fake(instant());
    let body = json!({
        "name": "db-1", "server_type": 45, "image": "debian-12", "datacenter": "hel1-dc2",
        "start_after_create": false, "ssh_keys": ["ops", 7], "networks": [9, 11],
        "firewalls": [{"firewall": 5}], "volumes": [3], "automount": true,
        "placement_group": 8, "public_net": {"enable_ipv4": false, "enable_ipv6": true},
    });
    let a = f.post("/v1/servers", &body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let s = &a.body["server"];
    assert_eq!(s["server_type"]["name"], "cax11");
    assert_eq!(
        s["image"]["architecture"], "arm",
        "debian-12 resolved for arm"
    );
    assert_eq!(s["location"]["name"], "hel1");
    assert!(s["public_net"]["ipv4"].is_null());
    assert!(s["public_net"]["ipv6"].is_object());
    assert_eq!(
        s["public_net"]["firewalls"],
        json!([{"id": 5, "status": "applied"}])
    );
    assert_eq!(s["private_net"][0]["network"], 9);
    assert_eq!(s["private_net"][0]["ip"], "10.0.0.2");
    assert_eq!(s["private_net"][1]["network"], 11);
    assert_eq!(s["private_net"][1]["ip"], "10.0.0.2");
    assert_eq!(s["volumes"], json!([3]));
    assert_eq!(s["placement_group"]["id"], 8);
    assert!(a.body["root_password"].is_null(), "ssh keys given");
    assert_eq!(a.body["next_actions"], json!([]));
    let id = s["id"].as_u64().unwrap();
    let s = f.get(&format!("/v1/servers/{id}")).await;
    assert_eq!(s.body["server"]["status"], "off");

    // A second server on network 9 gets the next address; a snapshot id is accepted.
    let a = f
        .post(
            "/v1/servers",
            &json!({"name": "db-2", "server_type": "cx22", "image": 987654, "networks": [9]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["server"]["private_net"][0]["ip"], "10.0.0.3");
    assert_eq!(a.body["server"]["image"]["type"], "snapshot");
    assert_eq!(a.body["server"]["image"]["id"], 987654);
    assert_eq!(a.body["server"]["location"]["name"], "fsn1");
    let records = f.shared.servers();
    assert_eq!(records[0].ssh_keys, ["ops", "7"]);
    assert_eq!(records[0].networks, [9, 11]);
    assert!(records[0].automount);
    assert_eq!(records[1].image, "987654");
}

#[tokio::test]
async fn invalid_create_requests_are_refused_with_the_field_named() {
    let f = fake(instant());
    let ok = || json!({"name": "n1", "server_type": "cx22", "image": "ubuntu-24.04"});
    let with = |k: &str, v: Value| {
        let mut b = ok();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = ok();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    let table: Vec<(&str, Value, &str)> = vec![
        ("no name", without("name"), "name"),
        ("null name", with("name", Value::Null), "name"),
        (
            "name not a hostname",
            with("name", json!("bad_name")),
            "name",
        ),
        ("name with space", with("name", json!("a b")), "name"),
        ("name starts with -", with("name", json!("-a")), "name"),
        ("name too long", with("name", json!("a".repeat(64))), "name"),
        ("name not a string", with("name", json!(5)), "name"),
        ("no server type", without("server_type"), "server_type"),
        (
            "unknown server type",
            with("server_type", json!("cx999")),
            "server_type",
        ),
        (
            "server type bool",
            with("server_type", json!(true)),
            "server_type",
        ),
        ("no image", without("image"), "image"),
        ("unknown image", with("image", json!("windows-95")), "image"),
        (
            "unknown location",
            with("location", json!("mars1")),
            "location",
        ),
        (
            "unknown datacenter",
            with("datacenter", json!("mars1-dc1")),
            "datacenter",
        ),
        (
            "location and datacenter",
            {
                let mut b = with("location", json!("fsn1"));
                b["datacenter"] = json!("fsn1-dc14");
                b
            },
            "datacenter",
        ),
        (
            "user_data over 32 KiB",
            with("user_data", json!("x".repeat(MAX_USER_DATA + 1))),
            "user_data",
        ),
        (
            "user_data not a string",
            with("user_data", json!({})),
            "user_data",
        ),
        (
            "labels not an object",
            with("labels", json!(["a"])),
            "labels",
        ),
        (
            "label value not a string",
            with("labels", json!({"a": 1})),
            "labels",
        ),
        (
            "label key invalid",
            with("labels", json!({"-a": "b"})),
            "labels",
        ),
        (
            "label key reserved",
            with("labels", json!({"hetzner.cloud/x": "b"})),
            "labels",
        ),
        (
            "label value invalid",
            with("labels", json!({"a": "b c"})),
            "labels",
        ),
        (
            "label value too long",
            with("labels", json!({"a": "v".repeat(64)})),
            "labels",
        ),
        (
            "start_after_create not bool",
            with("start_after_create", json!("yes")),
            "start_after_create",
        ),
        (
            "ssh_keys not a list",
            with("ssh_keys", json!("k")),
            "ssh_keys",
        ),
        (
            "networks not ids",
            with("networks", json!(["n"])),
            "networks",
        ),
        (
            "firewalls shape",
            with("firewalls", json!([5])),
            "firewalls",
        ),
        (
            "placement group",
            with("placement_group", json!("pg")),
            "placement_group",
        ),
        (
            "no public IP and no network",
            with(
                "public_net",
                json!({"enable_ipv4": false, "enable_ipv6": false}),
            ),
            "public_net",
        ),
    ];
    for (what, body, field) in table {
        let a = f.post("/v1/servers", &body).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            a.body
        );
        assert_eq!(error_code(&a), "invalid_input", "{what}");
        let fields = &a.body["error"]["details"]["fields"];
        assert_eq!(fields[0]["name"], field, "{what}: {}", a.body);
        assert!(fields[0]["messages"][0].is_string(), "{what}");
        assert!(
            a.body["error"]["message"].as_str().unwrap().contains(field),
            "{what}"
        );
    }
    assert!(f.shared.servers().is_empty(), "nothing was created");

    // Exactly 32 KiB is fine.
    let a = f
        .post(
            "/v1/servers",
            &with("user_data", json!("x".repeat(MAX_USER_DATA))),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);

    // Every problem is reported, not only the first.
    let a = f.post("/v1/servers", &json!({})).await;
    let names: Vec<&str> = a.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["name", "server_type", "image"]);
}

#[tokio::test]
async fn bad_json_is_a_json_error() {
    let f = fake(instant());
    for body in [&b"{"[..], b"not json", b"[1,2]", b"", b"\"str\""] {
        let a = f.post_raw("/v1/servers", body.to_vec()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body:?}");
        assert_eq!(error_code(&a), "json_error", "{body:?}");
    }
}

#[tokio::test]
async fn a_taken_name_is_a_uniqueness_error_until_the_server_is_deleted() {
    let f = fake(instant());
    let created = f.create("dup", json!({})).await;
    let a = f
        .post(
            "/v1/servers",
            &json!({"name": "dup", "server_type": "cx32", "image": "debian-12"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(error_code(&a), "uniqueness_error");
    assert_eq!(a.body["error"]["details"]["fields"][0]["name"], "name");
    let id = created["server"]["id"].as_u64().unwrap();
    assert_eq!(
        f.delete(&format!("/v1/servers/{id}")).await.status,
        StatusCode::OK
    );
    f.create("dup", json!({})).await;
}

#[tokio::test]
async fn list_filters_by_name_and_label_selector() {
    let f = fake(instant());
    f.create("cp-1", json!({"cluster": "prod", "role": "cp"}))
        .await;
    f.create("w-1", json!({"cluster": "prod", "role": "worker"}))
        .await;
    f.create("w-2", json!({"cluster": "dev", "role": "worker"}))
        .await;
    f.create("lone", json!({})).await;
    let names = |a: &Answer| -> Vec<String> {
        a.body["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    let table: &[(&str, &[&str])] = &[
        ("", &["cp-1", "w-1", "w-2", "lone"]),
        ("?label_selector=cluster%3Dprod", &["cp-1", "w-1"]),
        ("?label_selector=cluster==prod,role=worker", &["w-1"]),
        ("?label_selector=cluster!%3Dprod", &["w-2", "lone"]),
        ("?label_selector=role", &["cp-1", "w-1", "w-2"]),
        ("?label_selector=!role", &["lone"]),
        (
            "?label_selector=role+in+(cp,worker),cluster+notin+(dev)",
            &["cp-1", "w-1"],
        ),
        ("?label_selector=cluster%3Dstaging", &[]),
        ("?name=w-2", &["w-2"]),
        ("?name=nope", &[]),
        ("?name=w-1&label_selector=cluster%3Ddev", &[]),
        ("?sort=name:desc", &["w-2", "w-1", "lone", "cp-1"]),
        (
            "?sort=id:desc&label_selector=role%3Dworker",
            &["w-2", "w-1"],
        ),
        ("?status=running", &["cp-1", "w-1", "w-2", "lone"]),
        ("?status=off", &[]),
    ];
    for (query, want) in table {
        let a = f.get(&format!("/v1/servers{query}")).await;
        assert_eq!(a.status, StatusCode::OK, "{query}: {}", a.body);
        assert_eq!(names(&a), *want, "{query}");
        assert_eq!(
            a.body["meta"]["pagination"]["total_entries"],
            want.len(),
            "{query}"
        );
    }
    for bad in [
        "?label_selector=role+in+(cp",
        "?label_selector=%3Dx",
        "?sort=bogus",
        "?status=exploded",
        "?page=0",
        "?per_page=x",
    ] {
        let a = f.get(&format!("/v1/servers{bad}")).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(error_code(&a), "invalid_input", "{bad}");
    }
}

#[tokio::test]
async fn list_is_paginated_with_meta_and_link() {
    let f = fake(instant());
    for i in 1..=5 {
        f.create(&format!("s{i}"), json!({"k": "v"})).await;
    }
    let a = f
        .get("/v1/servers?per_page=2&page=2&label_selector=k")
        .await;
    assert_eq!(a.body["servers"].as_array().unwrap().len(), 2);
    assert_eq!(a.body["servers"][0]["name"], "s3");
    assert_eq!(
        a.body["meta"]["pagination"],
        json!({"page": 2, "per_page": 2, "previous_page": 1, "next_page": 3, "last_page": 3, "total_entries": 5})
    );
    let link = a.headers["link"].to_str().unwrap();
    assert!(link.contains("page=1&per_page=2>; rel=\"prev\""), "{link}");
    assert!(link.contains("page=3&per_page=2>; rel=\"next\""), "{link}");
    assert!(link.contains("label_selector=k&page=3"), "{link}");

    let a = f.get("/v1/servers?per_page=2&page=3").await;
    assert_eq!(a.body["servers"].as_array().unwrap().len(), 1);
    assert!(a.body["meta"]["pagination"]["next_page"].is_null());

    let a = f.get("/v1/servers?page=9").await;
    assert_eq!(a.body["servers"], json!([]));

    let a = f.get("/v1/servers").await;
    assert_eq!(a.body["meta"]["pagination"]["per_page"], 25);
    assert!(a.body["meta"]["pagination"]["previous_page"].is_null());
    let a = f.get("/v1/servers?per_page=500").await;
    assert_eq!(a.body["meta"]["pagination"]["per_page"], 50);

    let empty = fake(instant());
    let a = empty.get("/v1/servers").await;
    assert_eq!(
        a.body["meta"]["pagination"],
        json!({"page": 1, "per_page": 25, "previous_page": null, "next_page": null, "last_page": 1, "total_entries": 0})
    );
}

#[tokio::test]
async fn delete_returns_an_action_and_the_server_is_gone_at_once() {
    let f = fake(Options {
        action_duration: Duration::from_secs(3600),
        ..instant()
    });
    let created = f.create("gone", json!({})).await;
    let id = created["server"]["id"].as_u64().unwrap();
    let a = f.delete(&format!("/v1/servers/{id}")).await;
    assert_eq!(a.status, StatusCode::OK);
    let action = &a.body["action"];
    assert_eq!(action["command"], "delete_server");
    assert_eq!(action["status"], "running");
    assert_eq!(action["resources"], json!([{"id": id, "type": "server"}]));
    let action_id = action["id"].as_u64().unwrap();

    let g = f.get(&format!("/v1/servers/{id}")).await;
    assert_eq!(g.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&g), "not_found");
    assert_eq!(f.get("/v1/servers").await.body["servers"], json!([]));
    assert!(f.shared.servers().is_empty());
    assert_eq!(
        f.delete(&format!("/v1/servers/{id}")).await.status,
        StatusCode::NOT_FOUND
    );

    // The delete action stays readable, through both paths.
    let a = f
        .get(&format!("/v1/servers/{id}/actions/{action_id}"))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["action"]["command"], "delete_server");
    // ... but not under another server.
    let a = f.get(&format!("/v1/servers/1/actions/{action_id}")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = f.get(&format!("/v1/actions/{action_id}")).await;
    assert_eq!(a.status, StatusCode::OK);

    for missing in ["/v1/servers/424242", "/v1/actions/424242"] {
        let a = f.get(missing).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(error_code(&a), "not_found");
    }
    let a = f.get("/v1/servers/abc").await;
    assert_eq!(error_code(&a), "invalid_input");
}

#[tokio::test]
async fn actions_can_be_listed_by_id_and_status() {
    let f = fake(Options {
        action_duration: Duration::from_secs(3600),
        ..instant()
    });
    let c = f.create("a1", json!({})).await;
    let create = c["action"]["id"].as_u64().unwrap();
    let start = c["next_actions"][0]["id"].as_u64().unwrap();
    let a = f.get(&format!("/v1/actions?id={start}&id={create}")).await;
    let ids: Vec<u64> = a.body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [create, start]);
    let a = f.get("/v1/actions?status=success").await;
    assert_eq!(a.body["actions"], json!([]));
    let a = f.get("/v1/actions?status=running&sort=id:desc").await;
    assert_eq!(a.body["actions"][0]["id"], start);
    assert_eq!(
        f.get("/v1/actions?id=x").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // The server-scoped variants.
    let id = c["server"]["id"].as_u64().unwrap();
    let a = f.get(&format!("/v1/servers/actions/{create}")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["action"]["command"], "create_server");
    let a = f
        .get(&format!("/v1/servers/{id}/actions?sort=id:desc"))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["actions"][0]["id"], start);
    assert_eq!(a.body["actions"][1]["id"], create);
    assert_eq!(a.body["meta"]["pagination"]["total_entries"], 2);
    let a = f.get("/v1/servers/actions?status=running").await;
    assert_eq!(a.body["actions"].as_array().unwrap().len(), 2);
    let a = f.get("/v1/servers/424242/actions").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = f.get("/v1/servers/actions/424242").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_the_error_shape() {
    let f = fake(instant());
    let a = f.get("/v1/volumes").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&a), "not_found");
    let a = f
        .send(
            Method::PUT,
            "/v1/servers",
            Some(&format!("Bearer {TOKEN}")),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(&a), "method_not_allowed");
}

#[tokio::test]
async fn rate_limit_headers_count_down_then_429() {
    let f = fake(Options {
        rate_limit: Some(3),
        ..instant()
    });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header =
        |a: &Answer, name: &str| -> u64 { a.headers[name].to_str().unwrap().parse().unwrap() };
    // The unauthorized request counts too.
    let first = f.send(Method::GET, "/v1/servers", None, None).await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    assert_eq!(header(&first, "ratelimit-limit"), 3);
    assert_eq!(header(&first, "ratelimit-remaining"), 2);
    assert_eq!(
        header(&f.get("/v1/servers").await, "ratelimit-remaining"),
        1
    );
    let last = f.get("/v1/servers").await;
    assert_eq!(last.status, StatusCode::OK);
    assert_eq!(header(&last, "ratelimit-remaining"), 0);
    let refused = f.get("/v1/servers").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&refused), "rate_limit_exceeded");
    assert_eq!(header(&refused, "ratelimit-remaining"), 0);
    // 3 per hour: all three back after an hour.
    let reset = header(&refused, "ratelimit-reset");
    assert!(
        (now + 3500..=now + 3700).contains(&reset),
        "{reset} vs {now}"
    );
    assert!(refused.headers.contains_key("x-correlation-id"));
    assert_eq!(f.shared.request_count(), 4);
}

#[tokio::test]
async fn without_a_rate_limit_there_are_no_ratelimit_headers() {
    let f = fake(instant());
    for _ in 0..5 {
        let a = f.get("/v1/servers").await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(!a.headers.contains_key("ratelimit-limit"));
    }
    let f = fake(Options::default());
    let a = f.get("/v1/servers").await;
    assert_eq!(a.headers["ratelimit-limit"], "3600");
    assert_eq!(a.headers["ratelimit-remaining"], "3599");
}

#[tokio::test]
async fn injected_create_failures_answer_503_then_creation_works() {
    let f = fake(Options {
        fail_next_creates: 2,
        ..instant()
    });
    let body = json!({"name": "retry-me", "server_type": "cx22", "image": "ubuntu-24.04"});
    for _ in 0..2 {
        let a = f.post("/v1/servers", &body).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error_code(&a), "unavailable");
    }
    assert!(f.shared.servers().is_empty());
    assert_eq!(
        f.post("/v1/servers", &body).await.status,
        StatusCode::CREATED
    );
    // Reads are never failed.
    assert_eq!(f.get("/v1/servers").await.status, StatusCode::OK);
}

#[tokio::test]
async fn started_fake_serves_over_tcp_and_stops_when_dropped() {
    let fake = FakeHetzner::start("127.0.0.1:0".parse().unwrap(), TOKEN, instant())
        .await
        .unwrap();
    let base = fake.base_url();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(!base.ends_with("/v1"));
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{base}/v1/servers"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(r#"{"name":"tcp-1","server_type":"cx22","image":"ubuntu-24.04","user_data":"hello"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["content-type"], "application/json");
    fake.set_fail_next_creates(1);
    let resp = client
        .post(format!("{base}/v1/servers"))
        .bearer_auth(TOKEN)
        .body(r#"{"name":"tcp-2","server_type":"cx22","image":"ubuntu-24.04"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let servers = fake.servers();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].name, "tcp-1");
    assert_eq!(servers[0].user_data.as_deref(), Some("hello"));
    assert_eq!(servers[0].status, "running");
    assert_eq!(fake.request_count(), 2);

    drop(fake);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let fresh = reqwest::Client::new();
    let err = fresh
        .get(format!("{base}/v1/servers"))
        .bearer_auth(TOKEN)
        .send()
        .await;
    assert!(err.is_err(), "still answering after drop: {err:?}");
}

#[tokio::test]
async fn stop_ends_the_server_even_with_an_idle_keep_alive_connection() {
    let fake = FakeHetzner::start("127.0.0.1:0".parse().unwrap(), TOKEN, instant())
        .await
        .unwrap();
    let base = fake.base_url();
    let client = reqwest::Client::new();
    let ok = client
        .get(format!("{base}/v1/servers"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    tokio::time::timeout(Duration::from_secs(5), fake.stop())
        .await
        .expect("stop() returned in time");
    let err = reqwest::Client::new()
        .get(format!("{base}/v1/servers"))
        .bearer_auth(TOKEN)
        .send()
        .await;
    assert!(err.is_err(), "still answering after stop: {err:?}");
}
