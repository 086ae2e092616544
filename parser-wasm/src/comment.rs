//! A rule's comment: the argument of its first `--comment` option,
//! unquoted.
//!
//! iptables-save writes a comment bare when it is only letters, digits,
//! `_` and `-`, and otherwise between double quotes with `"`, `\` and `'`
//! escaped by a backslash (`xtables_save_string`). The rule is read as
//! options (see `options`), so that `--comment` inside another option's
//! argument (a log prefix, a string to match) is not taken for the option.

use std::borrow::Cow;

/// The comment of the rule whose text is `rule`, if it has one.
pub fn of(rule: &str) -> Option<Cow<'_, str>> {
    crate::options::of(rule)
        .find(|option| option.name == "--comment")?
        .argument
        .map(|(_, comment)| comment)
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
            // Another option's argument, quoted or bare, is not the option.
            (
                r#"-m string --string "--comment" --algo bm -m comment --comment real"#,
                Some("real"),
            ),
            (
                "-m string --string --comment --algo bm -m comment --comment real",
                Some("real"),
            ),
            ("-j LOG --log-prefix --comment", None),
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
