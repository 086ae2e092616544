//! Golden files: each fixture rendered natively and through the component,
//! compared byte for byte with `NAME.FAMILY.prom` (valid) or `bad/NAME.err`
//! (malformed). `UPDATE_GOLDEN=1` rewrites the expected files from the
//! native render; review the diff before committing it.

mod common;

use common::*;
use parser_wasm::Family;
use std::path::Path;

fn update() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some()
}

/// Compares `got` with the file at `expected`, or writes it when updating.
fn check_golden(expected: &Path, got: &str, failures: &mut Vec<String>) {
    if update() {
        std::fs::write(expected, got).expect("writing golden file");
        return;
    }
    match std::fs::read_to_string(expected) {
        Ok(want) if want == got => {}
        Ok(want) => failures.push(format!(
            "{} differs\n--- expected\n{want}\n--- got\n{got}",
            expected.display()
        )),
        Err(err) => failures.push(format!(
            "{}: {err} (run with UPDATE_GOLDEN=1)",
            expected.display()
        )),
    }
}

#[test]
fn valid_fixtures_match_their_expositions() {
    let sandbox = sandbox();
    let inputs = files_ending(&fixtures(), ".rules");
    assert!(
        inputs.len() >= 15,
        "expected at least 15 fixtures, found {}",
        inputs.len()
    );
    let mut failures = Vec::new();
    for input in &inputs {
        let family = fixture_family(input);
        let bytes = std::fs::read(input).expect("fixture readable");
        let native =
            render_native(family, &bytes).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
        let component = render_component(&sandbox, family, &bytes);
        assert_eq!(
            component.as_ref(),
            Ok(&native),
            "{}: component and native differ",
            input.display()
        );
        check_golden(&input.with_extension("prom"), &native, &mut failures);
        let problems = promtool_problems(&native);
        assert!(
            problems.is_empty(),
            "{}: promtool says:\n{problems}",
            input.display()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn malformed_fixtures_fail_with_their_messages() {
    let sandbox = sandbox();
    let inputs = files_ending(&fixtures().join("bad"), ".rules");
    assert!(
        inputs.len() >= 10,
        "expected the malformed cases, found {}",
        inputs.len()
    );
    let mut failures = Vec::new();
    for input in &inputs {
        let bytes = std::fs::read(input).expect("fixture readable");
        let native = render_native(Family::Ipv4, &bytes)
            .err()
            .unwrap_or_else(|| panic!("{} parsed but should not", input.display()));
        let component = render_component(&sandbox, Family::Ipv4, &bytes);
        assert_eq!(
            component,
            Err(native.clone()),
            "{}: component and native differ",
            input.display()
        );
        let line: usize = native
            .strip_prefix("line ")
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "{}: message without a line number: {native}",
                    input.display()
                )
            });
        let lines = bytes.split(|&b| b == b'\n').count();
        assert!(
            line >= 1 && line <= lines + 1,
            "{}: line {line} outside the input",
            input.display()
        );
        check_golden(
            &input.with_extension("err"),
            &format!("{native}\n"),
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn public_dumps_render_and_pass_promtool() {
    let sandbox = sandbox();
    let root = public_fixtures();
    let mut dumps = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
        let dir = dir.expect("entry").path();
        if dir.is_dir() {
            dumps.extend(files_ending(&dir, ".save"));
        }
    }
    assert!(
        dumps.len() >= 25,
        "expected the public dumps, found {}",
        dumps.len()
    );
    for dump in &dumps {
        // SOURCES.md marks none of these as malformed; all must render.
        let family = if dump.to_string_lossy().contains("ip6tables") {
            Family::Ipv6
        } else {
            Family::Ipv4
        };
        let bytes = std::fs::read(dump).expect("dump readable");
        let native =
            render_native(family, &bytes).unwrap_or_else(|e| panic!("{}: {e}", dump.display()));
        let component = render_component(&sandbox, family, &bytes);
        assert_eq!(
            component.as_ref(),
            Ok(&native),
            "{}: component and native differ",
            dump.display()
        );
        assert!(
            native.contains("iptables_rules{"),
            "{}: no series",
            dump.display()
        );
        let problems = promtool_problems(&native);
        assert!(
            problems.is_empty(),
            "{}: promtool says:\n{problems}",
            dump.display()
        );
    }
}
