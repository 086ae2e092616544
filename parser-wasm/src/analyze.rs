//! A dump as a ruleset analyzer sees it: tables, chains and every rule as
//! written (not merged), the jumps between chains, and diagnostics.
//!
//! A dump that does not parse gives its parse error (the exporter's own
//! message) as the one diagnostic and nothing else. A dump that parses is
//! read again line by line, keeping what the exporter's model sums away:
//! each rule's line, position and target.
//!
//! Diagnostics, each with a stable code:
//! - `parse-error` (error): the input is malformed.
//! - `jump-to-undeclared-chain` (error): `-j`/`-g` names neither a chain
//!   declared in the table nor a target iptables knows; iptables-restore
//!   would refuse the rule.
//! - `unreferenced-chain` (info): a user chain nothing jumps to.
//! - `unreachable-rule` (warning): an earlier rule of the chain matches
//!   every packet and ends its traversal (`-j ACCEPT` and the like, or a
//!   goto, with no match but a comment), so this rule never sees one.
//! - `duplicate-rule` (warning): the same text as an earlier rule of the
//!   chain; the exporter sums both into one series.
//! - `never-matched` (info): counters present and 0 packets.
//! - `invalid-utf8` (warning): bytes that are not UTF-8 (shown as U+FFFD).
//!
//! A native nftables listing is analysed into the same shapes by
//! [`crate::nft::analyze`], with codes of its own for what only a listing
//! has (`unknown-item`, `unknown-expression`, `unplaced-item`,
//! `counted-by-name`).

use crate::counters::Counters;
use crate::error::ParseError;
use crate::lines::Lines;
use crate::options;
use crate::syntax::{self, Line};
use rustc_hash::{FxHashMap as HashMap, FxHashSet};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// What a diagnostic is about; its code never changes once published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    ParseError,
    JumpToUndeclaredChain,
    UnreferencedChain,
    UnreachableRule,
    DuplicateRule,
    NeverMatched,
    InvalidUtf8,
    UnknownItem,
    UnknownExpression,
    UnplacedItem,
    CountedByName,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::ParseError => "parse-error",
            Code::JumpToUndeclaredChain => "jump-to-undeclared-chain",
            Code::UnreferencedChain => "unreferenced-chain",
            Code::UnreachableRule => "unreachable-rule",
            Code::DuplicateRule => "duplicate-rule",
            Code::NeverMatched => "never-matched",
            Code::InvalidUtf8 => "invalid-utf8",
            Code::UnknownItem => "unknown-item",
            Code::UnknownExpression => "unknown-expression",
            Code::UnplacedItem => "unplaced-item",
            Code::CountedByName => "counted-by-name",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Code::ParseError | Code::JumpToUndeclaredChain => Severity::Error,
            Code::UnreachableRule
            | Code::DuplicateRule
            | Code::InvalidUtf8
            | Code::UnknownItem
            | Code::UnknownExpression
            | Code::UnplacedItem => Severity::Warning,
            Code::UnreferencedChain | Code::NeverMatched | Code::CountedByName => Severity::Info,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based; 0 for the dump as a whole.
    pub line: usize,
    /// 1-based byte column in the line; 1 when the whole line is meant.
    pub column: usize,
    pub code: Code,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    /// Where it was first opened.
    pub line: usize,
    pub chains: Vec<Chain>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub name: String,
    /// Where it first appears (declaration or rule).
    pub line: usize,
    /// Each declaration, in order.
    pub policies: Vec<Policy>,
    /// Rule lines of the chain.
    pub rules: usize,
    /// An nft base chain's `type T hook H priority P`; `None` for
    /// iptables, whose built-in chains say theirs by name.
    pub base: Option<String>,
}

