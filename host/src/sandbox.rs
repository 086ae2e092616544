//! The parser component in its sandbox: compiled once, then a fresh `Store`
//! and instance for every render, with a memory cap and a CPU deadline.
//!
//! The component gets no capabilities. A std guest for `wasm32-wasip2`
//! imports the WASI stdio, environment and exit interfaces, and only those
//! (plus the `wasi:io` streams they use) are linked: no filesystem, clocks,
//! random, sockets. Its environment and arguments are empty, stdin is empty,
//! and stdout/stderr go to small in-memory pipes whose content is logged (a
//! guest panic message arrives that way). A component importing anything
//! else fails to load at start-up.

use parser_wasm::Family;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;
use wasmtime::component::{Component, HasData, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store,
    Trap,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "parser",
    });
}

use bindings::exports::iptables_exporter::parser::metrics;

/// The parser component compiled into the binary by `build.rs`.
pub const EMBEDDED_COMPONENT: &[u8] = include_bytes!(env!("PARSER_COMPONENT_PATH"));

/// How often the epoch ticks; the CPU deadline is rounded up to it.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Guest stdout/stderr kept for the log; a guest writing more traps.
const GUEST_OUTPUT_BYTES: usize = 64 * 1024;

/// Instances that can exist at once; a render beyond waits for a free slot.
/// Collections are single-flight, so more than one render at a time is rare.
const POOL_SLOTS: u32 = 4;
/// Linear memory a pool slot keeps mapped between renders, so that the next
/// render does not fault its pages in again (about a 100k-rule render's).
const KEEP_RESIDENT_BYTES: usize = 96 << 20;

/// Bounds on one render.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest size any one linear memory of the guest may grow to.
    pub max_memory_bytes: usize,
    /// Wall-clock time the guest may run before it is interrupted.
    pub deadline: Duration,
    /// Most exposition text one render may return, in bytes.
    pub max_output_bytes: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("loading the parser component: {0:#}")]
    Load(wasmtime::Error),
    #[error("the parser component ran past its deadline of {0:?}")]
    Deadline(Duration),
    #[error("the parser component asked for more than its memory limit of {0} bytes")]
    MemoryLimit(usize),
    #[error("the parser component returned more than its output limit of {0} bytes")]
    OutputTooLarge(usize),
    #[error(
        "the parser component returned a piece of {0} bytes, more than its input could produce"
    )]
    OversizedChunk(usize),
    #[error("the parser component failed: {0:#}")]
    Trap(wasmtime::Error),
}

/// One family's save output going into the component.
pub struct Dump {
    pub family: Family,
    pub save_output: Vec<u8>,
}

/// Sizes of a family that parsed.
pub type Stats = metrics::Stats;

/// A family the component rejected: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseFailure {
    pub line: u32,
    pub message: String,
}

/// What one render returns: the exposition of every family that parsed and
/// one result per dump, in the order given.
pub struct Rendering {
    pub exposition: String,
    pub results: Vec<Result<Stats, ParseFailure>>,
}

pub struct Sandbox {
    engine: Engine,
    pre: bindings::ParserPre<GuestState>,
    limits: Limits,
    slots: Slots,
}

