//! `nft list table …` text → the same [`Listing`] the JSON gives.
//!
//! The exporter lists a ruleset as text when its JSON does not fit
//! `--nftables.max-memory`: nft 1.0.6 builds the whole JSON document in
//! memory (824 MB for 100k kube-proxy-shaped rules), while it prints text
//! as it goes (362 MB for the same rules). nft's text is its own print of
//! each rule, so a rule's label is its line with what moves taken out
//! (counter values, quota usage, `last used`), which is what the JSON
//! printer ([`super::print`]) builds from the expressions; what the metrics
//! and the analyzer need besides (its inline counter, named counters,
//! jumps, verdict maps, sets) is read from the rule's words.
//!
//! Every item's `item` is its 1-based line. Lines the reader does not know
//! inside a table are skipped with a finding, as unknown JSON items are;
//! only text that is not a listing (a first line other than `table …`)
//! or that ends inside a block is an error.

use super::listing::{
    BaseChain, Builder, FindingKind, Listing, ListingError, ListingErrorKind, NamedCounter, Quota,
    Rule, Set, SetKind, chain_mut,
};
use super::print::{Counters, Jump};
use crate::counters::parse_decimal;

/// Whether `bytes` is nft's text rather than its JSON: its first word is
/// `table` (every `nft list table`/`list ruleset` text starts so).
pub fn is_text(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    bytes[start..].starts_with(b"table ")
}

/// Reads nft's text listing of one or more tables.
pub fn parse(bytes: &[u8]) -> Result<Listing, ListingError> {
    let text = String::from_utf8_lossy(bytes);
    let mut reader = Reader {
        builder: Builder::default(),
        table: None,
        block: Block::Table,
    };
    for (index, line) in text.lines().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        reader.builder.listing.items = number;
        reader.line(line, number)?;
    }
    if let Some((family, name)) = &reader.table {
        // Where the text ends: after its last newline, or on its last line.
        let line = bytes.iter().filter(|b| **b == b'\n').count() + 1;
        let tail = text.rsplit('\n').next().unwrap_or_default();
        let (line, column) = (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(tail.chars().count() + 1).unwrap_or(u32::MAX),
        );
        return Err(ListingError {
            kind: ListingErrorKind::Truncated,
            message: format!("line {line}: the text ends inside table {family} {name}"),
            line,
            column,
        });
    }
    Ok(reader.builder.finish())
}

/// Where in a table the reader is.
enum Block {
    /// Between a table's blocks (or before the first table).
    Table,
    /// In a chain; `started` once its base-chain line or a rule was read
    /// (a `comment "…"` line before that is the chain's own).
    Chain {
        name: String,
        started: bool,
    },
    /// In a set, map or meter: the index of its [`Set`].
    Set(usize),
    /// In a set's `elements = { … }`, which may span lines.
    Elements(usize, ElementCount),
    /// In a named counter or quota: the index of its entry.
    Counter(usize),
    Quota(usize),
    /// In a block the reader does not know, this many braces deep.
    Skipped(u32),
}

struct Reader {
    builder: Builder,
    /// The table being read: (family, name).
    table: Option<(String, String)>,
    block: Block,
}

