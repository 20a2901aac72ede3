//! The plugin runtime: one wasmtime engine, a disk cache of compiled components, the linker that
//! lends the host's capabilities, and per-call sandboxes with deadlines and budgets.

pub mod bindings;
mod cache;
mod call;
mod contract;
mod engine;
mod error;
mod limiter;
mod plugin;

pub use cache::{CacheOutcome, ComponentCache};
pub use contract::{CONTRACT_VERSION, ContractVersion};
pub use engine::{Runtime, TICK};
pub use error::{GuestError, PluginError};
pub use limiter::{CpuBudgetExceeded, MemoryCapExceeded, MemoryLimiter};
pub use plugin::{Plugin, PluginId, World};
