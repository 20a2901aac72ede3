//! The fake's state: the OAuth client (fixed at start), the access tokens it issued, the auth
//! keys minted, what tests read back, and the injected failures. Handlers lock it briefly;
//! nothing here awaits.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use subtle::ConstantTimeEq as _;

use super::Options;
use super::errors::{ApiError, Fault};
use super::model::{AccessToken, MintedKey, TokenRequest};
use super::rules;

/// How many reasons for refused credentials are kept (the oldest are dropped).
pub const MAX_AUTH_FAILURES: usize = 1000;

/// What does not change while the fake runs.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub client_id: String,
    pub client_secret: String,
    pub tailnet: String,
    /// The OAuth client's tags.
    pub client_tags: Vec<String>,
    /// Tags the client's tags own.
    pub owned_tags: Vec<String>,
    /// The OAuth client's scopes.
    pub scopes: Vec<String>,
    pub token_ttl: Duration,
    pub api_key: Option<String>,
    pub ignore_client_id: bool,
    /// When the OAuth client was "created" (its `created` in the keys list).
    pub started: SystemTime,
}

impl Config {
    /// Checks the options as Tailscale checks an OAuth client when it is created.
    pub fn new(
        client_id: String,
        client_secret: String,
        options: &Options,
    ) -> Result<Self, String> {
        if client_id.is_empty() || client_secret.is_empty() {
            return Err("the OAuth client id and secret must not be empty".into());
        }
        if options.tailnet.is_empty() || options.tailnet == "-" {
            return Err(format!(
                "the tailnet name {:?} is not usable; give its name, e.g. example.com",
                options.tailnet
            ));
        }
        if options.scopes.is_empty() {
            return Err("an OAuth client needs at least one scope".into());
        }
        if let Some(bad) = options
            .allowed_tags
            .iter()
            .chain(&options.owned_tags)
            .find(|t| !rules::is_tag(t))
        {
            return Err(format!(
                "{bad:?} is not a tag (tag:NAME, NAME a letter then letters, digits, hyphens)"
            ));
        }
        if rules::needs_tags(&options.scopes) && options.allowed_tags.is_empty() {
            return Err(
                "an OAuth client with the auth_keys or devices:core scope must have tags".into(),
            );
        }
        if options.token_ttl.is_zero() {
            return Err("token_ttl must be longer than zero".into());
        }
        if options.api_key.as_deref() == Some("") {
            return Err("api_key must not be empty when given".into());
        }
        Ok(Self {
            client_id,
            client_secret,
            tailnet: options.tailnet.clone(),
            client_tags: options.allowed_tags.clone(),
            owned_tags: options.owned_tags.clone(),
            scopes: options.scopes.clone(),
            token_ttl: options.token_ttl,
            api_key: options.api_key.clone(),
            ignore_client_id: options.ignore_client_id,
            started: SystemTime::now(),
        })
    }

    /// Whether `id`/`secret` are the OAuth client's (constant time on the secret).
    pub fn client_matches(&self, id: Option<&str>, secret: &str) -> Result<(), &'static str> {
        if !self.is_client_secret(secret) {
            return Err("wrong or missing client_secret");
        }
        if !self.ignore_client_id && id != Some(self.client_id.as_str()) {
            return Err("wrong or missing client_id");
        }
        Ok(())
    }

    /// Whether `s` is the OAuth client's secret (constant time).
    pub fn is_client_secret(&self, s: &str) -> bool {
        bool::from(s.as_bytes().ct_eq(self.client_secret.as_bytes()))
    }

    /// Whether `token` is the configured API access token (constant time).
    pub fn is_api_key(&self, token: &str) -> bool {
        self.api_key
            .as_deref()
            .is_some_and(|k| bool::from(token.as_bytes().ct_eq(k.as_bytes())))
    }

    /// `-` or the tailnet's name.
    pub fn is_our_tailnet(&self, tailnet: &str) -> bool {
        tailnet == "-" || tailnet.eq_ignore_ascii_case(&self.tailnet)
    }
}

/// Everything the router shares between requests.
pub(crate) struct Shared {
    pub config: Config,
    requests: AtomicU64,
    state: Mutex<State>,
}

impl Shared {
    pub fn new(config: Config, options: &Options) -> Self {
        Self {
            config,
            requests: AtomicU64::new(0),
            state: Mutex::new(State::new(options)),
        }
    }

    /// The state; a handler that panicked while holding the lock does not poison it for the
    /// other requests (the fake is a test tool: keep serving).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

pub(crate) struct State {
    /// Issued access tokens by their full secret string.
    tokens: HashMap<String, AccessToken>,
    /// Auth keys in creation order; revoked ones stay (with `revoked` set).
    keys: Vec<MintedKey>,
    token_requests: Vec<TokenRequest>,
    auth_failures: VecDeque<String>,
    pub fail_next_requests: u32,
    pub fault: Fault,
}

impl State {
    fn new(options: &Options) -> Self {
        Self {
            tokens: HashMap::new(),
            keys: Vec::new(),
            token_requests: Vec::new(),
            auth_failures: VecDeque::new(),
            fail_next_requests: options.fail_next_requests,
            fault: options.fault,
        }
    }

