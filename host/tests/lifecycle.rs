//! The process as operators meet it: flags refused at start-up, the log in
//! both formats and at each level, what each signal does, shutdown with a
//! scrape in flight, and where it listens.

use crate::common;

use common::exporter::{
    Exporter, HangingSave, HeldSave, PATIENCE, cat_fixture, scrape_success, start_failure,
    wait_until_group_gone,
};
use common::fixtures;
use common::http;
use common::netns::Netns;
use nix::sys::signal::Signal;
use std::time::Duration;

#[test]
fn bad_flags_and_components_are_refused_at_start_up_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("dir");
    let save = cat_fixture(dir.path(), "v4", "docker-nft.ipv4.rules");
    let save_flag = format!("--iptables.save-path={}", save.display());
    let core_module = dir.path().join("core.wasm");
    // A valid WebAssembly module, but not a component.
    std::fs::write(&core_module, b"\0asm\x01\0\0\0").expect("write");
    let empty_component = dir.path().join("empty.wasm");
    // A valid component whose world exports nothing, so not the parser.
    std::fs::write(&empty_component, b"\0asm\x0d\0\x01\0").expect("write");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--iptables.families=".into()], "no family given"),
        (
            vec!["--web.header-timeout=10000000000000000000s".into()],
            "out of range: at most 1day",
        ),
        (
            vec!["--web.write-timeout=10000000000000000000s".into()],
            "out of range: at most 1day",
        ),
        (vec!["--iptables.timeout=0s".into()], "more than zero"),
        (
            vec!["--sandbox.max-memory=5GiB".into()],
            "out of range: at most 4GiB",
        ),
        (
            vec!["--iptables.max-output=99999999999999999999GiB".into()],
            "out of range",
        ),
        (
            vec!["--web.max-requests=99999999999".into()],
            "web.max-requests",
        ),
        (
            vec!["--web.telemetry-path=/metrics?x".into()],
            "`?` cannot be in a URL path",
        ),
        (
            vec!["--iptables.chain-include=NOPE)|(.*".into()],
            "--iptables.chain-include: not a regular expression",
        ),
        (
            vec!["--component=/nonexistent/parser.wasm".into()],
            "reading component /nonexistent/parser.wasm",
        ),
        (
            vec![format!("--component={}", core_module.display())],
            "loading the parser component",
        ),
        (
            vec![format!("--component={}", empty_component.display())],
            "iptables-exporter:parser/metrics",
        ),
    ];
    for (args, want) in cases {
        let mut all: Vec<&str> = vec![&save_flag];
        all.extend(args.iter().map(String::as_str));
        let (status, stderr) = start_failure(&all);
        assert!(!status.success(), "{args:?} started");
        assert!(stderr.contains(want), "{args:?}: no `{want}` in:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}:\n{stderr}");
    }
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().expect("dir");
    let save = cat_fixture(dir.path(), "v4", "docker-nft.ipv4.rules");
    let exporter = Exporter::ipv4(&save, &["--log.format=json", "--log.level=debug"]);
    exporter.scrape();
    let (status, log) = exporter.stop(Signal::SIGTERM, PATIENCE);
    assert!(status.success(), "{status}");
    assert!(log.lines().count() >= 5, "log:\n{log}");
    for line in log.lines() {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"));
        assert!(
            entry["level"].is_string() && entry["fields"]["message"].is_string(),
            "{line}"
        );
    }
}

#[test]
fn debug_lines_appear_only_at_the_debug_level() {
    let dir = tempfile::tempdir().expect("dir");
    let save = cat_fixture(dir.path(), "v4", "docker-nft.ipv4.rules");
    for (level, debug_expected) in [("info", false), ("debug", true)] {
        let exporter = Exporter::ipv4(&save, &[&format!("--log.level={level}")]);
        exporter.scrape();
        let (_, log) = exporter.stop(Signal::SIGTERM, PATIENCE);
        assert!(log.contains(" INFO "), "{level}: log:\n{log}");
        assert_eq!(
            log.contains(" DEBUG "),
            debug_expected,
            "{level}: log:\n{log}"
        );
        if debug_expected {
            assert!(log.contains("parsed"), "{level}: log:\n{log}");
        }
    }
}

#[test]
fn hangup_and_user_signals_are_logged_and_ignored() {
    let dir = tempfile::tempdir().expect("dir");
    let save = cat_fixture(dir.path(), "v4", "docker-nft.ipv4.rules");
    let mut exporter = Exporter::ipv4(&save, &[]);
    for (n, signal) in [
        Signal::SIGHUP,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGHUP,
    ]
    .into_iter()
    .enumerate()
    {
        exporter.process.signal(signal);
        exporter.wait_for_log("signal ignored", n + 1);
        assert_eq!(
            scrape_success(&exporter.scrape(), "ipv4").as_deref(),
            Some("1"),
            "after {signal}"
        );
    }
    assert!(exporter.log().contains("signal=\"SIGUSR2\""));
}

