//! The component's exports: WIT types ↔ the library's types, nothing more.
//! It is built for the `analyzer` world, a superset of the `parser` world
//! the host uses, so that the host and the browser run the same component.

/// The generated canonical-ABI glue, the only place `unsafe` is allowed.
#[allow(unsafe_code)]
mod bindings {
    wit_bindgen::generate!({
        world: "analyzer",
        path: "../wit",
    });

    use super::Component;
    export!(Component with_types_in self);
}

use crate::render::Pieces;
use crate::select::{Anchor, Filter, Filtered, OptionError, Pattern, Rules, Selection};
use crate::{ErrorKind, Options, ParseError, Ruleset, RulesetMetric};
use bindings::exports::iptables_exporter::parser::metrics::{self as wit, Guest, GuestRenderer};
use exposition::{Family, Format};
use std::cell::RefCell;

struct Component;

impl Guest for Component {
    type Renderer = Renderer;

    fn render(dumps: Vec<wit::Dump>, options: wit::Options) -> wit::Rendering {
        let options = match options_from_wit(&options) {
            Ok(options) => options,
            Err(err) => {
                let failed = |_| result_to_wit(Err(bad_option(&err)));
                return wit::Rendering {
                    exposition: String::new(),
                    results: dumps.iter().map(failed).collect(),
                };
            }
        };
        let native: Vec<crate::Dump<'_>> = dumps
            .iter()
            .map(|dump| crate::Dump {
                family: family_from_wit(dump.family),
                save_output: &dump.save_output,
                timestamp_ms: dump.timestamp_ms,
            })
            .collect();
        let rendering = crate::render_dumps_with(&native, &options);
        wit::Rendering {
            exposition: rendering.exposition,
            results: rendering.results.into_iter().map(result_to_wit).collect(),
        }
    }

    fn tables_shown(save_output: Vec<u8>) -> Vec<String> {
        crate::tables_shown(&save_output)
    }

