//! Rulesets → exposition text for the five ruleset metrics.
//!
//! Each metric's samples are contiguous across families (families in the
//! order given, then input order), as the text format requires. The text is
//! written a metric at a time ([`Section`]), so that it can be produced in
//! pieces of bounded size: whole ([`render`]), or one family at a time
//! ([`Pieces`], the component's streaming resource: samples only), with the
//! caller putting the families of each metric one after another and the
//! metric's header before its first sample.

use crate::Options;
use crate::comment;
use crate::ruleset::{Chain, Ruleset, Sum};
use exposition::{Family, Format, MetricWriter, RulesetMetric, SamplePrefix};

/// One family's ruleset as the renderer takes it.
#[derive(Debug, Clone, Copy)]
pub struct Source<'r> {
    pub family: Family,
    pub ruleset: &'r Ruleset<'r>,
    /// When given, every sample carries it (milliseconds since the Unix
    /// epoch): the time the counters were read, for text served later.
    pub timestamp_ms: Option<i64>,
    pub format: Format,
    /// Whether rule series carry the rule's comment as a `comment` label.
    pub comment_label: bool,
}

impl<'r> Source<'r> {
    /// A family rendered in text format without timestamps.
    pub fn new(family: Family, ruleset: &'r Ruleset<'r>) -> Self {
        Self {
            family,
            ruleset,
            timestamp_ms: None,
            format: Format::Text,
            comment_label: false,
        }
    }

    /// Rendered in the options' format and labels.
    pub fn with(self, options: &Options) -> Self {
        Self {
            format: options.format,
            comment_label: options.comment_label,
            ..self
        }
    }
}

