//! The nftables source: listings captured from real nft and the drift
//! cases rendered through the component, byte for byte against their
//! expected exposition (`NAME.prom`) and against the independent model
//! (`common/nft.rs`); a listing that is not one fails only this source;
//! and, as root, real nft in a network namespace beside iptables-nft,
//! scraped by the exporter and a real Prometheus while traffic flows.
//!
//! `UPDATE_GOLDEN=1` (exactly) rewrites the expected files; review the diff.

use crate::common;

use common::exporter::{Exporter, script};
use common::http;
use common::netns::Netns;
use common::nft::{counts_inline, expected, nftables_part, printed_rules, series_of, served};
use common::prometheus::{self, Prometheus};
use common::{fixtures, promtool_problems, sandbox};
use iptables_exporter::sandbox::{Listing, NftOptions, Options, Selection, TableId};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn nft_fixtures() -> PathBuf {
    fixtures().join("nftables")
}

/// The captured listings and the drift cases, each a `.json` file.
fn listings() -> Vec<PathBuf> {
    let mut files = common::files_ending(&nft_fixtures(), ".json");
    assert_eq!(files.len(), 5, "the captured listings (capture.sh)");
    let drift = common::files_ending(&nft_fixtures().join("drift"), ".json");
    assert_eq!(drift.len(), 4, "the drift cases drift/README.md lists");
    files.extend(drift);
    files
}

/// Renders a listing through the embedded component, every series kept.
fn render(listing: &[u8]) -> Result<String, String> {
    render_leaving(listing, &[])
}

/// [`render`], with `left_to_iptables` left to the iptables source.
fn render_leaving(listing: &[u8], left_to_iptables: &[TableId]) -> Result<String, String> {
    let report = sandbox().render_nftables(
        &Listing {
            output: listing.to_vec().into(),
            timestamp_ms: None,
        },
        NftOptions {
            options: Options::TEXT,
            set_elements: true,
            left_to_iptables,
        },
    );
    report
        .outcome
        .map(|(text, _)| text)
        .map_err(|err| err.to_string())
}

