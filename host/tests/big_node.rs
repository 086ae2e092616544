//! A big node for real: the 100k-rule kube-proxy ruleset (generator seed 7)
//! restored into real iptables, nft then legacy, each in its own namespace
//! with its own exporter (default freshness settings) and a
//! real Prometheus as shipped (15 s interval, 10 s timeout), for two
//! minutes. iptables-nft-save takes longer here than Prometheus waits: every
//! scrape must still succeed, and the rate Prometheus computes for a rule
//! carrying known traffic must be the rate sent, within 2 %.

use crate::common;

use common::exporter::Exporter;
use common::netns::Netns;
use common::prometheus::{self, Prometheus};
use exposition::Family;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

const RULES: usize = 100_000;
const EXPORTER: &str = "127.0.0.1:9455";
const TRAFFIC_PORT: u16 = 9999;
/// Packets per second sent to the traffic rule.
const RATE: f64 = 500.0;
/// Scrapes Prometheus must have made: two minutes at its default 15 s.
const SCRAPES: usize = 9;
const TRAFFIC_RULE: &str =
    r#"-p udp -m udp --dport 9999 -m comment --comment "e2e traffic" -j ACCEPT"#;

/// The generated dump with the traffic rule first in filter's INPUT, so
/// that no other rule takes its packets.
fn dump_with_traffic_rule() -> String {
    let dump = ruleset_generator::generate(RULES, 7, Family::Ipv4);
    let filter = dump.find("*filter\n").expect("a filter table");
    let rest = &dump[filter..];
    let at = filter
        + ["-A INPUT ", "\nCOMMIT\n"]
            .iter()
            .filter_map(|needle| rest.find(needle))
            .min()
            .map(|i| rest[..i].rfind('\n').map_or(0, |nl| nl + 1))
            .expect("filter's INPUT rules or COMMIT");
    format!(
        "{}[0:0] -A INPUT {TRAFFIC_RULE}\n{}",
        &dump[..at],
        &dump[at..]
    )
}

/// Sends UDP packets to the traffic port at `RATE` (on an absolute
/// schedule, so the long-run rate is exact whatever the scheduler does)
/// until `stop`; returns how many.
fn send_traffic(stop: &AtomicBool) -> u64 {
    // Bound so the packets have somewhere to go; never read: a full buffer
    // drops them after the INPUT chain has counted them.
    let _receiver = UdpSocket::bind(("127.0.0.1", TRAFFIC_PORT)).expect("bind receiver");
    let sender = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
    let start = Instant::now();
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let due = start + Duration::from_secs_f64(sent as f64 / RATE);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        sender
            .send_to(b"x", ("127.0.0.1", TRAFFIC_PORT))
            .expect("send");
        sent += 1;
    }
    sent
}

/// The raw samples (time in seconds, value) Prometheus holds for the
/// traffic rule's packet counter.
fn traffic_samples() -> Option<Vec<(f64, f64)>> {
    let result = prometheus::query(
        r#"iptables_rule_packets_total{family="ipv4",table="filter",chain="INPUT",rule=~".*e2e traffic.*"}[10m]"#,
    )?;
    let [series] = result.as_slice() else {
        return None;
    };
    series["values"]
        .as_array()?
        .iter()
        .map(|pair| Some((pair[0].as_f64()?, pair[1].as_str()?.parse().ok()?)))
        .collect()
}

