//! The ipset source: listings captured from real ipset rendered through
//! the component, byte for byte against their expected exposition
//! (`NAME.prom`) and against the independent model (`common/ipset.rs`,
//! which reads ipset's XML); the same listing as a kernel of set protocol
//! 6 prints it (no entry counts) gives the same series; a bad listing
//! fails only this source; and, as root, real ipset in a network
//! namespace (a set of 1,000,000 entries among them) scraped by the
//! exporter and a real Prometheus while traffic flows.
//!
//! `UPDATE_GOLDEN=1` (exactly) rewrites the expected files; review the diff.

use crate::common;

use common::exporter::{Exporter, script};
use common::http;
use common::ipset::{Expected, expected, served};
use common::netns::Netns;
use common::prometheus::{self, Prometheus};
use common::{fixtures, promtool_problems, sandbox};
use iptables_exporter::sandbox::{Filter, IpsetListing, IpsetSettings};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn ipset_fixtures() -> PathBuf {
    fixtures().join("ipset")
}

fn settings() -> IpsetSettings {
    IpsetSettings {
        sets: Filter::NONE,
        element_counters: true,
        max_element_series: None,
    }
}

/// What the host does with a listing: asks the component which sets need
/// their members, reads those (`members(set)`), and renders.
fn render(
    headers: &[u8],
    members: impl Fn(&str) -> Vec<u8>,
    settings: &IpsetSettings,
) -> Result<String, String> {
    let sandbox = sandbox();
    let wanted = sandbox
        .ipset_member_listings(headers, settings)
        .map_err(|err| err.to_string())?;
    let listing = IpsetListing {
        headers: headers.to_vec().into(),
        members: wanted
            .iter()
            .map(|set| (set.clone(), members(set).into()))
            .collect(),
        timestamp_ms: None,
    };
    sandbox
        .render_ipset(&listing, settings, exposition::Format::Text)
        .outcome
        .map(|(text, _)| text)
        .map_err(|err| err.to_string())
}

/// A captured listing's headers, and its sets' own listings.
fn captured(name: &str) -> (Vec<u8>, impl Fn(&str) -> Vec<u8>) {
    let headers = std::fs::read(ipset_fixtures().join(format!("{name}.txt"))).expect("fixture");
    let dir = ipset_fixtures().join(format!("{name}.members"));
    let members = move |set: &str| {
        std::fs::read(dir.join(format!("{set}.txt")))
            .unwrap_or_else(|err| panic!("the members of {set}: {err}"))
    };
    (headers, members)
}

/// Without its `Number of entries:` lines: as a kernel of set protocol 6
/// prints it.
fn protocol_6(listing: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(listing)
        .lines()
        .filter(|l| !l.starts_with("Number of entries:"))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .into_bytes()
}

fn disagreement(model: &Expected, rendered: &Expected) -> Option<String> {
    if model == rendered {
        return None;
    }
    let missing: Vec<_> = model
        .iter()
        .filter(|(k, v)| rendered.get(*k) != Some(v))
        .collect();
    let extra: Vec<_> = rendered
        .iter()
        .filter(|(k, v)| model.get(*k) != Some(v))
        .collect();
    Some(format!(
        "model has, served not: {missing:?}\n  served has, model not: {extra:?}"
    ))
}

#[test]
fn captured_listings_match_their_expositions_and_the_model() {
    let names: Vec<String> = common::files_ending(&ipset_fixtures(), ".txt")
        .iter()
        .map(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .expect("a name")
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["mixed"], "the captured listings (capture.sh)");
    for name in names {
        let (headers, members) = captured(&name);
        let got = render(&headers, &members, &settings()).unwrap_or_else(|err| panic!("{err}"));
        let golden_path = ipset_fixtures().join(format!("{name}.prom"));
        if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
            std::fs::write(&golden_path, &got).expect("writing golden file");
        }
        let want = std::fs::read_to_string(&golden_path)
            .unwrap_or_else(|err| panic!("{}: {err} (UPDATE_GOLDEN=1)", golden_path.display()));
        assert_eq!(got, want, "{name}: differs from {}", golden_path.display());
        let xml = std::fs::read_to_string(ipset_fixtures().join(format!("{name}.xml")))
            .expect("the XML listing");
        if let Some(disagreement) = disagreement(&expected(&xml), &served(&want)) {
            panic!("{name}: the model disagrees\n  {disagreement}");
        }
        assert_eq!(promtool_problems(&want), "", "{name}: promtool");

        // Set protocol 6: no counts anywhere; every set's members are
        // listed and counted, and the series are the same.
        let old = render(
            &protocol_6(&headers),
            |set| protocol_6(&members(set)),
            &settings(),
        )
        .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(old, want, "{name}: as set protocol 6 prints it");
    }
}

