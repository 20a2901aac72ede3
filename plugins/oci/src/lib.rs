//! tazhost provider plugin for Oracle Cloud Infrastructure (Compute).
//!
//! Talks to `https://iaas.<region>.oraclecloud.com` (declared as `https://*.oraclecloud.com`;
//! tests route it to a fake through the host's endpoint overrides). Every request is signed by
//! the HOST with the API private key it holds as the secret `oci-private-key`
//! (draft-cavage `rsa-sha256`, OCI's header set); the plugin never sees the key.
//!
//! Nodes are instances; tazhost's labels are their freeform tags, the node name their display
//! name, the provider id their OCID. `create` launches with an `opc-retry-token`, so a launch
//! retried after a timeout never makes a second instance, and first looks for an instance of the
//! same name left by an earlier run (adopted only if it carries all the labels). Instances are
//! listed per compartment and filtered by tag on our side (ListInstances has no tag filter).
//!
//! Configuration (`[providers.oci.config]`, as JSON): see [`config::Config`].

mod api;
mod config;

use std::time::Duration;

use tazhost_sdk::error::{self, with_context};
use tazhost_sdk::http::{Request, ResponseExt, header};
use tazhost_sdk::{Error, Guest, Node, NodeSpec, PluginInfo, crypto, log, poll_until};

use api::{Instance, Vnic, VnicAttachment};
use config::Config;

/// The origins this plugin talks to: the regional Core Services endpoints.
pub const API_HOSTS: &str = "https://*.oraclecloud.com";
/// The secret holding the API signing key (PEM), as declared in `describe()`.
pub const KEY_SECRET: &str = "oci-private-key";

struct Oci;

impl Guest for Oci {
    fn describe() -> PluginInfo {
        tazhost_sdk::plugin_info(
            "oci",
            env!("CARGO_PKG_VERSION"),
            &[API_HOSTS],
            &[KEY_SECRET],
        )
    }

    fn validate(config: String) -> Result<(), Error> {
        Config::parse(&config).map(|_| ())
    }

    fn list(config: String, selector: Vec<(String, String)>) -> Result<Vec<Node>, Error> {
        let cfg = Config::parse(&config)?;
        let instances = list_instances(&cfg, None)?;
        let mut nodes = Vec::new();
        for instance in instances
            .into_iter()
            .filter(|i| !i.is_ended() && i.carries(&selector))
        {
            let vnic = primary_vnic(&cfg, &instance.id)?;
            nodes.push(instance.into_node(vnic));
        }
        log::debug(&format!("found {} instances", nodes.len()));
        Ok(nodes)
    }

    fn create(config: String, spec: NodeSpec, user_data: String) -> Result<Node, Error> {
        let cfg = Config::parse(&config)?;
        check_spec(&spec, &user_data)?;
        let ctx = format!("creating instance {}", spec.name);

        let existing = list_instances(&cfg, Some(&spec.name))
            .map_err(|e| with_context(e, &ctx))?
            .into_iter()
            .find(|i| !i.is_ended() && i.display_name == spec.name);
        let instance = match existing {
            Some(found) => {
                if !found.carries(&spec.labels) {
                    return Err(error::provider(format!(
                        "{ctx}: an instance of that name already exists ({}) without tazhost's tags; refusing to adopt it",
                        found.id
                    )));
                }
                if matches!(found.lifecycle_state.as_str(), "STOPPED" | "STOPPING") {
                    return Err(error::provider(format!(
                        "{ctx}: instance {} exists but is {}; start it (or terminate it) and run again",
                        found.id, found.lifecycle_state
                    )));
                }
                log::warn(&format!(
                    "instance {} already exists ({}, {}): left by an earlier run; finishing it",
                    spec.name, found.id, found.lifecycle_state
                ));
                found
            }
            None => launch(&cfg, &spec, &user_data).map_err(|e| with_context(e, &ctx))?,
        };

        let running = wait_for_state(&cfg, &instance.id, &spec.name, "RUNNING")
            .and_then(|found| {
                found.ok_or_else(|| error::provider(format!("instance {} vanished", instance.id)))
            })
            .map_err(|e| with_context(e, &format!("{ctx}: waiting for it to run")))?;
        let vnic = primary_vnic(&cfg, &running.id).map_err(|e| with_context(e, &ctx))?;
        let node = running.into_node(vnic);
        log::info(&format!(
            "instance {} is running ({}, ipv4 {})",
            node.name,
            node.provider_id,
            node.public_ipv4.as_deref().unwrap_or("none")
        ));
        Ok(node)
    }

    fn delete(config: String, provider_id: String) -> Result<(), Error> {
        let cfg = Config::parse(&config)?;
        let id = provider_id.trim();
        if !config::is_ocid(id, "instance") {
            return Err(error::invalid_config(format!(
                "provider id {provider_id:?} is not an instance OCID"
            )));
        }
        let ctx = format!("terminating instance {id}");
        log::info(&ctx);
        let resp = signed(&cfg, Request::delete(api::instance_url(&cfg, id)))
            .send()
            .map_err(|e| with_context(e, &ctx))?;
        if resp.status == 404 {
            log::info(&format!("instance {id} is already gone"));
            return Ok(());
        }
        Request::error_for_status(resp, &format!("{ctx}: DELETE /instances"))?;
        match wait_for_state(&cfg, id, id, "TERMINATED") {
            Ok(_) => Ok(()),
            Err(e) => Err(with_context(e, &format!("{ctx}: waiting for it to end"))),
        }
    }
}

