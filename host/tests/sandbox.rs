//! The sandbox's limits, shown with a component built to break them
//! (`tests/hostile-guest`): endless loops, unbounded allocation, a panic, an
//! exit, oversized and endless output, and an import the host does not give.
//! Each fails its render with its own cause, within its bound, and the next
//! render works.

mod common;

use common::exporter::{Exporter, scrape_success, script};
use common::http;
use iptables_exporter::sandbox::{Dump, Error, Limits, Sandbox};
use parser_wasm::Family;
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_millis(500);
const MAX_MEMORY: usize = 32 << 20;
const MAX_OUTPUT: usize = 8 << 20;

/// Builds the hostile guest (with `features`) for wasm32-wasip2 and returns its path.
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
            "wasm32-wasip2",
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
    target_dir.join("wasm32-wasip2/release/hostile_guest.wasm")
}

fn hostile() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| build(""))
}

fn sandbox() -> Sandbox {
    sandbox_with_memory(MAX_MEMORY)
}

fn sandbox_with_memory(max_memory_bytes: usize) -> Sandbox {
    let bytes = std::fs::read(hostile()).expect("component");
    let limits = Limits {
        max_memory_bytes,
        deadline: DEADLINE,
        max_output_bytes: MAX_OUTPUT,
    };
    Sandbox::new(&bytes, limits).expect("the hostile guest imports only what it may")
}

fn dump(mode: &str) -> Vec<Dump> {
    vec![Dump {
        family: Family::Ipv4,
        save_output: format!("{mode}\n").into_bytes(),
    }]
}

fn streamed(sandbox: &Sandbox, mode: &str) -> (Result<usize, Error>, Duration) {
    let started = Instant::now();
    let mut handed_out = 0;
    let result = sandbox.render_chunks(dump(mode), 256 * 1024, |chunk| handed_out += chunk.len());
    (result.map(|_| handed_out), started.elapsed())
}

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
            elapsed < DEADLINE + Duration::from_secs(2),
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
fn the_one_call_render_is_bounded_too() {
    let sandbox = sandbox();
    for (mode, want) in [
        ("loop-render", "deadline"),
        ("huge", "memory limit"),
        ("trap", "failed"),
    ] {
        match sandbox.render(dump(mode)) {
            Err(err) => assert!(err.to_string().contains(want), "{mode}: {err}"),
            Ok(r) => panic!("{mode}: rendered {} bytes", r.exposition.len()),
        }
    }
    // Room in memory for the 64 MiB text, not in the output cap.
    let roomy = sandbox_with_memory(256 << 20);
    match roomy.render(dump("huge")) {
        Err(err) => assert!(
            matches!(err, Error::OutputTooLarge(MAX_OUTPUT)),
            "huge: {err}"
        ),
        Ok(r) => panic!(
            "huge: rendered {} bytes past the output cap",
            r.exposition.len()
        ),
    }
    let ok = sandbox.render(dump("ok")).expect("renders");
    assert!(ok.exposition.contains("chain=\"HOSTILE\""));
}

#[test]
fn a_component_importing_more_than_stdio_is_refused_at_load() {
    let bytes = std::fs::read(build("clock")).expect("component");
    let limits = Limits {
        max_memory_bytes: MAX_MEMORY,
        deadline: DEADLINE,
        max_output_bytes: MAX_OUTPUT,
    };
    match Sandbox::new(&bytes, limits) {
        Err(Error::Load(err)) => assert!(format!("{err:#}").contains("wasi:clocks"), "{err:#}"),
        Err(err) => panic!("refused for another reason: {err}"),
        Ok(_) => panic!("a component importing wasi:clocks was loaded"),
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
fn the_server_reports_each_failure_logs_its_cause_and_stays_up() {
    let dir = tempfile::tempdir().expect("dir");
    let mode_file = dir.path().join("mode");
    let save = script(
        dir.path(),
        "save",
        &format!("cat '{}'", mode_file.display()),
    );
    let component = hostile().display().to_string();
    let exporter = Exporter::ipv4(
        &save,
        &[
            &format!("--component={component}"),
            "--sandbox.max-memory=32MiB",
            "--sandbox.timeout=500ms",
            "--sandbox.max-output=8MiB",
        ],
    );
    for (mode, cause) in [
        ("loop-parse", "ran past its deadline"),
        ("alloc", "memory limit of 33554432 bytes"),
        ("trap", "hostile guest panics on purpose"),
        ("exit", "failed"),
        ("huge", "more than its input could produce"),
    ] {
        std::fs::write(&mode_file, format!("{mode}\n")).expect("mode");
        let started = Instant::now();
        assert_eq!(
            scrape_success(&exporter.scrape(), "ipv4").as_deref(),
            Some("0"),
            "{mode}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
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
    // HTTP/1.1, so that the body is chunked and its end is explicit.
    let mut stream = std::net::TcpStream::connect(&exporter.address).expect("connect");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("transfer-encoding: chunked"), "not chunked");
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "the body ended as if complete"
    );
    assert!(
        !text.contains("iptables_scrape_success"),
        "a truncated body carried a verdict"
    );
    assert!(
        exporter.log().contains("output limit of 8388608 bytes"),
        "log:\n{}",
        exporter.log()
    );
    let next = http::get(&exporter.address, "/").expect("still serving");
    assert_eq!(next.status, 200);
}
