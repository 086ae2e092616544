//! Collections and answers.
//!
//! A *collection* runs every family's save command and keeps what they
//! printed; it is scrape-driven and single-flight: a scrape starts one only
//! when none is running and the last one finished at least
//! `--iptables.min-interval` ago, and every scrape in between waits for the
//! running one or is answered from the last.
//!
//! An *answer* renders a collection in the sandbox (an instance per family)
//! into a shared [`Output`], then adds each family's scrape series. Scrapes
//! that want the same collection rendered the same way share one answer
//! while it can still be joined (see `flight`), and those of them that want
//! gzip share one compressed stream of it (see `gzip`).
//!
//! Timestamps. A scrape waits for the collection at most until its deadline
//! (the scraper's timeout less `--web.timeout-offset` and less the time the
//! last answer took to render); past it, or at once
//! when the last collection took longer than the time left, it is answered
//! from the last collection, and the running one goes on to answer later
//! scrapes. Counters read before a scrape began carry, on every
//! ruleset sample, the time they were read (the save command's start),
//! so that the scraper files them under that time and not its own: rates
//! stay exact however late they are served. Counters read during the scrape
//! (it started the collection) are served without timestamps, as scrape-time
//! data always was, unless a scrape that came later waited for the same
//! collection: then all its waiters get it stamped, so that they share one
//! rendering. Stamping by that rule keeps each scraper's samples in
//! time order: a sample served unstamped is filed at the scrape's start,
//! which is before the read, and any later answer of the same counters is
//! stamped with the read time itself. Counters read longer ago than
//! `--iptables.max-age` are never served.
//!
//! A failure is a value, not an HTTP error: the family reports success 0, its
//! cause is logged, and none of its series are exported. A family that fails
//! before any of its text is out costs only itself; a failure of the
//! component after some of a family's text was handed out (a deadline hit
//! in the middle of rendering, say) aborts the output, and with it the
//! responses reading it, rather than let them end as if complete.

use crate::command::SaveCommand;
use crate::flight::{AbortOnDrop, Held, Output, Reader};
use crate::gzip::{GzipReader, SharedDeflate};
use crate::sandbox::{self, Failure, Sandbox, Selection};
use bytes::Bytes;
use exposition::{Family, Format, Kind, Metric, MetricWriter};
use flate2::Compression;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

const SCRAPE_SUCCESS: Metric = Metric {
    name: "iptables_scrape_success",
    help: "1 if the family's save command ran and its output parsed, else 0.",
    kind: Kind::Gauge,
};
const SCRAPE_DURATION: Metric = Metric {
    name: "iptables_scrape_duration_seconds",
    help: "Wall time of running the family's save command and parsing its output.",
    kind: Kind::Gauge,
};
const INCOMPATIBLE_TABLES: Metric = Metric {
    name: "iptables_incompatible_tables",
    help: "Tables iptables-nft-save could not show, or not in full, because they hold rules or base chains made with nft; what it left out has no series.",
    kind: Kind::Gauge,
};
const RULE_SERIES_DROPPED: Metric = Metric {
    name: "iptables_rule_series_dropped",
    help: "Distinct rules left without series by --iptables.max-rule-series in this answer.",
    kind: Kind::Gauge,
};
const COLLECTED_AT: Metric = Metric {
    name: "iptables_collection_timestamp_seconds",
    help: "Unix time at which the family's counters in this answer were read (its save command started).",
    kind: Kind::Gauge,
};

/// gzip level for clients that accept it (see benches/README.md for the
/// numbers).
pub const GZIP_LEVEL: u32 = 1;

/// Size of the pieces the component renders at a time: large enough that
/// the per-call cost vanishes, small enough to keep little text in flight,
/// and below the allocator's threshold for pages of their own (`main.rs`),
/// so that the host's copy of each piece reuses freed heap memory instead
/// of faulting in fresh pages (64 KiB: 183 ms a 100k-rule scrape, 256 KiB:
/// 209 ms; benches/README.md).
pub const CHUNK_BYTES: u32 = 64 * 1024;

/// Most answer text (and gzip streams) held for clients that read slowly,
/// beyond the newest answer; past it, the clients furthest behind are cut
/// off, oldest answers first (see `flight`). A 100k-rule answer is 54 MB
/// of text, 8 MB compressed: this holds two such answers for slow readers,
/// and keeps 40 stalled clients under the DaemonSet's 512 MiB limit.
pub const HELD_FOR_SLOW_READERS: usize = 128 << 20;

