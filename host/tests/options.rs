//! The format and cardinality options, each as its flags give it: golden
//! files (`fixtures/options/FIXTURE.CASE.prom`) rendered natively and
//! checked through the component in one call and streamed; the OpenMetrics
//! output of every fixture and public dump accepted by the strict parser of
//! Python's `prometheus_client`; the `render` subcommand with the flags.
//!
//! `UPDATE_GOLDEN=1` (exactly) rewrites the expected files from the native
//! render.

use crate::common;

use clap::Parser as _;
use common::*;
use exposition::{Family, Format};
use iptables_exporter::cli::Cli;
use iptables_exporter::sandbox::{Filter, Options, RuleSelection, Selection};
use parser_wasm::select::{self, Anchor};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// Each case: its name in the golden files' names, and its flags.
const CASES: &[(&str, &[&str])] = &[
    ("openmetrics", &["--format=openmetrics"]),
    ("rules-commented", &["--iptables.rules=commented"]),
    ("rules-none", &["--iptables.rules=none"]),
    ("table-include", &["--iptables.table-include=nat|mangle"]),
    ("table-exclude", &["--iptables.table-exclude=filter"]),
    (
        "chain-include",
        &["--iptables.chain-include=INPUT|FORWARD|OUTPUT"],
    ),
    (
        "chain-exclude",
        &["--iptables.chain-exclude=KUBE-SEP-.*|DOCKER.*"],
    ),
    (
        "rule-include",
        &["--iptables.rule-include=-j (ACCEPT|DROP|REJECT)"],
    ),
    ("rule-exclude", &["--iptables.rule-exclude=-j RETURN$"]),
    (
        "comment-include",
        &["--iptables.comment-include=^(default|kube-system)/"],
    ),
    (
        "comment-exclude",
        &["--iptables.comment-exclude=kubernetes"],
    ),
    ("comment-label", &["--iptables.comment-label"]),
    ("max-rule-series", &["--iptables.max-rule-series=5"]),
    (
        "combined-openmetrics",
        &[
            "--format=openmetrics",
            "--iptables.rules=commented",
            "--iptables.comment-label",
            "--iptables.chain-exclude=KUBE-SEP-.*",
            "--iptables.max-rule-series=3",
        ],
    ),
];

/// The fixtures the cases are rendered on, each with the cases that
/// change something in it and leave something (a case that changes
/// nothing, or leaves nothing, would prove nothing): the hand-written
/// showcase (every case, checked against hand-written expectations), a
/// kube-proxy node (every case), and the contract's example.
const FIXTURES: &[(&str, &[&str])] = &[
    (SHOWCASE, &[]),
    ("kube-proxy-nft.ipv4", &[]),
    (
        "spec-example.ipv4",
        &[
            "openmetrics",
            "rules-commented",
            "rules-none",
            "chain-include",
            "rule-include",
            "comment-include",
            "comment-label",
            "combined-openmetrics",
        ],
    ),
];

/// The fixture written by hand for the options, with what each case keeps
/// of it written by hand too (`fixtures/options/options-showcase.expected`).
const SHOWCASE: &str = "options-showcase.ipv4";

/// The cases `fixture` is rendered with (an empty list: every case).
fn cases_of(
    cases: &'static [&'static str],
) -> impl Iterator<Item = &'static (&'static str, &'static [&'static str])> {
    CASES
        .iter()
        .filter(move |(case, _)| cases.is_empty() || cases.contains(case))
}

/// Debian's python3 with python3-prometheus-client (scripts/setup.sh);
/// not whatever `python3` comes first in PATH.
const PYTHON: &str = "/usr/bin/python3";

fn update() -> bool {
    std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1")
}

/// The case's format and selection, parsed by the exporter's own flags.
fn parse_flags(flags: &[&str]) -> (Format, Selection) {
    let cli = Cli::try_parse_from(["iptables-exporter", "render"].iter().chain(flags).copied())
        .unwrap_or_else(|err| panic!("{flags:?}: {err}"));
    let format = match &cli.command {
        Some(iptables_exporter::cli::Command::Render(args)) => args.format,
        None => panic!("not the render subcommand"),
    };
    (format, cli.selection.selection())
}

