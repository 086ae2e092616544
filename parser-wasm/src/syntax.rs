//! One line → a borrowed [`Line`]: which of the grammar's line kinds it is.
//!
//! Structural lines are strict (one space between fields, nothing trailing);
//! a rule's RULESPEC is opaque apart from inline `-c` counters.

use crate::counters::{self, Counters, Inline};
use crate::error::{ErrorKind, excerpt};
use std::borrow::Cow;

/// A classified line, borrowing from the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// Empty or `#` comment.
    Ignored,
    /// The comment iptables-nft-save prints for a table it cannot show, or
    /// not in full (it holds rules or base chains made with `nft`): the
    /// table's name.
    Incompatible(&'a [u8]),
    /// `*TABLE`
    Table(&'a [u8]),
    /// `:CHAIN POLICY [PACKETS:BYTES]`
    Chain(ChainLine<'a>),
    /// `[PACKETS:BYTES] -A CHAIN RULESPEC` or `-A CHAIN RULESPEC`
    Rule(RuleLine<'a>),
    /// `COMMIT`
    Commit,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ChainLine<'a> {
    pub name: &'a [u8],
    pub policy: &'a [u8],
    pub counters: Option<Counters>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct RuleLine<'a> {
    pub chain: &'a [u8],
    /// RULESPEC as printed, inline counters still in it (see `inline`).
    pub spec: &'a [u8],
    pub counters: Option<Counters>,
    /// Inline `-c P B` in `spec`, already reflected in `counters`.
    pub inline: Option<Inline>,
}

impl<'a> RuleLine<'a> {
    /// RULESPEC without its inline counters, as the `rule` label has it:
    /// borrowed unless counters were cut out or bytes were not UTF-8.
    pub fn text(&self) -> Cow<'a, str> {
        match &self.inline {
            None => lossy(self.spec),
            Some(inline) => {
                let mut kept = self.spec[..inline.cut.start].to_vec();
                kept.extend_from_slice(&self.spec[inline.cut.end..]);
                Cow::Owned(lossy(&kept).into_owned())
            }
        }
    }
}

/// Text with bytes that are not UTF-8 replaced by U+FFFD, borrowed when it
/// is valid (nearly always, and much faster to check than to convert).
pub fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(replaced(bytes)),
    }
}

/// `bytes` with each invalid sequence replaced by U+FFFD, in a string of
/// exactly the size needed: a long run of invalid bytes (three times its
/// size once replaced) must not be built by doubling, which would hold the
/// old and the new buffer at once.
fn replaced(bytes: &[u8]) -> String {
    let size: usize = bytes
        .utf8_chunks()
        .map(|chunk| {
            let replacement = if chunk.invalid().is_empty() { 0 } else { 3 };
            chunk.valid().len() + replacement
        })
        .sum();
    let mut text = String::with_capacity(size);
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            text.push(char::REPLACEMENT_CHARACTER);
        }
    }
    text
}

pub fn classify(line: &[u8]) -> Result<Line<'_>, ErrorKind> {
    match line.first() {
        None => Ok(Line::Ignored),
        Some(b'#') => Ok(comment(line)),
        Some(b'*') => table(line),
        Some(b':') => chain(line),
        Some(b'[') | Some(b'-') => rule(line),
        Some(b'C') if line.starts_with(b"COMMIT") => commit(line),
        Some(_) => Err(ErrorKind::UnknownLine {
            found: excerpt(line),
        }),
    }
}

/// ASCII whitespace as C's `isspace` has it: Rust's `is_ascii_whitespace`
/// leaves out the vertical tab. All of them are at most a space, so most
/// bytes are told apart by one comparison.
fn is_space(byte: u8) -> bool {
    byte <= b' ' && matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A table, chain or policy name: not empty, no whitespace.
fn is_name(name: &[u8]) -> bool {
    !name.is_empty() && !name.iter().copied().any(is_space)
}

/// What iptables-nft-save (1.8.9) prints instead of a table it cannot
/// show, and above a table whose own base chains it leaves out.
const INCOMPATIBLE_PREFIX: &[u8] = b"# Table `";
const INCOMPATIBLE_SUFFIXES: [&[u8]; 2] = [
    b"' is incompatible, use 'nft' tool.",
    b"' contains incompatible base-chains, use 'nft' tool to list them.",
];

fn comment(line: &[u8]) -> Line<'_> {
    let name = line.strip_prefix(INCOMPATIBLE_PREFIX).and_then(|rest| {
        INCOMPATIBLE_SUFFIXES
            .iter()
            .find_map(|suffix| rest.strip_suffix(*suffix))
    });
    match name {
        Some(name) if is_name(name) => Line::Incompatible(name),
        _ => Line::Ignored,
    }
}

fn table(line: &[u8]) -> Result<Line<'_>, ErrorKind> {
    let name = &line[1..];
    if !is_name(name) {
        return Err(ErrorKind::BadTable {
            found: excerpt(line),
        });
    }
    Ok(Line::Table(name))
}

