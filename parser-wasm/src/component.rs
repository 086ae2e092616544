//! The component's exports: WIT types ↔ the library's types, nothing more.

wit_bindgen::generate!({
    world: "parser",
    path: "../wit",
});

use exports::iptables_exporter::parser::metrics::{
    Dump, Family as WitFamily, Guest, ParseError as WitParseError, Rendering, Stats,
};

struct Component;

export!(Component);

impl Guest for Component {
    fn render(dumps: Vec<Dump>) -> Rendering {
        let native: Vec<crate::Dump<'_>> = dumps
            .iter()
            .map(|d| crate::Dump {
                family: family_from_wit(d.family),
                save_output: &d.save_output,
            })
            .collect();
        let rendering = crate::render_dumps(&native);
        let results = rendering
            .results
            .into_iter()
            .zip(&dumps)
            .map(|(result, dump)| {
                result.map(stats_to_wit).map_err(|err| WitParseError {
                    family: dump.family,
                    line: saturate(err.line),
                    message: err.kind.to_string(),
                })
            })
            .collect();
        Rendering {
            exposition: rendering.exposition,
            results,
        }
    }
}

fn family_from_wit(family: WitFamily) -> crate::Family {
    match family {
        WitFamily::Ipv4 => crate::Family::Ipv4,
        WitFamily::Ipv6 => crate::Family::Ipv6,
    }
}

fn stats_to_wit(stats: crate::Stats) -> Stats {
    Stats {
        tables: saturate(stats.tables),
        chains: saturate(stats.chains),
        rules: saturate(stats.rules),
    }
}

fn saturate(n: impl TryInto<u32>) -> u32 {
    n.try_into().unwrap_or(u32::MAX)
}
