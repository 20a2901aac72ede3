//! `cluster.toml`: what the operator wants (pools of nodes), which plugins provide them, what
//! each plugin is granted, and where secrets come from (by name; values never live here).
//!
//! Unknown keys are errors everywhere, so a typo never silently disables a setting.

mod layers;
mod limits;

pub use layers::LayerConfig;
pub use limits::{Export, Limits};

use crate::secrets::SecretSource;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// `[cluster]`.
    pub cluster: ClusterSection,
    /// `[secrets]`: name → source.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretSource>,
    /// `[archive]`: the encrypted archive that `from = "archive"` secrets come from.
    pub archive: Option<ArchiveConfig>,
    /// `[vault]`: the Vault that `from = "vault"` secrets come from.
    pub vault: Option<VaultConfig>,
    /// `[providers.<name>]`: the plugin and grants for each provider.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// `[[pools]]`: groups of identical nodes.
    #[serde(default)]
    pub pools: Vec<PoolConfig>,
    /// `[[extensions]]`: machine-config extensions, run for each node before its provider
    /// creates it, in this order.
    #[serde(default)]
    pub extensions: Vec<ExtensionConfig>,
    /// `[[layers]]`: commands run after the platform, as a DAG (independent ones in parallel).
    #[serde(default)]
    pub layers: Vec<LayerConfig>,
    /// `[limits]`: sandbox limits for every plugin call.
    #[serde(default)]
    pub limits: Limits,
    /// Directory of the file; relative paths are resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[archive]`: where the secrets archive is. Its passphrase is never in this file: it comes
/// from the terminal, `--passphrase-file`, `--passphrase-fd` or `TAZHOST_PASSPHRASE_FILE`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    /// `s3://bucket/key` or a file (relative to this file's directory).
    pub location: String,
    /// An S3-compatible endpoint (else `AWS_ENDPOINT_URL`, else AWS).
    pub endpoint_url: Option<String>,
}

/// `[vault]`: where the bootstrap secret is. The token is `VAULT_TOKEN`, else the archive's
/// `token_name` file; if Vault cannot be reached, the same fields come from the archive's files
/// of those names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    /// Vault's address (else `VAULT_ADDR`).
    pub addr: Option<String>,
    /// The KV v2 mount.
    #[serde(default = "default_mount")]
    pub mount: String,
    /// The secret's path under the mount (default `<cluster.name>/bootstrap`).
    pub path: Option<String>,
    /// The fields to read (default: those named by `from = "vault"` secrets).
    #[serde(default)]
    pub fields: Vec<String>,
    /// The token's file in the archive: the seeds' scoped read token, `bootstrap-token.txt`,
    /// by default (the admin `vault-root-token` is used, with a warning, only if it is absent).
    #[serde(default = "default_token_name")]
    pub token_name: String,
    /// The CA certificate's file in the archive (PEM, used as stored), else `VAULT_CACERT`.
    pub ca_name: Option<String>,
    /// A token with under an hour left is renewed for this many hours (Vault may cap it lower).
    #[serde(default = "default_renew_cap_hours")]
    pub renew_cap_hours: u64,
}

fn default_renew_cap_hours() -> u64 {
    crate::caps::vault::bootstrap::DEFAULT_RENEW_CAP.as_secs() / 3600
}

fn default_mount() -> String {
    "secret".into()
}

fn default_token_name() -> String {
    DEFAULT_BOOTSTRAP_TOKEN.into()
}

/// The seeds' scoped token for the bootstrap read.
pub const DEFAULT_BOOTSTRAP_TOKEN: &str = "bootstrap-token.txt";

/// `[cluster]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// Cluster name, used in node names and in the `tazhost-cluster` label.
    pub name: String,
}

/// `[providers.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Path of the plugin's .wasm (overridable with `--plugin`).
    pub plugin: Option<PathBuf>,
    /// Expected sha256 of the plugin; a plugin with other bytes is refused.
    pub sha256: Option<String>,
    /// Provider settings passed to the plugin as JSON.
    #[serde(default)]
    pub config: toml::Table,
    /// What the plugin may reach and use.
    #[serde(default)]
    pub grants: GrantConfig,
}

/// `[providers.<name>.grants]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantConfig {
    /// Origins the plugin may reach (intersected with what it declares).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Secrets the host may use on the plugin's behalf.
    #[serde(default)]
    pub secrets: Vec<SecretGrantConfig>,
    /// Origin rewrites: requests to the key origin are sent to the value origin.
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// TLS trust pinned per origin (the one connected to, after any endpoint override), for
    /// self-hosted APIs with their own certificates: `{ ca = "<secret>" }` or
    /// `{ fingerprint = "AB:CD:…" }`.
    #[serde(default)]
    pub tls: BTreeMap<String, TlsGrantConfig>,
}

