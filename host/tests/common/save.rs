//! What the metrics contract says a save dump should export, computed from
//! `*-save -c` output independently of the parser under test (real save
//! output only: `[P:B]` prefixes, no inline counters).

use super::http::Series;
use std::collections::BTreeMap;

pub fn expected_series(family: &str, save: &[u8]) -> BTreeMap<Series, u128> {
    let text = String::from_utf8_lossy(save);
    let mut series: BTreeMap<Series, u128> = BTreeMap::new();
    let mut add = |name: &str, labels: &[(&str, &str)], value: u128| {
        let labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        *series.entry((name.to_owned(), labels)).or_default() += value;
    };
    let mut table = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('*') {
            table = name.to_owned();
        } else if let Some(decl) = line.strip_prefix(':') {
            let fields: Vec<&str> = decl.split(' ').collect();
            let (chain, policy) = (fields[0], fields[1]);
            let (p, b) = counters(fields[2]);
            let labels = [
                ("family", family),
                ("table", &table),
                ("chain", chain),
                ("policy", policy),
            ];
            add("iptables_default_packets_total", &labels, p);
            add("iptables_default_bytes_total", &labels, b);
            add(
                "iptables_rules",
                &[("family", family), ("table", &table), ("chain", chain)],
                0,
            );
        } else if line.starts_with('[') {
            let (field, rest) = line.split_once(" -A ").expect("rule line");
            let (chain, rule) = rest.split_once(' ').unwrap_or((rest, ""));
            let (p, b) = counters(field);
            let labels = [
                ("family", family),
                ("table", &table),
                ("chain", chain),
                ("rule", rule),
            ];
            add("iptables_rule_packets_total", &labels, p);
            add("iptables_rule_bytes_total", &labels, b);
            add(
                "iptables_rules",
                &[("family", family), ("table", &table), ("chain", chain)],
                1,
            );
        }
    }
    series
}

fn counters(field: &str) -> (u128, u128) {
    let inner = field.trim_start_matches('[').trim_end_matches(']');
    let (p, b) = inner.split_once(':').expect("counter field");
    (p.parse().expect("packets"), b.parse().expect("bytes"))
}