impl Chain {
    /// A built-in chain: declared with a policy other than `-`.
    pub fn builtin(&self) -> bool {
        self.policies.iter().any(|p| p.name != "-")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub line: usize,
    pub name: String,
    pub counters: Option<Counters>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub line: usize,
    /// Indexes into `tables` and its `chains`.
    pub table: usize,
    pub chain: usize,
    /// 1-based position in its chain.
    pub position: usize,
    /// RULESPEC without its counters, as the exporter's `rule` label has it.
    pub text: String,
    pub target: Option<Target>,
    pub counters: Option<Counters>,
    /// The sets it matches against: ipset names of `--match-set`, or nft
    /// `@set` references; each once, in order.
    pub sets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    /// `-g`/`--goto` rather than `-j`/`--jump`.
    pub goto: bool,
    /// 1-based byte column of the name in the line.
    pub column: usize,
}

/// A rule jumping (or going) to a chain of its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub table: usize,
    pub from: usize,
    pub to: usize,
    /// The rule's line.
    pub line: usize,
    pub goto: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    pub error: Option<ParseError>,
    pub tables: Vec<Table>,
    pub rules: Vec<Rule>,
    pub edges: Vec<Edge>,
    /// In line order; for one line, in the order of the list above.
    pub diagnostics: Vec<Diagnostic>,
}

/// Targets iptables and ip6tables know besides chains (the standard
/// verdicts and the target extensions), so that a jump to one of them is
/// not taken for a jump to a missing chain.
const TARGETS: &[&str] = &[
    "ACCEPT",
    "DROP",
    "RETURN",
    "QUEUE",
    "AUDIT",
    "CHECKSUM",
    "CLASSIFY",
    "CLUSTERIP",
    "CONNMARK",
    "CONNSECMARK",
    "CT",
    "DNAT",
    "DNPT",
    "DSCP",
    "ECN",
    "HL",
    "HMARK",
    "IDLETIMER",
    "LED",
    "LOG",
    "MARK",
    "MASQUERADE",
    "NETMAP",
    "NFLOG",
    "NFQUEUE",
    "NOTRACK",
    "RATEEST",
    "REDIRECT",
    "REJECT",
    "SECMARK",
    "SET",
    "SNAT",
    "SNPT",
    "SYNPROXY",
    "TCPMSS",
    "TCPOPTSTRIP",
    "TEE",
    "TOS",
    "TPROXY",
    "TRACE",
    "TTL",
    "ULOG",
];

/// Targets after which a packet leaves the chain for good.
const TERMINAL: &[&str] = &[
    "ACCEPT",
    "DROP",
    "REJECT",
    "RETURN",
    "QUEUE",
    "NFQUEUE",
    "DNAT",
    "SNAT",
    "MASQUERADE",
    "REDIRECT",
    "NETMAP",
    "TPROXY",
];

/// Analyses one family's save output: [`outline`], then
/// [`Outline::details`].
pub fn analyze(input: &[u8]) -> Analysis {
    let outline = outline(input);
    let Details {
        rules,
        edges,
        diagnostics,
    } = outline.details(input);
    Analysis {
        error: outline.error,
        tables: outline.tables,
        rules,
        edges,
        diagnostics,
    }
}

/// The first pass: the parse error, or the tables and chains with their
/// policies and rule counts, and where each rule is. Enough to show a
/// ruleset's tree; it copies no rule text, so a 100k-rule dump's tree is
/// there in a fraction of the whole analysis.
#[derive(Debug, Clone, Default)]
pub struct Outline {
    pub error: Option<ParseError>,
    pub tables: Vec<Table>,
    rules: Vec<RuleAt>,
    /// Per table (same index), its chains by name.
    chains: Vec<HashMap<String, usize>>,
}

/// A rule line as the outline found it.
#[derive(Debug, Clone)]
struct RuleAt {
    line: usize,
    /// Its bytes in the input.
    start: usize,
    end: usize,
    table: usize,
    chain: usize,
    position: usize,
}

/// What the second pass adds to the outline.
#[derive(Debug, Clone, Default)]
pub struct Details {
    pub rules: Vec<Rule>,
    pub edges: Vec<Edge>,
    /// In line order; for one line, in the order of the list above.
    pub diagnostics: Vec<Diagnostic>,
}

