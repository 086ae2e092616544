//! One collection: run every family's save command, render the outputs in
//! the sandbox (an instance per family), streaming the text into a shared
//! [`Output`], and add each family's `iptables_scrape_success`,
//! `iptables_scrape_duration_seconds` and `iptables_incompatible_tables`.
//! Scrapes that arrive while a collection runs share it (single-flight).
//!
//! A failure is a value, not an HTTP error: the family reports success 0, its
//! cause is logged, and none of its series are exported. A family that fails
//! before any of its text is out costs only itself; a failure of the
//! component after some of a family's text was handed out (a deadline hit
//! in the middle of rendering, say) aborts the output, and with it the
//! responses reading it, rather than let them end as if complete.

use crate::command::SaveCommand;
use crate::flight::{AbortOnDrop, Output, Reader};
use crate::sandbox::{self, Failure, Sandbox};
use bytes::Bytes;
use exposition::{Family, Kind, Metric, MetricWriter};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

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

/// Size of the pieces the component renders at a time: large enough that
/// the per-call cost vanishes, small enough to keep little text in flight.
pub const CHUNK_BYTES: u32 = 256 * 1024;

pub struct Collector {
    families: Vec<(Family, SaveCommand)>,
    sandbox: Arc<Sandbox>,
    /// Size of the pieces the component renders at a time.
    chunk_bytes: u32,
    /// The collection running now, which new scrapes join.
    current: Mutex<Option<Arc<Output>>>,
}

/// How one family fared in a scrape.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    family: Family,
    success: bool,
    duration: Duration,
    /// Incompatible tables, for a family that parsed.
    incompatible_tables: Option<usize>,
}

impl Collector {
    pub fn new(
        families: Vec<(Family, SaveCommand)>,
        sandbox: Arc<Sandbox>,
        chunk_bytes: u32,
    ) -> Self {
        Self {
            families,
            sandbox,
            chunk_bytes,
            current: Mutex::new(None),
        }
    }

    /// The output of the collection running now, or of one started for this
    /// scrape: scrapes that arrive while a collection runs share it, until it
    /// starts releasing its output (see `flight`).
    pub fn scrape(self: &Arc<Self>) -> Reader {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(reader) = current.as_ref().and_then(Output::join) {
            tracing::debug!("joining the collection in progress");
            return reader;
        }
        let (output, reader) = Output::start();
        *current = Some(output.clone());
        let collector = self.clone();
        tokio::spawn(async move { collector.collect_into(output).await });
        reader
    }

    /// Runs one collection into `output`: the ruleset series as the component
    /// renders them, then each family's scrape series.
    async fn collect_into(self: Arc<Self>, output: Arc<Output>) {
        let abort_unless_finished = AbortOnDrop(output.clone());
        let (dumps, mut outcomes) = self.run_commands().await;
        if self.render(dumps, &mut outcomes, &output).await {
            let mut tail = String::new();
            write_scrape_series(&outcomes, &mut tail);
            output.push(Bytes::from(tail));
            output.finish();
        }
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, &output)) {
            *current = None;
        }
        drop(abort_unless_finished);
    }

    /// Runs every family's save command concurrently.
    async fn run_commands(&self) -> (Vec<sandbox::Dump>, Vec<Outcome>) {
        let runs: Vec<_> = self
            .families
            .iter()
            .map(|(family, command)| {
                let command = command.clone();
                let run = tokio::spawn(async move {
                    let started = Instant::now();
                    let result = command.run().await;
                    (result, started.elapsed())
                });
                (*family, run)
            })
            .collect();

        let mut outcomes = Vec::with_capacity(runs.len());
        let mut dumps = Vec::with_capacity(runs.len());
        for (family, run) in runs {
            let mut outcome = Outcome {
                family,
                success: false,
                duration: Duration::ZERO,
                incompatible_tables: None,
            };
            match run.await {
                Ok((Ok(output), duration)) => {
                    outcome.duration = duration;
                    if !output.stderr.is_empty() {
                        // Debug formatting escapes it: the command's text must
                        // not start log lines of its own.
                        tracing::warn!(%family, stderr = ?output.stderr, "save command wrote to stderr");
                    }
                    dumps.push(sandbox::Dump {
                        family,
                        save_output: output.stdout,
                    });
                }
                Ok((Err(err), duration)) => {
                    outcome.duration = duration;
                    tracing::error!(%family, %err, "collection failed");
                }
                Err(err) => tracing::error!(%family, %err, "save command task failed"),
            }
            outcomes.push(outcome);
        }
        (dumps, outcomes)
    }

    /// Renders the dumps into `output` and marks the families that parsed as
    /// successful. Returns false when the output must be aborted: the
    /// component failed after some of a family's text had been handed out.
    async fn render(
        &self,
        dumps: Vec<sandbox::Dump>,
        outcomes: &mut [Outcome],
        output: &Arc<Output>,
    ) -> bool {
        if dumps.is_empty() {
            return true;
        }
        let sandbox = self.sandbox.clone();
        let sink = output.clone();
        let chunk_bytes = self.chunk_bytes;
        let rendered = tokio::task::spawn_blocking(move || {
            sandbox.render_families(dumps, chunk_bytes, |piece| sink.push(Bytes::from(piece)))
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
                    outcome.success = true;
                    outcome.incompatible_tables = Some(stats.incompatible_tables.len());
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

fn write_scrape_series(outcomes: &[Outcome], out: &mut String) {
    let mut success = MetricWriter::new(out, &SCRAPE_SUCCESS);
    for o in outcomes {
        success.sample(&[("family", o.family.label())], u64::from(o.success));
    }
    let mut duration = MetricWriter::new(out, &SCRAPE_DURATION);
    for o in outcomes {
        duration.sample(&[("family", o.family.label())], o.duration.as_secs_f64());
    }
    let mut incompatible = MetricWriter::new(out, &INCOMPATIBLE_TABLES);
    for o in outcomes {
        if let Some(tables) = o.incompatible_tables {
            incompatible.sample(&[("family", o.family.label())], tables as u64);
        }
    }
}
