//! End to end with real iptables, as root: a network namespace per test,
//! rulesets loaded with iptables-restore and ip6tables-restore (nft and
//! legacy variants), TCP traffic over 127.0.0.1 and ::1 inside it, the built
//! exporter serving inside it, and every series checked against `*-save -c`
//! taken right after the scrape.

use crate::common;

use common::exporter::{Exporter, PATIENCE};
use common::http::{self, labels};
use common::netns::{Guarded, Netns};
use common::save::expected_series;
use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::time::Duration;

/// The exporter's default port; free in a fresh namespace.
const EXPORTER: &str = "127.0.0.1:9455";
/// Port the test traffic goes to.
const TRAFFIC_PORT: u16 = 8080;
const CONNECTIONS: usize = 5;

/// A ruleset whose scrape traffic (port 9455) is accepted first in every
/// built-in chain, so that only those rules change between the scrape and
/// the save taken after it.
fn ruleset(family: &str) -> String {
    let other = if family == "ipv4" {
        "10.0.0.0/8"
    } else {
        "fd00::/8"
    };
    format!(
        r#"*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:WEB - [0:0]
:UNUSED - [0:0]
-A INPUT -p tcp -m tcp --dport 9455 -j ACCEPT
-A INPUT -p tcp -m tcp --sport 9455 -j ACCEPT
-A INPUT -p tcp -m tcp --dport {TRAFFIC_PORT} -m comment --comment "web  traffic" -j WEB
-A INPUT -p tcp -m tcp --dport {TRAFFIC_PORT} -m comment --comment "web  traffic" -j WEB
-A INPUT ! -s {other} -p udp -m udp --dport 53 -j ACCEPT
-A WEB -j ACCEPT
-A OUTPUT -p tcp -m tcp --dport 9455 -j ACCEPT
-A OUTPUT -p tcp -m tcp --sport 9455 -j ACCEPT
-A OUTPUT -p tcp -m tcp --sport {TRAFFIC_PORT} -j ACCEPT
-A FORWARD -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A OUTPUT -p tcp -m tcp --dport 9455 -j ACCEPT
-A POSTROUTING -p tcp -m tcp --dport 9455 -j ACCEPT
-A OUTPUT -p tcp -m tcp --dport {TRAFFIC_PORT} -j RETURN
COMMIT
"#
    )
}

/// Connects to the traffic port on both loopback addresses and echoes data.
fn send_traffic() {
    for address in [
        format!("127.0.0.1:{TRAFFIC_PORT}"),
        format!("[::1]:{TRAFFIC_PORT}"),
    ] {
        let listener = TcpListener::bind(&address).unwrap_or_else(|e| panic!("{address}: {e}"));
        let server = std::thread::spawn(move || {
            for _ in 0..CONNECTIONS {
                let (mut conn, _) = listener.accept().expect("accept");
                let mut buf = [0u8; 1000];
                conn.read_exact(&mut buf).expect("read");
                conn.write_all(&buf).expect("echo");
            }
        });
        for _ in 0..CONNECTIONS {
            let mut stream = TcpStream::connect(&address).expect("connect");
            stream.write_all(&[b'x'; 1000]).expect("send");
            let mut echo = [0u8; 1000];
            stream.read_exact(&mut echo).expect("echo back");
        }
        server.join().expect("server thread");
    }
}

/// The ruleset series of a scrape, with values, by series.
fn ruleset_samples(exposition: &str) -> BTreeMap<http::Series, u128> {
    http::parse_exposition(exposition)
        .into_iter()
        .filter(|((name, _), _)| {
            name.starts_with("iptables_default_") || name.starts_with("iptables_rule")
        })
        .map(|(series, value)| {
            let value = value
                .parse()
                .unwrap_or_else(|_| panic!("{series:?}: non-integer value {value}"));
            (series, value)
        })
        .collect()
}