/// The first pass over one family's save output.
pub fn outline(input: &[u8]) -> Outline {
    if let Err(error) = crate::parse(input) {
        return Outline {
            error: Some(error),
            ..Outline::default()
        };
    }
    let mut outline = Outline::default();
    let mut tables: HashMap<String, usize> = HashMap::default();
    let mut open = None;
    for (number, line) in Lines::new(input) {
        // The input parsed: every line classifies.
        let Ok(classified) = syntax::classify(line) else {
            continue;
        };
        match classified {
            Line::Table(name) => {
                let name = lossy(name);
                let index = *tables.entry(name.clone()).or_insert_with(|| {
                    outline.tables.push(Table {
                        name,
                        line: number,
                        chains: Vec::new(),
                    });
                    outline.chains.push(HashMap::default());
                    outline.tables.len() - 1
                });
                open = Some(index);
            }
            Line::Commit => open = None,
            Line::Chain(chain) => {
                let Some(table) = open else { continue };
                let index = outline.chain(table, syntax::lossy(chain.name), number);
                outline.tables[table].chains[index].policies.push(Policy {
                    line: number,
                    name: lossy(chain.policy),
                    counters: chain.counters,
                });
            }
            Line::Rule(rule) => {
                let Some(table) = open else { continue };
                let chain = outline.chain(table, syntax::lossy(rule.chain), number);
                let node = &mut outline.tables[table].chains[chain];
                node.rules += 1;
                let start = offset_in(input, line);
                outline.rules.push(RuleAt {
                    line: number,
                    start,
                    end: start + line.len(),
                    table,
                    chain,
                    position: node.rules,
                });
            }
            Line::Ignored | Line::Incompatible(_) => {}
        }
    }
    outline
}

impl Outline {
    /// Rule lines, without reading them.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The chain `name` of `table`, added if new; the name is copied only
    /// then.
    fn chain(&mut self, table: usize, name: Cow<'_, str>, line: usize) -> usize {
        let index = &mut self.chains[table];
        if let Some(&chain) = index.get(&*name) {
            return chain;
        }
        let chains = &mut self.tables[table].chains;
        index.insert(name.to_string(), chains.len());
        chains.push(Chain {
            name: name.into_owned(),
            line,
            policies: Vec::new(),
            rules: 0,
            base: None,
        });
        chains.len() - 1
    }

    /// The second pass, over the input the outline was made from: every
    /// rule with its text and target, the jumps, the diagnostics.
    pub fn details(&self, input: &[u8]) -> Details {
        let mut details = Details::default();
        if let Some(error) = &self.error {
            details.diagnostics.push(Diagnostic {
                line: error.line,
                column: 1,
                code: Code::ParseError,
                message: error.kind.to_string(),
            });
            return details;
        }
        for (number, line) in Lines::new(input) {
            if let Err(bad) = std::str::from_utf8(line) {
                details.diagnostics.push(Diagnostic {
                    line: number,
                    column: bad.valid_up_to() + 1,
                    code: Code::InvalidUtf8,
                    message: "bytes that are not UTF-8; shown, and exported, as U+FFFD".into(),
                });
            }
        }
        for at in &self.rules {
            let Some(line) = input.get(at.start..at.end) else {
                continue;
            };
            let Ok(Line::Rule(rule)) = syntax::classify(line) else {
                continue;
            };
            let spec_column = offset_in(line, rule.spec) + 1;
            let text = rule.text().into_owned();
            let target = target(&text).map(|(at, name, goto)| Target {
                name,
                goto,
                column: spec_column + at,
            });
            details.rules.push(Rule {
                line: at.line,
                table: at.table,
                chain: at.chain,
                position: at.position,
                sets: match_sets(&text),
                text,
                target,
                counters: rule.counters,
            });
        }
        self.jumps(&mut details);
        self.unreferenced_chains(&mut details);
        rule_findings(&mut details, catches_all);
        // Line order; a stable sort keeps each line's own order.
        details.diagnostics.sort_by_key(|d| d.line);
        details
    }

    /// Edges for jumps to chains; diagnostics for jumps to nothing.
    fn jumps(&self, details: &mut Details) {
        for rule in &details.rules {
            let Some(target) = &rule.target else { continue };
            let table = &self.tables[rule.table];
            let message = match self.chains[rule.table].get(target.name.as_str()) {
                Some(&to) => {
                    details.edges.push(Edge {
                        table: rule.table,
                        from: rule.chain,
                        to,
                        line: rule.line,
                        goto: target.goto,
                    });
                    if !table.chains[to].policies.is_empty() {
                        continue;
                    }
                    format!(
                        "jump to `{}`, a chain of table `{}` that is never declared (no `:{} - [0:0]` line)",
                        target.name, table.name, target.name
                    )
                }
                None if TARGETS.contains(&target.name.as_str()) => continue,
                None => format!(
                    "jump to `{}`: no chain of that name in table `{}`, and not a target iptables knows",
                    target.name, table.name
                ),
            };
            details.diagnostics.push(Diagnostic {
                line: rule.line,
                column: target.column,
                code: Code::JumpToUndeclaredChain,
                message,
            });
        }
    }

