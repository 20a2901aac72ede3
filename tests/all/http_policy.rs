//! The http capability without wasm (Spin's test-harness idea): build the capability from a
//! policy and call it directly, for the edges a plugin could probe.

use crate::support::*;
use std::sync::Arc;
use tazhost::caps::http::{
    Allowlist, CredentialRef, HttpCap, HttpError, HttpLimits, HttpPolicy, OutboundRequest,
    SecretGrant,
};
use tazhost::secrets::{SecretSet, SecretValue};

const TOKEN: &str = "policy-test-token-88d2";

fn cap(granted: &[&str], endpoints: &[(&str, &str)], limits: HttpLimits) -> HttpCap {
    let mut secrets = SecretSet::default();
    secrets.insert("tok", SecretValue::new(TOKEN.into()));
    let endpoints: Vec<(String, String)> = endpoints
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let policy = HttpPolicy {
        declared_hosts: Allowlist::parse(&[
            "https://api.example.com",
            "https://*.example.net",
            "http://127.0.0.1:1",
        ])
        .unwrap(),
        granted_hosts: Allowlist::parse(granted).unwrap(),
        declared_secrets: ["tok".to_string()].into(),
        secrets: [(
            "tok".to_string(),
            SecretGrant {
                hosts: Allowlist::parse(&["https://api.example.com"]).unwrap(),
                reveal: false,
                oauth: false,
            },
        )]
        .into(),
        endpoints: HttpPolicy::parse_endpoints(endpoints.iter().map(|(a, b)| (a, b))).unwrap(),
        tls: Vec::new(),
    };
    HttpCap::new(Arc::new(policy), Arc::new(secrets), limits)
}

fn get(url: &str) -> OutboundRequest {
    OutboundRequest {
        method: "GET".into(),
        url: url.into(),
        ..OutboundRequest::default()
    }
}

fn denied(r: Result<tazhost::caps::http::InboundResponse, HttpError>) -> String {
    match r {
        Err(HttpError::Denied(m)) => m,
        other => panic!("expected denied, got {other:?}"),
    }
}

#[tokio::test]
async fn a_guest_set_host_header_is_refused() {
    let echo = EchoServer::start().await;
    let c = cap(
        &["https://api.example.com"],
        &[("https://api.example.com", &echo.url)],
        HttpLimits::default(),
    );
    let mut req = get("https://api.example.com/ok");
    req.headers.push(("Host".into(), "evil.example.org".into()));
    assert!(denied(c.send(req).await).contains("`host` is set by the host only"));
    let mut req = get("https://api.example.com/ok");
    req.headers
        .push(("Authorization".into(), "Bearer stolen".into()));
    assert!(denied(c.send(req).await).contains("`authorization`"));
    assert!(echo.requests().is_empty());
}

#[tokio::test]
async fn an_empty_grant_denies_everything() {
    let c = cap(&[], &[], HttpLimits::default());
    let msg = denied(c.send(get("https://api.example.com/v1?token=abc")).await);
    assert!(msg.contains("not granted"), "{msg}");
    assert!(!msg.contains("abc"), "query never echoed: {msg}");
}

#[tokio::test]
async fn internal_addresses_are_refused_unless_the_operator_named_them() {
    // A wildcard grant must not reach an internal address, even for a declared host.
    let c = cap(&["https://*.example.net"], &[], HttpLimits::default());
    // `localhost.example.net` does not resolve here; an IP literal shows the rule directly.
    let literal = cap(&["http://127.0.0.1:1"], &[], HttpLimits::default());
    let r = literal.send(get("http://127.0.0.1:1/")).await;
    assert!(
        matches!(r, Err(HttpError::Transient(_))),
        "operator-named loopback is tried: {r:?}"
    );
    let msg = denied(c.send(get("https://api.example.com/")).await);
    assert!(msg.contains("not granted"), "{msg}");
}

#[tokio::test]
async fn the_credential_is_attached_only_for_its_hosts_and_never_echoed() {
    let echo = EchoServer::start().await;
    let c = cap(
        &["https://api.example.com", "https://*.example.net"],
        &[
            ("https://api.example.com", &echo.url),
            ("https://a.example.net", &echo.url),
        ],
        HttpLimits::default(),
    );
    let mut req = get("https://api.example.com/ok");
    req.credential = Some(CredentialRef::Bearer("tok".into()));
    let resp = c.send(req).await.unwrap();
    assert_eq!(resp.status, 200);
    let seen = &echo.requests()[0].1;
    assert!(
        seen.iter()
            .any(|(k, v)| k == "authorization" && *v == format!("Bearer {TOKEN}")),
        "the host attached the token: {seen:?}"
    );

    let mut req = get("https://api.example.com/echo");
    req.credential = Some(CredentialRef::Bearer("tok".into()));
    let msg = denied(c.send(req).await);
    assert!(msg.contains("contains the credential"), "{msg}");
    assert!(!msg.contains(TOKEN));

    let mut req = get("https://a.example.net/ok");
    req.credential = Some(CredentialRef::Bearer("tok".into()));
    let msg = denied(c.send(req).await);
    assert!(
        msg.contains("may not be sent to https://a.example.net"),
        "{msg}"
    );
    assert!(!msg.contains(TOKEN));
    assert_eq!(
        echo.requests().len(),
        2,
        "the wrong-host request never left"
    );
}

#[tokio::test]
async fn oversized_requests_and_responses_are_refused() {
    let echo = EchoServer::start().await;
    let limits = HttpLimits {
        max_request_body: 1000,
        max_response_body: 5000,
        ..HttpLimits::default()
    };
    let c = cap(
        &["https://api.example.com"],
        &[("https://api.example.com", &echo.url)],
        limits,
    );
    let mut req = get("https://api.example.com/ok");
    req.method = "POST".into();
    req.body = Some(vec![0; 1001]);
    assert!(denied(c.send(req).await).contains("request body larger than 1000"));
    assert!(
        denied(c.send(get("https://api.example.com/big?bytes=6000")).await)
            .contains("larger than 5000")
    );
    assert_eq!(
        c.send(get("https://api.example.com/big?bytes=4000"))
            .await
            .unwrap()
            .body
            .len(),
        4000
    );
}

#[tokio::test]
async fn odd_methods_and_url_tricks_are_refused() {
    let c = cap(&["https://api.example.com"], &[], HttpLimits::default());
    let mut req = get("https://api.example.com/");
    req.method = "CONNECT".into();
    assert!(denied(c.send(req).await).contains("method must be one of"));
    for url in [
        "https://user:pw@api.example.com/",
        "file:///etc/passwd",
        "https://api.example.com.evil.org/",
        "https://api.example.com:8443/",
    ] {
        let msg = denied(c.send(get(url)).await);
        assert!(!msg.contains("pw@"), "{msg}");
    }
}