/// Asked to stop while a scrape waits for its save command: the scrape
/// still gets its whole answer, then the process exits 0.
fn a_scrape_in_flight_completes_when_asked_to_stop(signal: Signal) {
    let dir = tempfile::tempdir().expect("dir");
    let held = HeldSave::new(dir.path(), "docker-nft.ipv4.rules");
    held.release();
    let mut exporter = Exporter::ipv4(&held.save, &[]);
    held.hold();
    let address = exporter.address.clone();
    let scrape = std::thread::spawn(move || http::get(&address, "/metrics"));
    // Run 1 was the start-up collection's.
    let group = held.wait_for_run(2);
    exporter.process.signal(signal);
    exporter.wait_for_log("shutting down", 1);
    held.release();
    let response = scrape.join().expect("client").expect("answered");
    let body = String::from_utf8(response.body).expect("UTF-8");
    assert_eq!(
        scrape_success(&body, "ipv4").as_deref(),
        Some("1"),
        "{body}"
    );
    let golden = std::fs::read_to_string(fixtures().join("docker-nft.ipv4.prom")).expect("golden");
    assert!(body.starts_with(&golden), "the answer is not whole");
    let status = exporter.process.wait_exit(PATIENCE);
    assert!(status.success(), "{status}; log:\n{}", exporter.log());
    wait_until_group_gone(group);
}

#[test]
fn a_scrape_in_flight_completes_on_sigterm() {
    a_scrape_in_flight_completes_when_asked_to_stop(Signal::SIGTERM);
}

#[test]
fn a_scrape_in_flight_completes_on_sigint() {
    a_scrape_in_flight_completes_when_asked_to_stop(Signal::SIGINT);
}

/// Starts the exporter with a save command that starts a child in its
/// group and hangs, scrapes it, sends `signals` once the command runs, and
/// returns the exit status, the log and how long the exit took after the
/// last signal, once the process is gone (failing after `within`) and
/// nothing of the command's group is left.
fn stop_with_a_save_command_hanging(
    signals: &[Signal],
    within: Duration,
) -> (std::process::ExitStatus, String, Duration) {
    let dir = tempfile::tempdir().expect("dir");
    let hanging = HangingSave::new(dir.path());
    // The scrape waits for the start-up collection, which hangs.
    let mut exporter = Exporter::ipv4_listening(
        &hanging.save,
        &["--iptables.timeout=10m", "--log.level=debug"],
    );
    let address = exporter.address.clone();
    // Its answer never comes; the connection ends when the process does.
    let scrape = std::thread::spawn(move || http::get(&address, "/metrics"));
    let group = hanging.group();
    exporter.wait_for_log("waiting for the collection in progress", 1);
    let (last, first) = signals.split_last().expect("a signal");
    for (n, signal) in first.iter().enumerate() {
        exporter.process.signal(*signal);
        exporter.wait_for_log("shutting down", n + 1);
    }
    let signalled = std::time::Instant::now();
    let (status, log) = exporter.stop(*last, within);
    let took = signalled.elapsed();
    wait_until_group_gone(group);
    // The connection ended with the process: an error or a cut answer.
    let _ = scrape.join().expect("client");
    (status, log, took)
}

#[test]
fn save_commands_still_running_when_the_grace_period_ends_are_killed_with_their_group() {
    let grace = iptables_exporter::http::SHUTDOWN_GRACE;
    let (status, log, took) = stop_with_a_save_command_hanging(&[Signal::SIGTERM], grace * 4);
    assert!(status.success(), "{status}; log:\n{log}");
    assert!(
        log.contains("connections still open at shutdown"),
        "log:\n{log}"
    );
    // The whole grace period for the scrape in flight, and not much more
    // (the README promises "10 s at most" for requests in flight; the
    // runtime then gets 1 s to wind down).
    assert!(
        took >= grace,
        "stopped after {took:?}, before the grace of {grace:?}"
    );
    assert!(
        took < grace + grace / 2,
        "stopped after {took:?}, far past the grace of {grace:?}"
    );
}

#[test]
fn sigquit_stops_at_once_and_kills_the_save_commands() {
    let grace = iptables_exporter::http::SHUTDOWN_GRACE;
    let (status, log, took) = stop_with_a_save_command_hanging(&[Signal::SIGQUIT], grace * 4);
    assert_eq!(status.code(), Some(1), "log:\n{log}");
    // A graceful stop would have waited the grace for the scrape.
    assert!(took < grace / 2, "SIGQUIT took {took:?}");
}

