//! The sandbox's limits, shown with a component built to break them
//! (`tests/hostile-guest`): endless loops, unbounded allocation, a panic, an
//! exit, oversized and endless output, and an import (the host gives none).
//! Each fails its render with its own cause, within its bound, costs only
//! the family whose dump caused it, and the next render works.

use crate::common;

use common::exporter::{Exporter, scrape_success, script};
use common::http;
use exposition::Family;
use iptables_exporter::sandbox::{
    Aborted, Dump, Error, Failure, FamilyReport, Limits, Options, Sandbox,
};
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_millis(500);
/// How many deadlines a failing render may take, instantiation and a
/// loaded machine included; an unbounded one would take far more.
const DEADLINES_AT_MOST: u32 = 5;
const MAX_MEMORY: usize = 32 << 20;
const MAX_OUTPUT: usize = 8 << 20;

/// Builds the hostile guest (with `features`) as the parser is built: a
/// core module for wasm32-unknown-unknown wrapped into a component; returns
/// the component's path.
fn build(features: &'static str) -> PathBuf {
    let root = common::repo_root();
    let manifest = root.join("host/tests/hostile-guest/Cargo.toml");
    let target_dir = root
        .join("target/hostile-guest")
        .join(if features.is_empty() {
            "plain"
        } else {
            features
        });
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir);
    if !features.is_empty() {
        command.args(["--features", features]);
    }
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
    ] {
        command.env_remove(var);
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building the hostile guest failed");
    let module =
        std::fs::read(target_dir.join("wasm32-unknown-unknown/release/hostile_guest.wasm"))
            .expect("the guest module");
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .expect("a component of the guest module");
    let path = target_dir.join("hostile_guest.component.wasm");
    std::fs::write(&path, component).expect("writing the component");
    path
}

fn hostile() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| build(""))
}

fn sandbox() -> Sandbox {
    sandbox_with_memory(MAX_MEMORY)
}

fn limits(max_memory_bytes: usize, deadline: Duration) -> Limits {
    Limits {
        max_memory_bytes,
        deadline,
        max_exposition_bytes: MAX_OUTPUT,
    }
}

fn sandbox_with(limits: Limits) -> Sandbox {
    let bytes = std::fs::read(hostile()).expect("component");
    Sandbox::new(&bytes, limits).expect("the hostile guest imports only what it may")
}

fn sandbox_with_memory(max_memory_bytes: usize) -> Sandbox {
    sandbox_with(limits(max_memory_bytes, DEADLINE))
}

fn dump_of(family: Family, mode: &str) -> Dump {
    Dump::new(family, format!("{mode}\n").into_bytes())
}

fn dump(mode: &str) -> Vec<Dump> {
    vec![dump_of(Family::Ipv4, mode)]
}

/// Renders the dumps as the server does: the text handed out, how each
/// family fared, and how long it took.
fn render(
    sandbox: &Sandbox,
    dumps: Vec<Dump>,
) -> (String, Result<Vec<FamilyReport>, Aborted>, Duration) {
    let started = Instant::now();
    let mut text = String::new();
    let result = sandbox.render_families(dumps, Options::TEXT, 256 * 1024, |piece| {
        text.push_str(&piece)
    });
    (text, result, started.elapsed())
}

/// One family rendered as the server does: the bytes handed out, or why it failed.
fn streamed(sandbox: &Sandbox, mode: &str) -> (Result<usize, Error>, Duration) {
    let (text, result, elapsed) = render(sandbox, dump(mode));
    let outcome = match result {
        Ok(mut reports) => match reports.pop().map(|r| r.outcome) {
            Some(Ok(_)) => Ok(text.len()),
            Some(Err(Failure::Sandbox(err))) => Err(err),
            other => panic!("{mode}: {other:?}"),
        },
        Err(aborted) => Err(aborted.error),
    };
    (outcome, elapsed)
}

/// The text a well-behaved ipv6 dump renders to, alone.
const IPV6_ALONE: &str = "# HELP iptables_rules Number of rules in a chain.\n# TYPE iptables_rules gauge\niptables_rules{family=\"ipv6\",table=\"filter\",chain=\"HOSTILE\"} 1\n";

/// The modes that fail before any of their text is out.
const EARLY_FAILURES: [&str; 7] = [
    "loop-parse",
    "loop-render",
    "alloc",
    "trap",
    "exit",
    "huge",
    "malformed",
];

