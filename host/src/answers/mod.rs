//! Answers: a collection rendered in the sandbox for scrapes, into an
//! output that every response wanting it the same way shares.
//!
//! An answer renders each family in an instance of its own (see
//! `sandbox`), then adds each family's scrape series (`series`). Scrapes
//! that want the same collection rendered the same way (stamped or not,
//! in the same format) share one answer for as long as it is held whole
//! (see `output`), and those of them that want gzip share one compressed
//! stream of it (see `gzip`); each response reads it through a
//! [`Response`], with its own tail.
//!
//! A failure is a value, not an HTTP error: the family reports success 0,
//! its cause is logged, and none of its series are exported. A family that
//! fails before any of its text is out costs only itself; a failure of the
//! component after some of a family's text was handed out (a deadline hit
//! in the middle of rendering, say) aborts the output, and with it the
//! responses reading it, rather than let them end as if complete.

mod gzip;
pub mod output;
pub(crate) mod ownership;
mod response;
mod series;

pub use response::Response;

use crate::collection::{Collection, Listing, Read, Sets};
use crate::sandbox::{self, Failure, Sandbox, Selection};
use bytes::Bytes;
use exposition::Format;
use flate2::Compression;
use gzip::SharedDeflate;
use output::{AbortOnDrop, Held, Output};
use series::{
    IpsetOutcome, NftOutcome, Outcome, unix_millis, write_ipset_series, write_nftables_series,
    write_scrape_series,
};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

/// gzip level for clients that accept it (see benches/README.md for the
/// numbers).
pub const GZIP_LEVEL: u32 = 1;

/// Most answer text (and gzip streams) held for clients that read slowly,
/// beyond the newest answer; past it, the clients furthest behind are cut
/// off, oldest answers first (see `output`). A 100k-rule answer is 54 MB
/// of text, 8 MB compressed: this holds two such answers for slow readers,
/// and keeps 40 stalled clients under the DaemonSet's 512 MiB limit.
pub const HELD_FOR_SLOW_READERS: usize = 128 << 20;

/// The start of every answer kept while no reader has gone past it, so
/// that a scrape wanting the same answer joins it and shares its rendering
/// (see `output`): far more than a client that stops reading takes into
/// its socket buffers.
pub const JOINABLE_PREFIX: usize = 4 << 20;

/// How answers are made.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Size of the pieces the component renders at a time.
    pub piece_bytes: u32,
    pub gzip_level: Compression,
    /// Which series the component keeps.
    pub selection: Selection,
    /// Which nftables series it keeps (`--nftables.*`).
    pub nft_selection: Selection,
    /// Whether `nftables_set_elements` is exported.
    pub set_elements: bool,
    /// Which ipset series it keeps (`--ipset.*`).
    pub ipset: sandbox::IpsetSettings,
    /// Counters read longer ago are never served.
    pub max_age: Duration,
}

/// How a scrape wants its answer.
#[derive(Debug, Clone, Copy)]
pub struct How {
    pub format: Format,
    pub gzip: bool,
}

