//! A rule's statements (nft's JSON) printed as `nft list ruleset` prints
//! them, without counter values and handle: the `rule` label. On the way
//! it collects what the metrics and the analyzer need of the rule: its
//! inline counter, the named counters it counts through, the chains it
//! jumps to, and what the printer did not know.
//!
//! The printer never fails. A statement or expression it does not know is
//! printed as its kind followed by its value as compact JSON (object keys
//! sorted, so the same rule always prints the same) and reported, so that
//! a newer nft costs a less pretty label, never a scrape.

pub use crate::counters::Counters;
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// A verdict that moves to another chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    pub target: String,
    /// `goto` rather than `jump`.
    pub goto: bool,
}

/// What printing a rule learnt about it.
#[derive(Debug, Default)]
pub struct Printed {
    pub text: String,
    /// The sum of its inline `counter` statements' values (a rule has one
    /// as a rule; more are summed rather than lost).
    pub counters: Option<Counters>,
    /// Named counters it counts through (`counter name "x"`, or a map of
    /// counter names: then every name the map holds).
    pub named_counters: Vec<String>,
    /// Whether it counts through a named counter given by a map whose
    /// names are only known at run time (a named set).
    pub counter_map: bool,
    pub jumps: Vec<Jump>,
    /// Named maps it uses as verdict maps (`vmap @name`): their elements'
    /// jumps are its jumps too.
    pub verdict_maps: Vec<String>,
    /// Statements or expressions printed as JSON, by kind.
    pub unknown: Vec<String>,
}

/// Prints a rule's `expr` list and its comment; `family` is its table's
/// (nft leaves out what a family rejects with by default).
pub fn rule(family: &str, exprs: &[Value], comment: Option<&str>) -> Printed {
    let mut printer = Printer {
        out: Printed::default(),
        family: family.to_owned(),
        hex: false,
    };
    for (i, stmt) in exprs.iter().enumerate() {
        if i > 0 {
            printer.out.text.push(' ');
        }
        printer.statement(stmt);
    }
    if let Some(comment) = comment {
        if !exprs.is_empty() {
            printer.out.text.push(' ');
        }
        let _ = write!(printer.out.text, "comment \"{comment}\"");
    }
    printer.out
}

/// An unsigned 64-bit counter value as nft prints it in JSON: a number,
/// negative past 2^63 (nft prints it as signed), read back as u64; never
/// through f64.
pub fn counter_value(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| n.as_i64().map(|v| v as u64)),
        _ => None,
    }
}

struct Printer {
    out: Printed,
    /// The rule's table's family.
    family: String,
    /// Whether numbers print as marks do: `0x` and eight hex digits (nft's
    /// `mark_type`), while printing what a mark is compared with or set to.
    hex: bool,
}

/// What a map's values are, for printing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MapValues {
    /// Verdicts (`vmap`): jumps of the rule.
    Verdicts,
    /// Names of objects (`counter name … map`): quoted, as nft prints them.
    Names,
    /// Anything else, printed as expressions.
    Exprs,
}

/// Whether an expression is a packet or connection mark, whose values nft
/// prints in hex.
fn is_mark(expr: &Value) -> bool {
    let key = |kind: &str| {
        expr.get(kind)
            .and_then(|v| v.get("key"))
            .and_then(Value::as_str)
    };
    key("meta") == Some("mark") || key("ct") == Some("mark")
}

/// What an expression is about: itself, or the first operand of a
/// binary operation on it (`meta mark & 0xff` is about `meta mark`).
fn subject(expr: &Value) -> &Value {
    match binary_operands(expr) {
        Some((_, operands)) => operands.first().map_or(expr, subject),
        None => expr,
    }
}

/// The operator and operands of `{"&": [a, b]}` and its kin.
fn binary_operands(expr: &Value) -> Option<(&str, &[Value])> {
    let (kind, value) = single(expr)?;
    match (kind, value) {
        ("|" | "&" | "^" | "<<" | ">>", Value::Array(items)) => Some((kind, items)),
        _ => None,
    }
}