impl Reader {
    fn line(&mut self, line: &str, number: u32) -> Result<(), ListingError> {
        let trimmed = line.trim();
        match &mut self.block {
            Block::Elements(set, count) => {
                if count.feed(trimmed) {
                    let set = *set;
                    let count = std::mem::take(count);
                    self.elements_done(set, count);
                    self.block = Block::Set(set);
                }
                return Ok(());
            }
            Block::Skipped(depth) => {
                let (opened, closed) = braces(trimmed);
                *depth = depth.saturating_add(opened).saturating_sub(closed);
                if *depth == 0 {
                    self.block = Block::Table;
                }
                return Ok(());
            }
            _ => {}
        }
        // Empty lines part blocks; `#` lines are nft's notes (iptables-nft's
        // "managed by iptables-nft" warning).
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return Ok(());
        }
        let Some((family, table)) = self.table.clone() else {
            return self.table_header(trimmed, number);
        };
        if closes(trimmed) {
            match self.block {
                Block::Table => self.table = None,
                _ => self.block = Block::Table,
            }
            return Ok(());
        }
        match &mut self.block {
            Block::Table => self.declaration(&family, &table, trimmed),
            Block::Chain { name, started } => {
                let name = name.clone();
                let first = !*started;
                *started = true;
                self.chain_line(&family, &table, &name, trimmed, first);
            }
            Block::Set(set) => {
                let set = *set;
                self.set_line(&family, &table, set, trimmed);
            }
            Block::Counter(index) => {
                let index = *index;
                if let Some(counters) = counter_values(trimmed) {
                    self.builder.table(&family, &table).counters[index].counters = counters;
                }
            }
            Block::Quota(index) => {
                let index = *index;
                if let Some((limit, used, over)) = quota_values(trimmed) {
                    let quota = &mut self.builder.table(&family, &table).quotas[index];
                    (quota.limit, quota.used, quota.over) = (limit, used, over);
                }
            }
            Block::Elements(..) | Block::Skipped(_) => {}
        }
        Ok(())
    }

    /// `table FAMILY NAME {`, or an error: text outside a table.
    fn table_header(&mut self, line: &str, number: u32) -> Result<(), ListingError> {
        let header = line
            .strip_prefix("table ")
            .and_then(|rest| rest.strip_suffix('{'))
            .and_then(|rest| rest.trim().split_once(' '));
        let Some((family, name)) = header else {
            return Err(ListingError {
                kind: ListingErrorKind::NotAListing,
                message: format!(
                    "line {number}: expected `table FAMILY NAME {{`, found {:?}",
                    excerpt(line)
                ),
                line: number,
                column: 1,
            });
        };
        let (family, name) = (family.to_owned(), unquoted(name.trim()).to_owned());
        self.builder.table(&family, &name);
        self.table = Some((family, name));
        Ok(())
    }

    /// A line directly in a table: a block's header, or a table setting.
    fn declaration(&mut self, family: &str, table: &str, line: &str) {
        let Some(header) = line.strip_suffix('{').map(str::trim_end) else {
            // `flags dormant`, `comment "…"`: nothing the metrics read.
            if !(line.starts_with("flags ") || line.starts_with("comment ")) {
                self.unknown(line);
            }
            return;
        };
        let (kind, name) = match header.rsplit_once(' ') {
            Some((kind, name)) => (kind, unquoted(name).to_owned()),
            None => (header, String::new()),
        };
        let item = self.builder.listing.items;
        let entries = self.builder.table(family, table);
        self.block = match kind {
            "chain" => {
                chain_mut(entries, &name, item);
                Block::Chain {
                    name,
                    started: false,
                }
            }
            "set" | "map" | "meter" => {
                let kind = match kind {
                    "set" => SetKind::Set,
                    "map" => SetKind::Map,
                    _ => SetKind::Meter,
                };
                entries.sets.push(Set {
                    name,
                    kind,
                    elements: None,
                    max_elements: None,
                    verdicts: Vec::new(),
                    item,
                });
                Block::Set(entries.sets.len() - 1)
            }
            "counter" => {
                entries.counters.push(NamedCounter {
                    name,
                    counters: Counters::default(),
                    item,
                });
                Block::Counter(entries.counters.len() - 1)
            }
            "quota" => {
                entries.quotas.push(Quota {
                    name,
                    limit: 0,
                    used: 0,
                    over: false,
                    item,
                });
                Block::Quota(entries.quotas.len() - 1)
            }
            _ => {
                self.unknown(header);
                Block::Skipped(1)
            }
        };
    }

    fn unknown(&mut self, what: &str) {
        self.builder.finding(
            FindingKind::UnknownItem,
            format!(
                "{:?}, which the exporter does not read: skipped",
                excerpt(what)
            ),
        );
    }

    /// A chain's line: its comment, its base-chain settings, or a rule.
    fn chain_line(&mut self, family: &str, table: &str, chain: &str, line: &str, first: bool) {
        let item = self.builder.listing.items;
        if first && line.starts_with("comment \"") {
            // The chain's comment, printed before everything else; the
            // chain is not started until its type line or a rule.
            if let Block::Chain { started, .. } = &mut self.block {
                *started = false;
            }
            return;
        }
        if line.starts_with("type ")
            && let Some(base) = base_chain(family, line)
        {
            chain_mut(self.builder.table(family, table), chain, item).base = Some(base);
            return;
        }
        let rule = rule(line, item);
        chain_mut(self.builder.table(family, table), chain, item)
            .rules
            .push(rule);
    }

    fn set_line(&mut self, family: &str, table: &str, set: usize, line: &str) {
        if let Some(size) = line.strip_prefix("size ") {
            self.builder.table(family, table).sets[set].max_elements =
                parse_decimal(size.trim().as_bytes());
        } else if let Some(elements) = line.strip_prefix("elements = ") {
            let mut count = ElementCount::default();
            if count.feed(elements) {
                self.elements_done(set, count);
            } else {
                self.block = Block::Elements(set, count);
            }
        }
    }

    fn elements_done(&mut self, set: usize, count: ElementCount) {
        let Some((family, table)) = &self.table else {
            return;
        };
        let (family, table) = (family.clone(), table.clone());
        let set = &mut self.builder.table(&family, &table).sets[set];
        set.elements = Some(count.elements);
        if set.kind == SetKind::Map {
            set.verdicts = count.verdicts;
        }
    }
}

