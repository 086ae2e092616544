//! `nft -j list ruleset` output → tables, chains, rules, named counters,
//! quotas and sets.
//!
//! The listing is read an item at a time: a set's elements are counted,
//! never kept (a 1M-element set costs its count, not its elements), and a
//! rule is printed as soon as it is read. What any nft version prints is
//! taken as it comes (see `docs/metrics.md`): unknown fields are ignored,
//! unknown item kinds and expressions are skipped or printed as JSON with a
//! finding, integers are exact (u64, negative counters read back as u64).
//! Only output that is not a listing at all — not JSON, truncated, not
//! `{"nftables": [...]}` — is an error.

use super::print::{self, Counters, Jump};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;

/// A listing that parsed.
#[derive(Debug, Default)]
pub struct Listing {
    /// `metainfo.version`, when given.
    pub version: Option<String>,
    pub tables: Vec<Table>,
    /// Items in the listing, the metainfo included.
    pub items: u32,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Default)]
pub struct Table {
    /// nft's family name: ip, ip6, inet, arp, bridge, netdev.
    pub family: String,
    pub name: String,
    pub chains: Vec<Chain>,
    pub counters: Vec<NamedCounter>,
    pub quotas: Vec<Quota>,
    pub sets: Vec<Set>,
    /// 1-based item of the listing that declared it (of its first
    /// object when no `table` item came first).
    pub item: u32,
    chain_index: FxHashMap<String, usize>,
}

#[derive(Debug, Default)]
pub struct Chain {
    pub name: String,
    /// `None` for a regular chain.
    pub base: Option<BaseChain>,
    pub rules: Vec<Rule>,
    /// 1-based item that declared it, or of its first rule.
    pub item: u32,
}

/// A base chain's settings, as strings for labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseChain {
    pub kind: String,
    pub hook: String,
    /// The number nft prints (`filter - 10` is `-10`).
    pub priority: String,
    pub policy: String,
}

#[derive(Debug)]
pub struct Rule {
    /// The rule as nft prints it, without counter values and handle.
    pub text: String,
    pub comment: Option<String>,
    /// Its inline counter; `None` for a rule without one.
    pub counters: Option<Counters>,
    /// Named counters it counts through: it has no series of its own.
    pub named_counters: Vec<String>,
    /// Counts through a counter map of a named set.
    pub counter_map: bool,
    pub jumps: Vec<Jump>,
    /// Named maps it uses as verdict maps.
    pub verdict_maps: Vec<String>,
    /// The named sets and maps it refers to (`@name` anywhere in its
    /// expressions), each once, in order.
    pub sets: Vec<String>,
    /// 1-based position of the item in the listing.
    pub item: u32,
}

impl Rule {
    /// Whether its counts belong to a named counter rather than to it.
    pub fn counts_elsewhere(&self) -> bool {
        !self.named_counters.is_empty() || self.counter_map
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedCounter {
    pub name: String,
    pub counters: Counters,
    pub item: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    pub name: String,
    /// Its limit, in bytes.
    pub limit: u64,
    /// Bytes used so far.
    pub used: u64,
    /// `over`: it matches once the limit is passed.
    pub over: bool,
    pub item: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    pub name: String,
    pub kind: SetKind,
    /// Elements listed, or the count nft gave (1.1.7); `None` when the
    /// listing has neither: an empty set (nft leaves its `elem` out), or
    /// any set of a terse listing (`nft -t`). The caller knows which.
    pub elements: Option<u64>,
    /// The size declared.
    pub max_elements: Option<u64>,
    /// The jumps and gotos among a verdict map's elements, in order.
    pub verdicts: Vec<Jump>,
    pub item: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    Set,
    Map,
    Meter,
}

impl SetKind {
    pub fn name(self) -> &'static str {
        match self {
            SetKind::Set => "set",
            SetKind::Map => "map",
            SetKind::Meter => "meter",
        }
    }
}

/// Something worth saying about a listing that parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// 1-based item of the listing it is about.
    pub item: u32,
    pub kind: FindingKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    /// An item kind the exporter does not read (flowtable, ct helper, …).
    UnknownItem,
    /// A statement or expression printed as JSON in the rule's label.
    UnknownExpression,
    /// An item without the fields that place it (family, table, name).
    Unplaced,
}

