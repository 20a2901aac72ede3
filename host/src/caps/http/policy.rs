//! What one plugin may reach, and with which credentials: built once per plugin from its
//! declaration and the operator's grant, then consulted for every request.

use super::allowlist::{Allowlist, PatternError};
use super::origin::{Origin, OriginHost, parse_url};
use std::collections::{BTreeMap, BTreeSet};
use url::Url;

/// One secret granted to a plugin.
#[derive(Debug, Clone)]
pub struct SecretGrant {
    /// Origins the host may attach this secret to.
    pub hosts: Allowlist,
    /// Whether the plugin may read the value itself (`secrets.reveal`).
    pub reveal: bool,
    /// An OAuth client id or secret: usable only in the host-run `oauth-client-credentials`
    /// exchange, never attached to a request or revealed, so that neither it nor the access
    /// token it buys can reach the plugin.
    pub oauth: bool,
}

/// The network and secret policy of one plugin.
#[derive(Debug, Clone, Default)]
pub struct HttpPolicy {
    /// What the plugin declared in `describe().hosts`.
    pub declared_hosts: Allowlist,
    /// What the operator granted.
    pub granted_hosts: Allowlist,
    /// What the plugin declared in `describe().secrets`.
    pub declared_secrets: BTreeSet<String>,
    /// What the operator granted, by secret name.
    pub secrets: BTreeMap<String, SecretGrant>,
    /// Operator-given rewrites: requests to the first origin are sent to the second
    /// (a fake API in tests and CI, a regional endpoint, a proxy).
    pub endpoints: Vec<(Origin, Origin)>,
    /// Operator-pinned TLS trust, by the origin connected to (after any endpoint override).
    pub tls: Vec<(Origin, super::tls::TlsTrust)>,
}

/// A policy decision against a request. Messages name origins only: never paths, queries, user
/// info or header values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The URL is not acceptable at all.
    #[error("invalid URL: {0}")]
    Url(#[from] super::origin::OriginError),
    /// The plugin did not declare this origin.
    #[error("{0} is not among the hosts this plugin declares")]
    Undeclared(Origin),
    /// The operator did not grant this origin.
    #[error("{0} is not granted to this plugin")]
    NotGranted(Origin),
    /// The plugin did not declare the secret.
    #[error("secret `{0}` is not among the secrets this plugin declares")]
    SecretUndeclared(String),
    /// The operator did not grant the secret.
    #[error("secret `{0}` is not granted to this plugin")]
    SecretNotGranted(String),
    /// The secret is granted, but not for this origin.
    #[error("secret `{0}` may not be sent to {1}")]
    SecretWrongHost(String, Origin),
    /// An OAuth secret asked for as a header credential or for `reveal`.
    #[error("secret `{0}` is an OAuth client credential: the host uses it only to fetch tokens")]
    OAuthOnly(String),
    /// A secret used for OAuth without being granted for it.
    #[error("secret `{0}` is not granted for OAuth (`oauth = true` in its grant)")]
    NotOAuth(String),
    /// `reveal` was not granted.
    #[error("secret `{0}` may be attached to requests but not revealed to this plugin")]
    RevealNotGranted(String),
    /// The destination is loopback, private or link-local and the operator did not name it.
    #[error("{0} is an internal address; only hosts the operator names explicitly may be internal")]
    Internal(Origin),
}

/// Where a request really goes.
#[derive(Debug, Clone)]
pub struct Route {
    /// The URL to send (after the endpoint override, if any).
    pub url: Url,
    /// The origin the plugin asked for (what grants are checked against).
    pub logical: Origin,
    /// Whether the destination may resolve to an internal address.
    pub internal_ok: bool,
}

impl HttpPolicy {
    /// Parse endpoint overrides given as `origin = url` pairs.
    pub fn parse_endpoints<'a>(
        pairs: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Result<Vec<(Origin, Origin)>, PatternError> {
        pairs
            .into_iter()
            .map(|(from, to)| {
                let parse = |text: &str| {
                    super::allowlist::OriginPattern::parse(text)?
                        .exact()
                        .ok_or_else(|| PatternError {
                            entry: text.to_string(),
                            reason: "an endpoint override names one origin, without `*`".into(),
                        })
                };
                Ok((parse(from)?, parse(to)?))
            })
            .collect()
    }

