//! The exporter over HTTP with fake save commands: routes and methods, gzip,
//! single-flight, and how each kind of failure shows in a scrape.

mod common;

use common::exporter::{Exporter, scrape_success, script};
use common::fixtures;
use common::http;
use std::io::Read as _;

fn text(body: &[u8]) -> String {
    String::from_utf8(body.to_vec()).expect("UTF-8 body")
}

/// Ruleset series lines of an exposition (scrape and process series vary).
fn ruleset_lines(body: &str) -> Vec<&str> {
    body.lines()
        .filter(|l| l.starts_with("iptables_rule") || l.starts_with("iptables_default"))
        .collect()
}

fn cat_fixture(dir: &std::path::Path, name: &str, fixture: &str) -> std::path::PathBuf {
    script(
        dir,
        name,
        &format!("cat '{}'", fixtures().join(fixture).display()),
    )
}

#[test]
fn routes_methods_and_content_type() {
    let dir = tempfile::tempdir().expect("dir");
    let v4 = cat_fixture(dir.path(), "v4", "docker-nft.ipv4.rules");
    let exporter = Exporter::ipv4(&v4, &[]);
    let a = &exporter.address;

    let metrics = http::get(a, "/metrics").expect("GET /metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .headers
            .to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{}",
        metrics.headers
    );
    let body = text(&metrics.body);
    let golden = std::fs::read_to_string(fixtures().join("docker-nft.ipv4.prom")).expect("golden");
    assert!(
        body.starts_with(&golden),
        "the ruleset part differs from the golden file"
    );
    assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("1"));
    assert!(
        body.contains("iptables_exporter_build_info{"),
        "no build info"
    );
    assert!(
        body.contains("process_resident_memory_bytes "),
        "no process metrics"
    );
    assert!(
        body.contains("iptables_scrape_duration_seconds{family=\"ipv4\"} "),
        "no duration"
    );

    let landing = http::get(a, "/").expect("GET /");
    assert_eq!(landing.status, 200);
    assert!(text(&landing.body).contains("href=\"/metrics\""));
    assert_eq!(http::get(a, "/nope").expect("GET /nope").status, 404);
    for method in ["POST", "PUT", "DELETE"] {
        let response = http::request(method, a, "/metrics").expect("request");
        assert_eq!(response.status, 405, "{method}");
        assert!(
            response.headers.contains("allow: GET, HEAD"),
            "{}",
            response.headers
        );
    }
    let head = http::request("HEAD", a, "/metrics").expect("HEAD");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[test]
fn gzip_is_served_when_accepted_and_holds_the_same_text() {
    let dir = tempfile::tempdir().expect("dir");
    let v4 = cat_fixture(dir.path(), "v4", "kube-proxy-nft.ipv4.rules");
    let exporter = Exporter::ipv4(&v4, &[]);
    let plain = exporter.scrape();
    let gzipped = http::get_with(
        &exporter.address,
        "/metrics",
        &[("Accept-Encoding", "gzip")],
    )
    .expect("gzip");
    assert!(
        gzipped
            .headers
            .to_ascii_lowercase()
            .contains("content-encoding: gzip"),
        "{}",
        gzipped.headers
    );
    let mut decoded = String::new();
    flate2::read::GzDecoder::new(&gzipped.body[..])
        .read_to_string(&mut decoded)
        .expect("valid gzip");
    assert_eq!(ruleset_lines(&decoded), ruleset_lines(&plain));
    assert!(
        gzipped.body.len() < plain.len() / 3,
        "{} vs {}",
        gzipped.body.len(),
        plain.len()
    );
}

#[test]
fn concurrent_scrapes_share_one_collection() {
    let dir = tempfile::tempdir().expect("dir");
    let runs = dir.path().join("runs");
    let fixture = fixtures().join("ufw-nft.ipv4.rules");
    let save = script(
        dir.path(),
        "v4",
        &format!(
            "echo run >> '{}'; sleep 1; cat '{}'",
            runs.display(),
            fixture.display()
        ),
    );
    let exporter = Exporter::ipv4(&save, &[]);
    let bodies: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8).map(|_| scope.spawn(|| exporter.scrape())).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    let runs_seen = std::fs::read_to_string(&runs)
        .expect("runs file")
        .lines()
        .count();
    assert_eq!(
        runs_seen, 1,
        "8 concurrent scrapes ran the save command {runs_seen} times"
    );
    for body in &bodies {
        assert_eq!(scrape_success(body, "ipv4").as_deref(), Some("1"));
        assert_eq!(ruleset_lines(body), ruleset_lines(&bodies[0]));
    }
    // A scrape after the collection ended starts a new one.
    http::get(&exporter.address, "/metrics").expect("scrape");
    assert_eq!(
        std::fs::read_to_string(&runs)
            .expect("runs")
            .lines()
            .count(),
        2
    );
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
    let exporter = Exporter::start(&[
        &format!("--iptables.save-path={}", v4.display()),
        &format!("--ip6tables.save-path={}", v6.display()),
    ]);
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
    std::fs::write(&dump, benches::generate(50_000, 1, benches::Family::Ipv4)).expect("big dump");
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
fn a_hanging_save_command_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().expect("dir");
    let save = script(dir.path(), "v4", "sleep 600");
    let exporter = Exporter::ipv4(&save, &["--iptables.timeout=300ms"]);
    let started = std::time::Instant::now();
    let body = exporter.scrape();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("0"));
    assert!(
        exporter.log().contains("did not finish within 300ms"),
        "log:\n{}",
        exporter.log()
    );
    // Children of every thread (tokio spawns from its worker threads).
    let children: String = std::fs::read_dir(format!("/proc/{}/task", exporter.pid()))
        .expect("task list")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("children")).ok())
        .collect();
    assert_eq!(
        children.trim(),
        "",
        "children left behind (zombies or survivors)"
    );
}

