//! iptables-nft's counters over netlink (`--iptables.netlink=auto`), on
//! real iptables-nft in a namespace: after every kind of change the text
//! the exporter serves (the live ruleset endpoint) is what
//! `iptables-nft-save -c` prints right after, and each collection says how
//! it was made (`iptables_exporter_collections_total`); each fallback to the save
//! command is forced once and seen in the log.

use crate::common;

use common::exporter::{Exporter, PATIENCE};
use common::http::{self, labels};
use common::netns::Netns;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};

/// Where the exporter listens in the namespace; its traffic is accepted
/// first in every built-in chain, so that only those rules (and no policy)
/// count it.
const PORT: u16 = 9455;
const TRAFFIC_PORT: u16 = 8080;

/// User chains created in an order that is not their names' (iptables-nft-
/// save prints them sorted, the kernel lists them in creation order).
const RULESET: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:ZED - [0:0]
:ALPHA - [0:0]
:MIDDLE - [0:0]
-A INPUT -p tcp -m tcp --dport 9455 -j ACCEPT
-A INPUT -p tcp -m tcp --sport 9455 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 -m comment --comment \"web\" -j ZED
-A INPUT -p tcp -m tcp --dport 8080 -j ALPHA
-A ZED -j MIDDLE
-A MIDDLE -p tcp -j ACCEPT
-A ALPHA -j RETURN
-A OUTPUT -p tcp -m tcp --dport 9455 -j ACCEPT
-A OUTPUT -p tcp -m tcp --sport 9455 -j ACCEPT
-A FORWARD -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A OUTPUT -p tcp -m tcp --dport 9455 -j ACCEPT
-A POSTROUTING -p tcp -m tcp --dport 9455 -j ACCEPT
-A OUTPUT -p tcp -m tcp --dport 8080 -j RETURN
COMMIT
";

/// The test's own connections to 127.0.0.1:8080, inside the namespace.
fn send_traffic(ns: &Netns, connections: usize) {
    ns.enter(|| {
        let listener = TcpListener::bind(("127.0.0.1", TRAFFIC_PORT)).expect("bind 8080");
        let server = std::thread::spawn(move || {
            for _ in 0..connections {
                let (mut conn, _) = listener.accept().expect("accept");
                let mut buf = [0u8; 100];
                conn.read_exact(&mut buf).expect("read");
                conn.write_all(&buf).expect("echo");
            }
        });
        for _ in 0..connections {
            let mut stream = TcpStream::connect(("127.0.0.1", TRAFFIC_PORT)).expect("connect");
            stream.write_all(&[b'x'; 100]).expect("send");
            let mut echo = [0u8; 100];
            stream.read_exact(&mut echo).expect("echo back");
        }
        server.join().expect("server thread");
    });
}

/// Each collection's method so far: (netlink, save) for ipv4.
fn methods(ns: &Netns, address: &str) -> (u64, u64) {
    let body = ns.enter(|| http::get(address, "/metrics").expect("scrape"));
    let all = http::parse_exposition(&String::from_utf8_lossy(&body.body));
    let count = |method: &str| {
        all.get(&(
            "iptables_exporter_collections_total".to_owned(),
            labels(&[("family", "ipv4"), ("method", method)]),
        ))
        .map_or(0, |v| v.parse().expect("a count"))
    };
    (count("netlink"), count("save"))
}

/// What the exporter serves now (a collection of its own) against a save
/// right after: the same lines, `#` lines aside; the counters of the
/// rules that count the exporter's own traffic may only have grown since.
fn served_is_saved(ns: &Netns, address: &str, step: &str) {
    let served = ns.enter(|| http::get(address, "/analyzer/rulesets/ipv4").expect("ruleset"));
    assert_eq!(served.status, 200, "{step}");
    let saved = ns.run("iptables-nft-save", &["-c"], b"");
    let lines = |text: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(text)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    let (served, saved) = (lines(&served.body), lines(&saved));
    assert_eq!(
        served.len(),
        saved.len(),
        "{step}: line counts\n{served:#?}\n{saved:#?}"
    );
    for (got, want) in served.iter().zip(&saved) {
        if !got.contains(&PORT.to_string()) {
            assert_eq!(got, want, "{step}");
            continue;
        }
        let split = |line: &str| -> (u64, u64, String) {
            let (counters, rest) = line.split_once("] ").expect("a counted rule");
            let (packets, bytes) = counters
                .trim_start_matches('[')
                .split_once(':')
                .expect("[p:b]");
            (
                packets.parse().expect("packets"),
                bytes.parse().expect("bytes"),
                rest.to_owned(),
            )
        };
        let (got_packets, got_bytes, got_rule) = split(got);
        let (want_packets, want_bytes, want_rule) = split(want);
        assert_eq!(got_rule, want_rule, "{step}");
        assert!(
            got_packets <= want_packets && got_bytes <= want_bytes,
            "{step}: {got} then {want}"
        );
    }
}

