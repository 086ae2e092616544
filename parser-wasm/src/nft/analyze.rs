//! A native nftables listing as the ruleset analyzer sees it, in the same
//! shapes as an iptables dump's analysis ([`crate::analyze`]) so that one
//! analyzer shows both: tables (named `family name`: `inet firewalld`),
//! chains, every rule with its label, the jumps between chains, and
//! diagnostics. What only a listing has comes besides: its named objects
//! (sets, maps and meters with their sizes, counters, quotas).
//!
//! A listing has no lines worth the name (nft prints one), so `line` is
//! the 1-based item of the listing's `nftables` array everywhere here.
//!
//! Jumps come from `jump`/`goto` verdicts, anonymous verdict maps and
//! named ones (`vmap @service-ips`: the map's elements' verdicts). Besides
//! the iptables codes that apply (`jump-to-undeclared-chain`,
//! `unreferenced-chain`, `unreachable-rule`, `duplicate-rule`,
//! `never-matched`), a listing gives:
//! - `unknown-item` / `unknown-expression` / `unplaced-item` (warning):
//!   what the exporter skipped or printed as JSON (the listing's findings);
//! - `counted-by-name` (info): a rule counting through a named counter,
//!   whose packets are that counter's series, not a rule series.

use super::listing::{FindingKind, Listing, ListingError, SetKind};
use super::print::Jump;
use crate::analyze::{
    Chain, Code, Details, Diagnostic, Edge, Policy, Rule, Table, Target, rule_findings,
};
use crate::counters::Counters;
use rustc_hash::{FxHashMap, FxHashSet};

/// A listing, analysed.
#[derive(Debug, Default)]
pub struct NftAnalysis {
    pub error: Option<ListingError>,
    pub tables: Vec<Table>,
    pub details: Details,
    pub objects: Vec<Object>,
}

/// A named object of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Index into `tables`.
    pub table: usize,
    pub kind: ObjectKind,
    pub name: String,
    pub line: usize,
    /// A set's, map's or meter's elements (`None` when the listing was
    /// terse).
    pub elements: Option<u64>,
    /// Its declared size.
    pub max_elements: Option<u64>,
    /// A named counter's values.
    pub counters: Option<Counters>,
    /// A quota's bytes used and limit.
    pub quota: Option<(u64, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Set,
    Map,
    Meter,
    Counter,
    Quota,
}

/// Analyses `nft -j list ruleset` output; never fails (a listing that
/// does not read has its error and the one diagnostic saying it).
pub fn analyze(bytes: &[u8]) -> NftAnalysis {
    match super::parse(bytes) {
        Ok(listing) => of_listing(&listing),
        Err(error) => NftAnalysis {
            details: Details {
                diagnostics: vec![Diagnostic {
                    line: 0,
                    column: 1,
                    code: Code::ParseError,
                    message: error.to_string(),
                }],
                ..Details::default()
            },
            error: Some(error),
            ..NftAnalysis::default()
        },
    }
}

