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
    // Up to 19 digits cannot overflow: no checked multiply, which on wasm32
    // is a 128-bit multiplication in a library call, for every counter.
    const SAFE_DIGITS: usize = 19;
    let (head, tail) = digits.split_at(digits.len().min(SAFE_DIGITS));
    let head = head.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        Some(acc * 10 + u64::from(digit))
    })?;
    tail.iter().try_fold(head, |acc, &b| {
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
    /// `-c P B` plus one separator next to it.
    pub cut: Range<usize>,
}

/// What separates the words of a rule: runs of spaces and tabs outside
/// double quotes, as iptables-restore splits them.
fn is_separator(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Finds `-c PACKETS BYTES` among a rulespec's words.
///
/// Words are split the way iptables-restore splits them: runs of spaces and
/// tabs outside double quotes, a backslash inside quotes escaping the next
/// byte. Quoted text (a `--comment "… -c 1 2"`) is not an option. More than
/// one `-c` is an error: which one would count is a guess.
pub fn find_inline(spec: &[u8]) -> Result<Option<Inline>, ErrorKind> {
    // Almost no rule has one: skip the word-by-word walk unless a `-c `,
    // a tab (rare, and a separator too) or a final `-c` is there. One pass
    // with a three-byte needle: `-c` alone would stop at every `--comment`.
    static DASH_C_SPACE: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new("-c "));
    if DASH_C_SPACE.find(spec).is_none()
        && memchr::memchr(b'\t', spec).is_none()
        && !spec.ends_with(b"-c")
    {
        return Ok(None);
    }
    let mut found: Option<Inline> = None;
    let mut words = Words { spec, at: 0 };
    while let Some(word) = words.next() {
        if word.quoted || &spec[word.range.clone()] != b"-c" {
            continue;
        }
        if found.is_some() {
            return Err(ErrorKind::DuplicateCounters);
        }
        let packets = words.next();
        let bytes = words.next();
        let end = bytes
            .as_ref()
            .or(packets.as_ref())
            .map_or(word.range.end, |w| w.range.end);
        let bad = || ErrorKind::BadCounter {
            found: excerpt(&spec[word.range.start..end]),
            expected: INLINE,
        };
        let number = |w: &Option<Word>| {
            w.as_ref()
                .filter(|w| !w.quoted)
                .and_then(|w| parse_decimal(&spec[w.range.clone()]))
        };
        let counters = Counters {
            packets: number(&packets).ok_or_else(bad)?,
            bytes: number(&bytes).ok_or_else(bad)?,
        };
        let start = word.range.start;
        let cut = if end < spec.len() {
            start..end + 1
        } else if start > 0 {
            start - 1..end
        } else {
            start..end
        };
        found = Some(Inline { counters, cut });
    }
    Ok(found)
}

/// A word of a rulespec and whether any of it was inside double quotes.
struct Word {
    range: Range<usize>,
    quoted: bool,
}

/// The words of a rulespec, split as iptables-restore splits them.
struct Words<'a> {
    spec: &'a [u8],
    at: usize,
}

impl Iterator for Words<'_> {
    type Item = Word;

    fn next(&mut self) -> Option<Word> {
        let spec = self.spec;
        while self.at < spec.len() && is_separator(spec[self.at]) {
            self.at += 1;
        }
        if self.at == spec.len() {
            return None;
        }
        let start = self.at;
        let (mut in_quotes, mut quoted) = (false, false);
        while self.at < spec.len() {
            match spec[self.at] {
                b'\\' if in_quotes => self.at += 1,
                b'"' => (in_quotes, quoted) = (!in_quotes, true),
                byte if !in_quotes && is_separator(byte) => break,
                _ => {}
            }
            self.at += 1;
        }
        // An escape as the last byte steps past the end.
        self.at = self.at.min(spec.len());
        Some(Word {
            range: start..self.at,
            quoted,
        })
    }
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
            (b"18446744073709551616", None),
            (b"9999999999999999999", Some(9_999_999_999_999_999_999)),
            (b"00000000000000000000000042", Some(42)),
            (b"0000000000000000000x", None),
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
    fn inline_counters_are_cut_with_one_separator() {
        let c = |packets, bytes| Counters { packets, bytes };
        let cases = [
            ("-c 5 300 -j ACCEPT", c(5, 300), "-j ACCEPT"),
            ("-j ACCEPT -c 5 300", c(5, 300), "-j ACCEPT"),
            ("-p tcp -c 1 2 -j X", c(1, 2), "-p tcp -j X"),
            ("-c 1 2", c(1, 2), ""),
            ("-j X -c 0 0 ", c(0, 0), "-j X "),
            // Words are split on runs of spaces and tabs, as iptables-restore does.
            ("-j X\t-c 1 2", c(1, 2), "-j X"),
            ("-c\t1\t2 -j X", c(1, 2), "-j X"),
            ("-c  1 2", c(1, 2), ""),
            ("-c 1 2\t-j X", c(1, 2), "-j X"),
            ("-p tcp  -c 1 2  -j X", c(1, 2), "-p tcp   -j X"),
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
        for spec in [
            "-c x 2 -j X",
            "-j X -c 1",
            "-j X -c",
            "-j X\t-c",
            "-c 1 2x",
            "-c \"1\" 2",
        ] {
            assert!(
                matches!(cut(spec), Err(ErrorKind::BadCounter { .. })),
                "spec {spec:?}"
            );
        }
        assert_eq!(cut("-c 1 2 -j X -c 3 4"), Err(ErrorKind::DuplicateCounters));
        assert_eq!(cut("-c 1 2\t-c 3 4"), Err(ErrorKind::DuplicateCounters));
    }
}
