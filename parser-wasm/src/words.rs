//! The words of a rule's text, as iptables-save writes them: split on
//! spaces, a quoted word unquoted.

use std::borrow::Cow;

/// The words of a rule text: split on spaces, a quoted word unquoted, each
/// with the byte offset where it starts in the text.
#[derive(Debug, Clone)]
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
