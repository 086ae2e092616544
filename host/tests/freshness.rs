//! Which collection answers a scrape, and how it is marked: fresh and
//! unstamped when the scrape's own collection finishes by its deadline;
//! the last collection, every ruleset sample stamped with the time it was
//! read, past the deadline or within `--iptables.min-interval`; never
//! counters older than `--iptables.max-age`.

use crate::common;

use common::exporter::{Exporter, HangingSave, HeldSave, scrape_success, script, start_failure};
use common::{fixtures, http};
use std::time::{Duration, SystemTime};

const FIXTURE: &str = "docker-nft.ipv4.rules";
/// What Prometheus sends with every scrape.
const TIMEOUT_HEADER: &str = "X-Prometheus-Scrape-Timeout-Seconds";

fn golden_ruleset_part() -> String {
    let golden = std::fs::read_to_string(fixtures().join("docker-nft.ipv4.prom")).expect("golden");
    http::ruleset_part(&golden).to_owned()
}

/// `GET /metrics` as Prometheus asks, with a scrape timeout of `seconds`.
fn scrape_with_timeout(exporter: &Exporter, seconds: &str) -> String {
    let response = http::get_with(&exporter.address, "/metrics", &[(TIMEOUT_HEADER, seconds)])
        .expect("scrape");
    assert_eq!(response.status, 200);
    String::from_utf8(response.body).expect("UTF-8")
}

/// The timestamp every ruleset sample of `body` carries, after checking
/// that the samples are the fixture's and that the family's collection
/// gauge says the same time.
fn stamped_answer(body: &str) -> i64 {
    assert_eq!(scrape_success(body, "ipv4").as_deref(), Some("1"), "{body}");
    let ruleset = http::ruleset_part(body);
    let stamp = http::sample_timestamps(ruleset).expect("the ruleset samples are stamped");
    assert_eq!(http::without_timestamps(ruleset), golden_ruleset_part());
    let gauge: f64 = http::parse_exposition(body)[&(
        "iptables_collection_timestamp_seconds".to_owned(),
        http::labels(&[("family", "ipv4")]),
    )]
        .parse()
        .expect("a number");
    assert_eq!((gauge * 1000.0).round() as i64, stamp);
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    assert!(stamp <= now_ms, "stamped in the future: {stamp} > {now_ms}");
    stamp
}

#[test]
fn a_scrape_whose_collection_finishes_in_time_is_fresh_and_unstamped() {
    let dir = tempfile::tempdir().expect("dir");
    let held = HeldSave::new(dir.path(), FIXTURE);
    held.release();
    let exporter = Exporter::ipv4(&held.save, &[]);
    let body = scrape_with_timeout(&exporter, "10");
    assert_eq!(
        held.runs().len(),
        2,
        "the scrape ran a collection of its own"
    );
    assert_eq!(http::ruleset_part(&body), golden_ruleset_part());
    assert!(body.contains("iptables_collection_timestamp_seconds{family=\"ipv4\"} "));
}

#[test]
fn past_its_deadline_a_scrape_gets_the_last_collection_and_the_late_one_answers_next() {
    let dir = tempfile::tempdir().expect("dir");
    let (held, mut exporter) = HeldSave::started(dir.path(), FIXTURE, &["--log.level=debug"]);
    // 1.5 s less the 1 s offset: the held collection misses it.
    let late = scrape_with_timeout(&exporter, "1.5");
    let first = stamped_answer(&late);
    assert!(
        exporter
            .log()
            .contains("did not finish by the scrape's deadline")
    );
    assert_eq!(held.runs().len(), 2, "start-up and the held collection");

    // The held collection goes on; a scrape arriving while it runs waits
    // for it (no header: no deadline) and gets it, stamped with its own
    // read time.
    let address = exporter.address.clone();
    let next = std::thread::spawn(move || http::get(&address, "/metrics").expect("scrape"));
    // The first scrape waited for it too (until its deadline): the second
    // line is this scrape's. Released before it arrives, the collection
    // would be over and the scrape would start one of its own.
    exporter.wait_for_log("waiting for the collection in progress", 2);
    held.release();
    let next = String::from_utf8(next.join().expect("client").body).expect("UTF-8");
    let second = stamped_answer(&next);
    assert!(second > first, "{second} is not later than {first}");
    assert_eq!(held.runs().len(), 2, "no collection was started for it");
}

