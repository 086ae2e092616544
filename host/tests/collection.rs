//! How each family fares in a scrape, over HTTP with fake save commands:
//! a family that fails (its command missing, failing, hanging or printing
//! too much; its output malformed; a sandbox limit) reports
//! `iptables_scrape_success 0`, exports nothing, and leaves the other family
//! whole; families are listed in the order configured; what the commands
//! print on stderr reaches the log without forging lines of its own.

use crate::common;

use common::exporter::{
    Exporter, HangingSave, cat_fixture, scrape_success, script, start_failure,
    wait_until_group_gone,
};
use common::fixtures;
use common::http;

/// Ruleset series lines of an exposition (scrape and process series vary).
fn ruleset_lines(body: &str) -> Vec<&str> {
    body.lines()
        .filter(|l| {
            l.starts_with("iptables_rule")
                || l.starts_with("iptables_default")
                || l.starts_with("iptables_rules")
        })
        .collect()
}

fn golden(fixture: &str) -> String {
    std::fs::read_to_string(fixtures().join(fixture).with_extension("prom")).expect("golden")
}

/// Every log line starts with its timestamp: nothing the save commands
/// printed began a line of its own.
fn assert_no_forged_lines(log: &str) {
    for line in log.lines() {
        assert!(
            line.starts_with(|c: char| c.is_ascii_digit()),
            "a log line that is not an entry: {line:?}\nlog:\n{log}"
        );
    }
}

/// A save command in `dir` printing one rule whose comment is `bytes`
/// bytes that are not UTF-8 (each becomes U+FFFD, three bytes, when read).
fn save_with_a_non_utf8_comment(dir: &std::path::Path, bytes: usize) -> std::path::PathBuf {
    let dump = dir.join("dump.rules");
    let mut text =
        b"*filter\n:INPUT ACCEPT [5:500]\n[1:2] -A INPUT -m comment --comment \"".to_vec();
    text.extend(std::iter::repeat_n(0xffu8, bytes));
    text.extend_from_slice(b"\" -j ACCEPT\nCOMMIT\n");
    std::fs::write(&dump, &text).expect("dump");
    script(dir, "v4", &format!("cat '{}'", dump.display()))
}

#[test]
fn a_malformed_family_leaves_the_other_family_whole() {
    let dir = tempfile::tempdir().expect("dir");
    let v4 = cat_fixture(dir.path(), "v4", "bad/counter-not-a-number.rules");
    let v6 = cat_fixture(dir.path(), "v6", "ipv6-nft.ipv6.rules");
    let exporter = Exporter::both(&v4, &v6, &[]);
    let body = exporter.scrape();
    assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("0"));
    assert_eq!(scrape_success(&body, "ipv6").as_deref(), Some("1"));
    assert_eq!(
        http::ruleset_part(&body),
        golden("ipv6-nft.ipv6.rules"),
        "the good family's series, all of them and nothing else"
    );
    assert!(exporter.log().contains("line 3: bad counter"));
}

#[test]
fn a_save_command_that_warns_but_succeeds_is_logged_and_counts() {
    let dir = tempfile::tempdir().expect("dir");
    let fixture = fixtures().join("docker-nft.ipv4.rules");
    let save = script(
        dir.path(),
        "v4",
        &format!(
            "echo 'Warning: iptables-legacy tables present' >&2; cat '{}'",
            fixture.display()
        ),
    );
    let exporter = Exporter::ipv4(&save, &[]);
    let body = exporter.scrape();
    assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("1"));
    assert_eq!(http::ruleset_part(&body), golden("docker-nft.ipv4.rules"));
    let log = exporter.log();
    let warning = log
        .lines()
        .find(|l| l.contains("command wrote to stderr"))
        .unwrap_or_else(|| panic!("no warning; log:\n{log}"));
    assert!(
        warning.contains(" WARN ") && warning.contains("iptables-legacy tables present"),
        "{warning}"
    );
}

#[test]
fn what_save_commands_print_on_stderr_cannot_forge_log_lines() {
    let dir = tempfile::tempdir().expect("dir");
    let fixture = fixtures().join("docker-nft.ipv4.rules");
    let forged = r#"printf 'oops\n2026-01-01T00:00:00Z ERROR forged entry\n' >&2"#;
    let warns = script(
        dir.path(),
        "v4",
        &format!("{forged}; cat '{}'", fixture.display()),
    );
    let fails = script(dir.path(), "v6", &format!("{forged}; exit 1"));
    let exporter = Exporter::both(&warns, &fails, &[]);
    let body = exporter.scrape();
    assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("1"));
    assert_eq!(scrape_success(&body, "ipv6").as_deref(), Some("0"));
    let log = exporter.log();
    // Once per family and collection: the start-up one and the scrape's.
    assert_eq!(log.matches("forged entry").count(), 4, "log:\n{log}");
    assert_no_forged_lines(&log);
}

