//! Parser for `iptables-save -c` / `ip6tables-save -c` output and renderer of
//! the Prometheus series the metrics contract (`docs/metrics.md`) defines
//! for it.
//!
//! Built for `wasm32-wasip2` this is the sandboxed component the exporter
//! runs on every scrape; natively it is a plain library for the tests, the
//! benchmarks and the fuzzers. The exporter's host never links it: it only
//! talks to the component.
//!
//! # Layout
//! - [`lines`]: bytes → numbered lines (LF, CRLF, no final newline).
//! - [`syntax`]: one line → a borrowed `Line` (table, chain, rule, commit).
//! - [`counters`]: `[P:B]` and inline `-c P B` → checked `u64`s.
//! - [`ruleset`]: lines → tables, chains and rules; duplicates summed.
//! - [`words`]: a rule's text as words, quoted ones unquoted.
//! - [`options`]: a rule's text as options with their arguments, knowing
//!   which options take arguments.
//! - [`comment`]: a rule's `--comment`, unquoted.
//! - [`select`]: the cardinality controls, applied to a parsed ruleset.
//! - [`render`]: rulesets → exposition text in either format, whole or in
//!   pieces.
//! - [`error`]: `ParseError { line, kind }`.
//! - [`nft`]: native nftables listings (`nft -j`).
//! - [`netlink`]: iptables-nft's counters from netlink replies.
//! - [`ipset`]: `ipset list` output → the `ipset_*` series.
//! - [`analyze`]: a dump as a ruleset analyzer sees it: every rule as
//!   written, the jumps between chains, diagnostics.
//! - [`trace`]: a packet traced through a dump's chains to a verdict.
//! - `component`: wasm32 only, the WIT exports.
//! - `check` (feature `fuzzing`, and in tests): properties every input must
//!   keep, shared by the fuzz targets and the property tests.
//!
//! Parsing and rendering are separate steps so that a ruleset analyzer can
//! use the parsed model without the metrics.

pub mod analyze;
#[cfg(any(test, feature = "fuzzing"))]
pub mod check;
pub mod comment;
pub mod counters;
pub mod error;
pub mod ipset;
pub mod lines;
pub mod netlink;
pub mod nft;
pub mod options;
pub mod render;
pub mod ruleset;
pub mod select;
pub mod syntax;
pub mod trace;
pub mod words;

#[cfg(target_arch = "wasm32")]
mod component;

pub use error::{ErrorKind, ParseError};
pub use exposition::{Family, Format, RulesetMetric};
pub use render::Source;
pub use ruleset::{Ruleset, Stats, parse};
pub use select::Selection;

/// How to render: the format and which series to keep.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub format: Format,
    pub selection: Selection,
    /// Whether rule series carry their rule's comment as a `comment` label.
    pub comment_label: bool,
}

/// One family's raw save output.
#[derive(Debug, Clone, Copy)]
pub struct Dump<'a> {
    pub family: Family,
    pub save_output: &'a [u8],
    /// When given, every sample of the family carries it (milliseconds
    /// since the Unix epoch): the time the counters were read.
    pub timestamp_ms: Option<i64>,
}

impl<'a> Dump<'a> {
    /// A dump rendered without timestamps.
    pub fn new(family: Family, save_output: &'a [u8]) -> Self {
        Self {
            family,
            save_output,
            timestamp_ms: None,
        }
    }
}

/// The exposition for every dump that parsed, and one result per dump.
#[derive(Debug, PartialEq, Eq)]
pub struct Rendering {
    pub exposition: String,
    pub results: Vec<Result<Stats, ParseError>>,
}

/// Output bytes per input byte reserved up front, times two: every rule is
/// written twice (packets, bytes) with labels around it; kube-proxy-like
/// dumps measure 3.1.
const OUTPUT_PER_INPUT_TIMES_2: usize = 7;

/// Parses every dump and renders those that parsed, in the order given, in
/// one piece, with the default options: text format, every series.
/// The tables a dump shows (its `*TABLE` lines, in order, each once),
/// without reading the rest: what the nftables source must not list again.
pub fn tables_shown(input: &[u8]) -> Vec<String> {
    let mut shown: Vec<String> = Vec::new();
    for (_, line) in lines::Lines::new(input) {
        if let Ok(syntax::Line::Table(name)) = syntax::classify(line) {
            let name = syntax::lossy(name).into_owned();
            if !shown.contains(&name) {
                shown.push(name);
            }
        }
    }
    shown
}

