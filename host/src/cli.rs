//! Flags, their help and defaults, and checks on their values; no I/O.
//!
//! Durations and sizes are parsed by `humantime` and `bytesize`, then held
//! to a range: a value that parses but makes no sense (or would overflow a
//! clock later) is refused at start-up with the flag and the bound.

use crate::sandbox::{Filter, RuleSelection, Selection, SelectionPattern};
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use exposition::{Family, Format};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "iptables-exporter",
    disable_version_flag = true,
    about = "Prometheus exporter for iptables and ip6tables packet and byte counters.",
    long_about = "Prometheus exporter for iptables and ip6tables packet and byte counters.\n\nThe save output is parsed in a sandboxed WebAssembly component with no capabilities, a memory cap and a CPU deadline."
)]
pub struct Cli {
    /// Print the version, commit, build date and compiler, and exit.
    #[arg(long, short = 'V', action = ArgAction::SetTrue)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render one save dump through the component to stdout and exit.
    ///
    /// Malformed input: exit status 1, `line N: <what was expected>` on
    /// stderr and nothing on stdout. Other failures: exit status 2.
    Render(RenderArgs),
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Family label of the dump: ipv4 or ipv6.
    #[arg(long, value_name = "FAMILY", default_value = "ipv4", value_parser = parse_family)]
    pub family: Family,
    /// Exposition format to write (the server picks it per request).
    #[arg(id = "exposition_format", long = "format", value_name = "FORMAT", default_value = "text", value_parser = parse_format)]
    pub format: Format,
    /// The dump to read; `-` or nothing reads stdin.
    #[arg(value_name = "FILE|-")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on for HTTP; `:PORT` listens on every address.
    #[arg(
        long = "web.listen-address",
        value_name = "ADDR",
        default_value = ":9455"
    )]
    pub listen_address: String,
    /// Path under which to expose metrics: a URL path (no `?` or `#`),
    /// none of the exporter's other pages.
    #[arg(long = "web.telemetry-path", value_name = "PATH", default_value = "/metrics", value_parser = parse_telemetry_path)]
    pub telemetry_path: String,
    /// Time a client has to send its request headers (slow clients are cut off).
    #[arg(long = "web.header-timeout", value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// Time a response may wait while the client takes nothing of it; then
    /// the connection is dropped (a slow but steady reader is served to the
    /// end).
    #[arg(long = "web.write-timeout", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub write_timeout: Duration,
    /// Web configuration file (exporter-toolkit format) for TLS, response
    /// headers and basic auth; re-read when it or a file it names changes.
    #[arg(long = "web.config.file", value_name = "PATH")]
    pub web_config_file: Option<PathBuf>,
    /// Serve text format 0.0.4 even to scrapers that prefer OpenMetrics.
    #[arg(long = "web.disable-openmetrics")]
    pub disable_openmetrics: bool,
    /// Let the analyzer page (/analyzer/) load the live rulesets: serves
    /// the save commands' whole output at /analyzer/rulesets/FAMILY.
    #[arg(long = "web.enable-ruleset-endpoint")]
    pub enable_ruleset_endpoint: bool,
    /// Maximum number of metrics requests served at once; more get 503 (0 for no limit).
    #[arg(long = "web.max-requests", value_name = "N", default_value_t = 40, value_parser = clap::value_parser!(u32).range(..=MAX_REQUESTS))]
    pub max_requests: u32,
    /// iptables-save command; a name is looked up in PATH.
    #[arg(
        long = "iptables.save-path",
        value_name = "PATH",
        default_value = "iptables-save"
    )]
    pub iptables_save_path: PathBuf,
    /// ip6tables-save command; a name is looked up in PATH.
    #[arg(
        long = "ip6tables.save-path",
        value_name = "PATH",
        default_value = "ip6tables-save"
    )]
    pub ip6tables_save_path: PathBuf,
    /// Families to collect, in this order [default: ipv4,ipv6]. A family
    /// named here always reports iptables_scrape_success (0 while its
    /// command is missing); by default, a family whose command is not
    /// installed is left out with a warning.
    #[arg(long = "iptables.families", value_name = "LIST", value_parser = parse_families)]
    pub families: Option<Families>,
    /// Tables to save, e.g. `filter,mangle` (each a `-t TABLE` run of its
    /// own, all at once) [default: every table, in one run].
    #[arg(long = "iptables.tables", value_name = "LIST", value_parser = parse_tables)]
    pub tables: Option<Tables>,
    /// Time a save command may take before it is killed. Scrapes do not wait
    /// this long: past their deadline they get the last collection.
    #[arg(long = "iptables.timeout", value_name = "DURATION", default_value = "1m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// A scrape this soon after the last collection finished is answered
    /// from it, timestamped, and starts none (0s: every scrape collects).
    #[arg(long = "iptables.min-interval", value_name = "DURATION", default_value = "5s", value_parser = parse_duration_or_zero)]
    pub min_interval: Duration,
    /// Counters read longer ago than this are never served: the family then
    /// reports iptables_scrape_success 0.
    #[arg(long = "iptables.max-age", value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
    pub max_age: Duration,
    /// Taken off the scrape timeout a scraper sends (Prometheus'
    /// X-Prometheus-Scrape-Timeout-Seconds), with the time the last answer
    /// took to render, to leave time to render and send the answer: a
    /// collection not done by then is answered from the last one.
    #[arg(long = "web.timeout-offset", value_name = "DURATION", default_value = "1s", value_parser = parse_duration_or_zero)]
    pub timeout_offset: Duration,
}

