//! Oracle Cloud Infrastructure request signatures, made by the host so that the private key never
//! enters a plugin.
//!
//! OCI signs requests with draft-cavage-http-signatures-08, `rsa-sha256` (RSASSA-PKCS1-v1_5 over
//! SHA-256), sent as `Authorization: Signature version="1",headers=…,keyId=…,algorithm=…,signature=…`
//! (the parameter order of OCI's published examples).
//! The signed headers are `date (request-target) host`, plus `content-length content-type
//! x-content-sha256` for methods that carry a body (POST, PUT, PATCH), where `x-content-sha256`
//! is the base64 SHA-256 of the body (OCI's documentation, "Request Signatures").

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use url::Url;

/// Why a request could not be signed. Messages never include key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The secret is not a PEM private key.
    #[error(
        "the OCI private key is not a PEM RSA private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`)"
    )]
    NotAKey,
    /// An encrypted PEM, which the host cannot use without its passphrase.
    #[error(
        "the OCI private key is encrypted; store it unencrypted in the secrets archive, which encrypts it"
    )]
    Encrypted,
    /// A key the signer refuses (not RSA, or smaller than the 2048 bits OCI requires).
    #[error("the OCI private key is not a usable RSA key (OCI requires 2048 bits or more)")]
    Unusable,
    /// The key id would break the header.
    #[error("the OCI key id must be TENANCY/USER/FINGERPRINT without quotes or control characters")]
    KeyId,
    /// The URL has no host.
    #[error("the request URL has no host")]
    NoHost,
}

/// An RSA private key that signs OCI requests.
pub struct SigningKey(RsaKeyPair);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// Read a PEM private key (PKCS#8 or PKCS#1), as `oci setup keys` and the console write it.
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        if pem.contains("ENCRYPTED") {
            return Err(SignError::Encrypted);
        }
        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| SignError::NotAKey)?;
        let pair = match &der {
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            _ => return Err(SignError::Unusable),
        }
        .map_err(|_| SignError::Unusable)?;
        Ok(Self(pair))
    }
}

/// RSASSA-PKCS1-v1_5 with SHA-256: the one primitive a request signature needs. [`SigningKey`]
/// is the real one (aws-lc); the tests plug in another to replay Oracle's published vectors,
/// whose 1024-bit key aws-lc rightly refuses (OCI itself requires 2048 bits).
pub trait RsaSha256Signer {
    /// The signature of `message`.
    fn sign_rsa_sha256(&self, message: &[u8]) -> Vec<u8>;
}

impl RsaSha256Signer for SigningKey {
    fn sign_rsa_sha256(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0u8; self.0.public_modulus_len()];
        self.0
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .expect("PKCS#1 v1.5 signing into a modulus-sized buffer cannot fail");
        signature
    }
}

/// The parts of a request that OCI's signature covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// Method, any case.
    pub method: &'a str,
    /// The URL the request is sent to (after any endpoint override).
    pub url: &'a Url,
    /// `content-type` the request carries, if the caller set one.
    pub content_type: Option<&'a str>,
    /// Body; `None` is sent as an empty body for POST, PUT and PATCH.
    pub body: Option<&'a [u8]>,
    /// The `date` header value (RFC 7231 IMF-fixdate).
    pub date: &'a str,
}

/// Headers to add to a request so that OCI accepts it, `authorization` last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// Headers in the order signed, then `authorization`.
    pub headers: Vec<(&'static str, String)>,
    /// The exact string that was signed (for tests and debugging; holds no secret).
    pub signing_string: String,
}

/// Whether OCI expects this method to carry a body (and the three body headers).
pub fn has_body(method: &str) -> bool {
    matches!(
        method.to_ascii_uppercase().as_str(),
        "POST" | "PUT" | "PATCH"
    )
}

/// Longest key id accepted (three OCIDs of at most 255 characters and a fingerprint fit).
pub const MAX_KEY_ID: usize = 1024;

/// `content-type` used for body requests that set none.
pub const DEFAULT_CONTENT_TYPE: &str = "application/json";

/// Sign a request.
pub fn sign(
    key: &impl RsaSha256Signer,
    key_id: &str,
    parts: RequestParts<'_>,
) -> Result<SignedHeaders, SignError> {
    if key_id.is_empty()
        || key_id.len() > MAX_KEY_ID
        || key_id
            .chars()
            .any(|c| c == '"' || c == '\\' || c.is_control())
    {
        return Err(SignError::KeyId);
    }
    let host = host_header(parts.url).ok_or(SignError::NoHost)?;
    let mut target = format!("{} {}", parts.method.to_ascii_lowercase(), parts.url.path());
    if let Some(query) = parts.url.query() {
        target.push('?');
        target.push_str(query);
    }
    let mut signed: Vec<(&'static str, String)> = vec![
        ("date", parts.date.to_string()),
        ("(request-target)", target),
        ("host", host),
    ];
    if has_body(parts.method) {
        let body = parts.body.unwrap_or_default();
        signed.push(("content-length", body.len().to_string()));
        signed.push((
            "content-type",
            parts
                .content_type
                .unwrap_or(DEFAULT_CONTENT_TYPE)
                .to_string(),
        ));
        signed.push((
            "x-content-sha256",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body)),
        ));
    }
    let signing_string = signed
        .iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect::<Vec<_>>()
        .join("\n");
    let signature = base64::engine::general_purpose::STANDARD
        .encode(key.sign_rsa_sha256(signing_string.as_bytes()));
    let names = signed.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(" ");
    let authorization = format!(
        "Signature version=\"1\",headers=\"{names}\",keyId=\"{key_id}\",algorithm=\"rsa-sha256\",signature=\"{signature}\""
    );
    // `(request-target)` and `host` are not headers the host adds: reqwest sends the request line
    // and Host from the URL itself, exactly as signed above.
    let mut headers: Vec<(&'static str, String)> = signed
        .into_iter()
        .filter(|(n, _)| *n != "(request-target)" && *n != "host" && *n != "content-length")
        .collect();
    headers.push(("authorization", authorization));
    Ok(SignedHeaders {
        headers,
        signing_string,
    })
}