fn chain(line: &[u8]) -> Result<Line<'_>, ErrorKind> {
    let bad = || ErrorKind::BadChain {
        found: excerpt(line),
    };
    let mut fields = line[1..].split(|&b| b == b' ');
    let name = fields.next().filter(|f| is_name(f)).ok_or_else(bad)?;
    let policy = fields.next().filter(|f| is_name(f)).ok_or_else(bad)?;
    let counters = fields.next().map(counters::parse_bracketed).transpose()?;
    if fields.next().is_some() {
        return Err(bad());
    }
    Ok(Line::Chain(ChainLine {
        name,
        policy,
        counters,
    }))
}

fn rule(line: &[u8]) -> Result<Line<'_>, ErrorKind> {
    let (prefix_counters, rest) = if line[0] == b'[' {
        let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
        let counters = counters::parse_bracketed(&line[..end])?;
        (Some(counters), line.get(end + 1..).unwrap_or_default())
    } else {
        (None, line)
    };
    let bad = || ErrorKind::BadRule {
        found: excerpt(line),
    };
    let Some(after_a) = rest.strip_prefix(b"-A ") else {
        return Err(if prefix_counters.is_some() {
            bad()
        } else {
            ErrorKind::UnknownLine {
                found: excerpt(line),
            }
        });
    };
    // One scan finds the end of the chain name and checks it: the first
    // whitespace must be the space before RULESPEC, or there is none.
    let end = after_a
        .iter()
        .position(|&b| is_space(b))
        .unwrap_or(after_a.len());
    let (chain, spec) = match after_a.get(end) {
        None => (after_a, &after_a[end..]),
        Some(b' ') => (&after_a[..end], &after_a[end + 1..]),
        Some(_) => return Err(bad()),
    };
    if chain.is_empty() {
        return Err(bad());
    }
    let inline = counters::find_inline(spec)?;
    let counters = match (prefix_counters, &inline) {
        (Some(_), Some(_)) => return Err(ErrorKind::DuplicateCounters),
        (Some(c), None) => Some(c),
        (None, Some(i)) => Some(i.counters),
        (None, None) => None,
    };
    Ok(Line::Rule(RuleLine {
        chain,
        spec,
        counters,
        inline,
    }))
}