/// Bounds on the input, for the server and the `render` subcommand.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Largest save output accepted, in bytes (e.g. 64MiB); more fails the family.
    #[arg(long = "iptables.max-output", value_name = "BYTES", default_value = "64MiB", value_parser = parse_bytes, global = true)]
    pub max_save_bytes: usize,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Parser component to load instead of the embedded one.
    #[arg(long = "component", value_name = "PATH", global = true)]
    pub component: Option<PathBuf>,
    /// Largest linear memory the parser component may use (e.g. 512MiB; at most 4GiB).
    #[arg(long = "sandbox.max-memory", value_name = "BYTES", default_value = "512MiB", value_parser = parse_bytes, global = true)]
    pub max_memory_bytes: usize,
    /// Most exposition text the parser component may produce for one family (e.g. 512MiB).
    #[arg(long = "sandbox.max-output", value_name = "BYTES", default_value = "512MiB", value_parser = parse_bytes, global = true)]
    pub max_exposition_bytes: usize,
    /// Wall-clock time the parser component may run for one collection before it is interrupted.
    #[arg(long = "sandbox.timeout", value_name = "DURATION", default_value = "10s", value_parser = parse_duration, global = true)]
    pub deadline: Duration,
}

/// Which series to export (cardinality controls), for the server and the
/// `render` subcommand. Applied inside the parser component: regular
/// expressions use Rust's `regex` syntax; table and chain patterns match
/// whole names, rule and comment patterns anywhere in the text.
#[derive(Debug, Args)]
pub struct SelectionArgs {
    /// Which rules become series: all, commented (only rules with a
    /// --comment) or none (chain policies and iptables_rules only).
    #[arg(long = "iptables.rules", value_name = "WHICH", default_value = "all", value_parser = parse_rules, global = true)]
    pub rules: RuleSelection,
    /// Only tables whose name matches (every series of the others is left out).
    #[arg(long = "iptables.table-include", value_name = "REGEX", global = true)]
    pub table_include: Option<String>,
    /// Leave out tables whose name matches.
    #[arg(long = "iptables.table-exclude", value_name = "REGEX", global = true)]
    pub table_exclude: Option<String>,
    /// Only chains whose name matches (every series of the others is left out).
    #[arg(long = "iptables.chain-include", value_name = "REGEX", global = true)]
    pub chain_include: Option<String>,
    /// Leave out chains whose name matches, e.g. `KUBE-SEP-.*`.
    #[arg(long = "iptables.chain-exclude", value_name = "REGEX", global = true)]
    pub chain_exclude: Option<String>,
    /// Only rules whose text matches somewhere.
    #[arg(long = "iptables.rule-include", value_name = "REGEX", global = true)]
    pub rule_include: Option<String>,
    /// Leave out rules whose text matches somewhere.
    #[arg(long = "iptables.rule-exclude", value_name = "REGEX", global = true)]
    pub rule_exclude: Option<String>,
    /// Only rules with a comment that matches somewhere.
    #[arg(long = "iptables.comment-include", value_name = "REGEX", global = true)]
    pub comment_include: Option<String>,
    /// Leave out rules with a comment that matches somewhere.
    #[arg(long = "iptables.comment-exclude", value_name = "REGEX", global = true)]
    pub comment_exclude: Option<String>,
    /// Give rule series the rule's comment as a `comment` label.
    #[arg(long = "iptables.comment-label", global = true)]
    pub comment_label: bool,
    /// Most rules exported per family and scrape (each is one packets and
    /// one bytes series), the first in output order; the rest are counted
    /// in iptables_rule_series_dropped [default: no limit].
    #[arg(long = "iptables.max-rule-series", value_name = "N", global = true)]
    pub max_rule_series: Option<u32>,
}