/// The same options for the native library.
fn native_options(format: Format, selection: &Selection) -> parser_wasm::Options {
    let filter = |filtered: select::Filtered, filter: &Filter, anchor| {
        select::Filter::new(
            filtered,
            filter.include.as_deref(),
            filter.exclude.as_deref(),
            anchor,
        )
        .unwrap_or_else(|err| panic!("{err}"))
    };
    parser_wasm::Options {
        format,
        selection: parser_wasm::Selection {
            tables: filter(
                select::Filtered::Tables,
                &selection.tables,
                Anchor::WholeName,
            ),
            chains: filter(
                select::Filtered::Chains,
                &selection.chains,
                Anchor::WholeName,
            ),
            rules: match selection.rules {
                RuleSelection::All => select::Rules::All,
                RuleSelection::Commented => select::Rules::Commented,
                RuleSelection::None => select::Rules::None,
            },
            rule_text: filter(
                select::Filtered::RuleText,
                &selection.rule_text,
                Anchor::Anywhere,
            ),
            comment: filter(
                select::Filtered::Comment,
                &selection.comment,
                Anchor::Anywhere,
            ),
            max_rule_series: selection.max_rule_series.map(u64::from),
        },
        comment_label: selection.comment_label,
    }
}

fn render_native_with(family: Family, input: &[u8], options: &parser_wasm::Options) -> String {
    let rendering =
        parser_wasm::render_dumps_with(&[parser_wasm::Dump::new(family, input)], options);
    assert!(rendering.results.iter().all(Result::is_ok), "{rendering:?}");
    rendering.exposition
}

