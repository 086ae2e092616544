//! A real Prometheus server scrapes the exporter (both inside a network
//! namespace, with real iptables rules), and its HTTP API must return the
//! ruleset series with exactly the labels the exporter serves.

mod common;

use common::exporter::Exporter;
use common::http;
use common::netns::Netns;
use common::prometheus::{self, Prometheus};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const EXPORTER: &str = "127.0.0.1:9455";

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

/// Label sets of `metric` in Prometheus, without job/instance/__name__.
fn prometheus_series(metric: &str) -> Option<BTreeSet<LabelSet>> {
    let results = prometheus::query(metric)?;
    let mut sets = BTreeSet::new();
    for result in results {
        let metric_labels = result["metric"].as_object()?;
        assert_eq!(metric_labels["job"], "iptables");
        assert_eq!(metric_labels["instance"], EXPORTER);
        let set: LabelSet = metric_labels
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "job" | "instance" | "__name__"))
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        sets.insert(set);
    }
    Some(sets)
}

#[test]
fn prometheus_ingests_the_rule_series_with_their_labels() {
    let ns = Netns::new("prom");
    ns.run("iptables-nft-restore", &[], RULES.as_bytes());
    let mut exporter = ns.command(env!("CARGO_BIN_EXE_iptables-exporter"));
    exporter.args([
        "--iptables.save-path=iptables-nft-save",
        "--iptables.families=ipv4",
    ]);
    let _exporter = Exporter::spawn(exporter);
    let prometheus = Prometheus::start(
        &ns,
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: iptables\n    static_configs:\n      - targets: ['{EXPORTER}']\n"
        ),
    );

    ns.enter(|| {
        let scrape = http::get(EXPORTER, "/metrics").expect("scrape");
        let served = http::parse_exposition(&String::from_utf8_lossy(&scrape.body));
        http::wait_for_listener(prometheus::ADDRESS, Duration::from_secs(30));

        for metric in [
            "iptables_rule_packets_total",
            "iptables_rule_bytes_total",
            "iptables_default_packets_total",
            "iptables_rules",
            "iptables_scrape_success",
        ] {
            let want: BTreeSet<LabelSet> = served
                .keys()
                .filter(|(name, _)| name == metric)
                .map(|(_, labels)| labels.clone())
                .collect();
            assert!(!want.is_empty(), "the exporter serves no {metric}");
            prometheus::wait_for(
                &prometheus,
                Duration::from_secs(60),
                &format!("Prometheus has the series of {metric} the exporter serves ({want:?})"),
                || prometheus_series(metric).filter(|got| *got == want),
            );
        }
        let rule =
            r#"-s 10.0.0.0/8 ! -i lo -m comment --comment "keep  this, \"quoted\"" -j ACCEPT"#;
        let got = prometheus_series("iptables_rule_packets_total").expect("query");
        assert!(
            got.iter()
                .any(|l| l.get("rule").map(String::as_str) == Some(rule)),
            "rule label not preserved byte for byte: {got:?}"
        );
    });
}