    /// The injected failure for this request, if one is due.
    pub fn take_fault(&mut self) -> Option<ApiError> {
        (self.fail_next_requests > 0).then(|| {
            self.fail_next_requests -= 1;
            ApiError::fault(self.fault)
        })
    }

    pub fn insert_token(&mut self, secret: String, token: AccessToken) {
        self.tokens.insert(secret, token);
    }

    pub fn token(&self, secret: &str) -> Option<&AccessToken> {
        self.tokens.get(secret)
    }

    pub fn token_by_id(&self, id: &str) -> Option<&AccessToken> {
        self.tokens.values().find(|t| t.id == id)
    }

    /// Makes every issued access token expire at `now` (if it has not already).
    pub fn expire_tokens(&mut self, now: SystemTime) {
        for t in self.tokens.values_mut() {
            t.expires = t.expires.min(now);
        }
    }

    pub fn add_key(&mut self, key: MintedKey) {
        self.keys.push(key);
    }

    pub fn keys(&self) -> &[MintedKey] {
        &self.keys
    }

    pub fn key_mut(&mut self, id: &str) -> Option<&mut MintedKey> {
        self.keys.iter_mut().find(|k| k.id == id)
    }

    pub fn record_token_request(&mut self, r: TokenRequest) {
        self.token_requests.push(r);
    }

    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.token_requests.clone()
    }

    /// Records why credentials were refused (the last [`MAX_AUTH_FAILURES`]).
    pub fn record_auth_failure(&mut self, why: String) {
        if self.auth_failures.len() == MAX_AUTH_FAILURES {
            self.auth_failures.pop_front();
        }
        self.auth_failures.push_back(why);
    }

    pub fn auth_failures(&self) -> Vec<String> {
        self.auth_failures.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(options: &Options) -> Result<Config, String> {
        Config::new("kClient11CNTRL".into(), "tskey-client-x".into(), options)
    }

    #[test]
    fn the_client_is_checked_like_tailscale_checks_a_new_oauth_client() {
        assert!(config(&Options::default()).is_ok());
        let no_tags = Options {
            allowed_tags: vec![],
            ..Options::default()
        };
        assert!(config(&no_tags).unwrap_err().contains("must have tags"));
        let read_only = Options {
            allowed_tags: vec![],
            scopes: vec!["auth_keys:read".into()],
            ..Options::default()
        };
        assert!(config(&read_only).is_ok());
        let bad_tag = Options {
            allowed_tags: vec!["k8s".into()],
            ..Options::default()
        };
        assert!(
            config(&bad_tag)
                .unwrap_err()
                .contains("\"k8s\" is not a tag")
        );
        let no_scope = Options {
            scopes: vec![],
            ..Options::default()
        };
        assert!(config(&no_scope).is_err());
        let dash = Options {
            tailnet: "-".into(),
            ..Options::default()
        };
        assert!(config(&dash).is_err());
        assert!(Config::new(String::new(), "s".into(), &Options::default()).is_err());
    }

    #[test]
    fn client_credentials_and_tailnets_match() {
        let cfg = config(&Options::default()).unwrap();
        assert!(
            cfg.client_matches(Some("kClient11CNTRL"), "tskey-client-x")
                .is_ok()
        );
        assert!(cfg.client_matches(Some("other"), "tskey-client-x").is_err());
        assert!(cfg.client_matches(None, "tskey-client-x").is_err());
        assert!(cfg.client_matches(Some("kClient11CNTRL"), "wrong").is_err());
        let lax = config(&Options {
            ignore_client_id: true,
            ..Options::default()
        })
        .unwrap();
        assert!(
            lax.client_matches(Some("some-client-id"), "tskey-client-x")
                .is_ok()
        );
        assert!(lax.client_matches(None, "wrong").is_err());
        assert!(cfg.is_our_tailnet("-"));
        assert!(cfg.is_our_tailnet("Example.com"));
        assert!(!cfg.is_our_tailnet("other.example"));
        assert!(!cfg.is_api_key(""));
    }

    #[test]
    fn only_the_latest_auth_failures_are_kept() {
        let mut st = State::new(&Options::default());
        for i in 0..MAX_AUTH_FAILURES + 3 {
            st.record_auth_failure(format!("failure {i}"));
        }
        let kept = st.auth_failures();
        assert_eq!(kept.len(), MAX_AUTH_FAILURES);
        assert_eq!(kept[0], "failure 3");
    }
}
