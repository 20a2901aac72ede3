//! What the host trusts for one origin's TLS certificate.
//!
//! By default, the system's root certificates. For self-hosted APIs with their own certificates
//! (a Proxmox VE node's `pve-root-ca.pem`), the operator pins either a CA — then only that CA is
//! trusted for the origin, and host names are still checked — or the SHA-256 fingerprint of the
//! server's certificate, as Proxmox shows it — then exactly that certificate is accepted (its
//! name and dates are the operator's business; the key must still prove possession in the
//! handshake). Checking is never switched off.

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

/// A pinned trust for one origin.
#[derive(Clone, PartialEq, Eq)]
pub enum TlsTrust {
    /// Only certificates issued by this CA (PEM, one or more certificates).
    Ca(Vec<u8>),
    /// Only the certificate with this SHA-256 fingerprint (of its DER encoding).
    Fingerprint([u8; 32]),
}

impl std::fmt::Debug for TlsTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsTrust::Ca(pem) => write!(f, "Ca({} bytes of PEM)", pem.len()),
            TlsTrust::Fingerprint(fp) => write!(f, "Fingerprint({})", format_fingerprint(fp)),
        }
    }
}

/// A fingerprint or CA that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsTrustError {
    /// Not 32 hex-encoded bytes.
    #[error(
        "a certificate fingerprint is the SHA-256 of the certificate as 64 hex digits, optionally in pairs separated by `:` (as Proxmox shows it)"
    )]
    Fingerprint,
    /// The CA PEM holds no certificate.
    #[error("the CA holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)")]
    NoCertificate,
}

impl TlsTrust {
    /// Parse `AB:CD:…` (or plain hex, any case, with an optional `sha256:` prefix).
    pub fn fingerprint(text: &str) -> Result<Self, TlsTrustError> {
        let text = text.trim();
        let text = text
            .strip_prefix("sha256:")
            .or_else(|| text.strip_prefix("SHA256:"))
            .unwrap_or(text);
        let digits: String = text.chars().filter(|c| *c != ':').collect();
        let bytes = hex::decode(&digits).map_err(|_| TlsTrustError::Fingerprint)?;
        let fp: [u8; 32] = bytes.try_into().map_err(|_| TlsTrustError::Fingerprint)?;
        Ok(TlsTrust::Fingerprint(fp))
    }

    /// A CA in PEM form; it must contain at least one certificate.
    pub fn ca(pem: &[u8]) -> Result<Self, TlsTrustError> {
        let certs =
            reqwest::Certificate::from_pem_bundle(pem).map_err(|_| TlsTrustError::NoCertificate)?;
        if certs.is_empty() {
            return Err(TlsTrustError::NoCertificate);
        }
        Ok(TlsTrust::Ca(pem.to_vec()))
    }

    /// Apply this trust to a client under construction.
    pub(super) fn configure(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, String> {
        match self {
            TlsTrust::Ca(pem) => {
                let certs = reqwest::Certificate::from_pem_bundle(pem)
                    .map_err(|e| format!("cannot read the pinned CA: {e}"))?;
                Ok(builder.tls_certs_only(certs))
            }
            TlsTrust::Fingerprint(fp) => {
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let verifier = PinnedCertificate {
                    fingerprint: *fp,
                    algorithms: provider.signature_verification_algorithms,
                };
                let mut config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| format!("cannot set up TLS: {e}"))?
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verifier))
                    .with_no_client_auth();
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                Ok(builder.tls_backend_preconfigured(config))
            }
        }
    }
}

/// `AB:CD:…`, as Proxmox shows fingerprints.
pub fn format_fingerprint(fp: &[u8]) -> String {
    fp.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Accepts exactly one certificate, by the SHA-256 of its DER encoding.
#[derive(Debug)]
struct PinnedCertificate {
    fingerprint: [u8; 32],
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if constant_time_eq(&seen, &self.fingerprint) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "certificate fingerprint {} does not match the pinned one",
                format_fingerprint(&seen)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_the_forms_people_paste() {
        let hex = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        for text in [hex.clone(), colons.clone(), format!("sha256:{colons}")] {
            assert_eq!(
                TlsTrust::fingerprint(&text).unwrap(),
                TlsTrust::Fingerprint([0xab; 32]),
                "{text}"
            );
        }
        for bad in [
            "",
            "ab",
            &"zz".repeat(32),
            &"ab".repeat(31),
            &"ab".repeat(33),
        ] {
            assert_eq!(
                TlsTrust::fingerprint(bad),
                Err(TlsTrustError::Fingerprint),
                "{bad}"
            );
        }
        assert_eq!(format_fingerprint(&[0xab; 2]), "AB:AB");
    }

    #[test]
    fn a_ca_must_hold_a_certificate() {
        assert_eq!(
            TlsTrust::ca(b"not a pem"),
            Err(TlsTrustError::NoCertificate)
        );
    }
}
