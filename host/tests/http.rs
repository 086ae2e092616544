//! The exporter over HTTP with fake save commands: routes, methods and the
//! telemetry path, HEAD, gzip negotiation, half-closed clients,
//! single-flight, request limits, garbage and slow or stalled clients, and
//! a 100k-rule scrape byte for byte.

use crate::common;

use common::exporter::{Exporter, HeldSave, cat_fixture, scrape_success, script};
use common::fixtures;
use common::http::{self, Request};
use exposition::Family;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn text(body: &[u8]) -> String {
    String::from_utf8(body.to_vec()).expect("UTF-8 body")
}

/// A fake save command printing a generated dump of `rules` rules.
fn generated(dir: &Path, rules: usize) -> (PathBuf, String) {
    let text = ruleset_generator::generate(rules, 7, Family::Ipv4);
    let dump = dir.join("dump.rules");
    std::fs::write(&dump, &text).expect("dump");
    (
        script(dir, "v4", &format!("cat '{}'", dump.display())),
        text,
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
    assert_eq!(http::ruleset_part(&body), golden);
    assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("1"));
    for series in [
        "iptables_exporter_build_info{",
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "iptables_scrape_duration_seconds{family=\"ipv4\"} ",
        "iptables_incompatible_tables{family=\"ipv4\"} 0",
    ] {
        assert!(body.contains(series), "no {series}");
    }

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
}

#[test]
fn a_custom_telemetry_path_moves_the_metrics() {
    let dir = tempfile::tempdir().expect("dir");
    let v4 = cat_fixture(dir.path(), "v4", "docker-nft.ipv4.rules");
    let exporter = Exporter::ipv4(&v4, &["--web.telemetry-path=/probe/iptables"]);
    let a = &exporter.address;
    let metrics = http::get(a, "/probe/iptables").expect("GET");
    assert_eq!(metrics.status, 200);
    assert_eq!(
        scrape_success(&text(&metrics.body), "ipv4").as_deref(),
        Some("1")
    );
    assert_eq!(http::get(a, "/metrics").expect("GET").status, 404);
    let landing = http::get(a, "/").expect("GET /");
    assert!(text(&landing.body).contains("href=\"/probe/iptables\""));
}

#[test]
fn head_answers_with_the_headers_without_running_the_save_commands() {
    let dir = tempfile::tempdir().expect("dir");
    let held = HeldSave::new(dir.path(), "docker-nft.ipv4.rules");
    held.release();
    // Its start-up collection is run 1.
    let exporter = Exporter::ipv4(&held.save, &[]);
    for accept in ["identity", "gzip"] {
        let head = http::request_with(
            "HEAD",
            &exporter.address,
            "/metrics",
            &[("Accept-Encoding", accept)],
        )
        .expect("HEAD");
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        let headers = head.headers.to_ascii_lowercase();
        assert!(
            headers.contains("content-type: text/plain; version=0.0.4"),
            "{headers}"
        );
        assert_eq!(
            headers.contains("content-encoding: gzip"),
            accept == "gzip",
            "{headers}"
        );
    }
    assert_eq!(held.runs().len(), 1, "HEAD ran the save command");
    exporter.scrape();
    assert_eq!(held.runs().len(), 2, "GET runs it");
}

#[test]
fn gzip_is_negotiated_per_rfc_9110_and_holds_the_same_text() {
    let dir = tempfile::tempdir().expect("dir");
    let v4 = cat_fixture(dir.path(), "v4", "kube-proxy-nft.ipv4.rules");
    let exporter = Exporter::ipv4(&v4, &[]);
    let plain = exporter.scrape();
    for (accept, gzip) in [
        ("gzip", true),
        ("*", true),
        ("deflate, GZIP;q=0.5", true),
        ("gzip;q=0", false),
        ("gzip;Q=0", false),
        ("gzip;q=0, *", false),
        ("*;q=0", false),
        ("identity", false),
    ] {
        let response = http::get_with(
            &exporter.address,
            "/metrics",
            &[("Accept-Encoding", accept)],
        )
        .expect("scrape");
        let encoded = response
            .headers
            .to_ascii_lowercase()
            .contains("content-encoding: gzip");
        assert_eq!(encoded, gzip, "{accept}: {}", response.headers);
        let body = if gzip {
            assert!(response.body.len() < plain.len() / 3);
            http::gunzip_one_member(&response.body)
        } else {
            text(&response.body)
        };
        assert_eq!(
            http::ruleset_part(&body),
            http::ruleset_part(&plain),
            "{accept}"
        );
    }
}

