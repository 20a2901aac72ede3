//! OCI request signatures ("Signature Version 1"): draft-cavage-http-signatures-08 with
//! OCI's rules on top, as the "Request Signatures" page of the OCI documentation states them.
//!
//! - The `Authorization` header carries `Signature version="1",keyId="TENANCY/USER/FINGERPRINT",
//!   algorithm="rsa-sha256",headers="...",signature="BASE64"` (parameters in any order).
//! - The signing string is one `name: value` line per entry of `headers`, joined by `\n`,
//!   where `(request-target)` is the lowercase method, a space, and the path with its query
//!   exactly as sent.
//! - GET, HEAD and DELETE must sign at least `date (request-target) host`; POST, PUT and
//!   PATCH must also sign `content-length content-type x-content-sha256`, where
//!   `x-content-sha256` is the base64 SHA-256 of the body. `x-date` may stand in for `date`.
//! - The signature is RSA PKCS#1 v1.5 over SHA-256 of the signing string.
//! - A request whose date is more than 5 minutes off is refused (401 NotAuthenticated).
//!
//! [`Verifier`] checks all of that against one configured key; [`Signer`] produces such
//! requests (for tests, and for anything that needs to talk to the fake without an SDK).

use std::fmt;
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, Uri};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer as _, Verifier as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

/// How far a request's `date` (or `x-date`) may be from the fake's clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// Headers every request must sign (`x-date` may replace `date`).
pub const GENERIC_HEADERS: [&str; 3] = ["date", "(request-target)", "host"];

/// Headers a request with a body (POST, PUT, PATCH) must sign as well.
pub const BODY_HEADERS: [&str; 3] = ["content-length", "content-type", "x-content-sha256"];

