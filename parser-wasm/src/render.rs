//! Rulesets → exposition text for the five ruleset metrics.
//!
//! Each metric's samples are contiguous across families (families in the
//! order given, then input order), as the text format requires.

use crate::Family;
use crate::exposition::{Kind, Metric, MetricWriter};
use crate::ruleset::{Chain, Ruleset, Sum};

pub const DEFAULT_PACKETS: Metric = Metric {
    name: "iptables_default_packets_total",
    help: "Packets counted by a chain's policy (0 for user chains).",
    kind: Kind::Counter,
};
pub const DEFAULT_BYTES: Metric = Metric {
    name: "iptables_default_bytes_total",
    help: "Bytes counted by a chain's policy (0 for user chains).",
    kind: Kind::Counter,
};
pub const RULE_PACKETS: Metric = Metric {
    name: "iptables_rule_packets_total",
    help: "Packets matched by a rule (identical rules in a chain summed).",
    kind: Kind::Counter,
};
pub const RULE_BYTES: Metric = Metric {
    name: "iptables_rule_bytes_total",
    help: "Bytes matched by a rule (identical rules in a chain summed).",
    kind: Kind::Counter,
};
pub const RULES: Metric = Metric {
    name: "iptables_rules",
    help: "Number of rules in a chain.",
    kind: Kind::Gauge,
};

/// The metrics in the order they are written.
const METRICS: [&Metric; 5] = [
    &DEFAULT_PACKETS,
    &DEFAULT_BYTES,
    &RULE_PACKETS,
    &RULE_BYTES,
    &RULES,
];

