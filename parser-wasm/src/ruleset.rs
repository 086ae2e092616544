//! Lines → a [`Ruleset`]: tables, chains and rules in input order, with
//! identical series merged and their counters summed.
//!
//! Names and rule texts borrow from the input; only text that is not valid
//! UTF-8 or had inline counters cut out of it is copied. Identity (table,
//! chain, policy, rule) is decided on the text after U+FFFD replacement, as
//! the exported label values are.

use crate::counters::Counters;
use crate::error::{ErrorKind, ParseError};
use crate::lines::Lines;
use crate::syntax::{self, ChainLine, Line, RuleLine, lossy};
use rustc_hash::{FxHashMap, FxHashSet};
use std::borrow::Cow;

/// One family's parsed save output.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ruleset<'a> {
    pub tables: Vec<Table<'a>>,
    /// Tables iptables-nft-save could not show, or not in full, because
    /// they hold rules or base chains made with `nft` (it says so in a
    /// comment), in order, each once.
    pub incompatible: Vec<Cow<'a, str>>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Table<'a> {
    pub name: Cow<'a, str>,
    pub chains: Vec<Chain<'a>>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Chain<'a> {
    pub name: Cow<'a, str>,
    /// One entry per distinct declared policy; empty for a chain that only
    /// appears in `-A` lines.
    pub policies: Vec<Policy<'a>>,
    /// Distinct rules that carried counters, in order of first appearance.
    pub rules: Vec<Rule<'a>>,
    /// Every rule line of the chain, with or without counters.
    pub rule_lines: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Policy<'a> {
    pub name: Cow<'a, str>,
    /// `None` when no declaration carried a counter field.
    pub counters: Option<Sum>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Rule<'a> {
    /// RULESPEC without its counters.
    pub text: Cow<'a, str>,
    pub counters: Sum,
}

/// Counters summed over identical lines; 128 bits so that sums never wrap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sum {
    pub packets: u128,
    pub bytes: u128,
}

impl Sum {
    fn add(&mut self, counters: Counters) {
        self.packets += u128::from(counters.packets);
        self.bytes += u128::from(counters.bytes);
    }
}

/// Sizes of a parsed ruleset, for logs and the component's per-family result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub tables: usize,
    pub chains: usize,
    pub rules: u64,
    /// Tables left out of the dump as incompatible (see [`Ruleset::incompatible`]).
    pub incompatible_tables: Vec<String>,
    /// Tables with a `*TABLE` block, in order: those the dump shows (in
    /// full, unless also incompatible), before any selection.
    pub tables_shown: Vec<String>,
    /// Distinct rules a selection kept but its limit dropped (see
    /// `select`); 0 for a ruleset as parsed.
    pub rule_series_dropped: u64,
}

impl Ruleset<'_> {
    pub fn stats(&self) -> Stats {
        let chains = || self.tables.iter().flat_map(|t| &t.chains);
        Stats {
            tables: self.tables.len(),
            chains: chains().count(),
            rules: chains().map(|c| c.rule_lines).sum(),
            incompatible_tables: self.incompatible.iter().map(|t| t.to_string()).collect(),
            tables_shown: self.tables.iter().map(|t| t.name.to_string()).collect(),
            rule_series_dropped: 0,
        }
    }
}

/// Distinct rules a chain may have before its rules are found through the
/// index rather than by looking at each.
const SCAN_LIMIT: usize = 16;

/// Input bytes per rule line in typical save output, to size the indexes
/// once instead of growing them step by step.
const BYTES_PER_RULE: usize = 160;