    /// Decide where a request to `url` goes, or why it may not.
    pub fn route(&self, url: &str) -> Result<Route, PolicyError> {
        let (mut url, logical) = parse_url(url)?;
        if !self.declared_hosts.allows(&logical) {
            return Err(PolicyError::Undeclared(logical));
        }
        if !self.granted_hosts.allows(&logical) {
            return Err(PolicyError::NotGranted(logical));
        }
        let mut internal_ok = self.operator_named_internal(&logical);
        if let Some((_, target)) = self.endpoints.iter().find(|(from, _)| *from == logical) {
            rewrite_origin(&mut url, target);
            internal_ok = true;
        }
        Ok(Route {
            url,
            logical,
            internal_ok,
        })
    }

    /// The TLS trust the operator pinned for connections to `origin`, if any.
    pub fn tls_trust(&self, origin: &Origin) -> Option<&super::tls::TlsTrust> {
        self.tls
            .iter()
            .find(|(o, _)| o == origin)
            .map(|(_, trust)| trust)
    }

    /// The secret `name` may be attached to a request for `origin` as a header credential.
    pub fn check_attach(&self, name: &str, origin: &Origin) -> Result<(), PolicyError> {
        if self.secret_grant(name)?.oauth {
            return Err(PolicyError::OAuthOnly(name.to_string()));
        }
        self.check_secret_use(name, origin, false)
    }

    /// The secret `name` may be used for `origin`; with `oauth`, in the OAuth exchange, which
    /// needs a secret granted with `oauth = true`.
    pub fn check_secret_use(
        &self,
        name: &str,
        origin: &Origin,
        oauth: bool,
    ) -> Result<(), PolicyError> {
        let grant = self.secret_grant(name)?;
        if oauth && !grant.oauth {
            return Err(PolicyError::NotOAuth(name.to_string()));
        }
        if grant.hosts.allows(origin) {
            Ok(())
        } else {
            Err(PolicyError::SecretWrongHost(
                name.to_string(),
                origin.clone(),
            ))
        }
    }

    /// The secret `name` may be revealed to the plugin.
    pub fn check_reveal(&self, name: &str) -> Result<(), PolicyError> {
        let grant = self.secret_grant(name)?;
        if grant.oauth {
            return Err(PolicyError::OAuthOnly(name.to_string()));
        }
        if grant.reveal {
            Ok(())
        } else {
            Err(PolicyError::RevealNotGranted(name.to_string()))
        }
    }

    /// Names the plugin both declared and was granted.
    pub fn effective_secrets(&self) -> Vec<String> {
        self.secrets
            .keys()
            .filter(|n| self.declared_secrets.contains(*n))
            .cloned()
            .collect()
    }

    fn secret_grant(&self, name: &str) -> Result<&SecretGrant, PolicyError> {
        if !self.declared_secrets.contains(name) {
            return Err(PolicyError::SecretUndeclared(name.to_string()));
        }
        self.secrets
            .get(name)
            .ok_or_else(|| PolicyError::SecretNotGranted(name.to_string()))
    }

    /// An internal destination is fine when the operator wrote that very address (an IP literal
    /// or `localhost`) in the grant, never through a wildcard or a public name.
    /// Whether the operator named this exact origin in a way that lets it be internal: an IP
    /// literal or `localhost`, or a host name whose TLS trust they pinned (a LAN Proxmox at
    /// `pve1.lan`: rebinding that name reaches nothing else, since only the pinned certificate or
    /// CA is accepted).
    fn operator_named_internal(&self, origin: &Origin) -> bool {
        let literal = match &origin.host {
            OriginHost::Ip(_) => true,
            OriginHost::Domain(d) => d == "localhost" || d.ends_with(".localhost"),
        };
        (literal || self.tls_trust(origin).is_some())
            && self
                .granted_hosts
                .entries()
                .iter()
                .any(|e| e.exact().as_ref() == Some(origin))
    }
}