#[test]
fn element_counters_are_off_by_default_and_capped() {
    let (headers, members) = captured("mixed");
    let off = IpsetSettings {
        element_counters: false,
        ..settings()
    };
    let text = render(&headers, &members, &off).expect("renders");
    assert!(text.contains("ipset_entries{"), "{text}");
    assert!(!text.contains("ipset_element_"), "{text}");
    let capped = IpsetSettings {
        max_element_series: Some(2),
        ..settings()
    };
    let text = render(&headers, &members, &capped).expect("renders");
    let elements = |metric: &str| {
        text.lines()
            .filter(|l| l.starts_with(&format!("{metric}{{")))
            .count()
    };
    assert_eq!(
        (
            elements("ipset_element_packets_total"),
            elements("ipset_element_bytes_total")
        ),
        (2, 2)
    );
}

/// Starts an exporter reading the docker fixture for ipv4 and `ipset` as
/// `command` prints it.
fn exporter_with(dir: &Path, ipset: &Path, extra: &[&str]) -> Exporter {
    let save = common::exporter::cat_fixture(dir, "save", "docker-nft.ipv4.rules");
    let command = format!("--ipset.command={}", ipset.display());
    let mut args = vec!["--collector.ipset", command.as_str()];
    args.extend(extra);
    Exporter::ipv4(&save, &args)
}

#[test]
fn a_bad_listing_fails_only_the_ipset_source() {
    let dir = tempfile::tempdir().expect("dir");
    let mixed = ipset_fixtures().join("mixed.txt");
    let mixed = mixed.display();
    let cut = script(dir.path(), "ipset-cut", &format!("head -c 300 '{mixed}'"));
    let failing = script(
        dir.path(),
        "ipset-fails",
        "echo 'ipset v7.17: Kernel error received: Operation not permitted' >&2; exit 1",
    );
    let prose = script(dir.path(), "ipset-prose", "echo 'Usage: ipset [options]'");
    let twice = script(
        dir.path(),
        "ipset-twice",
        &format!("cat '{mixed}' '{mixed}'"),
    );
    for (ipset, logged) in [
        (&cut, "has no `Size in memory:` line"),
        (&failing, "Operation not permitted"),
        (&prose, "line 1: ipset list -t: expected `Name:`"),
        (&twice, "set `ipc` is listed twice"),
    ] {
        let exporter = exporter_with(dir.path(), ipset, &[]);
        common::exporter::assert_only_the_source_failed(
            &exporter,
            "ipset",
            |body| body.contains("ipset_entries"),
            logged,
        );
    }
}

/// A set destroyed between `ipset list -t` and its own listing costs only
/// that set's members: its count where the kernel gives none, its element
/// series; every other set keeps its series.
#[test]
fn a_set_destroyed_while_listed_costs_only_its_members() {
    let dir = tempfile::tempdir().expect("dir");
    let members = ipset_fixtures().join("mixed.members");
    let terse = protocol_6(&std::fs::read(ipset_fixtures().join("mixed.txt")).expect("fixture"));
    let terse_path = dir.path().join("terse.txt");
    std::fs::write(&terse_path, terse).expect("write");
    let ipset = script(
        dir.path(),
        "ipset-destroyed",
        &format!(
            r#"case "$*" in
"list -t") cat '{}' ;;
"list ipc") echo 'ipset v7.17: The set with the given name does not exist' >&2; exit 1 ;;
"list "*) cat "{}/$2.txt" | grep -v '^Number of entries:' ;;
esac"#,
            terse_path.display(),
            members.display()
        ),
    );
    let exporter = exporter_with(dir.path(), &ipset, &["--ipset.element-counters"]);
    let body = exporter.scrape();
    assert!(body.contains("\nipset_scrape_success 1\n"), "{body}");
    assert!(!body.contains("ipset_entries{set=\"ipc\""), "{body}");
    assert!(
        !body.contains("element_packets_total{set=\"ipc\""),
        "{body}"
    );
    assert!(
        body.contains("ipset_max_entries{set=\"ipc\"} 65536"),
        "{body}"
    );
    assert!(
        body.contains("ipset_entries{set=\"nets\",type=\"hash:net\"} 2"),
        "{body}"
    );
    assert!(
        body.contains("ipset_element_packets_total{set=\"nets\",element=\"10.0.0.0/8\"}"),
        "{body}"
    );
    let log = exporter.log();
    assert!(
        log.contains("a set's members could not be listed") && log.contains("does not exist"),
        "{log}"
    );
}

/// `--collector.ipset` with no ipset installed reports the source failing
/// rather than leaving it out; `--no-collector.ipset` leaves it out.
#[test]
fn a_named_ipset_source_without_ipset_reports_failure() {
    let dir = tempfile::tempdir().expect("dir");
    let exporter = exporter_with(dir.path(), Path::new("/nonexistent/ipset"), &[]);
    assert!(exporter.scrape().contains("\nipset_scrape_success 0\n"));
    let save = common::exporter::cat_fixture(dir.path(), "save", "docker-nft.ipv4.rules");
    let off = Exporter::ipv4(&save, &["--no-collector.ipset"]);
    assert!(!off.scrape().contains("ipset_scrape_success"));
}

