//! ipset: `ipset list -t` (headers only: cheap for sets of millions) read
//! by [`listing`] and rendered by [`render`] into the `ipset_*` series;
//! with the members of the few sets that need them (`ipset list NAME`):
//! sets whose entries the kernel does not count (set protocol 6) and,
//! when element counters are exported, sets created with `counters`.
//! Which those are is decided here too ([`member_listings`]), so that the
//! host reads nothing of the output.

pub mod listing;
pub mod render;

pub use listing::{ErrorKind, Listing, ListingError, parse, text};
pub use render::{Options, Stats};

/// One set's own listing (`ipset list NAME`), with its members.
#[derive(Debug, Clone, Copy)]
pub struct MemberListing<'a> {
    /// The set the host listed.
    pub set: &'a str,
    pub output: &'a [u8],
}

/// Why the source has no series: the listing's error, and which output
/// it is in (`None`: `ipset list -t`; else the set listed with its
/// members).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub listing: Option<String>,
    pub error: ListingError,
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.listing {
            None => write!(f, "ipset list -t, {}", self.error),
            Some(set) => write!(f, "ipset list {set}, {}", self.error),
        }
    }
}

/// The sets the filter keeps whose members must be listed: those without
/// a `Number of entries:` line (set protocol 6) and, with element
/// counters, those created with `counters`; none that `headers` lists
/// with members already.
pub fn member_listings(headers: &[u8], options: &Options) -> Result<Vec<String>, SourceError> {
    let text = text(headers);
    let listing = read(&text, None)?;
    Ok(listing
        .sets
        .iter()
        .filter(|set| set.members.is_none() && options.sets.keeps(Some(set.name)))
        .filter(|set| set.entries.is_none() || (options.element_counters && set.header.counters))
        .map(|set| set.name.to_owned())
        .collect())
}

/// What an analyzer shows of a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub name: String,
    /// `Type:` (`hash:ip`).
    pub kind: String,
    /// The kernel's count, else the members listed, else unknown.
    pub entries: Option<u64>,
    /// See [`listing::Set::max_entries`].
    pub max_entries: Option<u64>,
    pub memory_bytes: u64,
    pub references: u64,
}

/// Every set of a listing (`ipset list`, terse or not), as an analyzer
/// shows it beside the rules that match against it.
pub fn summaries(listing: &[u8]) -> Result<Vec<Summary>, SourceError> {
    let text = text(listing);
    let parsed = read(&text, None)?;
    Ok(parsed
        .sets
        .iter()
        .map(|set| Summary {
            name: set.name.to_owned(),
            kind: set.kind.to_owned(),
            entries: set
                .entries
                .or_else(|| set.members.as_ref().map(|m| m.len() as u64)),
            max_entries: set.max_entries(),
            memory_bytes: set.memory_bytes,
            references: set.references,
        })
        .collect())
}