#[test]
fn families_come_in_the_order_configured() {
    let dir = tempfile::tempdir().expect("dir");
    let v4 = cat_fixture(dir.path(), "v4", "docker-nft.ipv4.rules");
    let v6 = cat_fixture(dir.path(), "v6", "ipv6-nft.ipv6.rules");
    let exporter = Exporter::both(&v4, &v6, &["--iptables.families=ipv6,ipv4"]);
    let body = exporter.scrape();
    let samples = http::parse_samples(&body);
    // Within each metric, every ipv6 sample comes before any ipv4 one (the
    // exporter's own metrics, `iptables_exporter_*`, are in the order of
    // their registry).
    let mut last: Option<(&str, &str)> = None;
    for ((name, labels), _) in &samples {
        let Some(family) = labels.get("family") else {
            continue;
        };
        if name.starts_with("iptables_exporter_") {
            continue;
        }
        if let Some((last_name, last_family)) = last
            && last_name == name
        {
            assert!(
                !(last_family == "ipv4" && family == "ipv6"),
                "{name}: an ipv6 sample after an ipv4 one"
            );
        }
        last = Some((name, family));
    }
    let success: Vec<&str> = samples
        .iter()
        .filter(|((name, _), _)| name == "iptables_scrape_success")
        .filter_map(|((_, labels), _)| labels.get("family").map(String::as_str))
        .collect();
    assert_eq!(success, ["ipv6", "ipv4"]);
    let rules: Vec<&str> = samples
        .iter()
        .filter(|((name, _), _)| name == "iptables_rules")
        .filter_map(|((_, labels), _)| labels.get("family").map(String::as_str))
        .collect();
    assert!(
        rules.first() == Some(&"ipv6") && rules.last() == Some(&"ipv4"),
        "{rules:?}"
    );
}

#[test]
fn a_default_family_whose_command_is_missing_is_left_out() {
    let dir = tempfile::tempdir().expect("dir");
    let v4 = cat_fixture(dir.path(), "v4", "docker-nft.ipv4.rules");
    let exporter = Exporter::start(&[
        &format!("--iptables.save-path={}", v4.display()),
        "--ip6tables.save-path=/nonexistent/ip6tables-save",
    ]);
    assert!(
        exporter
            .log()
            .contains("save command not found; family left out"),
        "log:\n{}",
        exporter.log()
    );
    let body = exporter.scrape();
    assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("1"));
    assert_eq!(
        scrape_success(&body, "ipv6"),
        None,
        "left out: no series at all"
    );

    std::fs::remove_file(&v4).expect("remove the save command");
    let body = exporter.scrape();
    assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("0"));
    assert!(
        exporter.log().contains("cannot start"),
        "log:\n{}",
        exporter.log()
    );
}

#[test]
fn a_named_family_always_reports_and_finds_its_command_once_installed() {
    let dir = tempfile::tempdir().expect("dir");
    let v4 = cat_fixture(dir.path(), "v4", "docker-nft.ipv4.rules");
    let v6_path = dir.path().join("v6");
    let exporter = Exporter::both(&v4, &v6_path, &["--iptables.families=ipv4,ipv6"]);
    assert!(
        exporter
            .log()
            .contains("iptables_scrape_success will be 0 until it is installed"),
        "log:\n{}",
        exporter.log()
    );
    for _ in 0..2 {
        let body = exporter.scrape();
        assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("1"));
        assert_eq!(scrape_success(&body, "ipv6").as_deref(), Some("0"));
    }
    cat_fixture(dir.path(), "v6", "ipv6-nft.ipv6.rules");
    let body = exporter.scrape();
    assert_eq!(
        scrape_success(&body, "ipv6").as_deref(),
        Some("1"),
        "installed later"
    );
}

#[test]
fn with_no_save_command_at_all_the_defaults_refuse_to_start_and_named_ones_report_zero() {
    let missing = [
        "--iptables.save-path=/nonexistent/iptables-save",
        "--ip6tables.save-path=/nonexistent/ip6tables-save",
    ];
    let (status, stderr) = start_failure(&missing);
    assert!(!status.success());
    assert!(stderr.contains("no save command found"), "{stderr}");

    let mut named = missing.to_vec();
    named.push("--iptables.families=ipv6");
    let exporter = Exporter::start(&named);
    let body = exporter.scrape();
    assert_eq!(scrape_success(&body, "ipv6").as_deref(), Some("0"));
    assert_eq!(scrape_success(&body, "ipv4"), None);
}

