//! Parsing URLs and allowlist entries into typed origins, so that every decision is made on one
//! canonical form: lower-case host, IDNA to punycode, trailing dot dropped, decimal/hex IPv4 and
//! IPv6 normalised (all by the `url` crate's WHATWG parser), default ports made explicit, and
//! user info refused outright.

use std::fmt;
use std::net::IpAddr;
use url::{Host, Url};

/// `http` or `https`: the only schemes a plugin may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A host name or address in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OriginHost {
    /// A DNS name: lower case, punycode, no trailing dot.
    Domain(String),
    /// An IP address literal (IPv4-mapped IPv6 is folded to IPv4).
    Ip(IpAddr),
}

impl fmt::Display for OriginHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginHost::Domain(d) => f.write_str(d),
            OriginHost::Ip(IpAddr::V4(v4)) => write!(f, "{v4}"),
            OriginHost::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]"),
        }
    }
}

/// scheme + host + port: what same-origin and allowlist decisions compare.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// Scheme.
    pub scheme: Scheme,
    /// Host.
    pub host: OriginHost,
    /// Port, explicit even when the URL left it to the scheme's default.
    pub port: u16,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        if self.port == self.scheme.default_port() {
            write!(f, "{scheme}://{}", self.host)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// Why a URL or entry was not accepted. Messages never repeat user info, paths or queries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    /// Not a URL at all.
    #[error("not an absolute http(s) URL")]
    NotAUrl,
    /// A scheme other than http or https.
    #[error("scheme `{0}` is not allowed (only http and https)")]
    Scheme(String),
    /// `user:pass@host`.
    #[error("URLs with user info (user@host) are refused")]
    UserInfo,
    /// No host.
    #[error("URL has no host")]
    NoHost,
}

/// Parse an absolute URL and return it with its origin. The URL is returned as the `url` crate
/// normalised it, which is also exactly what is sent: there is no second parse.
pub fn parse_url(text: &str) -> Result<(Url, Origin), OriginError> {
    let url = Url::parse(text).map_err(|_| OriginError::NotAUrl)?;
    let origin = origin_of(&url)?;
    Ok((url, origin))
}

/// The origin of an already parsed URL.
pub fn origin_of(url: &Url) -> Result<Origin, OriginError> {
    let scheme = match url.scheme() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => return Err(OriginError::Scheme(other.to_string())),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OriginError::UserInfo);
    }
    let host = match url.host().ok_or(OriginError::NoHost)? {
        Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d.is_empty() {
                return Err(OriginError::NoHost);
            }
            OriginHost::Domain(d)
        }
        Host::Ipv4(v4) => OriginHost::Ip(IpAddr::V4(v4)),
        Host::Ipv6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => OriginHost::Ip(IpAddr::V4(v4)),
            None => OriginHost::Ip(IpAddr::V6(v6)),
        },
    };
    let port = url.port().unwrap_or(scheme.default_port());
    Ok(Origin { scheme, host, port })
}

/// Loopback, private, link-local (incl. cloud metadata 169.254.169.254), unspecified, CGNAT,
/// unique-local and multicast addresses: never reached unless an operator names them.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 CGNAT
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link local
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_agree() {
        let cases = [
            ("https://API.Hetzner.Cloud/v1", "https://api.hetzner.cloud"),
            ("https://api.hetzner.cloud./v1", "https://api.hetzner.cloud"),
            (
                "https://api.hetzner.cloud:443/",
                "https://api.hetzner.cloud",
            ),
            ("http://2130706433/", "http://127.0.0.1"),
            ("http://0x7f.1/", "http://127.0.0.1"),
            ("http://[::ffff:127.0.0.1]:8080/", "http://127.0.0.1:8080"),
            ("https://bücher.example/", "https://xn--bcher-kva.example"),
        ];
        for (input, want) in cases {
            let (_, origin) = parse_url(input).unwrap();
            assert_eq!(origin.to_string(), want, "{input}");
        }
    }

    #[test]
    fn refused_urls() {
        let cases = [
            ("https://user:pw@api.hetzner.cloud/", OriginError::UserInfo),
            ("https://user@api.hetzner.cloud/", OriginError::UserInfo),
            (
                "ftp://api.hetzner.cloud/",
                OriginError::Scheme("ftp".into()),
            ),
            ("file:///etc/passwd", OriginError::Scheme("file".into())),
            ("/v1/servers", OriginError::NotAUrl),
        ];
        for (input, want) in cases {
            assert_eq!(parse_url(input).unwrap_err(), want, "{input}");
        }
    }

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "203.0.113.9", "2a01:4f8::1"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
