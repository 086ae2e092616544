//! A real Prometheus server scrapes the exporter (both inside a network
//! namespace, with real iptables rules), and its HTTP API must return the
//! ruleset series with exactly the labels and values the exporter serves,
//! in both formats: one exporter answers Prometheus' preference,
//! OpenMetrics, the other runs with `--web.disable-openmetrics`.

use crate::common;

use common::exporter::Exporter;
use common::http;
use common::netns::Netns;
use common::prometheus::{self, Prometheus};
use std::collections::BTreeMap;
use std::time::Duration;

/// The exporter serving OpenMetrics (job `iptables`), and the one serving
/// text 0.0.4 (job `iptables-text`).
const EXPORTER: &str = "127.0.0.1:9455";
const TEXT_EXPORTER: &str = "127.0.0.1:9456";

/// What Prometheus 2.42 sends.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

const RULES: &str = r#"*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:LOGGING - [0:0]
-A INPUT -s 10.0.0.0/8 ! -i lo -m comment --comment "keep  this, \"quoted\"" -j ACCEPT
-A INPUT -p tcp -j LOGGING
-A INPUT -p tcp -j LOGGING
-A LOGGING -j LOG --log-prefix "dropped: "
COMMIT
"#;

type LabelSet = BTreeMap<String, String>;

/// Label sets of `metric` in Prometheus from `job`, without
/// job/instance/__name__, with their values.
fn prometheus_series(metric: &str, job: &str) -> Option<BTreeMap<LabelSet, String>> {
    let results = prometheus::query(&format!("{metric}{{job=\"{job}\"}}"))?;
    let mut sets = BTreeMap::new();
    for result in results {
        let metric_labels = result["metric"].as_object()?;
        let set: LabelSet = metric_labels
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "job" | "instance" | "__name__"))
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        sets.insert(set, result["value"][1].as_str()?.to_owned());
    }
    Some(sets)
}

#[test]
fn prometheus_ingests_the_rule_series_with_their_labels_in_both_formats() {
    let ns = Netns::new("prom");
    ns.run("iptables-nft-restore", &[], RULES.as_bytes());
    let exporter = |address: &str, extra: &[&str]| {
        let mut command = ns.command(env!("CARGO_BIN_EXE_iptables-exporter"));
        command
            .args([
                "--iptables.save-path=iptables-nft-save",
                "--iptables.families=ipv4",
                // One collection answers every scrape, the test's and
                // Prometheus': loopback traffic moves the counters, and
                // values compared across scrapes must not have moved.
                "--iptables.min-interval=1h",
                "--iptables.max-age=2h",
            ])
            .arg(format!("--web.listen-address={address}"))
            .args(extra);
        Exporter::spawn(command)
    };
    let _open = exporter(EXPORTER, &[]);
    let _text = exporter(TEXT_EXPORTER, &["--web.disable-openmetrics"]);
    let prometheus = Prometheus::start(
        &ns,
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: iptables\n    static_configs:\n      - targets: ['{EXPORTER}']\n  - job_name: iptables-text\n    static_configs:\n      - targets: ['{TEXT_EXPORTER}']\n"
        ),
    );

    ns.enter(|| {
        http::wait_for_listener(EXPORTER, Duration::from_secs(60));
        http::wait_for_listener(TEXT_EXPORTER, Duration::from_secs(60));
        for (address, job, content_type) in [
            (EXPORTER, "iptables", "application/openmetrics-text; version=1.0.0"),
            (TEXT_EXPORTER, "iptables-text", "text/plain; version=0.0.4"),
        ] {
            // What this exporter serves Prometheus.
            let scrape = http::get_with(address, "/metrics", &[("Accept", PROMETHEUS_ACCEPT)])
                .expect("scrape");
            assert!(
                scrape.headers.to_ascii_lowercase().contains(&format!("content-type: {content_type}")),
                "{job}: {}",
                scrape.headers
            );
            let body = String::from_utf8_lossy(&scrape.body).into_owned();
            assert_eq!(body.ends_with("# EOF\n"), job == "iptables", "{job}");
            let served = http::parse_exposition(&body);
            http::wait_for_listener(prometheus::ADDRESS, Duration::from_secs(30));
            for metric in [
                "iptables_rule_packets_total",
                "iptables_rule_bytes_total",
                "iptables_default_packets_total",
                "iptables_rules",
                "iptables_scrape_success",
            ] {
                let want: BTreeMap<LabelSet, String> = served
                    .iter()
                    .filter(|((name, _), _)| name == metric)
                    .map(|((_, labels), value)| (labels.clone(), value.clone()))
                    .collect();
                assert!(!want.is_empty(), "{job}: the exporter serves no {metric}");
                prometheus::wait_for(
                    &prometheus,
                    Duration::from_secs(60),
                    &format!("{job}: Prometheus has the series and values of {metric} the exporter serves ({want:?})"),
                    || prometheus_series(metric, job).filter(|got| *got == want),
                );
            }
            // Every sample of a scrape is ingested: the ruleset's, the
            // scrape series and the exporter's own.
            let samples = served.len() as f64;
            prometheus::wait_for(
                &prometheus,
                Duration::from_secs(60),
                &format!("{job}: scrape_samples_scraped is the {samples} samples served"),
                || {
                    prometheus::query_value(&format!("scrape_samples_scraped{{job=\"{job}\"}}"))
                        .filter(|n| *n == samples)
                },
            );
            let rule =
                r#"-s 10.0.0.0/8 ! -i lo -m comment --comment "keep  this, \"quoted\"" -j ACCEPT"#;
            let got = prometheus_series("iptables_rule_packets_total", job).expect("query");
            assert!(
                got.keys()
                    .any(|l| l.get("rule").map(String::as_str) == Some(rule)),
                "{job}: rule label not preserved byte for byte: {got:?}"
            );
        }
    });
}