    fn check_options(options: wit::Options) -> Result<(), wit::OptionError> {
        options_from_wit(&options)
            .map(drop)
            .map_err(|err| wit::OptionError {
                name: option_name_to_wit(err.filtered, err.pattern),
                message: err.message,
            })
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

/// The streaming renderer of one family: its parsed dump with what the
/// options keep, and how far its pieces have been handed out.
struct Renderer {
    family: Family,
    timestamp_ms: Option<i64>,
    options: Options,
    parsed: parsed::ParsedDump,
    /// Rules the options' limit dropped.
    dropped: u64,
    /// Tables with a `*TABLE` block, before the options left any out.
    tables_shown: Vec<String>,
    pieces: RefCell<Pieces>,
}

impl GuestRenderer for Renderer {
    fn new(dump: wit::Dump, options: wit::Options) -> Self {
        let options = options_from_wit(&options);
        let mut dropped = 0;
        let mut tables_shown = Vec::new();
        let family = family_from_wit(dump.family);
        let parsed = parsed::ParsedDump::new(dump.save_output, |bytes| {
            let options = options.as_ref().map_err(bad_option)?;
            let mut ruleset = crate::parse(bytes)?;
            tables_shown = ruleset.stats().tables_shown;
            dropped = options.selection.apply(&mut ruleset);
            // Proven to fit before any text is handed out: grown here, the
            // memory for the longest line either exists (and is reused by
            // the pieces) or the limit stops this family now, while the
            // others are still whole. A failure in the middle of the text
            // would cost every family of the answer.
            let room =
                crate::render::piece_room(&crate::Source::new(family, &ruleset).with(options));
            std::hint::black_box(Vec::<u8>::with_capacity(room));
            Ok(ruleset)
        });
        Renderer {
            family,
            timestamp_ms: dump.timestamp_ms,
            options: options.unwrap_or_default(),
            parsed,
            dropped,
            tables_shown,
            pieces: RefCell::new(Pieces::default()),
        }
    }

    fn outcome(&self) -> Result<wit::Stats, wit::ParseError> {
        let parsed: &Result<Ruleset<'_>, ParseError> = self.parsed.borrow_dependent();
        let stats = parsed.as_ref().map(|ruleset| crate::Stats {
            rule_series_dropped: self.dropped,
            tables_shown: self.tables_shown.clone(),
            ..ruleset.stats()
        });
        result_to_wit(stats.map_err(Clone::clone))
    }

    fn next_chunk(&self, metric: wit::Metric, min_bytes: u32) -> String {
        let Ok(ruleset) = self.parsed.borrow_dependent() else {
            return String::new();
        };
        let budget = usize::try_from(min_bytes).unwrap_or(usize::MAX);
        let source = crate::Source {
            timestamp_ms: self.timestamp_ms,
            ..crate::Source::new(self.family, ruleset).with(&self.options)
        };
        self.pieces
            .borrow_mut()
            .next(source, metric_from_wit(metric), budget)
    }
}

/// The `nftables` interface: a listing in, its series out.
mod nftables {
    use super::bindings::exports::iptables_exporter::parser::nftables::{self as wit, Guest};
    use super::{Component, options_from_wit};
    use crate::nft::{self, ListingErrorKind};

    /// A listing's error as the contract has it.
    pub(super) fn listing_error_to_wit(err: &nft::ListingError) -> wit::ListingError {
        wit::ListingError {
            message: err.to_string(),
            kind: match err.kind {
                ListingErrorKind::Empty => wit::ErrorKind::Empty,
                ListingErrorKind::Truncated => wit::ErrorKind::Truncated,
                ListingErrorKind::NotJson => wit::ErrorKind::NotJson,
                ListingErrorKind::NotAListing => wit::ErrorKind::NotAListing,
            },
            line: err.line,
            column: err.column,
        }
    }

    impl Guest for Component {
        fn tables(listing: Vec<u8>) -> Result<Vec<wit::TableId>, wit::ListingError> {
            let tables =
                nft::listing::tables(&listing).map_err(|err| listing_error_to_wit(&err))?;
            Ok(tables
                .into_iter()
                .map(|(family, name)| wit::TableId { family, name })
                .collect())
        }

        fn render(
            listing: wit::Listing,
            settings: wit::Settings,
        ) -> Result<wit::Rendered, wit::ListingError> {
            let options =
                options_from_wit(&settings.selection).map_err(|err| wit::ListingError {
                    kind: wit::ErrorKind::BadOption,
                    line: 0,
                    column: 0,
                    message: err.to_string(),
                })?;
            let parsed = nft::parse(&listing.output).map_err(|err| listing_error_to_wit(&err))?;
            // The bytes are no longer needed: give their memory to the text.
            drop(listing.output);
            let options = nft::Options {
                format: options.format,
                selection: options.selection,
                comment_label: options.comment_label,
                set_elements: settings.set_elements,
                left_to_iptables: settings
                    .left_to_iptables
                    .into_iter()
                    .map(|t| (t.family, t.name))
                    .collect(),
                timestamp_ms: listing.timestamp_ms,
            };
            let (exposition, stats) = nft::render::render(&parsed, &options);
            Ok(wit::Rendered {
                exposition,
                stats: wit::Stats {
                    tables: stats.tables,
                    chains: stats.chains,
                    rules: stats.rules,
                    sets: stats.sets,
                    left_to_iptables: stats.left_to_iptables,
                    rule_series_dropped: stats.rule_series_dropped,
                    findings: stats.findings,
                    version: parsed.version.clone(),
                },
            })
        }
    }
}

/// The `ipset` interface: `ipset list` output in, its series out.
mod ipset {
    use super::Component;
    use super::bindings::exports::iptables_exporter::parser::ipset::{self as wit, Guest};
    use crate::ipset::{self, ErrorKind, SourceError};
    use crate::select::{Anchor, Filter, Filtered};

    fn error_to_wit(err: SourceError) -> wit::ListingError {
        wit::ListingError {
            kind: match err.error.kind {
                ErrorKind::Truncated => wit::ErrorKind::Truncated,
                ErrorKind::BadLine => wit::ErrorKind::BadLine,
                ErrorKind::BadNumber => wit::ErrorKind::BadNumber,
                ErrorKind::DuplicateSet => wit::ErrorKind::DuplicateSet,
            },
            line: err.error.line,
            // The line is a field of its own (the host prints it first).
            message: match &err.listing {
                None => format!("ipset list -t: {}", err.error.message),
                Some(set) => format!("ipset list {set}: {}", err.error.message),
            },
            listing: err.listing,
        }
    }

    fn options_from_wit(
        settings: &wit::Settings,
        timestamp_ms: Option<i64>,
    ) -> Result<ipset::Options, wit::ListingError> {
        // `Filtered` names the filters of `metrics.options`; the error is
        // named here, after this one's own name.
        let sets = Filter::new(
            Filtered::Tables,
            settings.sets.include.as_deref(),
            settings.sets.exclude.as_deref(),
            Anchor::WholeName,
        )
        .map_err(|err| wit::ListingError {
            kind: wit::ErrorKind::BadOption,
            listing: None,
            line: 0,
            message: format!("sets.{}: {}", err.pattern.name(), err.message),
        })?;
        Ok(ipset::Options {
            format: super::format_from_wit(settings.format),
            sets,
            element_counters: settings.element_counters,
            max_element_series: settings.max_element_series.map(u64::from),
            timestamp_ms,
        })
    }

    impl Guest for Component {
        fn sets(listing: Vec<u8>) -> Result<Vec<wit::SetSummary>, wit::ListingError> {
            // The analyzer says the line itself: the message alone.
            let summaries = ipset::summaries(&listing).map_err(|err| wit::ListingError {
                message: err.error.message.clone(),
                ..error_to_wit(err)
            })?;
            Ok(summaries
                .into_iter()
                .map(|s| wit::SetSummary {
                    name: s.name,
                    kind: s.kind,
                    entries: s.entries,
                    max_entries: s.max_entries,
                    memory_bytes: s.memory_bytes,
                    references: s.references,
                })
                .collect())
        }

        fn member_listings(
            headers: Vec<u8>,
            settings: wit::Settings,
        ) -> Result<Vec<String>, wit::ListingError> {
            let options = options_from_wit(&settings, None)?;
            ipset::member_listings(&headers, &options).map_err(error_to_wit)
        }

        fn render(
            listing: wit::Listing,
            settings: wit::Settings,
        ) -> Result<wit::Rendered, wit::ListingError> {
            let options = options_from_wit(&settings, listing.timestamp_ms)?;
            let members: Vec<ipset::MemberListing<'_>> = listing
                .members
                .iter()
                .map(|m| ipset::MemberListing {
                    set: &m.set,
                    output: &m.output,
                })
                .collect();
            let (exposition, stats) = ipset::render_listing(&listing.headers, &members, &options)
                .map_err(error_to_wit)?;
            Ok(wit::Rendered {
                exposition,
                stats: wit::Stats {
                    sets: stats.sets,
                    counted: stats.counted,
                    uncounted: stats.uncounted,
                    unknown_types: stats.unknown_types,
                    element_series_dropped: stats.element_series_dropped,
                    findings: stats.findings,
                },
            })
        }
    }
}

/// The `netlink` interface: iptables-nft's counters from the kernel's
/// replies, into a kept save output.
mod netlink {
    use super::Component;
    use super::bindings::exports::iptables_exporter::parser::netlink::{self as wit, Guest};
    use crate::netlink::{self, RefreshError, RefreshErrorKind};

    fn error_to_wit(err: RefreshError) -> wit::RefreshError {
        wit::RefreshError {
            kind: match err.kind {
                RefreshErrorKind::MalformedReply => wit::RefreshErrorKind::MalformedReply,
                RefreshErrorKind::Mismatch => wit::RefreshErrorKind::Mismatch,
                RefreshErrorKind::Counters => wit::RefreshErrorKind::Counters,
                RefreshErrorKind::KeptText => wit::RefreshErrorKind::KeptText,
            },
            message: err.message,
        }
    }

    impl Guest for Component {
        fn chains(replies: Vec<u8>) -> Result<Vec<wit::ChainId>, wit::RefreshError> {
            let chains = netlink::chains(&replies).map_err(error_to_wit)?;
            Ok(chains
                .into_iter()
                .map(|c| wit::ChainId {
                    table: c.id.table,
                    chain: c.id.chain,
                })
                .collect())
        }

        fn refresh(
            kept: Vec<u8>,
            chain_replies: Vec<u8>,
            rule_replies: Vec<u8>,
        ) -> Result<Vec<u8>, wit::RefreshError> {
            netlink::refresh(&kept, &chain_replies, &rule_replies).map_err(error_to_wit)
        }
    }
}

mod analysis {
    use super::bindings::exports::iptables_exporter::parser::analysis::{
        self as wit, GuestNftRuleset, GuestRuleset,
    };
    use super::bindings::exports::iptables_exporter::parser::metrics::ParseError;
    use super::bindings::exports::iptables_exporter::parser::nftables::ListingError;
    use super::nftables::listing_error_to_wit;
    use super::{Component, parse_error_to_wit, saturate};
    use crate::analyze::{self, Code, Details, Outline, Severity};
    use crate::counters::Counters;
    use crate::nft::analyze::{NftAnalysis, ObjectKind};
    use crate::trace;
    use std::cell::OnceCell;

    impl wit::Guest for Component {
        type Ruleset = Ruleset;
        type NftRuleset = NftRuleset;
    }

    /// The outline at once; the rest when first asked for, so that an
    /// analyzer has the tree of a big dump before every rule is read.
    pub struct Ruleset {
        input: Vec<u8>,
        outline: Outline,
        details: OnceCell<Details>,
    }

    impl Ruleset {
        fn details(&self) -> &Details {
            self.details
                .get_or_init(|| self.outline.details(&self.input))
        }
    }

    impl GuestRuleset for Ruleset {
        fn new(save_output: Vec<u8>) -> Self {
            Self {
                outline: analyze::outline(&save_output),
                input: save_output,
                details: OnceCell::new(),
            }
        }

        fn error(&self) -> Option<ParseError> {
            self.outline.error.as_ref().map(parse_error_to_wit)
        }

        fn tables(&self) -> Vec<wit::Table> {
            tables(&self.outline.tables)
        }

        fn rule_count(&self) -> u32 {
            saturate(self.outline.rule_count())
        }

        fn rules(&self, start: u32, count: u32) -> Vec<wit::Rule> {
            rules(&self.outline.tables, self.details(), start, count)
        }

        fn edges(&self) -> Vec<wit::Edge> {
            edges(&self.outline.tables, self.details())
        }

        fn diagnostic_count(&self) -> u32 {
            saturate(self.details().diagnostics.len())
        }

        fn diagnostics(&self, start: u32, count: u32) -> Vec<wit::Diagnostic> {
            diagnostics(self.details(), start, count)
        }

        fn trace(&self, packet: wit::Packet) -> Result<wit::Trace, String> {
            let packet = trace::Packet {
                hook: match packet.hook {
                    wit::Hook::Prerouting => trace::Hook::Prerouting,
                    wit::Hook::Input => trace::Hook::Input,
                    wit::Hook::Forward => trace::Hook::Forward,
                    wit::Hook::Output => trace::Hook::Output,
                    wit::Hook::Postrouting => trace::Hook::Postrouting,
                },
                source: packet.source,
                destination: packet.destination,
                protocol: packet.protocol,
                source_port: packet.source_port,
                destination_port: packet.destination_port,
                in_interface: packet.in_interface,
                out_interface: packet.out_interface,
                ctstate: packet.ctstate,
            };
            let tables = &self.outline.tables;
            let traced = trace::trace(tables, &self.details().rules, &packet)
                .map_err(|err| err.to_string())?;
            Ok(wit::Trace {
                verdict: traced.verdict,
                certain: traced.certain,
                steps: traced
                    .steps
                    .into_iter()
                    .map(|step| wit::TraceStep {
                        line: saturate(step.line),
                        table: tables[step.table].name.clone(),
                        chain: tables[step.table].chains[step.chain].name.clone(),
                        position: saturate(step.position),
                        outcome: match step.outcome {
                            trace::Outcome::Matched => wit::TraceOutcome::Matched,
                            trace::Outcome::NotMatched => wit::TraceOutcome::NotMatched,
                            trace::Outcome::MayMatch => wit::TraceOutcome::MayMatch,
                        },
                        reason: step.reason,
                        target: step.target,
                    })
                    .collect(),
            })
        }
    }

    /// A listing is read whole at once: it is one JSON document, and its
    /// tree needs every item anyway.
    pub struct NftRuleset(NftAnalysis);

    impl GuestNftRuleset for NftRuleset {
        fn new(listing: Vec<u8>) -> Self {
            Self(crate::nft::analyze::analyze(&listing))
        }

        fn error(&self) -> Option<ListingError> {
            self.0.error.as_ref().map(listing_error_to_wit)
        }

        fn tables(&self) -> Vec<wit::Table> {
            tables(&self.0.tables)
        }

        fn rule_count(&self) -> u32 {
            saturate(self.0.details.rules.len())
        }

        fn rules(&self, start: u32, count: u32) -> Vec<wit::Rule> {
            rules(&self.0.tables, &self.0.details, start, count)
        }

        fn edges(&self) -> Vec<wit::Edge> {
            edges(&self.0.tables, &self.0.details)
        }

        fn objects(&self) -> Vec<wit::Object> {
            self.0
                .objects
                .iter()
                .map(|object| wit::Object {
                    table: self.0.tables[object.table].name.clone(),
                    kind: match object.kind {
                        ObjectKind::Set => wit::ObjectKind::Set,
                        ObjectKind::Map => wit::ObjectKind::Map,
                        ObjectKind::Meter => wit::ObjectKind::Meter,
                        ObjectKind::Counter => wit::ObjectKind::Counter,
                        ObjectKind::Quota => wit::ObjectKind::Quota,
                    },
                    name: object.name.clone(),
                    line: saturate(object.line),
                    elements: object.elements,
                    max_elements: object.max_elements,
                    counters: object.counters.map(counters),
                    quota_used: object.quota.map(|(used, _)| used),
                    quota_limit: object.quota.map(|(_, limit)| limit),
                })
                .collect()
        }

        fn diagnostic_count(&self) -> u32 {
            saturate(self.0.details.diagnostics.len())
        }

        fn diagnostics(&self, start: u32, count: u32) -> Vec<wit::Diagnostic> {
            diagnostics(&self.0.details, start, count)
        }
    }

    fn tables(tables: &[analyze::Table]) -> Vec<wit::Table> {
        tables
            .iter()
            .map(|table| wit::Table {
                name: table.name.clone(),
                line: saturate(table.line),
                chains: table
                    .chains
                    .iter()
                    .map(|chain| wit::Chain {
                        name: chain.name.clone(),
                        line: saturate(chain.line),
                        builtin: chain.builtin(),
                        policies: chain
                            .policies
                            .iter()
                            .map(|p| wit::Policy {
                                line: saturate(p.line),
                                name: p.name.clone(),
                                counters: p.counters.map(counters),
                            })
                            .collect(),
                        rules: saturate(chain.rules),
                        base: chain.base.clone(),
                    })
                    .collect(),
            })
            .collect()
    }

    fn rules(
        tables: &[analyze::Table],
        details: &Details,
        start: u32,
        count: u32,
    ) -> Vec<wit::Rule> {
        page(&details.rules, start, count)
            .iter()
            .map(|rule| {
                let table = &tables[rule.table];
                wit::Rule {
                    line: saturate(rule.line),
                    table: table.name.clone(),
                    chain: table.chains[rule.chain].name.clone(),
                    position: saturate(rule.position),
                    text: rule.text.clone(),
                    target: rule.target.as_ref().map(|t| t.name.clone()),
                    goto: rule.target.as_ref().is_some_and(|t| t.goto),
                    counters: rule.counters.map(counters),
                    sets: rule.sets.clone(),
                }
            })
            .collect()
    }

    fn edges(tables: &[analyze::Table], details: &Details) -> Vec<wit::Edge> {
        details
            .edges
            .iter()
            .map(|edge| {
                let table = &tables[edge.table];
                wit::Edge {
                    table: table.name.clone(),
                    from_chain: table.chains[edge.from].name.clone(),
                    to_chain: table.chains[edge.to].name.clone(),
                    line: saturate(edge.line),
                    goto: edge.goto,
                }
            })
            .collect()
    }

    fn diagnostics(details: &Details, start: u32, count: u32) -> Vec<wit::Diagnostic> {
        page(&details.diagnostics, start, count)
            .iter()
            .map(|d| wit::Diagnostic {
                line: saturate(d.line),
                column: saturate(d.column),
                severity: match d.code.severity() {
                    Severity::Error => wit::Severity::Error,
                    Severity::Warning => wit::Severity::Warning,
                    Severity::Info => wit::Severity::Info,
                },
                code: code_to_wit(d.code),
                message: d.message.clone(),
            })
            .collect()
    }

    fn code_to_wit(code: Code) -> wit::DiagnosticCode {
        use wit::DiagnosticCode as W;
        match code {
            Code::ParseError => W::ParseError,
            Code::JumpToUndeclaredChain => W::JumpToUndeclaredChain,
            Code::UnreferencedChain => W::UnreferencedChain,
            Code::UnreachableRule => W::UnreachableRule,
            Code::DuplicateRule => W::DuplicateRule,
            Code::NeverMatched => W::NeverMatched,
            Code::InvalidUtf8 => W::InvalidUtf8,
            Code::UnknownItem => W::UnknownItem,
            Code::UnknownExpression => W::UnknownExpression,
            Code::UnplacedItem => W::UnplacedItem,
            Code::CountedByName => W::CountedByName,
        }
    }

    fn counters(c: Counters) -> wit::Counters {
        wit::Counters {
            packets: c.packets,
            bytes: c.bytes,
        }
    }

    /// Items `start..start + count` of `items`, cut at its end.
    fn page<T>(items: &[T], start: u32, count: u32) -> &[T] {
        let start = usize::try_from(start)
            .unwrap_or(usize::MAX)
            .min(items.len());
        let end = start
            .saturating_add(usize::try_from(count).unwrap_or(usize::MAX))
            .min(items.len());
        &items[start..end]
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
            tables_shown: stats.tables_shown,
            rule_series_dropped: saturate(stats.rule_series_dropped),
        }),
        Err(err) => Err(parse_error_to_wit(&err)),
    }
}