pub struct Answers {
    sandbox: Arc<Sandbox>,
    settings: Settings,
    /// What every answer's outputs hold, and its limit.
    held: Arc<Held>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Answers that can still be joined: being rendered, or held whole
    /// for a reader.
    answers: Vec<Answer>,
    /// How long the last answer took to render.
    last_render: Duration,
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

impl Answers {
    pub fn new(sandbox: Arc<Sandbox>, settings: Settings) -> Self {
        Self {
            sandbox,
            settings,
            held: Held::new(HELD_FOR_SLOW_READERS, JOINABLE_PREFIX),
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change to the state is a single assignment, push or retain.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How long the last answer took to render.
    pub fn last_render(&self) -> Duration {
        self.lock().last_render
    }

    /// A response reading `collection` rendered (`stamped`: with its read
    /// times) as `how` says: of an answer rendered that way already and
    /// still whole, or of a new one.
    pub fn answer(
        self: &Arc<Self>,
        collection: Arc<Collection>,
        stamped: bool,
        how: How,
    ) -> Response {
        let How { format, gzip } = how;
        let gzip_level = self.settings.gzip_level;
        let mut state = self.lock();
        state.answers.retain(Answer::joinable);
        let wanted = Arc::downgrade(&collection);
        let joined = state
            .answers
            .iter_mut()
            .filter(|a| {
                a.stamped == stamped && a.format == format && Weak::ptr_eq(&a.collection, &wanted)
            })
            .find_map(|a| a.reader(gzip, gzip_level, &self.held));
        if let Some(response) = joined {
            tracing::debug!("joining an answer rendered or being rendered");
            return response;
        }
        let output = Output::new(&self.held);
        let mut answer = Answer {
            collection: wanted,
            stamped,
            format,
            output: Arc::downgrade(&output),
            deflated: None,
        };
        let response = answer.reader(gzip, gzip_level, &self.held);
        state.answers.push(answer);
        drop(state);
        let answers = self.clone();
        tokio::spawn(async move {
            let abort_unless_finished = AbortOnDrop(output.clone());
            let started = Instant::now();
            answers
                .render_answer(&collection, stamped, format, &output)
                .await;
            answers.lock().last_render = started.elapsed();
            // The answer stays joinable for as long as its readers keep it
            // whole (see `output`); it goes with its last reader.
            drop(abort_unless_finished);
        });
        // A new answer's outputs have dropped nothing: both are joinable.
        response.unwrap_or_else(|| {
            let (aborted, reader) = Output::start(&self.held);
            aborted.abort();
            Response::Plain { reader, tail: None }
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
                duration: saved.read.command_time,
                incompatible_tables: None,
                rule_series_dropped: None,
                read_at: saved.read.read_at,
            });
            let Some(save_output) = self.servable(&saved.family.to_string(), &saved.read) else {
                continue;
            };
            dumps.push(sandbox::Dump {
                family: saved.family,
                save_output,
                timestamp_ms: stamped.then(|| unix_millis(saved.read.read_at)),
            });
        }
        let Some(shown) = self.render(dumps, format, &mut outcomes, output).await else {
            return;
        };
        let nftables = match &collection.nftables {
            Some(listing) => {
                let collected: Vec<_> = collection.families.iter().map(|s| s.family).collect();
                let left = ownership::left_to_iptables(&collected, &shown);
                Some(
                    self.render_nftables(listing, stamped, format, &left, output)
                        .await,
                )
            }
            None => None,
        };
        let ipset = match &collection.ipset {
            Some(sets) => Some(self.render_ipset(sets, stamped, format, output).await),
            None => None,
        };
        let mut tail = String::new();
        let limited = self.settings.selection.max_rule_series.is_some();
        write_scrape_series(&outcomes, format, limited, &mut tail);
        if let Some(nftables) = &nftables {
            let limited = self.settings.nft_selection.max_rule_series.is_some();
            write_nftables_series(nftables, format, limited, &mut tail);
        }
        if let Some(ipset) = &ipset {
            write_ipset_series(
                ipset,
                format,
                self.settings.ipset.element_counters,
                &mut tail,
            );
        }
        output.push(Bytes::from(tail));
        output.finish();
    }

    /// What a source's command printed, if it printed anything and its
    /// counters are young enough to serve.
    fn servable(&self, source: &str, read: &Read) -> Option<Bytes> {
        let output = read.output.clone()?;
        let age = read.started.elapsed();
        if age > self.settings.max_age {
            tracing::error!(
                source,
                age_seconds = age.as_secs_f64(),
                "the last counters read are older than --iptables.max-age; not served"
            );
            return None;
        }
        Some(output)
    }

    /// Renders the nft listing into `output`, leaving out the tables the
    /// iptables source shows; how it fared.
    async fn render_nftables(
        &self,
        listing: &Listing,
        stamped: bool,
        format: exposition::Format,
        left_to_iptables: &[sandbox::TableId],
        output: &Arc<Output>,
    ) -> NftOutcome {
        let (read, with_elements) = (&listing.read, listing.with_elements);
        let mut outcome = NftOutcome {
            success: false,
            duration: read.command_time,
            rule_series_dropped: None,
            read_at: read.read_at,
        };
        let Some(listing) = self.servable("nftables", read) else {
            return outcome;
        };
        let listing = sandbox::Listing {
            output: listing,
            timestamp_ms: stamped.then(|| unix_millis(read.read_at)),
        };
        let selection = self.settings.nft_selection.clone();
        // A terse listing (asked for, or fallen back on) has no elements
        // to count: its sets' sizes are unknown, not 0.
        let set_elements = self.settings.set_elements && with_elements;
        let left = left_to_iptables.to_vec();
        let (rendered, guest_time) = self
            .render_whole("nftables", move |sandbox| {
                let options = sandbox::NftOptions {
                    options: sandbox::Options {
                        format,
                        selection: &selection,
                    },
                    set_elements,
                    left_to_iptables: &left,
                };
                sandbox.render_nftables(&listing, options)
            })
            .await;
        outcome.duration += guest_time;
        let Some((exposition, stats)) = rendered else {
            return outcome;
        };
        tracing::debug!(source = "nftables", tables = stats.tables, chains = stats.chains, rules = stats.rules, sets = stats.sets, version = ?stats.version, "parsed");
        if !stats.left_to_iptables.is_empty() {
            tracing::debug!(source = "nftables", tables = ?stats.left_to_iptables, "tables left to the iptables source");
        }
        log_findings(
            "nftables",
            stats.findings,
            "the listing holds items or expressions the exporter does not know; see the analyzer",
        );
        log_dropped(
            "nftables",
            stats.rule_series_dropped,
            "rules past --nftables.max-rule-series have no series",
        );
        output.push(Bytes::from(exposition));
        outcome.success = true;
        outcome.rule_series_dropped = Some(stats.rule_series_dropped);
        outcome
    }

    /// Renders ipset's listings into `output`; how it fared.
    async fn render_ipset(
        &self,
        sets: &Sets,
        stamped: bool,
        format: Format,
        output: &Arc<Output>,
    ) -> IpsetOutcome {
        let read = &sets.read;
        let mut outcome = IpsetOutcome {
            success: false,
            duration: read.command_time,
            element_series_dropped: None,
            read_at: read.read_at,
        };
        let Some(headers) = self.servable("ipset", read) else {
            return outcome;
        };
        let listing = sandbox::IpsetListing {
            headers,
            members: sets.members.clone(),
            timestamp_ms: stamped.then(|| unix_millis(read.read_at)),
        };
        let settings = self.settings.ipset.clone();
        let (rendered, guest_time) = self
            .render_whole("ipset", move |sandbox| {
                sandbox.render_ipset(&listing, &settings, format)
            })
            .await;
        outcome.duration += guest_time;
        let Some((exposition, stats)) = rendered else {
            return outcome;
        };
        tracing::debug!(source = "ipset", sets = stats.sets, "parsed");
        if !stats.counted.is_empty() {
            tracing::debug!(source = "ipset", sets = ?stats.counted, "entries counted from the members: the kernel gives no count (set protocol 6)");
        }
        if !stats.uncounted.is_empty() {
            tracing::warn!(source = "ipset", sets = ?stats.uncounted, "sets without ipset_entries: the kernel gives no count and their members could not be listed");
        }
        if !stats.unknown_types.is_empty() {
            tracing::info!(source = "ipset", sets = ?stats.unknown_types, "sets of a type whose capacity the exporter does not know: no ipset_max_entries");
        }
        log_findings(
            "ipset",
            stats.findings,
            "header lines the exporter does not know were skipped",
        );
        log_dropped(
            "ipset",
            stats.element_series_dropped,
            "elements past --ipset.max-element-series have no series",
        );
        output.push(Bytes::from(exposition));
        outcome.success = true;
        outcome.element_series_dropped = Some(stats.element_series_dropped);
        outcome
    }

    /// A source rendered whole in the sandbox (`render`, blocking), off
    /// the async runtime's workers: its text and sizes, or `None` when it
    /// failed (logged, naming `source`); and the guest's time either way.
    async fn render_whole<S: Send + 'static>(
        &self,
        source: &'static str,
        render: impl FnOnce(&Sandbox) -> sandbox::WholeReport<S> + Send + 'static,
    ) -> (Option<(String, S)>, Duration) {
        let sandbox = self.sandbox.clone();
        let report = match tokio::task::spawn_blocking(move || render(&sandbox)).await {
            Ok(report) => report,
            Err(err) => {
                tracing::error!(source, %err, "rendering task failed");
                return (None, Duration::ZERO);
            }
        };
        let rendered = match report.outcome {
            Ok(rendered) => Some(rendered),
            Err(Failure::Rejected(err)) => {
                tracing::error!(source, %err, "output rejected");
                None
            }
            Err(Failure::Sandbox(err)) => {
                tracing::error!(source, %err, "rendering failed");
                None
            }
        };
        (rendered, report.guest_time)
    }

