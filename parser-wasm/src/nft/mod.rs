//! Native nftables: `nft -j list ruleset` output, read by [`listing`],
//! its rules printed by [`print`] (the `rule` label), rendered by
//! [`render`] into the `nftables_*` series.
//!
//! Which tables are whose: a table the iptables source shows in full
//! (`iptables-nft-save` printed a `*TABLE` block for it) is left to that
//! source, so that no counter is exported twice; the caller names them in
//! [`render::Options::left_to_iptables`].

pub mod analyze;
pub mod listing;
pub mod print;
pub mod render;
mod text;

pub use listing::{Listing, ListingError, ListingErrorKind, parse};
pub use render::{Options, Stats};

/// Parses and renders a listing.
pub fn render_listing(bytes: &[u8], options: &Options) -> Result<(String, Stats), ListingError> {
    let listing = parse(bytes)?;
    Ok(render::render(&listing, options))
}

#[cfg(test)]
mod tests {
    use super::listing::{FindingKind, SetKind};
    use super::*;

    fn listing(items: &str) -> Listing {
        let json = format!(
            r#"{{"nftables": [{{"metainfo": {{"version": "1.1.7", "json_schema_version": 1}}}}, {items}]}}"#
        );
        parse(json.as_bytes()).unwrap_or_else(|err| panic!("{err}: {json}"))
    }

    fn rendered(items: &str, options: &Options) -> String {
        render::render(&listing(items), options).0
    }

    const TABLE: &str = r#"{"table": {"family": "inet", "name": "t", "handle": 1}}"#;

    #[test]
    fn flags_as_a_string_or_a_list_and_set_types_of_every_shape_are_read() {
        let l = listing(&format!(
            r#"{TABLE},
            {{"set": {{"family": "inet", "table": "t", "name": "a", "type": "ipv4_addr", "flags": "interval", "elem": ["1.2.3.4"]}}}},
            {{"set": {{"family": "inet", "table": "t", "name": "b", "type": ["ipv4_addr", "inet_service"], "flags": ["interval"], "elem": [{{"concat": ["1.2.3.4", 80]}}]}}}},
            {{"set": {{"family": "inet", "table": "t", "name": "c", "type": {{"typeof": {{"payload": {{"protocol": "ip", "field": "saddr"}}}}}}, "size": 10, "count": 3}}}},
            {{"meter": {{"family": "inet", "table": "t", "name": "m", "type": "ipv4_addr", "elem": []}}}}"#
        ));
        let sets = &l.tables[0].sets;
        let got: Vec<_> = sets
            .iter()
            .map(|s| (s.name.as_str(), s.kind, s.elements, s.max_elements))
            .collect();
        assert_eq!(
            got,
            [
                ("a", SetKind::Set, Some(1), None),
                ("b", SetKind::Set, Some(1), None),
                ("c", SetKind::Set, Some(3), Some(10)),
                ("m", SetKind::Meter, Some(0), None),
            ]
        );
    }

