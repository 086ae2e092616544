//! What the metrics contract says a save dump should export, worked out
//! from the contract's text (`docs/metrics.md`) independently of the parser
//! under test: plain string handling, no shared code. It takes valid input
//! only (the golden files and real `*-save -c` output).

use super::http::Series;
use std::collections::BTreeMap;

/// The ruleset samples of one family's dump, in exposition order: metric by
/// metric; tables, chains and policies in order of first appearance; rules
/// in input order.
pub fn model_samples(family: &str, save: &[u8]) -> Vec<(Series, u128)> {
    let model = Model::read(save);
    let mut samples = Vec::new();
    let mut push = |metric: &str, labels: Vec<(&str, &str)>, value: u128| {
        let mut all = vec![("family", family)];
        all.extend(labels);
        samples.push(((metric.to_owned(), super::http::labels(&all)), value));
    };
    for (metric, packets) in [
        ("iptables_default_packets_total", true),
        ("iptables_default_bytes_total", false),
    ] {
        for (table, chain) in model.chains() {
            for (policy, counters) in &chain.policies {
                if let Some((p, b)) = counters {
                    let labels = vec![("table", table), ("chain", &chain.name), ("policy", policy)];
                    push(metric, labels, if packets { *p } else { *b });
                }
            }
        }
    }
    for (metric, packets) in [
        ("iptables_rule_packets_total", true),
        ("iptables_rule_bytes_total", false),
    ] {
        for (table, chain) in model.chains() {
            for (rule, (p, b)) in &chain.rules {
                let labels = vec![("table", table), ("chain", &chain.name), ("rule", rule)];
                push(metric, labels, if packets { *p } else { *b });
            }
        }
    }
    for (table, chain) in model.chains() {
        let labels = vec![("table", table), ("chain", chain.name.as_str())];
        push("iptables_rules", labels, chain.rule_lines);
    }
    samples
}

/// The samples as a map, for comparing with a scrape.
pub fn expected_series(family: &str, save: &[u8]) -> BTreeMap<Series, u128> {
    model_samples(family, save).into_iter().collect()
}

#[derive(Default)]
struct Model {
    /// Tables in order, each with its chains in order.
    tables: Vec<(String, Vec<Chain>)>,
}

struct Chain {
    name: String,
    /// Policies in order; counters summed, `None` if never given.
    policies: Vec<(String, Option<(u128, u128)>)>,
    /// Distinct rules with counters, in order, counters summed.
    rules: Vec<(String, (u128, u128))>,
    rule_lines: u128,
}

impl Model {
    fn read(save: &[u8]) -> Self {
        let text = String::from_utf8_lossy(save);
        let mut model = Model::default();
        let mut table = 0;
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() || line.starts_with('#') || line == "COMMIT" {
                continue;
            }
            if let Some(name) = line.strip_prefix('*') {
                table = match model.tables.iter().position(|(t, _)| t == name) {
                    Some(i) => i,
                    None => {
                        model.tables.push((name.to_owned(), Vec::new()));
                        model.tables.len() - 1
                    }
                };
            } else if let Some(declaration) = line.strip_prefix(':') {
                let fields: Vec<&str> = declaration.split(' ').collect();
                let chain = model.chain(table, fields[0]);
                let counters = fields.get(2).map(|f| bracketed(f));
                match chain.policies.iter_mut().find(|(p, _)| p == fields[1]) {
                    Some((_, sum)) => add_optional(sum, counters),
                    None => chain.policies.push((fields[1].to_owned(), counters)),
                }
            } else {
                let (prefix, rest) = match line.split_once("-A ") {
                    Some(("", rest)) => (None, rest),
                    Some((counters, rest)) => (Some(bracketed(counters.trim_end())), rest),
                    None => panic!("not a rule line: {line}"),
                };
                let (chain_name, spec) = rest.split_once(' ').unwrap_or((rest, ""));
                let (spec, inline) = cut_inline_counters(spec);
                let counters = prefix.or(inline);
                let chain = model.chain(table, chain_name);
                chain.rule_lines += 1;
                if let Some((p, b)) = counters {
                    match chain.rules.iter_mut().find(|(r, _)| *r == spec) {
                        Some((_, sum)) => *sum = (sum.0 + p, sum.1 + b),
                        None => chain.rules.push((spec, (p, b))),
                    }
                }
            }
        }
        model
    }

    fn chain(&mut self, table: usize, name: &str) -> &mut Chain {
        let chains = &mut self.tables[table].1;
        let index = match chains.iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                chains.push(Chain {
                    name: name.to_owned(),
                    policies: Vec::new(),
                    rules: Vec::new(),
                    rule_lines: 0,
                });
                chains.len() - 1
            }
        };
        &mut chains[index]
    }

    fn chains(&self) -> impl Iterator<Item = (&str, &Chain)> {
        self.tables
            .iter()
            .flat_map(|(table, chains)| chains.iter().map(move |c| (table.as_str(), c)))
    }
}

fn add_optional(sum: &mut Option<(u128, u128)>, counters: Option<(u128, u128)>) {
    if let Some((p, b)) = counters {
        let (sp, sb) = sum.unwrap_or((0, 0));
        *sum = Some((sp + p, sb + b));
    }
}

/// `[P:B]`
fn bracketed(field: &str) -> (u128, u128) {
    let inner = field
        .strip_prefix('[')
        .and_then(|f| f.strip_suffix(']'))
        .unwrap_or_else(|| panic!("not a counter field: {field}"));
    let (p, b) = inner.split_once(':').expect("counter field");
    (p.parse().expect("packets"), b.parse().expect("bytes"))
}

/// The rule text with an inline `-c P B` taken out (with one separator
/// next to it), and those counters. Words are split on runs of spaces and
/// tabs outside double quotes, `\` escaping inside them.
pub fn cut_inline_counters(spec: &str) -> (String, Option<(u128, u128)>) {
    let bytes = spec.as_bytes();
    let separator = |i: usize| bytes[i] == b' ' || bytes[i] == b'\t';
    // (start, end, quoted) of each word.
    let mut words = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if separator(i) {
            i += 1;
            continue;
        }
        let start = i;
        let (mut quoted, mut open) = (false, false);
        while i < bytes.len() && (open || !separator(i)) {
            match bytes[i] {
                b'"' => (open, quoted) = (!open, true),
                b'\\' if open => i += 1,
                _ => {}
            }
            i += 1;
        }
        words.push((start, i.min(bytes.len()), quoted));
    }
    let Some(at) = words
        .iter()
        .position(|&(s, e, quoted)| !quoted && &spec[s..e] == "-c")
    else {
        return (spec.to_owned(), None);
    };
    let number = |k: usize| -> u128 {
        let (s, e, _) = words[k];
        spec[s..e].parse().expect("inline counter")
    };
    let counters = (number(at + 1), number(at + 2));
    let (start, end) = (words[at].0, words[at + 2].1);
    let (start, end) = if end < spec.len() {
        (start, end + 1)
    } else if start > 0 {
        (start - 1, end)
    } else {
        (start, end)
    };
    (
        format!("{}{}", &spec[..start], &spec[end..]),
        Some(counters),
    )
}
