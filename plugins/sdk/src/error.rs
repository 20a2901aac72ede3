//! Building the contract's [`Error`] values.
//!
//! Which variant to use:
//!
//! | situation | variant |
//! | --- | --- |
//! | configuration or input is wrong | [`Error::InvalidConfig`] ([`invalid_config`], [`parse_config`]) |
//! | the API answered 4xx (other than 429) | [`Error::Provider`] with the API's own message ([`status_error`]) |
//! | 429 or 5xx after the retries, connection errors, timeouts | [`Error::Transient`] |
//! | the host refused a capability | [`Error::Denied`], as the host returned it |
//!
//! Messages must never carry request headers, credentials or a URL's query string: use
//! [`redact_url`] for URLs. The host additionally redacts every secret value it holds.

use serde::de::DeserializeOwned;

use crate::Error;

/// Longest API message (in characters) copied into an error.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// `Error::InvalidConfig(msg)`.
pub fn invalid_config(msg: impl Into<String>) -> Error {
    Error::InvalidConfig(msg.into())
}

/// `Error::Provider(msg)`.
pub fn provider(msg: impl Into<String>) -> Error {
    Error::Provider(msg.into())
}

/// `Error::Transient(msg)`.
pub fn transient(msg: impl Into<String>) -> Error {
    Error::Transient(msg.into())
}

/// `Error::Denied(msg)`.
pub fn denied(msg: impl Into<String>) -> Error {
    Error::Denied(msg.into())
}

/// The message inside any variant.
pub fn message(err: &Error) -> &str {
    match err {
        Error::InvalidConfig(m) | Error::Denied(m) | Error::Provider(m) | Error::Transient(m) => m,
    }
}

/// The same variant with `context: ` put before its message.
pub fn with_context(err: Error, context: &str) -> Error {
    let wrap = |m: String| format!("{context}: {m}");
    match err {
        Error::InvalidConfig(m) => Error::InvalidConfig(wrap(m)),
        Error::Denied(m) => Error::Denied(wrap(m)),
        Error::Provider(m) => Error::Provider(wrap(m)),
        Error::Transient(m) => Error::Transient(wrap(m)),
    }
}

/// Parses a plugin's JSON configuration; failures become `invalid-config`.
///
/// An empty (or all-whitespace) string or `null` is read as `{}`, so a provider without a
/// `[providers.<name>.config]` section gets its defaults. Use `#[serde(deny_unknown_fields)]` on
/// `T` to turn typos into errors.
pub fn parse_config<T: DeserializeOwned>(json: &str) -> Result<T, Error> {
    let trimmed = json.trim();
    let text = if trimmed.is_empty() || trimmed == "null" {
        "{}"
    } else {
        trimmed
    };
    serde_json::from_str(text).map_err(|e| invalid_config(format!("invalid config: {e}")))
}

/// Whether a status is worth retrying: 429 (rate limited) and every 5xx.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Whether a status is 2xx.
pub fn is_success(status: u16) -> bool {
    (200..=299).contains(&status)
}

/// Maps a non-2xx answer to an error.
///
/// `what` names the request, e.g. `GET https://api.hetzner.cloud/v1/servers` (already passed
/// through [`redact_url`]). 429 and 5xx become `transient`, anything else `provider`; the
/// message carries the API's own message when the body has one (see [`api_message`]), else the
/// response's non-standard reason phrase (where Proxmox VE puts its errors).
pub fn status_error(status: u16, reason: Option<&str>, body: &[u8], what: &str) -> Error {
    let detail = match api_message(body).or_else(|| reason.map(clean).filter(|r| !r.is_empty())) {
        Some(m) => format!(": {m}"),
        None => String::new(),
    };
    let msg = format!("{what}: HTTP {status}{detail}");
    if is_retryable_status(status) {
        transient(msg)
    } else {
        provider(msg)
    }
}

