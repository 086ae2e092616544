//! Sets → the `ipset_*` series of the metrics contract
//! (`docs/metrics.md`): how full each set is, and, when asked, each
//! element's counters under a cap on series.

use super::listing::{Listing, Member, Set};
use crate::select::Filter;
use exposition::{Format, Kind, Metric, MetricWriter};

const ENTRIES: Metric = Metric {
    name: "ipset_entries",
    help: "Entries in a set (counted from its members where the kernel does not say).",
    kind: Kind::Gauge,
};
const MAX_ENTRIES: Metric = Metric {
    name: "ipset_max_entries",
    help: "Most entries a set can hold: maxelem for hash types, size for list:set, the range for bitmap types.",
    kind: Kind::Gauge,
};
const MEMORY: Metric = Metric {
    name: "ipset_memory_bytes",
    help: "Kernel memory a set uses, in bytes (ipset's Size in memory).",
    kind: Kind::Gauge,
};
const REFERENCES: Metric = Metric {
    name: "ipset_references",
    help: "Rules and list:set sets that use a set.",
    kind: Kind::Gauge,
};
const ELEMENT_PACKETS: Metric = Metric {
    name: "ipset_element_packets_total",
    help: "Packets counted by a set element (sets created with counters; --ipset.element-counters).",
    kind: Kind::Counter,
};
const ELEMENT_BYTES: Metric = Metric {
    name: "ipset_element_bytes_total",
    help: "Bytes counted by a set element (sets created with counters; --ipset.element-counters).",
    kind: Kind::Counter,
};

/// Every metric the component writes for a listing, in exposition order.
pub const METRICS: [&Metric<'static>; 6] = [
    &ENTRIES,
    &MAX_ENTRIES,
    &MEMORY,
    &REFERENCES,
    &ELEMENT_PACKETS,
    &ELEMENT_BYTES,
];

/// How to render a listing.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub format: Format,
    /// Matched against whole set names.
    pub sets: Filter,
    /// Whether members' counters become series.
    pub element_counters: bool,
    /// Most element series (each a packets and a bytes sample), the first
    /// in set and element order; `None` for no limit.
    pub max_element_series: Option<u64>,
    /// When given, every sample carries it (ms since the Unix epoch).
    pub timestamp_ms: Option<i64>,
}

/// Sizes of a listing rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Sets listed, those the filter left out included.
    pub sets: u32,
    /// Sets kept whose entries were counted from their members (no
    /// `Number of entries:` line).
    pub counted: Vec<String>,
    /// Sets kept whose entries are unknown: no count, no members listed.
    pub uncounted: Vec<String>,
    /// Sets kept of a type whose capacity is not known here.
    pub unknown_types: Vec<String>,
    /// Element series past the limit.
    pub element_series_dropped: u32,
    /// Lines skipped.
    pub findings: u32,
}

/// Renders the sets of `listing` the filter keeps, each with its members:
/// those `listing` lists, else those listed for it apart
/// (`member_listings`, by set name), if any.
pub fn render(
    listing: &Listing<'_>,
    members: &[Listing<'_>],
    options: &Options,
) -> (String, Stats) {
    let kept: Vec<(&Set<'_>, Option<&[Member<'_>]>)> = listing
        .sets
        .iter()
        .filter(|set| options.sets.keeps(Some(set.name)))
        .map(|set| {
            let listed = || {
                members
                    .iter()
                    .flat_map(|l| &l.sets)
                    .find_map(|m| m.members.as_deref().filter(|_| m.name == set.name))
            };
            (set, set.members.as_deref().or_else(listed))
        })
        .collect();
    let mut stats = Stats {
        sets: u32::try_from(listing.sets.len()).unwrap_or(u32::MAX),
        findings: u32::try_from(
            listing.findings.len() + members.iter().map(|l| l.findings.len()).sum::<usize>(),
        )
        .unwrap_or(u32::MAX),
        ..Stats::default()
    };
    let mut out = String::new();
    let mut w = writer(options, &mut out, &ENTRIES);
    for (set, members) in &kept {
        // The kernel's count; else its members, counted.
        let counted = members.map(|members| members.len() as u64);
        match set.entries.or(counted) {
            Some(n) => {
                if set.entries.is_none() {
                    stats.counted.push(set.name.to_owned());
                }
                w.sample(&[("set", set.name), ("type", set.kind)], n);
            }
            None => stats.uncounted.push(set.name.to_owned()),
        }
    }
    let mut w = writer(options, &mut out, &MAX_ENTRIES);
    for (set, _) in &kept {
        match set.max_entries() {
            Some(n) => w.sample(&[("set", set.name)], n),
            None => stats.unknown_types.push(set.name.to_owned()),
        }
    }
    let mut w = writer(options, &mut out, &MEMORY);
    for (set, _) in &kept {
        w.sample(&[("set", set.name)], set.memory_bytes);
    }
    let mut w = writer(options, &mut out, &REFERENCES);
    for (set, _) in &kept {
        w.sample(&[("set", set.name)], set.references);
    }
    if options.element_counters {
        let series = element_series(&kept, options.max_element_series, &mut stats);
        for (metric, packets) in [(&ELEMENT_PACKETS, true), (&ELEMENT_BYTES, false)] {
            let mut w = writer(options, &mut out, metric);
            for (set, element, p, b) in &series {
                w.sample(
                    &[("set", set), ("element", element)],
                    if packets { *p } else { *b },
                );
            }
        }
    }
    (out, stats)
}

/// Each counted element of the sets with counters, by set and then by
/// element (ipset lists members in hash order: sorted, the series keep
/// their place from scrape to scrape), an element listed twice summed so
/// that no series is exported twice; past `max`, the rest counted as
/// dropped.
fn element_series<'a>(
    kept: &[(&'a Set<'a>, Option<&'a [Member<'a>]>)],
    max: Option<u64>,
    stats: &mut Stats,
) -> Vec<(&'a str, &'a str, u64, u64)> {
    let mut budget = max.unwrap_or(u64::MAX);
    let mut series = Vec::new();
    for (set, members) in kept {
        let Some(members) = members.filter(|_| set.header.counters) else {
            continue;
        };
        let mut elements: Vec<(&str, u64, u64)> = members
            .iter()
            .filter_map(|m| Some((m.element, m.packets?, m.bytes?)))
            .collect();
        elements.sort_unstable_by(|a, b| a.0.cmp(b.0));
        // In place: a second list of a million elements is 32 MB more.
        elements.dedup_by(|next, kept| {
            let same = next.0 == kept.0;
            if same {
                kept.1 = kept.1.saturating_add(next.1);
                kept.2 = kept.2.saturating_add(next.2);
            }
            same
        });
        for (element, p, b) in elements {
            if budget == 0 {
                stats.element_series_dropped = stats.element_series_dropped.saturating_add(1);
                continue;
            }
            budget -= 1;
            series.push((set.name, element, p, b));
        }
    }
    series
}

fn writer<'o>(options: &Options, out: &'o mut String, metric: &'o Metric<'o>) -> MetricWriter<'o> {
    MetricWriter::new(out, metric, options.format).with_timestamp(options.timestamp_ms)
}