/// The start of every answer kept while no reader has gone past it, so
/// that a scrape wanting the same answer joins it and shares its rendering
/// (see `flight`): far more than a client that stops reading takes into
/// its socket buffers.
pub const JOINABLE_PREFIX: usize = 4 << 20;

/// How fresh answers must be.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// A scrape this soon after the last collection finished is answered
    /// from it and starts none.
    pub min_interval: Duration,
    /// Counters read longer ago are never served.
    pub max_age: Duration,
}

/// How answers are made.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Size of the pieces the component renders at a time.
    pub chunk_bytes: u32,
    pub freshness: Freshness,
    pub gzip_level: Compression,
    /// Which series the component keeps.
    pub selection: Selection,
}

pub struct Collector {
    families: Vec<(Family, SaveCommand)>,
    sandbox: Arc<Sandbox>,
    settings: Settings,
    state: Mutex<State>,
    /// What every answer's outputs hold, and its limit.
    held: Arc<Held>,
}

#[derive(Default)]
struct State {
    /// The collection running now.
    running: Option<Running>,
    /// The last collection that finished.
    last: Option<Arc<Collection>>,
    /// Answers that can still be joined, which scrapes wanting the same
    /// one join: being rendered, or held whole for a reader (see `flight`).
    answers: Vec<Answer>,
    /// Whether a collection has finished since start-up (it is logged).
    finished_one: bool,
    /// How long the last answer took to render.
    last_render: Duration,
}

#[derive(Clone)]
struct Running {
    started: Instant,
    /// Set to the collection once it finishes.
    done: watch::Receiver<Option<Arc<Collection>>>,
    /// Whether a scrape that arrived after it started waits for it.
    joined_late: bool,
}

/// An answer as the state knows it: kept alive by its rendering and its
/// readers only, so that what no one reads any more is freed.
struct Answer {
    /// Weak too: the save output it holds (17 MB at 100k rules) must go
    /// with the collection, not stay as long as a stalled client keeps the
    /// answer joinable.
    collection: Weak<Collection>,
    stamped: bool,
    format: Format,
    output: Weak<Output>,
    /// The text compressed once for every response that wants gzip,
    /// started by the first of them.
    deflated: Option<Weak<SharedDeflate>>,
}

/// What a request gets its collection from.
enum Joined {
    /// The last one, recent enough.
    Fresh(Arc<Collection>),
    /// The one running (maybe just started), to wait for.
    Running(Running),
}

/// What a response reads its answer from.
pub enum AnswerReader {
    Plain(Reader),
    Gzip(GzipReader),
}

/// One run of every family's save command.
pub struct Collection {
    /// When it was started, on the monotonic clock (its commands start
    /// after that).
    started: Instant,
    /// When it finished, on the monotonic clock.
    finished: Instant,
    families: Vec<Saved>,
    /// Whether a scrape that arrived after it started waited for it: then
    /// every answer of it is stamped (see `Collector::answer`).
    joined_late: bool,
}

/// What one family's save command gave.
struct Saved {
    family: Family,
    /// What it printed; `None` if it failed (logged when it did).
    output: Option<Bytes>,
    /// When it started: on the wall clock, the samples' timestamp, and on
    /// the monotonic clock, for their age.
    read_at: SystemTime,
    started: Instant,
    command_time: Duration,
}

/// How one family fared in an answer.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    family: Family,
    success: bool,
    duration: Duration,
    /// Incompatible tables, for a family that parsed.
    incompatible_tables: Option<usize>,
    /// Rules dropped by the limit, for a family that parsed.
    rule_series_dropped: Option<u32>,
    /// When its counters were read (its save command started).
    read_at: SystemTime,
}

impl Collector {
    pub fn new(
        families: Vec<(Family, SaveCommand)>,
        sandbox: Arc<Sandbox>,
        settings: Settings,
    ) -> Self {
        Self {
            families,
            sandbox,
            settings,
            state: Mutex::default(),
            held: Held::new(HELD_FOR_SLOW_READERS, JOINABLE_PREFIX),
        }
    }

    /// Bytes of answer text and gzip streams held now (for the tests).
    pub fn held_bytes(&self) -> usize {
        self.held.bytes()
    }