/// `}` alone, or followed by one of nft's `#` notes.
fn closes(line: &str) -> bool {
    line.strip_prefix('}')
        .is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'))
}

/// Braces opened and closed on a line, outside quotes.
fn braces(line: &str) -> (u32, u32) {
    let mut quoted = false;
    let (mut open, mut close) = (0, 0);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            '{' if !quoted => open += 1,
            '}' if !quoted => close += 1,
            _ => {}
        }
    }
    (open, close)
}

/// A name as nft prints it: bare, or quoted when it needs to be.
fn unquoted(name: &str) -> &str {
    name.strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .unwrap_or(name)
}

/// At most 80 characters of a line, for messages.
fn excerpt(line: &str) -> &str {
    match line.char_indices().nth(80) {
        Some((end, _)) => &line[..end],
        None => line,
    }
}

/// The elements of `elements = { … }` counted as they are read, line by
/// line: commas between braces, outside quotes and inner braces.
#[derive(Default)]
struct ElementCount {
    depth: u32,
    quoted: bool,
    /// Whether the current element has anything in it yet.
    content: bool,
    elements: u64,
    /// A map's `jump`/`goto` values.
    verdicts: Vec<Jump>,
    /// The word before, when it was `jump` or `goto`.
    verdict: Option<bool>,
}

impl ElementCount {
    /// Reads a line of the list; whether the list is closed.
    fn feed(&mut self, line: &str) -> bool {
        for word in line.split_ascii_whitespace() {
            if let Some(goto) = self.verdict.take() {
                let target = word.trim_end_matches([',', '}']);
                if !target.is_empty() {
                    self.verdicts.push(Jump {
                        target: target.to_owned(),
                        goto,
                    });
                }
            } else if self.depth == 1 && !self.quoted {
                self.verdict = match word {
                    "jump" => Some(false),
                    "goto" => Some(true),
                    _ => None,
                };
            }
            for c in word.chars() {
                match c {
                    '"' => {
                        self.quoted = !self.quoted;
                        self.content = true;
                    }
                    _ if self.quoted => {}
                    '{' => {
                        self.depth += 1;
                        if self.depth > 1 {
                            self.content = true;
                        }
                    }
                    '}' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            if self.content {
                                self.elements += 1;
                            }
                            return true;
                        }
                    }
                    ',' if self.depth == 1 => {
                        if self.content {
                            self.elements += 1;
                        }
                        self.content = false;
                    }
                    _ => self.content = true,
                }
            }
        }
        false
    }
}