impl SelectionArgs {
    pub fn selection(&self) -> Selection {
        let filter = |include: &Option<String>, exclude: &Option<String>| Filter {
            include: include.clone(),
            exclude: exclude.clone(),
        };
        Selection {
            tables: filter(&self.table_include, &self.table_exclude),
            chains: filter(&self.chain_include, &self.chain_exclude),
            rules: self.rules,
            rule_text: filter(&self.rule_include, &self.rule_exclude),
            comment: filter(&self.comment_include, &self.comment_exclude),
            comment_label: self.comment_label,
            max_rule_series: self.max_rule_series,
        }
    }
}

/// The flag that sets a selection pattern.
pub fn flag_of(pattern: SelectionPattern) -> &'static str {
    match pattern {
        SelectionPattern::TablesInclude => "--iptables.table-include",
        SelectionPattern::TablesExclude => "--iptables.table-exclude",
        SelectionPattern::ChainsInclude => "--iptables.chain-include",
        SelectionPattern::ChainsExclude => "--iptables.chain-exclude",
        SelectionPattern::RuleTextInclude => "--iptables.rule-include",
        SelectionPattern::RuleTextExclude => "--iptables.rule-exclude",
        SelectionPattern::CommentInclude => "--iptables.comment-include",
        SelectionPattern::CommentExclude => "--iptables.comment-exclude",
    }
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only log messages with the given severity or above.
    #[arg(long = "log.level", value_name = "LEVEL", default_value = "info", value_parser = ["debug", "info", "warn", "error"], global = true)]
    pub level: String,
    /// Output format of log messages.
    #[arg(long = "log.format", value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines with key=value fields.
    Text,
    /// One JSON object per line.
    Json,
}

/// The families collected when `--iptables.families` is not given.
pub const DEFAULT_FAMILIES: [Family; 2] = Family::ALL;

/// Families in the order configured, each at most once, at least one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Families(pub Vec<Family>);

/// Table names in the order configured, each at most once, at least one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables(pub Vec<String>);

/// The tables iptables knows; any other name would fail every collection.
const TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];

/// Most metrics requests `--web.max-requests` may allow at once.
const MAX_REQUESTS: i64 = 1_000_000;
/// Longest duration any flag takes: beyond it a value is a typo, and
/// adding it to a clock could overflow.
const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);
/// Largest size any flag takes: the guest's memory is 32-bit.
const MAX_BYTES: u64 = 4 << 30;

/// The flags' own words for the shared types: nothing below this module
/// knows clap.
fn parse_family(label: &str) -> Result<Family, String> {
    Family::from_label(label).ok_or_else(|| format!("`{label}`: expected ipv4 or ipv6"))
}

fn parse_format(name: &str) -> Result<Format, String> {
    match name {
        "text" => Ok(Format::Text),
        "openmetrics" => Ok(Format::OpenMetrics),
        other => Err(format!("`{other}`: expected text or openmetrics")),
    }
}