    /// Renders the dumps into `output` and marks the families that parsed as
    /// successful; returns the tables each of those showed. `None` when the
    /// output must be aborted: the component failed after some of a
    /// family's text had been handed out.
    async fn render(
        &self,
        dumps: Vec<sandbox::Dump>,
        format: Format,
        outcomes: &mut [Outcome],
        output: &Arc<Output>,
    ) -> Option<Vec<(exposition::Family, Vec<String>)>> {
        if dumps.is_empty() {
            return Some(Vec::new());
        }
        let sandbox = self.sandbox.clone();
        let sink = output.clone();
        let piece_bytes = self.settings.piece_bytes;
        let selection = self.settings.selection.clone();
        let rendered = tokio::task::spawn_blocking(move || {
            let options = sandbox::Options {
                format,
                selection: &selection,
            };
            sandbox.render_families(dumps, options, piece_bytes, |piece| {
                sink.push(Bytes::from(piece))
            })
        })
        .await;
        let reports = match rendered {
            Ok(Ok(reports)) => reports,
            Ok(Err(aborted)) => {
                tracing::error!(family = %aborted.family, err = %aborted.error, "rendering failed after part of the text was sent; response aborted");
                return None;
            }
            Err(err) => {
                tracing::error!(%err, "rendering task failed");
                return None;
            }
        };
        let mut shown = Vec::new();
        for report in reports {
            if let Ok(stats) = &report.outcome {
                shown.push((report.family, stats.tables_shown.clone()));
            }
            if let Some(outcome) = outcomes.iter_mut().find(|o| o.family == report.family) {
                record(outcome, report);
            }
        }
        Some(shown)
    }
}

/// Items a source's listing held that the exporter does not know
/// (skipped, not failed): worth a line, not a warning.
fn log_findings(source: &'static str, findings: u32, what: &str) {
    if findings > 0 {
        tracing::info!(source, findings, "{what}");
    }
}

/// Series a source left out under its cap.
fn log_dropped(source: &'static str, dropped: u32, what: &str) {
    if dropped > 0 {
        tracing::warn!(source, dropped, "{what}");
    }
}

/// How a family fared, in its outcome and the log.
fn record(outcome: &mut Outcome, report: sandbox::FamilyReport) {
    let family = report.family;
    outcome.duration += report.guest_time;
    match report.outcome {
        Ok(stats) => {
            tracing::debug!(%family, tables = stats.tables, chains = stats.chains, rules = stats.rules, "parsed");
            if !stats.incompatible_tables.is_empty() {
                tracing::warn!(%family, tables = ?stats.incompatible_tables, "iptables-nft-save could not show these tables, or not in full: they hold rules or base chains made with nft; the nftables source exports them when it is on");
            }
            if stats.rule_series_dropped > 0 {
                tracing::warn!(%family, dropped = stats.rule_series_dropped, "rules past --iptables.max-rule-series have no series");
            }
            outcome.success = true;
            outcome.incompatible_tables = Some(stats.incompatible_tables.len());
            outcome.rule_series_dropped = Some(stats.rule_series_dropped);
        }
        Err(Failure::Rejected(err)) => tracing::error!(%family, %err, "save output rejected"),
        Err(Failure::Sandbox(err)) => tracing::error!(%family, %err, "rendering failed"),
    }
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
    fn reader(&mut self, gzip: bool, level: Compression, held: &Arc<Held>) -> Option<Response> {
        let output = self.output.upgrade();
        if !gzip {
            let reader = output?.join()?;
            return Some(Response::Plain { reader, tail: None });
        }
        if let Some(deflated) = self.deflated.as_ref().and_then(Weak::upgrade)
            && let Some(reader) = deflated.join()
        {
            return Some(Response::Gzip(reader));
        }
        let deflated = SharedDeflate::start(output?.join()?, level, held);
        self.deflated = Some(Arc::downgrade(&deflated));
        deflated.join().map(Response::Gzip)
    }
}