/// Lets the host sign the request with the configured key.
fn signed(cfg: &Config, req: Request) -> Request {
    req.oci_signed(cfg.key_id(), KEY_SECRET)
        .header("accept", "application/json")
}

/// Every instance of the compartment (optionally of one display name), all pages.
fn list_instances(cfg: &Config, display_name: Option<&str>) -> Result<Vec<Instance>, Error> {
    let mut all = Vec::new();
    let mut page: Option<String> = None;
    for _ in 0..api::MAX_PAGES {
        let url = api::instances_url(cfg, display_name, page.as_deref());
        let resp = signed(cfg, Request::get(&url)).send()?;
        let resp = Request::error_for_status(resp, "GET /instances")?;
        let next = header(&resp.headers, "opc-next-page").map(str::to_owned);
        let batch: Vec<Instance> = resp.json()?;
        all.extend(batch);
        match next {
            Some(n) if !n.is_empty() => page = Some(n),
            _ => return Ok(all),
        }
    }
    Err(error::provider(format!(
        "GET /instances: more than {} pages",
        api::MAX_PAGES
    )))
}

/// LaunchInstance with a fresh retry token: the SDK's retries resend it unchanged, so OCI
/// answers a retried launch with the instance of the first one.
fn launch(cfg: &Config, spec: &NodeSpec, user_data: &str) -> Result<Instance, Error> {
    let token = api::retry_token(&crypto::random_bytes(16));
    log::info(&format!(
        "launching instance {} ({} / {} in {})",
        spec.name, spec.size, spec.image, cfg.availability_domain
    ));
    let req = signed(
        cfg,
        Request::post(format!("{}{}/instances", cfg.api_origin(), api::VERSION)),
    )
    .header("opc-retry-token", token)
    .json(&api::launch_details(cfg, spec, user_data));
    let resp = req.send()?;
    let resp = Request::error_for_status(resp, "POST /instances")?;
    resp.json()
}

/// Polls the instance until it reaches `target` (`None`: it is gone, a 404). A terminated
/// instance ends the wait with an error unless termination is the target.
fn wait_for_state(
    cfg: &Config,
    id: &str,
    subject: &str,
    target: &str,
) -> Result<Option<Instance>, Error> {
    let timeout = Duration::from_secs(cfg.create_timeout_s.into());
    let interval = Duration::from_millis(cfg.poll_interval_ms.into());
    let mut polls = 0u32;
    poll_until(interval, timeout, || {
        polls += 1;
        let resp = signed(cfg, Request::get(api::instance_url(cfg, id))).send()?;
        if resp.status == 404 {
            return Ok(Some(None));
        }
        let resp = Request::error_for_status(resp, "GET /instances/{id}")?;
        let instance: Instance = resp.json()?;
        if instance.lifecycle_state == target {
            return Ok(Some(Some(instance)));
        }
        if instance.is_ended() && target != "TERMINATED" {
            return Err(error::provider(format!(
                "instance {subject} is {} (OCI ended it: out of capacity or a bad image/shape?)",
                instance.lifecycle_state
            )));
        }
        if polls == 1 || polls.is_multiple_of(10) {
            log::debug(&format!(
                "instance {subject} is {}",
                instance.lifecycle_state
            ));
        }
        log::progress(
            &format!("waiting for {subject} to be {target}"),
            polls,
            None,
        );
        Ok(None)
    })
}

/// The primary VNIC's addresses, once attached (none before).
fn primary_vnic(cfg: &Config, instance_id: &str) -> Result<Option<Vnic>, Error> {
    let attachments: Vec<VnicAttachment> = signed(
        cfg,
        Request::get(api::vnic_attachments_url(cfg, instance_id)),
    )
    .send_json()?;
    let mut first = None;
    for attachment in attachments
        .iter()
        .filter(|a| a.lifecycle_state == "ATTACHED")
    {
        let Some(vnic_id) = &attachment.vnic_id else {
            continue;
        };
        let vnic: Vnic = signed(cfg, Request::get(api::vnic_url(cfg, vnic_id))).send_json()?;
        if vnic.is_primary.unwrap_or(false) {
            return Ok(Some(vnic));
        }
        first.get_or_insert(vnic);
    }
    Ok(first)
}

fn check_spec(spec: &NodeSpec, user_data: &str) -> Result<(), Error> {
    // OCI measures `metadata` as compact JSON: `{"user_data":"<base64>"}`.
    let metadata = api::encoded_user_data_len(user_data) + r#"{"user_data":""}"#.len();
    if metadata > api::MAX_METADATA {
        return Err(error::invalid_config(format!(
            "user data for {} is {} bytes, {metadata} bytes of instance metadata once base64-encoded; OCI accepts at most {}",
            spec.name,
            user_data.len(),
            api::MAX_METADATA
        )));
    }
    for (field, value) in [("name", &spec.name), ("size (shape)", &spec.size)] {
        if value.trim().is_empty() {
            return Err(error::invalid_config(format!("node {field} is empty")));
        }
    }
    if !config::is_ocid(&spec.image, "image") {
        return Err(error::invalid_config(format!(
            "node image {:?} is not an image OCID (ocid1.image…)",
            spec.image
        )));
    }
    Ok(())
}

tazhost_sdk::export_provider!(Oci);