fn parse_rules(name: &str) -> Result<RuleSelection, String> {
    match name {
        "all" => Ok(RuleSelection::All),
        "commented" => Ok(RuleSelection::Commented),
        "none" => Ok(RuleSelection::None),
        other => Err(format!("`{other}`: expected all, commented or none")),
    }
}

fn parse_families(list: &str) -> Result<Families, String> {
    let mut families = Vec::new();
    for label in list.split(',').map(str::trim).filter(|l| !l.is_empty()) {
        let family = Family::from_label(label)
            .ok_or_else(|| format!("unknown family `{label}`: expected ipv4 or ipv6"))?;
        if families.contains(&family) {
            return Err(format!("family `{label}` given twice"));
        }
        families.push(family);
    }
    if families.is_empty() {
        return Err("no family given: expected ipv4, ipv6 or both".into());
    }
    Ok(Families(families))
}

fn parse_tables(list: &str) -> Result<Tables, String> {
    let mut tables: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !TABLES.contains(&name) {
            return Err(format!(
                "unknown table `{name}`: expected {}",
                TABLES.join(", ")
            ));
        }
        if tables.iter().any(|t| t == name) {
            return Err(format!("table `{name}` given twice"));
        }
        tables.push(name.to_owned());
    }
    if tables.is_empty() {
        return Err(format!(
            "no table given: expected some of {}",
            TABLES.join(", ")
        ));
    }
    Ok(Tables(tables))
}

/// A path a request can name exactly: it starts with `/`, holds only what
/// RFC 3986 allows in a path (so no `?` query, `#` fragment, space or
/// non-ASCII byte, which would make it unreachable: requests are routed by
/// their path alone), and is none of the exporter's other pages.
fn parse_telemetry_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err("must start with `/`".into());
    }
    if let Some(bad) = path.chars().find(|&c| !is_path_char(c)) {
        return Err(format!(
            "`{}` cannot be in a URL path (a `?` starts a query, a `#` a fragment): requests to it would never reach the metrics",
            bad.escape_default()
        ));
    }
    if path == "/" {
        return Err("`/` is the landing page".into());
    }
    for (taken, what) in [
        ("/-/healthy", "the health check"),
        ("/-/ready", "the readiness check"),
    ] {
        if path == taken {
            return Err(format!("`{taken}` is {what}"));
        }
    }
    if path == "/analyzer" || path.starts_with("/analyzer/") {
        return Err("paths under `/analyzer` belong to the ruleset analyzer".into());
    }
    Ok(path.to_owned())
}

/// RFC 3986 `pchar` or `/`: unreserved, sub-delims, `:`, `@`, and `%` of
/// a percent-encoded byte.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%".contains(c)
}

