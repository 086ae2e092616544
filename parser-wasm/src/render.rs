//! Rulesets → exposition text for the five ruleset metrics.
//!
//! Each metric's samples are contiguous across families (families in the
//! order given, then input order), as the text format requires.

use crate::Family;
use crate::exposition::{Kind, Metric, MetricWriter};
use crate::ruleset::{Ruleset, Sum};

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

/// Which half of a [`Sum`] a metric exports.
fn packets(sum: &Sum) -> u128 {
    sum.packets
}
fn bytes(sum: &Sum) -> u128 {
    sum.bytes
}

/// Appends the ruleset series of every family to `out`.
pub fn render(families: &[(Family, &Ruleset<'_>)], out: &mut String) {
    for (metric, value) in [
        (&DEFAULT_PACKETS, packets as fn(&Sum) -> u128),
        (&DEFAULT_BYTES, bytes),
    ] {
        let mut w = MetricWriter::new(out, metric);
        for_each_chain(families, |family, table, chain| {
            for policy in &chain.policies {
                if let Some(sum) = &policy.counters {
                    let labels = [
                        ("family", family.label()),
                        ("table", table),
                        ("chain", &chain.name),
                        ("policy", &policy.name),
                    ];
                    w.sample(&labels, value(sum));
                }
            }
        });
    }
    for (metric, value) in [
        (&RULE_PACKETS, packets as fn(&Sum) -> u128),
        (&RULE_BYTES, bytes),
    ] {
        let mut w = MetricWriter::new(out, metric);
        for_each_chain(families, |family, table, chain| {
            for rule in &chain.rules {
                let labels = [
                    ("family", family.label()),
                    ("table", table),
                    ("chain", &chain.name),
                    ("rule", &rule.text),
                ];
                w.sample(&labels, value(&rule.counters));
            }
        });
    }
    let mut w = MetricWriter::new(out, &RULES);
    for_each_chain(families, |family, table, chain| {
        let labels = [
            ("family", family.label()),
            ("table", table),
            ("chain", &chain.name),
        ];
        w.sample(&labels, chain.rule_lines);
    });
}

fn for_each_chain<'r>(
    families: &[(Family, &'r Ruleset<'_>)],
    mut visit: impl FnMut(Family, &str, &'r crate::ruleset::Chain<'_>),
) {
    for (family, ruleset) in families {
        for table in &ruleset.tables {
            for chain in &table.chains {
                visit(*family, &table.name, chain);
            }
        }
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
        let input = concat!(
            "*filter\n",
            ":INPUT DROP [10:600]\n",
            ":FORWARD ACCEPT [0:0]\n",
            ":LOGGING - [0:0]\n",
            "[5:300] -A INPUT -s 10.0.0.0/8 ! -i lo -m comment --comment \"keep  this\" -j ACCEPT\n",
            "[1:40] -A INPUT -p tcp -j LOGGING\n",
            "[1:40] -A INPUT -p tcp -j LOGGING\n",
            "COMMIT\n",
        );
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
    fn empty_input_renders_nothing() {
        let empty = parse(b"").expect("empty input is valid");
        let mut out = String::new();
        render(&[(Family::Ipv4, &empty)], &mut out);
        assert_eq!(out, "");
    }
}
