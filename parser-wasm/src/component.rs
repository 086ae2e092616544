//! The component's exports: WIT types ↔ the library's types, nothing more.

/// The generated canonical-ABI glue, the only place `unsafe` is allowed.
#[allow(unsafe_code)]
mod bindings {
    wit_bindgen::generate!({
        world: "parser",
        path: "../wit",
    });

    use super::Component;
    export!(Component with_types_in self);
}

use crate::render::Pieces;
use crate::{ParseError, Ruleset, RulesetMetric};
use bindings::exports::iptables_exporter::parser::metrics::{self as wit, Guest, GuestRenderer};
use exposition::Family;
use std::cell::RefCell;

struct Component;

impl Guest for Component {
    type Renderer = Renderer;

    fn render(dumps: Vec<wit::Dump>) -> wit::Rendering {
        let native: Vec<crate::Dump<'_>> = dumps
            .iter()
            .map(|dump| crate::Dump {
                family: family_from_wit(dump.family),
                save_output: &dump.save_output,
                timestamp_ms: dump.timestamp_ms,
            })
            .collect();
        let rendering = crate::render_dumps(&native);
        wit::Rendering {
            exposition: rendering.exposition,
            results: rendering.results.into_iter().map(result_to_wit).collect(),
        }
    }

    fn header(metric: wit::Metric) -> String {
        let mut header = String::new();
        exposition::write_header(&mut header, metric_from_wit(metric).metric());
        header
    }
}

/// A parsed dump that owns its bytes: the ruleset borrows names and rule
/// texts from them for as long as the resource lives.
mod parsed {
    use crate::{ParseError, Ruleset};

    pub type Parse<'a> = Result<Ruleset<'a>, ParseError>;

    self_cell::self_cell!(
        pub struct ParsedDump {
            owner: Vec<u8>,
            #[covariant]
            dependent: Parse,
        }
    );
}

/// The streaming renderer of one family: its parsed dump and how far its
/// pieces have been handed out.
struct Renderer {
    family: Family,
    timestamp_ms: Option<i64>,
    parsed: parsed::ParsedDump,
    pieces: RefCell<Pieces>,
}

impl GuestRenderer for Renderer {
    fn new(dump: wit::Dump) -> Self {
        Renderer {
            family: family_from_wit(dump.family),
            timestamp_ms: dump.timestamp_ms,
            parsed: parsed::ParsedDump::new(dump.save_output, |bytes| crate::parse(bytes)),
            pieces: RefCell::new(Pieces::default()),
        }
    }

    fn outcome(&self) -> Result<wit::Stats, wit::ParseError> {
        let parsed: &Result<Ruleset<'_>, ParseError> = self.parsed.borrow_dependent();
        result_to_wit(parsed.as_ref().map(Ruleset::stats).map_err(Clone::clone))
    }

    fn next_chunk(&self, metric: wit::Metric, min_bytes: u32) -> String {
        let Ok(ruleset) = self.parsed.borrow_dependent() else {
            return String::new();
        };
        let budget = usize::try_from(min_bytes).unwrap_or(usize::MAX);
        let source = crate::Source {
            timestamp_ms: self.timestamp_ms,
            ..crate::Source::new(self.family, ruleset)
        };
        self.pieces
            .borrow_mut()
            .next(source, metric_from_wit(metric), budget)
    }
}

fn result_to_wit(
    result: Result<crate::Stats, crate::ParseError>,
) -> Result<wit::Stats, wit::ParseError> {
    match result {
        Ok(stats) => Ok(wit::Stats {
            tables: saturate(stats.tables),
            chains: saturate(stats.chains),
            rules: saturate(stats.rules),
            incompatible_tables: stats.incompatible_tables,
        }),
        Err(err) => Err(wit::ParseError {
            line: saturate(err.line),
            message: err.kind.to_string(),
        }),
    }
}

fn family_from_wit(family: wit::Family) -> Family {
    match family {
        wit::Family::Ipv4 => Family::Ipv4,
        wit::Family::Ipv6 => Family::Ipv6,
    }
}

fn metric_from_wit(metric: wit::Metric) -> RulesetMetric {
    match metric {
        wit::Metric::DefaultPackets => RulesetMetric::DefaultPackets,
        wit::Metric::DefaultBytes => RulesetMetric::DefaultBytes,
        wit::Metric::RulePackets => RulesetMetric::RulePackets,
        wit::Metric::RuleBytes => RulesetMetric::RuleBytes,
        wit::Metric::Rules => RulesetMetric::Rules,
    }
}

fn saturate(n: impl TryInto<u32>) -> u32 {
    n.try_into().unwrap_or(u32::MAX)
}
