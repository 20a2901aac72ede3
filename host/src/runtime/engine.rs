//! The one wasmtime engine of a tazhost process, pinned to an explicit configuration, with the
//! epoch ticker that drives deadlines and CPU budgets.

use super::cache::ComponentCache;
use crate::caps::CallState;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::component::Linker;
use wasmtime::{Config, Engine, OptLevel, Strategy};

/// How often the epoch advances. Budgets and deadlines are counted in these ticks.
pub const TICK: Duration = Duration::from_millis(10);

/// Engine, linker and component cache, shared by every plugin of the process.
pub struct Runtime {
    pub(super) engine: Engine,
    pub(super) linker: Arc<Linker<CallState>>,
    pub(super) cache: ComponentCache,
    pub(super) ticker: Arc<Ticker>,
}

/// Keeps the epoch thread running while the runtime or any plugin loaded from it is alive:
/// without ticks, deadlines and CPU budgets would never fire.
#[derive(Debug)]
pub struct Ticker(Arc<AtomicBool>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

impl Runtime {
    /// A runtime that caches compiled components in `cache` (or in memory only with `None`).
    pub fn new(cache: ComponentCache) -> wasmtime::Result<Self> {
        let engine = Engine::new(&engine_config())?;
        let mut linker = Linker::new(&engine);
        crate::caps::add_to_linker(&mut linker)?;
        let running = Arc::new(AtomicBool::new(true));
        spawn_ticker(engine.clone(), running.clone());
        let ticker = Arc::new(Ticker(running));
        Ok(Self {
            engine,
            linker: Arc::new(linker),
            cache,
            ticker,
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// Every setting that matters for isolation is written out rather than left to defaults that
/// could change under us: Cranelift, guard regions on, no threads or shared memory, epochs on.
fn engine_config() -> Config {
    let mut config = Config::new();
    config.strategy(Strategy::Cranelift);
    config.cranelift_opt_level(OptLevel::Speed);
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.consume_fuel(false);
    config.shared_memory(false);
    // Guard pages behind every linear memory: out-of-bounds accesses fault, not corrupt.
    config.memory_guard_size(32 << 20);
    config.guard_before_linear_memory(true);
    // 1 MiB of wasm stack is plenty for JSON work; deep recursion traps instead.
    config.max_wasm_stack(1 << 20);
    config.async_stack_size(2 << 20);
    config
}

/// A thread that advances the engine's epoch every [`TICK`] until the runtime is dropped.
fn spawn_ticker(engine: Engine, running: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("tazhost-epoch".into())
        .spawn(move || {
            while running.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawning the epoch thread");
}
