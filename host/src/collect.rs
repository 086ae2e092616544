//! One scrape: run every family's save command, render all outputs in one
//! component call, and add each family's `iptables_scrape_success` and
//! `iptables_scrape_duration_seconds`.
//!
//! A failure is a value, not an HTTP error: the family reports success 0, its
//! cause is logged, and none of its series are exported.

use crate::command::SaveCommand;
use crate::sandbox::{self, Sandbox};
use parser_wasm::Family;
use parser_wasm::exposition::{Kind, Metric, MetricWriter};
use std::sync::Arc;
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

pub struct Collector {
    families: Vec<(Family, SaveCommand)>,
    sandbox: Arc<Sandbox>,
}

/// How one family fared in a scrape.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    family: Family,
    success: bool,
    duration: Duration,
}

impl Collector {
    pub fn new(families: Vec<(Family, SaveCommand)>, sandbox: Arc<Sandbox>) -> Self {
        Self { families, sandbox }
    }

    /// Collects every configured family and returns the exposition text.
    pub async fn collect(&self) -> String {
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

        let mut exposition = self.render(dumps, &mut outcomes).await;
        write_scrape_series(&outcomes, &mut exposition);
        exposition
    }

    /// Renders the dumps and marks the families that parsed as successful.
    async fn render(&self, dumps: Vec<sandbox::Dump>, outcomes: &mut [Outcome]) -> String {
        if dumps.is_empty() {
            return String::new();
        }
        let families: Vec<Family> = dumps.iter().map(|d| d.family).collect();
        let sandbox = self.sandbox.clone();
        let started = Instant::now();
        let rendered = tokio::task::spawn_blocking(move || sandbox.render(dumps)).await;
        let render_time = started.elapsed();
        for outcome in outcomes.iter_mut().filter(|o| families.contains(&o.family)) {
            outcome.duration += render_time;
        }
        let rendering = match rendered {
            Ok(Ok(rendering)) => rendering,
            Ok(Err(err)) => {
                tracing::error!(families = ?families, %err, "rendering failed");
                return String::new();
            }
            Err(err) => {
                tracing::error!(families = ?families, %err, "rendering task failed");
                return String::new();
            }
        };
        for (family, result) in families.iter().zip(&rendering.results) {
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
        rendering.exposition
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