fn end_to_end(variant: &str) {
    let ns = Netns::new(variant);
    for (tool, family) in [("iptables", "ipv4"), ("ip6tables", "ipv6")] {
        ns.run(
            &format!("{tool}-{variant}-restore"),
            &[],
            ruleset(family).as_bytes(),
        );
    }
    let mut command = ns.command(env!("CARGO_BIN_EXE_iptables-exporter"));
    command.args([
        &format!("--iptables.save-path=iptables-{variant}-save"),
        &format!("--ip6tables.save-path=ip6tables-{variant}-save"),
        "--log.level=debug",
        // The scrape below must read the counters after the traffic, not
        // get the start-up collection's.
        "--iptables.min-interval=0s",
    ]);
    // Waits for the start-up collection too: the scrape cannot join it.
    let exporter = Exporter::spawn(command);
    let scrape = ns.enter(|| {
        send_traffic();
        http::get(&exporter.address, "/metrics").expect("scrape")
    });
    let saves: Vec<(&str, Vec<u8>)> = [("ipv4", "iptables"), ("ipv6", "ip6tables")]
        .into_iter()
        .map(|(family, tool)| {
            (
                family,
                ns.run(&format!("{tool}-{variant}-save"), &["-c"], b""),
            )
        })
        .collect();
    let log_text = || exporter.log();

    assert_eq!(scrape.status, 200, "log:\n{}", log_text());
    let body = String::from_utf8(scrape.body).expect("exposition is UTF-8");
    let all = http::parse_exposition(&body);
    for family in ["ipv4", "ipv6"] {
        let success = all.get(&(
            "iptables_scrape_success".to_owned(),
            labels(&[("family", family)]),
        ));
        assert_eq!(
            success.map(String::as_str),
            Some("1"),
            "{family} scrape failed; log:\n{}",
            log_text()
        );
    }

    let got = ruleset_samples(&body);
    let mut want = BTreeMap::new();
    for (family, save) in &saves {
        want.extend(expected_series(family, save));
    }
    let got_keys: Vec<_> = got.keys().collect();
    let want_keys: Vec<_> = want.keys().collect();
    assert_eq!(
        got_keys, want_keys,
        "the exporter's series differ from iptables-save's"
    );
    for (series, want_value) in &want {
        let got_value = got[series];
        let scrape_rule = series.1.get("rule").is_some_and(|r| r.contains("9455"));
        if scrape_rule {
            assert!(
                got_value <= *want_value,
                "{series:?}: {got_value} > {want_value}"
            );
        } else {
            assert_eq!(got_value, *want_value, "{series:?}");
        }
    }

    for family in ["ipv4", "ipv6"] {
        let rule = format!(
            "-p tcp -m tcp --dport {TRAFFIC_PORT} -m comment --comment \"web  traffic\" -j WEB"
        );
        let packets = got[&(
            "iptables_rule_packets_total".to_owned(),
            labels(&[
                ("family", family),
                ("table", "filter"),
                ("chain", "INPUT"),
                ("rule", &rule),
            ]),
        )];
        assert!(
            packets >= CONNECTIONS as u128 * 3,
            "{family}: traffic rule counted only {packets} packets"
        );
        let rules = all[&(
            "iptables_rules".to_owned(),
            labels(&[("family", family), ("table", "filter"), ("chain", "INPUT")]),
        )]
            .clone();
        assert_eq!(
            rules, "5",
            "{family}: INPUT has 5 rule lines (one duplicate)"
        );
    }

    let (status, log) = exporter.stop(nix::sys::signal::Signal::SIGTERM, PATIENCE);
    assert!(
        status.success(),
        "exporter did not shut down cleanly: {status}; log:\n{log}"
    );
}

#[test]
fn nft_rulesets_export_exactly_what_iptables_save_reports() {
    end_to_end("nft");
}

#[test]
fn legacy_rulesets_export_exactly_what_iptables_save_reports() {
    end_to_end("legacy");
}

/// The capabilities the README and the systemd unit grant.
const DOCUMENTED_CAPS: &str = "+net_admin,+net_raw,+dac_read_search";

