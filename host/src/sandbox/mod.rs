//! The parser component in its sandbox: compiled once, then a fresh `Store`
//! and instance for every family of every collection, with a memory cap, a
//! CPU deadline and bounds on what it may hand back.
//!
//! The component gets no capabilities: its world imports nothing, and the
//! host links nothing (an empty `Linker`), so a component importing
//! anything at all — a WASI interface, any function — fails to load at
//! start-up. A guest panic aborts: the family fails with a trap.
//!
//! Each family is parsed and rendered in an instance of its own, on a
//! thread of its own, all families at once and all under one deadline, so
//! that a scrape takes about one `--sandbox.timeout` at worst and one
//! family's failure (its deadline, its memory, a trap, an oversized piece)
//! costs only that family. The pieces are handed out a metric at a time,
//! family after family, as the text format wants each metric's samples
//! together; a later family's pieces wait meanwhile. A failure after some
//! of a family's text has been handed out cannot be undone: the rendering
//! is aborted.

mod engine;
mod families;
mod ipset;
mod netlink;
mod nftables;
mod selection;
mod wit;

pub use ipset::{IpsetListing, IpsetReport, IpsetSettings, IpsetStats};
pub use netlink::{ChainId, RefreshFailure};
pub use nftables::{Listing, NftOptions, NftReport, NftStats, TableId};
pub use selection::{Filter, Options, RuleSelection, Selection, SelectionPattern};

use bytes::Bytes;
use engine::{
    Deadline, GuestState, HOSTCALL_SLACK_BYTES, MIN_HOSTCALL_BYTES, POOL_SLOTS, Slots,
    spawn_epoch_ticker,
};
use exposition::{Family, Format};
use std::time::Duration;
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};
use wit::{dump_to_wit, failure_from_wit, metrics, options_to_wit, pattern_from_wit};

/// Size of the pieces the component renders at a time: large enough that
/// the per-call cost vanishes, small enough to keep little text in flight,
/// and below the allocator's threshold for pages of their own
/// (`process::memory`), so that the host's copy of each piece reuses freed
/// heap memory instead of faulting in fresh pages (64 KiB: 183 ms a
/// 100k-rule scrape, 256 KiB: 209 ms; benches/README.md).
pub const PIECE_BYTES: u32 = 64 * 1024;

/// The parser component compiled into the binary by `build.rs`.
pub const EMBEDDED_COMPONENT: &[u8] = include_bytes!(env!("PARSER_COMPONENT_PATH"));

/// Bounds on one collection's rendering.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest size any one linear memory of the guest may grow to.
    pub max_memory_bytes: usize,
    /// Wall-clock time the guest may run, from the start of the rendering.
    pub deadline: Duration,
    /// Most exposition text the guest may return for one family.
    pub max_exposition_bytes: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("loading the parser component: {0:#}")]
    Load(wasmtime::Error),
    #[error("starting the epoch ticker that enforces the parser's deadline: {0}")]
    Ticker(std::io::Error),
    #[error("the parser component ran past its deadline of {0:?} (--sandbox.timeout)")]
    Deadline(Duration),
    #[error(
        "the parser component asked for more than its memory limit of {0} bytes (--sandbox.max-memory)"
    )]
    MemoryLimit(usize),
    #[error(
        "the parser component returned more than its output limit of {0} bytes (--sandbox.max-output)"
    )]
    OutputTooLarge(usize),
    #[error(
        "the parser component returned a piece of {0} bytes, more than its input could produce"
    )]
    OversizedChunk(usize),
    #[error("the parser component failed: {0:#}")]
    Trap(wasmtime::Error),
    #[error("option {}: {message}", pattern.name())]
    BadOption {
        pattern: SelectionPattern,
        message: String,
    },
    #[error("the thread running the parser component panicked")]
    Panicked,
}

/// One family's save output going into the component. The bytes are
/// shared, not copied: the component gets them straight from here.
pub struct Dump {
    pub family: Family,
    pub save_output: Bytes,
    /// When given, every sample of the family carries it (milliseconds
    /// since the Unix epoch): the time the counters were read.
    pub timestamp_ms: Option<i64>,
}

impl Dump {
    /// A dump rendered without timestamps.
    pub fn new(family: Family, save_output: impl Into<Bytes>) -> Self {
        Self {
            family,
            save_output: save_output.into(),
            timestamp_ms: None,
        }
    }
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

/// What the one-call render returns: the exposition of every family that
/// parsed and one result per dump, in the order given.
pub struct Rendering {
    pub exposition: String,
    pub results: Vec<Result<Stats, ParseFailure>>,
}

/// Why a family has no series.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Its save output is malformed.
    #[error(transparent)]
    Rejected(ParseFailure),
    /// The component failed on it before any of its text was handed out.
    #[error(transparent)]
    Sandbox(Error),
}

