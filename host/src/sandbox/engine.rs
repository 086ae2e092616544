//! The engine the component runs in, and what bounds each run: a pool
//! of instance slots, the epoch ticker that enforces the CPU deadline, the
//! memory cap, and a fresh store per instance.

use super::wit::Parser;
use super::{Error, Limits, Sandbox};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store,
    Trap,
};

/// How often the epoch ticks; the CPU deadline is rounded up to it.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Instances that can exist at once; a collection takes one per family and
/// waits until they are free. Collections are single-flight, so more than
/// one at a time is rare.
///
/// Each slot reserves address space for its linear memory: 4 GiB plus a
/// guard, never touched unless the guest grows into it (up to
/// `--sandbox.max-memory`), so that compiled guest code needs no bounds
/// checks (with a reservation of only the memory limit, a 100k-rule render
/// took 40 % longer). That reservation is most of the exporter's virtual
/// size (`process_virtual_memory_bytes`, about 19 GB), none of it resident.
pub(super) const POOL_SLOTS: u32 = 4;

/// The parser component's core modules define one linear memory.
const MEMORIES_PER_INSTANCE: u32 = 1;

/// What the guest may hand back in one call besides its text (results,
/// table names), and the least wasmtime's default allows.
pub(super) const HOSTCALL_SLACK_BYTES: usize = 1 << 20;

pub(super) const MIN_HOSTCALL_BYTES: usize = 128 << 20;

/// An instance of the component in its store.
pub(super) struct Instance {
    guest: Guest,
    parser: Parser,
}

impl Instance {
    /// Calls into the instance with the time left until the deadline.
    pub(super) fn call<R>(
        &mut self,
        call: impl FnOnce(&mut Store<GuestState>, &Parser) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        let parser = &self.parser;
        self.guest.run(|store| call(store, parser))
    }
}

/// A store of its own for one instance, and what it takes to name the
/// cause of a failure.
struct Guest {
    store: Store<GuestState>,
    limit_hit: Arc<AtomicBool>,
    deadline: Deadline,
    limits: Limits,
}

impl Guest {
    /// Runs `call` in the store with the time left until the deadline.
    fn run<R>(
        &mut self,
        call: impl FnOnce(&mut Store<GuestState>) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        let Some(ticks) = self.deadline.ticks_left() else {
            return Err(Error::Deadline(self.limits.deadline));
        };
        self.store.set_epoch_deadline(ticks);
        call(&mut self.store).map_err(|err| self.cause(err))
    }

    /// Names what made a call fail.
    fn cause(&self, err: wasmtime::Error) -> Error {
        if self.limit_hit.load(Ordering::Relaxed) {
            Error::MemoryLimit(self.limits.max_memory_bytes)
        } else if err.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            Error::Deadline(self.limits.deadline)
        } else {
            Error::Trap(err)
        }
    }
}

/// A point in time the guest must be done by.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadline {
    at: Instant,
}

impl Deadline {
    pub(super) fn after(budget: Duration) -> Self {
        let now = Instant::now();
        // Flags bound the budget to a day, so this cannot overflow; if it
        // did, the deadline would be now rather than never.
        Self {
            at: now.checked_add(budget).unwrap_or(now),
        }
    }

    /// Epoch ticks left until the deadline, at least one; `None` once it
    /// has passed.
    fn ticks_left(&self) -> Option<u64> {
        let left = self.at.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        let ticks = left.as_nanos().div_ceil(EPOCH_TICK.as_nanos()).max(1);
        Some(u64::try_from(ticks).unwrap_or(u64::MAX))
    }
}

/// Ticks the engine's epoch until the engine is dropped. A thread of its own
/// rather than a runtime task, so that a busy async runtime cannot delay it.
pub(super) fn spawn_epoch_ticker(engine: &Engine) -> std::io::Result<()> {
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
}

/// A counting semaphore for blocking threads: at most `POOL_SLOTS` stores.
pub(super) struct Slots {
    free: Mutex<u32>,
    freed: Condvar,
    total: u32,
}

impl Slots {
    pub(super) fn new(total: u32) -> Self {
        Self {
            free: Mutex::new(total),
            freed: Condvar::new(),
            total,
        }
    }

    /// Takes `count` slots at once (a collection's families all at once, so
    /// that two collections can never each hold some and wait for more).
    pub(super) fn acquire(&self, count: usize) -> SlotGuard<'_> {
        let count = u32::try_from(count).unwrap_or(u32::MAX).min(self.total);
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free < count {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= count;
        SlotGuard { slots: self, count }
    }
}

pub(super) struct SlotGuard<'a> {
    slots: &'a Slots,
    count: u32,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *self
            .slots
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner) += self.count;
        self.slots.freed.notify_all();
    }
}

/// What a store holds for its instance: only the memory cap (the guest
/// is given nothing else).
pub(super) struct GuestState {
    limiter: MemoryCap,
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

/// The engine: epoch interruption for the deadline, instances from a pool
/// (see `POOL_SLOTS`).
pub(super) fn engine(limits: &Limits) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    // Each render gets a fresh instance from a pool of slots: cheaper than
    // mapping new memory every time, and the instance is as fresh (zeroed)
    // as ever.
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(POOL_SLOTS)
        .total_core_instances(POOL_SLOTS * 4)
        .total_memories(POOL_SLOTS * MEMORIES_PER_INSTANCE)
        .total_tables(POOL_SLOTS * 4)
        .max_memory_size(limits.max_memory_bytes)
        // Every page a render touched is given back when its instance
        // goes (madvise), so that memory at rest is the exporter's own:
        // with the parser's structures kept small, faulting them in again
        // costs a 100k-rule scrape no measurable time (benches/README.md,
        // issue 20).
        .linear_memory_keep_resident(0);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
}

impl Sandbox {
    /// A fresh instance in a fresh store with this sandbox's limits.
    pub(super) fn instantiate(
        &self,
        deadline: Deadline,
        hostcall_bytes: usize,
    ) -> Result<Instance, Error> {
        let limit_hit = Arc::new(AtomicBool::new(false));
        let state = GuestState {
            limiter: MemoryCap {
                max_bytes: self.limits.max_memory_bytes,
                hit: limit_hit.clone(),
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_trap();
        store.set_hostcall_fuel(hostcall_bytes.max(MIN_HOSTCALL_BYTES));
        let mut guest = Guest {
            store,
            limit_hit,
            deadline,
            limits: self.limits,
        };
        let parser = guest.run(|store| self.pre.instantiate(store))?;
        Ok(Instance { guest, parser })
    }
}
