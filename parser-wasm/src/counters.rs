//! Counter fields: `[PACKETS:BYTES]` and the inline `-c PACKETS BYTES`, as checked `u64`s.

use crate::error::{ErrorKind, excerpt};
use memchr::memmem;
use std::ops::Range;
use std::sync::LazyLock;

/// One line's packet and byte counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// What a bracketed counter field looks like, for messages.
const BRACKETED: &str = "`[PACKETS:BYTES]`";
/// What inline counters look like, for messages.
const INLINE: &str = "`-c PACKETS BYTES`";

/// An unsigned decimal: ASCII digits only (no sign, no blanks), at most `u64::MAX`.
pub fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Parses a whole `[PACKETS:BYTES]` field.
pub fn parse_bracketed(field: &[u8]) -> Result<Counters, ErrorKind> {
    let bad = || ErrorKind::BadCounter {
        found: excerpt(field),
        expected: BRACKETED,
    };
    let inner = field
        .strip_prefix(b"[")
        .and_then(|f| f.strip_suffix(b"]"))
        .ok_or_else(bad)?;
    let colon = inner.iter().position(|&b| b == b':').ok_or_else(bad)?;
    let packets = parse_decimal(&inner[..colon]).ok_or_else(bad)?;
    let bytes = parse_decimal(&inner[colon + 1..]).ok_or_else(bad)?;
    Ok(Counters { packets, bytes })
}

/// Inline counters found in a rulespec, and the bytes to cut so that the
/// rule text reads as if they had never been there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inline {
    pub counters: Counters,
    /// `-c P B` plus one of the spaces around it.
    pub cut: Range<usize>,
}

/// Finds `-c PACKETS BYTES` among a rulespec's words.
///
/// Words inside double quotes (a `--comment "… -c 1 2"`) are not options, so
/// quotes and backslash escapes inside them are followed, as iptables-restore
/// does. More than one `-c` is an error: which one would count is a guess.
pub fn find_inline(spec: &[u8]) -> Result<Option<Inline>, ErrorKind> {
    // Almost no rule has one: skip the word-by-word walk when no `-c `
    // (nor a final `-c`) is anywhere.
    static C_OPTION: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"-c "));
    if C_OPTION.find(spec).is_none() && !spec.ends_with(b"-c") {
        return Ok(None);
    }
    let mut found: Option<Inline> = None;
    let mut in_quotes = false;
    let mut i = 0;
    while i < spec.len() {
        match spec[i] {
            b'\\' if in_quotes => i += 1,
            b'"' => in_quotes = !in_quotes,
            b'-' if !in_quotes && starts_word(spec, i) && is_c_option(spec, i) => {
                if found.is_some() {
                    return Err(ErrorKind::DuplicateCounters);
                }
                let inline = parse_inline_at(spec, i)?;
                i = inline.cut.end;
                found = Some(inline);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(found)
}

fn starts_word(spec: &[u8], i: usize) -> bool {
    i == 0 || spec[i - 1] == b' '
}

/// `-c` standing alone as a word at `i`.
fn is_c_option(spec: &[u8], i: usize) -> bool {
    spec[i..].starts_with(b"-c") && matches!(spec.get(i + 2), None | Some(b' '))
}

/// Parses `-c P B` starting at `start` and picks the space to cut with it.
fn parse_inline_at(spec: &[u8], start: usize) -> Result<Inline, ErrorKind> {
    let word_end = |from: usize| {
        spec[from..]
            .iter()
            .position(|&b| b == b' ')
            .map_or(spec.len(), |p| from + p)
    };
    let packets_start = start + 3;
    let packets_end = word_end(packets_start.min(spec.len()));
    let bytes_start = packets_end + 1;
    let bytes_end = word_end(bytes_start.min(spec.len()));
    let bad = || ErrorKind::BadCounter {
        found: excerpt(&spec[start..bytes_end.min(spec.len())]),
        expected: INLINE,
    };
    let field = |range: Range<usize>| spec.get(range).and_then(parse_decimal);
    let packets = field(packets_start..packets_end).ok_or_else(bad)?;
    let bytes = field(bytes_start..bytes_end).ok_or_else(bad)?;
    let cut = if bytes_end < spec.len() {
        start..bytes_end + 1
    } else if start > 0 {
        start - 1..bytes_end
    } else {
        start..bytes_end
    };
    Ok(Inline {
        counters: Counters { packets, bytes },
        cut,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_digits_only_and_checked() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"0", Some(0)),
            (b"007", Some(7)),
            (b"18446744073709551615", Some(u64::MAX)),
            (b"18446744073709551616", None),
            (b"99999999999999999999999", None),
            (b"", None),
            (b"+5", None),
            (b"-5", None),
            (b" 5", None),
            (b"5x", None),
            (b"\xd9\xa5", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_decimal(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn bracketed_fields() {
        assert_eq!(
            parse_bracketed(b"[12:3400]"),
            Ok(Counters {
                packets: 12,
                bytes: 3400
            })
        );
        for bad in [
            &b"[12:x]"[..],
            b"[12]",
            b"[:1]",
            b"[1:]",
            b"12:1",
            b"[1:2",
            b"[-1:2]",
            b"[1:2:3]",
            b"[1:18446744073709551616]",
        ] {
            assert!(
                matches!(parse_bracketed(bad), Err(ErrorKind::BadCounter { .. })),
                "{bad:?} should be rejected"
            );
        }
    }

    fn cut(spec: &str) -> Result<Option<(Counters, String)>, ErrorKind> {
        Ok(find_inline(spec.as_bytes())?.map(|inline| {
            let mut rest = spec.as_bytes()[..inline.cut.start].to_vec();
            rest.extend_from_slice(&spec.as_bytes()[inline.cut.end..]);
            (
                inline.counters,
                String::from_utf8(rest).expect("test input is UTF-8"),
            )
        }))
    }

    #[test]
    fn inline_counters_are_cut_with_one_space() {
        let c = |packets, bytes| Counters { packets, bytes };
        let cases = [
            ("-c 5 300 -j ACCEPT", c(5, 300), "-j ACCEPT"),
            ("-j ACCEPT -c 5 300", c(5, 300), "-j ACCEPT"),
            ("-p tcp -c 1 2 -j X", c(1, 2), "-p tcp -j X"),
            ("-c 1 2", c(1, 2), ""),
            ("-j X -c 0 0 ", c(0, 0), "-j X "),
        ];
        for (spec, counters, rest) in cases {
            assert_eq!(
                cut(spec),
                Ok(Some((counters, rest.to_string()))),
                "spec {spec:?}"
            );
        }
    }

    #[test]
    fn quoted_or_glued_c_is_not_an_option() {
        for spec in [
            r#"-m comment --comment "-c 1 2" -j ACCEPT"#,
            r#"--comment "say \" -c 1 2" -j X"#,
            "-j LOG --log-prefix x-c",
            "-cx 1 2",
            "-m conntrack --ctstate NEW",
            "",
        ] {
            assert_eq!(cut(spec), Ok(None), "spec {spec:?}");
        }
    }

    #[test]
    fn bad_or_repeated_inline_counters_are_errors() {
        for spec in ["-c x 2 -j X", "-j X -c 1", "-j X -c", "-c 1 2x", "-c  1 2"] {
            assert!(
                matches!(cut(spec), Err(ErrorKind::BadCounter { .. })),
                "spec {spec:?}"
            );
        }
        assert_eq!(cut("-c 1 2 -j X -c 3 4"), Err(ErrorKind::DuplicateCounters));
    }
}
