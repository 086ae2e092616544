//! Golden files: every fixture and every public dump rendered natively,
//! through the component in one call, and the way the server renders it (an
//! instance per family, pieces of 1, 7, 4096 and 262144 bytes taken a
//! metric at a time), each byte for byte against its expected exposition
//! (`NAME.prom`); that exposition checked against an independent model of
//! the metrics contract (`common/save.rs`) and `promtool check metrics`.
//! Malformed dumps fail with the message in `bad/NAME.err` on every path.
//!
//! `UPDATE_GOLDEN=1` (exactly) rewrites the expected files from the native
//! render; review the diff before committing it. CI fails if a run leaves
//! them different from the commit.

use crate::common;

use common::save::{cut_inline_counters, model_samples};
use common::*;
use exposition::Family;
use std::path::{Path, PathBuf};

/// The piece sizes the server's path is checked with: a line at a time,
/// odd sizes, and the size the server uses.
const PIECE_SIZES: [u32; 4] = [1, 7, 4096, 262_144];

fn update() -> bool {
    std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1")
}

/// Every valid dump: the fixtures (family from the name) and the public
/// dumps (family from SOURCES.md), each with its expected exposition.
fn valid_dumps() -> Vec<(PathBuf, Family)> {
    let mut dumps: Vec<(PathBuf, Family)> = files_ending(&fixtures(), ".rules")
        .into_iter()
        .map(|path| {
            let family = fixture_family(&path);
            (path, family)
        })
        .collect();
    assert_eq!(dumps.len(), 20, "the fixtures, one a .rules file each");
    let public = public_dumps();
    assert_eq!(public.len(), 28, "the public dumps SOURCES.md lists");
    dumps.extend(public);
    dumps
}

/// The expected text at `expected`, after writing `native` there when
/// updating.
fn golden(expected: &Path, native: &str) -> String {
    if update() {
        std::fs::write(expected, native).expect("writing golden file");
    }
    std::fs::read_to_string(expected)
        .unwrap_or_else(|err| panic!("{}: {err} (run with UPDATE_GOLDEN=1)", expected.display()))
}