/// Whether an expression's values are bit masks (`TYPE_BITMASK` in nft):
/// comparing one with `==` is not the implicit flag test, so nft prints it.
fn is_bitmask(expr: &Value) -> bool {
    let ct = expr
        .get("ct")
        .and_then(|v| v.get("key"))
        .and_then(Value::as_str);
    let payload = expr.get("payload");
    let field = |k: &str| payload.and_then(|p| p.get(k)).and_then(Value::as_str);
    matches!(ct, Some("state" | "status"))
        || (field("protocol") == Some("tcp") && field("field") == Some("flags"))
}

/// Whether the right side of a match is a set (anonymous or named).
fn is_set(value: &Value) -> bool {
    value.get("set").is_some() || value.as_str().is_some_and(|s| s.starts_with('@'))
}

/// meta keys nft prints without `meta ` (`meta_key_is_unqualified`).
const UNQUALIFIED_META: &[&str] = &[
    "iif",
    "oif",
    "iifname",
    "oifname",
    "iiftype",
    "oiftype",
    "iifgroup",
    "oifgroup",
    "skuid",
    "skgid",
    "nftrace",
    "rtclassid",
    "ibrname",
    "obrname",
    "ibriport",
    "obriport",
    "pkttype",
    "cpu",
    "cgroup",
    "sdif",
    "sdifname",
];

/// meta keys whose values are interface or bridge names, printed quoted.
const NAME_META: &[&str] = &[
    "iifname", "oifname", "ibrname", "obrname", "ibriport", "obriport", "sdifname", "ifname",
];

impl Printer {
    fn push(&mut self, s: &str) {
        self.out.text.push_str(s);
    }

    /// One statement of the rule.
    fn statement(&mut self, stmt: &Value) {
        let Some((kind, value)) = single(stmt) else {
            self.unknown("statement", stmt);
            return;
        };
        match kind {
            "match" => self.matches(value),
            "counter" => self.counter(value),
            "accept" | "drop" | "continue" | "return" => self.push(kind),
            "jump" | "goto" => self.jump(kind, value),
            "vmap" => {
                let key = value.get("key").unwrap_or(&Value::Null);
                self.expr(key);
                self.push(" vmap ");
                let data = value.get("data").unwrap_or(&Value::Null);
                self.map_data(data, MapValues::Verdicts, is_mark(subject(key)));
            }
            "log" => self.log(value),
            "reject" => self.reject(value),
            "limit" => self.limit(value),
            "quota" => self.quota(value),
            "snat" | "dnat" | "masquerade" | "redirect" => self.nat(kind, value),
            "mangle" => {
                let key = value.get("key").unwrap_or(&Value::Null);
                self.expr(key);
                self.push(" set ");
                let outer = std::mem::replace(&mut self.hex, is_mark(key));
                self.expr(value.get("value").unwrap_or(&Value::Null));
                self.hex = outer;
            }
            "notrack" => self.push("notrack"),
            // When the rule last matched (nft 1.0.8+): it moves, so the
            // label has only the word.
            "last" => self.push("last"),
            "xt" => {
                let get = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or("?");
                let _ = write!(self.out.text, "xt {} \"{}\"", get("type"), get("name"));
            }
            "set" | "map" => self.set_statement(kind, value),
            "queue" => {
                self.push("queue");
                self.keyed(value, &[("num", "num"), ("flags", "flags")]);
            }
            "ct helper" | "ct timeout" | "ct expectation" => {
                let _ = write!(self.out.text, "{kind} set ");
                self.expr(value);
            }
            "ct count" => {
                self.push("ct count ");
                if value.get("inv").and_then(Value::as_bool) == Some(true) {
                    self.push("over ");
                }
                self.expr(value.get("val").unwrap_or(&Value::Null));
            }
            "dup" | "fwd" => {
                self.push(kind);
                self.push(" to ");
                self.expr(value.get("addr").unwrap_or(&Value::Null));
                if let Some(dev) = value.get("dev") {
                    self.push(" device ");
                    self.expr(dev);
                }
            }
            "tproxy" => self.nat(kind, value),
            // A named quota, limit or object reference by name.
            "limit name" | "quota name" => {
                let _ = write!(self.out.text, "{kind} ");
                self.expr(value);
            }
            _ => self.unknown(kind, value),
        }
    }

    fn unknown(&mut self, kind: &str, value: &Value) {
        let _ = write!(self.out.text, "{kind} {value}");
        self.out.unknown.push(kind.to_owned());
    }

