//! A native nftables listing → the `nftables_*` series of the metrics
//! contract (`docs/metrics.md`), with the cardinality controls applied and
//! the tables the iptables source shows left to it.

use super::listing::{Chain, Listing, NamedCounter, Rule, Table};
use crate::select::{Filter, Rules, Selection};
use exposition::{Format, Kind, Metric, MetricWriter};
use rustc_hash::FxHashMap;

const RULE_PACKETS: Metric = Metric {
    name: "nftables_rule_packets_total",
    help: "Packets counted by a rule's inline counter (identical rules in a chain summed).",
    kind: Kind::Counter,
};
const RULE_BYTES: Metric = Metric {
    name: "nftables_rule_bytes_total",
    help: "Bytes counted by a rule's inline counter (identical rules in a chain summed).",
    kind: Kind::Counter,
};
const CHAIN_RULES: Metric = Metric {
    name: "nftables_chain_rules",
    help: "Number of rules in a chain.",
    kind: Kind::Gauge,
};
const CHAIN_INFO: Metric = Metric {
    name: "nftables_chain_info",
    help: "A base chain's type, hook, priority and policy (always 1; nft chains have no policy counter).",
    kind: Kind::Gauge,
};
const COUNTER_PACKETS: Metric = Metric {
    name: "nftables_counter_packets_total",
    help: "Packets counted by a named counter.",
    kind: Kind::Counter,
};
const COUNTER_BYTES: Metric = Metric {
    name: "nftables_counter_bytes_total",
    help: "Bytes counted by a named counter.",
    kind: Kind::Counter,
};
const QUOTA_USED: Metric = Metric {
    name: "nftables_quota_used_bytes",
    help: "Bytes a named quota has used.",
    kind: Kind::Gauge,
};
const QUOTA_LIMIT: Metric = Metric {
    name: "nftables_quota_limit_bytes",
    help: "A named quota's limit, in bytes.",
    kind: Kind::Gauge,
};
const SET_ELEMENTS: Metric = Metric {
    name: "nftables_set_elements",
    help: "Elements in a set, map or meter.",
    kind: Kind::Gauge,
};
const SET_MAX_ELEMENTS: Metric = Metric {
    name: "nftables_set_max_elements",
    help: "The size declared for a set, map or meter.",
    kind: Kind::Gauge,
};

/// Every metric the component writes for a listing, in exposition order.
pub const METRICS: [&Metric<'static>; 10] = [
    &RULE_PACKETS,
    &RULE_BYTES,
    &CHAIN_RULES,
    &CHAIN_INFO,
    &COUNTER_PACKETS,
    &COUNTER_BYTES,
    &QUOTA_USED,
    &QUOTA_LIMIT,
    &SET_ELEMENTS,
    &SET_MAX_ELEMENTS,
];

/// How to render a listing.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub format: Format,
    pub selection: Selection,
    pub comment_label: bool,
    /// Whether to export `nftables_set_elements`.
    pub set_elements: bool,
    /// Tables (family, name) the iptables source shows: left out here.
    pub left_to_iptables: Vec<(String, String)>,
    /// When given, every sample carries it (ms since the Unix epoch).
    pub timestamp_ms: Option<i64>,
}

/// Sizes of a listing rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Tables read from the listing (those left to iptables included).
    pub tables: u32,
    pub chains: u32,
    pub rules: u32,
    pub sets: u32,
    /// `family table` of each table left to the iptables source.
    pub left_to_iptables: Vec<String>,
    /// Distinct rules kept but past the limit.
    pub rule_series_dropped: u32,
    /// Findings about the listing (unknown items and expressions).
    pub findings: u32,
}

/// One series of a rule: identical rules of a chain summed.
struct RuleSeries<'l> {
    table: &'l Table,
    chain: &'l Chain,
    text: &'l str,
    comment: Option<&'l str>,
    packets: u128,
    bytes: u128,
}

