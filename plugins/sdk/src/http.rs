//! HTTP through the host's `http` import: a request builder with retries, and response helpers.
//!
//! ```no_run
//! use tazhost_sdk::http::{Request, ResponseExt};
//!
//! # fn demo() -> Result<(), tazhost_sdk::Error> {
//! #[derive(serde::Deserialize)]
//! struct Server {
//!     id: u64,
//! }
//! #[derive(serde::Deserialize)]
//! struct Answer {
//!     server: Server,
//! }
//! // Retries 429/5xx/transient, fails with `provider` on other non-2xx answers, parses JSON.
//! let created: Answer = Request::post("https://api.hetzner.cloud/v1/servers")
//!     .bearer("hcloud-token")
//!     .json(&serde_json::json!({ "name": "node-1" }))
//!     .send_json()?;
//!
//! // Look at the status yourself (here: 404 means "already gone").
//! let resp = Request::delete(format!("https://api.hetzner.cloud/v1/servers/{}", created.server.id))
//!     .bearer("hcloud-token")
//!     .send()?;
//! if resp.status != 404 {
//!     let resp = Request::error_for_status(resp, "DELETE server")?;
//!     let _action: serde_json::Value = resp.json()?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The host attaches credentials ([`Credential`]): the plugin names a secret, never holds it.
//! Error messages produced here carry the method and the URL without its query string
//! ([`crate::error::redact_url`]), never headers or bodies sent.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

use crate::bindings::tazlab::bootstrap::http as wit;
use crate::error::{self, is_success, redact_url, status_error};
use crate::retry::{RetryPolicy, parse_http_date, server_hint};
use crate::{Error, log};

pub use wit::{BasicSecret, Credential, OauthClient, OciSigningKey, PrefixedSecret, Response};

/// Sends one request through the host, exactly once (no retries, any status is `Ok`).
pub use wit::send as send_raw;

/// Percent-encodes `s` for a URL path segment or query value: everything but ASCII letters,
/// digits and `-._~` (RFC 3986 unreserved) is escaped.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The value of header `name` (compared case-insensitively); the first one if repeated.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A request being built. Cheap to clone; sending does not consume it.
#[derive(Clone, Debug)]
pub struct Request {
    inner: wit::Request,
    policy: RetryPolicy,
    body_error: Option<String>,
}