impl Sandbox {
    /// Compiles `component` and resolves its imports; done once at start-up.
    pub fn new(component: &[u8], limits: Limits) -> Result<Self, Error> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        // Each render gets a fresh instance from a pool whose slots keep
        // their memory mapped: cheaper than mapping and faulting in new
        // memory every time, and the instance is as fresh (zeroed) as ever.
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(POOL_SLOTS)
            .total_core_instances(POOL_SLOTS * 4)
            .total_memories(POOL_SLOTS * 2)
            .total_tables(POOL_SLOTS * 4)
            .max_memory_size(limits.max_memory_bytes)
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(Error::Load)?;
        let component = Component::new(&engine, component).map_err(Error::Load)?;
        let mut linker = Linker::new(&engine);
        link_stdio_only(&mut linker).map_err(Error::Load)?;
        let pre = linker.instantiate_pre(&component).map_err(Error::Load)?;
        let pre = bindings::ParserPre::new(pre).map_err(Error::Load)?;
        spawn_epoch_ticker(&engine);
        Ok(Self {
            engine,
            pre,
            limits,
            slots: Slots::new(POOL_SLOTS),
        })
    }

    /// Renders `dumps` in a fresh instance, in one call. Blocking: call it
    /// off the async runtime's worker threads.
    pub fn render(&self, dumps: Vec<Dump>) -> Result<Rendering, Error> {
        let dumps = dumps_to_wit(dumps);
        let rendering = self.run(|store, parser| {
            parser
                .iptables_exporter_parser_metrics()
                .call_render(store, &dumps)
        })?;
        if rendering.exposition.len() > self.limits.max_output_bytes {
            return Err(Error::OutputTooLarge(self.limits.max_output_bytes));
        }
        Ok(Rendering {
            exposition: rendering.exposition,
            results: results_from_wit(rendering.results),
        })
    }

    /// Renders `dumps` in a fresh instance, handing the exposition to `sink`
    /// in pieces of at least `chunk_bytes` (whole lines) as they are made.
    /// Returns one result per dump. Blocking, like [`Sandbox::render`].
    pub fn render_chunks(
        &self,
        dumps: Vec<Dump>,
        chunk_bytes: u32,
        mut sink: impl FnMut(String),
    ) -> Result<Vec<Result<Stats, ParseFailure>>, Error> {
        // No honest piece is longer than asked plus one line, and no line is
        // longer than twice the input (escaping at most doubles it): a larger
        // piece is refused before any of it is handed out.
        let input_bytes: usize = dumps.iter().map(|d| d.save_output.len()).sum();
        let max_chunk_bytes = (chunk_bytes as usize)
            .saturating_add(input_bytes.saturating_mul(2))
            .saturating_add(4096);
        let dumps = dumps_to_wit(dumps);
        let max_output_bytes = self.limits.max_output_bytes;
        let mut output_bytes = 0usize;
        let mut last_chunk_bytes = 0usize;
        let result = self.run(|store, parser| {
            let metrics = parser.iptables_exporter_parser_metrics();
            let renderer = metrics.renderer().call_constructor(&mut *store, &dumps)?;
            // The guest holds its own copy now.
            drop(dumps);
            let results = metrics.renderer().call_results(&mut *store, renderer)?;
            loop {
                let chunk =
                    metrics
                        .renderer()
                        .call_next_chunk(&mut *store, renderer, chunk_bytes)?;
                if chunk.is_empty() {
                    break;
                }
                output_bytes = output_bytes.saturating_add(chunk.len());
                last_chunk_bytes = chunk.len();
                if output_bytes > max_output_bytes || chunk.len() > max_chunk_bytes {
                    return Err(wasmtime::Error::msg("output limit"));
                }
                sink(chunk);
            }
            renderer.resource_drop(&mut *store)?;
            Ok(results_from_wit(results))
        });
        match result {
            Err(Error::Trap(_)) if output_bytes > max_output_bytes => {
                Err(Error::OutputTooLarge(max_output_bytes))
            }
            Err(Error::Trap(_)) if last_chunk_bytes > max_chunk_bytes => {
                Err(Error::OversizedChunk(last_chunk_bytes))
            }
            other => other,
        }
    }

    /// Runs `call` against a fresh instance in a fresh store with this
    /// sandbox's limits, logs what the guest wrote, and names the cause of a
    /// failure.
    fn run<R>(
        &self,
        call: impl FnOnce(&mut Store<GuestState>, &bindings::Parser) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        let stdout = MemoryOutputPipe::new(GUEST_OUTPUT_BYTES);
        let stderr = MemoryOutputPipe::new(GUEST_OUTPUT_BYTES);
        let ctx = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .build();
        let limit_hit = Arc::new(AtomicBool::new(false));
        let state = GuestState {
            ctx,
            table: ResourceTable::new(),
            limiter: MemoryCap {
                max_bytes: self.limits.max_memory_bytes,
                hit: limit_hit.clone(),
            },
        };
        let _slot = self.slots.acquire();
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(deadline_ticks(self.limits.deadline));
        store.epoch_deadline_trap();

        let result = self
            .pre
            .instantiate(&mut store)
            .and_then(|parser| call(&mut store, &parser));
        log_guest_output("stdout", &stdout);
        log_guest_output("stderr", &stderr);
        match result {
            Ok(value) => Ok(value),
            Err(_) if limit_hit.load(Ordering::Relaxed) => {
                Err(Error::MemoryLimit(self.limits.max_memory_bytes))
            }
            Err(err) if err.downcast_ref::<Trap>() == Some(&Trap::Interrupt) => {
                Err(Error::Deadline(self.limits.deadline))
            }
            Err(err) => Err(Error::Trap(err)),
        }
    }
}