    /// The families collected, in order.
    pub fn families(&self) -> Vec<Family> {
        self.families.iter().map(|(family, _)| *family).collect()
    }

    /// Whether a collection has finished since start-up (readiness).
    pub fn has_collected(&self) -> bool {
        self.lock().finished_one
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change to the state is a single assignment or push.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a collection unless one is running: at start-up, so that the
    /// first scrape has data.
    pub fn prime(self: &Arc<Self>) {
        let mut state = self.lock();
        if running(&state).is_none() {
            self.start_collection(&mut state);
        }
    }

    /// The answer to a scrape that must be answered by `deadline` (none: it
    /// waits for the collection, which its command timeout bounds), in
    /// `format`, gzip-compressed if `gzip`.
    pub async fn scrape(
        self: &Arc<Self>,
        deadline: Option<Instant>,
        format: Format,
        gzip: bool,
    ) -> AnswerReader {
        let how = How { format, gzip };
        let arrived = Instant::now();
        let (mut waiting, deadline) = {
            let mut state = self.lock();
            // The answer has to be rendered and sent by the deadline too:
            // leave it as long as the last one took to render.
            let deadline = deadline.map(|d| d.checked_sub(state.last_render).unwrap_or(arrived));
            let running = match self.join(&mut state) {
                Joined::Running(running) => running,
                Joined::Fresh(last) => {
                    tracing::debug!("answering from the last collection (--iptables.min-interval)");
                    return self.answer(&mut state, last, true, how);
                }
            };
            // Going by how long the last collection took, this one will not
            // be done by the deadline: answer from the last one at once
            // rather than keep the scraper waiting for nothing.
            if let (Some(deadline), Some(last)) = (deadline, state.last.clone())
                && running.started + last.took() > deadline
            {
                tracing::debug!(
                    last_took_seconds = last.took().as_secs_f64(),
                    "the collection in progress will not be done by the scrape's deadline; answering with the last one"
                );
                return self.answer(&mut state, last, true, how);
            }
            if running.started < arrived
                && let Some(running) = state.running.as_mut()
            {
                running.joined_late = true;
            }
            tracing::debug!("waiting for the collection in progress");
            (running.done, deadline)
        };
        let finished = async {
            waiting
                .wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|collection| collection.clone())
        };
        let finished = match deadline {
            None => finished.await,
            Some(deadline) => match tokio::time::timeout_at(deadline.into(), finished).await {
                Ok(finished) => finished,
                Err(_elapsed) => {
                    tracing::warn!(
                        "the collection in progress did not finish by the scrape's deadline; answering with the last one"
                    );
                    None
                }
            },
        };
        let mut state = self.lock();
        let Some(collection) = finished.or_else(|| state.last.clone()) else {
            tracing::warn!("no collection has finished yet; answering with every family failed");
            let nothing = Arc::new(Collection::nothing(&self.families));
            return self.answer(&mut state, nothing, true, how);
        };
        let stamped = collection.started < arrived || collection.joined_late;
        self.answer(&mut state, collection, stamped, how)
    }

    /// What each family's save command printed (`None`: it failed), from a
    /// collection as fresh as a scrape would get: the live rulesets the
    /// analyzer page loads.
    pub async fn saved_outputs(self: &Arc<Self>) -> Vec<(Family, Option<Bytes>)> {
        let mut waiting = match self.join(&mut self.lock()) {
            Joined::Fresh(last) => return last.outputs(),
            Joined::Running(running) => running.done,
        };
        let finished = waiting.wait_for(Option::is_some).await;
        match finished.ok().and_then(|collection| collection.clone()) {
            Some(collection) => collection.outputs(),
            None => Collection::nothing(&self.families).outputs(),
        }
    }

    /// The last collection if it is recent enough to answer from
    /// (`--iptables.min-interval`), else the running one, started if need be.
    fn join(self: &Arc<Self>, state: &mut State) -> Joined {
        if let Some(running) = running(state) {
            return Joined::Running(running);
        }
        let Freshness {
            min_interval,
            max_age,
        } = self.settings.freshness;
        match state.last.clone() {
            // Recent enough to spare a collection, and its counters still
            // young enough to serve: a collection that took longer than
            // `max_age - min_interval` is past its age before the interval
            // ends, and answering from it would report every family failed.
            Some(last)
                if last.finished.elapsed() < min_interval && last.started.elapsed() < max_age =>
            {
                Joined::Fresh(last)
            }
            _ => Joined::Running(self.start_collection(state)),
        }
    }

