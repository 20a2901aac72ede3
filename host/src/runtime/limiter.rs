//! Per-call resource limits: linear memory and tables. Growth past the cap traps with
//! [`MemoryCapExceeded`] so the error says what happened, instead of the guest's allocator
//! aborting with an anonymous `unreachable`.

use wasmtime::ResourceLimiter;

/// The cap a guest ran into.
#[derive(Debug, thiserror::Error)]
#[error("memory cap of {cap_mib} MiB exceeded (asked for {desired_mib} MiB)")]
pub struct MemoryCapExceeded {
    /// The cap.
    pub cap_mib: usize,
    /// What the guest asked for.
    pub desired_mib: usize,
}

/// Tables hold function references; 100 000 entries in all is far beyond any real plugin.
const MAX_TABLE_ELEMENTS: usize = 100_000;
/// A Rust or Python component has one linear memory, a handful of core instances (the main
/// module plus shims) and a few tables; these bounds leave room and stop a component from
/// multiplying the memory cap by declaring many memories.
const MAX_MEMORIES: usize = 4;
const MAX_INSTANCES: usize = 32;
const MAX_TABLES: usize = 16;

/// Enforces the memory cap of one call, summed over every memory of every instance.
#[derive(Debug)]
pub struct MemoryLimiter {
    cap: usize,
    memory_in_use: usize,
    table_elements: usize,
}

impl MemoryLimiter {
    /// A limiter with a cap in bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            memory_in_use: 0,
            table_elements: 0,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = (self.memory_in_use - current.min(self.memory_in_use)).saturating_add(desired);
        if total > self.cap {
            return Err(MemoryCapExceeded {
                cap_mib: self.cap >> 20,
                desired_mib: total.div_ceil(1 << 20),
            }
            .into());
        }
        self.memory_in_use = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total =
            (self.table_elements - current.min(self.table_elements)).saturating_add(desired);
        if total > MAX_TABLE_ELEMENTS {
            return Ok(false);
        }
        self.table_elements = total;
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// The guest ran longer than its CPU budget.
#[derive(Debug, thiserror::Error)]
#[error("CPU budget of {budget_ms} ms exceeded")]
pub struct CpuBudgetExceeded {
    /// The budget.
    pub budget_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_covers_all_memories_together() {
        let mib = 1 << 20;
        let mut l = MemoryLimiter::new(64 * mib);
        assert!(l.memory_growing(0, 40 * mib, None).unwrap());
        // A second memory may not take another 40 MiB: 80 in total is over 64.
        assert!(l.memory_growing(0, 40 * mib, None).is_err());
        // Growing the first one within the total is fine.
        assert!(l.memory_growing(40 * mib, 60 * mib, None).unwrap());
        assert!(l.memory_growing(60 * mib, 65 * mib, None).is_err());
        assert_eq!(l.memories(), MAX_MEMORIES);
    }
}