fn parse_error_to_wit(err: &ParseError) -> wit::ParseError {
    wit::ParseError {
        line: saturate(err.line),
        kind: error_kind_to_wit(&err.kind),
        message: err.kind.to_string(),
    }
}

fn error_kind_to_wit(kind: &ErrorKind) -> wit::ErrorKind {
    match kind {
        ErrorKind::OutsideTable { .. } => wit::ErrorKind::OutsideTable,
        ErrorKind::TableStillOpen { .. } => wit::ErrorKind::TableStillOpen,
        ErrorKind::UnterminatedTable { .. } => wit::ErrorKind::UnterminatedTable,
        ErrorKind::BadTable { .. } => wit::ErrorKind::BadTable,
        ErrorKind::BadChain { .. } => wit::ErrorKind::BadChain,
        ErrorKind::BadRule { .. } => wit::ErrorKind::BadRule,
        ErrorKind::BadCounter { .. } => wit::ErrorKind::BadCounter,
        ErrorKind::DuplicateCounters => wit::ErrorKind::DuplicateCounters,
        ErrorKind::BadCommit { .. } => wit::ErrorKind::BadCommit,
        ErrorKind::UnknownLine { .. } => wit::ErrorKind::UnknownLine,
        ErrorKind::DuplicateFamily => wit::ErrorKind::DuplicateFamily,
        ErrorKind::BadOption(_) => wit::ErrorKind::BadOption,
    }
}