    /// Starts a collection; returns what to wait on for it.
    fn start_collection(self: &Arc<Self>, state: &mut State) -> Running {
        let (done, waiting) = watch::channel(None);
        // Taken under the lock: every scrape that arrives later waits for
        // this collection, and gets it stamped.
        let started = Instant::now();
        let running = Running {
            started,
            done: waiting,
            joined_late: false,
        };
        state.running = Some(running.clone());
        let collector = self.clone();
        tokio::spawn(async move {
            let mut collection = collector.collect(started).await;
            let mut state = collector.lock();
            collection.joined_late = state.running.as_ref().is_some_and(|r| r.joined_late);
            let collection = Arc::new(collection);
            let seconds = collection.took().as_secs_f64();
            if state.finished_one {
                tracing::debug!(seconds, "collection finished");
            } else {
                state.finished_one = true;
                tracing::info!(seconds, "first collection finished");
            }
            state.last = Some(collection.clone());
            state.running = None;
            // Sent under the lock, so that a scrape never sees the running
            // collection gone and the last one not yet the new one.
            done.send_replace(Some(collection));
        });
        running
    }

    /// Runs every family's save command concurrently.
    async fn collect(&self, started: Instant) -> Collection {
        let runs: Vec<_> = self
            .families
            .iter()
            .map(|(family, command)| {
                let (family, command) = (*family, command.clone());
                tokio::spawn(async move {
                    let read_at = SystemTime::now();
                    let started = Instant::now();
                    let result = command.run().await;
                    let command_time = started.elapsed();
                    let output = match result {
                        Ok(output) => {
                            if !output.stderr.is_empty() {
                                // Debug formatting escapes it: the command's
                                // text must not start log lines of its own.
                                tracing::warn!(%family, stderr = ?output.stderr, "save command wrote to stderr");
                            }
                            Some(Bytes::from(output.stdout))
                        }
                        Err(err) => {
                            tracing::error!(%family, %err, "collection failed");
                            None
                        }
                    };
                    Saved {
                        family,
                        output,
                        read_at,
                        started,
                        command_time,
                    }
                })
            })
            .collect();
        let mut families = Vec::with_capacity(runs.len());
        for (run, (family, _)) in runs.into_iter().zip(&self.families) {
            let saved = run.await.unwrap_or_else(|err| {
                tracing::error!(%family, %err, "save command task failed");
                Saved::failed(*family)
            });
            families.push(saved);
        }
        Collection {
            started,
            finished: Instant::now(),
            families,
            joined_late: false,
        }
    }

    /// A reader of `collection` rendered (`stamped`: with its read times),
    /// compressed if `gzip`: of an answer being rendered that way already,
    /// or of a new one.
    ///
    /// Whether to stamp. Every scrape waiting for a collection gets the
    /// same answer, so that a burst renders once: stamped if any of them
    /// arrived after the collection started (`joined_late`), else not.
    /// Stamping the scrape that started it too keeps its scraper's samples
    /// in order: the read time is after that scrape began, and any later
    /// answer is of the same or a later read.
    fn answer(
        self: &Arc<Self>,
        state: &mut State,
        collection: Arc<Collection>,
        stamped: bool,
        how: How,
    ) -> AnswerReader {
        let How { format, gzip } = how;
        let gzip_level = self.settings.gzip_level;
        state.answers.retain(Answer::joinable);
        let joined = state
            .answers
            .iter_mut()
            .filter(|a| {
                a.stamped == stamped
                    && a.format == format
                    && Weak::ptr_eq(&a.collection, &Arc::downgrade(&collection))
            })
            .find_map(|a| a.reader(gzip, gzip_level, &self.held));
        if let Some(reader) = joined {
            tracing::debug!("joining an answer rendered or being rendered");
            return reader;
        }
        let output = Output::new(&self.held);
        let mut answer = Answer {
            collection: Arc::downgrade(&collection),
            stamped,
            format,
            output: Arc::downgrade(&output),
            deflated: None,
        };
        let reader = answer.reader(gzip, gzip_level, &self.held);
        state.answers.push(answer);
        let collector = self.clone();
        tokio::spawn(async move {
            let abort_unless_finished = AbortOnDrop(output.clone());
            let started = Instant::now();
            collector
                .render_answer(&collection, stamped, format, &output)
                .await;
            collector.lock().last_render = started.elapsed();
            // The answer stays joinable for as long as its readers keep it
            // whole (see `flight`); it goes with its last reader.
            drop(abort_unless_finished);
        });
        // A new answer's outputs have dropped nothing: both are joinable.
        reader.unwrap_or_else(|| {
            let (aborted, reader) = Output::start(&self.held);
            aborted.abort();
            AnswerReader::Plain(reader)
        })
    }