#[test]
fn valid_dumps_match_their_expositions_on_every_path() {
    let sandbox = sandbox();
    let mut failures = Vec::new();
    for (input, family) in valid_dumps() {
        let name = input.display().to_string();
        let bytes = std::fs::read(&input).expect("dump readable");
        let native = render_native(family, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = golden(&input.with_extension("prom"), &native);
        let mut check = |path: &str, got: Result<String, String>| {
            if got.as_ref() != Ok(&want) {
                failures.push(format!("{name}: {path} differs from the golden file"));
            }
        };
        check("native", Ok(native));
        check(
            "component, one call",
            render_component(&sandbox, family, &bytes),
        );
        for size in PIECE_SIZES {
            check(
                &format!("component, streamed in pieces of {size}"),
                render_component_streamed(&sandbox, family, &bytes, size),
            );
        }
        let got: Vec<(http::Series, u128)> = http::parse_samples(&want)
            .into_iter()
            .map(|(series, value)| (series, value.parse().expect("integer value")))
            .collect();
        let model = model_samples(family.label(), &bytes);
        if got != model {
            let first = got.iter().zip(&model).position(|(g, m)| g != m);
            failures.push(format!(
                "{name}: the golden file disagrees with the model of the contract ({} samples vs {}; first difference at {first:?}: {:?} vs {:?})",
                got.len(),
                model.len(),
                first.map(|i| &got[i]),
                first.map(|i| &model[i]),
            ));
        }
        let problems = promtool_problems(&want);
        if !problems.is_empty() {
            failures.push(format!("{name}: promtool says:\n{problems}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The hand-written table of `fixtures/bad/EXPECTED.md`: each malformed
/// dump's name, the line it goes wrong on, and words its message quotes.
fn expected_failures() -> Vec<(String, usize, String)> {
    let text = std::fs::read_to_string(fixtures().join("bad/EXPECTED.md")).expect("EXPECTED.md");
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split(" | ").collect();
            let [name, number, words] = cells[..] else {
                return None;
            };
            let number = number.trim().parse().ok()?;
            let words = words.trim();
            let words = words
                .strip_prefix('`')
                .and_then(|w| w.strip_suffix('`'))
                .unwrap_or(words);
            Some((name.trim().to_owned(), number, words.to_owned()))
        })
        .collect()
}

/// Each malformed dump's message names the line and quotes the words a
/// person wrote down for it, not what the parser happened to say.
#[test]
fn every_error_message_names_the_line_written_down_by_hand() {
    let expected = expected_failures();
    let mut names: Vec<String> = files_ending(&fixtures().join("bad"), ".rules")
        .iter()
        .map(|p| {
            p.file_stem()
                .expect("a name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    let mut listed: Vec<String> = expected.iter().map(|(name, ..)| name.clone()).collect();
    listed.sort();
    assert_eq!(
        listed, names,
        "EXPECTED.md lists every malformed dump, once"
    );
    for (name, line, words) in &expected {
        let message = std::fs::read_to_string(fixtures().join(format!("bad/{name}.err")))
            .expect("the .err file");
        assert!(
            message.starts_with(&format!("line {line}: ")),
            "{name}: {message}"
        );
        assert!(
            message.contains(words.as_str()),
            "{name}: no `{words}` in {message}"
        );
    }
}

#[test]
fn malformed_fixtures_fail_with_their_messages_on_every_path() {
    let sandbox = sandbox();
    let inputs = files_ending(&fixtures().join("bad"), ".rules");
    assert_eq!(
        inputs.len(),
        expected_failures().len(),
        "every malformed dump, as fixtures/bad/EXPECTED.md lists them"
    );
    let mut failures = Vec::new();
    for input in &inputs {
        let name = input.display().to_string();
        let bytes = std::fs::read(input).expect("fixture readable");
        let native = render_native(Family::Ipv4, &bytes)
            .err()
            .unwrap_or_else(|| panic!("{name} parsed but should not"));
        let line: usize = native
            .strip_prefix("line ")
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name}: message without a line number: {native}"));
        let lines = bytes.split(|&b| b == b'\n').count();
        assert!(
            line >= 1 && line <= lines + 1,
            "{name}: line {line} outside the input"
        );
        let want = golden(&input.with_extension("err"), &format!("{native}\n"));
        let want = want.trim_end_matches('\n');
        let mut paths = vec![
            ("native", Err(native.clone())),
            (
                "component, one call",
                render_component(&sandbox, Family::Ipv4, &bytes),
            ),
        ];
        for size in [1, 262_144] {
            paths.push((
                "component, streamed",
                render_component_streamed(&sandbox, Family::Ipv4, &bytes, size),
            ));
        }
        for (path, got) in paths {
            if got.as_ref().map_err(String::as_str) != Err(want) {
                failures.push(format!("{name}: {path} gave {got:?}, want {want:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Two families rendered together as the server does: each metric's
/// samples together, ipv4's then ipv6's, the header once; a malformed
/// family leaves no trace and does not disturb the other.
#[test]
fn families_stream_into_one_exposition() {
    let sandbox = sandbox();
    let v4 = std::fs::read(fixtures().join("docker-nft.ipv4.rules")).expect("v4");
    let v6 = std::fs::read(fixtures().join("ipv6-nft.ipv6.rules")).expect("v6");
    let bad = std::fs::read(fixtures().join("bad/counter-not-a-number.rules")).expect("bad");
    let native = |dumps: &[(Family, &[u8])]| {
        let dumps: Vec<parser_wasm::Dump<'_>> = dumps
            .iter()
            .map(|(family, input)| parser_wasm::Dump::new(*family, input))
            .collect();
        parser_wasm::render_dumps(&dumps).exposition
    };
    let cases: [&[(Family, &[u8])]; 3] = [
        &[(Family::Ipv4, &v4), (Family::Ipv6, &v6)],
        &[(Family::Ipv6, &v6), (Family::Ipv4, &v4)],
        &[(Family::Ipv4, &bad), (Family::Ipv6, &v6)],
    ];
    for dumps in cases {
        let want = native(dumps);
        assert_eq!(
            want.matches("# TYPE iptables_rules gauge").count(),
            1,
            "one header per metric"
        );
        for size in PIECE_SIZES {
            let (got, outcomes) = render_streamed(&sandbox, dumps, size);
            assert_eq!(got, want, "pieces of {size}");
            let failed: Vec<bool> = outcomes.iter().map(Result::is_err).collect();
            let bad_first = dumps[0].1 == bad.as_slice();
            assert_eq!(failed, [bad_first, false]);
        }
    }
    let v6_alone = native(&[(Family::Ipv6, &v6)]);
    assert_eq!(
        native(cases[2]),
        v6_alone,
        "a malformed family leaves no trace"
    );
}

#[test]
fn the_contract_model_reads_the_contract_s_example() {
    let example = b"*filter\n:INPUT DROP [10:600]\n:FORWARD ACCEPT [0:0]\n:LOGGING - [0:0]\n[5:300] -A INPUT -s 10.0.0.0/8 ! -i lo -m comment --comment \"keep  this\" -j ACCEPT\n[1:40] -A INPUT -p tcp -j LOGGING\n[1:40] -A INPUT -p tcp -j LOGGING\nCOMMIT\n";
    let samples = model_samples("ipv4", example);
    let values: Vec<(&str, u128)> = samples.iter().map(|((m, _), v)| (m.as_str(), *v)).collect();
    assert_eq!(
        values,
        [
            ("iptables_default_packets_total", 10),
            ("iptables_default_packets_total", 0),
            ("iptables_default_packets_total", 0),
            ("iptables_default_bytes_total", 600),
            ("iptables_default_bytes_total", 0),
            ("iptables_default_bytes_total", 0),
            ("iptables_rule_packets_total", 5),
            ("iptables_rule_packets_total", 2),
            ("iptables_rule_bytes_total", 300),
            ("iptables_rule_bytes_total", 80),
            ("iptables_rules", 3),
            ("iptables_rules", 0),
            ("iptables_rules", 0),
        ]
    );
    assert_eq!(
        cut_inline_counters("-j X\t-c 1 2"),
        ("-j X".to_owned(), Some((1, 2)))
    );
    assert_eq!(
        cut_inline_counters("--comment \"-c 1 2\" -c 3 4 -j Y"),
        ("--comment \"-c 1 2\" -j Y".to_owned(), Some((3, 4)))
    );
}

/// The promtool check the golden files go through finds what it should:
/// text that does not parse, a lint problem, and nothing in clean text.
#[test]
fn the_promtool_check_can_fail() {
    assert_eq!(
        promtool_problems("# HELP x_total An x.\n# TYPE x_total counter\nx_total 1\n"),
        ""
    );
    for bad in ["x{a=\"1\"} not-a-number\n", "# TYPE x counter\nx 1\n"] {
        assert!(!promtool_problems(bad).is_empty(), "{bad:?} passed");
    }
}
