//! The kernel's nf_tables netlink replies, as iptables-nft's counters: the
//! chains of a family (`NFT_MSG_NEWCHAIN`, with a base chain's policy
//! counters) and the rules of each chain in order (`NFT_MSG_NEWRULE`, with
//! the `counter` expression's packets and bytes).
//!
//! The host sends the requests and hands over the replies' messages as the
//! kernel wrote them (headers in host byte order: the host only does this
//! on a little-endian machine, as wasm32 is); everything inside a message
//! is read here. [`refresh`] then puts the kernel's counters into a save
//! output kept from when the ruleset had the same generation id, so that
//! the text is what `iptables-nft-save -c` would print now (its `#`
//! comment lines, the timestamps, aside).
//!
//! Nothing is guessed: a text whose tables, chains or rule counts differ
//! from the kernel's, a rule without exactly one `counter` expression, or
//! a reply that does not read is an error, and the host runs the save
//! command instead.

use crate::counters::Counters;
use crate::lines::Lines;
use rustc_hash::FxHashMap;
use std::fmt::Write as _;

/// `NFNL_SUBSYS_NFTABLES`, the high byte of a message type.
const SUBSYS_NFTABLES: u16 = 10;
const MSG_NEWCHAIN: u16 = 3;
const MSG_NEWRULE: u16 = 6;

const CHAIN_TABLE: u16 = 1;
const CHAIN_NAME: u16 = 3;
const CHAIN_COUNTERS: u16 = 8;
const RULE_TABLE: u16 = 1;
const RULE_CHAIN: u16 = 2;
const RULE_EXPRESSIONS: u16 = 4;
const LIST_ELEM: u16 = 1;
const EXPR_NAME: u16 = 1;
const EXPR_DATA: u16 = 2;
const COUNTER_BYTES: u16 = 1;
const COUNTER_PACKETS: u16 = 2;

/// `nlmsghdr` (16 bytes) and `nfgenmsg` (4).
const HEADERS: usize = 16 + 4;

/// A chain as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainId {
    pub table: String,
    pub chain: String,
}

/// Why the kernel's replies cannot refresh the kept text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct RefreshError {
    pub kind: RefreshErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshErrorKind {
    /// A message or attribute cut short or of an unexpected kind.
    MalformedReply,
    /// The kept text and the kernel differ in their tables, chains or
    /// rule counts: the ruleset holds what the text cannot show.
    Mismatch,
    /// A rule with no `counter` expression, or more than one.
    Counters,
    /// The kept text is not a save output with counters.
    KeptText,
}

impl std::fmt::Display for RefreshErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RefreshErrorKind::MalformedReply => "malformed netlink reply",
            RefreshErrorKind::Mismatch => "the kept text and the kernel differ",
            RefreshErrorKind::Counters => "a rule without exactly one counter",
            RefreshErrorKind::KeptText => "the kept text cannot be refreshed",
        })
    }
}

fn error(kind: RefreshErrorKind, message: impl Into<String>) -> RefreshError {
    RefreshError {
        kind,
        message: message.into(),
    }
}

fn malformed(message: impl Into<String>) -> RefreshError {
    error(RefreshErrorKind::MalformedReply, message)
}

/// One netlink message: its type and its attributes (after `nfgenmsg`).
struct Message<'a> {
    kind: u16,
    attributes: &'a [u8],
}

/// The messages of `replies`, one after the other.
fn messages(replies: &[u8]) -> impl Iterator<Item = Result<Message<'_>, RefreshError>> {
    let mut rest = replies;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(len) = rest
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        else {
            rest = &[];
            return Some(Err(malformed("a message header cut short")));
        };
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len < HEADERS || len > rest.len() {
            rest = &[];
            return Some(Err(malformed(format!(
                "a message of {len} bytes where {} remain",
                rest.len()
            ))));
        }
        let kind = u16::from_le_bytes([rest[4], rest[5]]);
        let message = Message {
            kind,
            attributes: &rest[HEADERS..len],
        };
        rest = rest.get(align(len)..).unwrap_or(&[]);
        Some(Ok(message))
    })
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// The attributes in `bytes`: (type without its flags, payload).
fn attributes(bytes: &[u8]) -> impl Iterator<Item = Result<(u16, &[u8]), RefreshError>> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            // Trailing padding is no attribute.
            return None;
        }
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let kind = u16::from_le_bytes([rest[2], rest[3]]) & 0x3fff;
        if len < 4 || len > rest.len() {
            rest = &[];
            return Some(Err(malformed(format!(
                "an attribute of {len} bytes where {} remain",
                rest.len()
            ))));
        }
        let payload = &rest[4..len];
        rest = rest.get(align(len)..).unwrap_or(&[]);
        Some(Ok((kind, payload)))
    })
}

