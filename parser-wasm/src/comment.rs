//! A rule's comment: the argument of its first `--comment`, unquoted.
//!
//! iptables-save writes a comment bare when it is only letters, digits,
//! `_` and `-`, and otherwise between double quotes with `"`, `\` and `'`
//! escaped by a backslash (`xtables_save_string`). Quotes are followed
//! through the whole rule text, so that `--comment` inside another quoted
//! argument (a log prefix) is not taken for the option.

use std::borrow::Cow;

/// The comment of the rule whose text is `rule`, if it has one.
pub fn of(rule: &str) -> Option<Cow<'_, str>> {
    let mut words = Words::new(rule);
    while let Some((_, word)) = words.next() {
        if word == "--comment" {
            return words.next().map(|(_, comment)| comment);
        }
    }
    None
}

/// The words of a rule text: split on spaces, a quoted word unquoted, each
/// with the byte offset where it starts in the text.
pub struct Words<'a> {
    text: &'a str,
    rest: &'a str,
}

impl<'a> Words<'a> {
    pub fn new(text: &'a str) -> Self {
        Self { text, rest: text }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = (usize, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        let text = self.rest.trim_start_matches(' ');
        let at = self.text.len() - text.len();
        if text.is_empty() {
            return None;
        }
        let Some(quoted) = text.strip_prefix('"') else {
            let end = text.find(' ').unwrap_or(text.len());
            self.rest = &text[end..];
            return Some((at, Cow::Borrowed(&text[..end])));
        };
        // Where the closing quote is (an unterminated quote runs to the
        // end), and the word unescaped if it had escapes.
        let mut unescaped: Option<String> = None;
        let mut close = quoted.len();
        let mut chars = quoted.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '"' => {
                    close = at;
                    break;
                }
                '\\' => {
                    let word = unescaped.get_or_insert_with(|| quoted[..at].to_owned());
                    word.push(chars.next().map_or('\\', |(_, escaped)| escaped));
                }
                c => {
                    if let Some(word) = &mut unescaped {
                        word.push(c);
                    }
                }
            }
        }
        self.rest = quoted.get(close + 1..).unwrap_or("");
        Some((
            at,
            unescaped.map_or(Cow::Borrowed(&quoted[..close]), Cow::Owned),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_comment_quoted_or_bare() {
        let cases = [
            (
                r#"-s 10.0.0.0/8 -m comment --comment "keep  this" -j ACCEPT"#,
                Some("keep  this"),
            ),
            (
                "-m comment --comment kube-system/dns -j KUBE-SVC-X",
                Some("kube-system/dns"),
            ),
            (
                r#"-m comment --comment "a \"q\" \\ 'x'" -j ACCEPT"#,
                Some(r#"a "q" \ 'x'"#),
            ),
            (
                r#"-m comment --comment "first" -m comment --comment second"#,
                Some("first"),
            ),
            (r#"-j LOG --log-prefix "x --comment y""#, None),
            (
                r#"-m comment --comment "open to the end"#,
                Some("open to the end"),
            ),
            ("-m comment --comment", None),
            ("-p tcp -j ACCEPT", None),
            ("", None),
        ];
        for (rule, want) in cases {
            assert_eq!(of(rule).as_deref(), want, "{rule}");
        }
    }

    #[test]
    fn a_plain_quoted_comment_is_borrowed() {
        assert!(matches!(
            of(r#"--comment "a b" -j X"#),
            Some(Cow::Borrowed("a b"))
        ));
        assert!(matches!(of(r#"--comment "a\"b""#), Some(Cow::Owned(_))));
    }
}
