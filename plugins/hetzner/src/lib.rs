//! tazhost provider plugin for Hetzner Cloud.
//!
//! Talks only to `https://api.hetzner.cloud/v1` (tests point it elsewhere through the host,
//! which maps that declared origin to an operator-given endpoint). Every request asks the host
//! to attach the bearer token it holds as the secret `hcloud-token`; the plugin never sees it.
//!
//! Configuration (`[providers.hetzner.config]`, as JSON; all fields optional):
//!
//! ```json
//! { "location": "fsn1", "networks": [12], "firewalls": [34],
//!   "poll_interval_ms": 1000, "create_timeout_s": 600 }
//! ```

mod api;
mod config;

use std::time::Duration;

use tazhost_sdk::error::{self, with_context};
use tazhost_sdk::http::{Request, ResponseExt};
use tazhost_sdk::{Error, Guest, Node, NodeSpec, PluginInfo, log, poll_until};

use api::{Action, ActionAnswer, CreateAnswer, ServerAnswer, ServersPage};
use config::Config;

/// The only origin this plugin talks to.
pub const API_ORIGIN: &str = "https://api.hetzner.cloud";
/// The secret holding the API token, as declared in `describe()`.
pub const TOKEN_SECRET: &str = "hcloud-token";
/// Hetzner's limit on `user_data`.
pub const MAX_USER_DATA: usize = 32 * 1024;

struct Hetzner;

impl Guest for Hetzner {
    fn describe() -> PluginInfo {
        tazhost_sdk::plugin_info(
            "hetzner",
            env!("CARGO_PKG_VERSION"),
            &[API_ORIGIN],
            &[TOKEN_SECRET],
        )
    }

    fn validate(config: String) -> Result<(), Error> {
        Config::parse(&config).map(|_| ())
    }

    fn list(config: String, selector: Vec<(String, String)>) -> Result<Vec<Node>, Error> {
        Config::parse(&config)?;
        let mut nodes = Vec::new();
        let mut page = 1u64;
        loop {
            let url = api::servers_url(&selector, page);
            let answer: ServersPage = get(&url).send_json()?;
            nodes.extend(answer.servers.into_iter().map(api::Server::into_node));
            match api::next_page(&answer.meta, page) {
                Some(next) => page = next,
                None => break,
            }
        }
        log::debug(&format!("found {} servers", nodes.len()));
        Ok(nodes)
    }

    fn create(config: String, spec: NodeSpec, user_data: String) -> Result<Node, Error> {
        let cfg = Config::parse(&config)?;
        check_spec(&spec, &user_data)?;
        let ctx = format!("creating server {}", spec.name);

        let body = api::create_body(&cfg, &spec, &user_data);
        let req = Request::post(format!("{API_ORIGIN}/v1/servers"))
            .bearer(TOKEN_SECRET)
            .header("accept", "application/json")
            .json(&body);
        log::info(&format!(
            "creating server {} ({} / {} in {})",
            spec.name,
            spec.size,
            spec.image,
            cfg.location.as_deref().unwrap_or("default location")
        ));
        let resp = req.send().map_err(|e| with_context(e, &ctx))?;

        let (server_id, action) = if resp.status == 409
            && error::api_error_code(&resp.body).as_deref() == Some("uniqueness_error")
        {
            // An earlier run got this far; adopt its server if it is really ours.
            log::warn(&format!(
                "server {} already exists (left by an earlier run?); waiting for it",
                spec.name
            ));
            let existing = find_by_name(&spec.name).map_err(|e| with_context(e, &ctx))?;
            let Some(existing) = existing else {
                return Err(error::provider(format!(
                    "{ctx}: the name is taken, but no server of that name is visible"
                )));
            };
            if let Some((k, v)) = api::missing_label(&existing, &spec.labels) {
                return Err(error::provider(format!(
                    "{ctx}: a server of that name already exists (id {}) without label {k}={v}; \
                     refusing to adopt it",
                    existing.id
                )));
            }
            if matches!(existing.status.as_str(), "off" | "stopping") {
                return Err(error::provider(format!(
                    "{ctx}: server {} exists but is {}; power it on (or delete it) and run again",
                    existing.id, existing.status
                )));
            }
            (existing.id, None)
        } else {
            let resp = Request::error_for_status(resp, &format!("{ctx}: POST /v1/servers"))?;
            let answer: CreateAnswer = resp.json().map_err(|e| with_context(e, &ctx))?;
            (answer.server.id, answer.action)
        };

        let timeout = Duration::from_secs(cfg.create_timeout_s.into());
        let interval = Duration::from_millis(cfg.poll_interval_ms.into());
        let mut spent = Duration::ZERO;
        if let Some(action) = action {
            spent = wait_for_action(action, interval, timeout, &spec.name)
                .map_err(|e| with_context(e, &ctx))?;
        }

        let mut polls = 0u32;
        let node = poll_until(interval, timeout.saturating_sub(spent), || {
            polls += 1;
            let answer: ServerAnswer =
                get(&format!("{API_ORIGIN}/v1/servers/{server_id}")).send_json()?;
            if answer.server.status == "running" {
                return Ok(Some(answer.server.into_node()));
            }
            if polls == 1 || polls.is_multiple_of(10) {
                log::debug(&format!("server {} is {}", spec.name, answer.server.status));
            }
            log::progress(
                &format!("waiting for server {} to run", spec.name),
                polls,
                None,
            );
            Ok(None)
        })
        .map_err(|e| with_context(e, &format!("{ctx}: waiting for it to run")))?;
        log::info(&format!(
            "server {} is running (id {}, ipv4 {})",
            node.name,
            node.provider_id,
            node.public_ipv4.as_deref().unwrap_or("none")
        ));
        Ok(node)
    }

