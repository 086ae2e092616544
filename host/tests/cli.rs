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

/// The rows of the README's "## Flags" table: each flag (a row may name a
/// short form too) and its default column.
fn readme_flags() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    let table = readme
        .split("\n## Flags\n")
        .nth(1)
        .expect("a ## Flags section");
    table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
            let name = cells[0]
                .split(", ")
                .find(|n| n.starts_with("`--"))
                .unwrap_or_else(|| panic!("no flag in {row}"))
                .trim_matches('`')
                .to_owned();
            (name, cells.get(1).copied().unwrap_or_default().to_owned())
        })
        .collect()
}

/// The README's flag table and `--help` agree: the same flags, and every
/// default `--help` shows is the README's.
#[test]
fn the_readme_flag_table_is_the_help() {
    let help = help_flags();
    let readme = readme_flags();
    let mut help_names: Vec<&str> = help.iter().map(|(n, _)| n.as_str()).collect();
    let mut readme_names: Vec<&str> = readme.iter().map(|(n, _)| n.as_str()).collect();
    help_names.sort_unstable();
    readme_names.sort_unstable();
    assert_eq!(readme_names, help_names, "README flags vs --help");
    for (name, default) in &help {
        let Some(default) = default else { continue };
        let (_, documented) = readme.iter().find(|(n, _)| n == name).expect("listed");
        // A value in backticks, or the words `--help` uses.
        assert_eq!(
            documented.trim_matches('`'),
            default,
            "{name}: --help says [default: {default}], the README {documented}"
        );
    }
    assert!(help.len() > 30, "{help:?}");
}