#[test]
fn every_option_matches_its_golden_file_on_every_path() {
    let sandbox = sandbox();
    let mut failures = Vec::new();
    for (fixture, cases) in FIXTURES {
        let input = fixtures().join(format!("{fixture}.rules"));
        let family = fixture_family(&input);
        let bytes = std::fs::read(&input).expect("fixture");
        let plain = render_native(family, &bytes).expect("parses");
        for (case, flags) in cases_of(cases) {
            let (format, selection) = parse_flags(flags);
            let native = render_native_with(family, &bytes, &native_options(format, &selection));
            let expected = fixtures().join(format!("options/{fixture}.{case}.prom"));
            if update() {
                std::fs::write(&expected, &native).expect("writing golden file");
            }
            let want = std::fs::read_to_string(&expected).unwrap_or_else(|err| {
                panic!("{}: {err} (run with UPDATE_GOLDEN=1)", expected.display())
            });
            let options = Options {
                format,
                selection: &selection,
            };
            let mut paths = vec![("native", native)];
            let one_call = sandbox
                .render(
                    vec![iptables_exporter::sandbox::Dump::new(family, bytes.clone())],
                    options,
                )
                .expect("renders");
            paths.push(("component, one call", one_call.exposition));
            for size in [7, 65_536] {
                let (text, outcomes) =
                    render_streamed_with(&sandbox, &[(family, &bytes)], options, size);
                assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
                paths.push(("component, streamed", text));
            }
            for (path, got) in paths {
                if got != want {
                    failures.push(format!(
                        "{fixture}.{case}: {path} differs from the golden file"
                    ));
                }
            }
            // Every golden file proves something: it holds samples, and
            // not the same as the whole render.
            if !want.lines().any(|l| !l.starts_with('#') && !l.is_empty()) {
                failures.push(format!("{fixture}.{case}: an empty golden file"));
            }
            if want == plain {
                failures.push(format!("{fixture}.{case}: changes nothing"));
            }
            // A selection only ever leaves out whole sample lines.
            if format == Format::Text {
                let all: Vec<&str> = plain.lines().collect();
                for line in want.lines().filter(|l| !l.starts_with('#')) {
                    let line = strip_comment_label(line);
                    if !all.contains(&line.as_str()) {
                        failures.push(format!(
                            "{fixture}.{case}: `{line}` is not in the full render"
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A sample line without its `comment` label, which comes last.
fn strip_comment_label(line: &str) -> String {
    match line.find("\",comment=\"") {
        Some(at) => {
            let end = line.rfind("\"}").expect("a label set");
            format!("{}{}", &line[..at + 1], &line[end + 1..])
        }
        None => line.to_owned(),
    }
}

/// What a golden file keeps of the showcase, in the words of the
/// expectations file: `rule TABLE CHAIN | RULE` (with `comment TEXT` after
/// it when labelled) and `chain TABLE CHAIN` lines.
fn kept(golden: &str) -> (Vec<String>, Vec<String>) {
    let mut rules = Vec::new();
    let mut chains = Vec::new();
    for ((metric, labels), _) in http::parse_samples(golden) {
        let label = |name: &str| labels.get(name).cloned().unwrap_or_default();
        match metric.as_str() {
            "iptables_rule_packets_total" => {
                rules.push(format!(
                    "rule {} {} | {}",
                    label("table"),
                    label("chain"),
                    label("rule")
                ));
                if let Some(comment) = labels.get("comment") {
                    rules.push(format!("comment {comment}"));
                }
            }
            "iptables_rules" => chains.push(format!("chain {} {}", label("table"), label("chain"))),
            _ => {}
        }
    }
    (rules, chains)
}

/// What a case keeps of the showcase, as written down by hand.
#[derive(Default)]
struct Expected {
    /// `rule …` and `comment …` lines, in output order.
    rules: Vec<String>,
    /// `chain …` lines; none: every chain.
    chains: Vec<String>,
    /// Rules a limit dropped.
    dropped: Option<u64>,
}

/// The hand-written expectations, by case.
fn showcase_expectations() -> std::collections::BTreeMap<String, Expected> {
    let text = std::fs::read_to_string(fixtures().join("options/options-showcase.expected"))
        .expect("expectations");
    let mut cases = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        if let Some(case) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            cases.insert(case.to_owned(), Expected::default());
            current = Some(case.to_owned());
            continue;
        }
        let case = current.as_ref().expect("a line before any [case]");
        let entry: &mut Expected = cases.get_mut(case).expect("case");
        if line.starts_with("chain ") {
            entry.chains.push(line.to_owned());
        } else if let Some(n) = line.strip_prefix("dropped ") {
            entry.dropped = Some(n.parse().expect("a count"));
        } else {
            assert!(
                line.starts_with("rule ") || line.starts_with("comment "),
                "{line}"
            );
            entry.rules.push(line.to_owned());
        }
    }
    cases
}

/// Each case keeps of the showcase what its flags' documentation says,
/// written down by hand: the golden files are held to it, so that a
/// golden written by a wrong renderer cannot pass.
#[test]
fn each_option_keeps_what_the_hand_written_expectations_say() {
    let expectations = showcase_expectations();
    let names: Vec<&str> = CASES.iter().map(|(case, _)| *case).collect();
    let listed: Vec<&str> = expectations.keys().map(String::as_str).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(listed, sorted, "every case, and only they, written down");
    let bytes = std::fs::read(fixtures().join(format!("{SHOWCASE}.rules"))).expect("fixture");
    let (every_rule, every_chain) = kept(&render_native(Family::Ipv4, &bytes).expect("parses"));
    assert_eq!(every_rule.len(), 11, "{every_rule:#?}");
    assert_eq!(every_chain.len(), 9, "{every_chain:#?}");
    for (case, flags) in CASES {
        let golden =
            std::fs::read_to_string(fixtures().join(format!("options/{SHOWCASE}.{case}.prom")))
                .expect("golden file");
        let (rules, chains) = kept(&golden);
        let want = &expectations[*case];
        assert_eq!(rules, want.rules, "{case}: rules");
        let want_chains = if want.chains.is_empty() {
            &every_chain
        } else {
            &want.chains
        };
        assert_eq!(&chains, want_chains, "{case}: chains");
        let (format, selection) = parse_flags(flags);
        let rendering = parser_wasm::render_dumps_with(
            &[parser_wasm::Dump::new(Family::Ipv4, &bytes)],
            &native_options(format, &selection),
        );
        let dropped = match &rendering.results[0] {
            Ok(stats) => stats.rule_series_dropped,
            Err(err) => panic!("{case}: {err}"),
        };
        assert_eq!(dropped, want.dropped.unwrap_or(0), "{case}: rules dropped");
    }
}

#[test]
fn the_options_do_what_they_say_on_the_kube_proxy_fixture() {
    let read = |case: &str| {
        std::fs::read_to_string(fixtures().join(format!("options/kube-proxy-nft.ipv4.{case}.prom")))
            .expect("golden file")
    };
    let count = |text: &str, prefix: &str| text.lines().filter(|l| l.starts_with(prefix)).count();
    let full = render_native(
        Family::Ipv4,
        &std::fs::read(fixtures().join("kube-proxy-nft.ipv4.rules")).expect("fixture"),
    )
    .expect("parses");
    let rules = |text: &str| count(text, "iptables_rule_packets_total{");
    let chains = |text: &str| count(text, "iptables_rules{");
    assert!(rules(&full) > 20, "the fixture has rules");
    // Rule selections keep every chain's own series.
    assert_eq!(rules(&read("rules-none")), 0);
    assert_eq!(chains(&read("rules-none")), chains(&full));
    let commented = read("rules-commented");
    assert!(rules(&commented) > 0 && rules(&commented) < rules(&full));
    assert!(
        commented
            .lines()
            .filter(|l| l.starts_with("iptables_rule_"))
            .all(|l| l.contains("--comment")),
        "{commented}"
    );
    // A chain left out loses every series.
    let no_sep = read("chain-exclude");
    assert!(full.contains("chain=\"KUBE-SEP-") && !no_sep.contains("chain=\"KUBE-SEP-"));
    // The limit keeps exactly the first N rules in output order.
    let limited = read("max-rule-series");
    assert_eq!(rules(&limited), 5);
    let first = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("iptables_rule_packets_total{"))
            .take(5)
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(first(&limited), first(&full));
    // The comment label carries the comment unquoted.
    let labelled = read("comment-label");
    assert!(
        labelled.contains(",comment=\"") && labelled.lines().count() == full.lines().count(),
        "{labelled}"
    );
    // OpenMetrics: the same samples, counter families named without `_total`.
    let open = read("openmetrics");
    let samples = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(samples(&open), samples(&full));
    assert!(open.contains("# TYPE iptables_rule_packets counter\n"));
}

#[test]
fn openmetrics_of_every_dump_passes_a_strict_parser() {
    let sandbox = sandbox();
    let mut dumps: Vec<(std::path::PathBuf, Family)> = files_ending(&fixtures(), ".rules")
        .into_iter()
        .map(|path| {
            let family = fixture_family(&path);
            (path, family)
        })
        .collect();
    dumps.extend(public_dumps());
    assert_eq!(dumps.len(), 20 + 28, "the fixtures and the public dumps");
    let selection = Selection::ALL;
    let options = Options {
        format: Format::OpenMetrics,
        selection: &selection,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for (i, (path, family)) in dumps.iter().enumerate() {
        let bytes = std::fs::read(path).expect("dump");
        let (mut text, outcomes) =
            render_streamed_with(&sandbox, &[(*family, &bytes)], options, 65_536);
        assert!(
            outcomes.iter().all(Result::is_ok),
            "{}: {outcomes:?}",
            path.display()
        );
        // The host ends a complete response so.
        text.push_str(Format::OpenMetrics.end());
        let file = dir.path().join(format!("{i}.om"));
        std::fs::write(&file, text).expect("write");
        files.push((path.display().to_string(), file));
    }
    let listing: String = files
        .iter()
        .map(|(name, file)| format!("{}\t{name}\n", file.display()))
        .collect();
    let verdicts = strict_parse(&listing);
    let rejected: Vec<&str> = verdicts
        .lines()
        .filter(|l| !l.starts_with("ok\t"))
        .collect();
    assert!(rejected.is_empty(), "{}", rejected.join("\n"));
    assert_eq!(verdicts.lines().count(), files.len(), "{verdicts}");
    // A response cut short is rejected: the parser is really strict.
    let cut = dir.path().join("cut.om");
    let whole = std::fs::read_to_string(&files[0].1).expect("read");
    std::fs::write(&cut, whole.trim_end_matches("# EOF\n")).expect("write");
    let verdict = strict_parse(&format!("{}\tcut\n", cut.display()));
    assert!(verdict.starts_with("rejected\tcut\t"), "{verdict}");
}

/// Runs Python's OpenMetrics parser on each `FILE\tNAME` line: `ok\tNAME`
/// or `rejected\tNAME\tWHY` per file.
fn strict_parse(listing: &str) -> String {
    const SCRIPT: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for line in sys.stdin:
    path, name = line.rstrip("\n").split("\t", 1)
    try:
        families = list(text_string_to_metric_families(open(path, encoding="utf-8").read()))
        samples = sum(len(f.samples) for f in families)
        print(f"ok\t{name}\t{samples}")
    except Exception as err:
        print(f"rejected\t{name}\t{err!r}")
"#;
    assert!(
        Path::new(PYTHON).exists(),
        "{PYTHON} is missing: run scripts/setup.sh (python3-prometheus-client)"
    );
    let mut child = Command::new(PYTHON)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(listing.as_bytes())
        .expect("write listing");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(
        out.status.success(),
        "python3 failed (is python3-prometheus-client installed? scripts/setup.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn the_render_subcommand_takes_the_options() {
    let input = fixtures().join("kube-proxy-nft.ipv4.rules");
    let (case, flags) = CASES
        .iter()
        .find(|(name, _)| *name == "combined-openmetrics")
        .expect("case");
    let out = Command::new(env!("CARGO_BIN_EXE_iptables-exporter"))
        .arg("render")
        .args(*flags)
        .arg(&input)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = std::fs::read_to_string(
        fixtures().join(format!("options/kube-proxy-nft.ipv4.{case}.prom")),
    )
    .expect("golden");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{want}# EOF\n")
    );
    // A pattern that does not compile, or would escape the whole-name
    // anchors, is refused, naming the flag.
    for (flag, pattern) in [
        ("--iptables.chain-exclude", "KUBE-("),
        ("--iptables.chain-include", "NOPE)|(.*"),
        ("--iptables.comment-exclude", "[z-a]"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_iptables-exporter"))
            .args(["render", &format!("{flag}={pattern}"), "-"])
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("{flag}: not a regular expression")),
            "{stderr}"
        );
    }
    // What Prometheus' patterns allow is allowed.
    let out = Command::new(env!("CARGO_BIN_EXE_iptables-exporter"))
        .args([
            "render",
            r"--iptables.chain-include=\bKUBE\b.*|\p{Greek}+|\pL+",
            "-",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A 100k-rule node behind `--iptables.max-rule-series=10000`: exactly
/// 10,000 series per rule metric, every chain's own series, and the rest of
/// the distinct rules counted in `iptables_rule_series_dropped`.
#[test]
fn a_100k_rule_node_limited_to_10k_rule_series() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dump = ruleset_generator::generate(100_000, 7, Family::Ipv4);
    let ruleset = parser_wasm::parse(dump.as_bytes()).expect("parses");
    let distinct: usize = ruleset
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .map(|c| c.rules.len())
        .sum();
    let chains: usize = ruleset.tables.iter().map(|t| t.chains.len()).sum();
    assert!(distinct > 50_000, "{distinct} distinct rules");
    let path = dir.path().join("100k.rules");
    std::fs::write(&path, &dump).expect("dump");
    let save = common::exporter::script(dir.path(), "save", &format!("cat '{}'", path.display()));
    let exporter = common::exporter::Exporter::ipv4(&save, &["--iptables.max-rule-series=10000"]);
    let body = exporter.scrape();
    let count = |prefix: &str| body.lines().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("iptables_rule_packets_total{"), 10_000);
    assert_eq!(count("iptables_rule_bytes_total{"), 10_000);
    assert_eq!(count("iptables_rules{"), chains);
    let dropped = format!(
        "iptables_rule_series_dropped{{family=\"ipv4\"}} {}\n",
        distinct - 10_000
    );
    assert!(body.contains(&dropped), "no `{dropped}` in the scrape");
    let mut exporter = exporter;
    exporter.wait_for_log("rules past --iptables.max-rule-series have no series", 1);
}

/// A limit that drops rules says so once per answer and family: once per
/// scrape, not once per piece or rule, and not only the first time.
#[test]
fn the_rule_series_limit_warns_once_per_scrape() {
    let dir = tempfile::tempdir().expect("dir");
    let v4 = common::exporter::cat_fixture(dir.path(), "v4", "kube-proxy-nft.ipv4.rules");
    let v6 = common::exporter::cat_fixture(dir.path(), "v6", "ipv6-nft.ipv6.rules");
    let exporter = common::exporter::Exporter::both(&v4, &v6, &["--iptables.max-rule-series=3"]);
    let warning = "rules past --iptables.max-rule-series have no series";
    for scrape in 1..=3 {
        let body = exporter.scrape();
        let dropped = |family: &str| {
            http::parse_exposition(&body)
                .get(&(
                    "iptables_rule_series_dropped".to_owned(),
                    http::labels(&[("family", family)]),
                ))
                .cloned()
        };
        assert!(dropped("ipv4").is_some_and(|n| n != "0"), "{body}");
        assert!(dropped("ipv6").is_some_and(|n| n != "0"), "{body}");
        let log = exporter.log();
        for family in ["ipv4", "ipv6"] {
            let warned = log
                .lines()
                .filter(|l| l.contains(warning) && l.contains(&format!("family={family}")))
                .count();
            assert_eq!(
                warned, scrape,
                "{family} after scrape {scrape}; log:\n{log}"
            );
        }
    }
}