/// How a source rendered whole in one call (nft's listing, ipset's sets)
/// fared: its text and sizes, and the wall time of the call.
#[derive(Debug)]
pub struct WholeReport<S> {
    pub outcome: Result<(String, S), Failure>,
    /// Wall time of the call into the component.
    pub guest_time: Duration,
}

impl<S> WholeReport<S> {
    /// `render`'s outcome, timed.
    fn timed(render: impl FnOnce() -> Result<(String, S), Failure>) -> Self {
        let started = std::time::Instant::now();
        let outcome = render();
        Self {
            outcome,
            guest_time: started.elapsed(),
        }
    }
}

/// How one family fared in a streamed rendering.
#[derive(Debug)]
pub struct FamilyReport {
    pub family: Family,
    pub outcome: Result<Stats, Failure>,
    /// Wall time of this family's calls into the component.
    pub guest_time: Duration,
}

/// A family failed after some of its text had been handed out: the text
/// handed out is incomplete and must not be presented as a whole.
#[derive(Debug, thiserror::Error)]
#[error("{family}: {error}")]
pub struct Aborted {
    pub family: Family,
    pub error: Error,
}

pub struct Sandbox {
    engine: Engine,
    pre: wit::ParserPre<GuestState>,
    limits: Limits,
    slots: Slots,
}

impl Sandbox {
    /// Compiles `component`, resolves its imports and starts the epoch
    /// ticker; done once at start-up.
    pub fn new(component: &[u8], limits: Limits) -> Result<Self, Error> {
        let engine = engine::engine(&limits).map_err(Error::Load)?;
        let component = Component::new(&engine, component).map_err(Error::Load)?;
        // Nothing is linked: a component that imports anything is refused.
        let linker = Linker::new(&engine);
        let pre = linker.instantiate_pre(&component).map_err(Error::Load)?;
        let pre = wit::ParserPre::new(pre).map_err(Error::Load)?;
        // Without the ticker the deadline would never fire: no ticker, no
        // sandbox.
        spawn_epoch_ticker(&engine).map_err(Error::Ticker)?;
        Ok(Self {
            engine,
            pre,
            limits,
            slots: Slots::new(POOL_SLOTS),
        })
    }

    /// Whether the component takes `selection`: an error names the option
    /// and the problem (a regular expression that does not compile).
    pub fn check_selection(&self, selection: &Selection) -> Result<(), Error> {
        let _slot = self.slots.acquire(1);
        let mut instance =
            self.instantiate(Deadline::after(self.limits.deadline), MIN_HOSTCALL_BYTES)?;
        let options = Options {
            format: Format::Text,
            selection,
        };
        instance
            .call(|store, parser| {
                parser
                    .metrics()
                    .call_check_options(store, options_to_wit(&options))
            })?
            .map_err(|err| Error::BadOption {
                pattern: pattern_from_wit(err.name),
                message: err.message,
            })
    }

    /// A pool slot and a fresh instance for one call that returns a whole
    /// exposition at once, under one deadline, allowed the whole output
    /// limit (the one-call `render`, the nft listing).
    fn whole_output_instance(&self) -> Result<(engine::SlotGuard<'_>, engine::Instance), Error> {
        let slot = self.slots.acquire(1);
        let deadline = Deadline::after(self.limits.deadline);
        let fuel = self
            .limits
            .max_exposition_bytes
            .saturating_add(HOSTCALL_SLACK_BYTES);
        Ok((slot, self.instantiate(deadline, fuel)?))
    }

    /// Whether an exposition returned whole is within the output limit.
    fn check_output(&self, exposition: &str) -> Result<(), Error> {
        if exposition.len() > self.limits.max_exposition_bytes {
            return Err(Error::OutputTooLarge(self.limits.max_exposition_bytes));
        }
        Ok(())
    }

    /// Renders `dumps` in one call of one fresh instance (the component's
    /// `render`). Blocking: call it off the async runtime's worker threads.
    pub fn render(&self, dumps: Vec<Dump>, options: Options<'_>) -> Result<Rendering, Error> {
        let dumps: Vec<metrics::Dump<'_>> = dumps.iter().map(dump_to_wit).collect();
        let (_slot, mut instance) = self.whole_output_instance()?;
        let rendering = instance.call(|store, parser| {
            parser
                .metrics()
                .call_render(store, &dumps, options_to_wit(&options))
        })?;
        self.check_output(&rendering.exposition)?;
        Ok(Rendering {
            exposition: rendering.exposition,
            results: rendering
                .results
                .into_iter()
                .map(|r| r.map_err(failure_from_wit))
                .collect(),
        })
    }
}
