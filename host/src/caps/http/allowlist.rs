//! Allowlists of origins: what a plugin declares it needs and what the operator grants.
//!
//! An entry is `scheme://host[:port]`, where host may start with `*.` to match any subdomain
//! (but not the domain itself, and `*.x.com` never matches `evilx.com`). A missing port means the
//! scheme's default. Paths, queries and user info are refused in entries. An empty list allows
//! nothing. A URL is allowed for a plugin only if an entry of BOTH lists matches it.
//!
//! A plugin (never an operator) may declare `scheme://*`: any host on any port of that scheme.
//! That is how a plugin for a self-hosted API (Proxmox VE) says "wherever the operator points
//! me"; the operator's grant, which must name hosts, is then the only gate.

use super::origin::{Origin, OriginHost, Scheme, parse_url};
use std::fmt;

/// The syntax shown in every parse error.
const SYNTAX: &str =
    "expected scheme://host[:port], e.g. https://api.hetzner.cloud or https://*.example.com:8443";

/// One parsed allowlist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: Scheme,
    host: HostPattern,
    port: u16,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(OriginHost),
    /// `*.suffix`: matches names ending in `.suffix`.
    Subdomains(String),
    /// `*` alone: any host, any port (plugin declarations only).
    Any,
}

/// An entry could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid host entry `{entry}`: {reason}; {SYNTAX}")]
pub struct PatternError {
    pub(super) entry: String,
    pub(super) reason: String,
}

