//! A parser component that misbehaves as its input asks: the first line of
//! a dump names the behaviour, for that dump's family. Test use only.
#![allow(unsafe_code)]

#[cfg(not(feature = "import"))]
wit_bindgen::generate!({
    world: "parser",
    path: "../../../wit",
});

// The parser's world and one import more: the host, which links nothing,
// must refuse it.
#[cfg(feature = "import")]
wit_bindgen::generate!({
    inline: "
        package hostile:guest;
        world smuggler {
            include iptables-exporter:parser/parser@0.9.0;
            import smuggled: func() -> u64;
        }
    ",
    path: "../../../wit",
    world: "hostile:guest/smuggler",
});

use exports::iptables_exporter::parser::metrics::{
    Dump, ErrorKind, Family, Guest, GuestRenderer, Metric, OptionError, Options, ParseError,
    Rendering, Stats,
};
use std::cell::Cell;

struct Hostile;

export!(Hostile);

const HEADER: &str = "# HELP iptables_rules Number of rules in a chain.\n# TYPE iptables_rules gauge\n";

fn label(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "ipv4",
        Family::Ipv6 => "ipv6",
    }
}

/// The one sample a well-behaved dump of `family` has.
fn sample(family: Family) -> String {
    format!(
        "iptables_rules{{family=\"{}\",table=\"filter\",chain=\"HOSTILE\"}} 1\n",
        label(family)
    )
}

fn mode(dump: &Dump) -> String {
    let line = dump.save_output.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(line).into_owned()
}