/// Whether requests with this method must sign the body headers.
pub fn signs_body(method: &str) -> bool {
    ["POST", "PUT", "PATCH"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}

/// The base64 SHA-256 of a body, as `x-content-sha256` carries it.
pub fn content_sha256(body: &[u8]) -> String {
    BASE64.encode(Sha256::digest(body))
}

// ---------------------------------------------------------------------------------------
// Keys

/// A key file or PEM text that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(String);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

/// The label of the first PEM block (`PUBLIC KEY`, `RSA PRIVATE KEY`, ...).
fn pem_label(pem: &str) -> Option<&str> {
    let start = pem.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = &pem[start..];
    rest.find("-----").map(|end| &rest[..end])
}

/// An RSA public key from PEM: PKCS#8 (`PUBLIC KEY`, what OCI's console asks for) or
/// PKCS#1 (`RSA PUBLIC KEY`).
pub fn parse_public_key(pem: &str) -> Result<RsaPublicKey, KeyError> {
    match pem_label(pem) {
        Some("PUBLIC KEY") => RsaPublicKey::from_public_key_pem(pem).map_err(|e| {
            KeyError(format!(
                "not an RSA public key (PEM \"PUBLIC KEY\" that does not hold RSA: {e})"
            ))
        }),
        Some("RSA PUBLIC KEY") => RsaPublicKey::from_pkcs1_pem(pem)
            .map_err(|e| KeyError(format!("invalid PEM \"RSA PUBLIC KEY\": {e}"))),
        Some(other) => Err(KeyError(format!(
            "expected an RSA public key (PEM \"PUBLIC KEY\" or \"RSA PUBLIC KEY\"), found PEM \"{other}\""
        ))),
        None => Err(KeyError(
            "not PEM: expected -----BEGIN PUBLIC KEY----- or -----BEGIN RSA PUBLIC KEY-----"
                .to_string(),
        )),
    }
}

/// An unencrypted RSA private key from PEM: PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8
/// (`PRIVATE KEY`).
pub fn parse_private_key(pem: &str) -> Result<RsaPrivateKey, KeyError> {
    match pem_label(pem) {
        Some("RSA PRIVATE KEY") => RsaPrivateKey::from_pkcs1_pem(pem)
            .map_err(|e| KeyError(format!("invalid PEM \"RSA PRIVATE KEY\": {e}"))),
        Some("PRIVATE KEY") => RsaPrivateKey::from_pkcs8_pem(pem)
            .map_err(|e| KeyError(format!("not an RSA private key: {e}"))),
        Some(other) => Err(KeyError(format!(
            "expected an unencrypted RSA private key (PEM \"RSA PRIVATE KEY\" or \"PRIVATE KEY\"), found PEM \"{other}\""
        ))),
        None => Err(KeyError("not PEM".to_string())),
    }
}

// ---------------------------------------------------------------------------------------
// The Authorization header

/// Why a request is not authenticated. The message becomes the 401's `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header (or more than one).
    MissingAuthorization,
    /// The header is not `Signature ...` or cannot be parsed.
    Malformed(String),
    /// `version` is missing or not `1`.
    UnsupportedVersion(Option<String>),
    /// `algorithm` is missing or not `rsa-sha256`.
    UnsupportedAlgorithm(Option<String>),
    /// `keyId` is not the configured one.
    UnknownKeyId(String),
    /// A header OCI requires for this method is not in `headers`.
    MissingSignedHeader(&'static str),
    /// A header listed in `headers` is not in the request.
    SignedHeaderAbsent(String),
    /// The signature does not verify against the configured public key.
    BadSignature,
    /// `x-content-sha256` is not the SHA-256 of the body.
    BodyHashMismatch,
    /// `content-length` is not the body's length.
    ContentLengthMismatch { header: String, actual: usize },
    /// `date` / `x-date` cannot be parsed as an HTTP date.
    BadDate(String),
    /// `date` / `x-date` is more than [`MAX_CLOCK_SKEW`] away from now.
    ClockSkew(String),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingAuthorization => {
                f.write_str("The required information to complete authentication was not provided (no Authorization header).")
            }
            Self::Malformed(why) => write!(f, "Malformed Authorization header: {why}"),
            Self::UnsupportedVersion(v) => {
                write!(f, "Unsupported signature version {v:?}; expected version=\"1\"")
            }
            Self::UnsupportedAlgorithm(a) => {
                write!(f, "Unsupported signature algorithm {a:?}; expected algorithm=\"rsa-sha256\"")
            }
            Self::UnknownKeyId(k) => write!(f, "Unknown keyId \"{k}\""),
            Self::MissingSignedHeader(h) => {
                write!(f, "Required header \"{h}\" is not among the signed headers")
            }
            Self::SignedHeaderAbsent(h) => {
                write!(f, "Signed header \"{h}\" is not present in the request")
            }
            Self::BadSignature => f.write_str("The signature does not verify with the key of this keyId."),
            Self::BodyHashMismatch => {
                f.write_str("x-content-sha256 does not match the SHA-256 of the request body")
            }
            Self::ContentLengthMismatch { header, actual } => write!(
                f,
                "content-length {header} does not match the request body's length {actual}"
            ),
            Self::BadDate(d) => write!(f, "Cannot parse date header \"{d}\""),
            Self::ClockSkew(d) => write!(
                f,
                "Date \"{d}\" is more than 5 minutes away from the server's clock (client clock skew)"
            ),
        }
    }
}

impl std::error::Error for AuthError {}

/// The parameters of `Authorization: Signature ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    pub version: Option<String>,
    pub key_id: String,
    pub algorithm: Option<String>,
    /// Lowercase header names in signing order (`date` when the parameter is absent, as
    /// the draft says).
    pub headers: Vec<String>,
    /// Base64, as sent.
    pub signature: String,
}

/// Parses `Signature name="value",name="value",...` (scheme case-insensitive, parameters
/// in any order, whitespace around commas allowed, unknown parameters ignored).
pub fn parse_authorization(value: &str) -> Result<SignatureParams, AuthError> {
    let malformed = |why: &str| AuthError::Malformed(why.to_string());
    let value = value.trim();
    let (scheme, mut rest) = value
        .split_once(' ')
        .ok_or_else(|| malformed("expected `Signature <parameters>`"))?;
    if !scheme.eq_ignore_ascii_case("signature") {
        return Err(malformed("the scheme must be Signature"));
    }
    let (mut version, mut key_id, mut algorithm, mut headers, mut signature) =
        (None, None, None, None, None);
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| malformed("expected name=\"value\""))?;
        let after = after
            .strip_prefix('"')
            .ok_or_else(|| malformed("parameter values must be quoted"))?;
        let (val, after) = after
            .split_once('"')
            .ok_or_else(|| malformed("unterminated quoted value"))?;
        let slot = match name.trim() {
            "version" => &mut version,
            "keyId" => &mut key_id,
            "algorithm" => &mut algorithm,
            "headers" => &mut headers,
            "signature" => &mut signature,
            _ => {
                rest = after;
                continue;
            }
        };
        if slot.replace(val.to_string()).is_some() {
            return Err(AuthError::Malformed(format!(
                "parameter {} given twice",
                name.trim()
            )));
        }
        rest = after;
    }
    let headers = headers
        .as_deref()
        .unwrap_or("date")
        .split_ascii_whitespace()
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>();
    Ok(SignatureParams {
        version,
        key_id: key_id.ok_or_else(|| malformed("keyId is missing"))?,
        algorithm,
        headers,
        signature: signature.ok_or_else(|| malformed("signature is missing"))?,
    })
}

