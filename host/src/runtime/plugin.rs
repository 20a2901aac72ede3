//! A loaded plugin: its identity, compiled component, pre-linked instance and self-description.

use super::bindings::extension::MachineConfigExtensionPre;
use super::bindings::{PluginInfo, ProviderPre};
use super::cache::CacheOutcome;
use super::contract::{self, CONTRACT_VERSION, ContractVersion, ImportProblem};
use super::engine::Runtime;
use super::error::PluginError;
use crate::caps::http::Allowlist;
use crate::caps::{LogSink, PluginCaps};
use crate::config::Limits;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmtime::Engine;

/// Who a plugin is: its name (from `describe`, or the file name before that) and the sha256 of
/// its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginId {
    /// Name.
    pub name: String,
    /// Hex sha256 of the .wasm bytes.
    pub sha256: String,
    /// Where it was loaded from.
    pub path: PathBuf,
}

impl fmt::Display for PluginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plugin `{}` (sha256:{})", self.name, self.sha256)
    }
}

/// Which world a plugin implements, pre-linked.
#[derive(Clone)]
pub(super) enum WorldPre {
    /// A cloud provider.
    Provider(ProviderPre<crate::caps::CallState>),
    /// A machine-config extension.
    Extension(MachineConfigExtensionPre<crate::caps::CallState>),
}

/// The worlds a plugin may implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// `provider`: creates, lists and deletes nodes.
    Provider,
    /// `machine-config-extension`: edits a node's machine config before it is created.
    MachineConfigExtension,
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            World::Provider => "provider",
            World::MachineConfigExtension => "machine-config-extension",
        })
    }
}

/// A plugin ready to be called. Cheap to clone.
#[derive(Clone)]
pub struct Plugin {
    pub(super) id: PluginId,
    pub(super) engine: Engine,
    pub(super) pre: WorldPre,
    pub(super) info: PluginInfo,
    pub(super) imports: Arc<Vec<String>>,
    pub(super) cache: CacheOutcome,
    pub(super) _ticker: Arc<super::engine::Ticker>,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin").field("id", &self.id).finish()
    }
}

impl Plugin {
    /// Identity.
    pub fn id(&self) -> &PluginId {
        &self.id
    }

    /// The world it implements.
    pub fn world(&self) -> World {
        match self.pre {
            WorldPre::Provider(_) => World::Provider,
            WorldPre::Extension(_) => World::MachineConfigExtension,
        }
    }

    /// What `describe` returned.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Every import of the component, by name.
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// Whether the compiled form came from the disk cache.
    pub fn cache_outcome(&self) -> CacheOutcome {
        self.cache
    }

    /// The contract version the plugin says it was built against.
    pub fn contract(&self) -> Option<ContractVersion> {
        ContractVersion::parse(&self.info.contract)
    }
}

impl Runtime {
    /// Load a plugin file: read, hash (and check against `pin`), compile or load from cache,
    /// check its imports, link it, and call `describe` in a sandbox with nothing granted.
    pub async fn load(
        &self,
        path: &Path,
        pin: Option<&str>,
        limits: &Limits,
        sink: LogSink,
    ) -> Result<Plugin, PluginError> {
        let bytes = std::fs::read(path).map_err(|source| PluginError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let mut id = PluginId {
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "plugin".into()),
            sha256,
            path: path.to_path_buf(),
        };
        if let Some(expected) = pin
            && !expected.eq_ignore_ascii_case(&id.sha256)
        {
            return Err(PluginError::PinMismatch {
                id,
                expected: expected.to_string(),
            });
        }
        let (component, cache) = {
            let engine = self.engine.clone();
            let cache = self.cache.clone();
            let sha = id.sha256.clone();
            // Compiling is CPU-bound and can take a while: keep it off the async workers.
            tokio::task::spawn_blocking(move || cache.load(&engine, &bytes, &sha))
                .await
                .expect("compile task panicked")
                .map_err(|e| PluginError::Invalid {
                    id: id.clone(),
                    reason: first_line(&e),
                })?
        };
        let imports: Vec<String> = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        match contract::check_imports(imports.iter().map(String::as_str)) {
            Ok(()) => {}
            Err(ImportProblem::Version(found)) => {
                return Err(PluginError::Contract {
                    id,
                    found,
                    host: CONTRACT_VERSION.to_string(),
                });
            }
            Err(ImportProblem::Foreign(import)) => {
                return Err(PluginError::ForeignImport { id, import });
            }
        }
        let instance_pre =
            self.linker
                .instantiate_pre(&component)
                .map_err(|e| PluginError::ForeignImport {
                    id: id.clone(),
                    import: first_line(&e),
                })?;
        let pre = match ProviderPre::new(instance_pre.clone()) {
            Ok(pre) => WorldPre::Provider(pre),
            Err(as_provider) => match MachineConfigExtensionPre::new(instance_pre) {
                Ok(pre) => WorldPre::Extension(pre),
                // Name the provider's problem: that is the world most plugins mean to be.
                Err(_) => {
                    return Err(PluginError::WrongWorld {
                        id: id.clone(),
                        world: "provider",
                        reason: first_line(&as_provider),
                    });
                }
            },
        };
        let mut plugin = Plugin {
            id: id.clone(),
            engine: self.engine.clone(),
            pre,
            info: PluginInfo {
                name: String::new(),
                version: String::new(),
                contract: String::new(),
                hosts: vec![],
                secrets: vec![],
            },
            imports: Arc::new(imports),
            cache,
            _ticker: self.ticker.clone(),
        };
        let caps = Arc::new(PluginCaps::nothing(id.name.clone(), sink));
        let info = plugin.describe(caps, limits).await?;
        check_info(&info).map_err(|reason| PluginError::BadInfo {
            id: id.clone(),
            reason,
        })?;
        match ContractVersion::parse(&info.contract) {
            Some(v) if v.runs_on(CONTRACT_VERSION) => {}
            _ => {
                return Err(PluginError::Contract {
                    id,
                    found: info.contract.clone(),
                    host: CONTRACT_VERSION.to_string(),
                });
            }
        }
        id.name = info.name.clone();
        plugin.id = id;
        plugin.info = info;
        Ok(plugin)
    }
}

/// Plugin names become log tags and config keys: short and plain.
fn check_info(info: &PluginInfo) -> Result<(), String> {
    if !crate::config::is_valid_name(&info.name) {
        return Err(
            "name must be 1-40 characters of a-z, 0-9 and `-`, not starting or ending with `-`"
                .into(),
        );
    }
    if info.version.len() > 64 || info.hosts.len() > 64 || info.secrets.len() > 64 {
        return Err("version, hosts or secrets are too long".into());
    }
    Allowlist::parse_declared(&info.hosts).map_err(|e| e.to_string())?;
    if info.secrets.iter().any(|s| s.is_empty() || s.len() > 128) {
        return Err("secret names must be 1-128 characters".into());
    }
    Ok(())
}

/// The first line of an error chain's top message (wasmtime adds backtraces below it).
pub(super) fn first_line(e: &wasmtime::Error) -> String {
    format!("{e:#}")
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}