fn string(payload: &[u8], what: &str) -> Result<String, RefreshError> {
    let text = payload.strip_suffix(&[0]).unwrap_or(payload);
    String::from_utf8(text.to_vec()).map_err(|_| malformed(format!("{what} is not UTF-8")))
}

fn be64(payload: &[u8], what: &str) -> Result<u64, RefreshError> {
    let bytes: [u8; 8] = payload
        .try_into()
        .map_err(|_| malformed(format!("{what} of {} bytes, not 8", payload.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

/// `NFTA_COUNTER_BYTES` and `NFTA_COUNTER_PACKETS` of a nest.
fn counters(nest: &[u8]) -> Result<Counters, RefreshError> {
    let (mut packets, mut bytes) = (None, None);
    for attribute in attributes(nest) {
        match attribute? {
            (COUNTER_PACKETS, payload) => packets = Some(be64(payload, "packets")?),
            (COUNTER_BYTES, payload) => bytes = Some(be64(payload, "bytes")?),
            _ => {}
        }
    }
    match (packets, bytes) {
        (Some(packets), Some(bytes)) => Ok(Counters { packets, bytes }),
        _ => Err(malformed("a counter without packets or bytes")),
    }
}

/// A chain of the chain dump, with a base chain's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelChain {
    pub id: ChainId,
    pub counters: Option<Counters>,
}

/// The chains of `NFT_MSG_GETCHAIN` dump replies, in the kernel's order.
pub fn chains(replies: &[u8]) -> Result<Vec<KernelChain>, RefreshError> {
    let mut chains = Vec::new();
    for message in messages(replies) {
        let message = message?;
        if message.kind != (SUBSYS_NFTABLES << 8 | MSG_NEWCHAIN) {
            return Err(malformed(format!(
                "message type {:#x} in a chain dump",
                message.kind
            )));
        }
        let (mut table, mut name, mut counts) = (None, None, None);
        for attribute in attributes(message.attributes) {
            match attribute? {
                (CHAIN_TABLE, payload) => table = Some(string(payload, "a table name")?),
                (CHAIN_NAME, payload) => name = Some(string(payload, "a chain name")?),
                (CHAIN_COUNTERS, payload) => counts = Some(counters(payload)?),
                _ => {}
            }
        }
        let (Some(table), Some(chain)) = (table, name) else {
            return Err(malformed("a chain without its table or name"));
        };
        chains.push(KernelChain {
            id: ChainId { table, chain },
            counters: counts,
        });
    }
    Ok(chains)
}

/// Each chain's rules' counters, in rule order, from `NFT_MSG_GETRULE`
/// dump replies (per chain, or all at once).
fn rules(replies: &[u8]) -> Result<FxHashMap<ChainId, Vec<Counters>>, RefreshError> {
    let mut rules: FxHashMap<ChainId, Vec<Counters>> = FxHashMap::default();
    for message in messages(replies) {
        let message = message?;
        if message.kind != (SUBSYS_NFTABLES << 8 | MSG_NEWRULE) {
            return Err(malformed(format!(
                "message type {:#x} in a rule dump",
                message.kind
            )));
        }
        let (mut table, mut chain, mut found) = (None, None, Vec::new());
        for attribute in attributes(message.attributes) {
            match attribute? {
                (RULE_TABLE, payload) => table = Some(string(payload, "a table name")?),
                (RULE_CHAIN, payload) => chain = Some(string(payload, "a chain name")?),
                (RULE_EXPRESSIONS, payload) => found = rule_counters(payload)?,
                _ => {}
            }
        }
        let (Some(table), Some(chain)) = (table, chain) else {
            return Err(malformed("a rule without its table or chain"));
        };
        let id = ChainId { table, chain };
        let counters = match found.as_slice() {
            [one] => *one,
            _ => {
                return Err(error(
                    RefreshErrorKind::Counters,
                    format!(
                        "rule {} of chain {} in table {} has {} counter expressions",
                        rules.get(&id).map_or(0, Vec::len) + 1,
                        id.chain,
                        id.table,
                        found.len()
                    ),
                ));
            }
        };
        rules.entry(id).or_default().push(counters);
    }
    Ok(rules)
}

/// The `counter` expressions of a rule's expression list.
fn rule_counters(list: &[u8]) -> Result<Vec<Counters>, RefreshError> {
    let mut found = Vec::new();
    for element in attributes(list) {
        let (kind, expression) = element?;
        if kind != LIST_ELEM {
            continue;
        }
        let (mut name, mut data) = (None, None);
        for attribute in attributes(expression) {
            match attribute? {
                (EXPR_NAME, payload) => name = Some(payload.strip_suffix(&[0]).unwrap_or(payload)),
                (EXPR_DATA, payload) => data = Some(payload),
                _ => {}
            }
        }
        if name == Some(b"counter".as_slice()) {
            found.push(counters(data.unwrap_or_default())?);
        }
    }
    Ok(found)
}

/// The kept save output with every counter the kernel's: rule counters by
/// (table, chain, position), a built-in chain's policy counters from its
/// chain.
pub fn refresh(
    kept: &[u8],
    chain_replies: &[u8],
    rule_replies: &[u8],
) -> Result<Vec<u8>, RefreshError> {
    let kernel_chains = chains(chain_replies)?;
    let policies: FxHashMap<&ChainId, Option<Counters>> =
        kernel_chains.iter().map(|c| (&c.id, c.counters)).collect();
    let rules = rules(rule_replies)?;
    let mut out = Vec::with_capacity(kept.len() + kept.len() / 8);
    let mut table: Option<String> = None;
    // Per chain of the open table: the text's declared chains and the
    // rules seen so far.
    let mut declared: Vec<String> = Vec::new();
    let mut seen: FxHashMap<String, usize> = FxHashMap::default();
    let mut tables_seen: Vec<String> = Vec::new();
    let mut field = String::new();
    for (number, line) in Lines::new(kept) {
        let kept_text = |message: &str| {
            error(
                RefreshErrorKind::KeptText,
                format!("line {number}: {message}"),
            )
        };
        let text = std::str::from_utf8(line).map_err(|_| kept_text("not UTF-8"))?;
        let ending = &kept[offset_of(kept, line) + line.len()..];
        let newline = if ending.starts_with(b"\r\n") {
            "\r\n"
        } else if ending.starts_with(b"\n") {
            "\n"
        } else {
            ""
        };
        // Whether `field` holds the line with the kernel's counters.
        let mut replaced = false;
        if let Some(name) = text.strip_prefix('*') {
            table = Some(name.to_owned());
            tables_seen.push(name.to_owned());
            declared.clear();
            seen.clear();
        } else if text == "COMMIT" {
            let name = table
                .take()
                .ok_or_else(|| kept_text("COMMIT outside a table"))?;
            check_table(&name, &declared, &seen, &kernel_chains, &rules)?;
        } else if let Some(declaration) = text.strip_prefix(':') {
            let name = table
                .as_ref()
                .ok_or_else(|| kept_text("a chain outside a table"))?;
            let mut parts = declaration.splitn(3, ' ');
            let (Some(chain), Some(policy), Some(_)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(kept_text("a chain declaration without counters"));
            };
            declared.push(chain.to_owned());
            if policy != "-" {
                let id = ChainId {
                    table: name.clone(),
                    chain: chain.to_owned(),
                };
                let Some(Some(counters)) = policies.get(&id) else {
                    return Err(error(
                        RefreshErrorKind::Mismatch,
                        format!(
                            "built-in chain {chain} of table {name} has no counters in the kernel"
                        ),
                    ));
                };
                field.clear();
                let _ = write!(
                    field,
                    ":{chain} {policy} [{}:{}]",
                    counters.packets, counters.bytes
                );
                replaced = true;
            }
        } else if text.starts_with('[') {
            let name = table
                .as_ref()
                .ok_or_else(|| kept_text("a rule outside a table"))?;
            let close = text
                .find("] ")
                .ok_or_else(|| kept_text("a counter field without `] `"))?;
            let spec = &text[close + 2..];
            let chain = spec
                .strip_prefix("-A ")
                .and_then(|rest| rest.split(' ').next())
                .ok_or_else(|| kept_text("a rule that is not `-A CHAIN …`"))?;
            let position = seen.entry(chain.to_owned()).or_insert(0);
            let id = ChainId {
                table: name.clone(),
                chain: chain.to_owned(),
            };
            let counters = rules
                .get(&id)
                .and_then(|r| r.get(*position))
                .ok_or_else(|| {
                    error(
                        RefreshErrorKind::Mismatch,
                        format!(
                            "rule {} of chain {chain} in table {name} is not in the kernel",
                            *position + 1
                        ),
                    )
                })?;
            *position += 1;
            field.clear();
            let _ = write!(field, "[{}:{}] {spec}", counters.packets, counters.bytes);
            replaced = true;
        } else if text.starts_with("-A ") {
            return Err(kept_text("a rule without counters (a save without -c)"));
        }
        out.extend_from_slice(if replaced { field.as_bytes() } else { line });
        out.extend_from_slice(newline.as_bytes());
    }
    if let Some(open) = table {
        return Err(error(
            RefreshErrorKind::KeptText,
            format!("table {open} is never committed"),
        ));
    }
    if tables_seen.is_empty() && !kernel_chains.is_empty() {
        // An empty text is right only for a family with nothing to show;
        // any chain then means the text is not the kernel's.
        let tables: Vec<&str> = kernel_chains.iter().map(|c| c.id.table.as_str()).collect();
        return Err(error(
            RefreshErrorKind::Mismatch,
            format!("the kept text has no table; the kernel has {tables:?}"),
        ));
    }
    Ok(out)
}

/// The text's chains of `table` are the kernel's, with as many rules each.
fn check_table(
    table: &str,
    declared: &[String],
    seen: &FxHashMap<String, usize>,
    kernel: &[KernelChain],
    rules: &FxHashMap<ChainId, Vec<Counters>>,
) -> Result<(), RefreshError> {
    let mismatch = |message: String| error(RefreshErrorKind::Mismatch, message);
    let mut in_kernel: Vec<&str> = kernel
        .iter()
        .filter(|c| c.id.table == table)
        .map(|c| c.id.chain.as_str())
        .collect();
    in_kernel.sort_unstable();
    let mut in_text: Vec<&str> = declared.iter().map(String::as_str).collect();
    in_text.sort_unstable();
    if in_kernel != in_text {
        return Err(mismatch(format!(
            "table {table}: the text declares chains {in_text:?}, the kernel has {in_kernel:?}"
        )));
    }
    for chain in in_text {
        let id = ChainId {
            table: table.to_owned(),
            chain: chain.to_owned(),
        };
        let kernel_rules = rules.get(&id).map_or(0, Vec::len);
        let text_rules = seen.get(chain).copied().unwrap_or(0);
        if kernel_rules != text_rules {
            return Err(mismatch(format!(
                "chain {chain} of table {table}: {text_rules} rules in the text, {kernel_rules} in the kernel"
            )));
        }
    }
    Ok(())
}

/// Where `part` (a slice of `whole`) starts in it.
fn offset_of(whole: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

#[cfg(test)]
pub(crate) mod build {
    //! Netlink replies as the kernel writes them, for tests.

    /// An attribute: `len`, `type`, payload, padding.
    pub fn attribute(kind: u16, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(4 + payload.len()).expect("small");
        let mut out = Vec::new();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(payload);
        out.resize(super::align(out.len()), 0);
        out
    }

    pub fn nested(kind: u16, parts: &[Vec<u8>]) -> Vec<u8> {
        attribute(kind | 0x8000, &parts.concat())
    }

    pub fn text(kind: u16, s: &str) -> Vec<u8> {
        attribute(kind, &[s.as_bytes(), &[0]].concat())
    }

    pub fn counter(packets: u64, bytes: u64) -> Vec<Vec<u8>> {
        vec![
            attribute(super::COUNTER_BYTES, &bytes.to_be_bytes()),
            attribute(super::COUNTER_PACKETS, &packets.to_be_bytes()),
        ]
    }

    /// A message: `nlmsghdr`, `nfgenmsg` (family 2), attributes.
    pub fn message(kind: u16, attributes: &[Vec<u8>]) -> Vec<u8> {
        let body = attributes.concat();
        let len = u32::try_from(super::HEADERS + body.len()).expect("small");
        let mut out = Vec::new();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(super::SUBSYS_NFTABLES << 8 | kind).to_le_bytes());
        out.extend_from_slice(&[0x02, 0x00]); // NLM_F_MULTI
        out.extend_from_slice(&[0; 8]); // seq, port id
        out.extend_from_slice(&[2, 0, 0, 7]); // nfgenmsg: family, version, res_id
        out.extend_from_slice(&body);
        out
    }

    pub fn chain(table: &str, name: &str, counters: Option<(u64, u64)>) -> Vec<u8> {
        let mut attributes = vec![
            text(super::CHAIN_TABLE, table),
            text(super::CHAIN_NAME, name),
        ];
        if let Some((packets, bytes)) = counters {
            attributes.push(nested(super::CHAIN_COUNTERS, &counter(packets, bytes)));
        }
        message(super::MSG_NEWCHAIN, &attributes)
    }

    /// A rule whose expressions are `names`, each `counter` with these
    /// values.
    pub fn rule(table: &str, chain: &str, names: &[&str], packets: u64, bytes: u64) -> Vec<u8> {
        let expressions: Vec<Vec<u8>> = names
            .iter()
            .map(|name| {
                let data = if *name == "counter" {
                    nested(super::EXPR_DATA, &counter(packets, bytes))
                } else {
                    nested(super::EXPR_DATA, &[attribute(1, &[0; 4])])
                };
                nested(super::LIST_ELEM, &[text(super::EXPR_NAME, name), data])
            })
            .collect();
        message(
            super::MSG_NEWRULE,
            &[
                text(super::RULE_TABLE, table),
                text(super::RULE_CHAIN, chain),
                nested(super::RULE_EXPRESSIONS, &expressions),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;

    const KEPT: &str =
        "# Generated by iptables-nft-save v1.8.9 (nf_tables) on Sat Dec  5 07:00:00 2026
*filter
:INPUT ACCEPT [1:2]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [3:4]
:WEB - [0:0]
[5:6] -A INPUT -p tcp -m tcp --dport 80 -j WEB
[7:8] -A INPUT -j ACCEPT
[9:10] -A WEB -m comment --comment \"web\" -j ACCEPT
COMMIT
# Completed on Sat Dec  5 07:00:00 2026
";

    fn kernel_chains() -> Vec<u8> {
        [
            chain("filter", "INPUT", Some((100, 2000))),
            chain("filter", "FORWARD", Some((0, 0))),
            chain("filter", "OUTPUT", Some((300, 4000))),
            chain("filter", "WEB", None),
        ]
        .concat()
    }

    fn kernel_rules() -> Vec<u8> {
        // Chain by chain, as the host dumps them; WEB before INPUT.
        [
            rule("filter", "WEB", &["match", "counter", "immediate"], 9, 900),
            rule(
                "filter",
                "INPUT",
                &["payload", "cmp", "counter", "immediate"],
                50,
                5000,
            ),
            rule(
                "filter",
                "INPUT",
                &["counter", "immediate"],
                u64::MAX,
                1 << 62,
            ),
        ]
        .concat()
    }

    #[test]
    fn the_kernels_counters_go_where_the_save_would_print_them() {
        let refreshed =
            refresh(KEPT.as_bytes(), &kernel_chains(), &kernel_rules()).expect("refreshes");
        let want = KEPT
            .replace(":INPUT ACCEPT [1:2]", ":INPUT ACCEPT [100:2000]")
            .replace(":OUTPUT ACCEPT [3:4]", ":OUTPUT ACCEPT [300:4000]")
            .replace("[5:6] -A INPUT -p tcp", "[50:5000] -A INPUT -p tcp")
            .replace(
                "[7:8] -A INPUT -j ACCEPT",
                "[18446744073709551615:4611686018427387904] -A INPUT -j ACCEPT",
            )
            .replace("[9:10] -A WEB", "[9:900] -A WEB");
        assert_eq!(String::from_utf8(refreshed).expect("UTF-8"), want);
        let crlf = KEPT.replace('\n', "\r\n");
        let refreshed = refresh(crlf.as_bytes(), &kernel_chains(), &kernel_rules()).expect("CRLF");
        assert_eq!(
            String::from_utf8(refreshed).expect("UTF-8"),
            want.replace('\n', "\r\n")
        );
    }

    #[test]
    fn what_the_text_cannot_show_is_a_mismatch_never_a_guess() {
        let kind = |chains: &[u8], rules: &[u8]| {
            refresh(KEPT.as_bytes(), chains, rules).map_err(|e| e.kind)
        };
        // A rule more in the kernel (native, or inserted since).
        let more = [kernel_rules(), rule("filter", "WEB", &["counter"], 1, 1)].concat();
        assert_eq!(
            kind(&kernel_chains(), &more),
            Err(RefreshErrorKind::Mismatch)
        );
        // A rule fewer.
        let fewer = rule("filter", "WEB", &["counter"], 1, 1);
        assert_eq!(
            kind(&kernel_chains(), &fewer),
            Err(RefreshErrorKind::Mismatch)
        );
        // A chain more.
        let chains = [kernel_chains(), chain("filter", "NEW", None)].concat();
        assert_eq!(
            kind(&chains, &kernel_rules()),
            Err(RefreshErrorKind::Mismatch)
        );
        // A rule without a counter, or with two.
        for names in [&["immediate"][..], &["counter", "counter"][..]] {
            let odd = [
                rule("filter", "WEB", names, 1, 1),
                rule("filter", "INPUT", &["counter"], 1, 1),
                rule("filter", "INPUT", &["counter"], 1, 1),
            ]
            .concat();
            assert_eq!(
                kind(&kernel_chains(), &odd),
                Err(RefreshErrorKind::Counters)
            );
        }
        // Tables the text does not show (incompatible, or not iptables')
        // are not its business.
        let other = [kernel_chains(), chain("firewalld", "input", Some((1, 1)))].concat();
        assert!(refresh(KEPT.as_bytes(), &other, &kernel_rules()).is_ok());
        // An empty text for a family with chains.
        assert_eq!(
            refresh(b"", &kernel_chains(), &kernel_rules()).map_err(|e| e.kind),
            Err(RefreshErrorKind::Mismatch)
        );
        assert_eq!(refresh(b"", b"", b""), Ok(Vec::new()));
    }

    #[test]
    fn replies_and_texts_that_do_not_read_are_errors() {
        let chains = kernel_chains();
        let rules = kernel_rules();
        for cut in [1, 10, 21, chains.len() - 1] {
            assert_eq!(
                refresh(KEPT.as_bytes(), &chains[..cut], &rules).map_err(|e| e.kind),
                Err(RefreshErrorKind::MalformedReply),
                "chains cut at {cut}"
            );
        }
        let no_counters = KEPT.replace("[5:6] -A", "-A");
        assert_eq!(
            refresh(no_counters.as_bytes(), &chains, &rules).map_err(|e| e.kind),
            Err(RefreshErrorKind::KeptText)
        );
        let uncommitted = KEPT.replace("COMMIT\n", "");
        assert_eq!(
            refresh(uncommitted.as_bytes(), &chains, &rules).map_err(|e| e.kind),
            Err(RefreshErrorKind::KeptText)
        );
        // A rule message in the chain dump.
        assert_eq!(
            refresh(KEPT.as_bytes(), &rules, &rules).map_err(|e| e.kind),
            Err(RefreshErrorKind::MalformedReply)
        );
    }

    #[test]
    fn the_chain_dump_gives_the_chains_to_dump_rules_of() {
        let listed = chains(&kernel_chains()).expect("chains");
        let names: Vec<(&str, &str, Option<u64>)> = listed
            .iter()
            .map(|c| {
                (
                    c.id.table.as_str(),
                    c.id.chain.as_str(),
                    c.counters.map(|c| c.packets),
                )
            })
            .collect();
        assert_eq!(
            names,
            vec![
                ("filter", "INPUT", Some(100)),
                ("filter", "FORWARD", Some(0)),
                ("filter", "OUTPUT", Some(300)),
                ("filter", "WEB", None),
            ]
        );
    }
}