impl Request {
    /// A request with any method (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`).
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Request {
            inner: wit::Request {
                method: method.to_ascii_uppercase(),
                url: url.into(),
                headers: Vec::new(),
                body: None,
                credential: None,
            },
            policy: RetryPolicy::default(),
            body_error: None,
        }
    }

    /// `GET url`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// `POST url`.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    /// `PUT url`.
    pub fn put(url: impl Into<String>) -> Self {
        Self::new("PUT", url)
    }

    /// `PATCH url`.
    pub fn patch(url: impl Into<String>) -> Self {
        Self::new("PATCH", url)
    }

    /// `DELETE url`.
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new("DELETE", url)
    }

    /// Adds a header. The host refuses `host`, `authorization`, `content-length`,
    /// `transfer-encoding`, `connection`, `date`, `x-content-sha256` and `proxy-*`: use
    /// [`credential`](Self::credential).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.headers.push((name.into(), value.into()));
        self
    }

    /// Sets a raw body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.inner.body = Some(body.into());
        self
    }

    /// Sets a JSON body and `content-type: application/json` (unless already set).
    ///
    /// A value that cannot be serialised makes [`send`](Self::send) fail with `invalid-config`.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(bytes) => {
                self.inner.body = Some(bytes);
                self.body_error = None;
            }
            Err(e) => self.body_error = Some(e.to_string()),
        }
        if header(&self.inner.headers, "content-type").is_none() {
            self.inner
                .headers
                .push(("content-type".into(), "application/json".into()));
        }
        self
    }

    /// Lets the host attach a credential held by it.
    pub fn credential(mut self, credential: Credential) -> Self {
        self.inner.credential = Some(credential);
        self
    }

    /// Lets the host send `authorization: Bearer <value of secret>`.
    pub fn bearer(self, secret_name: impl Into<String>) -> Self {
        self.credential(Credential::Bearer(secret_name.into()))
    }

    /// Lets the host send `authorization: <prefix><value of secret>` (e.g. Proxmox's
    /// `PVEAPIToken=USER@REALM!TOKENID=` followed by the token's secret).
    pub fn prefixed(self, prefix: impl Into<String>, secret_name: impl Into<String>) -> Self {
        self.credential(Credential::AuthorizationPrefix(PrefixedSecret {
            prefix: prefix.into(),
            secret: secret_name.into(),
        }))
    }

    /// Lets the host sign the request as Oracle Cloud requires, with the private key held in
    /// secret `private_key_secret`; `key_id` is `TENANCY_OCID/USER_OCID/KEY_FINGERPRINT`. The
    /// host adds `date`, `x-content-sha256` and the signature itself, per attempt.
    pub fn oci_signed(
        self,
        key_id: impl Into<String>,
        private_key_secret: impl Into<String>,
    ) -> Self {
        self.credential(Credential::OciSignature(OciSigningKey {
            key_id: key_id.into(),
            private_key_secret: private_key_secret.into(),
        }))
    }

    /// Uses this retry policy instead of [`RetryPolicy::default`].
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sends exactly once (same as `retry(RetryPolicy::none())`).
    pub fn no_retry(self) -> Self {
        self.retry(RetryPolicy::none())
    }

    /// The method and URL without query string, as used in error messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.inner.method, redact_url(&self.inner.url))
    }

    /// The request as the host will receive it.
    pub fn as_wit(&self) -> &wit::Request {
        &self.inner
    }

    /// Sends once through the host, without retries; any status is `Ok`.
    pub fn send_once(&self) -> Result<Response, Error> {
        self.check_body()?;
        wit::send(&self.inner)
    }

    /// Sends, retrying 429, 5xx and `transient` errors per the retry policy; waits happen in the
    /// host. Returns the first answer that is not retryable, whatever its status (so a caller
    /// can treat, say, 404 as success). After the last attempt a 429/5xx becomes `transient`
    /// (see [`crate::error::status_error`]) and a `transient` error keeps its variant. `denied`
    /// and other errors are returned at once.
    pub fn send(&self) -> Result<Response, Error> {
        self.check_body()?;
        let what = self.describe();
        let mut attempt = 1u32;
        loop {
            let result = wit::send(&self.inner);
            let retryable = match &result {
                Ok(resp) => self.policy.retries_status(resp.status),
                Err(Error::Transient(_)) => true,
                Err(_) => false,
            };
            if !retryable {
                return result;
            }
            if !self.policy.may_retry(attempt) {
                let tries = if attempt == 1 {
                    String::new()
                } else {
                    format!(" (after {attempt} attempts)")
                };
                return Err(match result {
                    Ok(resp) => {
                        let e =
                            status_error(resp.status, resp.reason.as_deref(), &resp.body, &what);
                        error::transient(format!("{}{tries}", error::message(&e)))
                    }
                    Err(e) => error::transient(format!("{what}: {}{tries}", error::message(&e))),
                });
            }
            let (hint, reason) = match &result {
                Ok(resp) => (
                    server_hint(resp.status, &resp.headers, now_unix(&resp.headers)),
                    format!("HTTP {}", resp.status),
                ),
                Err(e) => (None, error::message(e).to_owned()),
            };
            let wait = self.policy.delay(attempt, hint, crate::random_u32());
            log::debug(&format!(
                "{what}: {reason}; retrying in {:.1} s (attempt {} of {})",
                wait.as_secs_f64(),
                attempt + 1,
                self.policy.max_attempts
            ));
            crate::sleep(wait);
            attempt += 1;
        }
    }

    /// [`send`](Self::send), then any non-2xx answer becomes an error
    /// ([`crate::error::status_error`]).
    pub fn send_ok(&self) -> Result<Response, Error> {
        let resp = self.send()?;
        Self::error_for_status(resp, &self.describe())
    }

    /// [`send_ok`](Self::send_ok), then parses the body as JSON (with `accept:
    /// application/json`). A body that does not parse is a `provider` error.
    pub fn send_json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let req = if header(&self.inner.headers, "accept").is_none() {
            self.clone().header("accept", "application/json")
        } else {
            self.clone()
        };
        let resp = req.send_ok()?;
        parse_json(&resp.body, &self.describe())
    }

    /// `Ok(resp)` for 2xx, else the error [`crate::error::status_error`] maps the status to;
    /// `what` names the request in the message.
    pub fn error_for_status(resp: Response, what: &str) -> Result<Response, Error> {
        if is_success(resp.status) {
            Ok(resp)
        } else {
            Err(status_error(
                resp.status,
                resp.reason.as_deref(),
                &resp.body,
                what,
            ))
        }
    }

    fn check_body(&self) -> Result<(), Error> {
        match &self.body_error {
            Some(e) => Err(error::invalid_config(format!(
                "{}: cannot encode the JSON body: {e}",
                self.describe()
            ))),
            None => Ok(()),
        }
    }
}