    fn unreferenced_chains(&self, details: &mut Details) {
        let referenced: FxHashSet<(usize, usize)> =
            details.edges.iter().map(|e| (e.table, e.to)).collect();
        for (t, table) in self.tables.iter().enumerate() {
            for (c, chain) in table.chains.iter().enumerate() {
                if !chain.builtin() && !referenced.contains(&(t, c)) {
                    details.diagnostics.push(Diagnostic {
                        line: chain.line,
                        column: 1,
                        code: Code::UnreferencedChain,
                        message: format!(
                            "user chain `{}` of table `{}`: no rule jumps to it, so its rules never see a packet",
                            chain.name, table.name
                        ),
                    });
                }
            }
        }
    }
}

/// Unreachable, duplicate and never-matched rules, chain by chain;
/// `catches_all` says whether a rule's text matches every packet and ends
/// the chain's traversal.
pub(crate) fn rule_findings(details: &mut Details, catches_all: fn(&str) -> bool) {
    // Per (table, chain): the line of a rule that ends every traversal,
    // and the first line of each text.
    let mut ended: HashMap<(usize, usize), usize> = HashMap::default();
    let mut seen: HashMap<(usize, usize, &str), usize> = HashMap::default();
    let mut found = Vec::new();
    for rule in &details.rules {
        let key = (rule.table, rule.chain);
        if let Some(&at) = ended.get(&key) {
            found.push((rule.line, Code::UnreachableRule, format!(
                "never reached: the rule on line {at} matches every packet and ends the chain's traversal"
            )));
        } else if catches_all(&rule.text) {
            ended.insert(key, rule.line);
        }
        match seen.get(&(rule.table, rule.chain, rule.text.as_str())) {
            Some(&first) => found.push((rule.line, Code::DuplicateRule, format!(
                "the same rule as line {first}: the exporter sums their counters into one series"
            ))),
            None => {
                seen.insert((rule.table, rule.chain, rule.text.as_str()), rule.line);
            }
        }
        if rule.counters.is_some_and(|c| c.packets == 0) {
            found.push((
                rule.line,
                Code::NeverMatched,
                "no packet has matched this rule since its counters were last zeroed".into(),
            ));
        }
    }
    for (line, code, message) in found {
        details.diagnostics.push(Diagnostic {
            line,
            column: 1,
            code,
            message,
        });
    }
}

/// `-j NAME`/`--jump NAME`/`-g NAME`/`--goto NAME`: the byte offset of the
/// name in `text`, the name, and whether it is a goto. Read as options, so
/// that a `-j` inside another option's argument (`--log-prefix -j`) is no
/// jump.
fn target(text: &str) -> Option<(usize, String, bool)> {
    options::of(text).find_map(|option| {
        let goto = match &*option.name {
            "-j" | "--jump" => false,
            "-g" | "--goto" => true,
            _ => return None,
        };
        let (at, name) = option.argument?;
        Some((at, name.into_owned(), goto))
    })
}

/// The ipsets of `-m set --match-set NAME FLAGS`, each once, in order.
fn match_sets(text: &str) -> Vec<String> {
    let mut sets: Vec<String> = Vec::new();
    for option in options::of(text) {
        if option.name == "--match-set"
            && let Some((_, name)) = option.argument
            && !sets.iter().any(|s| *s == name)
        {
            sets.push(name.into_owned());
        }
    }
    sets
}

/// Whether a rule matches every packet and ends the traversal of its
/// chain: nothing before its target but comments, and a terminal target
/// or a goto (with nothing after it).
fn catches_all(text: &str) -> bool {
    let is_comment = |option: &options::RuleOption<'_>| match &*option.name {
        "-m" | "--match" => option
            .argument
            .as_ref()
            .is_some_and(|(_, m)| m == "comment"),
        "--comment" => true,
        _ => false,
    };
    let mut rest = options::of(text).skip_while(is_comment);
    let Some(first) = rest.next() else {
        return false;
    };
    let argument = first.argument.as_ref().map(|(_, a)| a.as_ref());
    match (&*first.name, argument) {
        (_, _) if first.negated => false,
        ("-j" | "--jump", Some(target)) => TERMINAL.contains(&target),
        ("-g" | "--goto", Some(_)) => rest.next().is_none(),
        _ => false,
    }
}

