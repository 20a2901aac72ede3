//! The certificates a freshly installed PVE node has: a cluster CA (`pve-root-ca.pem`,
//! self-signed, "CN=Proxmox Virtual Environment, OU=<random>, O=PVE Cluster Manager CA",
//! valid 10 years) and a node certificate signed by it (`pve-ssl.pem`,
//! "OU=PVE Cluster Node, O=Proxmox Virtual Environment, CN=<node>", valid 2 years, for the
//! node's names and addresses; here `127.0.0.1`, `localhost` and the node name). Like
//! `pveproxy`, the server sends only the node certificate; a client either trusts the CA or
//! pins the certificate's SHA-256 fingerprint, in the form the GUI shows
//! (`AB:CD:...`, upper-case hex pairs). PVE generates RSA keys (4096-bit CA, 2048-bit node);
//! the fake uses 2048-bit RSA for both.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_RSA_SHA256, RsaKeySize,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

/// The node's TLS material.
pub(crate) struct NodeTls {
    pub ca_pem: String,
    pub cert_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
    /// SHA-256 of the node certificate, `AB:CD:...`.
    pub fingerprint: String,
}

impl NodeTls {
    /// Generates a CA and a node certificate for `node`.
    pub fn generate(node: &str) -> Result<Self, rcgen::Error> {
        let today = day_number();
        let at = |d: i64| {
            let (y, m, day) = civil_from_days(d);
            rcgen::date_time_ymd(y as i32, m as u8, day as u8)
        };

        let ca_key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.distinguished_name.remove(DnType::CommonName);
        ca.distinguished_name
            .push(DnType::CommonName, "Proxmox Virtual Environment");
        ca.distinguished_name
            .push(DnType::OrganizationalUnitName, random_ou());
        ca.distinguished_name
            .push(DnType::OrganizationName, "PVE Cluster Manager CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.not_before = at(today - 1);
        ca.not_after = at(today + 3650);
        let ca_cert = ca.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca, ca_key);

        let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)?;
        let mut names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        if node != "localhost" {
            names.push(node.to_string());
        }
        let mut leaf = CertificateParams::new(names)?;
        leaf.distinguished_name.remove(DnType::CommonName);
        leaf.distinguished_name
            .push(DnType::OrganizationalUnitName, "PVE Cluster Node");
        leaf.distinguished_name
            .push(DnType::OrganizationName, "Proxmox Virtual Environment");
        leaf.distinguished_name.push(DnType::CommonName, node);
        leaf.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.use_authority_key_identifier_extension = true;
        leaf.not_before = at(today - 1);
        leaf.not_after = at(today + 730);
        let cert = leaf.signed_by(&key, &issuer)?;

        let cert_der = cert.der().clone();
        Ok(Self {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            fingerprint: fingerprint(&cert_der),
            cert_der,
            key_der: key.serialize_der(),
        })
    }

    /// A rustls server configuration serving the node certificate over TLS 1.2 and 1.3,
    /// HTTP/1.1 only (PVE's server announces no ALPN protocols).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], key)?;
        Ok(Arc::new(config))
    }
}

/// SHA-256 of a DER certificate as upper-case hex pairs joined by `:`.
pub(crate) fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A random OU as `pvecm` puts into the CA's subject (PVE uses a UUID).
fn random_ou() -> String {
    let b: [u8; 16] = rand::random();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Days since 1970-01-01 (UTC). The certificates are valid from the day before, so
/// clocks a little behind still accept them.
fn day_number() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    i64::try_from(secs / 86_400).unwrap_or(0)
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's method).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_upper_case_hex_pairs() {
        let fp = fingerprint(b"x");
        assert_eq!(fp.len(), 32 * 3 - 1);
        assert!(fp.starts_with("2D:71:16:42:B7:26:B0:44"), "{fp}");
    }

    #[test]
    fn dates_are_computed_from_the_day_count() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_147), (2025, 2, 28));
    }
}