/// Why a listing was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ListingError {
    pub kind: ListingErrorKind,
    /// Where, as `line L column C` of the output (nft prints one line).
    pub message: String,
    /// 1-based line and column of the problem.
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingErrorKind {
    /// Empty output.
    Empty,
    /// The output ends in the middle of the JSON.
    Truncated,
    /// Not JSON.
    NotJson,
    /// JSON, but not `{"nftables": [...]}`.
    NotAListing,
}

impl fmt::Display for ListingErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListingErrorKind::Empty => "empty output",
            ListingErrorKind::Truncated => "truncated JSON",
            ListingErrorKind::NotJson => "not JSON",
            ListingErrorKind::NotAListing => "not an nft listing",
        })
    }
}

/// Reads a whole `nft -j list …` output, or the outputs of several such
/// commands one after another (one JSON document each, as the exporter
/// lists table by table): their items are read as one listing's. nft's
/// text (`nft list table …`, starting `table `) is read by [`super::text`]
/// into the same listing.
pub fn parse(bytes: &[u8]) -> Result<Listing, ListingError> {
    if super::text::is_text(bytes) {
        return super::text::parse(bytes);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ListingError {
            kind: ListingErrorKind::Empty,
            message: "nft printed nothing".into(),
            line: 1,
            column: 1,
        });
    }
    let mut builder = Builder::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    loop {
        if let Err(err) = TopSeed(&mut builder).deserialize(&mut de) {
            return Err(listing_error(&err));
        }
        // Only white space left: done; else the next document.
        if de.end().is_ok() {
            return Ok(builder.finish());
        }
    }
}

fn listing_error(err: &serde_json::Error) -> ListingError {
    use serde_json::error::Category;
    let kind = match err.classify() {
        Category::Eof => ListingErrorKind::Truncated,
        Category::Syntax | Category::Io => ListingErrorKind::NotJson,
        Category::Data => ListingErrorKind::NotAListing,
    };
    let line = u32::try_from(err.line()).unwrap_or(u32::MAX).max(1);
    let column = u32::try_from(err.column()).unwrap_or(u32::MAX).max(1);
    ListingError {
        kind,
        message: err.to_string(),
        line,
        column,
    }
}

#[derive(Default)]
pub(super) struct Builder {
    pub(super) listing: Listing,
    table_index: FxHashMap<(String, String), usize>,
}

impl Builder {
    pub(super) fn finish(self) -> Listing {
        self.listing
    }

    pub(super) fn finding(&mut self, kind: FindingKind, message: String) {
        let item = self.listing.items;
        self.listing.findings.push(Finding {
            item,
            kind,
            message,
        });
    }

    pub(super) fn table(&mut self, family: &str, name: &str) -> &mut Table {
        let item = self.listing.items;
        let tables = &mut self.listing.tables;
        let index = *self
            .table_index
            .entry((family.to_owned(), name.to_owned()))
            .or_insert_with(|| {
                tables.push(Table {
                    family: family.to_owned(),
                    name: name.to_owned(),
                    item,
                    ..Table::default()
                });
                tables.len() - 1
            });
        &mut tables[index]
    }