/// Renders `listing` as the options say; returns the text and its stats.
pub fn render<'l>(listing: &'l Listing, options: &Options) -> (String, Stats) {
    let mut stats = Stats {
        tables: count(listing.tables.len()),
        findings: count(listing.findings.len()),
        ..Stats::default()
    };
    let selection = &options.selection;
    let mut tables: Vec<&'l Table> = Vec::new();
    for table in &listing.tables {
        stats.chains += count(table.chains.len());
        stats.rules += count(table.chains.iter().map(|c| c.rules.len()).sum());
        stats.sets += count(table.sets.len());
        let id = (table.family.clone(), table.name.clone());
        if options.left_to_iptables.contains(&id) {
            stats
                .left_to_iptables
                .push(format!("{} {}", table.family, table.name));
            continue;
        }
        if selection.tables.keeps(Some(&table.name)) {
            tables.push(table);
        }
    }
    let chains: Vec<(&Table, &Chain)> = tables
        .iter()
        .flat_map(|t| t.chains.iter().map(move |c| (*t, c)))
        .filter(|(_, c)| selection.chains.keeps(Some(&c.name)))
        .collect();
    let (series, dropped) = rule_series(&chains, selection);
    stats.rule_series_dropped = dropped;

    let mut out = String::new();
    let at = Writing {
        format: options.format,
        timestamp_ms: options.timestamp_ms,
    };
    let comment_label = options.comment_label;
    for (metric, packets) in [(&RULE_PACKETS, true), (&RULE_BYTES, false)] {
        let mut w = at.writer(&mut out, metric);
        for s in &series {
            let value = if packets { s.packets } else { s.bytes };
            let [family, table, chain] = chain_labels(s.table, s.chain);
            let base = [family, table, chain, ("rule", s.text)];
            match s.comment.filter(|_| comment_label) {
                Some(comment) => {
                    let [a, b, c, d] = base;
                    w.sample(&[a, b, c, d, ("comment", comment)], value);
                }
                None => w.sample(&base, value),
            }
        }
    }
    let mut w = at.writer(&mut out, &CHAIN_RULES);
    for (t, c) in &chains {
        w.sample(&chain_labels(t, c), c.rules.len() as u64);
    }
    let mut w = at.writer(&mut out, &CHAIN_INFO);
    for (t, c) in &chains {
        let Some(base) = &c.base else { continue };
        let [family, table, chain] = chain_labels(t, c);
        let labels = [
            family,
            table,
            chain,
            ("type", base.kind.as_str()),
            ("hook", base.hook.as_str()),
            ("priority", base.priority.as_str()),
            ("policy", base.policy.as_str()),
        ];
        w.sample(&labels, 1u64);
    }
    let counters = || {
        tables
            .iter()
            .flat_map(|t| t.counters.iter().map(move |c| (*t, c)))
    };
    let counter = |(t, c): (&'l Table, &'l NamedCounter), packets: bool| {
        let value = if packets {
            c.counters.packets
        } else {
            c.counters.bytes
        };
        (object_labels(t, "counter", &c.name), value)
    };
    at.objects(
        &mut out,
        &COUNTER_PACKETS,
        counters().map(|tc| counter(tc, true)),
    );
    at.objects(
        &mut out,
        &COUNTER_BYTES,
        counters().map(|tc| counter(tc, false)),
    );
    let quotas = || {
        tables
            .iter()
            .flat_map(|t| t.quotas.iter().map(move |q| (*t, q)))
    };
    at.objects(
        &mut out,
        &QUOTA_USED,
        quotas().map(|(t, q)| (object_labels(t, "quota", &q.name), q.used)),
    );
    at.objects(
        &mut out,
        &QUOTA_LIMIT,
        quotas().map(|(t, q)| (object_labels(t, "quota", &q.name), q.limit)),
    );
    let sets = || {
        tables
            .iter()
            .flat_map(|t| t.sets.iter().map(move |s| (*t, s)))
    };
    if options.set_elements {
        at.objects(
            &mut out,
            &SET_ELEMENTS,
            // A listing with elements leaves `elem` out of an empty set.
            sets().map(|(t, s)| (object_labels(t, "set", &s.name), s.elements.unwrap_or(0))),
        );
    }
    at.objects(
        &mut out,
        &SET_MAX_ELEMENTS,
        sets().filter_map(|(t, s)| Some((object_labels(t, "set", &s.name), s.max_elements?))),
    );
    (out, stats)
}

