//! The component's exports: WIT types ↔ the library's types, nothing more.

wit_bindgen::generate!({
    world: "parser",
    path: "../wit",
});

use crate::render::Cursor;
use crate::{Parsed, Ruleset};
use exports::iptables_exporter::parser::metrics::{
    Dump, Family as WitFamily, Guest, GuestRenderer, ParseError as WitParseError, Rendering, Stats,
};
use std::cell::RefCell;

struct Component;

export!(Component);

type WitResults = Vec<Result<Stats, WitParseError>>;

impl Guest for Component {
    type Renderer = Renderer;

    fn render(dumps: Vec<Dump>) -> Rendering {
        let native: Vec<crate::Dump<'_>> = dumps.iter().map(dump_from_wit).collect();
        let rendering = crate::render_dumps(&native);
        Rendering {
            exposition: rendering.exposition,
            results: results_to_wit(rendering.results, &native),
        }
    }
}

/// The streaming renderer: parsed rulesets and a cursor into their exposition.
struct Renderer {
    /// Borrow from `inputs`; declared first so they are dropped first.
    rulesets: Vec<(crate::Family, Ruleset<'static>)>,
    results: WitResults,
    cursor: RefCell<Cursor>,
    /// The dumps' bytes, owned through raw pointers so that the rulesets can
    /// borrow them for as long as this resource lives; freed in `Drop`.
    inputs: Vec<*mut [u8]>,
}

impl GuestRenderer for Renderer {
    fn new(dumps: Vec<Dump>) -> Self {
        let mut inputs = Vec::with_capacity(dumps.len());
        let mut native = Vec::with_capacity(dumps.len());
        for dump in dumps {
            let raw = Box::into_raw(dump.save_output.into_boxed_slice());
            // SAFETY: `raw` is a live allocation that only `Drop` frees, after
            // every borrow of it (the rulesets) is gone.
            let bytes: &'static [u8] = unsafe { &*raw };
            inputs.push(raw);
            native.push(crate::Dump {
                family: family_from_wit(dump.family),
                save_output: bytes,
            });
        }
        let Parsed { rulesets, results } = crate::parse_dumps(native.iter().copied());
        Renderer {
            rulesets,
            results: results_to_wit(results, &native),
            cursor: RefCell::new(Cursor::default()),
            inputs,
        }
    }

    fn results(&self) -> WitResults {
        self.results.clone()
    }

    fn next_chunk(&self, min_bytes: u32) -> String {
        let min_bytes = usize::try_from(min_bytes).unwrap_or(usize::MAX);
        let rulesets: Vec<(crate::Family, &Ruleset<'static>)> =
            self.rulesets.iter().map(|(f, r)| (*f, r)).collect();
        let mut chunk = String::with_capacity(min_bytes.saturating_add(1024).min(64 << 20));
        self.cursor
            .borrow_mut()
            .fill(&rulesets, &mut chunk, min_bytes);
        chunk
    }
}

impl Drop for Renderer {
    fn drop(&mut self) {
        self.rulesets.clear();
        for input in self.inputs.drain(..) {
            // SAFETY: each pointer came from `Box::leak` in `new` and is freed
            // once, here; the rulesets that borrowed from it are gone.
            drop(unsafe { Box::from_raw(input) });
        }
    }
}

fn dump_from_wit(dump: &Dump) -> crate::Dump<'_> {
    crate::Dump {
        family: family_from_wit(dump.family),
        save_output: &dump.save_output,
    }
}

fn results_to_wit(
    results: Vec<Result<crate::Stats, crate::ParseError>>,
    dumps: &[crate::Dump<'_>],
) -> WitResults {
    results
        .into_iter()
        .zip(dumps)
        .map(|(result, dump)| {
            result.map(stats_to_wit).map_err(|err| WitParseError {
                family: family_to_wit(dump.family),
                line: saturate(err.line),
                message: err.kind.to_string(),
            })
        })
        .collect()
}

fn family_from_wit(family: WitFamily) -> crate::Family {
    match family {
        WitFamily::Ipv4 => crate::Family::Ipv4,
        WitFamily::Ipv6 => crate::Family::Ipv6,
    }
}

fn family_to_wit(family: crate::Family) -> WitFamily {
    match family {
        crate::Family::Ipv4 => WitFamily::Ipv4,
        crate::Family::Ipv6 => WitFamily::Ipv6,
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
