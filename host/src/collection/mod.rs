//! Collections: reading every family (its save command, or netlink into
//! its last save's text: `netlink`) and the ipsets, then the nft tables
//! that are not the families', and keeping what they gave, scrape-driven
//! and single-flight; and which collection answers a scrape, and whether
//! its samples are stamped.
//!
//! A scrape starts a collection only when none is running and the last one
//! finished at least `--iptables.min-interval` ago (and its counters are
//! still younger than `--iptables.max-age`); every scrape in between waits
//! for the running one or is answered from the last.
//!
//! Timestamps. A scrape waits for the collection at most until its deadline
//! (the scraper's timeout less `--web.timeout-offset` and less the time the
//! last answer took to render); past it, or at once when the last
//! collection took longer than the time left, it is answered from the last
//! collection, and the running one goes on to answer later scrapes.
//! Counters read before a scrape began carry, on every ruleset sample, the
//! time they were read (the save command's start), so that the scraper
//! files them under that time and not its own: rates stay exact however
//! late they are served. Counters read during the scrape (it started the
//! collection) are served without timestamps, as scrape-time data always
//! was, unless a scrape that came later waited for the same collection:
//! then all its waiters get it stamped, so that they share one rendering.
//! Stamping by that rule keeps each scraper's samples in time order: a
//! sample served unstamped is filed at the scrape's start, which is before
//! the read, and any later answer of the same counters is stamped with the
//! read time itself. Counters read longer ago than `--iptables.max-age` are
//! never served (see `answers`).

mod netlink;

pub use netlink::Refresher;

use crate::answers::ownership;
use crate::answers::{self, Answers, How, Response};
use crate::sandbox::{IpsetSettings, Sandbox, TableId};
use crate::sources::command;
use crate::sources::ipset;
use crate::sources::iptables::SaveCommand;
use crate::sources::nftables::{self, ListCommand};
use bytes::Bytes;
use exposition::{Family, Format};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// How fresh answers must be.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// A scrape this soon after the last collection finished is answered
    /// from it and starts none.
    pub min_interval: Duration,
    /// Counters read longer ago are never served.
    pub max_age: Duration,
}

pub struct Collector {
    families: Vec<(Family, SaveCommand)>,
    /// How the families are read: their save commands, or netlink into
    /// the last save's text.
    refresher: Arc<Refresher>,
    /// For the tables a save shows and an nft index names.
    sandbox: Arc<Sandbox>,
    /// `nft`'s listing, when the nftables source is on.
    nftables: Option<ListCommand>,
    /// The tables nft's index named, and the ruleset generation it was
    /// read at: while the generation holds, no table came or went, and the
    /// index (0.25 s and 77 MB on a 100k-rule iptables-nft node) is not
    /// read again.
    nft_index: Mutex<Option<(u32, Vec<TableId>)>>,
    /// `ipset`'s listings, when the ipset source is on.
    ipset: Option<IpsetSource>,
    freshness: Freshness,
    answers: Arc<Answers>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The collection running now.
    running: Option<Running>,
    /// The last collection that finished.
    last: Option<Arc<Collection>>,
    /// Whether a collection has finished since start-up (it is logged).
    finished_one: bool,
}

#[derive(Clone)]
struct Running {
    started: Instant,
    /// Set to the collection once it finishes.
    done: watch::Receiver<Option<Arc<Collection>>>,
    /// Whether a scrape that arrived after it started waits for it.
    joined_late: bool,
}

/// What a request gets its collection from.
enum Joined {
    /// The last one, recent enough.
    Fresh(Arc<Collection>),
    /// The one running (maybe just started), to wait for.
    Running(Running),
}

/// The ipset source: its command, and which series it keeps (which
/// decides whose members are listed).
pub struct IpsetSource {
    pub command: ipset::ListCommand,
    pub settings: IpsetSettings,
}

/// A ruleset the collection reads whole, as the analyzer page may load
/// it live: a family's save output, what `nft` listed, or the sets
/// `ipset list -t` listed (the page shows their sizes beside the rules
/// that match against them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    Family(Family),
    Nftables,
    Ipset,
}

impl Live {
    /// Its name in the index and in its path.
    pub fn name(self) -> &'static str {
        match self {
            Live::Family(family) => family.label(),
            Live::Nftables => "nftables",
            Live::Ipset => "ipset",
        }
    }

    /// The ruleset a path segment names.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "nftables" => Some(Live::Nftables),
            "ipset" => Some(Live::Ipset),
            _ => Family::from_label(name).map(Live::Family),
        }
    }
}

/// What a live ruleset's command printed in a collection (`None`: it
/// failed), and when it ran.
pub struct LiveOutput {
    pub live: Live,
    pub output: Option<Bytes>,
    pub read_at: SystemTime,
}