#[test]
fn tables_iptables_nft_cannot_show_are_counted_and_logged() {
    let dir = tempfile::tempdir().expect("dir");
    let incompatible = cat_fixture(dir.path(), "v4", "incompatible-nft.ipv4.rules");
    let plain = cat_fixture(dir.path(), "v6", "ipv6-nft.ipv6.rules");
    let exporter = Exporter::both(&incompatible, &plain, &[]);
    let all = http::parse_exposition(&exporter.scrape());
    let gauge = |family: &str| {
        all.get(&(
            "iptables_incompatible_tables".to_owned(),
            http::labels(&[("family", family)]),
        ))
        .cloned()
    };
    assert_eq!(gauge("ipv4").as_deref(), Some("2"), "mangle and filter");
    assert_eq!(gauge("ipv6").as_deref(), Some("0"));
    let log = exporter.log();
    assert!(
        log.contains("could not show these tables")
            && log.contains(r#"tables=["mangle", "filter"]"#),
        "log:\n{log}"
    );
}

#[test]
fn one_rule_of_non_utf8_bytes_as_long_as_the_input_allows_still_renders() {
    // 270 KB of bytes that are not UTF-8, each becoming U+FFFD (3 bytes):
    // more than twice the input, which is still an honest piece.
    let dir = tempfile::tempdir().expect("dir");
    let v4 = save_with_a_non_utf8_comment(dir.path(), 270_000);
    let v6 = cat_fixture(dir.path(), "v6", "ipv6-nft.ipv6.rules");
    let exporter = Exporter::both(&v4, &v6, &[]);
    let body = exporter.scrape();
    assert_eq!(
        scrape_success(&body, "ipv4").as_deref(),
        Some("1"),
        "log:\n{}",
        exporter.log()
    );
    assert_eq!(scrape_success(&body, "ipv6").as_deref(), Some("1"));
    assert!(body.contains(&"\u{fffd}".repeat(270_000)));
}

/// A family whose longest line cannot fit the sandbox's memory fails
/// before any of its text is sent: the other family is served whole and
/// the response is complete, with the failing family's success 0. (Were
/// the limit hit in the middle of its text, the whole response would be
/// cut, on every scrape, and no one would ever see success 0.)
#[test]
fn a_family_whose_longest_line_cannot_fit_fails_before_any_of_its_text() {
    // 7.5 MB of bytes that are not UTF-8: 22.5 MB once replaced, twice in
    // its line with the comment as a label. Input, parsed text and that
    // line do not fit in 64 MiB; input and parsed text alone do.
    let dir = tempfile::tempdir().expect("dir");
    let v4 = save_with_a_non_utf8_comment(dir.path(), 7_500_000);
    let v6 = cat_fixture(dir.path(), "v6", "ipv6-nft.ipv6.rules");
    let exporter = Exporter::both(
        &v4,
        &v6,
        &["--sandbox.max-memory=64MiB", "--iptables.comment-label"],
    );
    for scrape in 1..=2 {
        let body = exporter.scrape();
        assert_eq!(
            scrape_success(&body, "ipv4").as_deref(),
            Some("0"),
            "scrape {scrape}"
        );
        assert_eq!(scrape_success(&body, "ipv6").as_deref(), Some("1"));
        let lines = ruleset_lines(&body);
        assert!(
            !lines.iter().any(|l| l.contains("family=\"ipv4\"")),
            "ipv4 series were sent before it failed"
        );
        assert!(lines.iter().any(|l| l.contains("family=\"ipv6\"")));
    }
    let log = exporter.log();
    assert!(
        log.contains("asked for more than its memory limit"),
        "log:\n{log}"
    );
    assert!(!log.contains("response aborted"), "log:\n{log}");
}

#[test]
fn a_failed_family_reports_zero_and_exports_nothing_while_the_other_works() {
    let dir = tempfile::tempdir().expect("dir");
    let v4 = cat_fixture(dir.path(), "v4", "docker-nft.ipv4.rules");
    let v6 = script(
        dir.path(),
        "v6",
        "echo '*filter'; echo 'ip6tables: broken' >&2; exit 3",
    );
    let exporter = Exporter::both(&v4, &v6, &[]);
    let body = exporter.scrape();
    assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("1"));
    assert_eq!(scrape_success(&body, "ipv6").as_deref(), Some("0"));
    assert!(
        !ruleset_lines(&body)
            .iter()
            .any(|l| l.contains("family=\"ipv6\"")),
        "ipv6 series exported"
    );
    assert!(body.contains("iptables_scrape_duration_seconds{family=\"ipv6\"}"));
    let log = exporter.log();
    assert!(
        log.contains("exit status: 3") && log.contains("ip6tables: broken"),
        "log:\n{log}"
    );
}

