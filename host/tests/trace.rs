//! The packet tracer against real iptables: each case of
//! `fixtures/trace/cases.tsv` is a UDP datagram sent over loopback in a
//! network namespace holding `fixtures/trace/loopback.ipv4.rules`, its
//! counters zeroed; the rules and policies whose counters it moved must be
//! the steps the tracer says matched, hook by hook as the datagram goes
//! (OUTPUT and POSTROUTING out of lo, PREROUTING and INPUT in by it), and
//! it must arrive exactly when the tracer's verdict is ACCEPT throughout.
//! The tracer's steps are kept in `loopback.ipv4.trace.json`, which the
//! JS package's tests compare the component with (`UPDATE_GOLDEN=1`
//! rewrites it; review the diff).

use crate::common;

use common::netns::Netns;
use common::{fixtures, require_tool};
use parser_wasm::analyze::{Analysis, analyze};
use parser_wasm::trace::{Hook, Outcome, Packet, Trace, trace};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// The hooks a datagram from one loopback socket to another passes, with
/// the interfaces it has at each.
const PATH: [(Hook, &str, Option<&str>, Option<&str>); 4] = [
    (Hook::Output, "output", None, Some("lo")),
    (Hook::Postrouting, "postrouting", None, Some("lo")),
    (Hook::Prerouting, "prerouting", Some("lo"), None),
    (Hook::Input, "input", Some("lo"), None),
];

/// How long a datagram may take to arrive, or its counters to move,
/// before the test fails (it is over in microseconds).
const PATIENCE: Duration = Duration::from_secs(10);

struct Case {
    source: String,
    source_port: u16,
    destination: String,
    destination_port: u16,
    about: String,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(fixtures().join("trace/cases.tsv")).expect("cases");
    let cases: Vec<Case> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(
                f.len(),
                5,
                "source, port, destination, port, about: {line:?}"
            );
            Case {
                source: f[0].to_owned(),
                source_port: f[1].parse().expect("a port"),
                destination: f[2].to_owned(),
                destination_port: f[3].parse().expect("a port"),
                about: f[4].to_owned(),
            }
        })
        .collect();
    assert_eq!(cases.len(), 9, "the cases of cases.tsv");
    cases
}

/// (table, chain, position: 0 for the policy) of a step.
type Place = (String, String, usize);

/// The tracer's walk of `case` through the hooks in order, up to the
/// first verdict that is not ACCEPT.
fn traced(analysis: &Analysis, case: &Case) -> Vec<(&'static str, Trace)> {
    let mut hooks = Vec::new();
    for (hook, name, inbound, outbound) in PATH {
        let packet = Packet {
            hook,
            source: Some(case.source.clone()),
            destination: Some(case.destination.clone()),
            protocol: Some("udp".into()),
            source_port: Some(case.source_port),
            destination_port: Some(case.destination_port),
            in_interface: inbound.map(str::to_owned),
            out_interface: outbound.map(str::to_owned),
            ctstate: Some("NEW".into()),
        };
        let walked = trace(&analysis.tables, &analysis.rules, &packet).expect("a packet");
        let accepted = walked.verdict == "ACCEPT";
        hooks.push((name, walked));
        if !accepted {
            break;
        }
    }
    hooks
}

fn place(analysis: &Analysis, table: usize, chain: usize, position: usize) -> Place {
    let t = &analysis.tables[table];
    (t.name.clone(), t.chains[chain].name.clone(), position)
}

/// Where the tracer says the datagram matched, less the nat table on the
/// way in: netfilter chooses a connection's NAT once, and a datagram sent
/// to a local address had it chosen on the way out (nat OUTPUT and
/// POSTROUTING), so nat PREROUTING and INPUT never see it come back in by
/// lo. A packet the tracer is given at PREROUTING comes from elsewhere,
/// and passes them (the test checks iptables counted nothing there).
fn matched(analysis: &Analysis, hooks: &[(&str, Trace)]) -> BTreeSet<Place> {
    hooks
        .iter()
        .filter(|(hook, _)| matches!(*hook, "output" | "postrouting"))
        .flat_map(|(_, t)| &t.steps)
        .chain(
            hooks
                .iter()
                .filter(|(hook, _)| matches!(*hook, "prerouting" | "input"))
                .flat_map(|(_, t)| &t.steps)
                .filter(|s| analysis.tables[s.table].name != "nat"),
        )
        .filter(|s| s.outcome == Outcome::Matched)
        .map(|s| place(analysis, s.table, s.chain, s.position))
        .collect()
}

/// Where iptables counted a packet: rules and policies with packets.
fn counted(save: &[u8]) -> BTreeSet<Place> {
    let analysis = analyze(save);
    assert_eq!(analysis.error, None, "iptables-save -c reads");
    let mut places = BTreeSet::new();
    for rule in &analysis.rules {
        if rule.counters.is_some_and(|c| c.packets > 0) {
            places.insert(place(&analysis, rule.table, rule.chain, rule.position));
        }
    }
    for (t, table) in analysis.tables.iter().enumerate() {
        for (c, chain) in table.chains.iter().enumerate() {
            let policy = chain.policies.last();
            if chain.builtin()
                && policy
                    .and_then(|p| p.counters)
                    .is_some_and(|c| c.packets > 0)
            {
                places.insert(place(&analysis, t, c, 0));
            }
        }
    }
    places
}

