//! Answers in the shape the Proxmox VE API server (`pveproxy`/`pvedaemon`) sends them.
//!
//! - Success: `{"data": ...}`, `Content-Type: application/json;charset=UTF-8`.
//! - An API handler's error: the HTTP status (500 for a plain `die`, the code of a
//!   `PVE::Exception` otherwise), the message's first line as the **reason phrase**
//!   (`HTTP/1.1 500 VM 100 is running - destroy failed`), and a JSON body
//!   `{"data":null,"message":"...\n"}`; a parameter error is 400 "Parameter verification
//!   failed." with `"errors":{"param":"message"}` in the body. The `message` member is what
//!   libpve-http-server-perl 5.2.0 (PVE 8.4) added ("fix #6503: return error messages from
//!   the API also for the json formatter"); PVE 8.0-8.3 send `{"data":null}` (plus `errors`)
//!   and the reason phrase only. Keys are sorted, as PVE's canonical JSON has them.
//! - An error raised by the HTTP layer itself (authentication, "no such file", "chunked
//!   transfer encoding not supported", multipart trouble): the status and reason phrase,
//!   with the message as plain text in the body (5.2.0: "add error message directly into the
//!   HTTP body if it's empty"; older versions send an empty body).
//!
//! Every answer carries `Server: pve-api-daemon/3.0` and the no-cache headers PVE sends;
//! answers with status 400 and above carry `Connection: close`, because PVE ends keep-alive
//! after an error.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    /// The full message; PVE messages from `die "...\n"` keep their trailing newline.
    pub message: String,
    /// Parameter errors (`errors` in the body).
    pub errors: BTreeMap<String, String>,
    /// Raised below the API handlers: the body is the message as text, not JSON.
    pub plain: bool,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            errors: BTreeMap::new(),
            plain: false,
        }
    }

    /// Any status (595, 596 and other codes PVE and its proxies use included).
    pub fn status(code: u16, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message,
        )
    }

    /// 500 with the message of a plain `die "...\n"` in an API handler.
    pub fn die(message: impl Into<String>) -> Self {
        let mut m = message.into();
        if !m.ends_with('\n') {
            m.push('\n');
        }
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, m)
    }

    /// 400 "Parameter verification failed." with these per-parameter messages
    /// (`raise_param_exc`).
    pub fn params(errors: BTreeMap<String, String>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "Parameter verification failed.\n");
        e.errors = errors;
        e
    }

    /// 400 on one parameter.
    pub fn param(name: &str, message: impl Into<String>) -> Self {
        Self::params(BTreeMap::from([(name.to_string(), message.into())]))
    }

    /// 403 from `raise_perm_exc`.
    pub fn permission(what: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("Permission check failed ({what})\n"),
        )
    }

    /// 501 for a path/method pair no handler serves (`rest_handler`).
    pub fn not_implemented(method: &str, rel_path: &str) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("Method '{method} {rel_path}' not implemented"),
        )
    }

    /// An error of the HTTP layer (plain-text body).
    pub fn http(code: u16, message: impl Into<String>) -> Self {
        let mut e = Self::status(code, message);
        e.plain = true;
        e
    }

    /// 401 with the authentication error as reason phrase.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::http(401, message)
    }

    /// 500 "Configuration file 'nodes/NODE/qemu-server/VMID.conf' does not exist".
    pub fn no_config(node: &str, vmid: u32) -> Self {
        Self::die(format!(
            "Configuration file 'nodes/{node}/qemu-server/{vmid}.conf' does not exist"
        ))
    }

    /// The reason phrase: the message's first line, visible ASCII only.
    pub fn reason(&self) -> String {
        reason_phrase(&self.message)
    }

    /// The JSON body of a handler error.
    pub fn body(&self) -> Value {
        let mut body = json!({ "data": null, "message": self.message });
        if !self.errors.is_empty() {
            body["errors"] = json!(self.errors);
        }
        body
    }
}

/// The first line of `message`, trimmed, with anything but visible ASCII replaced, as
/// `PVE::APIServer::AnyEvent::response` cuts a message down to one line.
pub(crate) fn reason_phrase(message: &str) -> String {
    message
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let reason = self.reason();
        let (content_type, body) = if self.plain {
            ("text/plain;charset=UTF-8", Body::from(self.message.clone()))
        } else {
            (
                "application/json;charset=UTF-8",
                Body::from(self.body().to_string()),
            )
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = self.status;
        set_common_headers(&mut resp, content_type);
        if !reason.is_empty()
            && let Ok(phrase) = hyper::ext::ReasonPhrase::try_from(reason)
        {
            resp.extensions_mut().insert(phrase);
        }
        resp
    }
}

/// `{"data": data}` with status 200.
pub(crate) fn ok(data: Value) -> Response {
    ok_with(json!({ "data": data }))
}

/// A 200 answer with this whole body (e.g. `{"data": [...], "total": 3}`).
pub(crate) fn ok_with(body: Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    set_common_headers(&mut resp, "application/json;charset=UTF-8");
    resp
}

fn set_common_headers(resp: &mut Response, content_type: &'static str) {
    let close = resp.status().as_u16() >= 400;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::SERVER,
        HeaderValue::from_static("pve-api-daemon/3.0"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=0"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if close {
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_error_has_errors_and_the_pve_message() {
        let e = ApiError::param(
            "foo",
            "property is not defined in schema and the schema does not allow additional properties",
        );
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.reason(), "Parameter verification failed.");
        assert_eq!(
            e.body(),
            json!({
                "data": null,
                "message": "Parameter verification failed.\n",
                "errors": {"foo": "property is not defined in schema and the schema does not allow additional properties"},
            })
        );
    }

    #[test]
    fn a_die_is_a_500_whose_reason_is_the_first_line() {
        let e = ApiError::die("VM 100 is running - destroy failed");
        assert_eq!(e.status.as_u16(), 500);
        assert_eq!(e.message, "VM 100 is running - destroy failed\n");
        assert_eq!(e.reason(), "VM 100 is running - destroy failed");
        assert_eq!(reason_phrase("two\nlines"), "two");
        assert_eq!(reason_phrase("tab\there é"), "tab?here ?");
    }

    #[test]
    fn the_response_carries_the_reason_phrase_and_pve_headers() {
        let resp = ApiError::no_config("pve", 123).into_response();
        assert_eq!(resp.status().as_u16(), 500);
        let reason = resp.extensions().get::<hyper::ext::ReasonPhrase>().cloned();
        assert_eq!(
            reason.map(|r| r.as_bytes().to_vec()),
            Some(b"Configuration file 'nodes/pve/qemu-server/123.conf' does not exist".to_vec())
        );
        assert_eq!(resp.headers()[header::SERVER], "pve-api-daemon/3.0");
        assert_eq!(resp.headers()[header::CONNECTION], "close");
    }

    #[test]
    fn unusual_status_codes_are_kept() {
        assert_eq!(ApiError::status(595, "x").status.as_u16(), 595);
    }
}