/// The human-readable message of an API error body, if there is one.
///
/// Understands `{"error": {"message": "...", "code": "..."}}` (Hetzner; the code is appended in
/// parentheses), `{"message": "...", "code": "..."}` (OCI, likewise), `{"message": "..."}`, `{"error": "..."}` and `{"errors": [{"message": ...}]}`;
/// otherwise the body itself when it is short printable text. The result is at most
/// [`MAX_MESSAGE_CHARS`] characters with control characters replaced.
pub fn api_message(body: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let found = json_message(&v);
        return found.map(|m| clean(&m)).filter(|m| !m.is_empty());
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() || text.starts_with('<') {
        // Nothing, or an HTML error page: the status says more.
        return None;
    }
    Some(clean(text))
}

fn json_message(v: &serde_json::Value) -> Option<String> {
    let str_of = |v: &serde_json::Value, key: &str| {
        v.get(key)
            .and_then(|x| x.as_str())
            .map(str::to_owned)
            .filter(|s| !s.is_empty())
    };
    match v.get("error") {
        Some(serde_json::Value::String(s)) if !s.is_empty() => return Some(s.clone()),
        Some(obj @ serde_json::Value::Object(_)) => {
            let msg = str_of(obj, "message");
            let code = str_of(obj, "code");
            return match (msg, code) {
                (Some(m), Some(c)) => Some(format!("{m} ({c})")),
                (Some(m), None) => Some(m),
                (None, Some(c)) => Some(c),
                (None, None) => None,
            };
        }
        _ => {}
    }
    if let Some(m) = str_of(v, "message") {
        // OCI: `{"code": "NotAuthorizedOrNotFound", "message": "..."}`.
        return Some(match str_of(v, "code") {
            Some(c) => format!("{m} ({c})"),
            None => m,
        });
    }
    match v.get("errors") {
        // Proxmox VE: `{"errors": {"param": "what is wrong"}, "data": null}`.
        Some(serde_json::Value::Object(by_param)) if !by_param.is_empty() => Some(
            by_param
                .iter()
                .map(|(k, m)| format!("{k}: {}", m.as_str().unwrap_or("invalid")))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Some(serde_json::Value::Array(list)) => list.first().and_then(|first| {
            str_of(first, "message").or_else(|| first.as_str().map(str::to_owned))
        }),
        _ => None,
    }
}

/// The Hetzner-style machine-readable error code (`{"error": {"code": "..."}}`), if any.
pub fn api_error_code(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("error")?.get("code")?.as_str().map(str::to_owned)
}

fn clean(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE_CHARS)
        .collect();
    if s.chars().count() > MAX_MESSAGE_CHARS {
        out.push('…');
    }
    out.trim().to_owned()
}