fn spin() -> ! {
    let mut n = 0u64;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Misbehaviours that can happen while parsing.
fn act(mode: &str) {
    #[cfg(feature = "import")]
    std::hint::black_box(smuggled());
    match mode {
        "loop-parse" => spin(),
        "alloc" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        "trap" => panic!("hostile guest panics on purpose"),
        "exit" => std::process::exit(3),
        _ => {}
    }
}

fn stats() -> Stats {
    Stats {
        tables: 1,
        chains: 1,
        rules: 1,
        incompatible_tables: Vec::new(),
        tables_shown: vec!["filter".into()],
        rule_series_dropped: 0,
    }
}

/// An nft listing misbehaves as its first line says, as a dump does.
impl exports::iptables_exporter::parser::nftables::Guest for Hostile {
    fn tables(
        _listing: Vec<u8>,
    ) -> Result<
        Vec<exports::iptables_exporter::parser::nftables::TableId>,
        exports::iptables_exporter::parser::nftables::ListingError,
    > {
        Ok(Vec::new())
    }

    fn render(
        listing: exports::iptables_exporter::parser::nftables::Listing,
        _settings: exports::iptables_exporter::parser::nftables::Settings,
    ) -> Result<
        exports::iptables_exporter::parser::nftables::Rendered,
        exports::iptables_exporter::parser::nftables::ListingError,
    > {
        use exports::iptables_exporter::parser::nftables as nft;
        let line = listing.output.split(|&b| b == b'\n').next().unwrap_or_default();
        act(&String::from_utf8_lossy(line));
        Ok(nft::Rendered {
            exposition: String::new(),
            stats: nft::Stats {
                tables: 0,
                chains: 0,
                rules: 0,
                sets: 0,
                left_to_iptables: Vec::new(),
                rule_series_dropped: 0,
                findings: 0,
                version: None,
            },
        })
    }
}

/// A kept text misbehaves as its first line says, as a dump does.
impl exports::iptables_exporter::parser::netlink::Guest for Hostile {
    fn chains(
        _replies: Vec<u8>,
    ) -> Result<
        Vec<exports::iptables_exporter::parser::netlink::ChainId>,
        exports::iptables_exporter::parser::netlink::RefreshError,
    > {
        Ok(Vec::new())
    }

    fn refresh(
        kept: Vec<u8>,
        _chain_replies: Vec<u8>,
        _rule_replies: Vec<u8>,
    ) -> Result<Vec<u8>, exports::iptables_exporter::parser::netlink::RefreshError> {
        let line = kept.split(|&b| b == b'\n').next().unwrap_or_default();
        act(&String::from_utf8_lossy(line));
        Ok(kept)
    }
}

/// An ipset listing misbehaves as its first line says, as a dump does.
impl exports::iptables_exporter::parser::ipset::Guest for Hostile {
    fn sets(
        _listing: Vec<u8>,
    ) -> Result<
        Vec<exports::iptables_exporter::parser::ipset::SetSummary>,
        exports::iptables_exporter::parser::ipset::ListingError,
    > {
        Ok(Vec::new())
    }

    fn member_listings(
        _headers: Vec<u8>,
        _settings: exports::iptables_exporter::parser::ipset::Settings,
    ) -> Result<Vec<String>, exports::iptables_exporter::parser::ipset::ListingError> {
        Ok(Vec::new())
    }

    fn render(
        listing: exports::iptables_exporter::parser::ipset::Listing,
        _settings: exports::iptables_exporter::parser::ipset::Settings,
    ) -> Result<
        exports::iptables_exporter::parser::ipset::Rendered,
        exports::iptables_exporter::parser::ipset::ListingError,
    > {
        use exports::iptables_exporter::parser::ipset;
        let line = listing.headers.split(|&b| b == b'\n').next().unwrap_or_default();
        act(&String::from_utf8_lossy(line));
        Ok(ipset::Rendered {
            exposition: String::new(),
            stats: ipset::Stats {
                sets: 0,
                counted: Vec::new(),
                uncounted: Vec::new(),
                unknown_types: Vec::new(),
                element_series_dropped: 0,
                findings: 0,
            },
        })
    }
}

impl Guest for Hostile {
    type Renderer = Renderer;

    fn render(dumps: Vec<Dump>, _options: Options) -> Rendering {
        let modes: Vec<String> = dumps.iter().map(mode).collect();
        modes.iter().for_each(|m| act(m));
        let exposition = if modes.iter().any(|m| m == "huge" || m == "endless") {
            "x".repeat(64 << 20)
        } else if modes.iter().any(|m| m == "loop-render") {
            spin()
        } else {
            let samples: String = dumps.iter().map(|d| sample(d.family)).collect();
            format!("{HEADER}{samples}")
        };
        Rendering { exposition, results: dumps.iter().map(|_| Ok(stats())).collect() }
    }

    fn tables_shown(_save_output: Vec<u8>) -> Vec<String> {
        Vec::new()
    }

    fn check_options(_options: Options) -> Result<(), OptionError> {
        Ok(())
    }
}

struct Renderer {
    mode: String,
    family: Family,
    served: Cell<bool>,
}

impl GuestRenderer for Renderer {
    fn new(dump: Dump, _options: Options) -> Self {
        let mode = mode(&dump);
        act(&mode);
        Renderer { mode, family: dump.family, served: Cell::new(false) }
    }

    fn outcome(&self) -> Result<Stats, ParseError> {
        if self.mode == "malformed" {
            return Err(ParseError {
                line: 1,
                kind: ErrorKind::UnknownLine,
                message: "malformed on purpose".into(),
            });
        }
        Ok(stats())
    }

    fn next_chunk(&self, metric: Metric, min_bytes: u32) -> String {
        match self.mode.as_str() {
            "loop-render" => spin(),
            // One good piece first, then a loop: fails after text is out.
            "late-loop" if self.served.replace(true) => spin(),
            "late-loop" => sample(self.family),
            // One piece far larger than any input could produce.
            "huge" => "x".repeat(4 << 20) + "\n",
            // Pieces of the size asked for, forever.
            "endless" => format!("{}\n", "y".repeat(min_bytes as usize)),
            _ if metric != Metric::Rules || self.served.replace(true) => String::new(),
            _ => sample(self.family),
        }
    }
}
