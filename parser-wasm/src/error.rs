//! Parse errors: the 1-based line where parsing stopped and what was expected there.
//!
//! Errors are cold: they may allocate, since a family that fails to parse is
//! reported once and produces no series.

use thiserror::Error;

/// Why a family's save output was rejected, and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {kind}")]
pub struct ParseError {
    /// 1-based line number; for a table left open, the line after the last one.
    pub line: usize,
    pub kind: ErrorKind,
}

impl ParseError {
    pub(crate) fn new(line: usize, kind: ErrorKind) -> Self {
        Self { line, kind }
    }
}

/// The problems the grammar in the metrics contract can find.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A chain, rule or `COMMIT` line with no `*TABLE` open.
    #[error("{what} outside a table: expected `*TABLE` before it")]
    OutsideTable { what: &'static str },
    /// `*TABLE` while another table is still open.
    #[error("`*{new}` while table `{open}` is still open: expected `COMMIT` first")]
    TableStillOpen { open: String, new: String },
    /// End of input inside a table (truncated output).
    #[error("end of input while table `{table}` is open: expected `COMMIT`")]
    UnterminatedTable { table: String },
    /// `*` followed by nothing, or by something with whitespace in it.
    #[error(
        "expected `*TABLE` with a table name (no whitespace) and nothing after it, found `{found}`"
    )]
    BadTable { found: String },
    /// A `:` line that is not `:CHAIN POLICY` with an optional counter field.
    #[error(
        "expected `:CHAIN POLICY [PACKETS:BYTES]` with single spaces and no other whitespace, found `{found}`"
    )]
    BadChain { found: String },
    /// A rule line whose `-A CHAIN` part is missing or malformed.
    #[error(
        "expected `-A CHAIN` after the counters, with single spaces and no whitespace in the chain name, found `{found}`"
    )]
    BadRule { found: String },
    /// A counter field or inline `-c` whose numbers are not unsigned 64-bit decimals.
    #[error("bad counter `{found}`: expected {expected} with unsigned 64-bit decimal numbers")]
    BadCounter {
        found: String,
        expected: &'static str,
    },
    /// A rule that carries counters twice (`[P:B]` prefix and inline `-c`, or two `-c`).
    #[error(
        "counters given twice in one rule: expected either `[PACKETS:BYTES]` or one `-c PACKETS BYTES`"
    )]
    DuplicateCounters,
    /// `COMMIT` with something after it.
    #[error("expected `COMMIT` with nothing after it, found `{found}`")]
    BadCommit { found: String },
    /// The same family passed twice in one call (a caller's mistake, not the input's).
    #[error("family given twice: its series would repeat")]
    DuplicateFamily,
    /// Options the caller passed that cannot be used (not the input's
    /// fault; reported on line 0).
    #[error("option {0}")]
    BadOption(crate::select::OptionError),
    /// A line that starts with none of the known prefixes.
    #[error(
        "unrecognised line `{found}`: expected `*TABLE`, `:CHAIN POLICY [PACKETS:BYTES]`, `[PACKETS:BYTES] -A CHAIN RULE`, `-A CHAIN RULE`, `COMMIT`, a `#` comment or an empty line"
    )]
    UnknownLine { found: String },
}

/// Longest excerpt of an offending line quoted in a message.
const EXCERPT_CHARS: usize = 60;

/// A printable excerpt of offending input for an error message.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text
        .chars()
        .take(EXCERPT_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_line_and_problem() {
        let err = ParseError::new(
            7,
            ErrorKind::BadCounter {
                found: "[12:x]".into(),
                expected: "`[PACKETS:BYTES]`",
            },
        );
        assert_eq!(
            err.to_string(),
            "line 7: bad counter `[12:x]`: expected `[PACKETS:BYTES]` with unsigned 64-bit decimal numbers"
        );
    }

    #[test]
    fn excerpt_is_bounded_and_escapes_controls() {
        assert_eq!(excerpt(b"a\tb"), "a\\tb");
        let long = vec![b'x'; 100];
        let got = excerpt(&long);
        assert_eq!(got.chars().count(), EXCERPT_CHARS + 1);
        assert!(got.ends_with('…'));
        assert_eq!(excerpt(b"\xffok"), "\u{fffd}ok");
    }
}