/// Parses the headers and the member listings, and renders the series.
pub fn render_listing(
    headers: &[u8],
    members: &[MemberListing<'_>],
    options: &Options,
) -> Result<(String, Stats), SourceError> {
    let text_of_headers = text(headers);
    let listing = read(&text_of_headers, None)?;
    let texts: Vec<_> = members.iter().map(|m| text(m.output)).collect();
    let listed = members
        .iter()
        .zip(&texts)
        .map(|(member, text)| read(text, Some(member.set)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(render::render(&listing, &listed, options))
}

/// [`parse`], its error naming the output it is in: `ipset list -t`
/// (`None`) or the set listed on its own.
fn read<'t>(text: &'t str, set: Option<&str>) -> Result<Listing<'t>, SourceError> {
    parse(text).map_err(|error| SourceError {
        listing: set.map(str::to_owned),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::listing::{Header, Member};
    use super::*;
    use crate::select::{Anchor, Filter, Filtered};

    /// `ipset list -t` of ipset 7.17 (kernel 6.18), as captured.
    const TERSE: &str = "Name: ipc
Type: hash:ip
Revision: 6
Header: family inet hashsize 1024 maxelem 65536 counters comment bucketsize 12 initval 0x8b55ee67
Size in memory: 434
References: 3
Number of entries: 2

Name: bp
Type: bitmap:port
Revision: 3
Header: range 0-1024 counters
Size in memory: 16608
References: 0
Number of entries: 1

Name: bip
Type: bitmap:ip
Revision: 3
Header: range 10.0.0.0-10.0.0.255 netmask 30
Size in memory: 96
References: 0
Number of entries: 0

Name: ls
Type: list:set
Revision: 3
Header: size 4
Size in memory: 128
References: 0
Number of entries: 1
";

    const IPC_MEMBERS: &str = "Name: ipc
Type: hash:ip
Revision: 6
Header: family inet hashsize 1024 maxelem 65536 counters comment bucketsize 12 initval 0x8b55ee67
Size in memory: 434
References: 3
Number of entries: 2
Members:
127.0.0.1 packets 16 bytes 1220 comment \"loop back packets 9\"
10.1.2.3 packets 0 bytes 0
";

    fn options() -> Options {
        Options::default()
    }

    fn rendered(headers: &str, members: &[(&str, &str)], options: &Options) -> (String, Stats) {
        let members: Vec<_> = members
            .iter()
            .map(|(set, output)| MemberListing {
                set,
                output: output.as_bytes(),
            })
            .collect();
        render_listing(headers.as_bytes(), &members, options).expect("renders")
    }

    fn samples(text: &str, metric: &str) -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with(&format!("{metric}{{")))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_header_value_becomes_its_series() {
        let (text, stats) = rendered(TERSE, &[], &options());
        assert_eq!(
            samples(&text, "ipset_entries"),
            [
                r#"ipset_entries{set="ipc",type="hash:ip"} 2"#,
                r#"ipset_entries{set="bp",type="bitmap:port"} 1"#,
                r#"ipset_entries{set="bip",type="bitmap:ip"} 0"#,
                r#"ipset_entries{set="ls",type="list:set"} 1"#,
            ]
        );
        // maxelem; the port range 0-1024; 256 addresses in /30 blocks; size.
        assert_eq!(
            samples(&text, "ipset_max_entries"),
            [
                r#"ipset_max_entries{set="ipc"} 65536"#,
                r#"ipset_max_entries{set="bp"} 1025"#,
                r#"ipset_max_entries{set="bip"} 64"#,
                r#"ipset_max_entries{set="ls"} 4"#,
            ]
        );
        assert_eq!(
            samples(&text, "ipset_memory_bytes")[1],
            r#"ipset_memory_bytes{set="bp"} 16608"#
        );
        assert_eq!(
            samples(&text, "ipset_references")[0],
            r#"ipset_references{set="ipc"} 3"#
        );
        assert!(samples(&text, "ipset_element_packets_total").is_empty());
        assert_eq!(stats.sets, 4);
        assert!(stats.counted.is_empty() && stats.uncounted.is_empty());
    }

    #[test]
    fn element_counters_come_sorted_from_the_sets_own_listing_and_are_capped() {
        let mut options = options();
        options.element_counters = true;
        assert_eq!(
            member_listings(TERSE.as_bytes(), &options).expect("reads"),
            ["ipc", "bp"]
        );
        let (text, stats) = rendered(TERSE, &[("ipc", IPC_MEMBERS)], &options);
        // The comment's `packets 9` is no counter.
        assert_eq!(
            samples(&text, "ipset_element_packets_total"),
            [
                r#"ipset_element_packets_total{set="ipc",element="10.1.2.3"} 0"#,
                r#"ipset_element_packets_total{set="ipc",element="127.0.0.1"} 16"#,
            ]
        );
        assert_eq!(
            samples(&text, "ipset_element_bytes_total")[1],
            r#"ipset_element_bytes_total{set="ipc",element="127.0.0.1"} 1220"#
        );
        // An element listed twice (ipset never does) is one series, summed.
        let twice =
            IPC_MEMBERS.replace("10.1.2.3 packets 0 bytes 0", "127.0.0.1 packets 4 bytes 80");
        let (text, _) = rendered(TERSE, &[("ipc", &twice)], &options);
        assert_eq!(
            samples(&text, "ipset_element_bytes_total"),
            [r#"ipset_element_bytes_total{set="ipc",element="127.0.0.1"} 1300"#]
        );
        options.max_element_series = Some(1);
        let (text, stats_capped) = rendered(TERSE, &[("ipc", IPC_MEMBERS)], &options);
        assert_eq!(samples(&text, "ipset_element_bytes_total").len(), 1);
        assert_eq!(
            (
                stats.element_series_dropped,
                stats_capped.element_series_dropped
            ),
            (0, 1)
        );
    }

    #[test]
    fn protocol_6_output_without_the_entry_count_is_counted_from_the_members() {
        let terse = TERSE.replace("Number of entries: 2\n", "");
        assert_eq!(
            member_listings(terse.as_bytes(), &options()).expect("reads"),
            ["ipc"]
        );
        let members = IPC_MEMBERS.replace("Number of entries: 2\n", "");
        let (text, stats) = rendered(&terse, &[("ipc", &members)], &options());
        assert_eq!(
            samples(&text, "ipset_entries")[0],
            r#"ipset_entries{set="ipc",type="hash:ip"} 2"#
        );
        assert_eq!(stats.counted, ["ipc"]);
        // Its own listing gone (the set destroyed meanwhile): no count,
        // nothing made up, the other sets as they are.
        let (text, stats) = rendered(&terse, &[], &options());
        assert_eq!(samples(&text, "ipset_entries").len(), 3);
        assert_eq!(stats.uncounted, ["ipc"]);
        assert_eq!(samples(&text, "ipset_max_entries").len(), 4);
    }

    #[test]
    fn header_words_in_any_order_unknown_types_and_lines_and_crlf_are_taken() {
        let odd = "Name: odd\r\nType: hash:frob\r\nHeader: counters maxelem 9 family inet6 skbinfo timeout 5 comment\r\nSize in memory: 1\r\nReferences: 0\r\nNumber of entries: 0\r\nColour: blue\r\n\r\nName: p\nType: hash:ip\nHeader: maxelem 7 family inet\nReferences: 2\nSize in memory: 3\nNumber of entries: 1\nMembers:\n1.2.3.4 timeout 5 skbmark 0x1\n";
        let listing = parse(odd).expect("reads");
        assert_eq!(
            listing.sets[0].header,
            Header {
                maxelem: Some(9),
                counters: true,
                ..Header::default()
            }
        );
        assert_eq!(listing.findings.len(), 1);
        assert_eq!(listing.findings[0].line, 7);
        assert_eq!(
            listing.sets[1].members,
            Some(vec![Member {
                element: "1.2.3.4",
                packets: None,
                bytes: None
            }])
        );
        // A hash type takes its maxelem whatever its name after `hash:`; a
        // class not known has no capacity.
        let (text, stats) = rendered(&odd.replace("hash:frob", "tree:ip"), &[], &options());
        assert_eq!(
            samples(&text, "ipset_max_entries"),
            [r#"ipset_max_entries{set="p"} 7"#]
        );
        assert_eq!(
            (stats.unknown_types.as_slice(), stats.findings),
            (&["odd".to_owned()][..], 1)
        );
    }

    #[test]
    fn the_set_filter_keeps_whole_names_and_its_members_are_not_listed() {
        let options = Options {
            sets: Filter::new(Filtered::Tables, None, Some("ip.|b.*"), Anchor::WholeName)
                .expect("compiles"),
            element_counters: true,
            ..Options::default()
        };
        assert!(
            member_listings(TERSE.as_bytes(), &options)
                .expect("reads")
                .is_empty()
        );
        let (text, stats) = rendered(TERSE, &[], &options);
        assert_eq!(
            samples(&text, "ipset_references"),
            [r#"ipset_references{set="ls"} 0"#]
        );
        assert_eq!(stats.sets, 4);
    }

    #[test]
    fn bad_input_is_rejected_naming_the_listing_the_line_and_the_problem() {
        // Headers, (set, its own listing)s, the error's start.
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: [Case<'_>; 7] = [
            // Cut short after the header: no `Size in memory:`.
            (
                &TERSE[..TERSE.find("Size in memory: 16608").expect("there")],
                &[],
                "ipset list -t, line 9: set `bp` has no `Size in memory:` line",
            ),
            // Cut inside a line.
            (
                "Name: a\nType: hash:ip\nHeader: maxelem 5\nSize in mem",
                &[],
                "ipset list -t, line 4: expected `Name:`, a header line or `Members:`, found \"Size in mem\"",
            ),
            (
                &TERSE.replace("References: 3", "References: three"),
                &[],
                "ipset list -t, line 6: `References` is \"three\"",
            ),
            (
                &TERSE.replace("maxelem 65536", "maxelem -1"),
                &[],
                "ipset list -t, line 4: `maxelem` is \"-1\"",
            ),
            (
                &format!("{TERSE}\n{}", &TERSE[..TERSE.find("\n\n").expect("there")]),
                &[],
                "ipset list -t, line 33: set `ipc` is listed twice",
            ),
            (
                "Type: hash:ip\n",
                &[],
                "ipset list -t, line 1: expected `Name:` to start a set",
            ),
            (
                TERSE,
                &[(
                    "ipc",
                    "Name: ipc\nType: hash:ip\nHeader: counters\nSize in memory: 1\nReferences: 0\nMembers:\n1.2.3.4 packets x bytes 1\n",
                )],
                "ipset list ipc, line 7: `packets` is \"x\"",
            ),
        ];
        let mut options = options();
        options.element_counters = true;
        for (headers, members, expected) in cases {
            let members: Vec<_> = members
                .iter()
                .map(|(set, output)| MemberListing {
                    set,
                    output: output.as_bytes(),
                })
                .collect();
            let err = render_listing(headers.as_bytes(), &members, &options).expect_err(expected);
            assert!(
                err.to_string().starts_with(expected),
                "{err}\nwanted: {expected}"
            );
        }
        // Nothing at all is no set, not an error: a node without ipsets.
        assert_eq!(rendered("", &[], &options).1.sets, 0);
        assert_eq!(rendered("\n", &[], &options).0, "");
    }

    #[test]
    fn summaries_give_each_set_its_size_counting_members_where_the_count_is_missing() {
        let ipc =
            summaries(IPC_MEMBERS.replace("Number of entries: 2\n", "").as_bytes()).expect("reads");
        assert_eq!(
            ipc,
            [Summary {
                name: "ipc".into(),
                kind: "hash:ip".into(),
                entries: Some(2),
                max_entries: Some(65536),
                memory_bytes: 434,
                references: 3,
            }]
        );
        let terse = summaries(TERSE.as_bytes()).expect("reads");
        assert_eq!(terse.len(), 4);
        assert_eq!(
            (terse[2].entries, terse[2].max_entries),
            (Some(0), Some(64))
        );
        assert!(summaries(b"Name: x\nType: hash:ip\n").is_err());
    }

    #[test]
    fn bitmap_ranges_as_cidr_and_odd_ranges() {
        let set = |kind: &'static str, range: &'static str, netmask| listing::Set {
            name: "s",
            line: 1,
            kind,
            header: Header {
                range: Some(range),
                netmask,
                ..Header::default()
            },
            memory_bytes: 0,
            references: 0,
            entries: None,
            members: None,
        };
        assert_eq!(
            set("bitmap:ip", "10.0.0.0/16", None).max_entries(),
            Some(65536)
        );
        assert_eq!(
            set("bitmap:ip", "10.0.0.0/16", Some(24)).max_entries(),
            Some(256)
        );
        assert_eq!(
            set("bitmap:ip,mac", "192.168.0.0-192.168.255.255", None).max_entries(),
            Some(65536)
        );
        assert_eq!(set("bitmap:port", "5-4", None).max_entries(), None);
        assert_eq!(set("bitmap:ip", "nonsense", None).max_entries(), None);
    }
}