/// Parses JSON from an API answer; failure is a `provider` error naming `what`.
pub fn parse_json<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, Error> {
    serde_json::from_slice(body)
        .map_err(|e| error::provider(format!("{what}: unexpected answer: {e}")))
}

/// The current unix time for retry hints: the server's `Date` header when present (same clock
/// as its `RateLimit-Reset`), else the guest's wall clock.
fn now_unix(headers: &[(String, String)]) -> Option<u64> {
    header(headers, "date")
        .and_then(parse_http_date)
        .or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d: Duration| d.as_secs())
        })
}

/// Helpers on the host's [`Response`].
pub trait ResponseExt {
    /// Header `name`, case-insensitively.
    fn header(&self, name: &str) -> Option<&str>;
    /// Whether the status is 2xx.
    fn is_success(&self) -> bool;
    /// The body parsed as JSON; a `provider` error if it does not parse.
    fn json<T: DeserializeOwned>(&self) -> Result<T, Error>;
    /// The body as text, invalid UTF-8 replaced.
    fn text(&self) -> String;
}

impl ResponseExt for Response {
    fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    fn is_success(&self) -> bool {
        is_success(self.status)
    }

    fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        parse_json(&self.body, &format!("HTTP {} answer", self.status))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_fields() {
        let r = Request::post("https://a.test/v1/x?q=secret")
            .bearer("tok")
            .header("x-extra", "1")
            .json(&serde_json::json!({"a": 1}));
        let w = r.as_wit();
        assert_eq!(w.method, "POST");
        assert_eq!(w.url, "https://a.test/v1/x?q=secret");
        assert_eq!(w.credential, Some(Credential::Bearer("tok".into())));
        assert_eq!(w.body.as_deref(), Some(&br#"{"a":1}"#[..]));
        assert_eq!(header(&w.headers, "Content-Type"), Some("application/json"));
        assert_eq!(header(&w.headers, "X-EXTRA"), Some("1"));
        assert_eq!(r.describe(), "POST https://a.test/v1/x");
        assert_eq!(
            Request::new("patch", "https://a.test").as_wit().method,
            "PATCH"
        );
    }

    #[test]
    fn json_keeps_explicit_content_type() {
        let r = Request::put("https://a.test")
            .header("content-type", "application/merge-patch+json")
            .json(&1);
        let n = r
            .as_wit()
            .headers
            .iter()
            .filter(|(k, _)| k == "content-type")
            .count();
        assert_eq!(n, 1);
    }

    #[test]
    fn unencodable_json_is_reported_before_sending() {
        use std::collections::HashMap;
        let mut bad: HashMap<Vec<u8>, u8> = HashMap::new();
        bad.insert(vec![1], 1);
        let r = Request::post("https://a.test/p?token=x").json(&bad);
        let err = r.check_body().unwrap_err();
        assert!(matches!(&err, Error::InvalidConfig(m) if m.starts_with("POST https://a.test/p:")));
        assert!(!error::message(&err).contains("token"));
    }

    #[test]
    fn error_for_status_maps() {
        let resp = |status| Response {
            status,
            reason: None,
            headers: vec![],
            body: br#"{"error":{"code":"not_found","message":"no such server"}}"#.to_vec(),
        };
        assert!(Request::error_for_status(resp(200), "GET x").is_ok());
        assert_eq!(
            Request::error_for_status(resp(404), "GET x").unwrap_err(),
            Error::Provider("GET x: HTTP 404: no such server (not_found)".into())
        );
        let r = resp(201);
        assert!(r.is_success());
        let v: serde_json::Value = r.json().unwrap();
        assert_eq!(v["error"]["code"], "not_found");
        assert!(matches!(
            Response {
                status: 200,
                reason: None,
                headers: vec![],
                body: b"nope".to_vec()
            }
            .json::<u32>(),
            Err(Error::Provider(_))
        ));
    }

    #[test]
    fn header_lookup_is_case_insensitive() {
        let hs = vec![
            ("ratelimit-reset".to_owned(), "5".to_owned()),
            ("Date".to_owned(), "x".to_owned()),
        ];
        assert_eq!(header(&hs, "RateLimit-Reset"), Some("5"));
        assert_eq!(header(&hs, "date"), Some("x"));
        assert_eq!(header(&hs, "missing"), None);
    }

    #[test]
    fn date_header_is_preferred_as_now() {
        let hs = vec![(
            "date".to_owned(),
            "Tue, 14 Nov 2023 22:13:20 GMT".to_owned(),
        )];
        assert_eq!(now_unix(&hs), Some(1_700_000_000));
    }
}
