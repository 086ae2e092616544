//! The `render` subcommand as outside checks use it: stdout, stderr, exit status.

mod common;

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
fn renders_a_file_to_stdout() {
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