/// One origin's pinned TLS trust: exactly one of `ca` and `fingerprint`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsGrantConfig {
    /// Name of a secret in `[secrets]` holding the CA certificate(s) in PEM (e.g. Proxmox's
    /// `pve-root-ca.pem`, kept in the archive). Only that CA is trusted; names are still checked.
    pub ca: Option<String>,
    /// SHA-256 fingerprint of the server's certificate, as Proxmox shows it (`AB:CD:…`). Only
    /// that certificate is accepted.
    pub fingerprint: Option<String>,
}

/// `[[extensions]]`: one machine-config extension (e.g. Tailscale auth keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionConfig {
    /// The extension's name, as its plugin's `describe` gives it.
    pub name: String,
    /// Path of the plugin's .wasm (overridable with `--extension`).
    pub plugin: Option<PathBuf>,
    /// Expected sha256 of the plugin.
    pub sha256: Option<String>,
    /// Settings passed to the plugin as JSON.
    #[serde(default)]
    pub config: toml::Table,
    /// What the plugin may reach and use.
    #[serde(default)]
    pub grants: GrantConfig,
    /// The pools it applies to; every pool when absent.
    pub pools: Option<Vec<String>>,
}

impl ExtensionConfig {
    /// The plugin section as a provider's (the same shape: plugin, pin, config, grants).
    pub fn plugin_section(&self) -> ProviderConfig {
        ProviderConfig {
            plugin: self.plugin.clone(),
            sha256: self.sha256.clone(),
            config: self.config.clone(),
            grants: self.grants.clone(),
        }
    }

    /// Whether it applies to pool `pool`.
    pub fn applies_to(&self, pool: &str) -> bool {
        self.pools
            .as_ref()
            .is_none_or(|pools| pools.iter().any(|p| p == pool))
    }

    /// Its config as JSON.
    pub fn config_json(&self) -> String {
        table_json(&self.config)
    }
}

impl ProviderConfig {
    /// Its `config` table as the JSON string passed to the plugin.
    pub fn config_json(&self) -> String {
        table_json(&self.config)
    }
}

/// A plugin section's `config` table as JSON (`{}` if it cannot be written).
fn table_json(table: &toml::Table) -> String {
    serde_json::to_string(table).unwrap_or_else(|_| "{}".into())
}

/// One granted secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretGrantConfig {
    /// Name of a secret in `[secrets]`.
    pub name: String,
    /// Origins it may be attached to; defaults to the provider's granted hosts.
    pub hosts: Option<Vec<String>>,
    /// Whether the plugin may read the value itself. Off unless written.
    #[serde(default)]
    pub reveal: bool,
    /// An OAuth client id or secret, usable only in the host-run client-credentials exchange
    /// (never attached to a request as is, never revealed). Off unless written.
    #[serde(default)]
    pub oauth: bool,
}

/// `[[pools]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// Pool name, used in node names and in the `tazhost-pool` label.
    pub name: String,
    /// Key of a `[providers.<name>]` section.
    pub provider: String,
    /// How many nodes.
    pub count: u32,
    /// Talos role: `controlplane` or `worker`.
    #[serde(default = "default_role")]
    pub role: String,
    /// Provider machine size.
    pub size: String,
    /// Provider image.
    pub image: String,
    /// File holding the Talos machine config sent as user data (may contain secrets: never logged).
    pub machine_config: Option<PathBuf>,
    /// Extra labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_role() -> String {
    "worker".to_string()
}

/// cluster.toml could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// Path.
        path: PathBuf,
        /// I/O error.
        source: std::io::Error,
    },
    /// TOML syntax or schema error.
    #[error("{}: {message}", path.display())]
    Parse {
        /// Path.
        path: PathBuf,
        /// What toml/serde said (line and column included).
        message: String,
    },
    /// A semantic error.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// Path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The label keys tazhost puts on every node.
pub const CLUSTER_LABEL: &str = "tazhost-cluster";
/// See [`CLUSTER_LABEL`].
pub const POOL_LABEL: &str = "tazhost-pool";