/// Appends the ruleset series of every family to `out`.
pub fn render(families: &[Source<'_>], out: &mut String) {
    for metric in RulesetMetric::ALL {
        Section::new(metric).fill(families, false, out, usize::MAX);
    }
}

/// One metric's samples over a list of families, and how far they have been
/// written: (family, table, chain, item within the chain).
#[derive(Debug, Clone)]
pub struct Section {
    metric: RulesetMetric,
    family: usize,
    table: usize,
    chain: usize,
    item: usize,
    /// What the samples of the current chain share, and for which
    /// (family, table, chain) it was written.
    prefix: SamplePrefix,
    prefix_of: Option<(usize, usize, usize)>,
}

impl Section {
    pub fn new(metric: RulesetMetric) -> Self {
        Self {
            metric,
            family: 0,
            table: 0,
            chain: 0,
            item: 0,
            prefix: SamplePrefix::default(),
            prefix_of: None,
        }
    }

    pub fn metric(&self) -> RulesetMetric {
        self.metric
    }

    /// Appends samples to `out` until it holds at least `budget` bytes or
    /// the section is complete; a sample line is never split, and at least
    /// one is written while any is left, so that an empty piece always means
    /// the end, whatever the budget. The metric's `# HELP`/`# TYPE` lines
    /// come before the first sample unless `header_written` says an earlier
    /// piece has them. Returns whether anything is left to write.
    pub fn fill(
        &mut self,
        families: &[Source<'_>],
        mut header_written: bool,
        out: &mut String,
        budget: usize,
    ) -> bool {
        let budget = budget.max(out.len() + 1);
        loop {
            if out.len() >= budget {
                return true;
            }
            let Some(source) = families.get(self.family) else {
                return false;
            };
            let Some(table) = source.ruleset.tables.get(self.table) else {
                (self.family, self.table) = (self.family + 1, 0);
                continue;
            };
            let Some(chain) = table.chains.get(self.chain) else {
                (self.table, self.chain) = (self.table + 1, 0);
                continue;
            };
            let at = (self.family, self.table, self.chain);
            if self.prefix_of != Some(at) {
                set_prefix(
                    &mut self.prefix,
                    self.metric,
                    source.family,
                    &table.name,
                    chain,
                );
                self.prefix_of = Some(at);
            }
            let mut writer =
                MetricWriter::resume(out, self.metric.metric(), source.format, header_written)
                    .with_timestamp(source.timestamp_ms);
            let item = Item {
                metric: self.metric,
                chain,
                prefix: &self.prefix,
                index: self.item,
                comment_label: source.comment_label,
            };
            match item.write(&mut writer) {
                Step::Wrote => (self.item, header_written) = (self.item + 1, true),
                Step::Skipped => self.item += 1,
                Step::ChainDone => (self.chain, self.item) = (self.chain + 1, 0),
            }
        }
    }
}

/// One family's samples, handed out a metric at a time in pieces: what the
/// component's `renderer` resource serves. The caller asks for the metrics
/// in order, puts every family's pieces of a metric together and writes the
/// metric's header (`exposition::write_header`) before the first sample:
/// families rendered apart cannot know whether another had samples.
#[derive(Debug, Clone)]
pub struct Pieces {
    section: Section,
}

impl Default for Pieces {
    fn default() -> Self {
        Self {
            section: Section::new(RulesetMetric::ALL[0]),
        }
    }
}

impl Pieces {
    /// The next piece of `metric`'s samples of `ruleset`: whole lines, at
    /// least `budget` bytes unless it is the last; empty once they have all
    /// been handed out. Asking for a metric before the current one gives
    /// nothing (it is done); asking for a later one skips to it.
    pub fn next(&mut self, source: Source<'_>, metric: RulesetMetric, budget: usize) -> String {
        if metric < self.section.metric() {
            return String::new();
        }
        if metric > self.section.metric() {
            self.section = Section::new(metric);
        }
        let mut piece = String::with_capacity(budget.saturating_add(1024).min(64 << 20));
        // Samples only: the header is the caller's.
        self.section.fill(&[source], true, &mut piece, budget);
        piece
    }
}

enum Step {
    Wrote,
    Skipped,
    ChainDone,
}

/// Sets `prefix` to what `metric`'s samples of `chain` share: every label
/// but the last (the policy, the rule, or for `iptables_rules` the chain).
fn set_prefix(
    prefix: &mut SamplePrefix,
    metric: RulesetMetric,
    family: Family,
    table: &str,
    chain: &Chain<'_>,
) {
    let shared = [
        ("family", family.label()),
        ("table", table),
        ("chain", &*chain.name),
    ];
    let (shared, last): (&[(&str, &str)], _) = match metric {
        RulesetMetric::DefaultPackets | RulesetMetric::DefaultBytes => (&shared, "policy"),
        RulesetMetric::RulePackets | RulesetMetric::RuleBytes => (&shared, "rule"),
        RulesetMetric::Rules => (&shared[..2], "chain"),
    };
    prefix.set(metric.metric(), shared, last);
}

/// One sample to write, if there is one: the `index`th policy or rule of
/// the chain, or (for `iptables_rules`) the chain's one sample. `prefix` is
/// the chain's, from [`set_prefix`].
struct Item<'c> {
    metric: RulesetMetric,
    chain: &'c Chain<'c>,
    prefix: &'c SamplePrefix,
    index: usize,
    comment_label: bool,
}

impl Item<'_> {
    fn write(&self, writer: &mut MetricWriter<'_>) -> Step {
        match self.metric {
            RulesetMetric::DefaultPackets => self.policy_sample(writer, |s| s.packets),
            RulesetMetric::DefaultBytes => self.policy_sample(writer, |s| s.bytes),
            RulesetMetric::RulePackets => self.rule_sample(writer, |s| s.packets),
            RulesetMetric::RuleBytes => self.rule_sample(writer, |s| s.bytes),
            RulesetMetric::Rules => {
                if self.index > 0 {
                    return Step::ChainDone;
                }
                let chain = self.chain;
                writer.sample_with(self.prefix, &chain.name, &[], chain.rule_lines);
                Step::Wrote
            }
        }
    }

    fn policy_sample(&self, writer: &mut MetricWriter<'_>, value: fn(&Sum) -> u128) -> Step {
        let Some(policy) = self.chain.policies.get(self.index) else {
            return Step::ChainDone;
        };
        // A policy declared without a counter field has no sample.
        let Some(sum) = &policy.counters else {
            return Step::Skipped;
        };
        writer.sample_with(self.prefix, &policy.name, &[], value(sum));
        Step::Wrote
    }

    fn rule_sample(&self, writer: &mut MetricWriter<'_>, value: fn(&Sum) -> u128) -> Step {
        let Some(rule) = self.chain.rules.get(self.index) else {
            return Step::ChainDone;
        };
        if rule.text.len() >= EXACT_FROM {
            // Room for the line at once: grown by doubling, a line of
            // hundreds of megabytes would hold two buffers for a moment
            // and could pass the memory limit after text was handed out.
            writer.reserve_exact(self.prefix.len() + rule_bytes(rule, self.comment_label));
        }
        let comment = self
            .comment_label
            .then(|| comment::of(&rule.text))
            .flatten();
        let labels = comment.as_deref().map(|comment| ("comment", comment));
        writer.sample_with(
            self.prefix,
            &rule.text,
            labels.as_slice(),
            value(&rule.counters),
        );
        Step::Wrote
    }
}

/// Texts this long have their escaped length counted, and their line's
/// room made at once; shorter ones are bounded by twice their length.
const EXACT_FROM: usize = 64 * 1024;

/// What a sample line takes besides its label values: the metric name,
/// label names, quotes, the value (at most 39 digits) and a timestamp.
const LINE_FIXED_BYTES: usize = 256;