#[test]
fn a_collection_that_will_overrun_the_deadline_is_not_waited_for() {
    let dir = tempfile::tempdir().expect("dir");
    // Every collection takes at least 2 s, the start-up one included.
    let save = script(
        dir.path(),
        "slow-save",
        &format!("sleep 2; cat '{}'", fixtures().join(FIXTURE).display()),
    );
    let exporter = Exporter::ipv4(&save, &["--log.level=debug"]);
    // 2 s less the 1 s offset: the new collection, going by the last one,
    // cannot make it, so the answer comes from the last one at once.
    let body = scrape_with_timeout(&exporter, "2");
    stamped_answer(&body);
    let log = exporter.log();
    assert!(
        log.contains("will not be done by the scrape's deadline"),
        "log:\n{log}"
    );
    assert!(
        !log.contains("did not finish by the scrape's deadline"),
        "log:\n{log}"
    );
}

#[test]
fn within_the_min_interval_scrapes_are_answered_from_the_last_collection() {
    let dir = tempfile::tempdir().expect("dir");
    let held = HeldSave::new(dir.path(), FIXTURE);
    held.release();
    let exporter = Exporter::ipv4(
        &held.save,
        &["--iptables.min-interval=1h", "--iptables.max-age=2h"],
    );
    let stamps: Vec<i64> = (0..3)
        .map(|_| stamped_answer(&scrape_with_timeout(&exporter, "10")))
        .collect();
    assert_eq!(held.runs().len(), 1, "only the start-up collection ran");
    assert!(stamps.iter().all(|&s| s == stamps[0]), "{stamps:?}");
}

#[test]
fn within_the_min_interval_a_collection_past_the_max_age_is_replaced_not_served() {
    let dir = tempfile::tempdir().expect("dir");
    let held = HeldSave::new(dir.path(), FIXTURE);
    let mut exporter = Exporter::ipv4_listening(
        &held.save,
        &["--iptables.min-interval=4s", "--iptables.max-age=5s"],
    );
    // The start-up collection takes at least 3 s: its counters pass the
    // max age 2 s after it finishes, well within the min interval.
    let started = held.wait_for_run(1);
    let held_from = std::time::Instant::now();
    while held_from.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
    }
    held.release();
    let finished = std::time::Instant::now();
    exporter.wait_for_log("first collection finished", 1);
    while finished.elapsed() < Duration::from_millis(2200) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let body = scrape_with_timeout(&exporter, "10");
    let asked_after = finished.elapsed();
    assert!(
        asked_after < Duration::from_millis(3800),
        "inconclusive: the scrape came {asked_after:?} after the collection, past the min interval"
    );
    // Answered by a new collection (the release stays), not with every
    // family failed from the stale one.
    assert_eq!(
        scrape_success(&body, "ipv4").as_deref(),
        Some("1"),
        "{body}"
    );
    assert_eq!(http::ruleset_part(&body), golden_ruleset_part());
    let runs = held.runs();
    assert_eq!(runs.len(), 2, "no new collection ran");
    assert_eq!(runs[0], started);
}

#[test]
fn counters_older_than_the_max_age_are_never_served() {
    let dir = tempfile::tempdir().expect("dir");
    let (held, exporter) = HeldSave::started(dir.path(), FIXTURE, &["--iptables.max-age=1s"]);
    // The start-up collection's counters were read before `ipv4` returned:
    // after this they are more than a second old, whatever the machine's load.
    std::thread::sleep(Duration::from_millis(1100));
    let body = scrape_with_timeout(&exporter, "1.5");
    assert_eq!(
        scrape_success(&body, "ipv4").as_deref(),
        Some("0"),
        "{body}"
    );
    assert_eq!(http::ruleset_part(&body), "", "stale series were served");
    assert!(!body.contains("iptables_collection_timestamp_seconds"));
    assert!(
        exporter.log().contains("older than --iptables.max-age"),
        "log:\n{}",
        exporter.log()
    );
    held.release();
}

#[test]
fn before_any_collection_finished_a_scrape_past_its_deadline_reports_failure() {
    let dir = tempfile::tempdir().expect("dir");
    let hanging = HangingSave::new(dir.path());
    // The start-up collection hangs; without the deadline the scrape would
    // wait the 10 minutes of the command's timeout and the client give up.
    let exporter = Exporter::ipv4_listening(&hanging.save, &["--iptables.timeout=10m"]);
    let body = scrape_with_timeout(&exporter, "1.5");
    assert_eq!(
        scrape_success(&body, "ipv4").as_deref(),
        Some("0"),
        "{body}"
    );
    assert_eq!(http::ruleset_part(&body), "");
    assert!(
        exporter.log().contains("no collection has finished yet"),
        "log:\n{}",
        exporter.log()
    );
}

#[test]
fn the_max_age_must_exceed_the_min_interval() {
    let (status, stderr) = start_failure(&["--iptables.min-interval=5m", "--iptables.max-age=2m"]);
    assert!(!status.success());
    assert!(
        stderr.contains("--iptables.max-age (2m) must be longer than --iptables.min-interval (5m)"),
        "{stderr}"
    );
}
