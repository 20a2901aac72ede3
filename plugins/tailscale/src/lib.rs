//! tazhost machine-config extension for Tailscale: puts an auth key into each Talos node's
//! machine config, as the `ExtensionServiceConfig` named `tailscale` that the Tailscale system
//! extension reads (`TS_AUTHKEY`, `TS_HOSTNAME`, `TS_EXTRA_ARGS`).
//!
//! The host runs the OAuth client-credentials grant itself (`oauth-client-credentials`): the
//! client id and secret, granted as `tailscale-oauth-client-id` and
//! `tailscale-oauth-client-secret`, and the access token never enter this plugin. The minted key
//! does (it must go into the config), and is handed back to the host at once with
//! `secrets.keep`, so that the host redacts it from everything for the rest of the run; with
//! `key_per = "run"` (the default) later calls reuse it through `secrets.reveal` instead of
//! minting another.
//!
//! Configuration: see [`config::Config`].

mod config;

use serde::Deserialize;
use tazhost_sdk::http::Request;
use tazhost_sdk::{Error, ExtensionGuest, NodeSpec, PluginInfo, error, log, secrets};

use config::{Config, KeyPer};

/// The API origin.
pub const API_ORIGIN: &str = "https://api.tailscale.com";
/// The OAuth token endpoint.
pub const TOKEN_URL: &str = "https://api.tailscale.com/api/v2/oauth/token";
/// Granted secret: the OAuth client's id.
pub const CLIENT_ID_SECRET: &str = "tailscale-oauth-client-id";
/// Granted secret: the OAuth client's secret.
pub const CLIENT_SECRET_SECRET: &str = "tailscale-oauth-client-secret";
/// The scope minting auth keys needs.
pub const SCOPE: &str = "auth_keys";
/// The name the run's shared key is kept under.
const RUN_KEY: &str = "auth-key";

struct Tailscale;

impl ExtensionGuest for Tailscale {
    fn describe() -> PluginInfo {
        tazhost_sdk::plugin_info(
            "tailscale",
            env!("CARGO_PKG_VERSION"),
            &[API_ORIGIN],
            &[CLIENT_ID_SECRET, CLIENT_SECRET_SECRET],
        )
    }

    fn validate(config: String) -> Result<(), Error> {
        Config::parse(&config).map(|_| ())
    }

    fn extend(config: String, node: NodeSpec, machine_config: String) -> Result<String, Error> {
        let cfg = Config::parse(&config)?;
        let key = match cfg.key_per {
            KeyPer::Run => match secrets::reveal(RUN_KEY) {
                Ok(kept) => kept,
                Err(_) => {
                    let key = mint(&cfg, "every node of this run")?;
                    secrets::keep(RUN_KEY, &key)?;
                    key
                }
            },
            KeyPer::Node => {
                let key = mint(&cfg, &node.name)?;
                secrets::keep(&format!("auth-key-{}", node.name), &key)?;
                key
            }
        };
        let mut set = vec![
            ("TS_AUTHKEY", key.as_str()),
            ("TS_HOSTNAME", node.name.as_str()),
        ];
        if let Some(args) = &cfg.extra_args {
            set.push(("TS_EXTRA_ARGS", args.as_str()));
        }
        let extended = tazhost_talos_config::set_extension_environment(
            &machine_config,
            "tailscale",
            &set,
        )
        .map_err(|e| {
            error::invalid_config(format!(
                "the machine config of {} cannot take the tailscale extension's settings: {e}",
                node.name
            ))
        })?;
        log::info(&format!("{}: tailscale settings added", node.name));
        Ok(extended)
    }
}

/// The key part of the API's answer.
#[derive(Deserialize)]
struct MintedKey {
    id: String,
    key: String,
}

/// Mint an auth key (`POST /api/v2/tailnet/{tailnet}/keys`); the secret comes back once.
fn mint(cfg: &Config, for_what: &str) -> Result<String, Error> {
    let body = serde_json::json!({
        "capabilities": {"devices": {"create": {
            "reusable": cfg.reusable(),
            "ephemeral": cfg.ephemeral,
            "preauthorized": cfg.preauthorized,
            "tags": cfg.tags,
        }}},
        "expirySeconds": cfg.expiry_seconds,
        "description": cfg.description,
    });
    let url = format!(
        "{API_ORIGIN}/api/v2/tailnet/{}/keys",
        tazhost_sdk::http::percent_encode(&cfg.tailnet)
    );
    let minted: MintedKey = Request::post(url)
        .credential(tazhost_sdk::http::Credential::OauthClientCredentials(
            tazhost_sdk::http::OauthClient {
                token_url: TOKEN_URL.into(),
                client_id_secret: CLIENT_ID_SECRET.into(),
                client_secret_secret: CLIENT_SECRET_SECRET.into(),
                scopes: vec![SCOPE.into()],
            },
        ))
        .header("accept", "application/json")
        .json(&body)
        // A retried POST could mint a second key; a key left unused expires by itself.
        .send_json()
        .map_err(|e| error::with_context(e, "minting a Tailscale auth key"))?;
    if !minted.key.starts_with("tskey-") {
        return Err(error::provider(
            "minting a Tailscale auth key: the answer holds no tskey-… key",
        ));
    }
    log::info(&format!(
        "minted Tailscale auth key {} for {for_what} (tags {})",
        minted.id,
        cfg.tags.join(",")
    ));
    Ok(minted.key)
}

tazhost_sdk::export_extension!(Tailscale);