/// Appends the ruleset series of every family to `out`.
pub fn render(families: &[(Family, &Ruleset<'_>)], out: &mut String) {
    Cursor::default().fill(families, out, usize::MAX);
}

/// A position in the exposition, so that it can be written in pieces of
/// bounded size: (metric, family, table, chain, item within the chain).
#[derive(Debug, Default, Clone)]
pub struct Cursor {
    metric: usize,
    family: usize,
    table: usize,
    chain: usize,
    item: usize,
    /// Whether the current metric's `# HELP`/`# TYPE` lines are written.
    header_written: bool,
}

impl Cursor {
    /// Appends samples to `out` until it holds at least `budget` bytes or
    /// the exposition is complete; a sample line is never split, and at
    /// least one is written while any is left, so that an empty piece always
    /// means the end, whatever the budget. Returns whether anything is left
    /// to write.
    pub fn fill(
        &mut self,
        families: &[(Family, &Ruleset<'_>)],
        out: &mut String,
        budget: usize,
    ) -> bool {
        let budget = budget.max(out.len() + 1);
        while self.metric < METRICS.len() {
            if out.len() >= budget {
                return true;
            }
            let Some((family, ruleset)) = families.get(self.family) else {
                self.next_metric();
                continue;
            };
            let Some(table) = ruleset.tables.get(self.table) else {
                (self.family, self.table) = (self.family + 1, 0);
                continue;
            };
            let Some(chain) = table.chains.get(self.chain) else {
                (self.table, self.chain) = (self.table + 1, 0);
                continue;
            };
            match self.write_item(*family, &table.name, chain, out) {
                Step::Wrote => (self.item, self.header_written) = (self.item + 1, true),
                Step::Skipped => self.item += 1,
                Step::ChainDone => (self.chain, self.item) = (self.chain + 1, 0),
            }
        }
        false
    }

    fn next_metric(&mut self) {
        *self = Cursor {
            metric: self.metric + 1,
            ..Cursor::default()
        };
    }

    /// Writes the current item of `chain` for the current metric.
    fn write_item(&self, family: Family, table: &str, chain: &Chain<'_>, out: &mut String) -> Step {
        let metric = METRICS[self.metric];
        let family = family.label();
        let mut writer = MetricWriter::resume(out, metric, self.header_written);
        match self.metric {
            0 | 1 => {
                let Some(policy) = chain.policies.get(self.item) else {
                    return Step::ChainDone;
                };
                // A policy declared without a counter field has no sample.
                let Some(sum) = &policy.counters else {
                    return Step::Skipped;
                };
                let labels = [
                    ("family", family),
                    ("table", table),
                    ("chain", &chain.name),
                    ("policy", &policy.name),
                ];
                writer.sample(&labels, pick(self.metric, sum));
            }
            2 | 3 => {
                let Some(rule) = chain.rules.get(self.item) else {
                    return Step::ChainDone;
                };
                let labels = [
                    ("family", family),
                    ("table", table),
                    ("chain", &chain.name),
                    ("rule", &rule.text),
                ];
                writer.sample(&labels, pick(self.metric, &rule.counters));
            }
            _ => {
                if self.item > 0 {
                    return Step::ChainDone;
                }
                writer.sample(
                    &[("family", family), ("table", table), ("chain", &chain.name)],
                    chain.rule_lines,
                );
            }
        }
        Step::Wrote
    }
}

enum Step {
    Wrote,
    Skipped,
    ChainDone,
}

/// Packets for the `*_packets_total` metrics (even indexes), bytes otherwise.
fn pick(metric: usize, sum: &Sum) -> u128 {
    if metric.is_multiple_of(2) {
        sum.packets
    } else {
        sum.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::parse;

    fn samples(text: &str) -> Vec<&str> {
        text.lines().filter(|l| !l.starts_with('#')).collect()
    }

    #[test]
    fn spec_example_samples() {
        let input = include_str!("../../fixtures/spec-example.ipv4.rules");
        let ruleset = parse(input.as_bytes()).expect("spec example parses");
        let mut out = String::new();
        render(&[(Family::Ipv4, &ruleset)], &mut out);
        let rule = r#"rule="-s 10.0.0.0/8 ! -i lo -m comment --comment \"keep  this\" -j ACCEPT""#;
        let want = [
            r#"iptables_default_packets_total{family="ipv4",table="filter",chain="INPUT",policy="DROP"} 10"#.to_string(),
            r#"iptables_default_packets_total{family="ipv4",table="filter",chain="FORWARD",policy="ACCEPT"} 0"#.into(),
            r#"iptables_default_packets_total{family="ipv4",table="filter",chain="LOGGING",policy="-"} 0"#.into(),
            r#"iptables_default_bytes_total{family="ipv4",table="filter",chain="INPUT",policy="DROP"} 600"#.into(),
            r#"iptables_default_bytes_total{family="ipv4",table="filter",chain="FORWARD",policy="ACCEPT"} 0"#.into(),
            r#"iptables_default_bytes_total{family="ipv4",table="filter",chain="LOGGING",policy="-"} 0"#.into(),
            format!(r#"iptables_rule_packets_total{{family="ipv4",table="filter",chain="INPUT",{rule}}} 5"#),
            r#"iptables_rule_packets_total{family="ipv4",table="filter",chain="INPUT",rule="-p tcp -j LOGGING"} 2"#.into(),
            format!(r#"iptables_rule_bytes_total{{family="ipv4",table="filter",chain="INPUT",{rule}}} 300"#),
            r#"iptables_rule_bytes_total{family="ipv4",table="filter",chain="INPUT",rule="-p tcp -j LOGGING"} 80"#.into(),
            r#"iptables_rules{family="ipv4",table="filter",chain="INPUT"} 3"#.into(),
            r#"iptables_rules{family="ipv4",table="filter",chain="FORWARD"} 0"#.into(),
            r#"iptables_rules{family="ipv4",table="filter",chain="LOGGING"} 0"#.into(),
        ];
        assert_eq!(samples(&out), want);
    }

    #[test]
    fn metrics_stay_contiguous_across_families() {
        let v4 = parse(b"*filter\n:INPUT ACCEPT [1:1]\n[1:1] -A INPUT -j X\nCOMMIT\n").expect("v4");
        let v6 = parse(b"*filter\n:INPUT DROP [2:2]\n[2:2] -A INPUT -j X\nCOMMIT\n").expect("v6");
        let mut out = String::new();
        render(&[(Family::Ipv4, &v4), (Family::Ipv6, &v6)], &mut out);
        let names: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        assert_eq!(
            names,
            [
                "iptables_default_packets_total",
                "iptables_default_bytes_total",
                "iptables_rule_packets_total",
                "iptables_rule_bytes_total",
                "iptables_rules"
            ]
        );
        let rules: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("iptables_rules{"))
            .collect();
        assert_eq!(
            rules,
            [
                r#"iptables_rules{family="ipv4",table="filter",chain="INPUT"} 1"#,
                r#"iptables_rules{family="ipv6",table="filter",chain="INPUT"} 1"#
            ]
        );
    }

    #[test]
    fn pieces_join_to_the_whole_and_never_split_a_line() {
        let input = include_str!("../../fixtures/kube-proxy-nft.ipv4.rules");
        let v4 = parse(input.as_bytes()).expect("parses");
        let v6 =
            parse(b"*filter\n:INPUT DROP\n:X - [1:1]\n[1:1] -A X -j Y\nCOMMIT\n").expect("parses");
        for budget in [0, 1, 100, 4096] {
            crate::check::assert_pieces_join_to_whole(
                &[(Family::Ipv4, &v4), (Family::Ipv6, &v6)],
                budget,
            );
        }
    }

    #[test]
    fn empty_input_renders_nothing() {
        let empty = parse(b"").expect("empty input is valid");
        let mut out = String::new();
        render(&[(Family::Ipv4, &empty)], &mut out);
        assert_eq!(out, "");
    }
}
