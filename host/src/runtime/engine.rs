use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ProfilingStrategy,
};

use super::RuntimeLimits;
use super::limits::{
    MAX_CORE_INSTANCES_PER_COMPONENT, MAX_MEMORIES_PER_COMPONENT, MAX_TABLES_PER_COMPONENT,
};

/// How often the epoch advances; call deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Which profiler compiled guest code is announced to, so `perf` shows guest functions by
/// name instead of anonymous JIT addresses.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum WasmProfiler {
    /// No profiler (the default).
    #[default]
    None,
    /// Writes `/tmp/perf-PID.map`, read by `perf report`. (wasmtime's jitdump needs its
    /// `profiling` feature, which builds VTune's C library; the perf map needs nothing.)
    PerfMap,
}

/// Bytes of each pooled linear memory kept resident between calls: they are reset with a
/// `memset` instead of being returned to the kernel, so the next call in that slot does not
/// fault fresh zero pages in. A connector that parses a 100 KB page touches about 1 MiB.
/// With `PAGEMAP_SCAN` (Linux 6.7+, used when available) only the pages a call dirtied are
/// reset; without it the whole span is memset after every call, small calls included.
const MEMORY_KEEP_RESIDENT: usize = 1 << 20;
/// Likewise for each pooled table (function tables are small).
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// Builds the one engine all plugins share.
pub(crate) fn build_engine(
    limits: &RuntimeLimits,
    pooling: bool,
    profiler: WasmProfiler,
) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.profiler(match profiler {
        WasmProfiler::None => ProfilingStrategy::None,
        WasmProfiler::PerfMap => ProfilingStrategy::PerfMap,
    });
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(limits.max_wasm_stack);
    config.parallel_compilation(true);
    if pooling {
        let slots = limits.max_concurrent_calls + limits.background_calls;
        let mut pool = PoolingAllocationConfig::default();
        // A Rust wasip2 component is one main module plus a few small shim modules.
        pool.total_component_instances(slots)
            .total_core_instances(slots * 8)
            .total_memories(slots * 2)
            .total_tables(slots * 4)
            .total_stacks(slots)
            .max_memory_size(limits.memory_bytes)
            .max_memories_per_component(MAX_MEMORIES_PER_COMPONENT)
            .max_tables_per_component(MAX_TABLES_PER_COMPONENT)
            .max_core_instances_per_component(MAX_CORE_INSTANCES_PER_COMPONENT)
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT.min(limits.memory_bytes))
            .table_keep_resident(TABLE_KEEP_RESIDENT)
            .pagemap_scan(Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config)
        .map_err(anyhow::Error::from)
        .context("could not create the wasm engine")
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped, so running guests notice
/// their deadline even inside a tight loop.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub(crate) fn start(engine: &Engine) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .context("could not start the epoch thread")?;
        Ok(Self { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