    /// Renders `collection` into `output`: the ruleset series as the
    /// component renders them, then each family's scrape series.
    async fn render_answer(
        &self,
        collection: &Collection,
        stamped: bool,
        format: Format,
        output: &Arc<Output>,
    ) {
        let mut outcomes = Vec::with_capacity(collection.families.len());
        let mut dumps = Vec::new();
        for saved in &collection.families {
            outcomes.push(Outcome {
                family: saved.family,
                success: false,
                duration: saved.command_time,
                incompatible_tables: None,
                rule_series_dropped: None,
                read_at: saved.read_at,
            });
            let Some(save_output) = &saved.output else {
                continue;
            };
            let age = saved.started.elapsed();
            if age > self.settings.freshness.max_age {
                tracing::error!(family = %saved.family, age_seconds = age.as_secs_f64(), "the last counters read are older than --iptables.max-age; not served");
                continue;
            }
            dumps.push(sandbox::Dump {
                family: saved.family,
                save_output: save_output.clone(),
                timestamp_ms: stamped.then(|| unix_millis(saved.read_at)),
            });
        }
        if !self.render(dumps, format, &mut outcomes, output).await {
            return;
        }
        let mut tail = String::new();
        let limited = self.settings.selection.max_rule_series.is_some();
        write_scrape_series(&outcomes, format, limited, &mut tail);
        output.push(Bytes::from(tail));
        output.finish();
    }

    /// Renders the dumps into `output` and marks the families that parsed as
    /// successful. Returns false when the output must be aborted: the
    /// component failed after some of a family's text had been handed out.
    async fn render(
        &self,
        dumps: Vec<sandbox::Dump>,
        format: Format,
        outcomes: &mut [Outcome],
        output: &Arc<Output>,
    ) -> bool {
        if dumps.is_empty() {
            return true;
        }
        let sandbox = self.sandbox.clone();
        let sink = output.clone();
        let chunk_bytes = self.settings.chunk_bytes;
        let selection = self.settings.selection.clone();
        let rendered = tokio::task::spawn_blocking(move || {
            let options = sandbox::Options {
                format,
                selection: &selection,
            };
            sandbox.render_families(dumps, options, chunk_bytes, |piece| {
                sink.push(Bytes::from(piece))
            })
        })
        .await;
        let reports = match rendered {
            Ok(Ok(reports)) => reports,
            Ok(Err(aborted)) => {
                tracing::error!(family = %aborted.family, err = %aborted.error, "rendering failed after part of the text was sent; response aborted");
                return false;
            }
            Err(err) => {
                tracing::error!(%err, "rendering task failed");
                return false;
            }
        };
        for report in reports {
            let family = report.family;
            let Some(outcome) = outcomes.iter_mut().find(|o| o.family == family) else {
                continue;
            };
            outcome.duration += report.guest_time;
            match report.outcome {
                Ok(stats) => {
                    tracing::debug!(%family, tables = stats.tables, chains = stats.chains, rules = stats.rules, "parsed");
                    if !stats.incompatible_tables.is_empty() {
                        tracing::warn!(%family, tables = ?stats.incompatible_tables, "iptables-nft-save could not show these tables, or not in full: they hold rules or base chains made with nft, which have no series");
                    }
                    if stats.rule_series_dropped > 0 {
                        tracing::warn!(%family, dropped = stats.rule_series_dropped, "rules past --iptables.max-rule-series have no series");
                    }
                    outcome.success = true;
                    outcome.incompatible_tables = Some(stats.incompatible_tables.len());
                    outcome.rule_series_dropped = Some(stats.rule_series_dropped);
                }
                Err(Failure::Rejected(err)) => {
                    tracing::error!(%family, %err, "save output rejected")
                }
                Err(Failure::Sandbox(err)) => tracing::error!(%family, %err, "rendering failed"),
            }
        }
        true
    }
}