/// The text of a name, owned (bytes that are not UTF-8 as U+FFFD).
fn lossy(bytes: &[u8]) -> String {
    syntax::lossy(bytes).into_owned()
}

/// Where `part`, a slice of `whole`, starts in it.
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "*filter
:INPUT DROP [10:600]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:LOGGING - [0:0]
:ORPHAN - [0:0]
[5:300] -A INPUT -i lo -j ACCEPT
[2:80] -A INPUT -p tcp -j LOGGING
[0:0] -A INPUT -p tcp -j LOGGING
[1:10] -A INPUT -j MISSING
[3:30] -A LOGGING -m comment --comment \"log it\" -j LOG --log-prefix \"x -j Y\"
[3:30] -A LOGGING -m comment --comment \"then drop\" -j DROP
[0:0] -A LOGGING -p udp -j ACCEPT
[1:1] -A ORPHAN -j RETURN
[1:1] -A FORWARD -g LOGGING
COMMIT
";

    fn codes(analysis: &Analysis) -> Vec<(usize, &'static str)> {
        analysis
            .diagnostics
            .iter()
            .map(|d| (d.line, d.code.as_str()))
            .collect()
    }

    #[test]
    fn a_rule_names_the_ipsets_it_matches_once_in_order() {
        let dump = "*filter\n:INPUT ACCEPT [0:0]\n[0:0] -A INPUT -m set --match-set allow src -m set ! --match-set ban src,dst -m set --match-set allow dst -j ACCEPT\n[0:0] -A INPUT -m comment --comment \"--match-set x\" -j DROP\nCOMMIT\n";
        let analysis = analyze(dump.as_bytes());
        let sets: Vec<&[String]> = analysis.rules.iter().map(|r| r.sets.as_slice()).collect();
        assert_eq!(sets, [&["allow".to_owned(), "ban".to_owned()][..], &[][..]]);
    }

    #[test]
    fn the_tree_the_rules_and_the_edges() {
        let analysis = analyze(DUMP.as_bytes());
        assert_eq!(analysis.error, None);
        let table = &analysis.tables[0];
        assert_eq!(table.name, "filter");
        let names: Vec<&str> = table.chains.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["INPUT", "FORWARD", "OUTPUT", "LOGGING", "ORPHAN"]);
        assert_eq!(table.chains[0].policies[0].name, "DROP");
        assert_eq!(
            table.chains[0].policies[0].counters,
            Some(Counters {
                packets: 10,
                bytes: 600
            })
        );
        assert!(table.chains[0].builtin() && !table.chains[3].builtin());
        assert_eq!(table.chains[0].rules, 4);
        assert_eq!(analysis.rules.len(), 9);
        let rule = &analysis.rules[2];
        assert_eq!(
            (rule.line, rule.position, rule.text.as_str()),
            (9, 3, "-p tcp -j LOGGING")
        );
        let target = rule.target.as_ref().expect("target");
        assert_eq!((target.name.as_str(), target.goto), ("LOGGING", false));
        // `[0:0] -A INPUT -p tcp -j LOGGING`: the name starts at byte 26.
        assert_eq!(target.column, 26);
        // The quoted `-j Y` inside the log prefix is not a target.
        assert_eq!(
            analysis.rules[4].target.as_ref().map(|t| t.name.as_str()),
            Some("LOG")
        );
        let edges: Vec<(usize, usize, bool)> = analysis
            .edges
            .iter()
            .map(|e| (e.from, e.to, e.goto))
            .collect();
        assert_eq!(edges, [(0, 3, false), (0, 3, false), (1, 3, true)]);
    }

    #[test]
    fn every_kind_of_diagnostic() {
        let analysis = analyze(DUMP.as_bytes());
        assert_eq!(
            codes(&analysis),
            [
                (6, "unreferenced-chain"),
                (9, "duplicate-rule"),
                (9, "never-matched"),
                (10, "jump-to-undeclared-chain"),
                (13, "unreachable-rule"),
                (13, "never-matched"),
            ]
        );
        let missing = &analysis.diagnostics[3];
        assert_eq!(missing.column, 20);
        assert!(missing.message.contains("`MISSING`"), "{}", missing.message);
        assert_eq!(missing.code.severity(), Severity::Error);
        assert!(analysis.diagnostics[4].message.contains("line 12"));
    }

    #[test]
    fn a_chain_with_rules_but_no_declaration_is_reported_where_jumped_to() {
        let dump = "*filter\n:INPUT ACCEPT [0:0]\n[1:1] -A INPUT -j SIDE\n[1:1] -A SIDE -j ACCEPT\nCOMMIT\n";
        let analysis = analyze(dump.as_bytes());
        assert_eq!(codes(&analysis), [(3, "jump-to-undeclared-chain")]);
        assert!(analysis.diagnostics[0].message.contains("never declared"));
        assert_eq!(analysis.edges.len(), 1);
    }

    #[test]
    fn a_parse_error_is_the_one_diagnostic_with_the_exporters_message() {
        let dump = b"*filter\n:INPUT ACCEPT [0:0]\n[1:x] -A INPUT -j ACCEPT\nCOMMIT\n";
        let analysis = analyze(dump);
        let error = crate::parse(dump).expect_err("malformed");
        assert_eq!(analysis.error.as_ref(), Some(&error));
        assert_eq!(codes(&analysis), [(3, "parse-error")]);
        assert_eq!(analysis.diagnostics[0].message, error.kind.to_string());
        assert!(analysis.tables.is_empty() && analysis.rules.is_empty());
    }

    #[test]
    fn bytes_that_are_not_utf8_are_pointed_at() {
        let dump = b"*filter\n:INPUT ACCEPT [0:0]\n[1:1] -A INPUT -m comment --comment \"a\xffb\" -j ACCEPT\nCOMMIT\n";
        let analysis = analyze(dump);
        assert_eq!(codes(&analysis), [(3, "invalid-utf8")]);
        assert_eq!(analysis.diagnostics[0].column, 39);
        assert!(analysis.rules[0].text.contains('\u{fffd}'));
    }

    #[test]
    fn a_jump_inside_another_options_argument_is_no_jump() {
        let dump = "*filter\n:INPUT ACCEPT [0:0]\n\
            [1:1] -A INPUT -j LOG --log-prefix -j\n\
            [1:1] -A INPUT -m string --string -g --algo bm -j LOG --log-prefix \"-g NOWHERE\"\n\
            [1:1] -A INPUT -m string --string \"--comment\" --algo bm -m comment --comment real -j ACCEPT\n\
            COMMIT\n";
        let analysis = analyze(dump.as_bytes());
        assert_eq!(codes(&analysis), [], "{:?}", analysis.diagnostics);
        assert!(analysis.edges.is_empty(), "{:?}", analysis.edges);
        let targets: Vec<Option<&str>> = analysis
            .rules
            .iter()
            .map(|rule| rule.target.as_ref().map(|t| t.name.as_str()))
            .collect();
        assert_eq!(targets, [Some("LOG"), Some("LOG"), Some("ACCEPT")]);
    }

    #[test]
    fn what_catches_every_packet() {
        for text in [
            "-j ACCEPT",
            "-j REJECT --reject-with icmp-port-unreachable",
            "-m comment --comment \"default deny\" -j DROP",
            "-g KUBE-SVC-X",
        ] {
            assert!(catches_all(text), "{text}");
        }
        for text in [
            "-p tcp -j ACCEPT",
            "-j LOG",
            "-j KUBE-SERVICES",
            "",
            "-m comment --comment x",
            "-m comment --comment -j ACCEPT",
            "! -g KUBE-SVC-X",
            "-g KUBE-SVC-X --other",
        ] {
            assert!(!catches_all(text), "{text}");
        }
    }

    #[test]
    fn inline_counters_are_cut_and_lines_are_numbered_as_in_the_input() {
        let dump = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -c 7 70 -j ACCEPT\n\n# note\n-A INPUT -j DROP\nCOMMIT\n";
        let analysis = analyze(dump.as_bytes());
        assert_eq!(analysis.rules[0].text, "-p tcp -j ACCEPT");
        assert_eq!(
            analysis.rules[0].counters,
            Some(Counters {
                packets: 7,
                bytes: 70
            })
        );
        assert_eq!(analysis.rules[1].line, 6);
        assert_eq!(analysis.rules[1].counters, None);
    }
}
