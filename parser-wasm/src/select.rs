//! Which series to keep: the cardinality controls, applied to a parsed
//! ruleset before it is rendered.
//!
//! A table or chain left out by name loses every series (policies, rules,
//! `iptables_rules`); a rule left out by the rule selection, its text or
//! its comment loses only its own two. Of the rules kept, the first
//! `max_rule_series` in output order (tables, chains, rules as the dump
//! lists them) are exported; the rest are counted as dropped.

use crate::comment;
use crate::ruleset::Ruleset;
// regex-automata without `std`: with it, its capture-name maps would be
// std `HashMap`s, whose random seed makes the component import
// `wasi:random`, which the sandbox does not grant.
use regex_automata::meta::Regex;

/// Which rules of the chains kept become series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rules {
    #[default]
    All,
    /// Only rules with a `--comment`.
    Commented,
    /// None: chain policies and `iptables_rules` only.
    None,
}

/// Keeps what `include` matches (everything without it), less what
/// `exclude` matches.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    include: Option<Regex>,
    exclude: Option<Regex>,
}

/// What a filter is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filtered {
    Tables,
    Chains,
    RuleText,
    Comment,
}

/// Which of a filter's two patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    Include,
    Exclude,
}

/// An option that cannot be used: which pattern of which filter, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}.{}: {message}", filtered.name(), pattern.name())]
pub struct OptionError {
    pub filtered: Filtered,
    pub pattern: Pattern,
    pub message: String,
}

impl Filtered {
    /// As the options name it: `chains` in `chains.include`.
    pub fn name(self) -> &'static str {
        match self {
            Filtered::Tables => "tables",
            Filtered::Chains => "chains",
            Filtered::RuleText => "rule-text",
            Filtered::Comment => "comment",
        }
    }
}

impl Pattern {
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Include => "include",
            Pattern::Exclude => "exclude",
        }
    }
}

/// Whether a filter matches whole names or anywhere in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    WholeName,
    Anywhere,
}

impl Filter {
    /// Compiles the patterns; `filtered` names the filter in errors.
    pub fn new(
        filtered: Filtered,
        include: Option<&str>,
        exclude: Option<&str>,
        anchor: Anchor,
    ) -> Result<Self, OptionError> {
        let compile = |which: Pattern, pattern: Option<&str>| {
            pattern
                .map(|pattern| {
                    let error = |err: &dyn std::fmt::Display| OptionError {
                        filtered,
                        pattern: which,
                        message: format!("not a regular expression: {err}"),
                    };
                    // On its own first: wrapped unchecked, `NOPE)|(.*`
                    // would close the wrapper's group and match anything.
                    regex_automata::util::syntax::parse(pattern).map_err(|err| error(&err))?;
                    let anchored;
                    let pattern = match anchor {
                        Anchor::WholeName => {
                            anchored = format!("^(?:{pattern})$");
                            anchored.as_str()
                        }
                        Anchor::Anywhere => pattern,
                    };
                    Regex::new(pattern).map_err(|err| error(&err))
                })
                .transpose()
        };
        Ok(Self {
            include: compile(Pattern::Include, include)?,
            exclude: compile(Pattern::Exclude, exclude)?,
        })
    }

    pub(crate) fn is_set(&self) -> bool {
        self.include.is_some() || self.exclude.is_some()
    }

    /// Whether `text` is kept; text that is not there (a rule without a
    /// comment) is kept only when nothing is required to match.
    pub(crate) fn keeps(&self, text: Option<&str>) -> bool {
        let matches = |regex: &Option<Regex>| match (regex, text) {
            (Some(regex), Some(text)) => Some(regex.is_match(text)),
            (Some(_), None) => Some(false),
            (None, _) => None,
        };
        matches(&self.include).unwrap_or(true) && !matches(&self.exclude).unwrap_or(false)
    }
}

/// The cardinality controls; the default keeps everything.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub tables: Filter,
    pub chains: Filter,
    pub rules: Rules,
    pub rule_text: Filter,
    pub comment: Filter,
    /// Most rules exported; `None` for no limit.
    pub max_rule_series: Option<u64>,
}