#[test]
fn half_closed_clients_get_the_whole_response() {
    let dir = tempfile::tempdir().expect("dir");
    let (save, _) = generated(dir.path(), 20_000);
    let exporter = Exporter::ipv4(&save, &[]);
    let full = exporter.scrape();
    let landing = http::get(&exporter.address, "/").expect("GET /");
    // `printf 'GET …' | nc host port` and the like: the client shuts its
    // sending side right after the request. It got cut responses before.
    for round in 0..10 {
        let mut request = Request::new("GET", "/metrics", &[]);
        request.half_close = true;
        let response =
            http::exchange(&exporter.address, &request, http::READ_TIMEOUT).expect("response");
        let body = text(&response.body);
        assert_eq!(
            http::ruleset_part(&body),
            http::ruleset_part(&full),
            "round {round}: cut"
        );
        assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("1"));
        let mut request = Request::new("GET", "/", &[]);
        request.half_close = true;
        let response =
            http::exchange(&exporter.address, &request, http::READ_TIMEOUT).expect("response");
        assert_eq!(response.body, landing.body, "round {round}: landing page");
    }
}

#[test]
fn concurrent_scrapes_share_one_collection_and_one_rendering() {
    let dir = tempfile::tempdir().expect("dir");
    let (held, mut exporter) =
        HeldSave::started(dir.path(), "ufw-nft.ipv4.rules", &["--log.level=debug"]);
    // Half ask for gzip, as Prometheus does, half not, as curl.
    let bodies: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let address = exporter.address.clone();
                scope.spawn(move || {
                    let gzip = i % 2 == 0;
                    let accept: &[(&str, &str)] = if gzip {
                        &[("Accept-Encoding", "gzip")]
                    } else {
                        &[]
                    };
                    let response = http::get_with(&address, "/metrics", accept).expect("scrape");
                    let encoded = response
                        .headers
                        .to_ascii_lowercase()
                        .contains("content-encoding: gzip");
                    assert_eq!(encoded, gzip, "{}", response.headers);
                    if gzip {
                        http::gunzip_one_member(&response.body)
                    } else {
                        text(&response.body)
                    }
                })
            })
            .collect();
        // All eight in: one started the collection, seven wait for it.
        exporter.wait_for_log("waiting for the collection in progress", 7);
        held.release();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    assert_eq!(
        held.runs().len(),
        2,
        "8 concurrent scrapes ran the save command more than once (after the start-up run)"
    );
    // Seven came while the collection ran: every answer of it is stamped
    // with the time it was read, the scrape that started it included, so
    // that one rendering serves all eight.
    let stamp = http::sample_timestamps(http::ruleset_part(&bodies[0])).expect("stamped");
    for body in &bodies {
        assert_eq!(scrape_success(body, "ipv4").as_deref(), Some("1"));
        assert_eq!(http::ruleset_part(body), http::ruleset_part(&bodies[0]));
        assert_eq!(
            http::sample_timestamps(http::ruleset_part(body)),
            Some(stamp)
        );
        // Each response ends with the exporter's own series, read for it.
        assert!(body.contains("\nprocess_resident_memory_bytes "), "{body}");
    }
    // A scrape after the collection ended starts a new one, answered as
    // read: the same series without the timestamps.
    held.release();
    let fresh = exporter.scrape();
    assert_eq!(held.runs().len(), 3);
    assert_eq!(http::sample_timestamps(http::ruleset_part(&fresh)), None);
    assert_eq!(
        http::without_timestamps(http::ruleset_part(&bodies[0])),
        http::ruleset_part(&fresh)
    );
}