fn of_listing(listing: &Listing) -> NftAnalysis {
    let mut analysis = NftAnalysis::default();
    let mut details = Details::default();
    for (t, table) in listing.tables.iter().enumerate() {
        let name = format!("{} {}", table.family, table.name);
        let chains: FxHashMap<&str, usize> = table
            .chains
            .iter()
            .enumerate()
            .map(|(c, chain)| (chain.name.as_str(), c))
            .collect();
        let verdict_maps: FxHashMap<&str, &[Jump]> = table
            .sets
            .iter()
            .map(|set| (set.name.as_str(), set.verdicts.as_slice()))
            .collect();
        for (c, chain) in table.chains.iter().enumerate() {
            for (position, rule) in chain.rules.iter().enumerate() {
                let line = item(rule.item);
                let mapped = rule
                    .verdict_maps
                    .iter()
                    .filter_map(|map| verdict_maps.get(map.as_str()))
                    .flat_map(|jumps| jumps.iter());
                let jumps: Vec<&Jump> = rule.jumps.iter().chain(mapped).collect();
                for jump in &jumps {
                    match chains.get(jump.target.as_str()) {
                        Some(&to) => details.edges.push(Edge {
                            table: t,
                            from: c,
                            to,
                            line,
                            goto: jump.goto,
                        }),
                        None => details.diagnostics.push(Diagnostic {
                            line,
                            column: 1,
                            code: Code::JumpToUndeclaredChain,
                            message: format!(
                                "{} {}: no chain of that name in table {name}",
                                if jump.goto { "goto" } else { "jump" },
                                jump.target
                            ),
                        }),
                    }
                }
                for counter in &rule.named_counters {
                    details.diagnostics.push(counted_by_name(line, &format!(
                        "counts through the named counter \"{counter}\" of table {name}: its packets and bytes are that counter's series (nftables_counter_packets_total{{counter=\"{counter}\"}}), not a rule series"
                    )));
                }
                if rule.counter_map {
                    details.diagnostics.push(counted_by_name(line, &format!(
                        "counts through named counters chosen by a map at run time: their series are the counters' of table {name}, not a rule series"
                    )));
                }
                // A rule of one jump links to it; a verdict map's several
                // targets are its edges only.
                let target = match jumps.as_slice() {
                    [jump] if rule.verdict_maps.is_empty() => Some(Target {
                        name: jump.target.clone(),
                        goto: jump.goto,
                        column: 1,
                    }),
                    _ => None,
                };
                details.rules.push(Rule {
                    line,
                    table: t,
                    chain: c,
                    position: position + 1,
                    text: rule.text.clone(),
                    target,
                    counters: rule.counters,
                    sets: rule.sets.clone(),
                });
            }
        }
        analysis.tables.push(Table {
            name,
            line: item(table.item),
            chains: table
                .chains
                .iter()
                .map(|chain| Chain {
                    name: chain.name.clone(),
                    line: item(chain.item),
                    policies: chain
                        .base
                        .iter()
                        .map(|base| Policy {
                            line: item(chain.item),
                            name: base.policy.clone(),
                            counters: None,
                        })
                        .collect(),
                    rules: chain.rules.len(),
                    base: chain.base.as_ref().map(|base| {
                        format!(
                            "type {} hook {} priority {}",
                            base.kind, base.hook, base.priority
                        )
                    }),
                })
                .collect(),
        });
        analysis.objects.extend(objects(t, table));
    }
    unreferenced_chains(&analysis.tables, &mut details);
    for finding in &listing.findings {
        let code = match finding.kind {
            FindingKind::UnknownItem => Code::UnknownItem,
            FindingKind::UnknownExpression => Code::UnknownExpression,
            FindingKind::Unplaced => Code::UnplacedItem,
        };
        details.diagnostics.push(Diagnostic {
            line: item(finding.item),
            column: 1,
            code,
            message: finding.message.clone(),
        });
    }
    // Input order, whatever order the listing's items came in; stable, so
    // that one item's diagnostics keep the order they were found in.
    details.rules.sort_by_key(|rule| rule.line);
    details.edges.sort_by_key(|edge| edge.line);
    rule_findings(&mut details, catches_all);
    details.diagnostics.sort_by_key(|d| d.line);
    analysis.details = details;
    analysis
}

fn counted_by_name(line: usize, message: &str) -> Diagnostic {
    Diagnostic {
        line,
        column: 1,
        code: Code::CountedByName,
        message: message.to_owned(),
    }
}

fn item(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn objects(t: usize, table: &super::listing::Table) -> impl Iterator<Item = Object> + '_ {
    let sets = table.sets.iter().map(move |set| Object {
        table: t,
        kind: match set.kind {
            SetKind::Set => ObjectKind::Set,
            SetKind::Map => ObjectKind::Map,
            SetKind::Meter => ObjectKind::Meter,
        },
        name: set.name.clone(),
        line: item(set.item),
        elements: set.elements,
        max_elements: set.max_elements,
        counters: None,
        quota: None,
    });
    let counters = table.counters.iter().map(move |counter| Object {
        table: t,
        kind: ObjectKind::Counter,
        name: counter.name.clone(),
        line: item(counter.item),
        elements: None,
        max_elements: None,
        counters: Some(counter.counters),
        quota: None,
    });
    let quotas = table.quotas.iter().map(move |quota| Object {
        table: t,
        kind: ObjectKind::Quota,
        name: quota.name.clone(),
        line: item(quota.item),
        elements: None,
        max_elements: None,
        counters: None,
        quota: Some((quota.used, quota.limit)),
    });
    counters.chain(quotas).chain(sets)
}