impl Selection {
    /// Removes from `ruleset` what is not kept; returns how many rules the
    /// limit dropped.
    pub fn apply(&self, ruleset: &mut Ruleset<'_>) -> u64 {
        let mut budget = self.max_rule_series.unwrap_or(u64::MAX);
        let mut dropped = 0u64;
        let by_rule = self.rules != Rules::All || self.rule_text.is_set() || self.comment.is_set();
        for table in &mut ruleset.tables {
            if !self.tables.keeps(Some(&table.name)) {
                table.chains.clear();
                continue;
            }
            table
                .chains
                .retain(|chain| self.chains.keeps(Some(&chain.name)));
            for chain in &mut table.chains {
                if by_rule {
                    chain.rules.retain(|rule| self.keeps_rule(&rule.text));
                }
                let kept = usize::try_from(budget).unwrap_or(usize::MAX);
                if chain.rules.len() > kept {
                    dropped += (chain.rules.len() - kept) as u64;
                    chain.rules.truncate(kept);
                }
                budget -= chain.rules.len() as u64;
            }
        }
        dropped
    }

    fn keeps_rule(&self, text: &str) -> bool {
        if self.rules == Rules::None || !self.rule_text.keeps(Some(text)) {
            return false;
        }
        if self.rules == Rules::All && !self.comment.is_set() {
            return true;
        }
        let comment = comment::of(text);
        (self.rules == Rules::All || comment.is_some()) && self.comment.keeps(comment.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    const DUMP: &str = "*filter\n:INPUT DROP [1:1]\n:KUBE-SEP-A - [0:0]\n:KUBE-SVC-B - [0:0]\n\
        [1:10] -A INPUT -m comment --comment web -p tcp --dport 80 -j ACCEPT\n\
        [2:20] -A INPUT -p tcp --dport 22 -j ACCEPT\n\
        [3:30] -A KUBE-SEP-A -m comment --comment \"ns/a\" -j DNAT\n\
        [4:40] -A KUBE-SVC-B -j KUBE-SEP-A\nCOMMIT\n\
        *nat\n:PREROUTING ACCEPT [0:0]\n[5:50] -A PREROUTING -j KUBE-SERVICES\nCOMMIT\n";

    /// (table, chain, rule texts) of what is left.
    fn kept(selection: &Selection) -> (Vec<String>, u64) {
        let mut ruleset = parse(DUMP.as_bytes()).expect("parses");
        let dropped = selection.apply(&mut ruleset);
        let mut left = Vec::new();
        for table in &ruleset.tables {
            for chain in &table.chains {
                left.push(format!(
                    "{}/{}:{}",
                    table.name,
                    chain.name,
                    chain.rules.len()
                ));
            }
        }
        (left, dropped)
    }

    fn filter(include: Option<&str>, exclude: Option<&str>, anchor: Anchor) -> Filter {
        Filter::new(Filtered::Comment, include, exclude, anchor).expect("compiles")
    }

    #[test]
    fn the_default_keeps_everything() {
        let (left, dropped) = kept(&Selection::default());
        assert_eq!(
            left,
            [
                "filter/INPUT:2",
                "filter/KUBE-SEP-A:1",
                "filter/KUBE-SVC-B:1",
                "nat/PREROUTING:1"
            ]
        );
        assert_eq!(dropped, 0);
    }

    #[test]
    fn rule_selection_keeps_commented_or_no_rules_and_every_chain() {
        let commented = Selection {
            rules: Rules::Commented,
            ..Selection::default()
        };
        assert_eq!(
            kept(&commented).0,
            [
                "filter/INPUT:1",
                "filter/KUBE-SEP-A:1",
                "filter/KUBE-SVC-B:0",
                "nat/PREROUTING:0"
            ]
        );
        let none = Selection {
            rules: Rules::None,
            ..Selection::default()
        };
        assert_eq!(
            kept(&none).0,
            [
                "filter/INPUT:0",
                "filter/KUBE-SEP-A:0",
                "filter/KUBE-SVC-B:0",
                "nat/PREROUTING:0"
            ]
        );
    }

    #[test]
    fn tables_and_chains_are_matched_whole_and_lose_every_series() {
        let selection = Selection {
            tables: filter(Some("filter"), None, Anchor::WholeName),
            chains: filter(None, Some("KUBE-.*"), Anchor::WholeName),
            ..Selection::default()
        };
        assert_eq!(kept(&selection).0, ["filter/INPUT:2"]);
        // `KUBE` alone matches no whole name.
        let partial = Selection {
            chains: filter(None, Some("KUBE"), Anchor::WholeName),
            ..Selection::default()
        };
        assert_eq!(kept(&partial).0.len(), 4);
    }

    #[test]
    fn rule_text_and_comment_are_matched_anywhere() {
        let by_text = Selection {
            rule_text: filter(Some("--dport"), Some("22"), Anchor::Anywhere),
            ..Selection::default()
        };
        assert_eq!(
            kept(&by_text).0,
            [
                "filter/INPUT:1",
                "filter/KUBE-SEP-A:0",
                "filter/KUBE-SVC-B:0",
                "nat/PREROUTING:0"
            ]
        );
        let by_comment = Selection {
            comment: filter(Some("^ns/"), None, Anchor::Anywhere),
            ..Selection::default()
        };
        assert_eq!(
            kept(&by_comment).0,
            [
                "filter/INPUT:0",
                "filter/KUBE-SEP-A:1",
                "filter/KUBE-SVC-B:0",
                "nat/PREROUTING:0"
            ]
        );
        // Excluding by comment keeps the rules without one.
        let not_web = Selection {
            comment: filter(None, Some("web"), Anchor::Anywhere),
            ..Selection::default()
        };
        assert_eq!(kept(&not_web).0[0], "filter/INPUT:1");
    }

    #[test]
    fn the_limit_keeps_the_first_rules_in_output_order_and_counts_the_rest() {
        for (limit, want, dropped) in [
            (0, [0, 0, 0, 0], 5),
            (3, [2, 1, 0, 0], 2),
            (5, [2, 1, 1, 1], 0),
            (9, [2, 1, 1, 1], 0),
        ] {
            let selection = Selection {
                max_rule_series: Some(limit),
                ..Selection::default()
            };
            let (left, got_dropped) = kept(&selection);
            let counts: Vec<usize> = left
                .iter()
                .filter_map(|l| l.rsplit(':').next()?.parse().ok())
                .collect();
            assert_eq!(counts, want, "limit {limit}");
            assert_eq!(got_dropped, dropped, "limit {limit}");
        }
        // The limit counts what the other options kept.
        let commented = Selection {
            rules: Rules::Commented,
            max_rule_series: Some(1),
            ..Selection::default()
        };
        assert_eq!(kept(&commented).1, 1);
    }

    #[test]
    fn a_pattern_cannot_escape_the_whole_name_anchors() {
        for pattern in ["NOPE)|(.*", "A)(B", ")"] {
            let err = Filter::new(Filtered::Chains, Some(pattern), None, Anchor::WholeName)
                .expect_err(pattern);
            assert_eq!(
                (err.filtered, err.pattern),
                (Filtered::Chains, Pattern::Include),
                "{pattern}"
            );
        }
        let filter = Filter::new(
            Filtered::Chains,
            Some("NOPE|KUBE-.*"),
            None,
            Anchor::WholeName,
        )
        .expect("compiles");
        assert!(filter.keeps(Some("KUBE-SEP-1")));
        assert!(!filter.keeps(Some("INPUT")));
        assert!(!filter.keeps(Some("xNOPE")));
    }

    #[test]
    fn unicode_classes_and_word_boundaries_compile_as_in_prometheus() {
        for (pattern, matching, other) in [
            (r"\bKUBE\b.*", "KUBE-SVC", "XKUBE"),
            (r"\pL+", "INPUT", "KUBE-1"),
            (r"\p{Greek}+", "αβγ", "abc"),
            (r"\PN+", "abc", "a1"),
            (r"(?i)input", "INPUT", "OUTPUT"),
        ] {
            let filter = Filter::new(Filtered::Chains, Some(pattern), None, Anchor::WholeName)
                .unwrap_or_else(|err| panic!("{pattern}: {err}"));
            assert!(filter.keeps(Some(matching)), "{pattern} ~ {matching}");
            assert!(!filter.keeps(Some(other)), "{pattern} !~ {other}");
        }
    }

    #[test]
    fn a_bad_pattern_names_its_field() {
        let err = Filter::new(Filtered::Chains, None, Some("KUBE-("), Anchor::WholeName)
            .expect_err("does not compile");
        assert_eq!(
            (err.filtered, err.pattern),
            (Filtered::Chains, Pattern::Exclude)
        );
        assert!(
            err.to_string()
                .starts_with("chains.exclude: not a regular expression"),
            "{err}"
        );
    }
}