/// Parses one family's `*-save -c` output. Any malformed line fails the whole
/// input: no partial ruleset is ever returned.
pub fn parse(input: &[u8]) -> Result<Ruleset<'_>, ParseError> {
    let mut builder = Builder::with_capacity(input.len() / BYTES_PER_RULE);
    let mut open: Option<usize> = None;
    let mut lines = Lines::new(input);
    for (number, line) in &mut lines {
        let at = |kind| ParseError::new(number, kind);
        let outside = |what| at(ErrorKind::OutsideTable { what });
        match syntax::classify(line).map_err(at)? {
            Line::Ignored => {}
            Line::Incompatible(name) => builder.incompatible(name),
            Line::Table(name) => match open {
                Some(table) => {
                    return Err(at(ErrorKind::TableStillOpen {
                        open: builder.ruleset.tables[table].name.to_string(),
                        new: lossy(name).into_owned(),
                    }));
                }
                None => open = Some(builder.table(name)),
            },
            Line::Chain(chain) => {
                builder.declare(open.ok_or_else(|| outside("chain declaration"))?, chain);
            }
            Line::Rule(rule) => builder.rule(open.ok_or_else(|| outside("rule"))?, rule),
            Line::Commit => {
                open.take().ok_or_else(|| outside("`COMMIT`"))?;
            }
        }
    }
    if let Some(table) = open {
        return Err(ParseError::new(
            lines.last_number() + 1,
            ErrorKind::UnterminatedTable {
                table: builder.ruleset.tables[table].name.to_string(),
            },
        ));
    }
    Ok(builder.ruleset)
}