/// The signing string for `names`, in that order. `value_of(name)` gives a header's
/// value (already joined with `", "` when it occurs more than once).
pub fn signing_string(
    names: &[String],
    method: &str,
    target: &str,
    value_of: impl Fn(&str) -> Option<String>,
) -> Result<String, AuthError> {
    let mut lines = Vec::with_capacity(names.len());
    for name in names {
        let value = if name == "(request-target)" {
            format!("{} {target}", method.to_ascii_lowercase())
        } else {
            value_of(name).ok_or_else(|| AuthError::SignedHeaderAbsent(name.clone()))?
        };
        lines.push(format!("{name}: {value}"));
    }
    Ok(lines.join("\n"))
}

/// All values of `name` in `headers`, trimmed and joined by `", "` (draft-cavage 2.3);
/// `None` when absent or not visible ASCII.
pub fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values = headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().map(str::trim))
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    (!values.is_empty()).then(|| values.join(", "))
}

/// An HTTP date (IMF-fixdate, RFC 850 or asctime). An IMF-fixdate whose day name does
/// not match its date is accepted for that date: the documentation's own signing example
/// is dated "Thu, 05 Jan 2014", a Sunday.
pub fn parse_date(s: &str) -> Option<SystemTime> {
    if let Ok(t) = httpdate::parse_http_date(s) {
        return Some(t);
    }
    let rest = s.split_once(", ")?.1;
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .iter()
        .find_map(|day| httpdate::parse_http_date(&format!("{day}, {rest}")).ok())
}

// ---------------------------------------------------------------------------------------
// Verifying

/// The parts of a request a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// Path and query exactly as sent (`/20160918/instances?compartmentId=...`).
    pub target: &'a str,
    pub headers: &'a HeaderMap,
    /// Used for `host` when the request has no `Host` header (HTTP/2).
    pub authority: Option<&'a str>,
    pub body: &'a [u8],
}

/// Checks requests against one API key, as OCI's identity service would for that user.
#[derive(Debug, Clone)]
pub struct Verifier {
    key_id: String,
    key: VerifyingKey<Sha256>,
}