impl ClusterConfig {
    /// Read and check a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Self::parse(&text, &base).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                message,
            },
            ConfigError::Invalid { message, .. } => ConfigError::Invalid {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parse and check text; relative paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let mut cfg: ClusterConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("cluster.toml"),
            message: e.to_string(),
        })?;
        cfg.base_dir = base.to_path_buf();
        for source in cfg.secrets.values_mut() {
            source.rebase(base);
        }
        if let Some(archive) = &mut cfg.archive
            && !archive.location.starts_with("s3://")
            && Path::new(&archive.location).is_relative()
        {
            archive.location = base.join(&archive.location).display().to_string();
        }
        for p in cfg.providers.values_mut() {
            if let Some(plugin) = &mut p.plugin
                && plugin.is_relative()
            {
                *plugin = base.join(&*plugin);
            }
        }
        for layer in &mut cfg.layers {
            layer.dir = Some(match layer.dir.take() {
                Some(dir) if dir.is_relative() => base.join(dir),
                Some(dir) => dir,
                None => base.to_path_buf(),
            });
        }
        for ext in &mut cfg.extensions {
            if let Some(plugin) = &mut ext.plugin
                && plugin.is_relative()
            {
                *plugin = base.join(&*plugin);
            }
        }
        for pool in &mut cfg.pools {
            if let Some(mc) = &mut pool.machine_config
                && mc.is_relative()
            {
                *mc = base.join(&*mc);
            }
        }
        cfg.check().map_err(|message| ConfigError::Invalid {
            path: PathBuf::from("cluster.toml"),
            message,
        })?;
        Ok(cfg)
    }

    fn check(&self) -> Result<(), String> {
        check_name("cluster.name", &self.cluster.name)?;
        let mut seen = std::collections::BTreeSet::new();
        for pool in &self.pools {
            check_name("pool name", &pool.name)?;
            if !seen.insert(&pool.name) {
                return Err(format!("pool `{}` is defined twice", pool.name));
            }
            if !self.providers.contains_key(&pool.provider) {
                return Err(format!(
                    "pool `{}` names provider `{}`, which has no [providers.{}] section",
                    pool.name, pool.provider, pool.provider
                ));
            }
            if pool.role != "controlplane" && pool.role != "worker" {
                return Err(format!(
                    "pool `{}`: role must be `controlplane` or `worker`, not `{}`",
                    pool.name, pool.role
                ));
            }
            for key in pool.labels.keys() {
                if key == CLUSTER_LABEL || key == POOL_LABEL {
                    return Err(format!(
                        "pool `{}`: label `{key}` is set by tazhost itself",
                        pool.name
                    ));
                }
            }
        }
        if self.archive.is_none()
            && let Some((name, _)) = self.secrets.iter().find(|(_, s)| s.is_archive())
        {
            return Err(format!(
                "secret `{name}` comes from the archive, but there is no [archive] section saying where it is"
            ));
        }
        if self.vault.is_none()
            && let Some((name, _)) = self.secrets.iter().find(|(_, s)| s.is_vault())
        {
            return Err(format!(
                "secret `{name}` comes from Vault, but there is no [vault] section saying where it is"
            ));
        }
        for (name, provider) in &self.providers {
            check_name("provider name", name)?;
            self.check_grants(&format!("providers.{name}"), &provider.grants)?;
            check_pin(&format!("providers.{name}"), provider.sha256.as_deref())?;
        }
        let mut seen_extensions = std::collections::BTreeSet::new();
        for (i, ext) in self.extensions.iter().enumerate() {
            let at = format!("extensions[{i}] ({})", ext.name);
            check_name("extension name", &ext.name)?;
            if self.providers.contains_key(&ext.name) {
                return Err(format!(
                    "`{}` names both a provider and an extension; plugins are told apart by name",
                    ext.name
                ));
            }
            if !seen_extensions.insert(&ext.name) {
                return Err(format!("extension `{}` is listed twice", ext.name));
            }
            self.check_grants(&at, &ext.grants)?;
            check_pin(&at, ext.sha256.as_deref())?;
            for pool in ext.pools.iter().flatten() {
                if !self.pools.iter().any(|p| &p.name == pool) {
                    return Err(format!("{at}: pools names `{pool}`, which is not a pool"));
                }
            }
        }
        layers::check_layers(
            &self.layers,
            &self.secrets.keys().map(String::as_str).collect(),
            is_valid_name,
        )?;
        self.limits.check()
    }

    /// The grants of one plugin section (`at` names it in messages, e.g. `providers.hetzner`).
    fn check_grants(&self, at: &str, grants: &GrantConfig) -> Result<(), String> {
        for grant in &grants.secrets {
            if grant.oauth && grant.reveal {
                return Err(format!(
                    "{at}.grants: secret `{}` is granted for OAuth, which the host alone uses; it cannot also be revealed",
                    grant.name
                ));
            }
            if !self.secrets.contains_key(&grant.name) {
                return Err(format!(
                    "{at}.grants names secret `{}`, which is not in [secrets]",
                    grant.name
                ));
            }
        }
        for (origin, tls) in &grants.tls {
            let at = format!("{at}.grants.tls.\"{origin}\"");
            let pinned = crate::caps::http::OriginPattern::parse(origin)
                .ok()
                .and_then(|p| p.exact())
                .ok_or_else(|| format!("{at}: the key must be one origin, scheme://host[:port]"))?;
            if !pinned.to_string().starts_with("https://") {
                return Err(format!("{at}: only https origins have certificates to pin"));
            }
            match (&tls.ca, &tls.fingerprint) {
                (Some(ca), None) => {
                    if !self.secrets.contains_key(ca) {
                        return Err(format!(
                            "{at}.ca names secret `{ca}`, which is not in [secrets]"
                        ));
                    }
                }
                (None, Some(fp)) => {
                    crate::caps::http::TlsTrust::fingerprint(fp)
                        .map_err(|e| format!("{at}.fingerprint: {e}"))?;
                }
                _ => return Err(format!("{at}: give exactly one of `ca` and `fingerprint`")),
            }
        }
        Ok(())
    }

    /// Whether any secret comes from the archive (so it must be opened).
    pub fn needs_archive(&self) -> bool {
        self.secrets.values().any(SecretSource::is_archive)
    }

    /// Whether any secret comes from Vault.
    pub fn needs_vault(&self) -> bool {
        self.secrets.values().any(SecretSource::is_vault)
    }

    /// The bootstrap fields to read: `[vault] fields`, else those the secrets name.
    pub fn vault_fields(&self) -> Vec<String> {
        match &self.vault {
            Some(v) if !v.fields.is_empty() => v.fields.clone(),
            _ => {
                let mut fields: Vec<String> = self
                    .secrets
                    .values()
                    .filter_map(|s| match s {
                        SecretSource::Vault { field } => Some(field.clone()),
                        _ => None,
                    })
                    .collect();
                fields.sort();
                fields.dedup();
                fields
            }
        }
    }

    /// The provider's `config` table as the JSON string passed to the plugin.
    pub fn provider_config_json(&self, provider: &str) -> String {
        self.providers
            .get(provider)
            .map(ProviderConfig::config_json)
            .unwrap_or_else(|| "{}".into())
    }
}

