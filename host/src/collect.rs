//! One collection: run every family's save command, render all outputs in
//! one component instance, streaming its text into a shared [`Output`], and
//! add each family's `iptables_scrape_success` and
//! `iptables_scrape_duration_seconds`. Scrapes that arrive while a
//! collection runs share it (single-flight).
//!
//! A failure is a value, not an HTTP error: the family reports success 0, its
//! cause is logged, and none of its series are exported. Parse errors are
//! known before any text is rendered; only a component failure in the middle
//! of rendering (a deadline, say) aborts the output, and with it the
//! responses reading it, rather than let them end as if complete.

use crate::command::SaveCommand;
use crate::flight::{AbortOnDrop, Output, Reader};
use crate::sandbox::{self, Sandbox};
use bytes::Bytes;
use parser_wasm::Family;
use parser_wasm::exposition::{Kind, Metric, MetricWriter};
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
            };
            match run.await {
                Ok((Ok(output), duration)) => {
                    outcome.duration = duration;
                    if !output.stderr.is_empty() {
                        tracing::warn!(%family, stderr = %output.stderr, "save command wrote to stderr");
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
    /// component failed after some of its text had been handed out.
    async fn render(
        &self,
        dumps: Vec<sandbox::Dump>,
        outcomes: &mut [Outcome],
        output: &Arc<Output>,
    ) -> bool {
        if dumps.is_empty() {
            return true;
        }
        let families: Vec<Family> = dumps.iter().map(|d| d.family).collect();
        let sandbox = self.sandbox.clone();
        let sink = output.clone();
        let chunk_bytes = self.chunk_bytes;
        let started = Instant::now();
        let rendered = tokio::task::spawn_blocking(move || {
            let mut handed_out = false;
            let result = sandbox.render_chunks(dumps, chunk_bytes, |chunk| {
                handed_out = true;
                sink.push(Bytes::from(chunk));
            });
            (result, handed_out)
        })
        .await;
        let render_time = started.elapsed();
        for outcome in outcomes.iter_mut().filter(|o| families.contains(&o.family)) {
            outcome.duration += render_time;
        }
        let results = match rendered {
            Ok((Ok(results), _)) => results,
            Ok((Err(err), handed_out)) => {
                tracing::error!(families = ?families, %err, handed_out, "rendering failed");
                return !handed_out;
            }
            Err(err) => {
                tracing::error!(families = ?families, %err, "rendering task failed");
                return false;
            }
        };
        for (family, result) in families.iter().zip(&results) {
            match result {
                Ok(stats) => {
                    tracing::debug!(%family, tables = stats.tables, chains = stats.chains, rules = stats.rules, "parsed");
                    if let Some(outcome) = outcomes.iter_mut().find(|o| o.family == *family) {
                        outcome.success = true;
                    }
                }
                Err(err) => tracing::error!(%family, %err, "save output rejected"),
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
}