    fn matches(&mut self, value: &Value) {
        let null = Value::Null;
        let left = value.get("left").unwrap_or(&null);
        let right = value.get("right").unwrap_or(&null);
        let op = value.get("op").and_then(Value::as_str).unwrap_or("==");
        let outer = std::mem::replace(&mut self.hex, is_mark(subject(left)));
        let quoted = names_interface(left);
        // A flag test under a mask: nft 1.0.6 prints `tcp flags & (syn |
        // ack) == syn` as `tcp flags syn / syn,ack`.
        if let Some(("&", [flags, mask])) = binary_operands(left)
            && is_bitmask(flags)
            && matches!(op, "==" | "!=")
            && !is_set(right)
        {
            self.expr(flags);
            self.push(if op == "!=" { " != " } else { " " });
            self.value(right, quoted);
            self.push(" / ");
            // Flags or'ed together are a list of flags (`fin,syn,rst,ack`).
            match binary_operands(mask) {
                Some(("|", flags)) => self.list(flags, ",", "", "", |p, f| p.expr(f)),
                _ => self.expr(mask),
            }
            self.hex = outer;
            return;
        }
        self.expr(left);
        // nft prints equality and set membership implicitly, but `==`
        // after an operation (`meta mark & 0xff == 0x1`) and on a bit mask
        // (`ct state == established` is not `ct state established`).
        let explicit =
            op == "==" && (binary_operands(left).is_some() || (is_bitmask(left) && !is_set(right)));
        match op {
            "==" if explicit => self.push(" == "),
            "==" | "in" => self.push(" "),
            op => {
                self.push(" ");
                self.push(op);
                self.push(" ");
            }
        }
        self.value(right, quoted);
        self.hex = outer;
    }

    /// The right side of a match: strings quoted where the left side is
    /// an interface name.
    fn value(&mut self, value: &Value, quoted: bool) {
        match value {
            Value::String(s) if quoted && !s.starts_with('@') && !s.starts_with('$') => {
                let _ = write!(self.out.text, "\"{s}\"");
            }
            Value::Array(items) if quoted => {
                self.list(items, ", ", "{ ", " }", |p, v| p.value(v, true))
            }
            Value::Object(map) if quoted && map.contains_key("set") => {
                if let Some(Value::Array(items)) = map.get("set") {
                    self.list(items, ", ", "{ ", " }", |p, v| p.value(v, true));
                }
            }
            _ => self.expr(value),
        }
    }