/// Replace scheme, host and port of `url`, keeping path and query.
fn rewrite_origin(url: &mut Url, target: &Origin) {
    let mut text = target.to_string();
    text.push_str(url.path());
    if let Some(q) = url.query() {
        text.push('?');
        text.push_str(q);
    }
    *url = Url::parse(&text).expect("an origin we printed plus a parsed path always parses");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> HttpPolicy {
        let mut secrets = BTreeMap::new();
        secrets.insert(
            "hcloud-token".to_string(),
            SecretGrant {
                hosts: Allowlist::parse(&["https://api.hetzner.cloud"]).unwrap(),
                reveal: false,
                oauth: false,
            },
        );
        secrets.insert(
            "shown".to_string(),
            SecretGrant {
                hosts: Allowlist::default(),
                reveal: true,
                oauth: false,
            },
        );
        HttpPolicy {
            declared_hosts: Allowlist::parse(&[
                "https://api.hetzner.cloud",
                "https://declared-only.test",
                "http://127.0.0.1:9000",
            ])
            .unwrap(),
            granted_hosts: Allowlist::parse(&[
                "https://api.hetzner.cloud",
                "http://127.0.0.1:9000",
            ])
            .unwrap(),
            declared_secrets: ["hcloud-token", "shown", "ungranted"]
                .map(String::from)
                .into(),
            secrets,
            endpoints: HttpPolicy::parse_endpoints([(
                &"https://api.hetzner.cloud".to_string(),
                &"http://127.0.0.1:4000".to_string(),
            )])
            .unwrap(),
            tls: Vec::new(),
        }
    }

    #[test]
    fn a_granted_host_name_may_be_internal_only_with_a_pinned_certificate() {
        let lan = |tls: Vec<(Origin, crate::caps::http::TlsTrust)>| HttpPolicy {
            declared_hosts: Allowlist::parse_declared(&["https://*"]).unwrap(),
            granted_hosts: Allowlist::parse(&["https://pve1.lan:8006"]).unwrap(),
            tls,
            ..HttpPolicy::default()
        };
        let unpinned = lan(Vec::new())
            .route("https://pve1.lan:8006/api2/json")
            .unwrap();
        assert!(
            !unpinned.internal_ok,
            "a plain name keeps the rebinding guard"
        );
        let (_, origin) = parse_url("https://pve1.lan:8006/").unwrap();
        let pin = crate::caps::http::TlsTrust::fingerprint(&"ab".repeat(32)).unwrap();
        let pinned = lan(vec![(origin, pin)])
            .route("https://pve1.lan:8006/api2/json")
            .unwrap();
        assert!(
            pinned.internal_ok,
            "only the pinned certificate can answer there"
        );
        let other = lan(Vec::new()).route("https://pve2.lan:8006/").unwrap_err();
        assert!(matches!(other, PolicyError::NotGranted(_)), "{other}");
    }

    #[test]
    fn declared_and_granted_is_routed_through_the_override() {
        let route = policy()
            .route("https://api.hetzner.cloud/v1/servers?name=a")
            .unwrap();
        assert_eq!(
            route.url.as_str(),
            "http://127.0.0.1:4000/v1/servers?name=a"
        );
        assert_eq!(route.logical.to_string(), "https://api.hetzner.cloud");
        assert!(route.internal_ok);
    }

    #[test]
    fn decisions() {
        let p = policy();
        let undeclared = p.route("https://evil.test/").unwrap_err();
        assert!(matches!(undeclared, PolicyError::Undeclared(_)));
        let not_granted = p.route("https://declared-only.test/").unwrap_err();
        assert!(matches!(not_granted, PolicyError::NotGranted(_)));
        assert!(p.route("http://127.0.0.1:9000/").unwrap().internal_ok);
        assert!(matches!(
            p.route("https://tok@api.hetzner.cloud/").unwrap_err(),
            PolicyError::Url(_)
        ));
    }

    #[test]
    fn secret_decisions() {
        let p = policy();
        let hetzner = parse_url("https://api.hetzner.cloud/").unwrap().1;
        let other = parse_url("http://127.0.0.1:9000/").unwrap().1;
        assert!(p.check_attach("hcloud-token", &hetzner).is_ok());
        assert!(matches!(
            p.check_attach("hcloud-token", &other),
            Err(PolicyError::SecretWrongHost(..))
        ));
        assert!(matches!(
            p.check_attach("ungranted", &hetzner),
            Err(PolicyError::SecretNotGranted(_))
        ));
        assert!(matches!(
            p.check_attach("nope", &hetzner),
            Err(PolicyError::SecretUndeclared(_))
        ));
        assert!(matches!(
            p.check_reveal("hcloud-token"),
            Err(PolicyError::RevealNotGranted(_))
        ));
        assert!(p.check_reveal("shown").is_ok());
        assert_eq!(p.effective_secrets(), ["hcloud-token", "shown"]);
    }

    #[test]
    fn messages_never_echo_paths_queries_or_userinfo() {
        let p = policy();
        for url in [
            "https://evil.test/path/secret?token=abc123",
            "https://declared-only.test/x?token=abc123",
            "https://user:abc123@api.hetzner.cloud/",
        ] {
            let msg = p.route(url).unwrap_err().to_string();
            assert!(!msg.contains("abc123") && !msg.contains("path"), "{msg}");
        }
    }
}
