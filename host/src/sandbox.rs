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

use bytes::Bytes;
use exposition::{Family, Format, RulesetMetric};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store,
    Trap,
};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "parser",
        // A dump lends its bytes to the call: the host keeps the last
        // collection's save output and hands it to every answer without
        // copying it first.
        ownership: Borrowing {
            duplicate_if_necessary: false
        },
    });
}

use bindings::exports::iptables_exporter::parser::metrics;

/// The parser component compiled into the binary by `build.rs`.
pub const EMBEDDED_COMPONENT: &[u8] = include_bytes!(env!("PARSER_COMPONENT_PATH"));

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
const POOL_SLOTS: u32 = 4;
/// The parser component's core modules define one linear memory.
const MEMORIES_PER_INSTANCE: u32 = 1;
/// What the guest may hand back in one call besides its text (results,
/// table names), and the least wasmtime's default allows.
const HOSTCALL_SLACK_BYTES: usize = 1 << 20;
const MIN_HOSTCALL_BYTES: usize = 128 << 20;
/// The longest line a byte of input can become: a byte that is not UTF-8
/// is replaced by U+FFFD (3 bytes); escaping makes `"` and `\` 2 bytes.
const OUTPUT_PER_INPUT_BYTE: usize = 3;
/// A sample line's text that does not come from the input (metric name,
/// label names, value), and the metric's `# HELP`/`# TYPE` lines.
const LINE_OVERHEAD_BYTES: usize = 4096;

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

/// Which series the component keeps (the cardinality controls); the
/// default keeps everything. The host passes these through and never
/// matches them against rule text itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub tables: Filter,
    pub chains: Filter,
    pub rules: RuleSelection,
    pub rule_text: Filter,
    pub comment: Filter,
    pub comment_label: bool,
    pub max_rule_series: Option<u32>,
}

impl Selection {
    /// Every series.
    pub const ALL: Selection = Selection {
        tables: Filter::NONE,
        chains: Filter::NONE,
        rules: RuleSelection::All,
        rule_text: Filter::NONE,
        comment: Filter::NONE,
        comment_label: false,
        max_rule_series: None,
    };
}

impl Default for Selection {
    fn default() -> Self {
        Self::ALL
    }
}

/// Regular expressions: keep what `include` matches, less what `exclude`
/// matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub include: Option<String>,
    pub exclude: Option<String>,
}

impl Filter {
    /// Keeps everything.
    pub const NONE: Filter = Filter {
        include: None,
        exclude: None,
    };
}

impl Default for Filter {
    fn default() -> Self {
        Self::NONE
    }
}

/// Which rules become series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RuleSelection {
    /// Every rule.
    #[default]
    All,
    /// Only rules with a `--comment`.
    Commented,
    /// None: chain policies and `iptables_rules` only.
    None,
}

/// One pattern of the selection, as the component names it when it
/// cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionPattern {
    TablesInclude,
    TablesExclude,
    ChainsInclude,
    ChainsExclude,
    RuleTextInclude,
    RuleTextExclude,
    CommentInclude,
    CommentExclude,
}

impl SelectionPattern {
    pub const ALL: [SelectionPattern; 8] = [
        SelectionPattern::TablesInclude,
        SelectionPattern::TablesExclude,
        SelectionPattern::ChainsInclude,
        SelectionPattern::ChainsExclude,
        SelectionPattern::RuleTextInclude,
        SelectionPattern::RuleTextExclude,
        SelectionPattern::CommentInclude,
        SelectionPattern::CommentExclude,
    ];

    /// The WIT field it is: `chains.include`.
    pub fn name(self) -> &'static str {
        match self {
            SelectionPattern::TablesInclude => "tables.include",
            SelectionPattern::TablesExclude => "tables.exclude",
            SelectionPattern::ChainsInclude => "chains.include",
            SelectionPattern::ChainsExclude => "chains.exclude",
            SelectionPattern::RuleTextInclude => "rule-text.include",
            SelectionPattern::RuleTextExclude => "rule-text.exclude",
            SelectionPattern::CommentInclude => "comment.include",
            SelectionPattern::CommentExclude => "comment.exclude",
        }
    }
}

/// How a rendering is asked for: its format and the series kept.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub format: Format,
    pub selection: &'a Selection,
}

impl Options<'static> {
    /// Text format, every series.
    pub const TEXT: Options<'static> = Options {
        format: Format::Text,
        selection: &Selection::ALL,
    };
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
    pre: bindings::ParserPre<GuestState>,
    limits: Limits,
    slots: Slots,
}

