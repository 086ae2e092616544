//! Parser for `iptables-save -c` / `ip6tables-save -c` output and renderer of
//! the Prometheus series the metrics contract (`../shared/spec/metrics.md`)
//! defines for it.
//!
//! The same code is a native library (tests, benchmarks, the host's own
//! exposition helpers) and, built for `wasm32-wasip2`, the sandboxed
//! component the exporter runs on every scrape.
//!
//! # Layout
//! - [`lines`]: bytes → numbered lines (LF, CRLF, no final newline).
//! - [`syntax`]: one line → a borrowed `Line` (table, chain, rule, commit).
//! - [`counters`]: `[P:B]` and inline `-c P B` → checked `u64`s.
//! - [`ruleset`]: lines → tables, chains and rules; duplicates summed.
//! - [`render`]: rulesets → exposition text.
//! - [`exposition`]: the text format's headers, escaping and samples.
//! - [`error`]: `ParseError { line, kind }`.
//! - `component`: wasm32 only, the WIT exports.
//!
//! Parsing and rendering are separate steps so that a ruleset analyzer can
//! use the parsed model without the metrics.

#[doc(hidden)]
pub mod check;
pub mod counters;
pub mod error;
pub mod exposition;
pub mod lines;
pub mod render;
pub mod ruleset;
pub mod syntax;

// The bindings wit-bindgen generates use `unsafe` for the canonical ABI.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod component;

pub use error::{ErrorKind, ParseError};
pub use ruleset::{Ruleset, Stats, parse};

/// Which save command a dump came from; the `family` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    pub fn label(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }

    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.label() == label)
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One family's raw save output.
#[derive(Debug, Clone, Copy)]
pub struct Dump<'a> {
    pub family: Family,
    pub save_output: &'a [u8],
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

/// Parses every dump and renders those that parsed, in the order given.
///
/// This is the whole job of the component; natively it is what tests and
/// benchmarks compare the component against.
pub fn render_dumps(dumps: &[Dump<'_>]) -> Rendering {
    let parsed = parse_dumps(dumps.iter().copied());
    let input_len: usize = dumps.iter().map(|d| d.save_output.len()).sum();
    let mut exposition =
        String::with_capacity(input_len.saturating_mul(OUTPUT_PER_INPUT_TIMES_2) / 2);
    render::render(&parsed.rulesets(), &mut exposition);
    Rendering {
        exposition,
        results: parsed.results,
    }
}

/// Every dump parsed: the rulesets of those that parsed, and one result per dump.
pub struct Parsed<'a> {
    pub rulesets: Vec<(Family, Ruleset<'a>)>,
    pub results: Vec<Result<Stats, ParseError>>,
}

impl<'a> Parsed<'a> {
    /// The rulesets as the renderer takes them.
    pub fn rulesets(&self) -> Vec<(Family, &Ruleset<'a>)> {
        self.rulesets.iter().map(|(f, r)| (*f, r)).collect()
    }
}

/// Parses each dump. A family given twice fails the second time (line 0),
/// since its series would repeat.
pub fn parse_dumps<'a>(dumps: impl IntoIterator<Item = Dump<'a>>) -> Parsed<'a> {
    let mut rulesets: Vec<(Family, Ruleset<'a>)> = Vec::new();
    let mut results = Vec::new();
    for dump in dumps {
        let result = if rulesets.iter().any(|(f, _)| *f == dump.family) {
            Err(ParseError::new(0, ErrorKind::DuplicateFamily))
        } else {
            parse(dump.save_output).map(|ruleset| {
                let stats = ruleset.stats();
                rulesets.push((dump.family, ruleset));
                stats
            })
        };
        results.push(result);
    }
    Parsed { rulesets, results }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_family_leaves_no_series_and_others_render() {
        let good = b"*filter\n:INPUT ACCEPT [1:2]\nCOMMIT\n";
        let bad = b"*filter\n:INPUT ACCEPT [1:2]\n[3:x] -A INPUT\nCOMMIT\n";
        let rendering = render_dumps(&[
            Dump {
                family: Family::Ipv4,
                save_output: bad,
            },
            Dump {
                family: Family::Ipv6,
                save_output: good,
            },
        ]);
        assert_eq!(rendering.results[0].as_ref().map_err(|e| e.line), Err(3));
        assert!(rendering.results[1].is_ok());
        assert!(!rendering.exposition.contains("ipv4"));
        assert!(rendering.exposition.contains(r#"family="ipv6""#));
    }

    #[test]
    fn family_given_twice_is_rejected() {
        let dump = Dump {
            family: Family::Ipv4,
            save_output: b"*filter\n:INPUT ACCEPT [1:2]\nCOMMIT\n",
        };
        let rendering = render_dumps(&[dump, dump]);
        assert!(rendering.results[0].is_ok());
        assert_eq!(
            rendering.results[1],
            Err(ParseError::new(0, ErrorKind::DuplicateFamily))
        );
        assert_eq!(rendering.exposition.matches("iptables_rules{").count(), 1);
    }

    #[test]
    fn family_labels_round_trip() {
        for family in Family::ALL {
            assert_eq!(Family::from_label(family.label()), Some(family));
        }
        assert_eq!(Family::from_label("ipv5"), None);
    }
}