#[test]
fn a_second_sigterm_stops_at_once() {
    let grace = iptables_exporter::http::SHUTDOWN_GRACE;
    let (status, log, took) =
        stop_with_a_save_command_hanging(&[Signal::SIGTERM, Signal::SIGTERM], grace * 4);
    assert_eq!(status.code(), Some(1), "log:\n{log}");
    assert!(log.contains("asked again: stopping at once"), "log:\n{log}");
    assert!(took < grace / 2, "the second SIGTERM took {took:?}");
}

/// An exporter killed outright (SIGKILL: the OOM killer, a supervisor's
/// stop timeout) never gets to kill its save commands: the kernel does,
/// through the parent-death signal they are started with.
#[test]
fn a_killed_exporter_leaves_no_save_command_running() {
    let dir = tempfile::tempdir().expect("dir");
    let pid_file = dir.path().join("pid");
    // Runs until killed (or the test is over and its directory gone).
    let save = common::exporter::script(
        dir.path(),
        "save",
        &format!(
            "echo $$ > '{}'; while [ -d '{}' ]; do sleep 0.05; done",
            pid_file.display(),
            dir.path().display()
        ),
    );
    let mut exporter = Exporter::ipv4_listening(&save, &["--iptables.timeout=10m"]);
    let deadline = std::time::Instant::now() + PATIENCE;
    let save_pid: i32 = loop {
        // The file may exist before its line is complete.
        if let Ok(pid) = std::fs::read_to_string(&pid_file)
            .unwrap_or_default()
            .trim()
            .parse()
        {
            break pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the save command never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(common::processes::alive(save_pid), "the save command runs");
    exporter.process.0.kill().expect("SIGKILL");
    exporter.process.0.wait().expect("reaped");
    common::processes::wait_until_gone(save_pid, PATIENCE);
}

#[test]
fn a_port_alone_listens_on_ipv6_and_ipv4() {
    let ns = Netns::new("listen");
    let dir = tempfile::tempdir().expect("dir");
    let save = cat_fixture(dir.path(), "v4", "docker-nft.ipv4.rules");
    let mut command = ns.command(env!("CARGO_BIN_EXE_iptables-exporter"));
    command.args([
        &format!("--iptables.save-path={}", save.display()),
        "--iptables.families=ipv4",
        "--web.listen-address=:9455",
    ]);
    let exporter = Exporter::spawn(command);
    assert!(exporter.address.ends_with(":9455"), "{}", exporter.address);
    ns.enter(|| {
        for address in ["127.0.0.1:9455", "[::1]:9455"] {
            let response = http::get(address, "/metrics").expect("answered");
            assert_eq!(response.status, 200, "{address}");
            let body = String::from_utf8(response.body).expect("UTF-8");
            assert_eq!(
                scrape_success(&body, "ipv4").as_deref(),
                Some("1"),
                "{address}"
            );
        }
    });
}

/// The exporter warns when it runs as root (it needs only capabilities),
/// and not when it runs as another user.
#[test]
fn running_as_root_is_warned_about_and_only_then() {
    common::netns::require_root();
    common::require_tool("setpriv", "util-linux");
    const WARNING: &str = "running as root; the exporter needs only CAP_NET_ADMIN";
    let dir = tempfile::tempdir().expect("dir");
    // A copy nobody can run, in a directory nobody can read.
    let exe = dir.path().join("iptables-exporter");
    std::fs::copy(env!("CARGO_BIN_EXE_iptables-exporter"), &exe).expect("copy exporter");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // An empty ruleset: a valid dump, no privilege needed.
    let args = ["--iptables.families=ipv4", "--iptables.save-path=/bin/true"];
    let as_root = Exporter::start(&args);
    assert!(as_root.log().contains(WARNING), "log:\n{}", as_root.log());
    let mut as_nobody = std::process::Command::new("setpriv");
    as_nobody
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&exe)
        .args(args)
        .args([
            "--web.listen-address=127.0.0.1:0",
            "--iptables.min-interval=0s",
        ]);
    let as_nobody = Exporter::spawn(as_nobody);
    assert_eq!(
        scrape_success(&as_nobody.scrape(), "ipv4").as_deref(),
        Some("1")
    );
    let log = as_nobody.log();
    assert!(log.contains("listening"), "log:\n{log}");
    assert!(!log.contains(WARNING), "warned as nobody; log:\n{log}");
}