#[test]
fn netlink_counters_are_what_the_save_prints_after_every_kind_of_change() {
    let ns = Netns::new("netlink");
    ns.run("iptables-nft-restore", &[], RULESET.as_bytes());
    let dir = tempfile::tempdir().expect("dir");
    // The save as the exporter runs it, except that it hides a rule
    // commented "hidden": the kept text then has a rule fewer than the
    // kernel, as when iptables-nft-save cannot show one.
    let save = common::exporter::script(
        dir.path(),
        "save",
        "iptables-nft-save \"$@\" | grep -v 'hidden'",
    );
    let mut command = ns.command(env!("CARGO_BIN_EXE_iptables-exporter"));
    command.args([
        &format!("--iptables.save-path={}", save.display()),
        "--iptables.families=ipv4",
        "--no-collector.nftables",
        "--iptables.min-interval=0s",
        "--web.enable-ruleset-endpoint",
        &format!("--web.listen-address=127.0.0.1:{PORT}"),
        "--log.level=debug",
    ]);
    let mut exporter = Exporter::spawn(command);
    let address = exporter.address.clone();
    // The start-up collection saved.
    let mut expected = (0, 1);
    // Each step: what it changes, and how the collection it is checked by
    // was made. A collection after a change saves; the next refreshes.
    let mut step = |name: &str, method: &str| {
        served_is_saved(&ns, &address, name);
        match method {
            "netlink" => expected.0 += 1,
            _ => expected.1 += 1,
        }
        // The scrape that reads the counts is a collection too: netlink,
        // the ruleset unchanged since the one checked.
        let got = methods(&ns, &address);
        expected.0 += 1;
        assert_eq!(got, expected, "{name}: collections by (netlink, save)");
    };
    step("the ruleset as loaded", "netlink");
    send_traffic(&ns, 3);
    step("after traffic", "netlink");
    ns.run("iptables-nft", &["-Z"], b"");
    step("after -Z", "save");
    send_traffic(&ns, 2);
    step("after -Z and traffic", "netlink");
    ns.run(
        "iptables-nft",
        &[
            "-I", "INPUT", "3", "-p", "udp", "--dport", "53", "-j", "ACCEPT",
        ],
        b"",
    );
    step("after an insert", "save");
    ns.run("iptables-nft", &["-D", "INPUT", "3"], b"");
    step("after a delete", "save");
    for chain in ["NEWZ", "NEWA"] {
        ns.run("iptables-nft", &["-N", chain], b"");
        ns.run("iptables-nft", &["-A", chain, "-j", "RETURN"], b"");
    }
    ns.run("iptables-nft", &["-A", "ALPHA", "-j", "NEWZ"], b"");
    send_traffic(&ns, 2);
    step("after chains created out of order", "save");
    send_traffic(&ns, 1);
    step("with the new chains, after traffic", "netlink");

    // A rule the kept text does not have: the kernel has one more, and the
    // collection saves, saying why.
    ns.run(
        "iptables-nft",
        &[
            "-A",
            "MIDDLE",
            "-m",
            "comment",
            "--comment",
            "hidden",
            "-j",
            "RETURN",
        ],
        b"",
    );
    let _ = ns.enter(|| http::get(&address, "/metrics").expect("scrape"));
    let _ = ns.enter(|| http::get(&address, "/metrics").expect("scrape"));
    exporter.wait_for_log("the kept text and the kernel differ", 1);
    ns.run(
        "iptables-nft",
        &[
            "-D",
            "MIDDLE",
            "-m",
            "comment",
            "--comment",
            "hidden",
            "-j",
            "RETURN",
        ],
        b"",
    );

    // A rule without a counter expression (made by nft, in a table
    // iptables-nft-save still prints in full): the collection saves.
    ns.run(
        "nft",
        &[
            "add",
            "rule",
            "ip",
            "filter",
            "ALPHA",
            "ip",
            "saddr",
            "192.0.2.1",
            "accept",
        ],
        b"",
    );
    let _ = ns.enter(|| http::get(&address, "/metrics").expect("scrape"));
    let _ = ns.enter(|| http::get(&address, "/metrics").expect("scrape"));
    exporter.wait_for_log("without exactly one counter", 1);

    let (status, log) = exporter.stop(nix::sys::signal::Signal::SIGTERM, PATIENCE);
    assert!(status.success(), "{status}\n{log}");
    assert!(
        log.contains("the ruleset changed (generation"),
        "a change is seen by its generation:\n{log}"
    );
}
