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

/// Tables hold function references; 100 000 entries is far beyond any real plugin.
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Enforces the memory cap of one call.
#[derive(Debug)]
pub struct MemoryLimiter {
    cap: usize,
}

impl MemoryLimiter {
    /// A limiter with a cap in bytes.
    pub fn new(cap: usize) -> Self {
        Self { cap }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            return Err(MemoryCapExceeded {
                cap_mib: self.cap >> 20,
                desired_mib: desired.div_ceil(1 << 20),
            }
            .into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// The guest ran longer than its CPU budget.
#[derive(Debug, thiserror::Error)]
#[error("CPU budget of {budget_ms} ms exceeded")]
pub struct CpuBudgetExceeded {
    /// The budget.
    pub budget_ms: u64,
}