    fn list(
        &mut self,
        items: &[Value],
        sep: &str,
        open: &str,
        close: &str,
        mut each: impl FnMut(&mut Self, &Value),
    ) {
        self.push(open);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.push(sep);
            }
            each(self, item);
        }
        self.push(close);
    }

    fn counter(&mut self, value: &Value) {
        match value {
            // Inline: `counter`, its values summed into the rule's.
            Value::Object(map) if map.contains_key("packets") || map.contains_key("bytes") => {
                self.push("counter");
                let get = |k: &str| map.get(k).and_then(counter_value).unwrap_or(0);
                let sum = self.out.counters.get_or_insert_with(Counters::default);
                sum.packets = sum.packets.wrapping_add(get("packets"));
                sum.bytes = sum.bytes.wrapping_add(get("bytes"));
            }
            // `counter name tcp dport map { 22 : "c1", … }`
            Value::Object(map) if map.contains_key("map") => {
                self.push("counter name ");
                let inner = map.get("map").unwrap_or(&Value::Null);
                let key = inner.get("key").unwrap_or(&Value::Null);
                self.expr(key);
                self.push(" map ");
                let data = inner.get("data").unwrap_or(&Value::Null);
                match data.get("set") {
                    Some(Value::Array(pairs)) => {
                        for name in pairs.iter().filter_map(|p| p.get(1)?.as_str()) {
                            self.out.named_counters.push(name.to_owned());
                        }
                    }
                    _ => self.out.counter_map = true,
                }
                self.map_data(data, MapValues::Names, is_mark(subject(key)));
            }
            // `counter name "x"`
            Value::String(name) => {
                let _ = write!(self.out.text, "counter name \"{name}\"");
                self.out.named_counters.push(name.clone());
            }
            // `-s` (stateless) listings: a counter with no values.
            Value::Null => {
                self.push("counter");
                self.out.counters.get_or_insert_with(Counters::default);
            }
            other => self.unknown("counter", other),
        }
    }

    fn jump(&mut self, kind: &str, value: &Value) {
        let target = value.get("target").and_then(Value::as_str).unwrap_or("?");
        let _ = write!(self.out.text, "{kind} {target}");
        self.out.jumps.push(Jump {
            target: target.to_owned(),
            goto: kind == "goto",
        });
    }

    /// A map's data: `@name`, or `{ key : value, … }`, its values printed
    /// as `values` says (verdicts are also the rule's jumps); keys print
    /// as marks when `mark_keys`, values as what the map is printed into.
    fn map_data(&mut self, data: &Value, values: MapValues, mark_keys: bool) {
        match data.get("set") {
            Some(Value::Array(pairs)) => {
                self.list(pairs, ", ", "{ ", " }", |p, pair| match pair {
                    Value::Array(kv) if kv.len() == 2 => {
                        let outer = std::mem::replace(&mut p.hex, mark_keys);
                        p.expr(&kv[0]);
                        p.hex = outer;
                        p.push(" : ");
                        match (values, &kv[1]) {
                            (MapValues::Verdicts, verdict) => p.statement(verdict),
                            (MapValues::Names, Value::String(name)) => {
                                let _ = write!(p.out.text, "\"{name}\"");
                            }
                            (_, value) => p.expr(value),
                        }
                    }
                    other => {
                        let outer = std::mem::replace(&mut p.hex, mark_keys);
                        p.expr(other);
                        p.hex = outer;
                    }
                });
            }
            _ => {
                if values == MapValues::Verdicts
                    && let Some(name) = data.as_str().and_then(|d| d.strip_prefix('@'))
                {
                    self.out.verdict_maps.push(name.to_owned());
                }
                self.expr(data);
            }
        }
    }

    fn log(&mut self, value: &Value) {
        self.push("log");
        if let Some(prefix) = value.get("prefix").and_then(Value::as_str) {
            let _ = write!(self.out.text, " prefix \"{prefix}\"");
        }
        self.keyed(
            value,
            &[
                ("group", "group"),
                ("snaplen", "snaplen"),
                ("queue-threshold", "queue-threshold"),
                ("level", "level"),
                ("flags", "flags"),
            ],
        );
    }

    /// ` name value` for each of `keys` present, in that order.
    fn keyed(&mut self, value: &Value, keys: &[(&str, &str)]) {
        for (key, word) in keys {
            if let Some(v) = value.get(*key) {
                let _ = write!(self.out.text, " {word} ");
                self.expr(v);
            }
        }
    }

    fn reject(&mut self, value: &Value) {
        self.push("reject");
        let ty = value.get("type").and_then(Value::as_str);
        let expr = value.get("expr");
        // What a family rejects with when the rule says nothing, nft
        // leaves out: port-unreachable of ICMP in `ip`, of ICMPv6 in
        // `ip6`, of either (`icmpx`) anywhere; `inet` spells out the
        // other two.
        let default = match (ty, expr.and_then(Value::as_str)) {
            (Some("icmpx"), Some("port-unreachable")) => true,
            (Some("icmp"), Some("port-unreachable")) => self.family == "ip",
            (Some("icmpv6"), Some("port-unreachable")) => self.family == "ip6",
            _ => false,
        };
        if default {
            return;
        }
        match (ty, expr) {
            (Some("tcp reset"), _) => self.push(" with tcp reset"),
            (Some(ty), Some(expr)) => {
                let _ = write!(self.out.text, " with {ty} ");
                self.expr(expr);
            }
            (Some(ty), None) => {
                let _ = write!(self.out.text, " with {ty}");
            }
            (None, Some(expr)) => {
                self.push(" with ");
                self.expr(expr);
            }
            (None, None) => {}
        }
    }

    fn limit(&mut self, value: &Value) {
        self.push("limit rate ");
        if value.get("inv").and_then(Value::as_bool) == Some(true) {
            self.push("over ");
        }
        self.expr(value.get("rate").unwrap_or(&Value::Null));
        if let Some(unit) = value.get("rate_unit").and_then(Value::as_str) {
            let _ = write!(self.out.text, " {unit}");
        }
        self.push("/");
        self.expr(value.get("per").unwrap_or(&Value::Null));
        if let Some(burst) = value.get("burst").filter(|b| b.as_u64() != Some(0)) {
            self.push(" burst ");
            self.expr(burst);
            let unit = value.get("burst_unit").and_then(Value::as_str);
            let _ = write!(self.out.text, " {}", unit.unwrap_or("packets"));
        }
    }

    /// An inline quota, without what it has used: that moves.
    fn quota(&mut self, value: &Value) {
        if let Value::String(name) = value {
            let _ = write!(self.out.text, "quota name \"{name}\"");
            return;
        }
        self.push("quota ");
        if value.get("inv").and_then(Value::as_bool) == Some(true) {
            self.push("over ");
        }
        self.expr(value.get("val").unwrap_or(&Value::Null));
        let unit = value.get("val_unit").and_then(Value::as_str);
        let _ = write!(self.out.text, " {}", unit.unwrap_or("bytes"));
    }

    fn nat(&mut self, kind: &str, value: &Value) {
        self.push(kind);
        if value.is_null() {
            return;
        }
        if let Some(family) = value.get("family").and_then(Value::as_str) {
            let _ = write!(self.out.text, " {family}");
        }
        let addr = value.get("addr");
        let port = value.get("port");
        if addr.is_some() || port.is_some() {
            self.push(" to ");
            if let Some(addr) = addr {
                self.expr(addr);
            }
            if let Some(port) = port {
                self.push(":");
                self.expr(port);
            }
        }
        if let Some(flags) = value.get("flags") {
            self.push(" ");
            self.flags(flags);
        }
    }

    /// `add @set { expr [stmts] }`, `update @set { … }`.
    fn set_statement(&mut self, kind: &str, value: &Value) {
        let op = value.get("op").and_then(Value::as_str).unwrap_or(kind);
        let set = value.get("set").and_then(Value::as_str).unwrap_or("?");
        let _ = write!(self.out.text, "{op} {set} {{ ");
        self.expr(value.get("elem").unwrap_or(&Value::Null));
        if kind == "map"
            && let Some(data) = value.get("data")
        {
            self.push(" : ");
            self.expr(data);
        }
        if let Some(Value::Array(stmts)) = value.get("stmt") {
            for stmt in stmts {
                self.push(" ");
                // A set's per-element counter is a template here: no values.
                match single(stmt) {
                    Some(("counter", _)) => self.push("counter"),
                    _ => self.statement(stmt),
                }
            }
        }
        self.push(" }");
    }

    /// Flags: a string (nft 1.1.4) or a list of them.
    fn flags(&mut self, flags: &Value) {
        match flags {
            Value::Array(items) => self.list(items, ",", "", "", |p, v| p.expr(v)),
            other => self.expr(other),
        }
    }

    /// An expression.
    fn expr(&mut self, value: &Value) {
        match value {
            Value::Null => self.push("null"),
            Value::Bool(b) => self.push(if *b { "true" } else { "false" }),
            Value::Number(n) => match n.as_u64() {
                Some(mark) if self.hex => {
                    let _ = write!(self.out.text, "{mark:#010x}");
                }
                _ => {
                    let _ = write!(self.out.text, "{n}");
                }
            },
            Value::String(s) => self.push(s),
            // A list of flags or values: `established,related`.
            Value::Array(items) => self.list(items, ",", "", "", |p, v| p.expr(v)),
            Value::Object(map) => self.object(map, value),
        }
    }

    fn object(&mut self, map: &Map<String, Value>, whole: &Value) {
        let Some((kind, v)) = single(whole) else {
            self.unknown("expression", whole);
            return;
        };
        let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("?");
        match kind {
            "payload" => {
                if let Some(protocol) = v.get("protocol").and_then(Value::as_str) {
                    let _ = write!(self.out.text, "{protocol} {}", field("field"));
                } else {
                    let num = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
                    let _ = write!(
                        self.out.text,
                        "@{},{},{}",
                        field("base"),
                        num("offset"),
                        num("len")
                    );
                }
            }
            "meta" => {
                let key = field("key");
                if UNQUALIFIED_META.contains(&key) {
                    self.push(key);
                } else {
                    let _ = write!(self.out.text, "meta {key}");
                }
            }
            "ct" => {
                self.push("ct ");
                if let Some(dir) = v.get("dir").and_then(Value::as_str) {
                    let _ = write!(self.out.text, "{dir} ");
                }
                if let Some(family) = v.get("family").and_then(Value::as_str) {
                    let _ = write!(self.out.text, "{family} ");
                }
                self.push(field("key"));
            }
            "rt" | "socket" | "ipsec" | "osf" => {
                let _ = write!(self.out.text, "{kind} ");
                if let Some(family) = v.get("family").and_then(Value::as_str) {
                    let _ = write!(self.out.text, "{family} ");
                }
                self.push(field("key"));
            }
            "exthdr" => {
                let _ = write!(self.out.text, "{} {}", field("name"), field("field"));
            }
            "tcp option" | "ip option" | "sctp chunk" => {
                let _ = write!(self.out.text, "{kind} {} {}", field("name"), field("field"));
            }
            "fib" => {
                self.push("fib ");
                if let Some(flags) = v.get("flags") {
                    match flags {
                        Value::Array(items) => {
                            self.list(items, " . ", "", "", |p, f| p.expr(f));
                        }
                        other => self.expr(other),
                    }
                    self.push(" ");
                }
                self.push(field("result"));
            }
            "numgen" => {
                let _ = write!(self.out.text, "numgen {} mod ", field("mode"));
                self.expr(v.get("mod").unwrap_or(&Value::Null));
                if let Some(offset) = v.get("offset").filter(|o| o.as_u64() != Some(0)) {
                    self.push(" offset ");
                    self.expr(offset);
                }
            }
            "jhash" | "symhash" => {
                self.push(kind);
                if let Some(expr) = v.get("expr") {
                    self.push(" ");
                    self.expr(expr);
                }
                self.push(" mod ");
                self.expr(v.get("mod").unwrap_or(&Value::Null));
                if let Some(seed) = v.get("seed") {
                    self.push(" seed ");
                    self.expr(seed);
                }
            }
            "set" => match v {
                Value::Array(items) => self.list(items, ", ", "{ ", " }", |p, e| p.expr(e)),
                other => self.expr(other),
            },
            "prefix" => {
                self.expr(v.get("addr").unwrap_or(&Value::Null));
                self.push("/");
                self.expr(v.get("len").unwrap_or(&Value::Null));
            }
            "range" => match v {
                Value::Array(ends) if ends.len() == 2 => {
                    self.expr(&ends[0]);
                    self.push("-");
                    self.expr(&ends[1]);
                }
                other => self.unknown("range", other),
            },
            "concat" => match v {
                Value::Array(items) => self.list(items, " . ", "", "", |p, e| p.expr(e)),
                other => self.unknown("concat", other),
            },
            "|" | "&" | "^" | "<<" | ">>" => match v {
                // Two or more operands (nft prints `{"|": [a, b, c, d]}`).
                Value::Array(items) => {
                    let sep = format!(" {kind} ");
                    self.list(items, &sep, "", "", |p, e| p.expr(e));
                }
                other => self.unknown(kind, other),
            },
            "map" => {
                let key = v.get("key").unwrap_or(&Value::Null);
                let outer = std::mem::replace(&mut self.hex, false);
                self.expr(key);
                self.hex = outer;
                self.push(" map ");
                let data = v.get("data").unwrap_or(&Value::Null);
                self.map_data(data, MapValues::Exprs, is_mark(subject(key)));
            }
            "elem" => {
                self.expr(v.get("val").unwrap_or(&Value::Null));
                if let Some(timeout) = v.get("timeout") {
                    self.push(" timeout ");
                    self.expr(timeout);
                    self.push("s");
                }
            }
            // Verdicts inside expressions (a map's data).
            "accept" | "drop" | "continue" | "return" | "jump" | "goto" => self.statement(whole),
            _ => {
                let _ = map;
                self.unknown(kind, v)
            }
        }
    }
}

