//! Which series the component keeps (the cardinality controls), as the
//! host passes them on: it never matches them against rule text itself.

use exposition::Format;

/// Which series the component keeps (the cardinality controls); the
/// default keeps everything. The host passes these through and never
/// matches them against rule text itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub tables: Filter,
    pub chains: Filter,
    pub rules: RuleSelection,
    pub rule_text: Filter,
    pub comment: Filter,
    pub comment_label: bool,
    pub max_rule_series: Option<u32>,
}

impl Selection {
    /// Every series.
    pub const ALL: Selection = Selection {
        tables: Filter::NONE,
        chains: Filter::NONE,
        rules: RuleSelection::All,
        rule_text: Filter::NONE,
        comment: Filter::NONE,
        comment_label: false,
        max_rule_series: None,
    };
}

impl Default for Selection {
    fn default() -> Self {
        Self::ALL
    }
}

/// Regular expressions: keep what `include` matches, less what `exclude`
/// matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub include: Option<String>,
    pub exclude: Option<String>,
}

impl Filter {
    /// Keeps everything.
    pub const NONE: Filter = Filter {
        include: None,
        exclude: None,
    };
}

impl Default for Filter {
    fn default() -> Self {
        Self::NONE
    }
}

/// Which rules become series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RuleSelection {
    /// Every rule.
    #[default]
    All,
    /// Only rules with a `--comment`.
    Commented,
    /// None: chain policies and `iptables_rules` only.
    None,
}

/// One pattern of the selection, as the component names it when it
/// cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionPattern {
    TablesInclude,
    TablesExclude,
    ChainsInclude,
    ChainsExclude,
    RuleTextInclude,
    RuleTextExclude,
    CommentInclude,
    CommentExclude,
}

impl SelectionPattern {
    pub const ALL: [SelectionPattern; 8] = [
        SelectionPattern::TablesInclude,
        SelectionPattern::TablesExclude,
        SelectionPattern::ChainsInclude,
        SelectionPattern::ChainsExclude,
        SelectionPattern::RuleTextInclude,
        SelectionPattern::RuleTextExclude,
        SelectionPattern::CommentInclude,
        SelectionPattern::CommentExclude,
    ];

    /// The WIT field it is: `chains.include`.
    pub fn name(self) -> &'static str {
        match self {
            SelectionPattern::TablesInclude => "tables.include",
            SelectionPattern::TablesExclude => "tables.exclude",
            SelectionPattern::ChainsInclude => "chains.include",
            SelectionPattern::ChainsExclude => "chains.exclude",
            SelectionPattern::RuleTextInclude => "rule-text.include",
            SelectionPattern::RuleTextExclude => "rule-text.exclude",
            SelectionPattern::CommentInclude => "comment.include",
            SelectionPattern::CommentExclude => "comment.exclude",
        }
    }
}

/// How a rendering is asked for: its format and the series kept.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub format: Format,
    pub selection: &'a Selection,
}

impl Options<'static> {
    /// Text format, every series.
    pub const TEXT: Options<'static> = Options {
        format: Format::Text,
        selection: &Selection::ALL,
    };
}
