//! Flags, their help and defaults, and their conversion into the other
//! rooms' types; no I/O. Their values' words and bounds are in `values`.

mod values;

use crate::sandbox::{Filter, RuleSelection, Selection, SelectionPattern};
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use exposition::{Family, Format};
use std::path::PathBuf;
use std::time::Duration;
pub use values::{Families, Tables};
use values::{
    MAX_REQUESTS, parse_bytes, parse_duration, parse_duration_or_zero, parse_families,
    parse_family, parse_format, parse_rules, parse_tables, parse_telemetry_path,
};

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
    pub nftables: NftablesArgs,
    #[command(flatten)]
    pub nft_selection: NftSelectionArgs,
    #[command(flatten)]
    pub ipset: IpsetArgs,
    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render one save dump (or an `nft -j` listing, or an `ipset list`
    /// output) through the component to stdout and exit.
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
    /// the save commands' whole output at /analyzer/rulesets/FAMILY, nft's
    /// listing at /analyzer/rulesets/nftables, and `ipset list -t` at
    /// /analyzer/rulesets/ipset.
    #[arg(long = "web.enable-ruleset-endpoint")]
    pub enable_ruleset_endpoint: bool,
    /// Maximum number of metrics requests served at once; more get 503 (0
    /// for no limit; at most 1000000).
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
    /// own, all at once; filter, nat, mangle, raw or security) [default:
    /// every table, in one run].
    #[arg(long = "iptables.tables", value_name = "LIST", value_parser = parse_tables)]
    pub tables: Option<Tables>,
    /// Time a save command may take before it is killed. Scrapes do not wait
    /// this long: past their deadline they get the last collection.
    #[arg(long = "iptables.timeout", value_name = "DURATION", default_value = "1m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// iptables-nft families between ruleset changes: auto reads their
    /// counters over netlink into the last save's text while the ruleset's
    /// generation id stays the same (the save command runs when it
    /// changes), off always runs the save command. Needs the save command
    /// to read the exporter's own network namespace.
    #[arg(long = "iptables.netlink", value_name = "MODE", value_enum, default_value_t = NetlinkMode::Auto)]
    pub netlink: NetlinkMode,
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
    /// Parser component to load instead of the embedded one [default:
    /// embedded].
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

/// The cardinality flags of a source, `--SOURCE.rules`, `--SOURCE.table-include`
/// and the rest: the same flags, the same words, for iptables and for
/// nftables, each set under its own source's name.
macro_rules! selection_args {
    ($(#[$meta:meta])* $name:ident, $source:literal, $what:literal, $dropped:literal) => {
        $(#[$meta])*
        #[derive(Debug, Args)]
        pub struct $name {
            #[arg(id = concat!($source, ".rules"), long = concat!($source, ".rules"), value_name = "WHICH", default_value = "all", value_parser = parse_rules, global = true,
                help = concat!("Which ", $what, " rules become series: all, commented (only rules with a comment) or none (chain series only)"))]
            pub rules: RuleSelection,
            #[arg(id = concat!($source, ".table-include"), long = concat!($source, ".table-include"), value_name = "REGEX", global = true,
                help = concat!("Only ", $what, " tables whose whole name matches (every series of the others is left out)"))]
            pub table_include: Option<String>,
            #[arg(id = concat!($source, ".table-exclude"), long = concat!($source, ".table-exclude"), value_name = "REGEX", global = true,
                help = concat!("Leave out ", $what, " tables whose whole name matches"))]
            pub table_exclude: Option<String>,
            #[arg(id = concat!($source, ".chain-include"), long = concat!($source, ".chain-include"), value_name = "REGEX", global = true,
                help = concat!("Only ", $what, " chains whose whole name matches (every series of the others is left out)"))]
            pub chain_include: Option<String>,
            #[arg(id = concat!($source, ".chain-exclude"), long = concat!($source, ".chain-exclude"), value_name = "REGEX", global = true,
                help = concat!("Leave out ", $what, " chains whose whole name matches, e.g. `KUBE-SEP-.*`"))]
            pub chain_exclude: Option<String>,
            #[arg(id = concat!($source, ".rule-include"), long = concat!($source, ".rule-include"), value_name = "REGEX", global = true,
                help = concat!("Only ", $what, " rules whose text matches somewhere"))]
            pub rule_include: Option<String>,
            #[arg(id = concat!($source, ".rule-exclude"), long = concat!($source, ".rule-exclude"), value_name = "REGEX", global = true,
                help = concat!("Leave out ", $what, " rules whose text matches somewhere"))]
            pub rule_exclude: Option<String>,
            #[arg(id = concat!($source, ".comment-include"), long = concat!($source, ".comment-include"), value_name = "REGEX", global = true,
                help = concat!("Only ", $what, " rules with a comment that matches somewhere"))]
            pub comment_include: Option<String>,
            #[arg(id = concat!($source, ".comment-exclude"), long = concat!($source, ".comment-exclude"), value_name = "REGEX", global = true,
                help = concat!("Leave out ", $what, " rules with a comment that matches somewhere"))]
            pub comment_exclude: Option<String>,
            #[arg(id = concat!($source, ".comment-label"), long = concat!($source, ".comment-label"), global = true,
                help = concat!("Give ", $what, " rule series the rule's comment as a `comment` label"))]
            pub comment_label: bool,
            #[arg(id = concat!($source, ".max-rule-series"), long = concat!($source, ".max-rule-series"), value_name = "N", global = true,
                help = concat!("Most ", $what, " rules exported per ", $dropped, " and scrape (each is one packets and one bytes series), the first in output order; the rest are counted in ", $source, "_rule_series_dropped [default: no limit]"))]
            pub max_rule_series: Option<u32>,
        }

        impl $name {
            /// The flags' selection.
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
    };
}

