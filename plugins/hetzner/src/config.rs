//! The plugin's configuration: `[providers.hetzner.config]` as JSON.

use serde::Deserialize;
use tazhost_sdk::{Error, error};

/// Hetzner settings. Unknown fields are refused so that typos do not go unnoticed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Location name (`fsn1`, `nbg1`, `hel1`, `ash`, `hil`, `sin`, ...); Hetzner picks one when
    /// absent.
    #[serde(default)]
    pub location: Option<String>,
    /// Ids of private networks to attach new servers to.
    #[serde(default)]
    pub networks: Vec<u64>,
    /// Ids of firewalls to apply to new servers.
    #[serde(default)]
    pub firewalls: Vec<u64>,
    /// Pause between two polls of an action or a server, in milliseconds (100..=60000).
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u32,
    /// How long `create` (and `delete`) wait for Hetzner, in seconds (1..=7200).
    #[serde(default = "default_create_timeout_s")]
    pub create_timeout_s: u32,
}

fn default_poll_interval_ms() -> u32 {
    1000
}

fn default_create_timeout_s() -> u32 {
    600
}

impl Default for Config {
    fn default() -> Self {
        Config {
            location: None,
            networks: Vec::new(),
            firewalls: Vec::new(),
            poll_interval_ms: default_poll_interval_ms(),
            create_timeout_s: default_create_timeout_s(),
        }
    }
}

impl Config {
    /// Parses and checks a configuration; an empty string means all defaults.
    pub fn parse(json: &str) -> Result<Config, Error> {
        let cfg: Config = error::parse_config(json)?;
        cfg.check()?;
        Ok(cfg)
    }

    fn check(&self) -> Result<(), Error> {
        let bad = |msg: String| Err(error::invalid_config(format!("hetzner config: {msg}")));
        if let Some(loc) = &self.location {
            let ok = !loc.is_empty()
                && loc.len() <= 32
                && loc
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !ok {
                return bad(format!(
                    "location {loc:?} is not a Hetzner location name (like \"fsn1\")"
                ));
            }
        }
        for (field, ids) in [("networks", &self.networks), ("firewalls", &self.firewalls)] {
            if ids.len() > 100 {
                return bad(format!("{field} lists more than 100 ids"));
            }
            for (i, id) in ids.iter().enumerate() {
                if *id == 0 {
                    return bad(format!("{field} contains id 0"));
                }
                if ids[..i].contains(id) {
                    return bad(format!("{field} lists id {id} twice"));
                }
            }
        }
        tazhost_sdk::check_poll_settings("hetzner", self.poll_interval_ms, self.create_timeout_s)
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
        assert_eq!(Config::parse("").unwrap(), Config::default());
        assert_eq!(Config::parse("{}").unwrap(), Config::default());
        let d = Config::default();
        assert_eq!(d.poll_interval_ms, 1000);
        assert_eq!(d.create_timeout_s, 600);
        assert!(d.location.is_none() && d.networks.is_empty() && d.firewalls.is_empty());
    }

    #[test]
    fn full() {
        let c = Config::parse(
            r#"{"location":"fsn1","networks":[1,2],
                "firewalls":[3],"poll_interval_ms":250,"create_timeout_s":30}"#,
        )
        .unwrap();
        assert_eq!(c.location.as_deref(), Some("fsn1"));
        assert_eq!(c.networks, vec![1, 2]);
        assert_eq!(c.firewalls, vec![3]);
        assert_eq!(c.poll_interval_ms, 250);
        assert_eq!(c.create_timeout_s, 30);
    }

    #[test]
    fn refusals() {
        assert!(err(r#"{"endpoint":"http://x"}"#).contains("unknown field `endpoint`"));
        assert!(err(r#"{"location":"FSN 1"}"#).contains("location"));
        assert!(err(r#"{"location":""}"#).contains("location"));
        assert!(err(r#"{"token_secret":"x"}"#).contains("unknown field `token_secret`"));
        assert!(err(r#"{"networks":[0]}"#).contains("id 0"));
        assert!(err(r#"{"firewalls":[5,5]}"#).contains("twice"));
        assert!(err(r#"{"networks":[-1]}"#).contains("invalid config"));
        assert!(err(r#"{"poll_interval_ms":0}"#).contains("poll_interval_ms"));
        assert!(err(r#"{"create_timeout_s":0}"#).contains("create_timeout_s"));
        assert!(err(r#"{"create_timeout_s":99999}"#).contains("create_timeout_s"));
        assert!(err("[1]").contains("invalid config"));
        assert!(err("{").contains("invalid config"));
    }
}