#[test]
fn each_misbehaviour_fails_with_its_cause_and_the_next_render_works() {
    let sandbox = sandbox();
    type Check = fn(&Error) -> bool;
    let cases: &[(&str, Check)] = &[
        ("loop-parse", |e| matches!(e, Error::Deadline(_))),
        ("loop-render", |e| matches!(e, Error::Deadline(_))),
        ("alloc", |e| matches!(e, Error::MemoryLimit(MAX_MEMORY))),
        ("trap", |e| matches!(e, Error::Trap(_))),
        ("exit", |e| matches!(e, Error::Trap(_))),
        ("huge", |e| matches!(e, Error::OversizedChunk(_))),
        ("endless", |e| {
            matches!(e, Error::OutputTooLarge(MAX_OUTPUT))
        }),
    ];
    for (mode, check) in cases {
        let (result, elapsed) = streamed(&sandbox, mode);
        match result {
            Err(err) => assert!(check(&err), "{mode}: wrong cause: {err}"),
            Ok(bytes) => panic!("{mode}: rendered {bytes} bytes"),
        }
        assert!(
            elapsed < DEADLINE * DEADLINES_AT_MOST,
            "{mode}: took {elapsed:?}"
        );
        let (after, _) = streamed(&sandbox, "ok");
        assert!(
            matches!(after, Ok(n) if n > 0),
            "{mode}: the next render failed: {after:?}"
        );
    }
}

#[test]
fn a_family_that_fails_early_costs_only_itself_in_either_order() {
    let sandbox = sandbox();
    for mode in EARLY_FAILURES {
        for failing_first in [true, false] {
            let dumps = if failing_first {
                vec![dump_of(Family::Ipv4, mode), dump_of(Family::Ipv6, "ok")]
            } else {
                vec![dump_of(Family::Ipv6, "ok"), dump_of(Family::Ipv4, mode)]
            };
            let (text, result, elapsed) = render(&sandbox, dumps);
            let reports = result.unwrap_or_else(|err| panic!("{mode}: aborted: {err}"));
            for report in &reports {
                let ok = report.outcome.is_ok();
                assert_eq!(
                    ok,
                    report.family == Family::Ipv6,
                    "{mode}: {} {:?}",
                    report.family,
                    report.outcome
                );
            }
            assert_eq!(text, IPV6_ALONE, "{mode}: the good family's text");
            assert!(
                elapsed < DEADLINE * DEADLINES_AT_MOST,
                "{mode}: took {elapsed:?}"
            );
        }
    }
}

#[test]
fn failing_families_take_about_one_deadline_together() {
    let deadline = Duration::from_secs(3);
    let sandbox = sandbox_with(limits(MAX_MEMORY, deadline));
    for mode in ["loop-parse", "loop-render"] {
        let dumps = vec![dump_of(Family::Ipv4, mode), dump_of(Family::Ipv6, mode)];
        let (text, result, elapsed) = render(&sandbox, dumps);
        let reports = result.expect("nothing was handed out");
        assert!(
            reports
                .iter()
                .all(|r| matches!(r.outcome, Err(Failure::Sandbox(Error::Deadline(_))))),
            "{mode}: {reports:?}"
        );
        assert_eq!(text, "");
        // One after the other would take two deadlines.
        assert!(
            elapsed < deadline * 7 / 4,
            "{mode}: took {elapsed:?}, not one deadline of {deadline:?}"
        );
    }
}