/// The rule series of the chains kept, identical rules of a chain summed,
/// in listing order; and how many distinct rules the limit dropped.
fn rule_series<'l>(
    chains: &[(&'l Table, &'l Chain)],
    selection: &Selection,
) -> (Vec<RuleSeries<'l>>, u32) {
    let mut series = Vec::new();
    let mut budget = selection.max_rule_series.unwrap_or(u64::MAX);
    let mut dropped = 0u32;
    for (table, chain) in chains {
        let mut seen: FxHashMap<&str, usize> = FxHashMap::default();
        for rule in &chain.rules {
            let Some(counters) = rule.counters else {
                continue;
            };
            if rule.counts_elsewhere() || !keeps_rule(selection, rule) {
                continue;
            }
            if let Some(&at) = seen.get(rule.text.as_str()) {
                // `series[at]` may be past the limit (dropped): then
                // it is not in `series` and there is nothing to add to.
                if let Some(s) = series.get_mut(at) {
                    let s: &mut RuleSeries<'_> = s;
                    s.packets += u128::from(counters.packets);
                    s.bytes += u128::from(counters.bytes);
                }
                continue;
            }
            if budget == 0 {
                dropped = dropped.saturating_add(1);
                seen.insert(&rule.text, usize::MAX);
                continue;
            }
            budget -= 1;
            seen.insert(&rule.text, series.len());
            series.push(RuleSeries {
                table,
                chain,
                text: &rule.text,
                comment: rule.comment.as_deref(),
                packets: u128::from(counters.packets),
                bytes: u128::from(counters.bytes),
            });
        }
    }
    (series, dropped)
}

fn keeps_rule(selection: &Selection, rule: &Rule) -> bool {
    let by_kind = match selection.rules {
        Rules::All => true,
        Rules::Commented => rule.comment.is_some(),
        Rules::None => false,
    };
    by_kind
        && keeps(&selection.rule_text, Some(&rule.text))
        && keeps(&selection.comment, rule.comment.as_deref())
}

/// The format and timestamp every metric is written with.
struct Writing {
    format: Format,
    timestamp_ms: Option<i64>,
}

impl Writing {
    fn writer<'o>(&self, out: &'o mut String, metric: &'o Metric<'o>) -> MetricWriter<'o> {
        MetricWriter::new(out, metric, self.format).with_timestamp(self.timestamp_ms)
    }

    /// A named object's samples: family, table and its name.
    fn objects<'a>(
        &self,
        out: &mut String,
        metric: &Metric<'_>,
        samples: impl Iterator<Item = ([(&'static str, &'a str); 3], u64)>,
    ) {
        let mut w = self.writer(out, metric);
        for (labels, value) in samples {
            w.sample(&labels, value);
        }
    }
}

fn chain_labels<'a>(t: &'a Table, c: &'a Chain) -> [(&'static str, &'a str); 3] {
    [
        ("family", t.family.as_str()),
        ("table", t.name.as_str()),
        ("chain", c.name.as_str()),
    ]
}

fn object_labels<'a>(
    t: &'a Table,
    key: &'static str,
    name: &'a str,
) -> [(&'static str, &'a str); 3] {
    [
        ("family", t.family.as_str()),
        ("table", t.name.as_str()),
        (key, name),
    ]
}

fn keeps(filter: &Filter, text: Option<&str>) -> bool {
    filter.keeps(text)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