#[test]
fn max_requests_zero_means_no_limit() {
    let dir = tempfile::tempdir().expect("dir");
    let (held, mut exporter) = HeldSave::started(
        dir.path(),
        "ufw-nft.ipv4.rules",
        &["--log.level=debug", "--web.max-requests=0"],
    );
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..45)
            .map(|_| {
                let address = exporter.address.clone();
                scope.spawn(move || http::get(&address, "/metrics").expect("answered").status)
            })
            .collect();
        // More than the default limit of 40 are in flight at once.
        exporter.wait_for_log("waiting for the collection in progress", 44);
        held.release();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert!(!exporter.log().contains("too many metrics requests"));
}

/// Without `--web.max-requests`, 40 metrics requests are served at once
/// and the 41st is refused with 503 while they are.
#[test]
fn by_default_forty_requests_are_served_at_once() {
    let dir = tempfile::tempdir().expect("dir");
    let (held, mut exporter) =
        HeldSave::started(dir.path(), "ufw-nft.ipv4.rules", &["--log.level=debug"]);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..40)
            .map(|_| {
                let address = exporter.address.clone();
                scope.spawn(move || http::get(&address, "/metrics").expect("answered").status)
            })
            .collect();
        exporter.wait_for_log("waiting for the collection in progress", 40);
        let refused = http::get(&exporter.address, "/metrics").expect("answered");
        assert_eq!(refused.status, 503, "the 41st");
        held.release();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(
        exporter
            .log()
            .matches("too many metrics requests in flight")
            .count(),
        1
    );
}