/// One big node at a time: two, each with its Prometheus ingesting 300k
/// series every 15 s, would starve a 2-core machine of CPU and make the
/// test measure that.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn big_node(variant: &str) {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let ns = Netns::new(&format!("big-{variant}"));
    ns.run(
        &format!("iptables-{variant}-restore"),
        &["-c"],
        dump_with_traffic_rule().as_bytes(),
    );
    // Traffic from before the first collection to the end: every sample
    // Prometheus gets was read while it flowed.
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = ns.spawn({
        let stop = stop.clone();
        move || send_traffic(&stop)
    });

    // Default flags but for the save commands' names, which pick the backend.
    let mut command = ns.command(env!("CARGO_BIN_EXE_iptables-exporter"));
    command.args([
        &format!("--iptables.save-path=iptables-{variant}-save"),
        &format!("--ip6tables.save-path=ip6tables-{variant}-save"),
    ]);
    let mut exporter = Exporter::spawn_listening(command);
    // iptables-nft-save alone takes 10 to 20 s here.
    exporter.wait_for_log_within("first collection finished", 1, Duration::from_secs(180));
    // The interval and timeout of the configuration Prometheus ships with
    // (its built-in interval, without a configuration, is 1m).
    let prometheus = Prometheus::start(
        &ns,
        &format!(
            "global:\n  scrape_interval: 15s\n  scrape_timeout: 10s\nscrape_configs:\n  - job_name: iptables\n    static_configs:\n      - targets: ['{EXPORTER}']\n"
        ),
    );

    let (scrapes, samples, out_of_order, slowest) = ns.enter(|| {
        let scrapes = prometheus::wait_for(
            &prometheus,
            Duration::from_secs(300),
            &format!("{SCRAPES} scrapes"),
            || {
                prometheus::query_value(r#"count_over_time(up{job="iptables"}[10m])"#)
                    .filter(|&n| n >= SCRAPES as f64)
            },
        );
        let up = prometheus::query_value(r#"min_over_time(up{job="iptables"}[10m])"#);
        assert_eq!(
            up,
            Some(1.0),
            "a scrape failed: up {:?}, scrape durations {:?}; exporter log:\n{}",
            prometheus::query(r#"up{job="iptables"}[10m]"#),
            prometheus::query(r#"scrape_duration_seconds{job="iptables"}[10m]"#),
            exporter.log()
        );
        for family in ["ipv4", "ipv6"] {
            let success = prometheus::query_value(&format!(
                r#"min_over_time(iptables_scrape_success{{family="{family}"}}[10m])"#
            ));
            assert_eq!(
                success,
                Some(1.0),
                "{family}: iptables_scrape_success was not 1 throughout; exporter log:\n{}",
                exporter.log()
            );
        }
        let samples = traffic_samples().expect("the traffic rule's samples");
        let out_of_order =
            prometheus::own_metric("prometheus_target_scrapes_sample_out_of_order_total");
        let slowest = prometheus::query_value(
            r#"max_over_time(scrape_duration_seconds{job="iptables"}[10m])"#,
        );
        (scrapes, samples, out_of_order, slowest)
    });
    stop.store(true, Ordering::Relaxed);
    let sent = traffic.join().expect("traffic thread");

    assert_eq!(
        out_of_order,
        Some(0.0),
        "Prometheus refused samples as out of order"
    );
    let (first, last) = (samples[0], samples[samples.len() - 1]);
    let span = last.0 - first.0;
    assert!(span >= 60.0, "the samples span only {span} s: {samples:?}");
    let rate = (last.1 - first.1) / span;
    let deadline_misses = exporter
        .log()
        .matches("did not finish by the scrape's deadline")
        .count();
    eprintln!(
        "{variant}: {scrapes} scrapes (slowest {slowest:?} s), {} distinct samples over {span:.1} s, rate {rate:.2}/s (sent {RATE}/s, {sent} packets), {deadline_misses} answers past the deadline from the last collection",
        samples.len()
    );
    assert!(
        (rate / RATE - 1.0).abs() <= 0.02,
        "{variant}: Prometheus sees {rate:.2} packets/s, {RATE} were sent; samples {samples:?}"
    );
}

#[test]
fn a_100k_rule_nft_node_is_scraped_without_a_failure_and_with_exact_rates() {
    big_node("nft");
}

#[test]
fn a_100k_rule_legacy_node_is_scraped_without_a_failure_and_with_exact_rates() {
    big_node("legacy");
}
