//! An independent model of the nftables series (docs/metrics.md), read
//! straight from `nft -j` JSON with serde_json and nothing of the
//! component: what each named counter, quota, set and chain must show, and
//! what each chain's rule series must add up to. It does not print rules:
//! it checks the numbers the labels carry.

use super::http::{Series, parse_samples};
use serde_json::Value;
use std::collections::BTreeMap;

/// `family table NAME` → value, per metric.
pub type Expected = BTreeMap<(String, Vec<(String, String)>), u128>;

/// A counter value as nft prints it: negative past 2^63.
fn u64_of(value: &Value) -> u128 {
    match (value.as_u64(), value.as_i64()) {
        (Some(v), _) => u128::from(v),
        (None, Some(v)) => u128::from(v as u64),
        _ => 0,
    }
}

fn text(item: &Value, key: &str) -> String {
    item[key].as_str().unwrap_or_default().to_owned()
}

fn key(metric: &str, labels: &[(&str, String)]) -> (String, Vec<(String, String)>) {
    (
        metric.to_owned(),
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

/// Whether a rule counts through a named counter (by name or by map).
fn counts_by_name(exprs: &[Value]) -> bool {
    exprs.iter().any(|e| match e.get("counter") {
        Some(Value::String(_)) => true,
        Some(Value::Object(o)) => o.contains_key("map"),
        _ => false,
    })
}

/// The inline counter of a rule, if it has one with values.
fn inline_counter(exprs: &[Value]) -> Option<(u128, u128)> {
    exprs.iter().find_map(|e| {
        let c = e.get("counter")?.as_object()?;
        if c.contains_key("map") {
            return None;
        }
        Some((u64_of(&c["packets"]), u64_of(&c["bytes"])))
    })
}

/// What the model expects of a listing: every series but the rules', and
/// per chain the sums of its rule series.
pub fn expected(listing: &[u8]) -> Expected {
    let json: Value = serde_json::from_slice(listing).expect("the listing is JSON");
    let items = json["nftables"].as_array().expect("an nftables list");
    let mut want = Expected::new();
    for item in items {
        let Some((kind, v)) = item.as_object().and_then(|o| o.iter().next()) else {
            continue;
        };
        let place = |name_key: &'static str, name: String| {
            vec![
                ("family", text(v, "family")),
                ("table", text(v, "table")),
                (name_key, name),
            ]
        };
        match kind.as_str() {
            "counter" => {
                let labels = place("counter", text(v, "name"));
                want.insert(
                    key("nftables_counter_packets_total", &labels),
                    u64_of(&v["packets"]),
                );
                want.insert(
                    key("nftables_counter_bytes_total", &labels),
                    u64_of(&v["bytes"]),
                );
            }
            "quota" => {
                let labels = place("quota", text(v, "name"));
                want.insert(
                    key("nftables_quota_used_bytes", &labels),
                    u64_of(&v["used"]),
                );
                want.insert(
                    key("nftables_quota_limit_bytes", &labels),
                    u64_of(&v["bytes"]),
                );
            }
            "set" | "map" | "meter" => {
                let labels = place("set", text(v, "name"));
                // nft leaves `elem` out of an empty set: none is 0.
                let elements = v["elem"]
                    .as_array()
                    .map(|e| e.len() as u128)
                    .or_else(|| v["count"].as_u64().map(u128::from))
                    .unwrap_or(0);
                want.insert(key("nftables_set_elements", &labels), elements);
                if let Some(size) = v["size"].as_u64() {
                    want.insert(key("nftables_set_max_elements", &labels), u128::from(size));
                }
            }
            "chain" => {
                let labels = place("chain", text(v, "name"));
                want.entry(key("nftables_chain_rules", &labels))
                    .or_insert(0);
                if v.get("hook").is_some() {
                    let mut info = labels.clone();
                    let prio = match &v["prio"] {
                        Value::Number(n) => n.to_string(),
                        other => other.as_str().unwrap_or_default().to_owned(),
                    };
                    info.extend([
                        ("type", text(v, "type")),
                        ("hook", text(v, "hook")),
                        ("priority", prio),
                        ("policy", text(v, "policy")),
                    ]);
                    want.insert(key("nftables_chain_info", &info), 1);
                }
            }
            "rule" => {
                let labels = place("chain", text(v, "chain"));
                *want
                    .entry(key("nftables_chain_rules", &labels))
                    .or_insert(0) += 1;
                let exprs = v["expr"].as_array().cloned().unwrap_or_default();
                if counts_by_name(&exprs) {
                    continue;
                }
                if let Some((packets, bytes)) = inline_counter(&exprs) {
                    *want
                        .entry(key("rule packets of chain", &labels))
                        .or_insert(0) += packets;
                    *want.entry(key("rule bytes of chain", &labels)).or_insert(0) += bytes;
                }
            }
            _ => {}
        }
    }
    want
}

/// The same view of an exposition: its samples, the rule series summed
/// per chain.
pub fn served(exposition: &str) -> Expected {
    let mut got = Expected::new();
    for ((name, labels), value) in parse_samples(exposition) {
        let value: u128 = value
            .parse()
            .unwrap_or_else(|_| panic!("{name}: value {value} is not an integer"));
        let rule_sum = match name.as_str() {
            "nftables_rule_packets_total" => Some("rule packets of chain"),
            "nftables_rule_bytes_total" => Some("rule bytes of chain"),
            _ => None,
        };
        let labels: Vec<(String, String)> = labels.into_iter().collect();
        match rule_sum {
            Some(metric) => {
                let chain: Vec<(String, String)> = ["family", "table", "chain"]
                    .iter()
                    .map(|k| {
                        let v = labels.iter().find(|(l, _)| l == k).map(|(_, v)| v.clone());
                        ((*k).to_owned(), v.unwrap_or_default())
                    })
                    .collect();
                *got.entry((metric.to_owned(), chain)).or_insert(0) += value;
            }
            None => {
                let previous = got.insert(sorted_like_model(&name, labels), value);
                assert!(previous.is_none(), "{name} twice");
            }
        }
    }
    got
}

/// Labels in the model's order: family, table, then the rest as written.
fn sorted_like_model(name: &str, labels: Vec<(String, String)>) -> (String, Vec<(String, String)>) {
    let order = [
        "family", "table", "chain", "counter", "quota", "set", "type", "hook", "priority", "policy",
    ];
    let mut labels = labels;
    labels.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
    (name.to_owned(), labels)
}

/// Only the `nftables_*` ruleset samples of a scrape.
pub fn nftables_part(body: &str) -> String {
    body.lines()
        .filter(|l| {
            l.starts_with("nftables_")
                && !l.starts_with("nftables_scrape_")
                && !l.starts_with("nftables_collection_")
                && !l.starts_with("nftables_rule_series_dropped")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The series of a metric, labels to value.
pub fn series_of(body: &str, metric: &str) -> BTreeMap<BTreeMap<String, String>, String> {
    parse_samples(body)
        .into_iter()
        .filter(|((name, _), _): &(Series, String)| name == metric)
        .map(|((_, labels), value)| (labels, value))
        .collect()
}

/// A chain as nft names it: family, table, chain.
pub type ChainKey = (String, String, String);

/// The rules of every chain in `nft list ruleset` text, each as nft
/// printed it but for what moves between two listings (see
/// [`without_state`]): what docs/metrics.md promises the `rule` label is.
/// Read from nft's own text, nothing of the component's printer.
pub fn printed_rules(text: &str) -> BTreeMap<ChainKey, Vec<String>> {
    let mut rules: BTreeMap<ChainKey, Vec<String>> = BTreeMap::new();
    let (mut table, mut chain): (Option<(String, String)>, Option<String>) = (None, None);
    let mut depth = 0usize;
    let mut first_rule = false;
    for line in text.lines() {
        let line = line.trim();
        let opened = braces(line);
        let words: Vec<&str> = line.split(' ').collect();
        match (depth, words.as_slice()) {
            (0, ["table", family, name, "{"]) => {
                table = Some(((*family).to_owned(), (*name).to_owned()));
            }
            (1, ["chain", name, "{"]) => {
                chain = Some(name.trim_matches('"').to_owned());
                first_rule = true;
            }
            (2, _) if chain.is_some() && opened == 0 && !line.is_empty() => {
                let header = words.first() == Some(&"type") && line.ends_with(';');
                // The chain's own comment (nft 1.0.6 prints it on a line of
                // its own, before the rules).
                let comment = first_rule
                    && line.starts_with("comment \"")
                    && line.ends_with('"')
                    && line.matches('"').count() == 2;
                first_rule &= header || comment;
                if !header
                    && !comment
                    && let (Some((family, name)), Some(chain)) = (&table, &chain)
                {
                    rules
                        .entry((family.clone(), name.clone(), chain.clone()))
                        .or_default()
                        .push(without_state(line));
                }
            }
            _ => {}
        }
        depth = depth
            .checked_add_signed(opened)
            .expect("nft's braces balance");
        if depth < 2 {
            chain = None;
        }
        if depth == 0 {
            table = None;
        }
    }
    rules
}

/// Braces opened less braces closed on a line, outside quoted strings.
fn braces(line: &str) -> isize {
    let mut quoted = false;
    let mut escaped = false;
    let mut depth = 0;
    for c in line.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '{' if !quoted => depth += 1,
            '}' if !quoted => depth -= 1,
            _ => {}
        }
    }
    depth
}

/// A rule line without what changes while it stays the same rule: its
/// counter's values (`counter packets N bytes M` → `counter`), what an
/// inline quota has used (`used N UNIT`) and when `last` last matched
/// (`last used T`). Words inside quoted strings are left alone.
pub fn without_state(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut quoted = false;
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        let next = |n: usize| words.get(i + n).copied();
        if !quoted {
            if word == "counter" && next(1) == Some("packets") && next(3) == Some("bytes") {
                kept.push(word);
                i += 5;
                continue;
            }
            if word == "used" && kept.last() == Some(&"last") {
                i += 2;
                continue;
            }
            if word == "used" && kept.iter().rev().take(4).any(|w| *w == "quota") {
                i += 3;
                continue;
            }
        }
        // An odd number of unescaped quotes opens or closes a string.
        quoted ^= (word.matches('"').count() - word.matches("\\\"").count()) % 2 == 1;
        kept.push(word);
        i += 1;
    }
    kept.join(" ")
}

/// Whether a rule line counts with a counter of its own: a `counter`
/// outside braces (one inside, as in `update @set { ip saddr counter }`,
/// counts set elements) that is not `counter name`.
pub fn counts_inline(line: &str) -> bool {
    let mut depth = 0isize;
    let words: Vec<&str> = line.split(' ').collect();
    words.iter().enumerate().any(|(i, word)| {
        depth += braces(word);
        depth == 0 && *word == "counter" && words.get(i + 1) != Some(&"name")
    })
}

/// The tables of a JSON listing that iptables-nft made: those with a rule
/// holding an `xt` statement (what nft shows of an iptables match or
/// target), as (family, name), each once.
pub fn iptables_nft_tables(listing: &[u8]) -> Vec<(String, String)> {
    let json: Value = serde_json::from_slice(listing).expect("the listing is JSON");
    let mut tables = Vec::new();
    for item in json["nftables"].as_array().into_iter().flatten() {
        let Some(rule) = item.get("rule") else {
            continue;
        };
        let exprs = rule["expr"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let table = (text(rule, "family"), text(rule, "table"));
        if exprs.iter().any(|e| e.get("xt").is_some()) && !tables.contains(&table) {
            tables.push(table);
        }
    }
    tables
}

/// The first line where two expositions part, for a failure's message.
pub fn first_difference(want: &str, got: &str) -> String {
    let mut lines = want.lines().zip(got.lines());
    match lines.position(|(w, g)| w != g) {
        Some(at) => format!(
            "line {}:\n  want {}\n  got  {}",
            at + 1,
            want.lines().nth(at).unwrap_or_default(),
            got.lines().nth(at).unwrap_or_default()
        ),
        None => format!(
            "one ends early: {} lines against {}",
            want.lines().count(),
            got.lines().count()
        ),
    }
}