/// The `Host` header an HTTP client sends for `url`: the host, and the port unless it is the
/// scheme's default.
fn host_header(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `rsa` crate as a second, independent PKCS#1 v1.5 implementation.
    struct RustCryptoKey(rsa::pkcs1v15::SigningKey<sha2::Sha256>);

    impl RustCryptoKey {
        fn from_pem(pem: &str) -> Self {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            use rsa::pkcs8::DecodePrivateKey;
            let key = rsa::RsaPrivateKey::from_pkcs1_pem(pem)
                .or_else(|_| rsa::RsaPrivateKey::from_pkcs8_pem(pem))
                .unwrap();
            Self(rsa::pkcs1v15::SigningKey::new(key))
        }
    }

    impl RsaSha256Signer for RustCryptoKey {
        fn sign_rsa_sha256(&self, message: &[u8]) -> Vec<u8> {
            use rsa::signature::{SignatureEncoding, Signer};
            self.0.sign(message).to_vec()
        }
    }

    const TEST_KEY_2048: &str =
        include_str!("../../../../tests/vectors/oci-signing/test_key_2048.pem");

    #[test]
    fn the_real_signer_agrees_with_an_independent_implementation() {
        // PKCS#1 v1.5 is deterministic: two correct implementations give the same bytes.
        let ours = SigningKey::from_pem(TEST_KEY_2048).unwrap();
        let theirs = RustCryptoKey::from_pem(TEST_KEY_2048);
        for message in [
            &b""[..],
            b"date: Thu, 05 Jan 2014 21:31:40 GMT",
            &[7u8; 5000],
        ] {
            assert_eq!(
                ours.sign_rsa_sha256(message),
                theirs.sign_rsa_sha256(message)
            );
        }
    }

    #[test]
    fn keys_below_2048_bits_are_refused_as_oci_does() {
        let doc_key = include_str!("../../../../tests/vectors/oci-signing/private_key.pem");
        assert_eq!(
            SigningKey::from_pem(doc_key).unwrap_err(),
            SignError::Unusable
        );
    }

    #[test]
    fn key_errors_are_clear_and_hold_no_key_material() {
        assert_eq!(
            SigningKey::from_pem("hello").unwrap_err(),
            SignError::NotAKey
        );
        assert_eq!(
            SigningKey::from_pem(
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
            )
            .unwrap_err(),
            SignError::Encrypted
        );
    }

    /// Oracle's published test key and requests (tests/vectors/oci-signing, from the "Request
    /// Signatures" page): our signing string and Authorization header must match byte for byte.
    /// The construction is the production code; only the RSA primitive is the `rsa` crate's, which
    /// the test above shows equal to aws-lc's.
    #[test]
    fn oracle_published_test_vectors() {
        let pem = include_str!("../../../../tests/vectors/oci-signing/private_key.pem");
        let cases: serde_json::Value = serde_json::from_str(include_str!(
            "../../../../tests/vectors/oci-signing/cases.json"
        ))
        .unwrap();
        let key = RustCryptoKey::from_pem(pem);
        let key_id = cases["key_id"].as_str().unwrap();
        let cases = cases["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 2, "a GET and a POST");
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let url = Url::parse(case["url"].as_str().unwrap()).unwrap();
            let headers = &case["headers"];
            let body = case["body"].as_str().unwrap().as_bytes();
            let signed = sign(
                &key,
                key_id,
                RequestParts {
                    method: case["method"].as_str().unwrap(),
                    url: &url,
                    content_type: headers["content-type"].as_str(),
                    body: (!body.is_empty()).then_some(body),
                    date: headers["date"].as_str().unwrap(),
                },
            )
            .unwrap();
            assert_eq!(
                signed.signing_string,
                case["signing_string"].as_str().unwrap(),
                "{name}"
            );
            let authorization = &signed.headers.last().unwrap().1;
            assert_eq!(
                authorization,
                case["authorization"].as_str().unwrap(),
                "{name}"
            );
            for (header, value) in &signed.headers[..signed.headers.len() - 1] {
                assert_eq!(
                    Some(value.as_str()),
                    headers[header].as_str(),
                    "{name}: {header}"
                );
            }
        }
    }

    #[test]
    fn host_headers_omit_default_ports() {
        let host = |u: &str| host_header(&Url::parse(u).unwrap()).unwrap();
        assert_eq!(
            host("https://iaas.eu-frankfurt-1.oraclecloud.com/20160918/instances"),
            "iaas.eu-frankfurt-1.oraclecloud.com"
        );
        assert_eq!(host("https://example.com:443/"), "example.com");
        assert_eq!(host("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
        assert_eq!(host("https://[::1]:8443/"), "[::1]:8443");
    }
}
