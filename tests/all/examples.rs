//! The commented cluster.toml of each provider in `examples/` stays valid: it loads, and its
//! provider and extension sections pass the real plugins' own `validate`.

use crate::support::*;
use std::sync::Arc;
use tazhost::caps::{LogSink, PluginCaps, http::HttpLimits, http::HttpPolicy};
use tazhost::config::{ClusterConfig, Limits};
use tazhost::secrets::SecretSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_loads_and_its_plugin_accepts_its_config() {
    let runtime = runtime();
    for (example, plugin) in [
        ("hetzner", &plugins().hetzner),
        ("oci", &plugins().oci),
        ("proxmox", &plugins().proxmox),
    ] {
        let path = workspace()
            .join("examples")
            .join(example)
            .join("cluster.toml");
        let config = ClusterConfig::load(&path).unwrap_or_else(|e| panic!("{example}: {e}"));
        assert!(config.providers.contains_key(example), "{example}");
        assert!(!config.pools.is_empty(), "{example}");
        let loaded = runtime
            .load(plugin, None, &Limits::default(), LogSink::Tracing)
            .await
            .unwrap();
        assert_eq!(loaded.info().name, example);
        let caps = Arc::new(PluginCaps::new(
            example,
            HttpPolicy::default(),
            Arc::new(SecretSet::default()),
            HttpLimits::default(),
            LogSink::Tracing,
        ));
        loaded
            .validate(
                caps,
                &Limits::default(),
                &config.provider_config_json(example),
            )
            .await
            .unwrap_or_else(|e| panic!("{example}: {e}"));
        for ext in &config.extensions {
            assert_eq!(
                ext.name, "tailscale",
                "{example}: only tailscale is written so far"
            );
            let plugin = runtime
                .load(
                    &plugins().tailscale,
                    None,
                    &Limits::default(),
                    LogSink::Tracing,
                )
                .await
                .unwrap();
            let caps = Arc::new(PluginCaps::nothing(&ext.name, LogSink::Tracing));
            plugin
                .validate(caps, &Limits::default(), &ext.config_json())
                .await
                .unwrap_or_else(|e| panic!("{example}: extension {}: {e}", ext.name));
        }
    }
    assert!(
        ClusterConfig::load(&workspace().join("examples/hetzner/cluster.toml"))
            .unwrap()
            .extensions
            .iter()
            .any(|e| e.name == "tailscale"),
        "the Hetzner example shows the Tailscale extension"
    );
}