/// An object with exactly one key: nft's `{"kind": value}`.
fn single(value: &Value) -> Option<(&str, &Value)> {
    match value {
        Value::Object(map) if map.len() == 1 => map.iter().next().map(|(k, v)| (k.as_str(), v)),
        _ => None,
    }
}

/// Whether an expression is an interface or bridge port name, whose
/// values nft prints quoted.
fn names_interface(left: &Value) -> bool {
    left.get("meta")
        .and_then(|m| m.get("key"))
        .and_then(Value::as_str)
        .is_some_and(|key| NAME_META.contains(&key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(exprs: Value) -> Printed {
        in_family("inet", exprs)
    }

    fn in_family(family: &str, exprs: Value) -> Printed {
        let Value::Array(exprs) = exprs else {
            panic!("a list")
        };
        rule(family, &exprs, None)
    }

    #[test]
    fn matches_counters_and_verdicts_print_as_nft_does() {
        let printed = text(json!([
            {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}},
            {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}},
            {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "lo"}},
            {"match": {"op": "!=", "left": {"meta": {"key": "l4proto"}}, "right": {"set": ["tcp", "udp"]}}},
            {"counter": {"packets": 5, "bytes": 300}},
            {"accept": null}
        ]));
        assert_eq!(
            printed.text,
            "tcp dport 22 ct state established,related iifname \"lo\" meta l4proto != { tcp, udp } counter accept"
        );
        assert_eq!(
            printed.counters,
            Some(Counters {
                packets: 5,
                bytes: 300
            })
        );
    }

    #[test]
    fn counters_past_2_63_printed_negative_are_read_back_as_u64() {
        let printed = text(json!([{"counter": {"packets": -1, "bytes": 9007199254740993u64}}]));
        assert_eq!(
            printed.counters,
            Some(Counters {
                packets: u64::MAX,
                bytes: 9_007_199_254_740_993
            })
        );
    }

    #[test]
    fn named_counters_and_counter_maps_are_references_without_values() {
        let printed = text(json!([{"counter": "cnt"}, {"accept": null}]));
        assert_eq!(printed.text, "counter name \"cnt\" accept");
        assert_eq!(printed.counters, None);
        assert_eq!(printed.named_counters, ["cnt"]);
        let map = text(json!([{"counter": {"map": {
            "key": {"payload": {"protocol": "tcp", "field": "dport"}},
            "data": {"set": [[22, "c1"], [80, "c2"]]}}}}]));
        assert_eq!(
            map.text,
            "counter name tcp dport map { 22 : \"c1\", 80 : \"c2\" }"
        );
        assert_eq!(map.named_counters, ["c1", "c2"]);
    }

    #[test]
    fn verdict_maps_print_and_give_their_jumps() {
        let printed = text(json!([{"vmap": {
            "key": {"meta": {"key": "l4proto"}},
            "data": {"set": [["tcp", {"jump": {"target": "tcp_chain"}}], ["icmp", {"accept": null}]]}}}]));
        assert_eq!(
            printed.text,
            "meta l4proto vmap { tcp : jump tcp_chain, icmp : accept }"
        );
        assert_eq!(
            printed.jumps,
            [Jump {
                target: "tcp_chain".into(),
                goto: false
            }]
        );
    }

    #[test]
    fn quotas_print_without_what_they_used() {
        let printed = text(
            json!([{"quota": {"val": 2, "val_unit": "mbytes", "inv": true, "used": 29, "used_unit": "bytes"}}, {"drop": null}]),
        );
        assert_eq!(printed.text, "quota over 2 mbytes drop");
    }

    #[test]
    fn operators_with_more_than_two_operands_print_them_all() {
        let printed = text(json!([{"match": {"op": "==",
            "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, {"|": ["fin", "syn", "rst", "ack"]}]},
            "right": "syn"}}]));
        assert_eq!(printed.text, "tcp flags syn / fin,syn,rst,ack");
        let printed = text(json!([{"match": {"op": "==",
            "left": {"&": [{"payload": {"protocol": "tcp", "field": "dport"}}, 255, 15]},
            "right": 1}}]));
        assert_eq!(printed.text, "tcp dport & 255 & 15 == 1");
    }

    /// Each case as nft 1.0.6 printed the rule it listed as this JSON.
    #[test]
    fn operators_marks_and_flag_masks_print_as_nft_does() {
        let cases = [
            (
                json!([{"match": {"op": "==", "left": {"&": [{"meta": {"key": "mark"}}, 16384]}, "right": 0}}, {"return": null}]),
                "meta mark & 0x00004000 == 0x00000000 return",
            ),
            (
                json!([{"mangle": {"key": {"meta": {"key": "mark"}}, "value": {"|": [{"&": [{"meta": {"key": "mark"}}, 4294901761u64]}, 1]}}}]),
                "meta mark set meta mark & 0xffff0001 | 0x00000001",
            ),
            (
                json!([{"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": {"range": [1, 3]}}}]),
                "meta mark 0x00000001-0x00000003",
            ),
            (
                json!([{"match": {"op": "!=", "left": {"&": [{"ct": {"key": "mark"}}, 15]}, "right": 0}}]),
                "ct mark & 0x0000000f != 0x00000000",
            ),
            (
                json!([{"vmap": {"key": {"meta": {"key": "mark"}}, "data": {"set": [[1, {"accept": null}], [2, {"drop": null}]]}}}]),
                "meta mark vmap { 0x00000001 : accept, 0x00000002 : drop }",
            ),
            (
                json!([{"mangle": {"key": {"ct": {"key": "mark"}}, "value": {"meta": {"key": "mark"}}}}]),
                "ct mark set meta mark",
            ),
            (
                json!([{"match": {"op": "==", "left": {"&": [{"payload": {"protocol": "tcp", "field": "dport"}}, 255]}, "right": 1}}]),
                "tcp dport & 255 == 1",
            ),
            (
                json!([{"match": {"op": "!=", "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, ["syn", "ack"]]}, "right": "syn"}}]),
                "tcp flags != syn / syn,ack",
            ),
            (
                json!([{"match": {"op": "==", "left": {"&": [{"ct": {"key": "state"}}, ["established", "related"]]}, "right": "established"}}]),
                "ct state established / established,related",
            ),
            (
                json!([{"match": {"op": "==", "left": {"ct": {"key": "status"}}, "right": "dnat"}}]),
                "ct status == dnat",
            ),
            (
                json!([{"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}}]),
                "ct status dnat",
            ),
            (
                json!([{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "flags"}}, "right": {"set": ["syn", "ack"]}}}]),
                "tcp flags { syn, ack }",
            ),
        ];
        for (json, nft) in cases {
            assert_eq!(text(json).text, nft);
        }
    }

    #[test]
    fn a_reject_prints_what_it_rejects_with_unless_it_is_the_familys_default() {
        let reject = |ty: &str, expr: &str| json!([{"reject": {"type": ty, "expr": expr}}]);
        let cases = [
            ("ip", reject("icmp", "port-unreachable"), "reject"),
            (
                "ip",
                reject("icmp", "host-unreachable"),
                "reject with icmp host-unreachable",
            ),
            ("ip6", reject("icmpv6", "port-unreachable"), "reject"),
            (
                "ip6",
                reject("icmpv6", "admin-prohibited"),
                "reject with icmpv6 admin-prohibited",
            ),
            ("inet", reject("icmpx", "port-unreachable"), "reject"),
            (
                "inet",
                reject("icmp", "port-unreachable"),
                "reject with icmp port-unreachable",
            ),
            (
                "inet",
                reject("icmpv6", "port-unreachable"),
                "reject with icmpv6 port-unreachable",
            ),
            (
                "inet",
                reject("icmpx", "admin-prohibited"),
                "reject with icmpx admin-prohibited",
            ),
        ];
        for (family, json, nft) in cases {
            assert_eq!(in_family(family, json).text, nft, "{family}");
        }
    }

    #[test]
    fn unknown_statements_print_stably_and_are_reported() {
        let a = text(json!([{"frobnicate": {"b": 1, "a": [2, 3]}}]));
        let b = text(json!([{"frobnicate": {"a": [2, 3], "b": 1}}]));
        assert_eq!(a.text, "frobnicate {\"a\":[2,3],\"b\":1}");
        assert_eq!(a.text, b.text);
        assert_eq!(a.unknown, ["frobnicate"]);
    }

    #[test]
    fn a_rule_without_statements_is_its_comment_or_nothing() {
        assert_eq!(
            rule("inet", &[], Some("only a comment")).text,
            "comment \"only a comment\""
        );
        assert_eq!(rule("inet", &[], None).text, "");
    }

    #[test]
    fn nat_log_reject_and_limit() {
        let printed = text(json!([
            {"log": {"prefix": "in: ", "level": "warn"}},
            {"limit": {"rate": 5, "per": "second", "burst": 10}},
            {"dnat": {"family": "ip", "addr": "10.0.0.1", "port": 8080}},
            {"reject": {"type": "icmpx", "expr": "admin-prohibited"}}
        ]));
        assert_eq!(
            printed.text,
            "log prefix \"in: \" level warn limit rate 5/second burst 10 packets dnat ip to 10.0.0.1:8080 reject with icmpx admin-prohibited"
        );
    }
}