#[test]
fn garbage_and_oversized_requests_get_an_error_or_a_close() {
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
        let mut stream = TcpStream::connect(&exporter.address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        // The server may close before it has read everything.
        let _ = stream.write_all(&input);
        let mut reply = Vec::new();
        match stream.read_to_end(&mut reply) {
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => {}
            // A timeout: the server neither answered nor closed.
            Err(err) => panic!("no answer and no close: {err}"),
        }
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

/// Connects, sends a metrics request and reads until the status line has
/// arrived (the request is being served), then reads no more.
fn stalled_client(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
        .expect("request");
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).expect("status line");
    assert_eq!(&head, b"HTTP/1.0 200", "not served");
    stream
}

#[test]
fn slow_clients_are_cut_off_and_do_not_block_others() {
    let dir = tempfile::tempdir().expect("dir");
    let (save, _) = generated(dir.path(), 20_000);
    // The write timeout is far longer than the other clients will wait:
    // they must be served while the stalled client still holds on.
    let exporter = Exporter::ipv4(
        &save,
        &["--web.header-timeout=300ms", "--web.write-timeout=5m"],
    );
    // Slowloris: headers that never end are cut off by the server, at
    // the header timeout (300 ms here), not some time later.
    let header_timeout = Duration::from_millis(300);
    let mut slow = TcpStream::connect(&exporter.address).expect("connect");
    let connected = std::time::Instant::now();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .expect("partial headers");
    slow.set_read_timeout(Some(header_timeout * 10))
        .expect("timeout");
    let mut reply = Vec::new();
    if let Err(err) = slow.read_to_end(&mut reply) {
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::ConnectionReset,
            "not cut off within ten times the header timeout: {err}"
        );
    }
    let lived = connected.elapsed();
    assert!(
        lived >= header_timeout,
        "cut off after {lived:?}, before the header timeout"
    );
    assert!(
        lived < header_timeout * 5,
        "a slowloris client lived {lived:?} with a header timeout of {header_timeout:?}"
    );

    // A client that asks for the metrics and never reads them.
    let stalled = stalled_client(&exporter.address);
    for _ in 0..3 {
        let response = http::exchange(
            &exporter.address,
            &Request::new("GET", "/metrics", &[]),
            Duration::from_secs(20),
        )
        .expect("served while a client stalls");
        assert_eq!(response.status, 200);
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

/// `--web.write-timeout` drops clients that take nothing, not clients that
/// read slowly: the kernel wakes a blocked writer only once much of its
/// send buffer has drained, so a steady reader slower than that buffer
/// over the timeout (37 KB/s at the defaults) used to be dropped while
/// reading.
#[test]
fn a_slow_but_steady_reader_is_served_to_the_end() {
    let dir = tempfile::tempdir().expect("dir");
    let (save, _) = generated(dir.path(), 8_000);
    let write_timeout = Duration::from_millis(500);
    let exporter = Exporter::ipv4(
        &save,
        &[&format!(
            "--web.write-timeout={}ms",
            write_timeout.as_millis()
        )],
    );
    let mut stream = TcpStream::connect(&exporter.address).expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
        .expect("request");
    stream
        .set_read_timeout(Some(common::exporter::PATIENCE))
        .expect("timeout");
    // 16 KiB every 20 ms: about 800 KB/s, steady, for several seconds;
    // never as long as the write timeout without taking anything.
    let started = std::time::Instant::now();
    let mut raw = Vec::new();
    let mut piece = vec![0u8; 16 * 1024];
    loop {
        match stream.read(&mut piece) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&piece[..n]),
            Err(err) => panic!(
                "dropped after {} bytes and {:?}: {err}",
                raw.len(),
                started.elapsed()
            ),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.starts_with("HTTP/1.0 200"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(
        text.contains("\niptables_scrape_success{family=\"ipv4\"} 1\n"),
        "the body is not whole ({} bytes)",
        raw.len()
    );
    assert!(
        took > write_timeout * 4,
        "inconclusive: read in {took:?}, not much longer than the write timeout"
    );
}

fn vm_rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

/// Clients that ask for the metrics and stop reading share one rendering
/// of the answer they want: each used to pin a private copy of it (40 of
/// them at 100k rules: 2 GB). A scrape meanwhile is served, from the same
/// rendering.
#[test]
fn stalled_clients_share_one_rendering() {
    let dir = tempfile::tempdir().expect("dir");
    let (save, _) = generated(dir.path(), 20_000);
    // Every scrape is answered from the start-up collection: the same
    // answer for all of them.
    let exporter = Exporter::ipv4(
        &save,
        &[
            "--iptables.min-interval=1h",
            "--iptables.max-age=2h",
            "--log.level=debug",
        ],
    );
    let whole = http::get(&exporter.address, "/metrics").expect("scrape");
    assert_eq!(whole.status, 200);
    let answer_bytes = whole.body.len() as u64;
    let before = vm_rss_bytes(exporter.pid());
    let stalled: Vec<TcpStream> = (0..39).map(|_| stalled_client(&exporter.address)).collect();
    let during = vm_rss_bytes(exporter.pid());
    // One more, while they stall: whole, from their rendering (read to its
    // end, so that the rendering has been logged).
    let again = http::get(&exporter.address, "/metrics").expect("scrape");
    assert_eq!(again.status, 200);
    assert!(
        String::from_utf8_lossy(&again.body).contains("iptables_scrape_success{family=\"ipv4\"} 1"),
        "not whole"
    );
    let renderings = exporter.log().matches("parsed family=ipv4").count();
    assert_eq!(
        renderings,
        2,
        "the first scrape's answer, and one for every stalled client and the last scrape (log:\n{})",
        exporter.log()
    );
    // 39 private copies would be 39 answers more.
    assert!(
        during < before + 3 * answer_bytes,
        "{} MB more held for 39 stalled clients of a {} MB answer",
        (during - before.min(during)) >> 20,
        answer_bytes >> 20
    );
    drop(stalled);
}

#[test]
fn clients_that_stop_reading_are_dropped_and_free_their_slots() {
    let dir = tempfile::tempdir().expect("dir");
    // A response far larger than the socket buffers, so that writes block.
    let (save, _) = generated(dir.path(), 50_000);
    let exporter = Exporter::ipv4(&save, &["--web.max-requests=2", "--web.write-timeout=5s"]);
    let stalled: Vec<TcpStream> = (0..2).map(|_| stalled_client(&exporter.address)).collect();
    let refused = http::get(&exporter.address, "/metrics").expect("answered");
    assert_eq!(
        refused.status, 503,
        "both slots should be held by the stalled clients"
    );
    assert!(
        exporter
            .log()
            .contains("too many metrics requests in flight")
    );
    let deadline = std::time::Instant::now() + common::exporter::PATIENCE;
    while http::get(&exporter.address, "/metrics")
        .expect("answered")
        .status
        != 200
    {
        assert!(
            std::time::Instant::now() < deadline,
            "stalled clients were never dropped"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(stalled);
}

#[test]
fn a_100k_rule_scrape_is_byte_identical_to_the_one_call_render() {
    let dir = tempfile::tempdir().expect("dir");
    let (save, dump) = generated(dir.path(), 100_000);
    let exporter = Exporter::ipv4(&save, &[]);
    let body = exporter.scrape();
    let whole = common::sandbox()
        .render(
            vec![iptables_exporter::sandbox::Dump::new(
                Family::Ipv4,
                dump.into_bytes(),
            )],
            iptables_exporter::sandbox::Options::TEXT,
        )
        .expect("renders")
        .exposition;
    assert!(whole.len() > 50 << 20, "{} bytes", whole.len());
    assert!(
        http::ruleset_part(&body) == whole,
        "the served text differs from the one-call render ({} vs {} bytes)",
        http::ruleset_part(&body).len(),
        whole.len()
    );
    assert_eq!(scrape_success(&body, "ipv4").as_deref(), Some("1"));
}

/// `/-/healthy` answers while the process serves; `/-/ready` only once the
/// start-up collection is in; neither ever runs a save command, and both
/// are served while a collection is held.
#[test]
fn health_and_readiness_never_run_a_save_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let held = HeldSave::new(dir.path(), "spec-example.ipv4.rules");
    let save = format!("--iptables.save-path={}", held.save.display());
    let exporter = Exporter::start_listening(&[&save, "--iptables.families=ipv4"]);
    held.wait_for_run(1);
    let get = |path: &str| http::get(&exporter.address, path).expect("answers");
    let healthy = get("/-/healthy");
    assert_eq!(healthy.status, 200);
    assert_eq!(healthy.body, b"iptables-exporter is healthy.\n");
    let not_ready = get("/-/ready");
    assert_eq!(
        not_ready.status,
        503,
        "{:?}",
        String::from_utf8_lossy(&not_ready.body)
    );
    held.release();
    let deadline = std::time::Instant::now() + common::exporter::PATIENCE;
    while get("/-/ready").status != 200 {
        assert!(std::time::Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..20 {
        assert_eq!(get("/-/healthy").status, 200);
        assert_eq!(get("/-/ready").status, 200);
        assert_eq!(
            http::request("HEAD", &exporter.address, "/-/ready")
                .expect("head")
                .status,
            200
        );
    }
    assert_eq!(get("/-/ready").body, b"iptables-exporter is ready.\n");
    assert_eq!(held.runs().len(), 1, "a health check ran a save command");
    assert_eq!(
        http::request("POST", &exporter.address, "/-/healthy")
            .expect("post")
            .status,
        405
    );
}

/// `--version` prints node_exporter's layout with this build's identity,
/// which `iptables_exporter_build_info` carries too.
#[test]
fn version_names_the_build_and_build_info_agrees() {
    let out = common::exporter::exporter_command()
        .arg("--version")
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let first = text.lines().next().expect("a line");
    let revision = first
        .strip_prefix(&format!(
            "iptables-exporter, version {} (revision: ",
            env!("CARGO_PKG_VERSION")
        ))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{text}"));
    // Built from this checkout, the binary knows its commit: `unknown` is
    // only for builds without git and without IPTABLES_EXPORTER_REVISION.
    assert!(
        revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit()),
        "{revision}"
    );
    let kind = std::process::Command::new("git")
        .args(["cat-file", "-t", revision])
        .current_dir(common::repo_root())
        .output()
        .expect("git runs");
    assert_eq!(
        String::from_utf8_lossy(&kind.stdout).trim(),
        "commit",
        "{revision} is no commit of this repository"
    );
    for label in ["build date:", "rustc version:", "platform:"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(label)),
            "{text}"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let save = cat_fixture(dir.path(), "save", "spec-example.ipv4.rules");
    let exporter = Exporter::ipv4(&save, &[]);
    let body = exporter.scrape();
    assert!(
        body.contains(&format!("revision=\"{revision}\"")),
        "build_info lacks the revision {revision}"
    );
}