/// `packets N bytes M`, a named counter's values.
fn counter_values(line: &str) -> Option<Counters> {
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    match words.as_slice() {
        ["packets", packets, "bytes", bytes, ..] => Some(Counters {
            packets: parse_decimal(packets.as_bytes())?,
            bytes: parse_decimal(bytes.as_bytes())?,
        }),
        _ => None,
    }
}

/// `[over ]N UNIT[ used N UNIT]`, a named quota: (limit, used, over), in
/// bytes (nft prints a unit only where the value divides exactly).
fn quota_values(line: &str) -> Option<(u64, u64, bool)> {
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    let (over, words) = match words.as_slice() {
        ["over", rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    let limit = bytes(words.first()?, words.get(1)?)?;
    let used = match &words[2..] {
        ["used", n, unit, ..] => bytes(n, unit)?,
        _ => 0,
    };
    Some((limit, used, over))
}

/// `N UNIT` in bytes.
fn bytes(value: &str, unit: &str) -> Option<u64> {
    let shift = match unit {
        "bytes" => 0,
        "kbytes" => 10,
        "mbytes" => 20,
        "gbytes" => 30,
        _ => return None,
    };
    parse_decimal(value.as_bytes())?.checked_mul(1 << shift)
}

/// `type T hook H [device …] priority P; policy X;` as the JSON has it:
/// the priority as a number (nft prints the standard ones by name).
fn base_chain(family: &str, line: &str) -> Option<BaseChain> {
    let (settings, rest) = line.split_once(';')?;
    let words: Vec<&str> = settings.split_ascii_whitespace().collect();
    let after = |key: &str| {
        let at = words.iter().position(|w| *w == key)?;
        words.get(at + 1).copied()
    };
    let priority_at = words.iter().position(|w| *w == "priority")?;
    let priority = priority(family, &words[priority_at + 1..])?;
    let policy = rest
        .trim()
        .strip_prefix("policy ")
        .and_then(|p| p.split(';').next())
        .unwrap_or("")
        .trim();
    Some(BaseChain {
        kind: after("type")?.to_owned(),
        hook: after("hook")?.to_owned(),
        priority: priority.to_string(),
        policy: policy.to_owned(),
    })
}

/// `-110`, `filter`, `dstnat - 10`: nft's `prio2str` read back.
fn priority(family: &str, words: &[&str]) -> Option<i64> {
    let base = match words.first()? {
        number if number.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => {
            return number.parse().ok();
        }
        name => standard_priority(family, name)?,
    };
    match words[1..] {
        [] => Some(base),
        ["+", offset] => Some(base + offset.parse::<i64>().ok()?),
        ["-", offset] => Some(base - offset.parse::<i64>().ok()?),
        _ => None,
    }
}

/// nft's standard priority names (`std_prios` and `bridge_std_prios`).
fn standard_priority(family: &str, name: &str) -> Option<i64> {
    let value = if family == "bridge" {
        match name {
            "dstnat" => -300,
            "filter" => -200,
            "out" => 100,
            "srcnat" => 300,
            _ => return None,
        }
    } else {
        match name {
            "raw" => -300,
            "mangle" => -150,
            "dstnat" => -100,
            "filter" => 0,
            "security" => 50,
            "srcnat" => 100,
            _ => return None,
        }
    };
    Some(value)
}

/// A rule's line read: its label and what its words say.
fn rule(line: &str, item: u32) -> Rule {
    let words = words(line);
    let word = |i: usize| words.get(i).map_or("", |&(start, end)| &line[start..end]);
    // Spans of the line left out of the label.
    let mut dropped: Vec<(usize, usize)> = Vec::new();
    let drop_words = |dropped: &mut Vec<(usize, usize)>, from: usize, to: usize| {
        // With the space before the first: `counter packets 1 bytes 2 accept`
        // → `counter accept`.
        let start = words[from - 1].1;
        let end = words[to].1;
        dropped.push((start, end));
    };
    let mut rule = Rule {
        text: String::new(),
        comment: None,
        counters: None,
        named_counters: Vec::new(),
        counter_map: false,
        jumps: Vec::new(),
        verdict_maps: Vec::new(),
        sets: Vec::new(),
        item,
    };
    let mut i = 0;
    while i < words.len() {
        match word(i) {
            "counter" if word(i + 1) == "packets" && word(i + 3) == "bytes" => {
                if let (Some(packets), Some(bytes)) = (
                    parse_decimal(word(i + 2).as_bytes()),
                    parse_decimal(word(i + 4).as_bytes()),
                ) {
                    let sum = rule.counters.get_or_insert_with(Counters::default);
                    sum.packets = sum.packets.wrapping_add(packets);
                    sum.bytes = sum.bytes.wrapping_add(bytes);
                    drop_words(&mut dropped, i + 1, i + 4);
                    i += 5;
                    continue;
                }
            }
            "counter" if word(i + 1) == "name" => {
                let name = word(i + 2);
                if name.starts_with('"') {
                    rule.named_counters.push(unquoted(name).to_owned());
                } else {
                    counter_map(&words, line, i + 2, &mut rule);
                }
            }
            // `quota [over] N UNIT used N UNIT`: what it used moves.
            "quota" if word(i + 1) != "name" => {
                let used = if word(i + 1) == "over" { i + 4 } else { i + 3 };
                if word(used) == "used" && used + 2 < words.len() {
                    drop_words(&mut dropped, used, used + 2);
                    i = used + 3;
                    continue;
                }
            }
            // `last used 1s` / `last used never` (nft 1.0.8+).
            "last" if word(i + 1) == "used" && i + 2 < words.len() => {
                drop_words(&mut dropped, i + 1, i + 2);
                i += 3;
                continue;
            }
            verdict @ ("jump" | "goto") if i + 1 < words.len() => {
                let target = word(i + 1).trim_end_matches([',', '}']);
                rule.jumps.push(Jump {
                    target: target.to_owned(),
                    goto: verdict == "goto",
                });
            }
            "vmap" => {
                if let Some(map) = word(i + 1).strip_prefix('@') {
                    rule.verdict_maps.push(map.to_owned());
                }
            }
            "comment" if i + 2 == words.len() && word(i + 1).starts_with('"') => {
                rule.comment = Some(unquoted(word(i + 1)).to_owned());
            }
            _ => {}
        }
        if let Some(set) = word(i).strip_prefix('@') {
            let set = set.trim_end_matches([',', '}']);
            if !set.is_empty() && !rule.sets.iter().any(|s| s == set) {
                rule.sets.push(set.to_owned());
            }
        }
        i += 1;
    }
    let mut text = String::with_capacity(line.len());
    let mut at = 0;
    for (start, end) in dropped {
        text.push_str(&line[at..start]);
        at = end;
    }
    text.push_str(&line[at..]);
    rule.text = text;
    rule
}

/// `counter name KEY map { K : "c1", … }` or `map @m`, its words from
/// `from`: the names it holds, or that they are known only at run time.
fn counter_map(words: &[(usize, usize)], line: &str, from: usize, rule: &mut Rule) {
    let word = |i: usize| words.get(i).map_or("", |&(start, end)| &line[start..end]);
    let Some(map) = (from..words.len()).find(|&i| word(i) == "map") else {
        return;
    };
    if word(map + 1).starts_with('@') {
        rule.counter_map = true;
        return;
    }
    for i in map + 1..words.len() {
        let w = word(i);
        if w.starts_with('"') {
            rule.named_counters
                .push(unquoted(w.trim_end_matches(',')).to_owned());
        }
        if w.ends_with('}') {
            break;
        }
    }
}

/// The words of a line as (start, end) byte spans: runs of non-blanks, a
/// quoted string (blanks and all) being part of its word.
fn words(line: &str) -> Vec<(usize, usize)> {
    let mut words = Vec::new();
    let mut start = None;
    let mut quoted = false;
    for (at, c) in line.char_indices() {
        match c {
            '"' => {
                quoted = !quoted;
                start.get_or_insert(at);
            }
            ' ' | '\t' if !quoted => {
                if let Some(s) = start.take() {
                    words.push((s, at));
                }
            }
            _ => {
                start.get_or_insert(at);
            }
        }
    }
    if let Some(s) = start {
        words.push((s, line.len()));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Listing {
        parse(text.as_bytes()).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn a_rule_is_labelled_as_nft_prints_it_without_what_moves() {
        let r = rule(
            r#"ip saddr @allowed4 counter packets 43 bytes 3500 quota over 1 mbytes used 7644 bytes accept comment "a, b""#,
            1,
        );
        assert_eq!(
            r.text,
            r#"ip saddr @allowed4 counter quota over 1 mbytes accept comment "a, b""#
        );
        assert_eq!(
            r.counters,
            Some(Counters {
                packets: 43,
                bytes: 3500
            })
        );
        assert_eq!(r.comment.as_deref(), Some("a, b"));
        assert_eq!(r.sets, ["allowed4"]);
    }

    #[test]
    fn references_jumps_and_verdict_maps_are_read_from_the_words() {
        let r = rule(
            r#"numgen random mod 2 vmap { 0 : goto a/b, 1 : jump c }"#,
            1,
        );
        let jumps: Vec<_> = r
            .jumps
            .iter()
            .map(|j| (j.target.as_str(), j.goto))
            .collect();
        assert_eq!(jumps, [("a/b", true), ("c", false)]);
        let r = rule("ip daddr . meta l4proto . th dport vmap @service-ips", 1);
        assert_eq!(r.verdict_maps, ["service-ips"]);
        assert_eq!(r.sets, ["service-ips"]);
        let r = rule(
            r#"tcp dport 8443 counter name tcp dport map { 8443 : "a", 80 : "b" }"#,
            1,
        );
        assert_eq!(r.named_counters, ["a", "b"]);
        assert!(!r.counter_map);
        assert_eq!(r.counters, None);
        let r = rule("counter name ip saddr map @names", 1);
        assert!(r.counter_map);
        let r = rule(r#"tcp dport 8080 counter name "cnt_http""#, 1);
        assert_eq!(r.named_counters, ["cnt_http"]);
        let r = rule(
            "meta l4proto tcp last used never counter packets 1 bytes 2",
            1,
        );
        assert_eq!(r.text, "meta l4proto tcp last counter");
    }

    #[test]
    fn a_table_is_read_into_the_listing_the_json_gives() {
        let l = read(concat!(
            "table bridge b {\n",
            "\tcomment \"t\"\n",
            "\tcounter c {\n\t\tcomment \"x\"\n\t\tpackets 5 bytes 300\n\t}\n\n",
            "\tquota q {\n\t\tover 2 mbytes used 3 kbytes\n\t}\n\n",
            "\tmap m {\n\t\ttype inet_service : verdict\n\t\tsize 10\n",
            "\t\telements = { 80 : jump x,\n\t\t\t     443 : goto y, 8 : \"a, } b\" }\n\t}\n\n",
            "\tset empty {\n\t\ttype ipv4_addr\n\t}\n\n",
            "\tflowtable f {\n\t\thook ingress priority filter\n\t\tdevices = { lo }\n\t}\n\n",
            "\tchain c {\n\t\tcomment \"chain's\"\n",
            "\t\ttype filter hook input priority filter + 10; policy drop;\n",
            "\t\tcomment \"rule's\"\n\t}\n",
            "\tchain x {\n\t}\n",
            "}\n",
        ));
        let t = &l.tables[0];
        assert_eq!((t.family.as_str(), t.name.as_str()), ("bridge", "b"));
        assert_eq!(
            t.counters[0].counters,
            Counters {
                packets: 5,
                bytes: 300
            }
        );
        assert_eq!(
            (t.quotas[0].limit, t.quotas[0].used, t.quotas[0].over),
            (2 << 20, 3 << 10, true)
        );
        let sets: Vec<_> = t
            .sets
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.elements,
                    s.max_elements,
                    s.verdicts.len(),
                )
            })
            .collect();
        assert_eq!(
            sets,
            [("m", Some(3), Some(10), 2), ("empty", None, None, 0)]
        );
        let base = t.chains[0].base.clone().expect("base chain");
        assert_eq!(
            (
                base.kind.as_str(),
                base.hook.as_str(),
                base.priority.as_str(),
                base.policy.as_str()
            ),
            ("filter", "input", "-190", "drop")
        );
        assert_eq!(t.chains[0].rules.len(), 1, "a rule of only a comment");
        assert_eq!(t.chains[0].rules[0].comment.as_deref(), Some("rule's"));
        assert_eq!(t.chains[1].rules.len(), 0);
        assert_eq!(l.findings.len(), 1, "{:?}", l.findings);
        assert_eq!(l.findings[0].item, 23, "the flowtable's line");
    }

    #[test]
    fn text_that_is_not_a_listing_or_is_cut_short_is_an_error_naming_the_line() {
        let err = parse(b"table ip t {\n\tchain c {\n\t\taccept\n").expect_err("cut");
        assert_eq!((err.kind, err.line), (ListingErrorKind::Truncated, 4));
        let err = parse(b"table ip t {\n}\nnonsense\n").expect_err("not nft");
        assert_eq!((err.kind, err.line), (ListingErrorKind::NotAListing, 3));
        assert!(is_text(b"\n table ip t {"));
        assert!(!is_text(b"{\"nftables\": []}"));
    }

    /// What a listing says of its rules and sets, without where (lines
    /// here, items in the JSON).
    fn contents(l: &Listing, skip: &[(String, String)]) -> Vec<String> {
        let mut out = Vec::new();
        for t in l
            .tables
            .iter()
            .filter(|t| !skip.contains(&(t.family.clone(), t.name.clone())))
        {
            for c in &t.chains {
                out.push(format!("{} {} {} {:?}", t.family, t.name, c.name, c.base));
                for r in &c.rules {
                    out.push(format!(
                        "  {:?} {:?} {:?} {:?} {} {:?} {:?} {:?}",
                        r.text,
                        r.comment,
                        r.counters,
                        r.named_counters,
                        r.counter_map,
                        r.jumps,
                        r.verdict_maps,
                        r.sets
                    ));
                }
            }
            for s in &t.sets {
                out.push(format!(
                    "{} {:?} {:?} {:?} {:?}",
                    s.name, s.kind, s.elements, s.max_elements, s.verdicts
                ));
            }
            for q in &t.quotas {
                out.push(format!("{} {} {} {}", q.name, q.limit, q.used, q.over));
            }
            for n in &t.counters {
                out.push(format!("{} {:?}", n.name, n.counters));
            }
        }
        out
    }

    /// Every captured text reads as its JSON does: labels, counters,
    /// references, jumps and sets, in order (iptables-nft's tables aside:
    /// nft's text leaves out their `xt` statements).
    #[test]
    fn each_captured_text_reads_as_its_json() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/nftables");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("fixtures/nftables") {
            let path = entry.expect("entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("txt") {
                continue;
            }
            let text = read(&std::fs::read_to_string(&path).expect("text"));
            let json =
                super::super::parse(&std::fs::read(path.with_extension("json")).expect("json"))
                    .expect("the JSON parses");
            let xt: Vec<(String, String)> = json
                .tables
                .iter()
                .filter(|t| {
                    t.chains
                        .iter()
                        .flat_map(|c| &c.rules)
                        .any(|r| r.text.contains("xt "))
                })
                .map(|t| (t.family.clone(), t.name.clone()))
                .collect();
            assert_eq!(
                contents(&text, &xt),
                contents(&json, &xt),
                "{}",
                path.display()
            );
            assert!(text.findings.is_empty(), "{:?}", text.findings);
            seen += 1;
        }
        assert_eq!(seen, 5);
    }
}