#[test]
fn a_set_pattern_that_does_not_compile_is_refused_at_start_up() {
    let (status, stderr) =
        common::exporter::start_failure(&["--collector.ipset", "--ipset.set-include=("]);
    assert!(!status.success());
    assert!(
        stderr.contains("--ipset.set-include") && stderr.contains("sets.include"),
        "{stderr}"
    );
}

const EXPORTER: &str = "127.0.0.1:9455";
/// Entries of the large set: as many as the issue's largest real set.
const BIG: u32 = 1_000_000;

/// `ipset list -o xml` now, read by the model.
fn ipset_now(ns: &Netns) -> Expected {
    expected(&String::from_utf8(ns.run("ipset", &["list", "-o", "xml"], b"")).expect("utf-8"))
}

/// The mixed sets and their rules, and `big`: a hash:net of 1,000,000
/// entries.
fn load_sets(ns: &Netns) {
    let sources = ipset_fixtures().join("sources");
    ns.run(
        "ipset",
        &["restore"],
        &std::fs::read(sources.join("mixed.ipset")).expect("sets"),
    );
    ns.run(
        "iptables-restore",
        &[],
        &std::fs::read(sources.join("mixed.rules")).expect("rules"),
    );
    let mut big = String::from("create big hash:net family inet maxelem 2000000\n");
    for n in 0..BIG {
        let address = std::net::Ipv4Addr::from(0x0a00_0000 + n);
        big.push_str(&format!("add big {address}\n"));
    }
    ns.run("ipset", &["restore"], big.as_bytes());
}

/// Each series of `body` lies between what ipset listed just before and
/// just after it (equal where nothing moved: every gauge here).
fn between(before: &Expected, body: &str, after: &Expected) {
    let served = served(body);
    assert_eq!(
        served.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "the series ipset lists"
    );
    for (key, value) in &served {
        let (low, high) = (before[key], after[key]);
        assert!(
            low <= *value && *value <= high,
            "{key:?}: served {value}, ipset listed {low} before and {high} after"
        );
    }
}

#[test]
fn real_ipsets_are_scraped_and_prometheus_sees_them_move() {
    common::require_tool("ipset", "ipset");
    let ns = Netns::new("ipset");
    load_sets(&ns);
    let mut command = ns.command(env!("CARGO_BIN_EXE_iptables-exporter"));
    command.args([
        "--collector.ipset",
        "--ipset.element-counters",
        "--no-collector.nftables",
        "--iptables.min-interval=0s",
        &format!("--web.listen-address={EXPORTER}"),
    ]);
    let _exporter = Exporter::spawn(command);
    let _prometheus = Prometheus::every_second(&ns, EXPORTER);
    ns.enter(|| {
        http::wait_for_listener(EXPORTER, Duration::from_secs(60));
        // Every series against ipset's own listing of the same moment.
        let before = ipset_now(&ns);
        let body = http::get_text(EXPORTER, "/metrics");
        let after = ipset_now(&ns);
        assert!(body.contains("\nipset_scrape_success 1\n"), "{body}");
        between(&before, &body, &after);
        assert!(
            body.contains(&format!(
                "ipset_entries{{set=\"big\",type=\"hash:net\"}} {BIG}\n"
            )),
            "{body}"
        );
        // Two rules and the list:set use ipc.
        assert!(body.contains("ipset_references{set=\"ipc\"} 3\n"), "{body}");

        // Traffic over 127.0.0.1 goes through the rules matching ipc:
        // Prometheus sees its element's counters grow.
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let address = listener.local_addr().expect("address");
            let _ = std::net::TcpStream::connect(address);
            let increase = prometheus::query_value(
                "increase(ipset_element_packets_total{set=\"ipc\",element=\"127.0.0.1\"}[20s])",
            );
            if increase.is_some_and(|v| v > 0.0) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus never saw ipc's 127.0.0.1 counters move; log:\n{}",
                _prometheus.log()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        // The large set as Prometheus has it, and then a set that grows.
        prometheus::wait_for(
            &_prometheus,
            Duration::from_secs(60),
            "Prometheus has the large set's entries",
            || prometheus::query_value("ipset_entries{set=\"big\"}").filter(|v| *v as u32 == BIG),
        );
        ns.run("ipset", &["add", "nets", "172.16.0.0/12"], b"");
        prometheus::wait_for(
            &_prometheus,
            Duration::from_secs(60),
            "Prometheus has nets at 3 entries",
            || prometheus::query_value("ipset_entries{set=\"nets\"}").filter(|v| *v == 3.0),
        );
    });
}