fn commit(line: &[u8]) -> Result<Line<'_>, ErrorKind> {
    if line == b"COMMIT" {
        Ok(Line::Commit)
    } else {
        Err(ErrorKind::BadCommit {
            found: excerpt(line),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_replaces_as_std_does_in_a_string_of_the_exact_size() {
        for bytes in [
            &b"plain"[..],
            b"a\xffb",
            b"\xff\xff\xff",
            b"\xe2\x82",
            b"ok \xf0\x9f\x98\x80 \xc3",
            b"",
        ] {
            let got = lossy(bytes);
            assert_eq!(got, String::from_utf8_lossy(bytes), "{bytes:?}");
            if let Cow::Owned(text) = got {
                assert_eq!(text.capacity(), text.len(), "{bytes:?}");
            }
        }
    }

    fn c(packets: u64, bytes: u64) -> Option<Counters> {
        Some(Counters { packets, bytes })
    }

    fn rule_line<'a>(chain: &'a str, spec: &'a str, counters: Option<Counters>) -> Line<'a> {
        Line::Rule(RuleLine {
            chain: chain.as_bytes(),
            spec: spec.as_bytes(),
            counters,
            inline: None,
        })
    }

    #[test]
    fn well_formed_lines() {
        let cases: Vec<(&str, Line)> = vec![
            ("", Line::Ignored),
            ("# Generated by iptables-save v1.8.9", Line::Ignored),
            ("#", Line::Ignored),
            (
                "# Table `filter' is incompatible, use 'nft' tool.",
                Line::Incompatible(b"filter"),
            ),
            (
                "# Table `mangle' contains incompatible base-chains, use 'nft' tool to list them.",
                Line::Incompatible(b"mangle"),
            ),
            ("# Table `filter' is incompatible", Line::Ignored),
            ("# Table `' is incompatible, use 'nft' tool.", Line::Ignored),
            ("*filter", Line::Table(b"filter")),
            ("COMMIT", Line::Commit),
            (
                ":INPUT DROP [10:600]",
                Line::Chain(ChainLine {
                    name: b"INPUT",
                    policy: b"DROP",
                    counters: c(10, 600),
                }),
            ),
            (
                ":PREROUTING ACCEPT",
                Line::Chain(ChainLine {
                    name: b"PREROUTING",
                    policy: b"ACCEPT",
                    counters: None,
                }),
            ),
            (
                ":GOOD~STUFF - [0:0]",
                Line::Chain(ChainLine {
                    name: b"GOOD~STUFF",
                    policy: b"-",
                    counters: c(0, 0),
                }),
            ),
            (
                "[5:300] -A INPUT -j ACCEPT",
                rule_line("INPUT", "-j ACCEPT", c(5, 300)),
            ),
            ("-A INPUT -p tcp", rule_line("INPUT", "-p tcp", None)),
            ("-A INPUT", rule_line("INPUT", "", None)),
            ("[1:2] -A INPUT ", rule_line("INPUT", "", c(1, 2))),
            ("-A INPUT -j X ", rule_line("INPUT", "-j X ", None)),
            ("-A INPUT  -j X", rule_line("INPUT", " -j X", None)),
        ];
        for (input, want) in cases {
            assert_eq!(classify(input.as_bytes()), Ok(want), "line {input:?}");
        }
    }

    #[test]
    fn inline_counters_fill_in_counters() {
        let Ok(Line::Rule(rule)) = classify(b"-A INPUT -c 3 4 -j X") else {
            panic!("not a rule");
        };
        assert_eq!(rule.counters, c(3, 4));
        assert_eq!(rule.inline.map(|i| i.cut), Some(0..7));
    }

    #[test]
    fn malformed_lines_say_what_was_expected() {
        type Check = fn(&ErrorKind) -> bool;
        let cases: &[(&str, Check)] = &[
            ("*", |k| matches!(k, ErrorKind::BadTable { .. })),
            ("*filter ", |k| matches!(k, ErrorKind::BadTable { .. })),
            ("*fil ter", |k| matches!(k, ErrorKind::BadTable { .. })),
            ("*fil\x0bter", |k| matches!(k, ErrorKind::BadTable { .. })),
            ("*filter\x0c", |k| matches!(k, ErrorKind::BadTable { .. })),
            ("*fil\tter", |k| matches!(k, ErrorKind::BadTable { .. })),
            (":IN\tPUT ACCEPT [0:0]", |k| {
                matches!(k, ErrorKind::BadChain { .. })
            }),
            (":INPUT ACC\x0bEPT [0:0]", |k| {
                matches!(k, ErrorKind::BadChain { .. })
            }),
            ("-A IN\tPUT -j X", |k| {
                matches!(k, ErrorKind::BadRule { .. })
            }),
            ("-A INPUT\t-j X", |k| matches!(k, ErrorKind::BadRule { .. })),
            (":INPUT", |k| matches!(k, ErrorKind::BadChain { .. })),
            (":INPUT  ACCEPT", |k| {
                matches!(k, ErrorKind::BadChain { .. })
            }),
            (":INPUT ACCEPT ", |k| {
                matches!(k, ErrorKind::BadCounter { .. })
            }),
            (":INPUT ACCEPT [1:2] ", |k| {
                matches!(k, ErrorKind::BadChain { .. })
            }),
            (":INPUT ACCEPT [1:x]", |k| {
                matches!(k, ErrorKind::BadCounter { .. })
            }),
            (": ACCEPT [1:2]", |k| {
                matches!(k, ErrorKind::BadChain { .. })
            }),
            ("[12:x] -A INPUT", |k| {
                matches!(k, ErrorKind::BadCounter { .. })
            }),
            ("[-1:0] -A INPUT", |k| {
                matches!(k, ErrorKind::BadCounter { .. })
            }),
            ("[1:2]", |k| matches!(k, ErrorKind::BadRule { .. })),
            ("[1:2]  -A INPUT", |k| {
                matches!(k, ErrorKind::BadRule { .. })
            }),
            ("[1:2] -I INPUT", |k| matches!(k, ErrorKind::BadRule { .. })),
            ("-A", |k| matches!(k, ErrorKind::UnknownLine { .. })),
            ("-A ", |k| matches!(k, ErrorKind::BadRule { .. })),
            ("-A  INPUT", |k| matches!(k, ErrorKind::BadRule { .. })),
            ("-N FOO", |k| matches!(k, ErrorKind::UnknownLine { .. })),
            ("[1:2] -A X -c 1 2", |k| *k == ErrorKind::DuplicateCounters),
            ("-A X -c 1", |k| matches!(k, ErrorKind::BadCounter { .. })),
            ("COMMIT ", |k| matches!(k, ErrorKind::BadCommit { .. })),
            ("COMMITTED", |k| matches!(k, ErrorKind::BadCommit { .. })),
            (" COMMIT", |k| matches!(k, ErrorKind::UnknownLine { .. })),
            ("commit", |k| matches!(k, ErrorKind::UnknownLine { .. })),
            ("\t", |k| matches!(k, ErrorKind::UnknownLine { .. })),
        ];
        for (input, check) in cases {
            match classify(input.as_bytes()) {
                Err(kind) => assert!(check(&kind), "line {input:?} gave {kind:?}"),
                Ok(line) => panic!("line {input:?} accepted as {line:?}"),
            }
        }
    }
}