selection_args!(
    /// Which iptables series to export (cardinality controls), for the
    /// server and the `render` subcommand. Applied inside the parser
    /// component: regular expressions use Rust's `regex` syntax; table and
    /// chain patterns match whole names, rule and comment patterns anywhere
    /// in the text.
    SelectionArgs, "iptables", "iptables", "family"
);

selection_args!(
    /// Which nftables series to export: the same controls, for the rules of
    /// the native tables (`rule` is the rule as nft prints it).
    NftSelectionArgs, "nftables", "nftables", "listing"
);

/// The native nftables source (`nft -j list ruleset`).
#[derive(Debug, Args)]
pub struct NftablesArgs {
    /// Collect native nftables tables with `nft` (on by default when `nft`
    /// is found; named, a missing `nft` reports nftables_scrape_success 0).
    #[arg(
        id = "collector.nftables",
        long = "collector.nftables",
        overrides_with = "no-collector.nftables"
    )]
    pub collector_nftables: bool,
    /// Do not collect native nftables tables.
    #[arg(
        id = "no-collector.nftables",
        long = "no-collector.nftables",
        overrides_with = "collector.nftables"
    )]
    pub no_collector_nftables: bool,
    /// nft command; a name is looked up in PATH.
    #[arg(
        id = "nftables.command",
        long = "nftables.command",
        value_name = "PATH",
        default_value = "nft"
    )]
    pub command: PathBuf,
    /// Time `nft` may take before it is killed.
    #[arg(id = "nftables.timeout", long = "nftables.timeout", value_name = "DURATION", default_value = "1m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Largest `nft` output accepted, in bytes; more fails the nftables source.
    #[arg(id = "nftables.max-output", long = "nftables.max-output", value_name = "BYTES", default_value = "256MiB", value_parser = parse_bytes)]
    pub max_output: usize,
    /// Most data memory `nft` may use, in bytes (none when not given); a
    /// listing past it is made again without set elements, then as text,
    /// then as text without set elements; past it the last way fails only
    /// the nftables source. nft's JSON listing peaks at about 8.5 KB a rule
    /// (824 MB at 100k rules), its text at 362 MB, and nft counts against
    /// the exporter's container memory limit.
    #[arg(id = "nftables.max-memory", long = "nftables.max-memory", value_name = "BYTES", value_parser = parse_bytes)]
    pub max_memory: Option<usize>,
    /// Do not count set elements: nft lists without them (`-t`, far cheaper
    /// with large sets) and nftables_set_elements is not exported.
    #[arg(id = "no-nftables.set-elements", long = "no-nftables.set-elements")]
    pub no_set_elements: bool,
}

impl NftablesArgs {
    /// Whether and how `nft` runs.
    pub fn config(&self) -> crate::sources::nftables::Config {
        use crate::sources::nftables::Wanted;
        crate::sources::nftables::Config {
            wanted: Wanted::from_flags(self.collector_nftables, self.no_collector_nftables),
            program: self.command.clone(),
            timeout: self.timeout,
            max_output: self.max_output,
            max_memory: self.max_memory.and_then(|bytes| u64::try_from(bytes).ok()),
            set_elements: !self.no_set_elements,
        }
    }
}

