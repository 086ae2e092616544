//! Bytes → numbered lines.
//!
//! Lines end with `\n`; one `\r` before it is dropped (CRLF), and so is a
//! `\r` ending a last line that lacks its newline. Input ending in `\n` has no
//! empty line after it.

/// Iterator over `(1-based number, line without terminator)`.
pub struct Lines<'a> {
    rest: &'a [u8],
    number: usize,
}

impl<'a> Lines<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Self {
            rest: input,
            number: 0,
        }
    }

    /// Number of the last line yielded so far (0 before the first).
    pub fn last_number(&self) -> usize {
        self.number
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = match memchr::memchr(b'\n', self.rest) {
            Some(end) => (&self.rest[..end], &self.rest[end + 1..]),
            None => (self.rest, &self.rest[self.rest.len()..]),
        };
        self.rest = rest;
        self.number += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Some((self.number, line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<(usize, &[u8])> {
        Lines::new(input).collect()
    }

    #[test]
    fn splits_lf_crlf_and_unterminated_last_line() {
        type Case<'a> = (&'a [u8], &'a [(usize, &'a [u8])]);
        let cases: &[Case] = &[
            (b"", &[]),
            (b"\n", &[(1, b"")]),
            (b"a\nb\n", &[(1, b"a"), (2, b"b")]),
            (b"a\nb", &[(1, b"a"), (2, b"b")]),
            (b"a\r\nb\r\n", &[(1, b"a"), (2, b"b")]),
            (b"a\r\r\n", &[(1, b"a\r")]),
            (b"a\n\n\nb", &[(1, b"a"), (2, b""), (3, b""), (4, b"b")]),
            (b"last\r", &[(1, b"last")]),
            (b"mid\rdle\n", &[(1, b"mid\rdle")]),
        ];
        for (input, want) in cases {
            assert_eq!(lines(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn last_number_counts_yielded_lines() {
        let mut it = Lines::new(b"x\ny\n");
        assert_eq!(it.last_number(), 0);
        it.by_ref().for_each(drop);
        assert_eq!(it.last_number(), 2);
    }
}