fn dumps_to_wit(dumps: Vec<Dump>) -> Vec<metrics::Dump> {
    dumps
        .into_iter()
        .map(|d| metrics::Dump {
            family: family_to_wit(d.family),
            save_output: d.save_output,
        })
        .collect()
}

fn results_from_wit(
    results: Vec<Result<Stats, metrics::ParseError>>,
) -> Vec<Result<Stats, ParseFailure>> {
    results
        .into_iter()
        .map(|r| {
            r.map_err(|e| ParseFailure {
                line: e.line,
                message: e.message,
            })
        })
        .collect()
}

fn family_to_wit(family: Family) -> metrics::Family {
    match family {
        Family::Ipv4 => metrics::Family::Ipv4,
        Family::Ipv6 => metrics::Family::Ipv6,
    }
}

fn deadline_ticks(deadline: Duration) -> u64 {
    let ticks = deadline.as_nanos().div_ceil(EPOCH_TICK.as_nanos()).max(1);
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

/// Ticks the engine's epoch until the engine is dropped. A thread of its own
/// rather than a runtime task, so that a busy async runtime cannot delay it.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map(drop)
        .unwrap_or_else(|err| tracing::error!(%err, "cannot start the epoch ticker; guest deadlines will not fire"));
}

fn log_guest_output(stream: &'static str, pipe: &MemoryOutputPipe) {
    let content = pipe.contents();
    if !content.is_empty() {
        tracing::warn!(stream, output = %String::from_utf8_lossy(&content).trim_end(), "parser component wrote output");
    }
}

/// A counting semaphore for blocking threads: at most `POOL_SLOTS` stores.
struct Slots {
    free: Mutex<u32>,
    freed: Condvar,
}

impl Slots {
    fn new(count: u32) -> Self {
        Self {
            free: Mutex::new(count),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self) -> SlotGuard<'_> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        SlotGuard(self)
    }
}

struct SlotGuard<'a>(&'a Slots);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.freed.notify_one();
    }
}

struct GuestState {
    ctx: WasiCtx,
    table: ResourceTable,
    limiter: MemoryCap,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// Refuses memory growth past the cap, and remembers that it did so that
/// the resulting trap is reported as what it is.
struct MemoryCap {
    max_bytes: usize,
    hit: Arc<AtomicBool>,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.hit.store(true, Ordering::Relaxed);
            return Err(wasmtime::format_err!(
                "memory limit of {} bytes reached",
                self.max_bytes
            ));
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

/// Function tables of a parser need a few hundred entries at most.
const MAX_TABLE_ELEMENTS: usize = 100_000;

struct StdioOnly;

impl HasData for StdioOnly {
    type Data<'a> = &'a mut ResourceTable;
}

/// Links the interfaces a std guest imports, and nothing else.
fn link_stdio_only(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::p2::bindings::{cli, sync::io};
    let l = linker;
    io::error::add_to_linker::<GuestState, StdioOnly>(l, |s| &mut s.table)?;
    io::poll::add_to_linker::<GuestState, StdioOnly>(l, |s| &mut s.table)?;
    io::streams::add_to_linker::<GuestState, StdioOnly>(l, |s| &mut s.table)?;
    cli::exit::add_to_linker::<GuestState, WasiCli>(l, GuestState::cli)?;
    cli::environment::add_to_linker::<GuestState, WasiCli>(l, GuestState::cli)?;
    cli::stdin::add_to_linker::<GuestState, WasiCli>(l, GuestState::cli)?;
    cli::stdout::add_to_linker::<GuestState, WasiCli>(l, GuestState::cli)?;
    cli::stderr::add_to_linker::<GuestState, WasiCli>(l, GuestState::cli)?;
    cli::terminal_input::add_to_linker::<GuestState, WasiCli>(l, GuestState::cli)?;
    cli::terminal_output::add_to_linker::<GuestState, WasiCli>(l, GuestState::cli)?;
    cli::terminal_stdin::add_to_linker::<GuestState, WasiCli>(l, GuestState::cli)?;
    cli::terminal_stdout::add_to_linker::<GuestState, WasiCli>(l, GuestState::cli)?;
    cli::terminal_stderr::add_to_linker::<GuestState, WasiCli>(l, GuestState::cli)?;
    Ok(())
}