/// A plugin pin, if given, is 64 hex digits.
fn check_pin(at: &str, sha256: Option<&str>) -> Result<(), String> {
    match sha256 {
        Some(sha) if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Err(format!("{at}.sha256 must be 64 hex digits"))
        }
        _ => Ok(()),
    }
}

/// Whether a name (cluster, pool, provider, plugin) is DNS-label safe: 1-40 characters of
/// a-z, 0-9 and `-`, not starting or ending with `-`. Names end up in host names and labels.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn check_name(what: &str, name: &str) -> Result<(), String> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(format!(
            "{what} `{name}` must be 1-40 characters of a-z, 0-9 and `-`, not starting or ending with `-`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [cluster]
        name = "tazlab-k8s"
        [secrets]
        hcloud-token = { from = "env", var = "HCLOUD_TOKEN" }
        [providers.hetzner]
        plugin = "plugins/hetzner.wasm"
        config = { location = "fsn1" }
        grants = { hosts = ["https://api.hetzner.cloud"], secrets = [{ name = "hcloud-token" }] }
        [[pools]]
        name = "control"
        provider = "hetzner"
        count = 3
        role = "controlplane"
        size = "cx22"
        image = "talos"
    "#;

    #[test]
    fn good_config_parses_and_paths_are_rebased() {
        let cfg = ClusterConfig::parse(GOOD, Path::new("/etc/taz")).unwrap();
        assert_eq!(cfg.pools[0].count, 3);
        assert_eq!(
            cfg.providers["hetzner"].plugin.as_deref(),
            Some(Path::new("/etc/taz/plugins/hetzner.wasm"))
        );
        assert_eq!(
            cfg.provider_config_json("hetzner"),
            r#"{"location":"fsn1"}"#
        );
    }

    #[test]
    fn mistakes_are_explained() {
        let cases = [
            (
                GOOD.replace("count = 3", "count = 3\nconut = 4"),
                "unknown field `conut`",
            ),
            (
                GOOD.replace("provider = \"hetzner\"", "provider = \"aws\""),
                "no [providers.aws]",
            ),
            (
                GOOD.replace(
                    "{ from = \"env\", var = \"HCLOUD_TOKEN\" }",
                    "{ from = \"archive\", path = \"hetzner/token\" }",
                ),
                "comes from the archive, but there is no [archive] section",
            ),
            (
                GOOD.replace("name = \"hcloud-token\"", "name = \"nope\""),
                "secret `nope`",
            ),
            (GOOD.replace("tazlab-k8s", "Tazlab"), "cluster.name"),
            (GOOD.replace("controlplane", "master"), "role must be"),
            (
                GOOD.replace("from = \"env\"", "from = \"keychain\""),
                "unknown variant `keychain`",
            ),
        ];
        for (text, want) in cases {
            let err = ClusterConfig::parse(&text, Path::new("."))
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "want {want:?} in {err}");
        }
    }
}