fn step_json(analysis: &Analysis, trace: &Trace) -> Value {
    json!({
        "verdict": trace.verdict,
        "certain": trace.certain,
        "steps": trace.steps.iter().map(|s| {
            let (table, chain, position) = place(analysis, s.table, s.chain, s.position);
            json!({
                "line": s.line,
                "table": table,
                "chain": chain,
                "position": position,
                "outcome": match s.outcome {
                    Outcome::Matched => "matched",
                    Outcome::NotMatched => "not-matched",
                    Outcome::MayMatch => "may-match",
                },
                "reason": s.reason,
                "target": s.target,
            })
        }).collect::<Vec<_>>(),
    })
}

#[test]
fn the_tracer_walks_each_datagram_where_real_iptables_counts_it() {
    require_tool("iptables-restore", "iptables");
    let dump = std::fs::read(fixtures().join("trace/loopback.ipv4.rules")).expect("dump");
    let analysis = analyze(&dump);
    assert_eq!(analysis.error, None);
    let ns = Netns::new("trace");
    let mut golden = Vec::new();
    let mut failures = Vec::new();
    for case in cases() {
        let hooks = traced(&analysis, &case);
        assert!(
            hooks.iter().all(|(_, t)| t.certain),
            "{}: the fixture's rules are all interpreted",
            case.about
        );
        let verdict = hooks
            .last()
            .map(|(_, t)| t.verdict.clone())
            .unwrap_or_default();
        let arrives = hooks.len() == PATH.len() && verdict == "ACCEPT";
        // Counters at zero: the dump restored again.
        ns.run("iptables-restore", &[], &dump);
        let counted = ns.enter(|| send(&ns, &case, arrives, &matched(&analysis, &hooks)));
        let want = matched(&analysis, &hooks);
        assert!(
            !counted
                .iter()
                .any(|(t, c, _)| t == "nat" && matches!(c.as_str(), "PREROUTING" | "INPUT")),
            "{}: nat PREROUTING or INPUT saw a looped-back datagram: {counted:?}",
            case.about
        );
        if counted != want {
            failures.push(format!(
                "{} ({}:{} → {}:{}):\n  iptables counted, the tracer did not: {:?}\n  the tracer matched, iptables did not count: {:?}",
                case.about,
                case.source,
                case.source_port,
                case.destination,
                case.destination_port,
                counted.difference(&want).collect::<Vec<_>>(),
                want.difference(&counted).collect::<Vec<_>>(),
            ));
        }
        golden.push(json!({
            "source": case.source,
            "sourcePort": case.source_port,
            "destination": case.destination,
            "destinationPort": case.destination_port,
            "about": case.about,
            "hooks": hooks.iter().map(|(name, t)| {
                let mut value = step_json(&analysis, t);
                value["hook"] = json!(name);
                value
            }).collect::<Vec<_>>(),
        }));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let path = fixtures().join("trace/loopback.ipv4.trace.json");
    let text = format!(
        "{}\n",
        serde_json::to_string_pretty(&json!({ "cases": golden })).expect("JSON")
    );
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&path, &text).expect("writing the golden file");
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{}: {err} (UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(text, want, "{} is the tracer's output", path.display());
}

/// Sends the case's datagram from inside the namespace; waits until it
/// arrived (`arrives`) or until the counters show the places the tracer
/// expects (a drop), then returns where iptables counted it.
fn send(ns: &Netns, case: &Case, arrives: bool, expected: &BTreeSet<Place>) -> BTreeSet<Place> {
    let receiver =
        UdpSocket::bind((case.destination.as_str(), case.destination_port)).expect("receiver");
    receiver
        .set_read_timeout(Some(PATIENCE))
        .expect("a timeout");
    let sender = UdpSocket::bind((case.source.as_str(), case.source_port)).expect("sender");
    // A drop in OUTPUT fails the send itself (EPERM): that is the case.
    let _ = sender.send_to(b"trace", (case.destination.as_str(), case.destination_port));
    if arrives {
        let mut buf = [0u8; 16];
        let (n, _) = receiver
            .recv_from(&mut buf)
            .unwrap_or_else(|err| panic!("{}: the datagram never arrived: {err}", case.about));
        assert_eq!(&buf[..n], b"trace");
        return counted(&ns.run("iptables-save", &["-c"], b""));
    }
    // Dropped: nothing arrives to wait for; wait instead for the counters
    // to show the walk (a mistaken tracer fails here, listing them).
    let deadline = Instant::now() + PATIENCE;
    loop {
        let counted = counted(&ns.run("iptables-save", &["-c"], b""));
        if expected.is_subset(&counted) || Instant::now() > deadline {
            let mut buf = [0u8; 16];
            receiver.set_nonblocking(true).expect("nonblocking");
            assert!(
                receiver.recv_from(&mut buf).is_err(),
                "{}: the datagram arrived, the tracer said it would not",
                case.about
            );
            return counted;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