#[test]
fn a_save_command_missing_at_start_up_is_left_out_and_one_removed_later_fails() {
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
        "a family left out has no series at all"
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

#[test]
fn garbage_and_oversized_requests_get_an_error_or_a_close() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("dir");
    let v4 = cat_fixture(dir.path(), "v4", "docker-nft.ipv4.rules");
    let exporter = Exporter::ipv4(&v4, &[]);
    let long_header = format!(
        "GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let inputs: Vec<Vec<u8>> = vec![
        b"\x00\xff\xfe garbage \r\n\r\n".to_vec(),
        b"GET /metrics HTTP/9.9\r\n\r\n".to_vec(),
        b"GET\r\n\r\n".to_vec(),
        (0..=255u8).cycle().take(100_000).collect(),
        long_header.into_bytes(),
    ];
    for input in inputs {
        let mut stream = std::net::TcpStream::connect(&exporter.address).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("timeout");
        let _ = stream.write_all(&input);
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        assert!(
            reply.is_empty() || reply.starts_with(b"HTTP/1.1 4"),
            "unexpected reply to garbage: {}",
            String::from_utf8_lossy(&reply[..reply.len().min(80)])
        );
    }
    let ok = http::get(&exporter.address, "/metrics").expect("still serving");
    assert_eq!(ok.status, 200);
    assert!(
        !exporter.log().contains("panicked"),
        "log:\n{}",
        exporter.log()
    );
}

#[test]
fn slow_clients_are_cut_off_and_do_not_block_others() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("dir");
    let dump = dir.path().join("dump.rules");
    std::fs::write(&dump, benches::generate(20_000, 3, benches::Family::Ipv4)).expect("dump");
    let save = script(dir.path(), "v4", &format!("cat '{}'", dump.display()));
    let exporter = Exporter::ipv4(&save, &["--web.header-timeout=300ms"]);
    // Slowloris: headers that never end are cut off after the timeout.
    let mut slow = std::net::TcpStream::connect(&exporter.address).expect("connect");
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .expect("partial headers");
    slow.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    let started = std::time::Instant::now();
    let mut reply = Vec::new();
    let _ = slow.read_to_end(&mut reply);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "not cut off: {:?}",
        started.elapsed()
    );

    // A client that asks for the metrics and never reads them.
    let mut stalled = std::net::TcpStream::connect(&exporter.address).expect("connect");
    stalled
        .write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
        .expect("request");
    std::thread::sleep(std::time::Duration::from_millis(300));
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let response = http::get(&exporter.address, "/metrics").expect("served");
        assert_eq!(response.status, 200);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "blocked: {:?}",
            started.elapsed()
        );
    }
    // A vanishing client: connection dropped mid-response.
    drop(stalled);
    assert_eq!(
        http::get(&exporter.address, "/metrics")
            .expect("served")
            .status,
        200
    );
}

#[test]
fn clients_that_stop_reading_are_dropped_and_free_their_slots() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("dir");
    let dump = dir.path().join("dump.rules");
    // A response far larger than the socket buffers, so that writes block.
    std::fs::write(&dump, benches::generate(50_000, 5, benches::Family::Ipv4)).expect("dump");
    let save = script(dir.path(), "v4", &format!("cat '{}'", dump.display()));
    let exporter = Exporter::ipv4(
        &save,
        &["--web.max-requests=2", "--web.write-timeout=500ms"],
    );
    let stalled: Vec<std::net::TcpStream> = (0..2)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(&exporter.address).expect("connect");
            stream
                .write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
                .expect("request");
            stream
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let refused = http::get(&exporter.address, "/metrics").expect("answered");
    assert_eq!(
        refused.status, 503,
        "both slots should be held by the stalled clients"
    );
    let started = std::time::Instant::now();
    loop {
        if http::get(&exporter.address, "/metrics")
            .expect("answered")
            .status
            == 200
        {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "stalled clients were never dropped"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(stalled);
}