/// The ipset source (`ipset list -t`).
#[derive(Debug, Args)]
pub struct IpsetArgs {
    /// Collect ipsets with `ipset` (on by default when `ipset` is found;
    /// named, a missing `ipset` reports ipset_scrape_success 0).
    #[arg(
        id = "collector.ipset",
        long = "collector.ipset",
        overrides_with = "no-collector.ipset"
    )]
    pub collector_ipset: bool,
    /// Do not collect ipsets.
    #[arg(
        id = "no-collector.ipset",
        long = "no-collector.ipset",
        overrides_with = "collector.ipset"
    )]
    pub no_collector_ipset: bool,
    /// ipset command; a name is looked up in PATH.
    #[arg(
        id = "ipset.command",
        long = "ipset.command",
        value_name = "PATH",
        default_value = "ipset"
    )]
    pub command: PathBuf,
    /// Time each `ipset` run may take before it is killed.
    #[arg(id = "ipset.timeout", long = "ipset.timeout", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Largest `ipset list -t` output accepted, in bytes, and most bytes of
    /// the sets listed with their members, together; past it, a set's
    /// members are not listed (it has no element series).
    #[arg(id = "ipset.max-output", long = "ipset.max-output", value_name = "BYTES", default_value = "64MiB", value_parser = parse_bytes)]
    pub max_output: usize,
    /// Only sets whose whole name matches (every series of the others is
    /// left out).
    #[arg(
        id = "ipset.set-include",
        long = "ipset.set-include",
        value_name = "REGEX"
    )]
    pub set_include: Option<String>,
    /// Leave out sets whose whole name matches.
    #[arg(
        id = "ipset.set-exclude",
        long = "ipset.set-exclude",
        value_name = "REGEX"
    )]
    pub set_exclude: Option<String>,
    /// Export each element's packets and bytes, for sets created with
    /// `counters` (their members are listed: `ipset list NAME`).
    #[arg(id = "ipset.element-counters", long = "ipset.element-counters")]
    pub element_counters: bool,
    /// Most element series (each one packets and one bytes series), the
    /// first by set and element; the rest are counted in
    /// ipset_element_series_dropped.
    #[arg(
        id = "ipset.max-element-series",
        long = "ipset.max-element-series",
        value_name = "N",
        default_value = "10000"
    )]
    pub max_element_series: u32,
}

impl IpsetArgs {
    /// Whether and how `ipset` runs.
    pub fn config(&self) -> crate::sources::ipset::Config {
        crate::sources::ipset::Config {
            wanted: crate::sources::Wanted::from_flags(
                self.collector_ipset,
                self.no_collector_ipset,
            ),
            program: self.command.clone(),
            timeout: self.timeout,
            max_output: self.max_output,
        }
    }

    /// Which series the component keeps.
    pub fn settings(&self) -> crate::sandbox::IpsetSettings {
        crate::sandbox::IpsetSettings {
            sets: Filter {
                include: self.set_include.clone(),
                exclude: self.set_exclude.clone(),
            },
            element_counters: self.element_counters,
            max_element_series: Some(self.max_element_series),
        }
    }
}

impl SandboxArgs {
    /// The sandbox's bounds.
    pub fn limits(&self) -> crate::sandbox::Limits {
        crate::sandbox::Limits {
            max_memory_bytes: self.max_memory_bytes,
            deadline: self.deadline,
            max_exposition_bytes: self.max_exposition_bytes,
        }
    }
}

impl ServeArgs {
    /// Where the save commands are and how they run.
    pub fn iptables(&self, input: &InputArgs) -> crate::sources::iptables::Config {
        crate::sources::iptables::Config {
            named: self.families.as_ref().map(|f| f.0.clone()),
            ipv4_save: self.iptables_save_path.clone(),
            ipv6_save: self.ip6tables_save_path.clone(),
            timeout: self.timeout,
            max_save_bytes: input.max_save_bytes,
            tables: self.tables.clone().map(|t| t.0).unwrap_or_default(),
        }
    }

    /// How fresh answers must be.
    pub fn freshness(&self) -> crate::collection::Freshness {
        crate::collection::Freshness {
            min_interval: self.min_interval,
            max_age: self.max_age,
        }
    }
}

/// The flag that sets a selection pattern of a source (`iptables`,
/// `nftables`).
pub fn flag_of(source: &str, pattern: SelectionPattern) -> String {
    let flag = match pattern {
        SelectionPattern::TablesInclude => "table-include",
        SelectionPattern::TablesExclude => "table-exclude",
        SelectionPattern::ChainsInclude => "chain-include",
        SelectionPattern::ChainsExclude => "chain-exclude",
        SelectionPattern::RuleTextInclude => "rule-include",
        SelectionPattern::RuleTextExclude => "rule-exclude",
        SelectionPattern::CommentInclude => "comment-include",
        SelectionPattern::CommentExclude => "comment-exclude",
    };
    format!("--{source}.{flag}")
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only log messages with the given severity or above: debug, info,
    /// warn or error.
    #[arg(long = "log.level", value_name = "LEVEL", default_value = "info", value_parser = ["debug", "info", "warn", "error"], global = true)]
    pub level: String,
    /// Output format of log messages: text, or json (one object per line).
    #[arg(long = "log.format", value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetlinkMode {
    /// For iptables-nft families, on a little-endian machine.
    Auto,
    /// Never: every collection runs the save commands.
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines with key=value fields.
    Text,
    /// One JSON object per line.
    Json,
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
        assert_eq!(
            crate::sources::iptables::DEFAULT_FAMILIES,
            [Family::Ipv4, Family::Ipv6]
        );
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
            let arg = format!("{}=x", flag_of("iptables", pattern));
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
}
