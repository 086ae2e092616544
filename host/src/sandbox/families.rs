//! One collection's families rendered at once, each in an instance of
//! its own on a thread of its own, their pieces handed out in exposition
//! order: each metric's samples together, family after family, with the
//! metric's header before its first sample.

use super::engine::{Deadline, HOSTCALL_SLACK_BYTES};
use super::wit::{dump_to_wit, failure_from_wit, metric_to_wit, metrics, options_to_wit};
use super::{Aborted, Dump, Error, Failure, FamilyReport, Options, Sandbox, Stats};
use exposition::{Family, RulesetMetric};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest line a byte of input can become: a byte that is not UTF-8
/// is replaced by U+FFFD (3 bytes); escaping makes `"` and `\` 2 bytes.
const OUTPUT_PER_INPUT_BYTE: usize = 3;
/// A sample line's text that does not come from the input (metric name,
/// label names, value), and the metric's `# HELP`/`# TYPE` lines.
const LINE_OVERHEAD_BYTES: usize = 4096;

impl Sandbox {
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