/// `500ms`, `10s`, `2m`, `1m30s`: more than zero, at most a day.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|err| format!("`{text}` is not a duration like 500ms, 10s or 2m: {err}"))?;
    if duration.is_zero() {
        return Err("must be more than zero".into());
    }
    if duration > MAX_DURATION {
        return Err(format!(
            "`{text}` is out of range: at most {}",
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(duration)
}

/// Like [`parse_duration`], and `0` (or `0s`) too.
fn parse_duration_or_zero(text: &str) -> Result<Duration, String> {
    if text.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Ok(duration),
        _ => parse_duration(text),
    }
}

/// `4096`, `64KiB`, `64MiB`, `1GiB` (and decimal `MB`): more than zero, at most 4GiB.
fn parse_bytes(text: &str) -> Result<usize, String> {
    let size: bytesize::ByteSize = text
        .parse()
        .map_err(|err| format!("`{text}` is not a size like 4096, 64KiB or 64MiB: {err}"))?;
    let bytes = size.as_u64();
    if bytes == 0 {
        return Err("must be more than zero".into());
    }
    if bytes > MAX_BYTES {
        return Err(format!("`{text}` is out of range: at most 4GiB"));
    }
    usize::try_from(bytes).map_err(|_| format!("`{text}` is too large for this machine"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_ones() {
        let cli = Cli::try_parse_from(["iptables-exporter"]).expect("defaults parse");
        assert!(cli.command.is_none());
        let s = &cli.serve;
        assert_eq!(s.listen_address, ":9455");
        assert_eq!(s.telemetry_path, "/metrics");
        assert_eq!(s.max_requests, 40);
        assert_eq!(s.header_timeout, Duration::from_secs(10));
        assert_eq!(s.write_timeout, Duration::from_secs(30));
        assert_eq!(s.iptables_save_path, PathBuf::from("iptables-save"));
        assert_eq!(s.ip6tables_save_path, PathBuf::from("ip6tables-save"));
        assert_eq!(s.families, None);
        assert_eq!(DEFAULT_FAMILIES, [Family::Ipv4, Family::Ipv6]);
        assert_eq!(s.timeout, Duration::from_secs(60));
        assert_eq!(s.tables, None);
        assert_eq!(s.min_interval, Duration::from_secs(5));
        assert_eq!(s.max_age, Duration::from_secs(120));
        assert_eq!(s.timeout_offset, Duration::from_secs(1));
        assert_eq!(cli.input.max_save_bytes, 64 << 20);
        assert_eq!(cli.sandbox.max_memory_bytes, 512 << 20);
        assert_eq!(cli.sandbox.max_exposition_bytes, 512 << 20);
        assert_eq!(cli.sandbox.deadline, Duration::from_secs(10));
        assert_eq!(cli.log.level, "info");
        assert_eq!(cli.selection.selection(), Selection::default());
        assert!(!cli.version);
    }

    #[test]
    fn selection_flags_become_the_selection() {
        let cli = Cli::try_parse_from([
            "iptables-exporter",
            "--iptables.rules=commented",
            "--iptables.chain-exclude=KUBE-SEP-.*",
            "--iptables.comment-include=^kube-system/",
            "--iptables.comment-label",
            "--iptables.max-rule-series=10000",
        ])
        .expect("parses");
        let selection = cli.selection.selection();
        assert_eq!(selection.rules, RuleSelection::Commented);
        assert_eq!(selection.chains.exclude.as_deref(), Some("KUBE-SEP-.*"));
        assert_eq!(selection.chains.include, None);
        assert_eq!(selection.comment.include.as_deref(), Some("^kube-system/"));
        assert!(selection.comment_label);
        assert_eq!(selection.max_rule_series, Some(10_000));
        for bad in ["--iptables.rules=some", "--iptables.max-rule-series=-1"] {
            assert!(
                Cli::try_parse_from(["iptables-exporter", bad]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_selection_pattern_has_a_flag_this_parser_knows() {
        for pattern in SelectionPattern::ALL {
            let arg = format!("{}=x", flag_of(pattern));
            let cli = Cli::try_parse_from(["iptables-exporter", arg.as_str()])
                .unwrap_or_else(|err| panic!("{pattern:?}: {err}"));
            let selection = cli.selection.selection();
            let set = match pattern {
                SelectionPattern::TablesInclude => &selection.tables.include,
                SelectionPattern::TablesExclude => &selection.tables.exclude,
                SelectionPattern::ChainsInclude => &selection.chains.include,
                SelectionPattern::ChainsExclude => &selection.chains.exclude,
                SelectionPattern::RuleTextInclude => &selection.rule_text.include,
                SelectionPattern::RuleTextExclude => &selection.rule_text.exclude,
                SelectionPattern::CommentInclude => &selection.comment.include,
                SelectionPattern::CommentExclude => &selection.comment.exclude,
            };
            assert_eq!(set.as_deref(), Some("x"), "{pattern:?}");
        }
    }

    #[test]
    fn value_words_map_to_the_shared_types() {
        assert_eq!(parse_family("ipv6"), Ok(Family::Ipv6));
        assert!(parse_family("ipv5").is_err());
        assert_eq!(parse_format("openmetrics"), Ok(Format::OpenMetrics));
        assert_eq!(parse_format("text"), Ok(Format::Text));
        assert!(parse_format("json").is_err());
        for (word, rules) in [
            ("all", RuleSelection::All),
            ("commented", RuleSelection::Commented),
            ("none", RuleSelection::None),
        ] {
            assert_eq!(parse_rules(word), Ok(rules));
        }
        assert!(parse_rules("some").is_err());
    }

    #[test]
    fn render_subcommand_takes_the_family_and_the_input_cap() {
        let cli = Cli::try_parse_from([
            "iptables-exporter",
            "render",
            "--family",
            "ipv6",
            "--iptables.max-output=1MiB",
            "-",
        ])
        .expect("parses");
        let Some(Command::Render(args)) = cli.command else {
            panic!("not render")
        };
        assert_eq!(args.family, Family::Ipv6);
        assert_eq!(args.file, Some(PathBuf::from("-")));
        assert_eq!(cli.input.max_save_bytes, 1 << 20);
    }

    #[test]
    fn families_keep_order_and_reject_unknown_repeated_or_none() {
        assert_eq!(
            parse_families("ipv6,ipv4"),
            Ok(Families(vec![Family::Ipv6, Family::Ipv4]))
        );
        assert_eq!(parse_families("ipv4"), Ok(Families(vec![Family::Ipv4])));
        for bad in ["ipv4,ipv5", "ipv4,ipv4", "", " , "] {
            assert!(parse_families(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tables_keep_order_and_reject_unknown_repeated_or_none() {
        assert_eq!(
            parse_tables("nat, filter"),
            Ok(Tables(vec!["nat".into(), "filter".into()]))
        );
        for bad in ["filter,filtr", "nat,nat", "", " , ", "-t"] {
            assert!(parse_tables(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn intervals_may_be_zero_where_zero_means_something() {
        assert_eq!(parse_duration_or_zero("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration_or_zero("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration_or_zero("5s"), Ok(Duration::from_secs(5)));
        for bad in ["", "-1s", "x", "25h"] {
            assert!(parse_duration_or_zero(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn durations_and_sizes_are_checked_and_bounded() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("24h"), Ok(MAX_DURATION));
        for bad in ["", "0s", "-1s", "abc", "10", "25h", "10000000000000000000s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("4GiB"), Ok(4 << 30));
        for bad in ["", "0", "x", "5GiB", "99999999999999999999GiB"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
        assert!(
            parse_duration("10000000000000000000s")
                .is_err_and(|e| e.contains("out of range: at most 1day")),
            "{:?}",
            parse_duration("10000000000000000000s")
        );
    }

    #[test]
    fn max_requests_is_bounded() {
        let parse = |n: &str| {
            Cli::try_parse_from(["iptables-exporter", &format!("--web.max-requests={n}")])
                .map(|cli| cli.serve.max_requests)
        };
        assert_eq!(parse("0").ok(), Some(0));
        assert_eq!(parse("1000000").ok(), Some(1_000_000));
        assert!(parse("1000001").is_err());
        assert!(parse("-1").is_err());
    }

    #[test]
    fn telemetry_path_must_be_absolute_and_not_the_landing_page() {
        for good in [
            "/metrics",
            "/probe/iptables",
            "/m-1_2.~x",
            "/a%20b",
            "/x;y=1",
        ] {
            assert_eq!(parse_telemetry_path(good).as_deref(), Ok(good));
        }
        for (bad, why) in [
            ("metrics", "must start with `/`"),
            ("/", "landing page"),
            // Each of these would be accepted, linked from `/` and never
            // reached: a request's query and fragment are not its path.
            ("/metrics?x", "`?` cannot be in a URL path"),
            ("/metrics#top", "`#` cannot be in a URL path"),
            ("/me trics", "` ` cannot be in a URL path"),
            ("/métrics", "cannot be in a URL path"),
            ("/m\"x", "cannot be in a URL path"),
            ("/-/healthy", "health check"),
            ("/-/ready", "readiness check"),
            ("/analyzer", "ruleset analyzer"),
            ("/analyzer/rulesets", "ruleset analyzer"),
        ] {
            let err = parse_telemetry_path(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(parse_telemetry_path("/analyzers").is_ok());
    }
}