pub fn render_dumps(dumps: &[Dump<'_>]) -> Rendering {
    render_dumps_with(dumps, &Options::default())
}

/// Parses every dump and renders those that parsed, in the order given, in
/// one piece: the component's one-call `render`, and what tests and
/// benchmarks compare the streamed rendering against.
pub fn render_dumps_with(dumps: &[Dump<'_>], options: &Options) -> Rendering {
    let parsed = parse_dumps(dumps.iter().copied(), &options.selection);
    let input_len: usize = dumps.iter().map(|d| d.save_output.len()).sum();
    let mut exposition =
        String::with_capacity(input_len.saturating_mul(OUTPUT_PER_INPUT_TIMES_2) / 2);
    render::render(&parsed.rulesets(options), &mut exposition);
    Rendering {
        exposition,
        results: parsed.results,
    }
}

/// Every dump parsed: the rulesets of those that parsed (with their
/// dumps' timestamps), and one result per dump.
pub struct Parsed<'a> {
    pub rulesets: Vec<(Family, Ruleset<'a>, Option<i64>)>,
    pub results: Vec<Result<Stats, ParseError>>,
}

impl Parsed<'_> {
    /// The rulesets as the renderer takes them.
    pub fn rulesets(&self, options: &Options) -> Vec<Source<'_>> {
        self.rulesets
            .iter()
            .map(|(family, ruleset, timestamp_ms)| Source {
                timestamp_ms: *timestamp_ms,
                ..Source::new(*family, ruleset).with(options)
            })
            .collect()
    }
}

/// Parses each dump and keeps what `selection` keeps. A family given twice
/// fails the second time (line 0), since its series would repeat.
pub fn parse_dumps<'a>(
    dumps: impl IntoIterator<Item = Dump<'a>>,
    selection: &Selection,
) -> Parsed<'a> {
    let mut rulesets: Vec<(Family, Ruleset<'a>, Option<i64>)> = Vec::new();
    let mut results = Vec::new();
    for dump in dumps {
        let result = if rulesets.iter().any(|(f, ..)| *f == dump.family) {
            Err(ParseError::new(0, ErrorKind::DuplicateFamily))
        } else {
            parse(dump.save_output).map(|mut ruleset| {
                let mut stats = ruleset.stats();
                stats.rule_series_dropped = selection.apply(&mut ruleset);
                rulesets.push((dump.family, ruleset, dump.timestamp_ms));
                stats
            })
        };
        results.push(result);
    }
    Parsed { rulesets, results }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tables_a_dump_shows_are_its_table_lines_once_each() {
        let dump = b"# Table `mangle' is incompatible, use 'nft' tool.\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n*nat\nCOMMIT\n*filter\nCOMMIT\n";
        assert_eq!(super::tables_shown(dump), vec!["filter", "nat"]);
        assert!(super::tables_shown(b"").is_empty());
    }

    use super::*;

    #[test]
    fn failed_family_leaves_no_series_and_others_render() {
        let good = b"*filter\n:INPUT ACCEPT [1:2]\nCOMMIT\n";
        let bad = b"*filter\n:INPUT ACCEPT [1:2]\n[3:x] -A INPUT\nCOMMIT\n";
        let rendering =
            render_dumps(&[Dump::new(Family::Ipv4, bad), Dump::new(Family::Ipv6, good)]);
        assert_eq!(rendering.results[0].as_ref().map_err(|e| e.line), Err(3));
        assert!(rendering.results[1].is_ok());
        assert!(!rendering.exposition.contains("ipv4"));
        assert!(rendering.exposition.contains(r#"family="ipv6""#));
    }

    #[test]
    fn family_given_twice_is_rejected() {
        let dump = Dump::new(Family::Ipv4, b"*filter\n:INPUT ACCEPT [1:2]\nCOMMIT\n");
        let rendering = render_dumps(&[dump, dump]);
        assert!(rendering.results[0].is_ok());
        assert_eq!(
            rendering.results[1],
            Err(ParseError::new(0, ErrorKind::DuplicateFamily))
        );
        assert_eq!(rendering.exposition.matches("iptables_rules{").count(), 1);
    }
}