/// The ruleset under construction plus the indexes that find what a line
/// refers to; the indexes are dropped once parsing ends.
#[derive(Default)]
struct Builder<'a> {
    ruleset: Ruleset<'a>,
    tables: FxHashMap<Cow<'a, str>, usize>,
    chains: FxHashMap<(usize, Cow<'a, str>), usize>,
    /// Policies of the chains declared with more than `SCAN_LIMIT`
    /// different ones, by (table, chain, policy).
    policies: FxHashMap<(usize, usize, Cow<'a, str>), usize>,
    /// Rules of the chains with more than `SCAN_LIMIT` distinct rules, by
    /// (table, chain, text).
    rules: FxHashMap<(usize, usize, Cow<'a, str>), usize>,
    incompatible: FxHashSet<Cow<'a, str>>,
    /// The chain of the previous rule line: a chain's rules come one after
    /// another, so most lookups end here without hashing.
    last_chain: Option<(usize, &'a [u8], usize)>,
}

impl<'a> Builder<'a> {
    fn with_capacity(rules: usize) -> Self {
        // The rule index is left to grow: most rules are in small chains,
        // which never use it (kube-proxy: two rules per endpoint chain).
        Self {
            chains: FxHashMap::with_capacity_and_hasher(rules / 4, Default::default()),
            ..Self::default()
        }
    }

    /// Index of the table named `name`, added at the end if new: a table
    /// opened twice continues where it left off.
    fn table(&mut self, name: &'a [u8]) -> usize {
        let tables = &mut self.ruleset.tables;
        *self.tables.entry(lossy(name)).or_insert_with_key(|name| {
            tables.push(Table {
                name: name.clone(),
                chains: Vec::new(),
            });
            tables.len() - 1
        })
    }

    fn chain(&mut self, table: usize, name: &'a [u8]) -> usize {
        if let Some((last_table, last_name, index)) = self.last_chain
            && last_table == table
            && last_name == name
        {
            return index;
        }
        let chains = &mut self.ruleset.tables[table].chains;
        let index = *self
            .chains
            .entry((table, lossy(name)))
            .or_insert_with_key(|(_, name)| {
                chains.push(Chain {
                    name: name.clone(),
                    policies: Vec::new(),
                    rules: Vec::new(),
                    rule_lines: 0,
                });
                chains.len() - 1
            });
        self.last_chain = Some((table, name, index));
        index
    }

    fn incompatible(&mut self, name: &'a [u8]) {
        let name = lossy(name);
        if self.incompatible.insert(name.clone()) {
            self.ruleset.incompatible.push(name);
        }
    }

    fn declare(&mut self, table: usize, line: ChainLine<'a>) {
        let chain = self.chain(table, line.name);
        let policies = &mut self.ruleset.tables[table].chains[chain].policies;
        // A chain may be declared any number of times, with different
        // policies. It nearly always has one: looked through, as a small
        // chain's rules are, and indexed only past `SCAN_LIMIT`.
        let name = lossy(line.policy);
        let index = if policies.len() < SCAN_LIMIT {
            let found = policies.iter().position(|p| p.name == name);
            let index = found.unwrap_or_else(|| {
                push_small(
                    policies,
                    Policy {
                        name,
                        counters: None,
                    },
                );
                policies.len() - 1
            });
            if policies.len() == SCAN_LIMIT && found.is_none() {
                for (i, policy) in policies.iter().enumerate() {
                    self.policies.insert((table, chain, policy.name.clone()), i);
                }
            }
            index
        } else {
            *self
                .policies
                .entry((table, chain, name))
                .or_insert_with_key(|(_, _, name)| {
                    policies.push(Policy {
                        name: name.clone(),
                        counters: None,
                    });
                    policies.len() - 1
                })
        };
        if let Some(counters) = line.counters {
            policies[index]
                .counters
                .get_or_insert_with(Sum::default)
                .add(counters);
        }
    }

    fn rule(&mut self, table: usize, line: RuleLine<'a>) {
        let chain_index = self.chain(table, line.chain);
        let chain = &mut self.ruleset.tables[table].chains[chain_index];
        chain.rule_lines += 1;
        let Some(counters) = line.counters else {
            return;
        };
        let text = line.text();
        let rules = &mut chain.rules;
        let index = if rules.len() < SCAN_LIMIT {
            // Most chains are small (kube-proxy: two rules per endpoint
            // chain): a look through the chain's own rules, still in cache,
            // beats hashing the text into an index of every rule.
            let found = rules.iter().position(|rule| rule.text == text);
            let index = found.unwrap_or_else(|| {
                push_small(
                    rules,
                    Rule {
                        text,
                        counters: Sum::default(),
                    },
                );
                rules.len() - 1
            });
            if rules.len() == SCAN_LIMIT && found.is_none() {
                // From here on the chain is looked up in the index.
                for (i, rule) in rules.iter().enumerate() {
                    self.rules
                        .insert((table, chain_index, rule.text.clone()), i);
                }
            }
            index
        } else {
            *self
                .rules
                .entry((table, chain_index, text))
                .or_insert_with_key(|(_, _, text)| {
                    rules.push(Rule {
                        text: text.clone(),
                        counters: Sum::default(),
                    });
                    rules.len() - 1
                })
        };
        rules[index].counters.add(counters);
    }
}

/// Pushes onto a vector that is mostly short: up to four elements its
/// capacity grows one at a time (Rust's doubling starts at four, which for
/// the 36k one-policy, two-rule chains of a big kube-proxy node is twice
/// or four times the memory needed), then by doubling as usual.
fn push_small<T>(items: &mut Vec<T>, item: T) {
    if items.len() < 4 {
        items.reserve_exact(1);
    }
    items.push(item);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(packets: u128, bytes: u128) -> Sum {
        Sum { packets, bytes }
    }

    fn parse_ok(input: &str) -> Ruleset<'_> {
        match parse(input.as_bytes()) {
            Ok(ruleset) => ruleset,
            Err(err) => panic!("{input:?} failed: {err}"),
        }
    }

    fn error_line(input: &[u8]) -> usize {
        match parse(input) {
            Ok(ruleset) => panic!("{input:?} parsed as {ruleset:?}"),
            Err(err) => err.line,
        }
    }

    #[test]
    fn spec_example() {
        let ruleset = parse_ok(include_str!("../../fixtures/spec-example.ipv4.rules"));
        assert_eq!(ruleset.tables.len(), 1);
        let chains = &ruleset.tables[0].chains;
        let names: Vec<&str> = chains.iter().map(|c| c.name.as_ref()).collect();
        assert_eq!(names, ["INPUT", "FORWARD", "LOGGING"]);
        assert_eq!(chains[0].policies[0].counters, Some(sum(10, 600)));
        assert_eq!(chains[0].rule_lines, 3);
        assert_eq!(chains[0].rules.len(), 2);
        assert_eq!(chains[0].rules[1].text, "-p tcp -j LOGGING");
        assert_eq!(chains[0].rules[1].counters, sum(2, 80));
        assert_eq!(
            ruleset.stats(),
            Stats {
                tables: 1,
                chains: 3,
                rules: 3,
                incompatible_tables: Vec::new(),
                tables_shown: vec!["filter".into()],
                rule_series_dropped: 0,
            }
        );
    }

    #[test]
    fn identical_rules_merge_in_small_and_big_chains_alike() {
        // Each chain repeats its rules around the point where its lookup
        // changes from a scan to the index: every repeat must be merged
        // into the first, in order of first appearance.
        for distinct in [
            1,
            SCAN_LIMIT - 1,
            SCAN_LIMIT,
            SCAN_LIMIT + 1,
            3 * SCAN_LIMIT,
        ] {
            let mut input = String::from("*filter\n:A - [0:0]\n:B - [0:0]\n");
            for round in 1..=3u64 {
                for rule in 0..distinct {
                    input.push_str(&format!("[{round}:{rule}] -A A -j R{rule}\n"));
                    // Another chain with the same texts stays apart.
                    input.push_str(&format!("[1:1] -A B -j R{rule}\n"));
                }
            }
            input.push_str("COMMIT\n");
            let ruleset = parse_ok(&input);
            let [a, b] = &ruleset.tables[0].chains[..] else {
                panic!("two chains");
            };
            assert_eq!(a.rules.len(), distinct, "{distinct}");
            assert_eq!(b.rules.len(), distinct, "{distinct}");
            for (i, rule) in a.rules.iter().enumerate() {
                assert_eq!(rule.text, format!("-j R{i}"));
                assert_eq!(rule.counters, sum(6, 3 * i as u128), "{distinct}: rule {i}");
                assert_eq!(b.rules[i].counters, sum(3, 3));
            }
            assert_eq!(a.rule_lines, 3 * distinct as u64);
        }
    }

    #[test]
    fn sums_never_wrap() {
        let max = u64::MAX;
        let input = format!(
            "*filter\n:INPUT ACCEPT [{max}:{max}]\n:INPUT ACCEPT [{max}:1]\n[{max}:{max}] -A INPUT -j X\n[{max}:{max}] -A INPUT -j X\nCOMMIT\n"
        );
        let ruleset = parse_ok(&input);
        let chain = &ruleset.tables[0].chains[0];
        let twice = 2 * u128::from(max);
        assert_eq!(
            chain.policies[0].counters,
            Some(sum(twice, u128::from(max) + 1))
        );
        assert_eq!(chain.rules[0].counters, sum(twice, twice));
    }

    #[test]
    fn uncounted_rules_count_but_have_no_series() {
        let ruleset =
            parse_ok("*filter\n:INPUT ACCEPT\n-A INPUT -j X\n[1:2] -A INPUT -j Y\nCOMMIT\n");
        let chain = &ruleset.tables[0].chains[0];
        assert_eq!(chain.rule_lines, 2);
        assert_eq!(chain.rules.len(), 1);
        assert_eq!(chain.policies[0].counters, None);
    }

    #[test]
    fn undeclared_chains_reopened_tables_and_policies_merge_by_identity() {
        let ruleset = parse_ok(concat!(
            "*filter\n[1:1] -A NEW -j X\n:A - [1:1]\nCOMMIT\n",
            "*nat\nCOMMIT\n",
            "*filter\n:A - [2:2]\n:A DROP [5:5]\n[3:3] -A NEW -j X\nCOMMIT\n",
        ));
        let names: Vec<&str> = ruleset.tables.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, ["filter", "nat"]);
        let filter = &ruleset.tables[0];
        assert_eq!(filter.chains[0].name, "NEW");
        assert!(filter.chains[0].policies.is_empty());
        assert_eq!(filter.chains[0].rules[0].counters, sum(4, 4));
        let policies: Vec<(&str, Option<Sum>)> = filter.chains[1]
            .policies
            .iter()
            .map(|p| (p.name.as_ref(), p.counters))
            .collect();
        assert_eq!(
            policies,
            [("-", Some(sum(3, 3))), ("DROP", Some(sum(5, 5)))]
        );
    }

    #[test]
    fn identity_is_decided_after_replacement() {
        let ruleset = parse(b"*filter\n[1:1] -A C -j \xff\n[2:2] -A C -j \xfe\nCOMMIT\n");
        let ruleset = ruleset.expect("non-UTF-8 rule text is valid input");
        let rules = &ruleset.tables[0].chains[0].rules;
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].text, "-j \u{fffd}");
        assert_eq!(rules[0].counters, sum(3, 3));
    }

    #[test]
    fn inline_counters_merge_with_prefixed_ones() {
        let ruleset =
            parse_ok("*filter\n[1:10] -A C -p tcp -j X\n-A C -p tcp -c 2 20 -j X\nCOMMIT\n");
        let rules = &ruleset.tables[0].chains[0].rules;
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].counters, sum(3, 30));
    }

    #[test]
    fn incompatible_tables_are_listed_once_in_order() {
        let note = |t: &str| format!("# Table `{t}' is incompatible, use 'nft' tool.\n");
        let input = [
            note("filter"),
            "*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n".into(),
            note("mangle"),
            note("filter"),
        ]
        .concat();
        let ruleset = parse_ok(&input);
        assert_eq!(ruleset.incompatible, ["filter", "mangle"]);
        assert_eq!(ruleset.stats().incompatible_tables, ["filter", "mangle"]);
        assert_eq!(ruleset.tables.len(), 1);
    }

    #[test]
    fn a_chain_declared_with_many_policies_keeps_each_once() {
        let mut input = String::from("*filter\n");
        for i in 0..1000 {
            input.push_str(&format!(":C P{} [1:1]\n", i % 300));
        }
        input.push_str("COMMIT\n");
        let ruleset = parse_ok(&input);
        let policies = &ruleset.tables[0].chains[0].policies;
        assert_eq!(policies.len(), 300);
        assert_eq!(policies[0].name, "P0");
        assert_eq!(policies[0].counters, Some(sum(4, 4)));
        assert_eq!(policies[299].counters, Some(sum(3, 3)));
    }

    #[test]
    fn empty_and_comment_only_input_is_valid() {
        assert_eq!(parse_ok(""), Ruleset::default());
        assert_eq!(parse_ok("# nothing\n\n"), Ruleset::default());
    }

    #[test]
    fn malformed_input_reports_the_line() {
        let cases: &[(&[u8], usize)] = &[
            (b"[1:1] -A INPUT -j X\n", 1),
            (b":INPUT ACCEPT [0:0]\n", 1),
            (b"COMMIT\n", 1),
            (b"*filter\nCOMMIT\nCOMMIT\n", 3),
            (b"*filter\n*nat\n", 2),
            (b"*filter\n:INPUT ACCEPT [0:0]\n", 3),
            (b"*filter\n:INPUT ACCEPT [0:0]", 3),
            (b"*filter\n\n\n", 4),
            (b"*filter\n[12:x] -A INPUT\nCOMMIT\n", 2),
            (b"*filter\nCOMMIT\ngarbage\n", 3),
            (b"*filter\r\n:INPUT ACCEPT [1:1]\r\nbad\r\nCOMMIT\r\n", 3),
        ];
        for (input, line) in cases {
            assert_eq!(error_line(input), *line, "input {input:?}");
        }
    }
}