impl OriginPattern {
    /// Parse one entry.
    pub fn parse(entry: &str) -> Result<Self, PatternError> {
        let err = |reason: &str| PatternError {
            entry: entry.to_string(),
            reason: reason.to_string(),
        };
        let (scheme_text, rest) = entry
            .split_once("://")
            .ok_or_else(|| err("missing scheme"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest == "*" {
            let (_, origin) = parse_url(&format!("{scheme_text}://any.invalid/"))
                .map_err(|e| err(&e.to_string()))?;
            return Ok(Self {
                scheme: origin.scheme,
                host: HostPattern::Any,
                port: 0,
                text: entry.to_string(),
            });
        }
        if rest.contains(['/', '?', '#']) {
            return Err(err("paths and queries are not allowed"));
        }
        if rest.contains('@') {
            return Err(err("user info is not allowed"));
        }
        if let Some(suffix_and_port) = rest.strip_prefix("*.") {
            // Parse the suffix as a host so that it is canonicalised exactly like URLs are.
            let (_, origin) = parse_url(&format!("{scheme_text}://{suffix_and_port}/"))
                .map_err(|e| err(&e.to_string()))?;
            let OriginHost::Domain(suffix) = origin.host else {
                return Err(err("a wildcard needs a domain, not an IP address"));
            };
            if !suffix.contains('.') {
                return Err(err(
                    "a wildcard must cover a domain with at least two labels",
                ));
            }
            return Ok(Self {
                scheme: origin.scheme,
                host: HostPattern::Subdomains(suffix),
                port: origin.port,
                text: entry.to_string(),
            });
        }
        if rest.contains('*') {
            return Err(err("`*` is only allowed as a leading `*.`"));
        }
        let (_, origin) =
            parse_url(&format!("{scheme_text}://{rest}/")).map_err(|e| err(&e.to_string()))?;
        Ok(Self {
            scheme: origin.scheme,
            host: HostPattern::Exact(origin.host),
            port: origin.port,
            text: entry.to_string(),
        })
    }

    /// Whether `origin` matches this entry.
    pub fn matches(&self, origin: &Origin) -> bool {
        if self.scheme != origin.scheme {
            return false;
        }
        match (&self.host, &origin.host) {
            (HostPattern::Any, _) => true,
            _ if self.port != origin.port => false,
            (HostPattern::Exact(h), host) => h == host,
            (HostPattern::Subdomains(suffix), OriginHost::Domain(name)) => name
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            (HostPattern::Subdomains(_), OriginHost::Ip(_)) => false,
        }
    }

    /// The exact origin this entry names, if it has no wildcard.
    pub fn exact(&self) -> Option<Origin> {
        match &self.host {
            HostPattern::Exact(h) => Some(Origin {
                scheme: self.scheme,
                host: h.clone(),
                port: self.port,
            }),
            HostPattern::Subdomains(_) | HostPattern::Any => None,
        }
    }

    /// Whether this entry is `scheme://*`.
    pub fn is_any(&self) -> bool {
        self.host == HostPattern::Any
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A list of entries. Empty allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    entries: Vec<OriginPattern>,
}

impl Allowlist {
    /// Parse an operator's list (grants, endpoint overrides); the first bad entry is the error.
    /// `scheme://*` is refused: an operator names the hosts they grant.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, PatternError> {
        let list = Self::parse_declared(entries)?;
        if let Some(any) = list.entries.iter().find(|e| e.is_any()) {
            return Err(PatternError {
                entry: any.text.clone(),
                reason: "a grant must name its hosts; `*` alone is for plugin declarations".into(),
            });
        }
        Ok(list)
    }

    /// Parse a plugin's declared hosts, where `scheme://*` is allowed.
    pub fn parse_declared<S: AsRef<str>>(entries: &[S]) -> Result<Self, PatternError> {
        let entries = entries
            .iter()
            .map(|e| OriginPattern::parse(e.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// Whether any entry matches.
    pub fn allows(&self, origin: &Origin) -> bool {
        self.entries.iter().any(|e| e.matches(origin))
    }

    /// Only the entries without a wildcard.
    pub fn exact_only(&self) -> Self {
        Self {
            entries: self
                .entries
                .iter()
                .filter(|e| e.exact().is_some())
                .cloned()
                .collect(),
        }
    }

    /// The entries.
    pub fn entries(&self) -> &[OriginPattern] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entry: &str, url: &str) -> bool {
        let (_, origin) = parse_url(url).unwrap();
        OriginPattern::parse(entry).unwrap().matches(&origin)
    }

    #[test]
    fn any_host_is_for_declarations_only() {
        let declared = Allowlist::parse_declared(&["https://*"]).unwrap();
        for url in [
            "https://pve.lan:8006/api2/json",
            "https://10.0.0.5/",
            "https://[::1]:8443/",
        ] {
            let (_, origin) = parse_url(url).unwrap();
            assert!(declared.allows(&origin), "{url}");
        }
        let (_, plain) = parse_url("http://pve.lan:8006/").unwrap();
        assert!(!declared.allows(&plain), "the scheme still has to match");
        assert!(declared.exact_only().entries().is_empty());
        let err = Allowlist::parse(&["https://*"]).unwrap_err();
        assert!(err.to_string().contains("must name its hosts"), "{err}");
        assert!(OriginPattern::parse("https://*:8006").is_err());
    }

    #[test]
    fn matching_table() {
        let cases = [
            (
                "https://api.hetzner.cloud",
                "https://api.hetzner.cloud/v1/servers",
                true,
            ),
            (
                "https://api.hetzner.cloud",
                "https://API.HETZNER.CLOUD./v1",
                true,
            ),
            (
                "https://api.hetzner.cloud",
                "https://api.hetzner.cloud:443/v1",
                true,
            ),
            (
                "https://api.hetzner.cloud",
                "https://api.hetzner.cloud:8443/v1",
                false,
            ),
            (
                "https://api.hetzner.cloud",
                "http://api.hetzner.cloud/v1",
                false,
            ),
            (
                "https://api.hetzner.cloud",
                "https://api.hetzner.cloud.evil.com/",
                false,
            ),
            (
                "https://api.hetzner.cloud",
                "https://evilapi.hetzner.cloud/",
                false,
            ),
            ("https://*.example.com", "https://a.example.com/", true),
            ("https://*.example.com", "https://a.b.example.com/", true),
            ("https://*.example.com", "https://example.com/", false),
            ("https://*.example.com", "https://evilexample.com/", false),
            ("https://*.example.com", "https://a.example.com:444/", false),
            ("http://127.0.0.1:8080", "http://2130706433:8080/", true),
            (
                "http://127.0.0.1:8080",
                "http://[::ffff:7f00:1]:8080/",
                true,
            ),
            ("http://127.0.0.1:8080", "http://127.0.0.2:8080/", false),
            (
                "https://bücher.example",
                "https://xn--bcher-kva.example/",
                true,
            ),
        ];
        for (entry, url, want) in cases {
            assert_eq!(allowed(entry, url), want, "{entry} vs {url}");
        }
    }

    #[test]
    fn bad_entries_explain_the_syntax() {
        for entry in [
            "api.hetzner.cloud",
            "https://api.hetzner.cloud/v1",
            "https://user@api.hetzner.cloud",
            "ftp://x.example",
            "https://*.com",
            "https://a*.example.com",
            "https://*.127.0.0.1",
        ] {
            let err = OriginPattern::parse(entry).unwrap_err().to_string();
            assert!(err.contains("scheme://host[:port]"), "{entry}: {err}");
        }
    }

    #[test]
    fn exact_only_drops_wildcards() {
        let list = Allowlist::parse(&["https://*.example.com", "https://api.example.com"]).unwrap();
        let exact = list.exact_only();
        assert_eq!(exact.entries().len(), 1);
        let (_, other) = parse_url("https://bucket.example.com/").unwrap();
        assert!(list.allows(&other) && !exact.allows(&other));
    }

    #[test]
    fn empty_list_allows_nothing() {
        let (_, origin) = parse_url("https://api.hetzner.cloud/").unwrap();
        assert!(!Allowlist::default().allows(&origin));
    }
}