/// Bytes of escaped text a rule's sample can hold: its text, and its
/// comment (a part of the text) when that is a label too.
fn rule_bytes(rule: &crate::ruleset::Rule<'_>, comment_label: bool) -> usize {
    escaped_bound(&rule.text) * if comment_label { 2 } else { 1 } + LINE_FIXED_BYTES
}

/// The length of `text` escaped, exactly for long texts, bounded for the
/// rest.
fn escaped_bound(text: &str) -> usize {
    if text.len() >= EXACT_FROM {
        exposition::escaped_len(text)
    } else {
        2 * text.len()
    }
}

/// At least the length of the longest sample line `source` renders.
pub fn longest_line(source: &Source<'_>) -> usize {
    let mut longest = 0;
    for table in &source.ruleset.tables {
        for chain in &table.chains {
            let names = escaped_bound(&table.name) + escaped_bound(&chain.name);
            let policy = chain.policies.iter().map(|p| escaped_bound(&p.name));
            let rule = chain
                .rules
                .iter()
                .map(|rule| rule_bytes(rule, source.comment_label));
            let own = policy.chain(rule).max().unwrap_or(0);
            longest = longest.max(names + own + LINE_FIXED_BYTES);
        }
    }
    longest
}

/// Memory a rendering in pieces needs at once besides the parsed ruleset:
/// its longest line, and room for the piece around it.
pub fn piece_room(source: &Source<'_>) -> usize {
    const AROUND: usize = 1 << 20;
    longest_line(source).saturating_add(AROUND)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::parse;

    #[test]
    fn the_longest_line_is_bounded_from_above() {
        let input = include_str!("../../fixtures/kube-proxy-nft.ipv4.rules");
        let ruleset = parse(input.as_bytes()).expect("parses");
        let mut huge_text =
            b"*filter\n:INPUT ACCEPT [0:0]\n[1:2] -A INPUT -m comment --comment \"".to_vec();
        huge_text.extend(std::iter::repeat_n(0xffu8, 100_000));
        huge_text.extend_from_slice(b"\\\"\" -j ACCEPT\nCOMMIT\n");
        let huge = parse(&huge_text).expect("parses");
        for ruleset in [&ruleset, &huge] {
            for comment_label in [false, true] {
                let source = Source {
                    comment_label,
                    timestamp_ms: Some(i64::MIN),
                    ..Source::new(Family::Ipv6, ruleset)
                };
                let mut out = String::new();
                render(&[source], &mut out);
                let longest = out.lines().map(str::len).max().unwrap_or(0);
                let bound = longest_line(&source);
                assert!(longest <= bound, "{longest} > {bound}");
                if ruleset == &huge {
                    // Exact for the long text: no room wasted on it.
                    assert!(
                        bound < longest + 2 * LINE_FIXED_BYTES + 64,
                        "{bound} for {longest}"
                    );
                }
            }
        }
    }

    fn samples(text: &str) -> Vec<&str> {
        text.lines().filter(|l| !l.starts_with('#')).collect()
    }

    #[test]
    fn spec_example_samples() {
        let input = include_str!("../../fixtures/spec-example.ipv4.rules");
        let ruleset = parse(input.as_bytes()).expect("spec example parses");
        let mut out = String::new();
        render(&[Source::new(Family::Ipv4, &ruleset)], &mut out);
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
        render(
            &[
                Source::new(Family::Ipv4, &v4),
                Source::new(Family::Ipv6, &v6),
            ],
            &mut out,
        );
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
        for budget in [0, 1, 7, 100, 4096] {
            crate::check::assert_pieces_join_to_whole(
                &[
                    Source::new(Family::Ipv4, &v4),
                    Source::new(Family::Ipv6, &v6),
                ],
                budget,
            );
        }
    }

    #[test]
    fn a_timestamped_family_stamps_every_sample_and_only_its_own() {
        let v4 = parse(b"*filter\n:INPUT ACCEPT [1:1]\n[1:1] -A INPUT -j X\nCOMMIT\n").expect("v4");
        let v6 = parse(b"*filter\n:INPUT DROP [2:2]\n[2:2] -A INPUT -j X\nCOMMIT\n").expect("v6");
        let stamped = Source {
            timestamp_ms: Some(1_764_525_600_000),
            ..Source::new(Family::Ipv4, &v4)
        };
        let mut out = String::new();
        render(&[stamped, Source::new(Family::Ipv6, &v6)], &mut out);
        for line in samples(&out) {
            let stamped = line.ends_with(" 1764525600000");
            assert_eq!(stamped, line.contains("ipv4"), "{line}");
        }
        assert_eq!(samples(&out).len(), 10);
    }

    #[test]
    fn empty_input_renders_nothing() {
        let empty = parse(b"").expect("empty input is valid");
        let mut out = String::new();
        render(&[Source::new(Family::Ipv4, &empty)], &mut out);
        assert_eq!(out, "");
    }
}
