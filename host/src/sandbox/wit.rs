//! The WIT contract as the host sees it: the generated bindings, and the
//! conversions between its types and the sandbox's own.

use super::{Dump, Filter, Options, ParseFailure, RuleSelection, SelectionPattern};
use exposition::{Family, Format, RulesetMetric};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "parser",
        // A dump lends its bytes to the call: the host keeps the last
        // collection's save output and hands it to every answer without
        // copying it first.
        ownership: Borrowing {
            duplicate_if_necessary: false
        },
    });
}

pub(super) use bindings::exports::iptables_exporter::parser::ipset;
pub(super) use bindings::exports::iptables_exporter::parser::metrics;
pub(super) use bindings::exports::iptables_exporter::parser::netlink;
pub(super) use bindings::exports::iptables_exporter::parser::nftables;
pub(super) use bindings::{Parser, ParserPre};

impl Parser {
    pub(super) fn metrics(&self) -> &metrics::Guest {
        self.iptables_exporter_parser_metrics()
    }

    pub(super) fn nftables(&self) -> &nftables::Guest {
        self.iptables_exporter_parser_nftables()
    }

    pub(super) fn netlink(&self) -> &netlink::Guest {
        self.iptables_exporter_parser_netlink()
    }

    pub(super) fn ipset(&self) -> &ipset::Guest {
        self.iptables_exporter_parser_ipset()
    }
}

pub(super) fn dump_to_wit(dump: &Dump) -> metrics::Dump<'_> {
    metrics::Dump {
        family: match dump.family {
            Family::Ipv4 => metrics::Family::Ipv4,
            Family::Ipv6 => metrics::Family::Ipv6,
        },
        save_output: &dump.save_output,
        timestamp_ms: dump.timestamp_ms,
    }
}

pub(super) fn options_to_wit<'a>(options: &Options<'a>) -> metrics::Options<'a> {
    let filter = |filter: &'a Filter| metrics::Filter {
        include: filter.include.as_deref(),
        exclude: filter.exclude.as_deref(),
    };
    let selection = options.selection;
    metrics::Options {
        format: match options.format {
            Format::Text => metrics::Format::Text,
            Format::OpenMetrics => metrics::Format::OpenMetrics,
        },
        tables: filter(&selection.tables),
        chains: filter(&selection.chains),
        rules: match selection.rules {
            RuleSelection::All => metrics::RuleSelection::All,
            RuleSelection::Commented => metrics::RuleSelection::Commented,
            RuleSelection::None => metrics::RuleSelection::None,
        },
        rule_text: filter(&selection.rule_text),
        comment: filter(&selection.comment),
        comment_label: selection.comment_label,
        max_rule_series: selection.max_rule_series,
    }
}

pub(super) fn pattern_from_wit(name: metrics::OptionName) -> SelectionPattern {
    use metrics::OptionName as N;
    match name {
        N::TablesInclude => SelectionPattern::TablesInclude,
        N::TablesExclude => SelectionPattern::TablesExclude,
        N::ChainsInclude => SelectionPattern::ChainsInclude,
        N::ChainsExclude => SelectionPattern::ChainsExclude,
        N::RuleTextInclude => SelectionPattern::RuleTextInclude,
        N::RuleTextExclude => SelectionPattern::RuleTextExclude,
        N::CommentInclude => SelectionPattern::CommentInclude,
        N::CommentExclude => SelectionPattern::CommentExclude,
    }
}

pub(super) fn metric_to_wit(metric: RulesetMetric) -> metrics::Metric {
    match metric {
        RulesetMetric::DefaultPackets => metrics::Metric::DefaultPackets,
        RulesetMetric::DefaultBytes => metrics::Metric::DefaultBytes,
        RulesetMetric::RulePackets => metrics::Metric::RulePackets,
        RulesetMetric::RuleBytes => metrics::Metric::RuleBytes,
        RulesetMetric::Rules => metrics::Metric::Rules,
    }
}

pub(super) fn failure_from_wit(error: metrics::ParseError) -> ParseFailure {
    ParseFailure {
        line: error.line,
        message: error.message,
    }
}