/// One run of every source's commands.
pub struct Collection {
    /// When it was started, on the monotonic clock (its commands start
    /// after that).
    started: Instant,
    /// When it finished, on the monotonic clock.
    finished: Instant,
    pub(crate) families: Vec<Saved>,
    /// What `nft` listed, when the nftables source is on.
    pub(crate) nftables: Option<Listing>,
    /// What `ipset` listed, when the ipset source is on.
    pub(crate) ipset: Option<Sets>,
    /// Whether a scrape that arrived after it started waited for it: then
    /// every answer of it is stamped (see `Collector::scrape`).
    joined_late: bool,
}

/// What one family's save command gave.
pub(crate) struct Saved {
    pub family: Family,
    pub read: Read,
}

/// What `nft` gave.
pub(crate) struct Listing {
    pub read: Read,
    /// Whether it lists set elements (a terse listing does not: its sets'
    /// sizes are unknown, not 0).
    pub with_elements: bool,
}

/// What `ipset` gave.
pub(crate) struct Sets {
    /// `ipset list -t`.
    pub read: Read,
    /// `ipset list NAME` of the sets that need their members listed.
    pub members: Vec<(String, Bytes)>,
}

/// What one command of a collection gave.
pub(crate) struct Read {
    /// What it printed; `None` if it failed (logged when it did).
    pub output: Option<Bytes>,
    /// When it started: on the wall clock, the samples' timestamp, and on
    /// the monotonic clock, for their age.
    pub read_at: SystemTime,
    pub started: Instant,
    pub command_time: Duration,
}

impl Collector {
    pub fn new(
        families: Vec<(Family, SaveCommand)>,
        refresher: Arc<Refresher>,
        nftables: Option<ListCommand>,
        ipset: Option<IpsetSource>,
        sandbox: Arc<Sandbox>,
        freshness: Freshness,
        answers: answers::Settings,
    ) -> Self {
        Self {
            families,
            refresher,
            nftables,
            nft_index: Mutex::default(),
            ipset,
            freshness,
            sandbox: sandbox.clone(),
            answers: Arc::new(Answers::new(sandbox, answers)),
            state: Mutex::default(),
        }
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
        // Every change to the state is a single assignment.
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
    ) -> Response {
        let how = How { format, gzip };
        let arrived = Instant::now();
        // The answer has to be rendered and sent by the deadline too: leave
        // it as long as the last one took to render.
        let last_render = self.answers.last_render();
        let deadline = deadline.map(|d| d.checked_sub(last_render).unwrap_or(arrived));
        let waiting = match self.choose(deadline, arrived) {
            Choice::Now(collection) => return self.answers.answer(collection, true, how),
            Choice::Wait(running) => running.done,
        };
        let finished = wait_until(waiting, deadline).await;
        let last = self.lock().last.clone();
        let Some(collection) = finished.or(last) else {
            tracing::warn!("no collection has finished yet; answering with every family failed");
            let nothing = Arc::new(self.nothing());
            return self.answers.answer(nothing, true, how);
        };
        let stamped = collection.started < arrived || collection.joined_late;
        self.answers.answer(collection, stamped, how)
    }

    /// Whether to answer at once, from the last collection, or to wait for
    /// the running one (started if need be).
    fn choose(self: &Arc<Self>, deadline: Option<Instant>, arrived: Instant) -> Choice {
        let mut state = self.lock();
        let running = match self.join(&mut state) {
            Joined::Running(running) => running,
            Joined::Fresh(last) => {
                tracing::debug!("answering from the last collection (--iptables.min-interval)");
                return Choice::Now(last);
            }
        };
        // Going by how long the last collection took, this one will not be
        // done by the deadline: answer from the last one at once rather
        // than keep the scraper waiting for nothing.
        if let (Some(deadline), Some(last)) = (deadline, state.last.clone())
            && running.started + last.took() > deadline
        {
            tracing::debug!(
                last_took_seconds = last.took().as_secs_f64(),
                "the collection in progress will not be done by the scrape's deadline; answering with the last one"
            );
            return Choice::Now(last);
        }
        if running.started < arrived
            && let Some(running) = state.running.as_mut()
        {
            running.joined_late = true;
        }
        tracing::debug!("waiting for the collection in progress");
        Choice::Wait(running)
    }

    /// The live rulesets the analyzer page may load: the families in
    /// order, then nft's listing and ipset's sets when those sources are
    /// on.
    pub fn rulesets(&self) -> Vec<Live> {
        let families = self.families().into_iter().map(Live::Family);
        families
            .chain(self.nftables.as_ref().map(|_| Live::Nftables))
            .chain(self.ipset.as_ref().map(|_| Live::Ipset))
            .collect()
    }