/// Scrapes an exporter started as `nobody` with `caps` (inheritable and
/// ambient) twice and returns each family's `iptables_scrape_success`,
/// then `ipset_scrape_success` (the ipset source named), and how many
/// ipv4 collections read their counters over netlink (each scrape's does,
/// when it can: the ruleset is unchanged since start-up).
fn scrape_success_as_nobody(ns: &Netns, variant: &str, caps: &str) -> (Vec<String>, u64) {
    common::require_tool("setpriv", "util-linux");
    // The test binary's directory may not be readable by nobody: copy it.
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = dir.path().join("iptables-exporter");
    std::fs::copy(env!("CARGO_BIN_EXE_iptables-exporter"), &exe).expect("copy exporter");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod dir");
    let caps = if caps.is_empty() {
        "-all".to_owned()
    } else {
        format!("-all,{caps}")
    };
    let exporter = Guarded(
        ns.command("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(format!("--inh-caps={caps}"))
            .arg(format!("--ambient-caps={caps}"))
            .arg(&exe)
            .args([
                &format!("--iptables.save-path=iptables-{variant}-save"),
                &format!("--ip6tables.save-path=ip6tables-{variant}-save"),
                "--iptables.min-interval=0s",
                "--collector.ipset",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("exporter starts"),
    );
    let body = ns.enter(|| {
        http::wait_for_listener(EXPORTER, Duration::from_secs(20));
        http::get(EXPORTER, "/metrics").expect("scrape");
        http::get(EXPORTER, "/metrics").expect("scrape").body
    });
    drop(exporter);
    let samples = http::parse_exposition(&String::from_utf8_lossy(&body));
    let mut successes: Vec<String> = ["ipv4", "ipv6"]
        .into_iter()
        .map(|family| {
            samples
                .get(&(
                    "iptables_scrape_success".to_owned(),
                    labels(&[("family", family)]),
                ))
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    successes.push(
        samples
            .get(&("ipset_scrape_success".to_owned(), labels(&[])))
            .cloned()
            .unwrap_or_default(),
    );
    let netlink = samples
        .get(&(
            "iptables_exporter_collections_total".to_owned(),
            labels(&[("family", "ipv4"), ("method", "netlink")]),
        ))
        .map_or(0, |n| n.parse().expect("a count"));
    (successes, netlink)
}

/// With the capabilities the README documents, with the fewest the README
/// says the backend needs, and with none.
fn runs_unprivileged_with_documented_capabilities(variant: &str, minimal_caps: &str) {
    let ns = Netns::new(&format!("caps-{variant}"));
    for (tool, family) in [("iptables", "ipv4"), ("ip6tables", "ipv6")] {
        ns.run(
            &format!("{tool}-{variant}-restore"),
            &[],
            ruleset(family).as_bytes(),
        );
    }
    // ipset needs CAP_NET_ADMIN too (ipset 7.17).
    common::require_tool("ipset", "ipset");
    ns.run("ipset", &["create", "caps", "hash:ip"], b"");
    // iptables-nft's counters come over netlink with the same capability
    // as its save command (CAP_NET_ADMIN): at least the second scrape's
    // collection (the first may join the start-up one, which saves); the
    // legacy backend always saves.
    for caps in [DOCUMENTED_CAPS, minimal_caps] {
        let (successes, over_netlink) = scrape_success_as_nobody(&ns, variant, caps);
        assert_eq!(successes, ["1", "1", "1"], "with {caps}");
        if variant == "nft" {
            assert!(over_netlink >= 1, "no collection over netlink with {caps}");
        } else {
            assert_eq!(over_netlink, 0, "collections over netlink with {caps}");
        }
    }
    let (successes, over_netlink) = scrape_success_as_nobody(&ns, variant, "");
    assert_eq!(successes, ["0", "0", "0"], "without capabilities");
    assert_eq!(over_netlink, 0, "nothing over netlink without capabilities");
}

#[test]
fn nft_works_as_nobody_with_the_documented_capabilities() {
    runs_unprivileged_with_documented_capabilities("nft", "+net_admin");
}

#[test]
fn legacy_works_as_nobody_with_the_documented_capabilities() {
    runs_unprivileged_with_documented_capabilities("legacy", DOCUMENTED_CAPS);
}

#[test]
fn tables_that_nft_made_incompatible_are_counted_not_hidden() {
    common::require_tool("nft", "nftables");
    let ns = Netns::new("incompatible");
    ns.run("iptables-nft-restore", &[], ruleset("ipv4").as_bytes());
    // A rule iptables-nft cannot show: iptables-nft-save leaves the whole
    // filter table out and says so in a comment.
    ns.run(
        "nft",
        &["add rule ip filter INPUT ct state established counter accept"],
        b"",
    );
    let mut command = ns.command(env!("CARGO_BIN_EXE_iptables-exporter"));
    command.args([
        "--iptables.save-path=iptables-nft-save",
        "--iptables.families=ipv4",
    ]);
    let exporter = Exporter::spawn(command);
    let body = ns.enter(|| http::get(EXPORTER, "/metrics").expect("scrape").body);
    assert!(
        exporter.log().contains("could not show these tables"),
        "log:\n{}",
        exporter.log()
    );
    let all = http::parse_exposition(&String::from_utf8_lossy(&body));
    let get =
        |name: &str, pairs: &[(&str, &str)]| all.get(&(name.to_owned(), labels(pairs))).cloned();
    assert_eq!(
        get("iptables_incompatible_tables", &[("family", "ipv4")]).as_deref(),
        Some("1")
    );
    assert_eq!(
        get("iptables_scrape_success", &[("family", "ipv4")]).as_deref(),
        Some("1")
    );
    // iptables' series have nat only; the filter table it could not show
    // comes from the nftables source (on by default where nft is), and
    // nothing comes from both.
    let tables_of = |prefix: &str| -> std::collections::BTreeSet<&str> {
        all.keys()
            .filter(|(name, _)| name.starts_with(prefix))
            .filter_map(|(_, labels)| labels.get("table").map(String::as_str))
            .collect()
    };
    assert_eq!(
        tables_of("iptables_").into_iter().collect::<Vec<_>>(),
        ["nat"],
        "filter is left out of iptables' series, nat is there"
    );
    assert_eq!(
        tables_of("nftables_").into_iter().collect::<Vec<_>>(),
        ["filter"],
        "the incompatible filter table comes from nft, nat does not"
    );
}

/// The tables of `family` in a scrape, in the order their first
/// `iptables_rules` sample comes.
fn tables_in(body: &str, family: &str) -> Vec<String> {
    let mut tables: Vec<String> = Vec::new();
    for ((name, labels), _) in http::parse_samples(body) {
        if name == "iptables_rules"
            && labels["family"] == family
            && !tables.contains(&labels["table"])
        {
            tables.push(labels["table"].clone());
        }
    }
    tables
}

#[test]
fn only_the_tables_asked_for_are_saved_in_the_order_given() {
    for variant in ["nft", "legacy"] {
        let ns = Netns::new(&format!("tables-{variant}"));
        for (tool, family) in [("iptables", "ipv4"), ("ip6tables", "ipv6")] {
            ns.run(
                &format!("{tool}-{variant}-restore"),
                &[],
                ruleset(family).as_bytes(),
            );
        }
        for (tables, want) in [("nat", vec!["nat"]), ("nat,filter", vec!["nat", "filter"])] {
            let mut command = ns.command(env!("CARGO_BIN_EXE_iptables-exporter"));
            command.args([
                &format!("--iptables.save-path=iptables-{variant}-save"),
                &format!("--ip6tables.save-path=ip6tables-{variant}-save"),
                &format!("--iptables.tables={tables}"),
            ]);
            let exporter = Exporter::spawn(command);
            let body = ns.enter(|| {
                String::from_utf8(
                    http::get(&exporter.address, "/metrics")
                        .expect("scrape")
                        .body,
                )
                .expect("UTF-8")
            });
            for family in ["ipv4", "ipv6"] {
                assert_eq!(
                    tables_in(&body, family),
                    want,
                    "{variant}, --iptables.tables={tables}, {family}; log:\n{}",
                    exporter.log()
                );
            }
        }
    }
}