impl Sandbox {
    /// Compiles `component`, resolves its imports and starts the epoch
    /// ticker; done once at start-up.
    pub fn new(component: &[u8], limits: Limits) -> Result<Self, Error> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        // Each render gets a fresh instance from a pool whose slots keep
        // their memory mapped: cheaper than mapping and faulting in new
        // memory every time, and the instance is as fresh (zeroed) as ever.
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(POOL_SLOTS)
            .total_core_instances(POOL_SLOTS * 4)
            .total_memories(POOL_SLOTS * MEMORIES_PER_INSTANCE)
            .total_tables(POOL_SLOTS * 4)
            .max_memory_size(limits.max_memory_bytes)
            // Every page a render touched is given back when its
            // instance goes (madvise), so that memory at rest is the
            // exporter's own: with the parser's structures kept small,
            // faulting them in again costs a 100k-rule scrape no
            // measurable time (benches/README.md, issue 20).
            .linear_memory_keep_resident(0);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(Error::Load)?;
        let component = Component::new(&engine, component).map_err(Error::Load)?;
        // Nothing is linked: a component that imports anything is refused.
        let linker = Linker::new(&engine);
        let pre = linker.instantiate_pre(&component).map_err(Error::Load)?;
        let pre = bindings::ParserPre::new(pre).map_err(Error::Load)?;
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

    /// Renders `dumps` in one call of one fresh instance (the component's
    /// `render`). Blocking: call it off the async runtime's worker threads.
    pub fn render(&self, dumps: Vec<Dump>, options: Options<'_>) -> Result<Rendering, Error> {
        let dumps: Vec<metrics::Dump<'_>> = dumps.iter().map(dump_to_wit).collect();
        let _slot = self.slots.acquire(1);
        let deadline = Deadline::after(self.limits.deadline);
        let fuel = self
            .limits
            .max_exposition_bytes
            .saturating_add(HOSTCALL_SLACK_BYTES);
        let mut instance = self.instantiate(deadline, fuel)?;
        let rendering = instance.call(|store, parser| {
            parser
                .metrics()
                .call_render(store, &dumps, options_to_wit(&options))
        })?;
        if rendering.exposition.len() > self.limits.max_exposition_bytes {
            return Err(Error::OutputTooLarge(self.limits.max_exposition_bytes));
        }
        Ok(Rendering {
            exposition: rendering.exposition,
            results: rendering
                .results
                .into_iter()
                .map(|r| r.map_err(failure_from_wit))
                .collect(),
        })
    }

    /// Renders `dumps` (each family at most once), handing the exposition
    /// to `sink` in pieces of at least `chunk_bytes` (whole lines), in
    /// order, as they are made. Returns how each family fared, or
    /// [`Aborted`] when a family failed after pieces of it were handed out.
    /// Blocking, like [`Sandbox::render`].
    pub fn render_families(
        &self,
        dumps: Vec<Dump>,
        options: Options<'_>,
        chunk_bytes: u32,
        mut sink: impl FnMut(String),
    ) -> Result<Vec<FamilyReport>, Aborted> {
        let _slots = self.slots.acquire(dumps.len());
        let deadline = Deadline::after(self.limits.deadline);
        std::thread::scope(|scope| {
            let mut families: Vec<FamilyStream> = dumps
                .into_iter()
                .map(|dump| {
                    let family = dump.family;
                    let (events, receiver) = mpsc::channel();
                    let producer =
                        move || self.produce(dump, options, chunk_bytes, deadline, &events);
                    // Should the thread not start, its sender is gone and
                    // the family reads as failed.
                    let _ = std::thread::Builder::new()
                        .name(format!("render-{family}"))
                        .spawn_scoped(scope, producer);
                    FamilyStream::new(family, receiver)
                })
                .collect();
            for metric in RulesetMetric::ALL {
                let mut header_written = false;
                for family in &mut families {
                    while let Some(piece) = family.next_piece(metric)? {
                        if !header_written {
                            let mut header = String::new();
                            exposition::write_header(&mut header, metric.metric(), options.format);
                            sink(header);
                            header_written = true;
                        }
                        sink(piece);
                    }
                }
            }
            Ok(families.into_iter().map(FamilyStream::report).collect())
        })
    }

