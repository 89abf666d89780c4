use std::time::Duration;

/// Per-call limits. Every knob documents its default.
#[derive(Debug, Clone)]
pub struct RuntimeLimits {
    /// Wall-clock deadline of one call, instantiation included. Default: 30 s.
    pub call_timeout: Duration,
    /// Linear memory one call may grow to. Default: 64 MiB.
    pub memory_bytes: usize,
    /// Outbound HTTP requests one call may send (`send-many` counts each). Default: 50.
    pub max_requests_per_call: u32,
    /// Largest response body a plugin may receive. Default: 10 MiB.
    pub max_response_bytes: u64,
    /// All response bodies of one call together (`send-many` fan-outs included), counted while
    /// they are read. Default: 32 MiB.
    pub max_call_response_bytes: u64,
    /// Bytes a guest may hand the host in one host call (strings, lists, bodies): wasmtime's
    /// hostcall fuel. Default: 16 MiB.
    pub max_hostcall_bytes: usize,
    /// Log lines one call may write; the rest are dropped and counted. Default: 100.
    pub max_log_lines_per_call: u32,
    /// Guest stderr kept per call (panic messages land here). Default: 64 KiB.
    pub max_stderr_bytes: usize,
    /// Native stack for wasm code; deeper recursion traps. Default: 512 KiB.
    pub max_wasm_stack: usize,
    /// Calls that may run at once (pooling slots). Default: 256.
    pub max_concurrent_calls: u32,
    /// Calls one tenant may run at once; past it the tenant gets `RATE_LIMITED` while other
    /// tenants go on. Default (`None`): a quarter of `max_concurrent_calls`, at least 1.
    pub max_concurrent_calls_per_tenant: Option<u32>,
    /// Calls one connection may run at once. Default (`None`): half the per-tenant cap, at
    /// least 1.
    pub max_concurrent_calls_per_connection: Option<u32>,
    /// Calls background work (syncs) may run at once, on pooling slots of their own beyond
    /// `max_concurrent_calls`. Default: 2.
    pub background_calls: u32,
}

/// Most linear memories, tables and core instances one component may contain (pooling
/// allocator): a Rust connector has one memory, a few tables and fewer than ten core
/// instances; a component past these is refused at load (wasmtime checks them when it
/// compiles the component, and again when it instantiates it).
pub const MAX_MEMORIES_PER_COMPONENT: u32 = 4;
pub const MAX_TABLES_PER_COMPONENT: u32 = 16;
pub const MAX_CORE_INSTANCES_PER_COMPONENT: u32 = 64;

/// Slots kept free of API calls for the loader's checks (`info()` of an upload), so an
/// operator can always hot-load a fix, however busy tenants keep the host.
pub const LOADER_RESERVED_SLOTS: u32 = 2;

impl RuntimeLimits {
    /// The per-tenant cap in force.
    pub fn tenant_cap(&self) -> u32 {
        self.max_concurrent_calls_per_tenant
            .unwrap_or(self.max_concurrent_calls / 4)
            .max(1)
    }

    /// The per-connection cap in force.
    pub fn connection_cap(&self) -> u32 {
        self.max_concurrent_calls_per_connection
            .unwrap_or(self.tenant_cap() / 2)
            .max(1)
    }

    /// Slots API calls may hold together: all but the loader's reserve (at least 1).
    pub fn api_slots(&self) -> u32 {
        self.max_concurrent_calls
            .saturating_sub(LOADER_RESERVED_SLOTS)
            .max(1)
    }
}

impl Default for RuntimeLimits {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(30),
            memory_bytes: 64 << 20,
            max_requests_per_call: 50,
            max_response_bytes: 10 << 20,
            max_call_response_bytes: 32 << 20,
            max_hostcall_bytes: 16 << 20,
            max_log_lines_per_call: 100,
            max_stderr_bytes: 64 << 10,
            max_wasm_stack: 512 << 10,
            max_concurrent_calls: 256,
            max_concurrent_calls_per_tenant: None,
            max_concurrent_calls_per_connection: None,
            background_calls: 2,
        }
    }
}

/// Caps a store's memory and tables, and remembers whether the cap was what stopped the guest
/// (so the fault says "memory limit" rather than a bare trap). The cap is on all of the call's
/// linear memories together: a component with many memories gets no more than one with one.
pub(crate) struct CallLimiter {
    memory_bytes: usize,
    /// Bytes of all memories of the store so far.
    total_bytes: usize,
    pub(crate) memory_exceeded: bool,
}

/// Table elements one instance may have; far above what real connectors use.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl CallLimiter {
    pub(crate) fn new(memory_bytes: usize) -> Self {
        Self {
            memory_bytes,
            total_bytes: 0,
            memory_exceeded: false,
        }
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    /// Bytes of all the store's memories now (memories only grow, so also the peak).
    pub(crate) fn used_bytes(&self) -> usize {
        self.total_bytes
    }
}

impl wasmtime::ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Called with `current` 0 when a memory is created, so every memory is counted.
        let total = self
            .total_bytes
            .saturating_sub(current)
            .saturating_add(desired);
        if total > self.memory_bytes {
            self.memory_exceeded = true;
            wasmtime::bail!(
                "memory limit of {} bytes exceeded (all of the call's memories together)",
                self.memory_bytes
            );
        }
        self.total_bytes = total;
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
