//! The five ruleset metrics of the metrics contract, in the order the
//! exposition lists them.

use crate::text::{Kind, Metric};

/// A ruleset metric. Each variant names what it counts, so that the
/// renderer matches on meaning, never on a position in a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RulesetMetric {
    /// Packets counted by a chain's policy.
    DefaultPackets,
    /// Bytes counted by a chain's policy.
    DefaultBytes,
    /// Packets matched by a rule.
    RulePackets,
    /// Bytes matched by a rule.
    RuleBytes,
    /// Rule lines in a chain.
    Rules,
}

impl RulesetMetric {
    /// Exposition order.
    pub const ALL: [RulesetMetric; 5] = [
        RulesetMetric::DefaultPackets,
        RulesetMetric::DefaultBytes,
        RulesetMetric::RulePackets,
        RulesetMetric::RuleBytes,
        RulesetMetric::Rules,
    ];

    /// Name, help text and type.
    pub fn metric(self) -> &'static Metric<'static> {
        match self {
            RulesetMetric::DefaultPackets => &Metric {
                name: "iptables_default_packets_total",
                help: "Packets counted by a chain's policy (0 for user chains).",
                kind: Kind::Counter,
            },
            RulesetMetric::DefaultBytes => &Metric {
                name: "iptables_default_bytes_total",
                help: "Bytes counted by a chain's policy (0 for user chains).",
                kind: Kind::Counter,
            },
            RulesetMetric::RulePackets => &Metric {
                name: "iptables_rule_packets_total",
                help: "Packets matched by a rule (identical rules in a chain summed).",
                kind: Kind::Counter,
            },
            RulesetMetric::RuleBytes => &Metric {
                name: "iptables_rule_bytes_total",
                help: "Bytes matched by a rule (identical rules in a chain summed).",
                kind: Kind::Counter,
            },
            RulesetMetric::Rules => &Metric {
                name: "iptables_rules",
                help: "Number of rules in a chain.",
                kind: Kind::Gauge,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_metric_once_in_declaration_order() {
        let mut sorted = RulesetMetric::ALL;
        sorted.sort();
        assert_eq!(sorted, RulesetMetric::ALL);
        let names: std::collections::HashSet<&str> =
            RulesetMetric::ALL.iter().map(|m| m.metric().name).collect();
        assert_eq!(names.len(), RulesetMetric::ALL.len());
    }
}