    fn delete(config: String, provider_id: String) -> Result<(), Error> {
        let cfg = Config::parse(&config)?;
        let id: u64 = provider_id.trim().parse().map_err(|_| {
            error::invalid_config(format!(
                "provider id {provider_id:?} is not a Hetzner server id"
            ))
        })?;
        let ctx = format!("deleting server {id}");
        log::info(&format!("deleting server {id}"));
        let resp = Request::delete(format!("{API_ORIGIN}/v1/servers/{id}"))
            .bearer(TOKEN_SECRET)
            .header("accept", "application/json")
            .send()
            .map_err(|e| with_context(e, &ctx))?;
        if resp.status == 404 {
            log::info(&format!("server {id} is already gone"));
            return Ok(());
        }
        let resp = Request::error_for_status(resp, &format!("{ctx}: DELETE /v1/servers/{id}"))?;
        // Hetzner answers with the deletion's action; an empty body is fine too.
        if !resp.body.is_empty() {
            let answer: ActionAnswer = resp.json().map_err(|e| with_context(e, &ctx))?;
            let timeout = Duration::from_secs(cfg.create_timeout_s.into());
            let interval = Duration::from_millis(cfg.poll_interval_ms.into());
            wait_for_action(answer.action, interval, timeout, &id.to_string())
                .map_err(|e| with_context(e, &ctx))?;
        }
        Ok(())
    }
}

/// A GET with the token, retries and JSON `accept`.
fn get(url: &str) -> Request {
    Request::get(url).bearer(TOKEN_SECRET)
}

fn check_spec(spec: &NodeSpec, user_data: &str) -> Result<(), Error> {
    if user_data.len() > MAX_USER_DATA {
        return Err(error::invalid_config(format!(
            "user data for {} is {} bytes; Hetzner accepts at most {MAX_USER_DATA}",
            spec.name,
            user_data.len()
        )));
    }
    for (field, value) in [
        ("name", &spec.name),
        ("size (server type)", &spec.size),
        ("image", &spec.image),
    ] {
        if value.trim().is_empty() {
            return Err(error::invalid_config(format!("node {field} is empty")));
        }
    }
    Ok(())
}

fn find_by_name(name: &str) -> Result<Option<api::Server>, Error> {
    let url = format!("{API_ORIGIN}/v1/servers?name={}", api::percent_encode(name));
    let page: ServersPage = get(&url).send_json()?;
    Ok(page.servers.into_iter().find(|s| s.name == name))
}

/// Polls an action until it succeeds; returns the time slept.
fn wait_for_action(
    action: Action,
    interval: Duration,
    timeout: Duration,
    subject: &str,
) -> Result<Duration, Error> {
    let id = action.id;
    let mut current = action;
    let mut polls = 0u32;
    let result = poll_until(interval, timeout, || {
        if polls > 0 {
            let answer: ActionAnswer =
                get(&format!("{API_ORIGIN}/v1/actions/{}", current.id)).send_json()?;
            current = answer.action;
        }
        polls += 1;
        match current.status.as_str() {
            "success" => Ok(Some(())),
            "error" => Err(error::provider(format!(
                "{} failed: {}",
                current.command,
                current.error_message()
            ))),
            _ => {
                log::progress(
                    &format!("{} {}", current.command, subject),
                    current.progress.unwrap_or(0),
                    Some(100),
                );
                Ok(None)
            }
        }
    });
    result.map_err(|e| with_context(e, &format!("waiting for action {id}")))?;
    Ok(interval * polls.saturating_sub(1))
}

tazhost_sdk::export_provider!(Hetzner);