    /// What each family's save command, `nft` and `ipset list -t` printed
    /// (`None`: it failed) and when, from a collection as fresh as a scrape
    /// would get: the live rulesets the analyzer page loads.
    pub async fn saved_outputs(self: &Arc<Self>) -> Vec<LiveOutput> {
        let mut waiting = match self.join(&mut self.lock()) {
            Joined::Fresh(last) => return last.outputs(),
            Joined::Running(running) => running.done,
        };
        let finished = waiting.wait_for(Option::is_some).await;
        match finished.ok().and_then(|collection| collection.clone()) {
            Some(collection) => collection.outputs(),
            None => self.nothing().outputs(),
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
        } = self.freshness;
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

    /// Reads every family and the ipsets (concurrently), then lists the
    /// nft tables that are not the families'.
    async fn collect(&self, started: Instant) -> Collection {
        let sets = async {
            match &self.ipset {
                Some(source) => Some(self.list_sets(source).await),
                None => None,
            }
        };
        let (families, ipset) = tokio::join!(self.read_families(), sets);
        let nftables = match &self.nftables {
            Some(command) => Some(self.list_nftables(command, &families).await),
            None => None,
        };
        Collection {
            started,
            finished: Instant::now(),
            families,
            nftables,
            ipset,
            joined_late: false,
        }
    }

    /// Reads every family, concurrently.
    async fn read_families(&self) -> Vec<Saved> {
        let runs: Vec<_> = self
            .families
            .iter()
            .map(|(family, command)| {
                let (family, command) = (*family, command.clone());
                let refresher = self.refresher.clone();
                tokio::spawn(async move { refresher.read(family, &command).await })
            })
            .collect();
        let mut families = Vec::with_capacity(runs.len());
        for (run, (family, _)) in runs.into_iter().zip(&self.families) {
            let read = run.await.unwrap_or_else(|err| {
                tracing::error!(source = %family, %err, "command task failed");
                Read::failed()
            });
            families.push(Saved {
                family: *family,
                read,
            });
        }
        families
    }

    /// `ipset list -t`, then the members of the sets the component names.
    async fn list_sets(&self, source: &IpsetSource) -> Sets {
        let mut read = read("ipset", source.command.headers()).await;
        let Some(headers) = read.output.clone() else {
            return Sets {
                read,
                members: Vec::new(),
            };
        };
        let sandbox = self.sandbox.clone();
        let settings = source.settings.clone();
        let wanted =
            tokio::task::spawn_blocking(move || sandbox.ipset_member_listings(&headers, &settings))
                .await;
        let members = match wanted {
            Ok(Ok(sets)) if sets.is_empty() => Vec::new(),
            Ok(Ok(sets)) => {
                let listing = Instant::now();
                let members = source.command.members(&sets).await;
                // The source's cost is every run of `ipset`.
                read.command_time += listing.elapsed();
                members
            }
            // The headers do not read: the render says why, once.
            Ok(Err(_)) => Vec::new(),
            Err(err) => {
                tracing::error!(source = "ipset", %err, "the listing task failed");
                Vec::new()
            }
        };
        Sets { read, members }
    }

    /// What `nft` lists of the tables the families did not show.
    async fn list_nftables(&self, command: &ListCommand, families: &[Saved]) -> Listing {
        let read_at = SystemTime::now();
        let started = Instant::now();
        let listed = self.nft_tables_not_shown(command, families).await;
        let command_time = started.elapsed();
        let (output, with_elements) = match listed {
            Ok(listed) => {
                if !listed.output.stderr.is_empty() {
                    tracing::warn!(source = "nftables", stderr = ?listed.output.stderr, "command wrote to stderr");
                }
                (
                    Some(Bytes::from(listed.output.stdout)),
                    listed.with_elements,
                )
            }
            Err(err) => {
                tracing::error!(source = "nftables", %err, "collection failed");
                (None, false)
            }
        };
        Listing {
            read: Read {
                output,
                read_at,
                started,
                command_time,
            },
            with_elements,
        }
    }

    /// nft's index (chains and sets), the tables it names less those the
    /// families showed (all of a failed family's standard ones) and the
    /// standard ones `--iptables.tables` left out, each of those listed.
    async fn nft_tables_not_shown(
        &self,
        command: &ListCommand,
        families: &[Saved],
    ) -> Result<nftables::Listed, String> {
        let named = self.nft_tables_named(command).await?;
        let sandbox = self.sandbox.clone();
        let saves: Vec<(Family, Option<Bytes>)> = families
            .iter()
            .map(|s| (s.family, s.read.output.clone()))
            .collect();
        let not_saved: Vec<_> = self
            .families
            .iter()
            .flat_map(|(family, command)| ownership::not_saved(*family, &command.tables))
            .collect();
        let left = tokio::task::spawn_blocking(move || {
            let collected: Vec<Family> = saves.iter().map(|(f, _)| *f).collect();
            let mut shown = Vec::new();
            for (family, output) in &saves {
                let Some(output) = output else { continue };
                let names = sandbox
                    .tables_shown(output)
                    .map_err(|e| format!("the tables {family}'s save shows: {e}"))?;
                shown.push((*family, names));
            }
            let mut left = ownership::left_to_iptables(&collected, &shown);
            left.extend(not_saved);
            Ok::<_, String>(left)
        })
        .await
        .map_err(|e| format!("the listing task failed: {e}"))??;
        let wanted: Vec<(String, String)> = named
            .into_iter()
            .filter(|table| !left.contains(table))
            .map(|table| (table.family, table.name))
            .collect();
        command.list(&wanted).await.map_err(|e| e.to_string())
    }

    /// The tables nft's index names: read again only when the ruleset's
    /// generation moved since (or cannot be read).
    async fn nft_tables_named(&self, command: &ListCommand) -> Result<Vec<TableId>, String> {
        let generation = netlink::generation().await;
        let cached = self
            .nft_index
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let (Some(generation), Some((at, named))) = (generation, cached)
            && at == generation
        {
            return Ok(named);
        }
        let index = command.index().await.map_err(|e| e.to_string())?;
        let sandbox = self.sandbox.clone();
        let named = tokio::task::spawn_blocking(move || sandbox.nft_tables(&index.stdout))
            .await
            .map_err(|e| format!("the listing task failed: {e}"))?
            .map_err(|e| format!("nft's list of chains and sets: {e}"))?;
        // Keyed by the generation read before the index: a table made
        // since moves it, and the next collection reads the index again.
        *self
            .nft_index
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            generation.map(|generation| (generation, named.clone()));
        Ok(named)
    }

    /// A stand-in for the collection not yet finished: every source failed.
    fn nothing(&self) -> Collection {
        let now = Instant::now();
        Collection {
            started: now,
            finished: now,
            families: self
                .families
                .iter()
                .map(|(family, _)| Saved {
                    family: *family,
                    read: Read::failed(),
                })
                .collect(),
            nftables: self.nftables.as_ref().map(|_| Listing {
                read: Read::failed(),
                with_elements: false,
            }),
            ipset: self.ipset.as_ref().map(|_| Sets {
                read: Read::failed(),
                members: Vec::new(),
            }),
            joined_late: false,
        }
    }
}

/// Runs one source's command (`source`: the family, or `nftables`) and
/// keeps what it printed, logging why when it failed.
async fn read(
    source: &str,
    run: impl std::future::Future<Output = Result<command::Output, command::Error>>,
) -> Read {
    let read_at = SystemTime::now();
    let started = Instant::now();
    let result = run.await;
    let command_time = started.elapsed();
    let output = match result {
        Ok(output) => {
            if !output.stderr.is_empty() {
                // Debug formatting escapes it: the command's text must not
                // start log lines of its own.
                tracing::warn!(source, stderr = ?output.stderr, "command wrote to stderr");
            }
            Some(Bytes::from(output.stdout))
        }
        Err(err) => {
            tracing::error!(source, %err, "collection failed");
            None
        }
    };
    Read {
        output,
        read_at,
        started,
        command_time,
    }
}

/// Whether a scrape answers at once or waits.
enum Choice {
    /// From this collection, stamped.
    Now(Arc<Collection>),
    Wait(Running),
}

/// The collection `waiting` ends with, unless `deadline` comes first.
async fn wait_until(
    mut waiting: watch::Receiver<Option<Arc<Collection>>>,
    deadline: Option<Instant>,
) -> Option<Arc<Collection>> {
    let finished = async {
        waiting
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|collection| collection.clone())
    };
    match deadline {
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

    fn outputs(&self) -> Vec<LiveOutput> {
        let output = |live, read: &Read| LiveOutput {
            live,
            output: read.output.clone(),
            read_at: read.read_at,
        };
        let saved = self.families.iter();
        let families = saved.map(|s| output(Live::Family(s.family), &s.read));
        let listing = self.nftables.iter();
        let sets = self.ipset.iter();
        families
            .chain(listing.map(|l| output(Live::Nftables, &l.read)))
            .chain(sets.map(|s| output(Live::Ipset, &s.read)))
            .collect()
    }
}

impl Read {
    fn failed() -> Self {
        Self {
            output: None,
            read_at: SystemTime::now(),
            started: Instant::now(),
            command_time: Duration::ZERO,
        }
    }
}