    /// The family and table an item belongs to, or a finding.
    fn place<'v>(&mut self, kind: &str, item: &'v Value, key: &str) -> Option<(&'v str, &'v str)> {
        let family = item.get("family").and_then(Value::as_str);
        let table = item.get(key).and_then(Value::as_str);
        match (family, table) {
            (Some(family), Some(table)) => Some((family, table)),
            _ => {
                self.finding(
                    FindingKind::Unplaced,
                    format!("a {kind} without its family or table: skipped"),
                );
                None
            }
        }
    }

    fn item(&mut self, kind: &str, value: Value) {
        match kind {
            // The first document's: every document of one listing is of
            // the same nft.
            "metainfo" if self.listing.version.is_none() => {
                self.listing.version = value
                    .get("version")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            "metainfo" => {}
            "table" => {
                if let Some((family, name)) = self.place(kind, &value, "name") {
                    self.table(family, name);
                }
            }
            "chain" => self.chain(&value),
            "rule" => self.rule(&value),
            "counter" => {
                let Some((family, table, name)) = self.named(kind, &value) else {
                    return;
                };
                let get = |k: &str| value.get(k).and_then(print::counter_value).unwrap_or(0);
                let counters = Counters {
                    packets: get("packets"),
                    bytes: get("bytes"),
                };
                let item = self.listing.items;
                self.table(&family, &table).counters.push(NamedCounter {
                    name,
                    counters,
                    item,
                });
            }
            "quota" => {
                let Some((family, table, name)) = self.named(kind, &value) else {
                    return;
                };
                let get = |k: &str| value.get(k).and_then(print::counter_value).unwrap_or(0);
                let quota = Quota {
                    name,
                    limit: get("bytes"),
                    used: get("used"),
                    over: value.get("inv").and_then(Value::as_bool) == Some(true),
                    item: self.listing.items,
                };
                self.table(&family, &table).quotas.push(quota);
            }
            other => self.finding(
                FindingKind::UnknownItem,
                format!("an item of kind {other:?}, which the exporter does not read: skipped"),
            ),
        }
    }

    /// Family, table and name of a named object.
    fn named(&mut self, kind: &str, value: &Value) -> Option<(String, String, String)> {
        let (family, table) = self.place(kind, value, "table")?;
        let name = value.get("name").and_then(Value::as_str);
        let Some(name) = name else {
            self.finding(
                FindingKind::Unplaced,
                format!("a {kind} without a name: skipped"),
            );
            return None;
        };
        Some((family.to_owned(), table.to_owned(), name.to_owned()))
    }

    fn chain(&mut self, value: &Value) {
        let Some((family, table, name)) = self.named("chain", value) else {
            return;
        };
        let label = |k: &str| match value.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let base = label("hook").map(|hook| BaseChain {
            kind: label("type").unwrap_or_default(),
            hook,
            priority: label("prio").unwrap_or_default(),
            policy: label("policy").unwrap_or_default(),
        });
        let item = self.listing.items;
        let chain = chain_mut(self.table(&family, &table), &name, item);
        chain.base = base;
    }

    fn rule(&mut self, value: &Value) {
        let Some((family, table)) = self.place("rule", value, "table") else {
            return;
        };
        let Some(chain) = value.get("chain").and_then(Value::as_str) else {
            self.finding(
                FindingKind::Unplaced,
                "a rule without its chain: skipped".into(),
            );
            return;
        };
        let (family, table, chain) = (family.to_owned(), table.to_owned(), chain.to_owned());
        let comment = value.get("comment").and_then(Value::as_str);
        // A rule without `expr` (nft 1.0.2 prints some) is a rule of nothing.
        let exprs = match value.get("expr") {
            Some(Value::Array(exprs)) => exprs.as_slice(),
            _ => &[],
        };
        let printed = print::rule(&family, exprs, comment);
        for unknown in &printed.unknown {
            self.finding(
                FindingKind::UnknownExpression,
                format!(
                    "rule in {family} {table} {chain}: {unknown:?} is not known to the printer; its label shows it as JSON"
                ),
            );
        }
        let item = self.listing.items;
        let rule = Rule {
            text: printed.text,
            comment: comment.map(str::to_owned),
            counters: printed.counters,
            named_counters: printed.named_counters,
            counter_map: printed.counter_map,
            jumps: printed.jumps,
            verdict_maps: printed.verdict_maps,
            sets: set_references(exprs),
            item,
        };
        chain_mut(self.table(&family, &table), &chain, item)
            .rules
            .push(rule);
    }

    fn set(&mut self, kind: SetKind, set: SetItem) {
        let text = |v: Option<Value>| match v {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let (Some(family), Some(table), Some(name)) =
            (text(set.family), text(set.table), text(set.name))
        else {
            self.finding(
                FindingKind::Unplaced,
                format!(
                    "a {} without its family, table or name: skipped",
                    kind.name()
                ),
            );
            return;
        };
        let max_elements = set.size.as_ref().and_then(Value::as_u64);
        let count = set.count.as_ref().and_then(Value::as_u64);
        let (elements, verdicts) = match set.elem {
            Some(Elements { count, verdicts }) => (Some(count), verdicts),
            None => (count, Vec::new()),
        };
        let entry = Set {
            name,
            kind,
            elements,
            max_elements,
            verdicts,
            item: self.listing.items,
        };
        self.table(&family, &table).sets.push(entry);
    }
}

pub(super) fn chain_mut<'t>(table: &'t mut Table, name: &str, item: u32) -> &'t mut Chain {
    let chains = &mut table.chains;
    let index = *table.chain_index.entry(name.to_owned()).or_insert_with(|| {
        chains.push(Chain {
            name: name.to_owned(),
            item,
            ..Chain::default()
        });
        chains.len() - 1
    });
    &mut chains[index]
}