/// A URL safe to show: user info, query string and fragment removed.
///
/// `https://user:pw@api.example.com/v1/x?token=abc#f` becomes `https://api.example.com/v1/x`.
pub fn redact_url(url: &str) -> String {
    let cut = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..cut];
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let (scheme, rest) = url.split_at(scheme_end + 3);
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = match authority.rfind('@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    format!("{scheme}{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_variants() {
        assert!(matches!(
            status_error(404, None, b"", "GET x"),
            Error::Provider(_)
        ));
        assert!(matches!(
            status_error(422, None, b"", "GET x"),
            Error::Provider(_)
        ));
        assert!(matches!(
            status_error(429, None, b"", "GET x"),
            Error::Transient(_)
        ));
        assert!(matches!(
            status_error(500, None, b"", "GET x"),
            Error::Transient(_)
        ));
        assert!(matches!(
            status_error(503, None, b"", "GET x"),
            Error::Transient(_)
        ));
        assert!(matches!(
            status_error(302, None, b"", "GET x"),
            Error::Provider(_)
        ));
        assert!(is_retryable_status(599));
        assert!(!is_retryable_status(400));
        assert!(!is_retryable_status(200));
    }

    #[test]
    fn hetzner_error_body_gives_message_and_code() {
        let body = br#"{"error":{"code":"uniqueness_error","message":"server name is already used","details":{}}}"#;
        assert_eq!(
            api_message(body).as_deref(),
            Some("server name is already used (uniqueness_error)")
        );
        assert_eq!(api_error_code(body).as_deref(), Some("uniqueness_error"));
        let err = status_error(409, None, body, "POST https://api.hetzner.cloud/v1/servers");
        assert_eq!(
            err,
            Error::Provider(
                "POST https://api.hetzner.cloud/v1/servers: HTTP 409: server name is already used (uniqueness_error)"
                    .into()
            )
        );
    }

    #[test]
    fn oci_and_proxmox_error_shapes() {
        assert_eq!(
            api_message(br#"{"code":"NotAuthorizedOrNotFound","message":"no such instance"}"#)
                .as_deref(),
            Some("no such instance (NotAuthorizedOrNotFound)")
        );
        assert_eq!(
            api_message(
                br#"{"errors":{"memory":"value must be at least 16","cores":"bad"},"data":null}"#
            )
            .as_deref(),
            Some("cores: bad; memory: value must be at least 16")
        );
        // PVE's message is in the status line; the body is only `{"data":null}`.
        assert_eq!(
            status_error(
                500,
                Some("VM 105 already running"),
                br#"{"data":null}"#,
                "POST x"
            ),
            Error::Transient("POST x: HTTP 500: VM 105 already running".into())
        );
        assert_eq!(
            status_error(400, Some("bad\r\nthing"), b"", "POST x"),
            Error::Provider("POST x: HTTP 400: bad  thing".into())
        );
    }

    #[test]
    fn other_error_shapes() {
        assert_eq!(
            api_message(br#"{"message":"nope"}"#).as_deref(),
            Some("nope")
        );
        assert_eq!(api_message(br#"{"error":"bad"}"#).as_deref(), Some("bad"));
        assert_eq!(
            api_message(br#"{"errors":[{"message":"first"},{"message":"second"}]}"#).as_deref(),
            Some("first")
        );
        assert_eq!(api_message(br#"{"data":1}"#), None);
        assert_eq!(api_message(b"plain\ntext"), Some("plain text".into()));
        assert_eq!(api_message(b"<html>502</html>"), None);
        assert_eq!(api_message(b"   "), None);
        let long = "y".repeat(1000);
        let m = api_message(long.as_bytes()).unwrap();
        assert_eq!(m.chars().count(), MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn urls_lose_query_fragment_and_userinfo() {
        assert_eq!(
            redact_url("https://user:pw@api.example.com/v1/x?token=abc#frag"),
            "https://api.example.com/v1/x"
        );
        assert_eq!(
            redact_url("https://api.hetzner.cloud/v1/servers?label_selector=a%3Db"),
            "https://api.hetzner.cloud/v1/servers"
        );
        assert_eq!(redact_url("https://h.test?x=1"), "https://h.test");
        assert_eq!(redact_url("not a url?secret"), "not a url");
        assert_eq!(redact_url("http://a@b@c.test/p"), "http://c.test/p");
    }

    #[test]
    fn config_parsing() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct C {
            #[serde(default)]
            a: u32,
        }
        assert_eq!(parse_config::<C>("").unwrap().a, 0);
        assert_eq!(parse_config::<C>(" null ").unwrap().a, 0);
        assert_eq!(parse_config::<C>(r#"{"a":3}"#).unwrap().a, 3);
        let err = parse_config::<C>(r#"{"b":3}"#).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidConfig(m) if m.contains("unknown field `b`")),
            "{err:?}"
        );
    }

    #[test]
    fn context_keeps_the_variant() {
        let e = with_context(transient("boom"), "creating x");
        assert_eq!(e, Error::Transient("creating x: boom".into()));
        assert_eq!(message(&e), "creating x: boom");
    }
}
