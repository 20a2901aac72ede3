//! One plugin call in its own sandbox: a fresh `Store` (a trap leaves an instance unusable, and
//! nothing may leak from one call into the next), the memory cap, a CPU budget counted in epoch
//! ticks only while guest code runs, and a wall-clock deadline around the whole call.

use super::bindings::{Node, NodeSpec, PluginInfo, Provider, WitError};
use super::engine::TICK;
use super::error::{GuestError, PluginError};
use super::limiter::{CpuBudgetExceeded, MemoryCapExceeded};
use super::plugin::{Plugin, WorldPre, first_line};
use crate::caps::{CallState, PluginCaps};
use crate::config::{Export, Limits};
use crate::secrets::Redactor;
use std::sync::Arc;
use wasmtime::{Store, Trap, UpdateDeadline};

/// Arguments of one export call.
enum Args {
    Describe,
    Validate(String),
    List(String, Vec<(String, String)>),
    Create(String, NodeSpec, String),
    Delete(String, String),
    Extend(String, NodeSpec, String),
}

/// What an export returned.
enum Returned {
    Info(PluginInfo),
    Unit(Result<(), WitError>),
    Nodes(Result<Vec<Node>, WitError>),
    Node(Result<Node, WitError>),
    Text(Result<String, WitError>),
}

impl Plugin {
    /// `describe()`.
    pub async fn describe(
        &self,
        caps: Arc<PluginCaps>,
        limits: &Limits,
    ) -> Result<PluginInfo, PluginError> {
        match self
            .call(caps, limits, Export::Describe, Args::Describe)
            .await?
        {
            Returned::Info(info) => Ok(info),
            _ => unreachable!("describe returns plugin-info"),
        }
    }

    /// `validate(config)`.
    pub async fn validate(
        &self,
        caps: Arc<PluginCaps>,
        limits: &Limits,
        config: &str,
    ) -> Result<(), PluginError> {
        let args = Args::Validate(config.to_string());
        match self.call(caps, limits, Export::Validate, args).await? {
            Returned::Unit(r) => r.map_err(|e| self.guest_error(Export::Validate, e)),
            _ => unreachable!("validate returns result<_, error>"),
        }
    }

    /// `list(config, selector)`.
    pub async fn list(
        &self,
        caps: Arc<PluginCaps>,
        limits: &Limits,
        config: &str,
        selector: Vec<(String, String)>,
    ) -> Result<Vec<Node>, PluginError> {
        let args = Args::List(config.to_string(), selector);
        match self.call(caps, limits, Export::List, args).await? {
            Returned::Nodes(r) => r.map_err(|e| self.guest_error(Export::List, e)),
            _ => unreachable!("list returns result<list<node>, error>"),
        }
    }

    /// `create(config, spec, user-data)`.
    pub async fn create(
        &self,
        caps: Arc<PluginCaps>,
        limits: &Limits,
        config: &str,
        spec: NodeSpec,
        user_data: &str,
    ) -> Result<Node, PluginError> {
        let args = Args::Create(config.to_string(), spec, user_data.to_string());
        match self.call(caps, limits, Export::Create, args).await? {
            Returned::Node(r) => r.map_err(|e| self.guest_error(Export::Create, e)),
            _ => unreachable!("create returns result<node, error>"),
        }
    }

    /// `delete(config, provider-id)`.
    pub async fn delete(
        &self,
        caps: Arc<PluginCaps>,
        limits: &Limits,
        config: &str,
        provider_id: &str,
    ) -> Result<(), PluginError> {
        let args = Args::Delete(config.to_string(), provider_id.to_string());
        match self.call(caps, limits, Export::Delete, args).await? {
            Returned::Unit(r) => r.map_err(|e| self.guest_error(Export::Delete, e)),
            _ => unreachable!("delete returns result<_, error>"),
        }
    }