/// The scalar visits of a visitor for which any scalar means `$value`.
macro_rules! scalars_are {
    ($value:expr) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

/// A set, map or meter, with its elements counted, not kept.
#[derive(Deserialize)]
struct SetItem {
    family: Option<Value>,
    table: Option<Value>,
    name: Option<Value>,
    size: Option<Value>,
    count: Option<Value>,
    #[serde(default, deserialize_with = "elements")]
    elem: Option<Elements>,
}

/// A set's elements: how many, and the jumps a verdict map's hold.
struct Elements {
    count: u64,
    verdicts: Vec<Jump>,
}

/// Counts the elements of `elem` and keeps only their verdicts' targets;
/// anything but a list is no count (ignored, not an error).
fn elements<'de, D: de::Deserializer<'de>>(de: D) -> Result<Option<Elements>, D::Error> {
    struct List;
    impl<'de> Visitor<'de> for List {
        type Value = Option<Elements>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of elements")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut found = Elements {
                count: 0,
                verdicts: Vec::new(),
            };
            while let Some(verdict) = seq.next_element_seed(Element)? {
                found.count += 1;
                found.verdicts.extend(verdict);
            }
            Ok(Some(found))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        scalars_are!(None);
    }
    de.deserialize_any(List)
}

/// One element: a map's `[key, value]` pair gives the value's jump, if it
/// is one; anything else gives nothing.
struct Element;

impl<'de> DeserializeSeed<'de> for Element {
    type Value = Option<Jump>;
    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Element {
    type Value = Option<Jump>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an element")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let _key = seq.next_element::<IgnoredAny>()?;
        let verdict = seq.next_element_seed(Verdict)?.flatten();
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(verdict)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    scalars_are!(None);
}

/// `{"jump": {"target": "x"}}` or `{"goto": …}`; anything else is no jump.
struct Verdict;

impl<'de> DeserializeSeed<'de> for Verdict {
    type Value = Option<Jump>;
    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Verdict {
    type Value = Option<Jump>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a verdict")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        #[derive(Deserialize)]
        struct Target {
            target: Option<String>,
        }
        let mut jump = None;
        while let Some(kind) = map.next_key::<String>()? {
            if kind == "jump" || kind == "goto" {
                let target = map.next_value::<Option<Target>>()?;
                jump = target.and_then(|t| t.target).map(|target| Jump {
                    target,
                    goto: kind == "goto",
                });
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(jump)
    }
    scalars_are!(None);
}

/// `{"nftables": [item, …]}`; other top-level keys are ignored.
struct TopSeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object {\"nftables\": [...]}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "nftables" {
                map.next_value_seed(ItemsSeed(&mut *self.0))?;
                seen = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if seen {
            Ok(())
        } else {
            Err(de::Error::custom("no \"nftables\" list at the top level"))
        }
    }
}

struct ItemsSeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of items")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            self.0.listing.items += 1;
            if seq.next_element_seed(ItemSeed(&mut *self.0))?.is_none() {
                self.0.listing.items -= 1;
                return Ok(());
            }
        }
    }
}

/// One item: `{"kind": {...}}`. Sets, maps and meters are counted as they
/// are read; everything else is read whole (rules are small).
struct ItemSeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an item {\"kind\": {...}}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(kind) = map.next_key::<String>()? {
            let set_kind = match kind.as_str() {
                "set" => Some(SetKind::Set),
                "map" => Some(SetKind::Map),
                "meter" => Some(SetKind::Meter),
                _ => None,
            };
            match set_kind {
                Some(set_kind) => {
                    let set = map.next_value::<SetItem>()?;
                    self.0.set(set_kind, set);
                }
                None => {
                    let value = map.next_value::<Value>()?;
                    self.0.item(&kind, value);
                }
            }
        }
        Ok(())
    }
}

/// The tables an nft listing names (`nft -j list chains` and `list sets`
/// are cheap ways to learn them: a table's whole listing fetches only its
/// own rules), in listing order, as (family, name).
pub fn tables(bytes: &[u8]) -> Result<Vec<(String, String)>, ListingError> {
    let listing = parse(bytes)?;
    Ok(listing
        .tables
        .into_iter()
        .map(|table| (table.family, table.name))
        .collect())
}

/// Every `@name` string in a rule's expressions (a set lookup, a map, a
/// verdict map, a set statement), each once, in order.
fn set_references(exprs: &[Value]) -> Vec<String> {
    fn walk(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::String(s) => {
                if let Some(name) = s.strip_prefix('@')
                    && !name.is_empty()
                    && !found.iter().any(|f| f == name)
                {
                    found.push(name.to_owned());
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            Value::Object(fields) => fields.values().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    exprs.iter().for_each(|e| walk(e, &mut found));
    found
}