#[test]
fn malformed_output_reports_zero_with_the_line_in_the_log() {
    let dir = tempfile::tempdir().expect("dir");
    let v4 = cat_fixture(dir.path(), "v4", "bad/counter-not-a-number.rules");
    let exporter = Exporter::ipv4(&v4, &[]);
    let body = exporter.scrape();
    assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("0"));
    assert!(
        ruleset_lines(&body).is_empty(),
        "series from a malformed dump: {body}"
    );
    assert!(
        !body.contains("iptables_rules{"),
        "series from a malformed dump"
    );
    let log = exporter.log();
    assert!(log.contains("line 3: bad counter"), "log:\n{log}");
}

#[test]
fn a_sandbox_limit_fails_that_scrape_only() {
    let dir = tempfile::tempdir().expect("dir");
    let dump = dir.path().join("dump.rules");
    std::fs::write(
        &dump,
        ruleset_generator::generate(50_000, 1, exposition::Family::Ipv4),
    )
    .expect("big dump");
    let save = script(dir.path(), "v4", &format!("cat '{}'", dump.display()));
    let exporter = Exporter::ipv4(&save, &["--sandbox.max-memory=8MiB"]);
    let body = exporter.scrape();
    assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("0"));
    assert!(
        ruleset_lines(&body).is_empty(),
        "series despite the memory limit"
    );
    let log = exporter.log();
    assert!(log.contains("memory limit of 8388608 bytes"), "log:\n{log}");

    std::fs::copy(fixtures().join("ufw-nft.ipv4.rules"), &dump).expect("small dump");
    let body = exporter.scrape();
    assert_eq!(
        scrape_success(&body, "ipv4").as_deref(),
        Some("1"),
        "log:\n{}",
        exporter.log()
    );
}

#[test]
fn a_hanging_save_command_is_killed_at_the_timeout_with_its_whole_group() {
    let dir = tempfile::tempdir().expect("dir");
    let hanging = HangingSave::new(dir.path());
    // Long enough for the script to write its group on a loaded machine; a
    // scrape that never ended would fail on the client's read timeout.
    // The scrape waits for the start-up collection.
    let exporter = Exporter::ipv4_listening(&hanging.save, &["--iptables.timeout=3s"]);
    let body = exporter.scrape();
    assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("0"));
    assert!(
        exporter.log().contains("did not finish within 3s"),
        "log:\n{}",
        exporter.log()
    );
    // The command and what it started: its whole process group.
    wait_until_group_gone(hanging.group());
    // And nothing left to reap: children of every thread of the exporter
    // (tokio spawns from its worker threads); unreadable is a failure.
    let tasks = std::fs::read_dir(format!("/proc/{}/task", exporter.pid())).expect("task list");
    for task in tasks {
        let task = task.expect("task").path();
        let children = std::fs::read_to_string(task.join("children"))
            .unwrap_or_else(|e| panic!("{}: {e}", task.display()));
        assert_eq!(
            children.trim(),
            "",
            "children left behind by {}",
            task.display()
        );
    }
}

#[test]
fn save_command_faults_report_zero_and_export_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let fixture = fixtures().join("kube-proxy-nft.ipv4.rules");
    let head = |n: usize| format!("head -n {n} '{}'", fixture.display());
    let cases = [
        (
            "killed by a signal",
            format!("{}; kill -9 $$", head(20)),
            "signal: 9",
        ),
        ("truncated output", head(30), "end of input while table"),
        (
            "more than the output cap",
            format!("cat '{}'", fixture.display()),
            "printed more than 4096 bytes",
        ),
    ];
    for (name, body, cause) in cases {
        let save = script(dir.path(), "v4", &body);
        let exporter = Exporter::ipv4(&save, &["--iptables.max-output=4096"]);
        let scraped = exporter.scrape();
        assert_eq!(
            scrape_success(&scraped, "ipv4").as_deref(),
            Some("0"),
            "{name}"
        );
        assert!(
            ruleset_lines(&scraped).is_empty() && !scraped.contains("iptables_rules{"),
            "{name}: partial series"
        );
        assert!(
            exporter.log().contains(cause),
            "{name}: no `{cause}` in the log:\n{}",
            exporter.log()
        );
    }
}