impl Verifier {
    /// `key_id` is `TENANCY_OCID/USER_OCID/FINGERPRINT`; `public_key_pem` the user's
    /// uploaded key (see [`parse_public_key`]).
    pub fn new(key_id: impl Into<String>, public_key_pem: &str) -> Result<Self, KeyError> {
        Ok(Self {
            key_id: key_id.into(),
            key: VerifyingKey::new(parse_public_key(public_key_pem)?),
        })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Whether `signature_b64` is a valid signature of `signing_string`.
    pub fn verify_string(&self, signing_string: &str, signature_b64: &str) -> bool {
        let Ok(raw) = BASE64.decode(signature_b64.trim()) else {
            return false;
        };
        let Ok(sig) = Signature::try_from(raw.as_slice()) else {
            return false;
        };
        self.key.verify(signing_string.as_bytes(), &sig).is_ok()
    }

    /// Authenticates one request at `now`; the first problem found is the error.
    pub fn verify(&self, req: &RequestParts<'_>, now: SystemTime) -> Result<(), AuthError> {
        let mut auth = req.headers.get_all("authorization").iter();
        let (Some(auth), None) = (auth.next(), auth.next()) else {
            return Err(AuthError::MissingAuthorization);
        };
        let auth = auth
            .to_str()
            .map_err(|_| AuthError::Malformed("not visible ASCII".into()))?;
        let params = parse_authorization(auth)?;
        if params.version.as_deref() != Some("1") {
            return Err(AuthError::UnsupportedVersion(params.version));
        }
        if params.algorithm.as_deref() != Some("rsa-sha256") {
            return Err(AuthError::UnsupportedAlgorithm(params.algorithm));
        }
        if params.key_id != self.key_id {
            return Err(AuthError::UnknownKeyId(params.key_id));
        }
        let signed = |h: &str| params.headers.iter().any(|s| s == h);
        let date_header = if signed("x-date") { "x-date" } else { "date" };
        let required = GENERIC_HEADERS.iter().chain(if signs_body(req.method) {
            BODY_HEADERS.iter()
        } else {
            [].iter()
        });
        for h in required {
            if !(signed(h) || (*h == "date" && signed("x-date"))) {
                return Err(AuthError::MissingSignedHeader(h));
            }
        }
        let value_of = |name: &str| {
            header_value(req.headers, name).or_else(|| {
                (name == "host")
                    .then(|| req.authority.map(str::to_string))
                    .flatten()
            })
        };
        let text = signing_string(&params.headers, req.method, req.target, value_of)?;
        if !self.verify_string(&text, &params.signature) {
            return Err(AuthError::BadSignature);
        }
        if signed("x-content-sha256")
            && header_value(req.headers, "x-content-sha256").as_deref()
                != Some(content_sha256(req.body).as_str())
        {
            return Err(AuthError::BodyHashMismatch);
        }
        if signed("content-length") {
            let header = header_value(req.headers, "content-length").unwrap_or_default();
            if header.parse::<usize>().ok() != Some(req.body.len()) {
                return Err(AuthError::ContentLengthMismatch {
                    header,
                    actual: req.body.len(),
                });
            }
        }
        let date = header_value(req.headers, date_header).unwrap_or_default();
        let when = parse_date(&date).ok_or_else(|| AuthError::BadDate(date.clone()))?;
        let skew = now
            .duration_since(when)
            .or_else(|_| when.duration_since(now))
            .unwrap_or_default();
        if skew > MAX_CLOCK_SKEW {
            return Err(AuthError::ClockSkew(date));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Signing

/// A request that cannot be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignError(String);

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SignError {}

/// Signs requests with one API key the way OCI's SDKs do.
#[derive(Debug, Clone)]
pub struct Signer {
    key_id: String,
    key: SigningKey<Sha256>,
}

impl Signer {
    /// `key_id` is `TENANCY_OCID/USER_OCID/FINGERPRINT`; the key an unencrypted RSA
    /// private key in PEM (see [`parse_private_key`]).
    pub fn new(key_id: impl Into<String>, private_key_pem: &str) -> Result<Self, KeyError> {
        Ok(Self {
            key_id: key_id.into(),
            key: SigningKey::new(parse_private_key(private_key_pem)?),
        })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The base64 RSA-SHA256 signature of `signing_string`.
    pub fn sign_string(&self, signing_string: &str) -> Result<String, SignError> {
        let sig = self
            .key
            .try_sign(signing_string.as_bytes())
            .map_err(|e| SignError(format!("RSA signing failed: {e}")))?;
        Ok(BASE64.encode(sig.to_bytes()))
    }

    /// The `Authorization` value for a signature over `headers` (in that order), its
    /// parameters in the order of the documentation's examples.
    pub fn authorization(&self, headers: &[&str], signature_b64: &str) -> String {
        format!(
            "Signature version=\"1\",headers=\"{}\",keyId=\"{}\",algorithm=\"rsa-sha256\",signature=\"{signature_b64}\"",
            headers.join(" "),
            self.key_id
        )
    }

    /// Signs a request to the absolute `url` at the current time; see [`Signer::sign_at`].
    pub fn sign(
        &self,
        method: &str,
        url: &str,
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>, SignError> {
        self.sign_at(
            method,
            url,
            &httpdate::fmt_http_date(SystemTime::now()),
            body,
        )
    }

    /// Signs a request to the absolute `url` (`http://127.0.0.1:1234/20160918/...?...`)
    /// dated `date` and returns the headers to send with it, `authorization` last:
    /// `date`, `host`, and for POST/PUT/PATCH `content-length`, `content-type:
    /// application/json` and `x-content-sha256` (the SDKs' choice of signed headers).
    pub fn sign_at(
        &self,
        method: &str,
        url: &str,
        date: &str,
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>, SignError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| SignError(format!("invalid URL {url:?}: {e}")))?;
        let host = uri
            .authority()
            .ok_or_else(|| SignError(format!("URL {url:?} has no host")))?
            .to_string();
        let target = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let mut headers: Vec<(&'static str, String)> =
            vec![("date", date.to_string()), ("host", host)];
        let mut names: Vec<&str> = GENERIC_HEADERS.to_vec();
        if signs_body(method) {
            headers.push(("content-length", body.len().to_string()));
            headers.push(("content-type", "application/json".to_string()));
            headers.push(("x-content-sha256", content_sha256(body)));
            names.extend(BODY_HEADERS);
        }
        let owned: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let text = signing_string(&owned, method, &target, |name| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        })
        .map_err(|e| SignError(e.to_string()))?;
        let auth = self.authorization(&names, &self.sign_string(&text)?);
        headers.push(("authorization", auth));
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn authorization_parameters_parse_in_any_order() {
        let sdk_order = r#"Signature algorithm="rsa-sha256",headers="date (request-target) host",keyId="t/u/f",signature="c2lnbmF0dXJl",version="1""#;
        let doc_order = r#"Signature version="1",keyId="t/u/f",algorithm="rsa-sha256",headers="date (request-target) host",signature="c2lnbmF0dXJl""#;
        for value in [sdk_order, doc_order] {
            let p = parse_authorization(value).unwrap();
            assert_eq!(p.version.as_deref(), Some("1"));
            assert_eq!(p.key_id, "t/u/f");
            assert_eq!(p.algorithm.as_deref(), Some("rsa-sha256"));
            assert_eq!(p.headers, ["date", "(request-target)", "host"]);
            assert_eq!(p.signature, "c2lnbmF0dXJl");
        }
    }

    #[test]
    fn malformed_authorization_headers_are_refused() {
        for bad in [
            "",
            "Signature",
            "Bearer abc",
            r#"Signature keyId=unquoted,signature="x""#,
            r#"Signature keyId="a",signature="x"#,
            r#"Signature signature="x""#,
            r#"Signature keyId="a""#,
            r#"Signature keyId="a",keyId="b",signature="x""#,
        ] {
            assert!(
                matches!(parse_authorization(bad), Err(AuthError::Malformed(_))),
                "{bad:?}"
            );
        }
        // Without `headers` the draft's default applies: only `date`.
        let p = parse_authorization(r#"signature keyId="a",signature="x""#).unwrap();
        assert_eq!(p.headers, ["date"]);
    }

    #[test]
    fn dates_parse_even_with_the_wrong_day_name() {
        let sunday = parse_date("Sun, 05 Jan 2014 21:31:40 GMT").unwrap();
        assert_eq!(parse_date("Thu, 05 Jan 2014 21:31:40 GMT"), Some(sunday));
        assert_eq!(parse_date("Sunday, 05-Jan-14 21:31:40 GMT"), Some(sunday));
        assert_eq!(parse_date("Thu, 32 Jan 2014 21:31:40 GMT"), None);
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn repeated_headers_are_joined() {
        let mut h = HeaderMap::new();
        h.append("x-a", HeaderValue::from_static(" one "));
        h.append("x-a", HeaderValue::from_static("two"));
        assert_eq!(header_value(&h, "x-a").as_deref(), Some("one, two"));
        assert_eq!(header_value(&h, "x-b"), None);
    }

    #[test]
    fn key_files_of_the_wrong_kind_are_explained() {
        let err =
            parse_public_key("-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----\n")
                .unwrap_err();
        assert!(
            err.to_string().contains("found PEM \"RSA PRIVATE KEY\""),
            "{err}"
        );
        let err = parse_public_key("hello").unwrap_err();
        assert!(err.to_string().starts_with("not PEM"), "{err}");
        // An EC public key (P-256) is PEM "PUBLIC KEY" but not RSA.
        let ec = "-----BEGIN PUBLIC KEY-----\n\
            MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEvWNPgr/J6DtZwC0pE2E5/PLavPlX\n\
            cYLEXLZqPQK1hL/DOCb4IGxN2Dm1OH3IhkJ5fWn7L7TcExwFHIuyzIkFrg==\n\
            -----END PUBLIC KEY-----\n";
        let err = parse_public_key(ec).unwrap_err();
        assert!(
            err.to_string().starts_with("not an RSA public key"),
            "{err}"
        );
    }
}