#[test]
fn listings_match_their_expositions_and_the_model() {
    let mut failures = Vec::new();
    for input in listings() {
        let name = input.display().to_string();
        let listing = std::fs::read(&input).expect("fixture");
        let got = match render(&listing) {
            Ok(text) => text,
            Err(err) => {
                failures.push(format!("{name}: rejected: {err}"));
                continue;
            }
        };
        let golden_path = input.with_extension("prom");
        if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
            std::fs::write(&golden_path, &got).expect("writing golden file");
        }
        let want = std::fs::read_to_string(&golden_path)
            .unwrap_or_else(|err| panic!("{}: {err} (UPDATE_GOLDEN=1)", golden_path.display()));
        if got != want {
            failures.push(format!("{name}: differs from {}", golden_path.display()));
        }
        let model = expected(&listing);
        let rendered = served(&want);
        if model != rendered {
            let missing: Vec<_> = model
                .iter()
                .filter(|(k, v)| rendered.get(*k) != Some(v))
                .collect();
            let extra: Vec<_> = rendered
                .iter()
                .filter(|(k, v)| model.get(*k) != Some(v))
                .collect();
            failures.push(format!(
                "{name}: the model disagrees\n  model has, served not: {missing:?}\n  served has, model not: {extra:?}"
            ));
        }
        // The contract names named counters' series
        // `nftables_counter_{packets,bytes}_total` (the issue's, and the
        // peers' names); promtool's lint against `counter` in a counter's
        // name is the one thing it may say.
        let said = promtool_problems(&want);
        let problems = said
            .lines()
            .filter(|l| {
                !(l.starts_with("nftables_counter_")
                    && l.ends_with("should not include type 'counter'"))
            })
            .collect::<Vec<_>>()
            .join("\n");
        if !problems.is_empty() {
            failures.push(format!("{name}: promtool says:\n{problems}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Each captured listing's text (`NAME.txt`, nft's `list ruleset` of the
/// same moment: what the exporter reads when the JSON does not fit) gives
/// the very series its JSON gives. Tables iptables-nft made are left out
/// of both: nft's text drops their `xt` statements, and they are the
/// iptables source's in a collection.
#[test]
fn text_listings_give_the_series_their_json_gives() {
    let texts = common::files_ending(&nft_fixtures(), ".txt");
    assert_eq!(texts.len(), 5, "one text beside each captured listing");
    let mut failures = Vec::new();
    for text in texts {
        let name = text.display().to_string();
        let json = std::fs::read(text.with_extension("json")).expect("its JSON");
        let made_by_iptables: Vec<TableId> = common::nft::iptables_nft_tables(&json)
            .into_iter()
            .map(|(family, name)| TableId { family, name })
            .collect();
        let from_json = render_leaving(&json, &made_by_iptables).expect("the JSON renders");
        let from_text = render_leaving(&std::fs::read(&text).expect("text"), &made_by_iptables);
        match from_text {
            Ok(got) if got == from_json => {}
            Ok(got) => failures.push(format!(
                "{name}: differs from its JSON's series\n{}",
                common::nft::first_difference(&from_json, &got)
            )),
            Err(err) => failures.push(format!("{name}: rejected: {err}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unknown_expressions_keep_a_stable_readable_label() {
    let listing = std::fs::read(nft_fixtures().join("drift/unknown-kinds.json")).expect("fixture");
    let text = render(&listing).expect("an unknown expression costs no scrape");
    let rules = series_of(&text, "nftables_rule_packets_total");
    let labels: Vec<&str> = rules.keys().map(|l| l["rule"].as_str()).collect();
    assert_eq!(
        labels,
        [
            "meta protocol ip last counter",
            r#"quantum {"axis":"z","key":"spin"} 1 synproxy {"flags":["timestamp","sack-perm"],"mss":1460,"wscale":7} counter"#,
        ]
    );
}

/// A listing that is not one — not JSON, cut short, an nft that fails —
/// costs the nftables source its series for the scrape, and nothing else.
#[test]
fn a_bad_listing_fails_only_the_nftables_source() {
    let dir = tempfile::tempdir().expect("dir");
    let save = common::exporter::cat_fixture(dir.path(), "save", "docker-nft.ipv4.rules");
    // nft's index (chains and sets) names one table; its listing is cut.
    let cut = script(
        dir.path(),
        "nft-cut",
        r#"case "$*" in
*"list table"*) printf '{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"fam' ;;
*) printf '{"nftables": [{"chain": {"family": "inet", "table": "t", "name": "c", "handle": 1}}]}' ;;
esac"#,
    );
    let failing = script(
        dir.path(),
        "nft-fails",
        "echo 'netlink: Error: cache initialization failed: Operation not permitted' >&2; exit 1",
    );
    let prose = script(
        dir.path(),
        "nft-prose",
        "echo 'Error: syntax error, unexpected junk'",
    );
    // Past --nftables.max-memory: an allocation of 64 MiB under 16 MiB.
    let hungry = script(
        dir.path(),
        "nft-hungry",
        "exec dd if=/dev/zero of=/dev/null bs=64M count=1",
    );
    for (nft, bound, logged) in [
        (&cut, None, "truncated JSON"),
        (&failing, None, "Operation not permitted"),
        (&prose, None, "not JSON"),
        (
            &hungry,
            Some("--nftables.max-memory=16MiB"),
            "at most 16777216 bytes of memory (--nftables.max-memory)",
        ),
    ] {
        let command = format!("--nftables.command={}", nft.display());
        let mut args = vec!["--collector.nftables", command.as_str()];
        args.extend(bound);
        let exporter = Exporter::ipv4(&save, &args);
        common::exporter::assert_only_the_source_failed(
            &exporter,
            "nftables",
            |body| !nftables_part(body).is_empty(),
            logged,
        );
    }
}

/// A full listing past `--nftables.max-memory` (a large set) is made again
/// tersely: every series but the set element counts, none of them 0.
#[test]
fn a_listing_out_of_memory_falls_back_to_one_without_set_elements() {
    let dir = tempfile::tempdir().expect("dir");
    let save = common::exporter::cat_fixture(dir.path(), "save", "docker-nft.ipv4.rules");
    let listing = nft_fixtures().join("objects.json");
    let nft = script(
        dir.path(),
        "nft-big-set",
        &format!(
            // The index (chains, sets: terse) and the terse listing fit;
            // the full table listing does not.
            r#"case "$*" in *-t*) cat '{0}' ;; *) exec dd if=/dev/zero of=/dev/null bs=64M count=1 ;; esac"#,
            listing.display()
        ),
    );
    let command = format!("--nftables.command={}", nft.display());
    let exporter = Exporter::ipv4(
        &save,
        &[
            "--collector.nftables",
            &command,
            "--nftables.max-memory=16MiB",
        ],
    );
    let body = exporter.scrape();
    assert!(body.contains("\nnftables_scrape_success 1\n"), "{body}");
    assert!(!body.contains("nftables_set_elements{"), "{body}");
    assert!(body.contains("nftables_set_max_elements{"), "{body}");
    assert!(body.contains("nftables_counter_packets_total{"), "{body}");
    let log = exporter.log();
    assert!(
        log.contains("listing without set elements (nft -t)")
            && log.contains("--nftables.max-memory"),
        "{log}"
    );
}

/// `--collector.nftables` with no nft installed reports the source failing
/// rather than leaving it out, as a named family does.
#[test]
fn a_named_nftables_source_without_nft_reports_failure() {
    let dir = tempfile::tempdir().expect("dir");
    let save = common::exporter::cat_fixture(dir.path(), "save", "docker-nft.ipv4.rules");
    let exporter = Exporter::ipv4(
        &save,
        &[
            "--collector.nftables",
            "--nftables.command=/nonexistent/nft",
        ],
    );
    let body = exporter.scrape();
    assert!(body.contains("\nnftables_scrape_success 0\n"), "{body}");
    let off = Exporter::ipv4(&save, &["--no-collector.nftables"]);
    assert!(!off.scrape().contains("nftables_scrape_success"));
}

const EXPORTER: &str = "127.0.0.1:9455";

/// The nft sources of the fixtures, all in one namespace beside an
/// iptables-nft table: firewalld's and kube-proxy's shapes, the objects
/// table, and the native tables of the mixed host.
fn load_everything(ns: &Netns) {
    let sources = nft_fixtures().join("sources");
    ns.run(
        "iptables-nft-restore",
        &[],
        &std::fs::read(sources.join("mixed.rules")).expect("rules"),
    );
    for name in ["firewalld", "kube-proxy", "objects", "mixed"] {
        let file = sources.join(format!("{name}.nft"));
        ns.run("nft", &["-f", &file.display().to_string()], b"");
    }
}

/// Connections to `address`, each sending a little data; the listener is
/// on 127.0.0.1 at the port (kube-proxy's service addresses DNAT there).
fn connect(address: &str, port: u16, count: usize) {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind");
    let server = std::thread::spawn(move || {
        for _ in 0..count {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 100];
            let _ = std::io::Read::read(&mut conn, &mut buf);
        }
    });
    for _ in 0..count {
        let mut stream = std::net::TcpStream::connect(address).expect("connect");
        std::io::Write::write_all(&mut stream, &[b'x'; 100]).expect("send");
    }
    server.join().expect("server");
}

/// What nft itself lists now, read by the model.
fn nft_now(ns: &Netns) -> common::nft::Expected {
    expected(&ns.run("nft", &["-j", "list", "ruleset"], b""))
}

/// The rules nft itself prints now, chain by chain, read from its text.
fn nft_text_now(ns: &Netns) -> std::collections::BTreeMap<common::nft::ChainKey, Vec<String>> {
    printed_rules(&String::from_utf8_lossy(&ns.run(
        "nft",
        &["list", "ruleset"],
        b"",
    )))
}

fn model_value(model: &common::nft::Expected, metric: &str, labels: &[(&str, &str)]) -> u128 {
    let key = (
        metric.to_owned(),
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
    *model
        .get(&key)
        .unwrap_or_else(|| panic!("nft lists no {key:?}"))
}

/// Every rule of every native table prints as nft itself prints it: the
/// fixture sources (and `printing.nft`, the cases that once printed
/// otherwise) in real nft, each rule as the component's printer prints it
/// from `nft -j` (parser-wasm, the component's code, natively) against the
/// rules of the same chain in `nft list ruleset`'s text, in order. Rules
/// made by iptables-nft are left out: nft's text drops their `xt`
/// statements, so no label could match it.
#[test]
fn every_rule_prints_as_nft_itself_prints_it() {
    common::require_tool("nft", "nftables");
    let ns = Netns::new("nftprint");
    load_everything(&ns);
    let printing = nft_fixtures().join("sources/printing.nft");
    ns.run("nft", &["-f", &printing.display().to_string()], b"");
    let listing = parser_wasm::nft::parse(&ns.run("nft", &["-j", "list", "ruleset"], b""))
        .expect("nft's listing parses");
    let printed = nft_text_now(&ns);
    let mut compared = 0;
    for table in &listing.tables {
        for chain in &table.chains {
            let ours: Vec<&str> = chain.rules.iter().map(|r| r.text.as_str()).collect();
            if ours
                .iter()
                .any(|r| r.contains("xt match") || r.contains("xt target"))
            {
                continue;
            }
            let key = (table.family.clone(), table.name.clone(), chain.name.clone());
            let theirs: Vec<&str> = printed
                .get(&key)
                .map(|rules| rules.iter().map(String::as_str).collect())
                .unwrap_or_default();
            assert_eq!(ours, theirs, "{key:?}: the printer and nft differ");
            compared += ours.len();
        }
    }
    assert!(compared >= 90, "only {compared} rules compared");
}

#[test]
fn real_nft_beside_iptables_is_scraped_once_and_prometheus_sees_it_move() {
    common::require_tool("nft", "nftables");
    let ns = Netns::new("nft");
    load_everything(&ns);
    let mut command = ns.command(env!("CARGO_BIN_EXE_iptables-exporter"));
    command.args([
        "--iptables.save-path=iptables-nft-save",
        "--ip6tables.save-path=ip6tables-nft-save",
        "--collector.nftables",
        "--iptables.min-interval=0s",
        &format!("--web.listen-address={EXPORTER}"),
    ]);
    let _exporter = Exporter::spawn(command);
    let _prometheus = Prometheus::every_second(&ns, EXPORTER);
    ns.enter(|| {
        http::wait_for_listener(EXPORTER, Duration::from_secs(60));
        let body = http::get_text(EXPORTER, "/metrics");
        assert!(body.contains("\nnftables_scrape_success 1\n"), "{body}");

        // Never twice: the table iptables-nft-save shows is iptables'; the
        // one it calls incompatible, the non-standard one and every inet
        // table are nft's.
        let nft_tables: std::collections::BTreeSet<(String, String)> =
            series_of(&body, "nftables_chain_rules")
                .keys()
                .map(|l| (l["family"].clone(), l["table"].clone()))
                .collect();
        let want: std::collections::BTreeSet<(String, String)> = [
            ("inet", "firewalld"),
            ("ip", "kube-proxy"),
            ("inet", "objects"),
            ("inet", "native"),
            ("ip", "custom"),
            ("ip", "mangle"),
        ]
        .iter()
        .map(|(f, t)| ((*f).to_owned(), (*t).to_owned()))
        .collect();
        assert_eq!(nft_tables, want, "{body}");
        let iptables_tables: Vec<String> = series_of(&body, "iptables_rules")
            .keys()
            .map(|l| l["table"].clone())
            .collect();
        assert!(iptables_tables.iter().all(|t| t == "filter") && !iptables_tables.is_empty());
        assert!(body.contains("iptables_incompatible_tables{family=\"ipv4\"} 1"), "{body}");

        // Each rule's label is the rule as nft itself prints it (without
        // what moves), and every rule nft prints with a counter of its own
        // in the nft source's chains has one.
        let printed = nft_text_now(&ns);
        let mut labelled: std::collections::BTreeMap<common::nft::ChainKey, Vec<String>> =
            std::collections::BTreeMap::new();
        for labels in series_of(&body, "nftables_rule_packets_total").keys() {
            let chain = (labels["family"].clone(), labels["table"].clone(), labels["chain"].clone());
            let rules = printed.get(&chain).map(Vec::as_slice).unwrap_or_default();
            assert!(
                rules.contains(&labels["rule"]),
                "{chain:?}: the label {:?} is not a rule nft prints there: {rules:#?}",
                labels["rule"]
            );
            labelled.entry(chain).or_default().push(labels["rule"].clone());
        }
        let mut checked = 0;
        for (chain, rules) in &printed {
            if !nft_tables.contains(&(chain.0.clone(), chain.1.clone())) {
                continue;
            }
            for rule in rules.iter().filter(|r| counts_inline(r)) {
                assert!(
                    labelled.get(chain).is_some_and(|l| l.contains(rule)),
                    "{chain:?}: nft prints {rule:?} with a counter, and it has no series"
                );
                checked += 1;
            }
        }
        assert!(checked >= 20, "only {checked} counted rules compared");

        // Traffic through the kube-proxy service address (DNAT to the
        // endpoint), to an invalid port of it (the named counter), and to
        // port 8080 (the objects table's rules and its named counter).
        let rule = r#"tcp dport 8080 counter"#;
        let deadline = Instant::now() + Duration::from_secs(90);
        let increase = |expr: &str| prometheus::query_value(expr).filter(|v| *v > 0.0);
        loop {
            connect("127.0.0.1:8080", 8080, 3);
            connect("127.0.0.10:8080", 8080, 1);
            let _ = std::net::TcpStream::connect("127.0.0.10:9999");
            let moved = [
                format!("increase(nftables_rule_packets_total{{table=\"objects\",rule=\"{rule}\"}}[20s])"),
                "increase(nftables_counter_packets_total{table=\"objects\",counter=\"cnt_http\"}[20s])".to_owned(),
                "increase(nftables_counter_packets_total{table=\"kube-proxy\",counter=\"traffic-to-invalid-ports\"}[20s])".to_owned(),
                "increase(nftables_rule_packets_total{table=\"kube-proxy\",chain=\"endpoint-5OJB2KTY-ns1/svc1/tcp/p80__127.0.0.1/8080\"}[20s])".to_owned(),
            ]
            .iter()
            .all(|expr| increase(expr).is_some());
            if moved {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus never saw the rule, the named counters and the endpoint move; log:\n{}",
                _prometheus.log()
            );
            std::thread::sleep(Duration::from_millis(300));
        }

        // Traffic stopped: Prometheus ends with exactly what nft lists.
        let now = nft_now(&ns);
        let cnt_http = model_value(
            &now,
            "nftables_counter_packets_total",
            &[("family", "inet"), ("table", "objects"), ("counter", "cnt_http")],
        );
        prometheus::wait_for(
            &_prometheus,
            Duration::from_secs(60),
            &format!("Prometheus has cnt_http at nft's {cnt_http}"),
            || {
                prometheus::query_value(
                    "nftables_counter_packets_total{table=\"objects\",counter=\"cnt_http\"}",
                )
                .filter(|v| *v as u128 == cnt_http)
            },
        );

        // A set grows: Prometheus follows nft's count.
        ns.run("nft", &["add", "element", "inet", "objects", "seen", "{ 10.1.1.1, 10.1.1.2 }"], b"");
        let seen = model_value(
            &nft_now(&ns),
            "nftables_set_elements",
            &[("family", "inet"), ("table", "objects"), ("set", "seen")],
        );
        assert!(seen >= 3, "the dynamic set holds 127.0.0.1 and the two added");
        prometheus::wait_for(
            &_prometheus,
            Duration::from_secs(60),
            &format!("Prometheus has set seen at nft's {seen} elements"),
            || {
                prometheus::query_value("nftables_set_elements{table=\"objects\",set=\"seen\"}")
                    .filter(|v| *v as u128 == seen)
            },
        );

        // A reload gives every rule a new handle and the same label.
        let labels = |body: &str| -> Vec<String> {
            series_of(body, "nftables_rule_packets_total")
                .keys()
                .filter(|l| l["table"] == "objects")
                .map(|l| format!("{}/{}", l["chain"], l["rule"]))
                .collect()
        };
        let before = labels(&body);
        let objects = nft_fixtures().join("sources/objects.nft");
        ns.run("nft", &["delete", "table", "inet", "objects"], b"");
        ns.run("nft", &["-f", &objects.display().to_string()], b"");
        let after = http::get_text(EXPORTER, "/metrics");
        assert_eq!(labels(&after), before, "labels changed across a reload");
    });
}

/// Every series the component renders with the nftables selection flags
/// kept by the same rules as iptables': a chain excluded loses its series.
#[test]
fn selection_applies_to_nft_rules() {
    let listing = std::fs::read(nft_fixtures().join("kube-proxy.json")).expect("fixture");
    let selection = Selection {
        chains: iptables_exporter::sandbox::Filter {
            include: None,
            exclude: Some("endpoint-.*".into()),
        },
        ..Selection::ALL
    };
    let report = sandbox().render_nftables(
        &Listing {
            output: listing.into(),
            timestamp_ms: None,
        },
        NftOptions {
            options: Options {
                format: exposition::Format::Text,
                selection: &selection,
            },
            set_elements: true,
            left_to_iptables: &[],
        },
    );
    let (text, _) = report.outcome.expect("renders");
    assert!(!text.contains("chain=\"endpoint-"), "{text}");
    assert!(text.contains("chain=\"services\""), "{text}");
}

/// nft's index (which tables there are) is read again only when the
/// ruleset's generation moves: on a 100k-rule iptables-nft node it costs
/// 0.25 s and 77 MB a collection for nothing. Real nf_tables in a
/// namespace, the exporter inside it, nft a script that counts its index
/// runs and lists one native table for real.
#[test]
fn the_index_is_read_again_only_when_the_ruleset_changes() {
    common::require_tool("nft", "nftables");
    let ns = Netns::new("nft-index");
    ns.run(
        "nft",
        &["-f", "-"],
        b"table inet idx {\n\tchain c {\n\t\ttype filter hook input priority 0;\n\t\tcounter\n\t}\n}\n",
    );
    let dir = tempfile::tempdir().expect("dir");
    let runs = dir.path().join("index-runs");
    let nft = script(
        dir.path(),
        "nft",
        &format!(
            r#"case "$*" in *"list chains"*) echo chains >> '{}' ;; esac
exec nft "$@""#,
            runs.display()
        ),
    );
    let save = common::exporter::script(dir.path(), "save", "true");
    let mut command = ns.command(env!("CARGO_BIN_EXE_iptables-exporter"));
    command.args([
        &format!("--iptables.save-path={}", save.display()),
        "--iptables.families=ipv4",
        &format!("--nftables.command={}", nft.display()),
        "--collector.nftables",
        "--iptables.min-interval=0s",
        "--web.listen-address=127.0.0.1:9455",
    ]);
    let exporter = Exporter::spawn(command);
    let index_runs = || {
        std::fs::read_to_string(&runs)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let scrape = || ns.enter(|| http::get("127.0.0.1:9455", "/metrics").expect("scrape"));
    for _ in 0..3 {
        let body = String::from_utf8(scrape().body).expect("UTF-8");
        assert!(body.contains("\nnftables_scrape_success 1\n"), "{body}");
        assert!(
            body.contains(r#"nftables_chain_rules{family="inet",table="idx",chain="c"} 1"#),
            "{body}"
        );
    }
    assert_eq!(index_runs(), 1, "the start-up collection's index only");
    // A new table moves the generation: the index is read again, and the
    // table is listed.
    ns.run("nft", &["add", "table", "inet", "later"], b"");
    ns.run("nft", &["add", "chain", "inet", "later", "c"], b"");
    let body = String::from_utf8(scrape().body).expect("UTF-8");
    assert!(
        body.contains(r#"nftables_chain_rules{family="inet",table="later",chain="c"} 0"#),
        "{body}"
    );
    assert_eq!(index_runs(), 2);
    drop(exporter);
}

/// A native ruleset whose JSON listing does not fit `--nftables.max-memory`
/// is scraped from nft's text, series for series what its JSON gives, set
/// sizes included. Real nft in a namespace with 10k kube-proxy-shaped rules
/// (benches/nft-generate.py): nft 1.0.6 needs about 88 MiB of data memory
/// for their JSON and about 40 MiB for their text, so a bound of 60 MiB
/// between the two makes the exporter take the text, as 400 MiB does at
/// 100k rules (benches/README.md).
#[test]
fn a_ruleset_past_the_json_bound_is_scraped_from_nfts_text() {
    common::require_tool("nft", "nftables");
    let ns = Netns::new("nft-text");
    let generator = fixtures().join("../benches/nft-generate.py");
    let ruleset = common::run_with_stdin(
        std::process::Command::new("/usr/bin/python3")
            .arg(&generator)
            .args(["10000", "--set-elements", "1000"]),
        b"",
    );
    assert!(ruleset.status.success(), "{ruleset:?}");
    ns.run("nft", &["-f", "-"], &ruleset.stdout);
    // What the JSON gives, unbounded, rendered by the component.
    let json = ns.run("nft", &["-j", "list", "ruleset"], b"");
    let want = nftables_part(&render(&json).expect("the JSON renders"));
    assert!(want.contains("nftables_set_elements{"), "{want}");
    let dir = tempfile::tempdir().expect("dir");
    let save = common::exporter::script(dir.path(), "save", "true");
    let mut command = ns.command(env!("CARGO_BIN_EXE_iptables-exporter"));
    command.args([
        &format!("--iptables.save-path={}", save.display()),
        "--iptables.families=ipv4",
        "--collector.nftables",
        "--nftables.max-memory=60MiB",
        "--web.listen-address=127.0.0.1:9456",
    ]);
    let exporter = Exporter::spawn(command);
    let body = ns.enter(|| http::get("127.0.0.1:9456", "/metrics").expect("scrape"));
    let body = String::from_utf8(body.body).expect("UTF-8");
    assert!(body.contains("\nnftables_scrape_success 1\n"), "{body}");
    let got = nftables_part(&http::without_timestamps(&body));
    if got != want {
        panic!(
            "the text's series differ from the JSON's\n{}",
            common::nft::first_difference(&want, &got)
        );
    }
    let log = exporter.log();
    assert!(
        log.contains("listing as text (nft without -j)") && log.contains("--nftables.max-memory"),
        "{log}"
    );
    drop(exporter);
}
