//! The `render` subcommand as outside checks use it: stdout, stderr, exit status.

use crate::common;

use common::*;
use std::process::{Command, Output};

fn exporter() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iptables-exporter"))
}

fn render(args: &[&str], stdin: &[u8]) -> Output {
    run_with_stdin(exporter().arg("render").args(args), stdin)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn renders_a_file_to_stdout_as_the_golden_file_says() {
    let input = fixtures().join("kube-proxy-nft.ipv4.rules");
    let out = render(&[input.to_str().expect("utf-8 path")], b"");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let golden = std::fs::read_to_string(input.with_extension("prom")).expect("golden");
    assert_eq!(text(&out.stdout), golden);
    assert_eq!(text(&out.stderr), "");
}

/// An nft listing, told by its content, renders as its golden file; the
/// `--nftables.*` selection applies to it; one cut short exits 1 with its
/// line and column.
#[test]
fn renders_an_nft_listing_as_its_golden_file() {
    let input = fixtures().join("nftables/kube-proxy.json");
    let bytes = std::fs::read(&input).expect("listing");
    let out = render(&[], &bytes);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let golden = std::fs::read_to_string(input.with_extension("prom")).expect("golden");
    assert_eq!(text(&out.stdout), golden);
    let none = render(&["--nftables.rules=none", "-"], &bytes);
    assert_eq!(none.status.code(), Some(0), "{}", text(&none.stderr));
    assert!(!text(&none.stdout).contains("nftables_rule_packets_total{"));
    assert!(text(&none.stdout).contains("nftables_chain_rules{"));
    let cut = render(&[], &bytes[..bytes.len() / 2]);
    assert_eq!(cut.status.code(), Some(1), "{}", text(&cut.stderr));
    assert!(
        text(&cut.stderr).starts_with("line 1: column "),
        "{}",
        text(&cut.stderr)
    );
    assert_eq!(text(&cut.stdout), "");
}

/// An `ipset list` output, told by its content, renders as the server
/// renders the ipset source; a full listing gives element counters with
/// `--ipset.element-counters`; one cut short exits 1 naming its line.
#[test]
fn renders_an_ipset_listing() {
    let dir = fixtures().join("ipset");
    let terse = std::fs::read(dir.join("mixed.txt")).expect("listing");
    let golden = std::fs::read_to_string(dir.join("mixed.prom")).expect("golden");
    let out = render(&[], &terse);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let without_elements: String = golden
        .lines()
        .filter(|l| !l.contains("ipset_element_"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(text(&out.stdout), without_elements);
    let full = std::fs::read(dir.join("mixed.members/ipc.txt")).expect("listing");
    let counted = run_with_stdin(
        exporter().args(["--ipset.element-counters", "render"]),
        &full,
    );
    assert_eq!(counted.status.code(), Some(0), "{}", text(&counted.stderr));
    let elements: Vec<&str> = golden
        .lines()
        .filter(|l| l.starts_with("ipset_element_") && l.contains("set=\"ipc\""))
        .collect();
    for line in &elements {
        assert!(text(&counted.stdout).contains(line), "{line}");
    }
    assert_eq!(elements.len(), 4);
    let at = terse
        .windows(15)
        .position(|w| w == b"Size in memory:")
        .expect("ipc's size");
    let cut = render(&[], &terse[..at]);
    assert_eq!(cut.status.code(), Some(1), "{}", text(&cut.stderr));
    assert!(
        text(&cut.stderr).starts_with(
            "line 1: ipset list -t: set `ipc` has no `Size in memory:` line: the listing is cut short"
        ),
        "{}",
        text(&cut.stderr)
    );
}

#[test]
fn reads_stdin_with_dash_or_nothing_and_takes_the_family() {
    let input = fixtures().join("ipv6-nft.ipv6.rules");
    let bytes = std::fs::read(&input).expect("fixture");
    let golden = std::fs::read_to_string(input.with_extension("prom")).expect("golden");
    for args in [&["--family", "ipv6", "-"][..], &["--family", "ipv6"]] {
        let out = render(args, &bytes);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), golden, "{args:?}");
    }
    let out = render(&[], &bytes);
    assert!(
        text(&out.stdout).contains(r#"family="ipv4""#),
        "ipv4 is the default family"
    );
}

#[test]
fn malformed_input_exits_1_with_the_line_on_stderr_only() {
    for input in files_ending(&fixtures().join("bad"), ".rules") {
        let out = render(&[input.to_str().expect("utf-8 path")], b"");
        let want = std::fs::read_to_string(input.with_extension("err")).expect("expected message");
        assert_eq!(out.status.code(), Some(1), "{}", input.display());
        assert_eq!(text(&out.stdout), "", "{}", input.display());
        assert_eq!(text(&out.stderr), want, "{}", input.display());
    }
}

#[test]
fn unreadable_file_is_a_different_failure() {
    let out = render(&["/nonexistent/dump.rules"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("/nonexistent/dump.rules"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn empty_input_is_valid_and_renders_nothing() {
    let out = render(&["-"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn input_over_the_cap_is_refused_with_the_limit_named() {
    let input = fixtures().join("kube-proxy-nft.ipv4.rules");
    let size = std::fs::metadata(&input).expect("fixture").len();
    let cap = format!("--iptables.max-output={}", size - 1);
    for args in [
        vec![cap.as_str(), input.to_str().expect("utf-8 path")],
        vec![cap.as_str(), "-"],
    ] {
        let stdin = std::fs::read(&input).expect("fixture");
        let out = render(&args, &stdin);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&out.stdout), "");
        assert!(
            text(&out.stderr).contains(&format!(
                "larger than {} bytes (--iptables.max-output)",
                size - 1
            )),
            "{}",
            text(&out.stderr)
        );
    }
    let out = render(
        &[
            &format!("--iptables.max-output={size}"),
            input.to_str().expect("path"),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "exactly the cap is accepted");
}

#[test]
fn an_endless_input_is_cut_at_the_cap() {
    // Without a cap this would grow until the kernel killed it.
    let out = render(&["--iptables.max-output=8MiB", "/dev/zero"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("larger than 8388608 bytes"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn output_beyond_128_mib_streams_out_whole() {
    // 260k rules make about 140 MiB of text: more than one call may hand
    // over (wasmtime's 128 MiB), which the streamed path never needs to.
    let dump = ruleset_generator::generate(260_000, 7, exposition::Family::Ipv4);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("big.rules");
    std::fs::write(&path, &dump).expect("dump");
    let out = exporter()
        .args(["render", path.to_str().expect("utf-8 path")])
        .output()
        .expect("render runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        out.stdout.len() > 128 << 20,
        "only {} bytes",
        out.stdout.len()
    );
    let whole = common::sandbox()
        .render(
            vec![iptables_exporter::sandbox::Dump::new(
                exposition::Family::Ipv4,
                dump.into_bytes(),
            )],
            iptables_exporter::sandbox::Options::TEXT,
        )
        .expect("one call with room for it");
    assert!(
        out.stdout == whole.exposition.as_bytes(),
        "the streamed text differs from the one-call render"
    );
}

/// The flags `--help` lists, each with its default when it shows one.
fn help_flags() -> Vec<(String, Option<String>)> {
    let out = exporter().arg("--help").output().expect("runs");
    assert!(out.status.success());
    let help = text(&out.stdout);
    let mut flags: Vec<(String, Option<String>)> = Vec::new();
    for line in help.lines() {
        let trimmed = line.trim_start();
        let indented = line.len() - trimmed.len();
        // A flag's line: `-V, --version` or `    --name <VALUE>`.
        if (indented == 2 || indented == 6) && trimmed.starts_with('-') {
            let name = trimmed
                .split([' ', ','])
                .find(|word| word.starts_with("--"))
                .unwrap_or_else(|| panic!("no long name in {line:?}"));
            flags.push((name.to_owned(), None));
        } else if let (Some(start), Some((_, default))) =
            (line.find("[default: "), flags.last_mut())
        {
            let rest = &line[start + "[default: ".len()..];
            *default = rest.split(']').next().map(str::to_owned);
        }
    }
    flags.retain(|(name, _)| name != "--help");
    flags
}

/// Where the README's flag table starts and ends.
const TABLE_START: &str =
    "<!-- flags: generated from --help by host/tests/cli.rs; UPDATE_GOLDEN=1 rewrites -->\n";
const TABLE_END: &str = "<!-- end of flags -->\n";

/// The README's flag table as `--help` makes it: each flag, its default
/// and its help text, in `--help`'s order.
fn flag_table() -> String {
    use clap::CommandFactory as _;
    let command = iptables_exporter::cli::Cli::command();
    let mut table = String::from("| flag | default | meaning |\n|---|---|---|\n");
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if long == "help" || arg.is_hide_set() {
            continue;
        }
        let name = match arg.get_short() {
            Some(short) => format!("`--{long}`, `-{short}`"),
            None => format!("`--{long}`"),
        };
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        // Some defaults are words, written into the help text by hand.
        let (help, written_default) = match help.split_once(" [default: ") {
            Some((before, rest)) => {
                let (default, after) = rest.split_once(']').expect("a closed [default: …]");
                (format!("{before}{after}"), Some(default.to_owned()))
            }
            None => (help, None),
        };
        let values: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let default = if !arg.get_action().takes_values() {
            if long == "version" {
                String::new()
            } else {
                "off".to_owned()
            }
        } else if let Some(words) = written_default {
            words
        } else if values.is_empty() {
            "none".to_owned()
        } else {
            format!("`{}`", values.join(","))
        };
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        table.push_str(&format!(
            "| {name} | {default} | {} |\n",
            help.replace('|', "\\|")
        ));
    }
    table
}

/// The flags `--help` prints, by long name.
fn help_names() -> Vec<String> {
    let mut names: Vec<String> = help_flags().into_iter().map(|(n, _)| n).collect();
    names.sort_unstable();
    names
}

/// The README's flag table is the one `--help` makes, and lists every flag
/// the binary's `--help` prints with the default it shows.
/// `UPDATE_GOLDEN=1` (exactly) rewrites the table.
#[test]
fn the_readme_flag_table_is_the_help() {
    let path = repo_root().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README");
    let (before, rest) = readme
        .split_once(TABLE_START)
        .expect("the table's start marker");
    let (written, after) = rest.split_once(TABLE_END).expect("the table's end marker");
    let table = flag_table();
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(
            &path,
            format!("{before}{TABLE_START}{table}{TABLE_END}{after}"),
        )
        .expect("rewriting README.md");
    } else {
        assert!(
            written == table,
            "README.md's flag table is not --help's (run with UPDATE_GOLDEN=1):\n{table}"
        );
    }
    let mut listed: Vec<String> = table
        .lines()
        .skip(2)
        .map(|row| {
            let first = row
                .trim_start_matches("| ")
                .split(" | ")
                .next()
                .expect("a cell");
            first
                .split(", ")
                .next()
                .expect("a name")
                .trim_matches('`')
                .to_owned()
        })
        .collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        help_names(),
        "the table's flags vs the binary's --help"
    );
    for (name, default) in help_flags() {
        let Some(default) = default else { continue };
        let row = table
            .lines()
            .find(|row| row.starts_with(&format!("| `{name}`")))
            .unwrap_or_else(|| panic!("{name} is not in the table"));
        assert!(
            row.contains(&format!(" | `{default}` | "))
                || row.contains(&format!(" | {default} | ")),
            "{name}: --help shows [default: {default}], the table {row}"
        );
    }
    assert!(listed.len() > 30, "{listed:?}");
}