    /// Parses and renders one family in an instance of its own, sending
    /// what happens to `events`; stops when the receiver is gone.
    fn produce(
        &self,
        dump: Dump,
        options: Options<'_>,
        chunk_bytes: u32,
        deadline: Deadline,
        events: &mpsc::Sender<Event>,
    ) {
        let started = Instant::now();
        // No honest piece is longer than asked plus one line, and no line is
        // longer than its input could make it (twice, when the comment,
        // a part of the rule, is a label of its own).
        let copies = if options.selection.comment_label {
            2
        } else {
            1
        };
        let max_piece_bytes = (chunk_bytes as usize)
            .saturating_add(
                dump.save_output
                    .len()
                    .saturating_mul(OUTPUT_PER_INPUT_BYTE * copies),
            )
            .saturating_add(LINE_OVERHEAD_BYTES);
        let rendered = self.produce_pieces(
            dump,
            options,
            chunk_bytes,
            deadline,
            max_piece_bytes,
            events,
        );
        let _ = events.send(Event::End {
            failure: rendered.err(),
            guest_time: started.elapsed(),
        });
    }

    fn produce_pieces(
        &self,
        dump: Dump,
        options: Options<'_>,
        chunk_bytes: u32,
        deadline: Deadline,
        max_piece_bytes: usize,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), Error> {
        let fuel = max_piece_bytes.saturating_add(HOSTCALL_SLACK_BYTES);
        let mut instance = self.instantiate(deadline, fuel)?;
        // The bytes are copied once, straight into the guest's memory.
        let renderer = instance.call(|store, parser| {
            let dump = dump_to_wit(&dump);
            parser
                .metrics()
                .renderer()
                .call_constructor(store, dump, options_to_wit(&options))
        })?;
        // The guest holds its own copy now.
        drop(dump);
        let outcome = instance
            .call(|store, parser| parser.metrics().renderer().call_outcome(store, renderer))?;
        let parsed = outcome.is_ok();
        if events.send(Event::Parsed(outcome)).is_err() || !parsed {
            return Ok(());
        }
        let mut output_bytes = 0usize;
        for metric in RulesetMetric::ALL {
            loop {
                let piece = instance.call(|store, parser| {
                    parser.metrics().renderer().call_next_chunk(
                        store,
                        renderer,
                        metric_to_wit(metric),
                        chunk_bytes,
                    )
                })?;
                if piece.is_empty() {
                    break;
                }
                output_bytes = output_bytes.saturating_add(piece.len());
                if piece.len() > max_piece_bytes {
                    return Err(Error::OversizedChunk(piece.len()));
                }
                if output_bytes > self.limits.max_exposition_bytes {
                    return Err(Error::OutputTooLarge(self.limits.max_exposition_bytes));
                }
                if events.send(Event::Piece(metric, piece)).is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// A fresh instance in a fresh store with this sandbox's limits.
    fn instantiate(&self, deadline: Deadline, hostcall_bytes: usize) -> Result<Instance, Error> {
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

/// What a family's thread reports, in this order: `Parsed`, then each
/// metric's pieces in metric order, then `End`.
enum Event {
    Parsed(Result<Stats, metrics::ParseError>),
    Piece(RulesetMetric, String),
    End {
        failure: Option<Error>,
        guest_time: Duration,
    },
}

/// One family of a streamed rendering, as its thread reports it.
struct FamilyStream {
    family: Family,
    events: mpsc::Receiver<Event>,
    /// A piece of a later metric than the one being handed out.
    ahead: Option<(RulesetMetric, String)>,
    outcome: Option<Result<Stats, Failure>>,
    /// Whether the thread is done (its `End` came, or it is gone).
    ended: bool,
    /// Whether any piece of this family has been handed out.
    handed_out: bool,
    guest_time: Duration,
}

impl FamilyStream {
    fn new(family: Family, events: mpsc::Receiver<Event>) -> Self {
        Self {
            family,
            events,
            ahead: None,
            outcome: None,
            ended: false,
            handed_out: false,
            guest_time: Duration::ZERO,
        }
    }

    /// The family's next piece of `metric`, waiting for its thread; `None`
    /// once it has no more (or it failed before handing any out).
    fn next_piece(&mut self, metric: RulesetMetric) -> Result<Option<String>, Aborted> {
        loop {
            if let Some((at, _)) = &self.ahead {
                if *at != metric {
                    return Ok(None);
                }
                let piece = self.ahead.take().map(|(_, piece)| piece);
                self.handed_out = true;
                return Ok(piece);
            }
            if self.ended {
                return Ok(None);
            }
            let event = self.events.recv().unwrap_or(Event::End {
                failure: Some(Error::Panicked),
                guest_time: Duration::ZERO,
            });
            match event {
                Event::Parsed(outcome) => {
                    self.outcome =
                        Some(outcome.map_err(|e| Failure::Rejected(failure_from_wit(e))));
                }
                Event::Piece(at, piece) => self.ahead = Some((at, piece)),
                Event::End {
                    failure,
                    guest_time,
                } => {
                    self.ended = true;
                    self.guest_time = guest_time;
                    if let Some(error) = failure {
                        if self.handed_out {
                            return Err(Aborted {
                                family: self.family,
                                error,
                            });
                        }
                        self.outcome = Some(Err(Failure::Sandbox(error)));
                    }
                }
            }
        }
    }

    /// How the family fared. Called once every metric has been asked for
    /// until the family had no more: for the last metric that happens only
    /// once its thread's `End` has come, so the outcome is final.
    fn report(self) -> FamilyReport {
        debug_assert!(self.ended, "reported before its thread ended");
        FamilyReport {
            family: self.family,
            outcome: self
                .outcome
                .unwrap_or(Err(Failure::Sandbox(Error::Panicked))),
            guest_time: self.guest_time,
        }
    }
}

/// An instance of the component in its store.
struct Instance {
    guest: Guest,
    parser: bindings::Parser,
}

impl Instance {
    /// Calls into the instance with the time left until the deadline.
    fn call<R>(
        &mut self,
        call: impl FnOnce(&mut Store<GuestState>, &bindings::Parser) -> wasmtime::Result<R>,
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
struct Deadline {
    at: Instant,
}

impl Deadline {
    fn after(budget: Duration) -> Self {
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

impl bindings::Parser {
    fn metrics(&self) -> &metrics::Guest {
        self.iptables_exporter_parser_metrics()
    }
}

fn dump_to_wit(dump: &Dump) -> metrics::Dump<'_> {
    metrics::Dump {
        family: match dump.family {
            Family::Ipv4 => metrics::Family::Ipv4,
            Family::Ipv6 => metrics::Family::Ipv6,
        },
        save_output: &dump.save_output,
        timestamp_ms: dump.timestamp_ms,
    }
}

fn options_to_wit<'a>(options: &Options<'a>) -> metrics::Options<'a> {
    let filter = |filter: &'a Filter| metrics::Filter {
        include: filter.include.as_deref(),
        exclude: filter.exclude.as_deref(),
    };
    let selection = options.selection;
    metrics::Options {
        format: match options.format {
            Format::Text => metrics::Format::Text,
            Format::OpenMetrics => metrics::Format::OpenMetrics,
        },
        tables: filter(&selection.tables),
        chains: filter(&selection.chains),
        rules: match selection.rules {
            RuleSelection::All => metrics::RuleSelection::All,
            RuleSelection::Commented => metrics::RuleSelection::Commented,
            RuleSelection::None => metrics::RuleSelection::None,
        },
        rule_text: filter(&selection.rule_text),
        comment: filter(&selection.comment),
        comment_label: selection.comment_label,
        max_rule_series: selection.max_rule_series,
    }
}

fn pattern_from_wit(name: metrics::OptionName) -> SelectionPattern {
    use metrics::OptionName as N;
    match name {
        N::TablesInclude => SelectionPattern::TablesInclude,
        N::TablesExclude => SelectionPattern::TablesExclude,
        N::ChainsInclude => SelectionPattern::ChainsInclude,
        N::ChainsExclude => SelectionPattern::ChainsExclude,
        N::RuleTextInclude => SelectionPattern::RuleTextInclude,
        N::RuleTextExclude => SelectionPattern::RuleTextExclude,
        N::CommentInclude => SelectionPattern::CommentInclude,
        N::CommentExclude => SelectionPattern::CommentExclude,
    }
}

fn metric_to_wit(metric: RulesetMetric) -> metrics::Metric {
    match metric {
        RulesetMetric::DefaultPackets => metrics::Metric::DefaultPackets,
        RulesetMetric::DefaultBytes => metrics::Metric::DefaultBytes,
        RulesetMetric::RulePackets => metrics::Metric::RulePackets,
        RulesetMetric::RuleBytes => metrics::Metric::RuleBytes,
        RulesetMetric::Rules => metrics::Metric::Rules,
    }
}

fn failure_from_wit(error: metrics::ParseError) -> ParseFailure {
    ParseFailure {
        line: error.line,
        message: error.message,
    }
}

/// Ticks the engine's epoch until the engine is dropped. A thread of its own
/// rather than a runtime task, so that a busy async runtime cannot delay it.
fn spawn_epoch_ticker(engine: &Engine) -> std::io::Result<()> {
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
struct Slots {
    free: Mutex<u32>,
    freed: Condvar,
    total: u32,
}

impl Slots {
    fn new(total: u32) -> Self {
        Self {
            free: Mutex::new(total),
            freed: Condvar::new(),
            total,
        }
    }

    /// Takes `count` slots at once (a collection's families all at once, so
    /// that two collections can never each hold some and wait for more).
    fn acquire(&self, count: usize) -> SlotGuard<'_> {
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

struct SlotGuard<'a> {
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
struct GuestState {
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