#[test]
fn a_failure_after_text_was_handed_out_aborts_the_rendering() {
    let sandbox = sandbox();
    let dumps = vec![
        dump_of(Family::Ipv4, "late-loop"),
        dump_of(Family::Ipv6, "ok"),
    ];
    let (text, result, elapsed) = render(&sandbox, dumps);
    match result {
        Err(Aborted {
            family: Family::Ipv4,
            error: Error::Deadline(_),
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(
        text.contains("family=\"ipv4\""),
        "the first piece was out: {text}"
    );
    assert!(elapsed < DEADLINE * DEADLINES_AT_MOST, "took {elapsed:?}");
}

#[test]
fn the_one_call_render_is_bounded_too() {
    let sandbox = sandbox();
    // Only the loop is meant to meet the deadline: the others get one a
    // loaded machine cannot reach, so that they fail for their own cause.
    let patient = sandbox_with(limits(MAX_MEMORY, Duration::from_secs(60)));
    for (mode, sandbox, want) in [
        ("loop-render", &sandbox, "deadline"),
        ("huge", &patient, "memory limit"),
        ("trap", &patient, "failed"),
    ] {
        match sandbox.render(dump(mode), Options::TEXT) {
            Err(err) => assert!(err.to_string().contains(want), "{mode}: {err}"),
            Ok(r) => panic!("{mode}: rendered {} bytes", r.exposition.len()),
        }
    }
    // Room in memory for the 64 MiB text, not in the output cap.
    let roomy = sandbox_with_memory(256 << 20);
    match roomy.render(dump("huge"), Options::TEXT) {
        Err(err) => assert!(
            matches!(err, Error::OutputTooLarge(MAX_OUTPUT)),
            "huge: {err}"
        ),
        Ok(r) => panic!(
            "huge: rendered {} bytes past the output cap",
            r.exposition.len()
        ),
    }
    let ok = sandbox.render(dump("ok"), Options::TEXT).expect("renders");
    assert!(ok.exposition.contains("chain=\"HOSTILE\""));
}

#[test]
fn a_component_importing_anything_is_refused_at_load() {
    let bytes = std::fs::read(build("import")).expect("component");
    match Sandbox::new(&bytes, limits(MAX_MEMORY, DEADLINE)) {
        Err(Error::Load(err)) => assert!(format!("{err:#}").contains("smuggled"), "{err:#}"),
        Err(err) => panic!("refused for another reason: {err}"),
        Ok(_) => panic!("a component with an import was loaded"),
    }
}

fn vm_hwm_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

#[test]
fn the_server_reports_each_failure_for_its_family_only_logs_its_cause_and_stays_up() {
    let dir = tempfile::tempdir().expect("dir");
    let mode_file = dir.path().join("mode");
    let save = script(
        dir.path(),
        "save",
        &format!("cat '{}'", mode_file.display()),
    );
    let save6 = script(dir.path(), "save6", "echo ok");
    let component = hostile().display().to_string();
    let exporter = Exporter::both(
        &save,
        &save6,
        &[
            "--iptables.families=ipv4,ipv6",
            &format!("--component={component}"),
            "--sandbox.max-memory=32MiB",
            "--sandbox.timeout=500ms",
            "--sandbox.max-output=8MiB",
        ],
    );
    for (mode, cause) in [
        ("loop-parse", "ran past its deadline"),
        ("alloc", "memory limit of 33554432 bytes"),
        // A panic aborts: no message crosses, the trap is logged.
        ("trap", "wasm `unreachable` instruction executed"),
        ("exit", "failed"),
        ("huge", "more than its input could produce"),
    ] {
        std::fs::write(&mode_file, format!("{mode}\n")).expect("mode");
        let started = Instant::now();
        let body = exporter.scrape();
        assert_eq!(
            scrape_success(&body, "ipv4").as_deref(),
            Some("0"),
            "{mode}"
        );
        assert_eq!(
            scrape_success(&body, "ipv6").as_deref(),
            Some("1"),
            "{mode}: the other family"
        );
        assert!(
            body.starts_with(IPV6_ALONE) && !body.contains("iptables_rules{family=\"ipv4\""),
            "{mode}: {body}"
        );
        // The scrape takes about one `--sandbox.timeout` (500 ms) at worst.
        assert!(
            started.elapsed() < DEADLINE * DEADLINES_AT_MOST,
            "{mode}: took {:?}",
            started.elapsed()
        );
        let log = exporter.log();
        assert!(
            log.contains(cause),
            "{mode}: no `{cause}` in the log:\n{log}"
        );
        std::fs::write(&mode_file, "ok\n").expect("mode");
        assert_eq!(
            scrape_success(&exporter.scrape(), "ipv4").as_deref(),
            Some("1"),
            "{mode}: next scrape; log:\n{}",
            exporter.log()
        );
    }
    let hwm = vm_hwm_bytes(exporter.pid());
    assert!(
        hwm < (32 << 20) + (150 << 20),
        "peak RSS {hwm} bytes with a 32 MiB guest cap"
    );
}

#[test]
fn endless_output_aborts_the_response_rather_than_end_it_normally() {
    let dir = tempfile::tempdir().expect("dir");
    let save = script(dir.path(), "save", "echo endless");
    let exporter = Exporter::ipv4(
        &save,
        &[
            &format!("--component={}", hostile().display()),
            "--sandbox.max-output=8MiB",
        ],
    );
    // HTTP/1.1 has a chunked body whose end is explicit; an HTTP/1.0 body
    // ends with the connection, so only a reset tells it was cut. Both get
    // the reset.
    for version in ["HTTP/1.1", "HTTP/1.0"] {
        let mut stream = std::net::TcpStream::connect(&exporter.address).expect("connect");
        write!(
            stream,
            "GET /metrics {version}\r\nHost: test\r\nConnection: close\r\n\r\n"
        )
        .expect("request");
        // A regression that let the response run on must fail, not hang.
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut raw = Vec::new();
        let err = stream
            .read_to_end(&mut raw)
            .expect_err("a cut response must not end like a whole one");
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::ConnectionReset,
            "{version}: the response neither ended nor was cut off: {err}"
        );
        let text = String::from_utf8_lossy(&raw);
        assert!(
            !text.contains("iptables_scrape_success"),
            "{version}: a truncated body carried a verdict"
        );
        if version == "HTTP/1.1" && !raw.is_empty() {
            assert!(text.contains("transfer-encoding: chunked"), "not chunked");
            assert!(
                !text.ends_with("0\r\n\r\n"),
                "the body ended as if complete"
            );
        }
    }
    assert!(
        exporter.log().contains("output limit of 8388608 bytes"),
        "log:\n{}",
        exporter.log()
    );
    let next = http::get(&exporter.address, "/").expect("still serving");
    assert_eq!(next.status, 200);
}
