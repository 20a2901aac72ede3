//! The extension's configuration: the `config` table of its `[[extensions]]` entry, as JSON.

use serde::Deserialize;
use tazhost_sdk::{Error, error};

/// Tailscale settings. Unknown fields are refused so that typos do not go unnoticed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The tailnet, e.g. `example.com`; `-` (the default) is the OAuth client's own.
    #[serde(default = "default_tailnet")]
    pub tailnet: String,
    /// Tags the nodes join with (`tag:k8s`, …). Keys minted with an OAuth client must carry
    /// tags, and the client must be allowed to use them.
    pub tags: Vec<String>,
    /// One key used by every node (default) or one key per node.
    #[serde(default)]
    pub key_per: KeyPer,
    /// Whether the key may register more than one device (default: true for `run`, so that
    /// the nodes can share it; the node key of `node` is used once).
    #[serde(default)]
    pub reusable: Option<bool>,
    /// Whether the devices are removed when they go offline (default false).
    #[serde(default)]
    pub ephemeral: bool,
    /// Whether devices need no approval (default true).
    #[serde(default = "yes")]
    pub preauthorized: bool,
    /// How long the key is valid, in seconds (default 3600; 1 to 90 days' worth).
    #[serde(default = "default_expiry")]
    pub expiry_seconds: u64,
    /// `TS_EXTRA_ARGS` for `tailscale up`, e.g. `--accept-routes`.
    #[serde(default)]
    pub extra_args: Option<String>,
    /// The key's description in the admin console.
    #[serde(default = "default_description")]
    pub description: String,
}

/// How many keys a run mints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyPer {
    /// One reusable key for every node of the run.
    #[default]
    Run,
    /// A key for each node.
    Node,
}

fn default_tailnet() -> String {
    "-".into()
}

fn yes() -> bool {
    true
}

fn default_expiry() -> u64 {
    3600
}

fn default_description() -> String {
    "tazhost".into()
}

/// Longest key lifetime Tailscale accepts (90 days).
pub const MAX_EXPIRY: u64 = 90 * 24 * 3600;

impl Config {
    /// Parses and checks a configuration.
    pub fn parse(json: &str) -> Result<Config, Error> {
        let cfg: Config = error::parse_config(json)?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Whether the key is reusable.
    pub fn reusable(&self) -> bool {
        self.reusable.unwrap_or(self.key_per == KeyPer::Run)
    }

    fn check(&self) -> Result<(), Error> {
        let bad = |msg: String| Err(error::invalid_config(format!("tailscale config: {msg}")));
        let tailnet_ok = !self.tailnet.is_empty()
            && self.tailnet.len() <= 253
            && self
                .tailnet
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '@'));
        if !tailnet_ok {
            return bad(format!("tailnet {:?} is not a tailnet name", self.tailnet));
        }
        if self.tags.is_empty() {
            return bad("tags is empty; keys minted with an OAuth client must carry tags".into());
        }
        for tag in &self.tags {
            let ok = tag.strip_prefix("tag:").is_some_and(|t| {
                !t.is_empty()
                    && t.len() <= 64
                    && t.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
            if !ok {
                return bad(format!("tag {tag:?} is not a tag like \"tag:k8s\""));
            }
        }
        if self.key_per == KeyPer::Run && self.reusable == Some(false) {
            return bad(
                "key_per = \"run\" shares one key between nodes: it must be reusable".into(),
            );
        }
        if !(1..=MAX_EXPIRY).contains(&self.expiry_seconds) {
            return bad(format!(
                "expiry_seconds is {}; it must be between 1 and {MAX_EXPIRY} (90 days)",
                self.expiry_seconds
            ));
        }
        if let Some(args) = &self.extra_args
            && (args.len() > 1024 || args.contains(['\n', '\r']))
        {
            return bad("extra_args must be one line of at most 1024 bytes".into());
        }
        let description_ok = self.description.len() <= 50
            && self
                .description
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_'));
        if !description_ok {
            return bad(
                "description is at most 50 letters, digits, spaces, `-` or `_` (as Tailscale accepts)"
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        match Config::parse(json) {
            Err(Error::InvalidConfig(m)) => m,
            other => panic!("expected invalid-config for {json}, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = Config::parse(r#"{"tags": ["tag:k8s"]}"#).unwrap();
        assert_eq!(c.tailnet, "-");
        assert_eq!(c.key_per, KeyPer::Run);
        assert!(c.reusable() && c.preauthorized && !c.ephemeral);
        assert_eq!(c.expiry_seconds, 3600);
        let per_node = Config::parse(r#"{"tags": ["tag:k8s"], "key_per": "node"}"#).unwrap();
        assert!(!per_node.reusable());
    }

    #[test]
    fn refusals() {
        assert!(err("{}").contains("missing field `tags`"));
        assert!(err(r#"{"tags": []}"#).contains("tags is empty"));
        assert!(err(r#"{"tags": ["k8s"]}"#).contains("tag:k8s"));
        assert!(
            err(r#"{"tags": ["tag:k8s"], "key_per": "run", "reusable": false}"#)
                .contains("reusable")
        );
        assert!(err(r#"{"tags": ["tag:k8s"], "expiry_seconds": 0}"#).contains("expiry_seconds"));
        assert!(err(r#"{"tags": ["tag:k8s"], "extra_args": "a\nb"}"#).contains("extra_args"));
        assert!(err(r#"{"tags": ["tag:k8s"], "key": "x"}"#).contains("unknown field `key`"));
        assert!(err(r#"{"tags": ["tag:k8s"], "tailnet": "a b"}"#).contains("tailnet"));
    }
}
