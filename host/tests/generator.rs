//! The benchmark generator prints what real iptables prints: its dumps load
//! with `*-restore -c` (nft and legacy, IPv4 and IPv6) and `*-save -c` gives
//! them back unchanged, so benchmarks run on realistic input.

use crate::common;

use common::netns::Netns;
use std::collections::BTreeMap;

/// Tables of a dump by name, comment lines dropped. The order of tables is
/// left out: iptables-legacy prints them in the kernel's module load order.
fn tables(dump: &[u8], strip_rule_counters: bool) -> BTreeMap<String, Vec<String>> {
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in String::from_utf8_lossy(dump)
        .lines()
        .filter(|l| !l.starts_with('#'))
    {
        if let Some(name) = line.strip_prefix('*') {
            current = name.to_owned();
        }
        let line = match line.split_once(" -A ") {
            Some((_counters, rule)) if strip_rule_counters => format!("-A {rule}"),
            _ => line.to_owned(),
        };
        tables.entry(current.clone()).or_default().push(line);
    }
    tables
}

fn round_trip(variant: &str, family: exposition::Family) {
    let tool = match family {
        exposition::Family::Ipv4 => "iptables",
        exposition::Family::Ipv6 => "ip6tables",
    };
    let dump = ruleset_generator::generate(2_000, 11, family);
    let ns = Netns::new(&format!("gen-{variant}"));
    ns.run(
        &format!("{tool}-{variant}-restore"),
        &["-c"],
        dump.as_bytes(),
    );
    let saved = ns.run(&format!("{tool}-{variant}-save"), &["-c"], b"");
    // ip6tables-nft-restore 1.8.9 sets chain counters but not rule counters.
    let strip = variant == "nft" && family == exposition::Family::Ipv6;
    let want = tables(dump.as_bytes(), strip);
    let got = tables(&saved, strip);
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (table, lines) in &want {
        let back = &got[table];
        let first_difference = lines.iter().zip(back).position(|(a, b)| a != b);
        assert!(
            lines == back,
            "{tool}-{variant} table {table}: {} lines in, {} back; first difference at {first_difference:?}: {:?} vs {:?}",
            lines.len(),
            back.len(),
            first_difference.map(|i| &lines[i]),
            first_difference.map(|i| &back[i]),
        );
    }
}

#[test]
fn ipv4_dumps_survive_nft_restore_and_save() {
    round_trip("nft", exposition::Family::Ipv4);
}

#[test]
fn ipv4_dumps_survive_legacy_restore_and_save() {
    round_trip("legacy", exposition::Family::Ipv4);
}

#[test]
fn ipv6_dumps_survive_nft_restore_and_save() {
    round_trip("nft", exposition::Family::Ipv6);
}

#[test]
fn ipv6_dumps_survive_legacy_restore_and_save() {
    round_trip("legacy", exposition::Family::Ipv6);
}