    #[test]
    fn listings_one_after_another_are_one_listing_and_name_their_tables() {
        let first = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "inet", "name": "a", "handle": 1}}, {"chain": {"family": "inet", "table": "a", "name": "c", "handle": 2}}]}"#;
        let second = r#"{"nftables": [{"metainfo": {"version": "1.1.0"}}, {"chain": {"family": "ip", "table": "b", "name": "d", "handle": 3}}, {"set": {"family": "ip", "table": "b", "name": "s", "type": "ipv4_addr", "handle": 4}}]}"#;
        let both = format!("{first}\n{second}\n");
        let listing = parse(both.as_bytes()).expect("two documents");
        assert_eq!(listing.version.as_deref(), Some("1.0.6"), "the first's");
        assert_eq!(listing.items, 6, "items are counted across documents");
        let tables = listing::tables(both.as_bytes()).expect("tables");
        assert_eq!(
            tables,
            vec![("inet".into(), "a".into()), ("ip".into(), "b".into())]
        );
        // Garbage after a document is no listing.
        let err = parse(format!("{first} nonsense").as_bytes()).expect_err("garbage");
        assert_eq!(err.kind, ListingErrorKind::NotJson);
    }

    #[test]
    fn a_set_listed_without_elements_is_empty_unless_the_listing_is_terse() {
        // nft leaves `elem` out of an empty set, and out of every set with
        // `-t`: only the caller knows which listing it asked for.
        let items = format!(
            r#"{TABLE}, {{"set": {{"family": "inet", "table": "t", "name": "a", "type": "ipv4_addr", "size": 5}}}}"#
        );
        let full = Options {
            set_elements: true,
            ..Options::default()
        };
        let text = rendered(&items, &full);
        assert!(
            text.contains(r#"nftables_set_elements{family="inet",table="t",set="a"} 0"#),
            "{text}"
        );
        let terse = Options {
            set_elements: false,
            ..Options::default()
        };
        let text = rendered(&items, &terse);
        assert!(!text.contains("nftables_set_elements{"), "{text}");
        assert!(
            text.contains(r#"nftables_set_max_elements{family="inet",table="t",set="a"} 5"#),
            "{text}"
        );
    }

    #[test]
    fn comments_on_tables_and_chains_and_rules_without_expr_are_taken() {
        let l = listing(
            r#"{"table": {"family": "inet", "name": "t", "handle": 1, "comment": "a table"}},
            {"chain": {"family": "inet", "table": "t", "name": "c", "handle": 2, "comment": "a chain"}},
            {"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 3}}"#,
        );
        let chain = &l.tables[0].chains[0];
        assert_eq!(chain.rules.len(), 1);
        assert_eq!(chain.rules[0].text, "");
        assert_eq!(chain.rules[0].counters, None);
    }

    #[test]
    fn counters_past_2_63_and_2_53_are_exact() {
        let text = rendered(
            &format!(
                r#"{TABLE}, {{"counter": {{"family": "inet", "table": "t", "name": "n", "packets": -2, "bytes": 9007199254740993}}}}"#
            ),
            &Options::default(),
        );
        assert!(
            text.contains(r#"nftables_counter_packets_total{family="inet",table="t",counter="n"} 18446744073709551614"#),
            "{text}"
        );
        assert!(
            text.contains(r#"nftables_counter_bytes_total{family="inet",table="t",counter="n"} 9007199254740993"#),
            "{text}"
        );
    }

    #[test]
    fn unknown_items_are_skipped_with_a_finding() {
        let l = listing(&format!(
            r#"{TABLE}, {{"flowtable": {{"family": "inet", "table": "t", "name": "f"}}}}, {{"ct helper": {{"family": "inet", "table": "t", "name": "h"}}}}"#
        ));
        let kinds: Vec<_> = l.findings.iter().map(|f| (f.item, f.kind)).collect();
        assert_eq!(
            kinds,
            [(3, FindingKind::UnknownItem), (4, FindingKind::UnknownItem)]
        );
        assert!(l.findings[0].message.contains("\"flowtable\""));
    }

    #[test]
    fn output_that_is_not_a_listing_is_an_error_naming_where() {
        let cases: [(&[u8], ListingErrorKind); 5] = [
            (b"", ListingErrorKind::Empty),
            (b"  \n", ListingErrorKind::Empty),
            (
                br#"{"nftables": [{"metainfo": {}}, {"table": {"fam"#,
                ListingErrorKind::Truncated,
            ),
            (b"Error: syntax error\n", ListingErrorKind::NotJson),
            (br#"{"tables": []}"#, ListingErrorKind::NotAListing),
        ];
        for (bytes, kind) in cases {
            let err = parse(bytes).expect_err("rejected");
            assert_eq!(err.kind, kind, "{err}");
            assert!(err.line >= 1 && err.column >= 1, "{err:?}");
        }
        let err = parse(br#"{"nftables": [], } trailing"#).expect_err("rejected");
        assert_eq!(err.kind, ListingErrorKind::NotJson);
        assert_eq!((err.line, err.column), (1, 18), "{err}");
    }

    #[test]
    fn identical_rules_of_a_chain_are_summed_and_references_have_no_series() {
        let rule = |handle: u32, counter: &str| {
            format!(
                r#"{{"rule": {{"family": "inet", "table": "t", "chain": "c", "handle": {handle}, "expr": [{{"match": {{"op": "==", "left": {{"payload": {{"protocol": "tcp", "field": "dport"}}}}, "right": 22}}}}, {counter}]}}}}"#
            )
        };
        let items = [
            TABLE.to_owned(),
            rule(5, r#"{"counter": {"packets": 1, "bytes": 10}}"#),
            rule(9, r#"{"counter": {"packets": 2, "bytes": 20}}"#),
            rule(12, r#"{"counter": "named"}"#),
        ]
        .join(",");
        let text = rendered(&items, &Options::default());
        let samples: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("nftables_rule_packets_total{"))
            .collect();
        assert_eq!(
            samples,
            [
                r#"nftables_rule_packets_total{family="inet",table="t",chain="c",rule="tcp dport 22 counter"} 3"#
            ]
        );
        assert!(text.contains(r#"nftables_chain_rules{family="inet",table="t",chain="c"} 3"#));
    }

    #[test]
    fn tables_left_to_iptables_have_no_series() {
        let items = r#"{"table": {"family": "ip", "name": "filter", "handle": 1}},
            {"chain": {"family": "ip", "table": "filter", "name": "INPUT", "handle": 2}},
            {"table": {"family": "ip", "name": "mangle", "handle": 3}},
            {"chain": {"family": "ip", "table": "mangle", "name": "PREROUTING", "handle": 4}}"#;
        let options = Options {
            left_to_iptables: vec![("ip".into(), "filter".into())],
            ..Options::default()
        };
        let (text, stats) = render::render(&listing(items), &options);
        assert!(!text.contains("table=\"filter\""), "{text}");
        assert!(text.contains("table=\"mangle\""), "{text}");
        assert_eq!(stats.left_to_iptables, ["ip filter"]);
        assert_eq!(stats.tables, 2);
    }
}