/// How a scrape wants its answer.
#[derive(Debug, Clone, Copy)]
struct How {
    format: Format,
    gzip: bool,
}

impl Answer {
    /// Whether a scrape may still join it: its text is alive and held
    /// whole, or its compressed stream is.
    fn joinable(&self) -> bool {
        if self.collection.strong_count() == 0 {
            return false;
        }
        let alive = |output: Option<Arc<Output>>| output.is_some_and(|o| o.joinable());
        alive(self.output.upgrade())
            || alive(
                self.deflated
                    .as_ref()
                    .and_then(Weak::upgrade)
                    .map(|d| d.output()),
            )
    }

    /// A reader from the start, while the answer can still be joined that
    /// way; the first gzip reader starts the shared compression (again,
    /// if the last compression is gone but the text is still whole).
    fn reader(&mut self, gzip: bool, level: Compression, held: &Arc<Held>) -> Option<AnswerReader> {
        let output = self.output.upgrade();
        if !gzip {
            return output?.join().map(AnswerReader::Plain);
        }
        if let Some(deflated) = self.deflated.as_ref().and_then(Weak::upgrade)
            && let Some(reader) = deflated.join()
        {
            return Some(AnswerReader::Gzip(reader));
        }
        let deflated = SharedDeflate::start(output?.join()?, level, held);
        self.deflated = Some(Arc::downgrade(&deflated));
        deflated.join().map(AnswerReader::Gzip)
    }
}

/// The running collection, unless its task is gone without finishing
/// (it panicked): then a new one may start.
fn running(state: &State) -> Option<Running> {
    state
        .running
        .clone()
        .filter(|running| running.done.has_changed().is_ok())
}

impl Collection {
    /// How long it took.
    fn took(&self) -> Duration {
        self.finished.duration_since(self.started)
    }

    fn outputs(&self) -> Vec<(Family, Option<Bytes>)> {
        let saved = self.families.iter();
        saved.map(|s| (s.family, s.output.clone())).collect()
    }

    /// A stand-in for the collection not yet finished: every family failed.
    fn nothing(families: &[(Family, SaveCommand)]) -> Self {
        let now = Instant::now();
        Self {
            started: now,
            finished: now,
            families: families.iter().map(|(f, _)| Saved::failed(*f)).collect(),
            joined_late: false,
        }
    }
}

impl Saved {
    fn failed(family: Family) -> Self {
        Self {
            family,
            output: None,
            read_at: SystemTime::now(),
            started: Instant::now(),
            command_time: Duration::ZERO,
        }
    }
}

/// Milliseconds since the Unix epoch (negative before it, which a sane
/// clock never gives).
fn unix_millis(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// Each family's scrape series; `iptables_rule_series_dropped` when a
/// limit is set (`limited`).
fn write_scrape_series(outcomes: &[Outcome], format: Format, limited: bool, out: &mut String) {
    let family = |o: &Outcome| [("family", o.family.label())];
    let mut success = MetricWriter::new(out, &SCRAPE_SUCCESS, format);
    for o in outcomes {
        success.sample(&family(o), u64::from(o.success));
    }
    let mut duration = MetricWriter::new(out, &SCRAPE_DURATION, format);
    for o in outcomes {
        duration.sample(&family(o), o.duration.as_secs_f64());
    }
    let mut incompatible = MetricWriter::new(out, &INCOMPATIBLE_TABLES, format);
    for o in outcomes {
        if let Some(tables) = o.incompatible_tables {
            incompatible.sample(&family(o), tables as u64);
        }
    }
    if limited {
        let mut dropped = MetricWriter::new(out, &RULE_SERIES_DROPPED, format);
        for o in outcomes {
            if let Some(rules) = o.rule_series_dropped {
                dropped.sample(&family(o), u64::from(rules));
            }
        }
    }
    let mut collected = MetricWriter::new(out, &COLLECTED_AT, format);
    for o in outcomes {
        // Only a family whose series are served has counters to date.
        if o.success {
            collected.sample(&family(o), unix_millis(o.read_at) as f64 / 1e3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_millis_counts_from_the_epoch() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_525_600_123);
        assert_eq!(unix_millis(t), 1_764_525_600_123);
        assert_eq!(
            unix_millis(SystemTime::UNIX_EPOCH - Duration::from_millis(5)),
            -5
        );
    }
}