fn option_name_to_wit(filtered: Filtered, pattern: Pattern) -> wit::OptionName {
    use wit::OptionName as N;
    match (filtered, pattern) {
        (Filtered::Tables, Pattern::Include) => N::TablesInclude,
        (Filtered::Tables, Pattern::Exclude) => N::TablesExclude,
        (Filtered::Chains, Pattern::Include) => N::ChainsInclude,
        (Filtered::Chains, Pattern::Exclude) => N::ChainsExclude,
        (Filtered::RuleText, Pattern::Include) => N::RuleTextInclude,
        (Filtered::RuleText, Pattern::Exclude) => N::RuleTextExclude,
        (Filtered::Comment, Pattern::Include) => N::CommentInclude,
        (Filtered::Comment, Pattern::Exclude) => N::CommentExclude,
    }
}

fn bad_option(err: &OptionError) -> ParseError {
    ParseError::new(0, ErrorKind::BadOption(err.clone()))
}

fn options_from_wit(options: &wit::Options) -> Result<Options, OptionError> {
    let filter = |filtered, filter: &wit::Filter, anchor| {
        Filter::new(
            filtered,
            filter.include.as_deref(),
            filter.exclude.as_deref(),
            anchor,
        )
    };
    Ok(Options {
        format: format_from_wit(options.format),
        selection: Selection {
            tables: filter(Filtered::Tables, &options.tables, Anchor::WholeName)?,
            chains: filter(Filtered::Chains, &options.chains, Anchor::WholeName)?,
            rules: match options.rules {
                wit::RuleSelection::All => Rules::All,
                wit::RuleSelection::Commented => Rules::Commented,
                wit::RuleSelection::None => Rules::None,
            },
            rule_text: filter(Filtered::RuleText, &options.rule_text, Anchor::Anywhere)?,
            comment: filter(Filtered::Comment, &options.comment, Anchor::Anywhere)?,
            max_rule_series: options.max_rule_series.map(u64::from),
        },
        comment_label: options.comment_label,
    })
}

fn format_from_wit(format: wit::Format) -> Format {
    match format {
        wit::Format::Text => Format::Text,
        wit::Format::OpenMetrics => Format::OpenMetrics,
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