/// Regular chains that no rule jumps, goes or maps to.
fn unreferenced_chains(tables: &[Table], details: &mut Details) {
    let referenced: FxHashSet<(usize, usize)> =
        details.edges.iter().map(|e| (e.table, e.to)).collect();
    for (t, table) in tables.iter().enumerate() {
        for (c, chain) in table.chains.iter().enumerate() {
            if chain.base.is_none() && !referenced.contains(&(t, c)) {
                details.diagnostics.push(Diagnostic {
                    line: chain.line,
                    column: 1,
                    code: Code::UnreferencedChain,
                    message: format!(
                        "regular chain {} of table {}: no rule jumps, goes or maps to it, so its rules never see a packet",
                        chain.name, table.name
                    ),
                });
            }
        }
    }
}

/// A rule that ends every traversal of its chain: nothing but a verdict
/// that leaves it (its counter and comment aside).
fn catches_all(text: &str) -> bool {
    let statements = match text.find(" comment \"") {
        Some(at) => &text[..at],
        None if text.starts_with("comment \"") => "",
        None => text,
    };
    let mut words = statements.split(' ').filter(|w| *w != "counter");
    matches!(
        words.next(),
        Some("accept" | "drop" | "return" | "reject" | "goto")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysed(items: &str) -> NftAnalysis {
        let json = format!(
            r#"{{"nftables": [{{"metainfo": {{"version": "1.0.6", "json_schema_version": 1}}}}, {items}]}}"#
        );
        analyze(json.as_bytes())
    }

    fn codes(analysis: &NftAnalysis) -> Vec<(usize, &'static str)> {
        analysis
            .details
            .diagnostics
            .iter()
            .map(|d| (d.line, d.code.as_str()))
            .collect()
    }

    const TABLE: &str = r#"{"table": {"family": "ip", "name": "kp", "handle": 1}}"#;

    #[test]
    fn a_rule_names_every_set_and_map_it_refers_to_once() {
        let analysis = analysed(&format!(
            r#"{TABLE},
            {{"chain": {{"family": "ip", "table": "kp", "name": "c", "handle": 2}}}},
            {{"rule": {{"family": "ip", "table": "kp", "chain": "c", "handle": 3, "expr": [
                {{"match": {{"op": "==", "left": {{"payload": {{"protocol": "ip", "field": "saddr"}}}}, "right": "@blocklist"}}}},
                {{"set": {{"op": "add", "elem": {{"payload": {{"protocol": "ip", "field": "saddr"}}}}, "set": "@seen"}}}},
                {{"match": {{"op": "!=", "left": {{"payload": {{"protocol": "ip", "field": "daddr"}}}}, "right": "@blocklist"}}}},
                {{"counter": {{"packets": 1, "bytes": 2}}}}]}}}},
            {{"rule": {{"family": "ip", "table": "kp", "chain": "c", "handle": 4, "comment": "@not-a-set", "expr": [{{"accept": null}}]}}}}"#
        ));
        let sets: Vec<&[String]> = analysis
            .details
            .rules
            .iter()
            .map(|r| r.sets.as_slice())
            .collect();
        assert_eq!(
            sets,
            [&["blocklist".to_owned(), "seen".to_owned()][..], &[][..]]
        );
    }

    #[test]
    fn named_verdict_maps_anonymous_ones_and_jumps_are_edges() {
        let analysis = analysed(&format!(
            r#"{TABLE},
            {{"map": {{"family": "ip", "table": "kp", "name": "svc", "type": "ipv4_addr", "map": "verdict", "handle": 2,
                "elem": [["10.0.0.1", {{"goto": {{"target": "svc-a"}}}}], ["10.0.0.2", {{"jump": {{"target": "svc-b"}}}}], ["10.0.0.3", {{"drop": null}}]]}}}},
            {{"chain": {{"family": "ip", "table": "kp", "name": "out", "handle": 3, "type": "nat", "hook": "output", "prio": -100, "policy": "accept"}}}},
            {{"chain": {{"family": "ip", "table": "kp", "name": "svc-a", "handle": 4}}}},
            {{"chain": {{"family": "ip", "table": "kp", "name": "svc-b", "handle": 5}}}},
            {{"chain": {{"family": "ip", "table": "kp", "name": "lonely", "handle": 6}}}},
            {{"rule": {{"family": "ip", "table": "kp", "chain": "out", "handle": 7, "expr": [{{"vmap": {{"key": {{"payload": {{"protocol": "ip", "field": "daddr"}}}}, "data": "@svc"}}}}]}}}},
            {{"rule": {{"family": "ip", "table": "kp", "chain": "svc-a", "handle": 8, "expr": [{{"jump": {{"target": "svc-b"}}}}]}}}},
            {{"rule": {{"family": "ip", "table": "kp", "chain": "svc-b", "handle": 9, "expr": [{{"vmap": {{"key": {{"numgen": {{"mode": "random", "mod": 2, "offset": 0}}}}, "data": {{"set": [[0, {{"goto": {{"target": "svc-a"}}}}], [1, {{"goto": {{"target": "gone"}}}}]]}}}}}}]}}}}"#
        ));
        assert!(analysis.error.is_none());
        let edges: Vec<(usize, usize, usize, bool)> = analysis
            .details
            .edges
            .iter()
            .map(|e| (e.from, e.to, e.line, e.goto))
            .collect();
        // out → svc-a (goto), svc-b (jump) through the map; svc-a → svc-b;
        // svc-b → svc-a through its anonymous map.
        assert_eq!(
            edges,
            vec![
                (0, 1, 8, true),
                (0, 2, 8, false),
                (1, 2, 9, false),
                (2, 1, 10, true)
            ]
        );
        assert_eq!(
            codes(&analysis),
            vec![(7, "unreferenced-chain"), (10, "jump-to-undeclared-chain")]
        );
        let table = &analysis.tables[0];
        assert_eq!(table.name, "ip kp");
        assert_eq!(
            table.chains[0].base.as_deref(),
            Some("type nat hook output priority -100")
        );
        assert_eq!(table.chains[0].policies[0].name, "accept");
        assert!(table.chains[1].base.is_none() && table.chains[1].policies.is_empty());
        let rules = &analysis.details.rules;
        assert_eq!(rules[0].text, "ip daddr vmap @svc");
        assert_eq!(
            rules[0].target, None,
            "a map's several targets are edges only"
        );
        assert_eq!(
            rules[1].target.as_ref().map(|t| t.name.as_str()),
            Some("svc-b")
        );
        let map = &analysis.objects[0];
        assert_eq!(
            (map.kind, map.name.as_str(), map.elements, map.line),
            (ObjectKind::Map, "svc", Some(3), 3)
        );
    }

    #[test]
    fn named_counters_quotas_and_sets_are_objects_and_links() {
        let analysis = analysed(&format!(
            r#"{TABLE},
            {{"counter": {{"family": "ip", "table": "kp", "name": "c", "handle": 2, "packets": 5, "bytes": 300}}}},
            {{"quota": {{"family": "ip", "table": "kp", "name": "q", "handle": 3, "bytes": 1000, "used": 10}}}},
            {{"set": {{"family": "ip", "table": "kp", "name": "s", "type": "ipv4_addr", "handle": 4, "size": 64, "elem": ["10.0.0.1", {{"prefix": {{"addr": "10.1.0.0", "len": 16}}}}]}}}},
            {{"chain": {{"family": "ip", "table": "kp", "name": "in", "handle": 5, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}}},
            {{"rule": {{"family": "ip", "table": "kp", "chain": "in", "handle": 6, "expr": [{{"counter": "c"}}, {{"accept": null}}]}}}},
            {{"rule": {{"family": "ip", "table": "kp", "chain": "in", "handle": 7, "expr": [{{"counter": {{"packets": 0, "bytes": 0}}}}, {{"drop": null}}]}}}},
            {{"flowtable": {{"family": "ip", "table": "kp", "name": "f"}}}}"#
        ));
        let objects: Vec<_> = analysis
            .objects
            .iter()
            .map(|o| {
                (
                    o.kind,
                    o.name.as_str(),
                    o.line,
                    o.elements,
                    o.max_elements,
                    o.counters,
                    o.quota,
                )
            })
            .collect();
        assert_eq!(
            objects,
            vec![
                (
                    ObjectKind::Counter,
                    "c",
                    3,
                    None,
                    None,
                    Some(Counters {
                        packets: 5,
                        bytes: 300
                    }),
                    None
                ),
                (
                    ObjectKind::Quota,
                    "q",
                    4,
                    None,
                    None,
                    None,
                    Some((10, 1000))
                ),
                (ObjectKind::Set, "s", 5, Some(2), Some(64), None, None),
            ]
        );
        assert_eq!(
            codes(&analysis),
            vec![
                (7, "counted-by-name"),
                (8, "never-matched"),
                (9, "unknown-item"),
            ]
        );
        assert_eq!(analysis.details.rules[0].counters, None);
        assert_eq!(analysis.details.rules[1].text, "counter drop");
    }

    #[test]
    fn catch_alls_shadow_later_rules_and_duplicates_are_found() {
        let rule = |handle: u32, expr: &str| {
            format!(
                r#"{{"rule": {{"family": "ip", "table": "kp", "chain": "in", "handle": {handle}, "expr": {expr}}}}}"#
            )
        };
        let analysis = analysed(
            &(format!(
                "{TABLE}, {}, {}, {}, {}",
                r#"{"chain": {"family": "ip", "table": "kp", "name": "in", "handle": 2, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}}"#,
                rule(
                    3,
                    r#"[{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}}, {"drop": null}]"#
                ),
                rule(
                    4,
                    r#"[{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}}, {"drop": null}]"#
                ),
                rule(
                    5,
                    r#"[{"counter": {"packets": 1, "bytes": 2}}, {"accept": null}]"#
                ),
            ) + ", "
                + &rule(6, r#"[{"drop": null}]"#)),
        );
        assert_eq!(
            codes(&analysis),
            vec![(5, "duplicate-rule"), (7, "unreachable-rule")]
        );
        assert!(catches_all("counter accept comment \"all\""));
        assert!(catches_all("reject with icmp type port-unreachable"));
        assert!(!catches_all("tcp dport 22 accept"));
        assert!(!catches_all("jump other"));
        assert!(!catches_all("comment \"only\""));
    }

    #[test]
    fn a_listing_that_does_not_read_is_its_error_and_nothing_else() {
        let analysis = analyze(br#"{"nftables": [{"table": "#);
        let error = analysis.error.as_ref().map(|e| e.kind);
        assert_eq!(error, Some(super::super::ListingErrorKind::Truncated));
        assert!(analysis.tables.is_empty() && analysis.details.rules.is_empty());
        assert_eq!(codes(&analysis), vec![(0, "parse-error")]);
    }
}

#[cfg(test)]
mod fixtures {
    /// The fuzz property over every captured and drift listing (JSON and
    /// text), and over each cut short at a few places.
    #[test]
    fn every_fixture_listing_holds_the_fuzz_property() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/nftables");
        let mut seen = 0;
        for dir in [dir.clone(), dir.join("drift")] {
            for entry in std::fs::read_dir(&dir).expect("fixtures/nftables") {
                let path = entry.expect("entry").path();
                if !matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("json" | "txt")
                ) {
                    continue;
                }
                let listing = std::fs::read(&path).expect("listing");
                crate::check::nft_case(&listing);
                for cut in [1, listing.len() / 3, listing.len() / 2, listing.len() - 2] {
                    crate::check::nft_case(&listing[..cut]);
                }
                seen += 1;
            }
        }
        assert_eq!(seen, 14, "captured listings, their texts and drift cases");
    }
}