    /// `extend(config, node, machine-config)`: the machine config with this extension's changes.
    /// The config in and out is secret: it is never logged, and the host checks its size.
    pub async fn extend(
        &self,
        caps: Arc<PluginCaps>,
        limits: &Limits,
        config: &str,
        spec: NodeSpec,
        machine_config: &str,
    ) -> Result<String, PluginError> {
        let args = Args::Extend(config.to_string(), spec, machine_config.to_string());
        match self.call(caps, limits, Export::Extend, args).await? {
            Returned::Text(r) => r.map_err(|e| self.guest_error(Export::Extend, e)),
            _ => unreachable!("extend returns result<string, error>"),
        }
    }

    async fn call(
        &self,
        caps: Arc<PluginCaps>,
        limits: &Limits,
        export: Export,
        args: Args,
    ) -> Result<Returned, PluginError> {
        let redactor = caps.redactor.clone();
        let mut store = Store::new(&self.engine, CallState::new(caps, limits.memory_bytes()));
        store.limiter(|state| &mut state.limiter);
        let budget_ticks = limits.cpu_ms.div_ceil(TICK.as_millis() as u64).max(1);
        let budget_ms = limits.cpu_ms;
        // Called each time the guest is found running past its deadline, i.e. about once per
        // tick of guest execution; time spent in host calls (http, sleep) is not counted.
        store.epoch_deadline_callback(move |mut ctx| {
            let state = ctx.data_mut();
            if std::mem::take(&mut state.waited) {
                // The tick passed while the guest waited in the host: not CPU.
                return Ok(UpdateDeadline::Yield(1));
            }
            state.cpu_ticks += 1;
            if state.cpu_ticks > budget_ticks {
                return Err(CpuBudgetExceeded { budget_ms }.into());
            }
            // Yield to the executor, so the wall-clock deadline can fire even in a tight loop.
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);

        let deadline = limits.deadline(export);
        let outcome = tokio::time::timeout(deadline, run(&self.pre, &mut store, args)).await;
        store.data_mut().flush_output();
        store.data_mut().flush_log_budget();
        let result = match outcome {
            Err(_elapsed) => {
                return Err(PluginError::Deadline {
                    id: self.id.clone(),
                    export,
                    secs: deadline.as_secs(),
                });
            }
            Ok(result) => result,
        };
        let returned = result.map_err(|e| self.trap_error(export, e, limits))?;
        self.check_returned(export, returned, limits, &redactor)
    }

    fn trap_error(&self, export: Export, e: wasmtime::Error, limits: &Limits) -> PluginError {
        let id = self.id.clone();
        if e.downcast_ref::<CpuBudgetExceeded>().is_some() {
            return PluginError::CpuBudget {
                id,
                export,
                ms: limits.cpu_ms,
            };
        }
        if e.downcast_ref::<MemoryCapExceeded>().is_some() {
            return PluginError::Memory {
                id,
                export,
                mib: limits.memory_mib,
            };
        }
        let reason = match e.downcast_ref::<Trap>() {
            Some(Trap::UnreachableCodeReached) => {
                "unreachable code reached (a Rust plugin panicked or aborted; see its stderr above)"
                    .to_string()
            }
            Some(Trap::StackOverflow) => "stack overflow".to_string(),
            Some(trap) => trap.to_string(),
            None => first_line(&e),
        };
        PluginError::Trap { id, export, reason }
    }

    fn guest_error(&self, export: Export, e: WitError) -> PluginError {
        // Messages were already bounded and redacted in check_returned.
        let error = match e {
            WitError::InvalidConfig(m) => GuestError::InvalidConfig(m),
            WitError::Denied(m) => GuestError::Denied(m),
            WitError::Provider(m) => GuestError::Provider(m),
            WitError::Transient(m) => GuestError::Transient(m),
        };
        PluginError::Guest {
            id: self.id.clone(),
            export,
            error,
        }
    }

    /// Bound the size of everything the guest returned and redact every string in it.
    fn check_returned(
        &self,
        export: Export,
        returned: Returned,
        limits: &Limits,
        redactor: &Redactor,
    ) -> Result<Returned, PluginError> {
        let limit = limits.return_bytes();
        let oversized = |what| PluginError::Oversized {
            id: self.id.clone(),
            export,
            what,
            limit,
        };
        let clean = |s: &mut String| *s = redactor.redact(s);
        let clean_error = |e: &mut WitError| -> Result<(), PluginError> {
            let (WitError::InvalidConfig(m)
            | WitError::Denied(m)
            | WitError::Provider(m)
            | WitError::Transient(m)) = e;
            if m.len() > limit {
                return Err(oversized("an error message"));
            }
            clean(m);
            Ok(())
        };
        let clean_node = |n: &mut Node| -> Result<(), PluginError> {
            if node_size(n) > limit {
                return Err(oversized("a node"));
            }
            clean(&mut n.name);
            clean(&mut n.provider_id);
            clean(&mut n.status);
            for ip in [&mut n.public_ipv4, &mut n.private_ipv4]
                .into_iter()
                .flatten()
            {
                clean(ip);
            }
            for (k, v) in &mut n.labels {
                clean(k);
                clean(v);
            }
            Ok(())
        };
        let mut returned = returned;
        match &mut returned {
            Returned::Info(info) => {
                let size = info.name.len()
                    + info.version.len()
                    + info.contract.len()
                    + info
                        .hosts
                        .iter()
                        .chain(&info.secrets)
                        .map(String::len)
                        .sum::<usize>();
                if size > limit {
                    return Err(oversized("a plugin-info"));
                }
            }
            Returned::Unit(Err(e))
            | Returned::Nodes(Err(e))
            | Returned::Node(Err(e))
            | Returned::Text(Err(e)) => clean_error(e)?,
            // A machine config is the caller's secret, returned whole: only its size is checked
            // here (redacting it would corrupt it).
            Returned::Text(Ok(text)) => {
                if text.len() > limit {
                    return Err(oversized("a machine config"));
                }
            }
            Returned::Unit(Ok(())) => {}
            Returned::Nodes(Ok(nodes)) => {
                if nodes.iter().map(node_size).sum::<usize>() > limit {
                    return Err(oversized("a node list"));
                }
                nodes.iter_mut().try_for_each(clean_node)?;
            }
            Returned::Node(Ok(node)) => clean_node(node)?,
        }
        Ok(returned)
    }
}

/// Bytes a returned node costs the host: its strings, plus a fixed charge per string so that
/// millions of empty labels are not free.
fn node_size(n: &Node) -> usize {
    const PER_STRING: usize = 24;
    PER_STRING * (5 + 2 * n.labels.len())
        + n.name.len()
        + n.provider_id.len()
        + n.status.len()
        + n.public_ipv4.as_ref().map_or(0, String::len)
        + n.private_ipv4.as_ref().map_or(0, String::len)
        + n.labels
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
}

async fn run(
    pre: &WorldPre,
    store: &mut Store<CallState>,
    args: Args,
) -> wasmtime::Result<Returned> {
    let provider: Provider = match pre {
        WorldPre::Provider(pre) => pre.instantiate_async(&mut *store).await?,
        WorldPre::Extension(pre) => {
            let extension = pre.instantiate_async(&mut *store).await?;
            return Ok(match args {
                Args::Describe => Returned::Info(extension.call_describe(&mut *store).await?),
                Args::Validate(config) => {
                    Returned::Unit(extension.call_validate(&mut *store, &config).await?)
                }
                Args::Extend(config, spec, machine_config) => Returned::Text(
                    extension
                        .call_extend(&mut *store, &config, &spec, &machine_config)
                        .await?,
                ),
                _ => {
                    return Err(wasmtime::format_err!(
                        "a machine-config extension has no such export"
                    ));
                }
            });
        }
    };
    Ok(match args {
        Args::Describe => Returned::Info(provider.call_describe(&mut *store).await?),
        Args::Validate(config) => {
            Returned::Unit(provider.call_validate(&mut *store, &config).await?)
        }
        Args::List(config, selector) => {
            Returned::Nodes(provider.call_list(&mut *store, &config, &selector).await?)
        }
        Args::Create(config, spec, user_data) => Returned::Node(
            provider
                .call_create(&mut *store, &config, &spec, &user_data)
                .await?,
        ),
        Args::Delete(config, id) => {
            Returned::Unit(provider.call_delete(&mut *store, &config, &id).await?)
        }
        Args::Extend(..) => {
            return Err(wasmtime::format_err!("a provider has no extend export"));
        }
    })
}
