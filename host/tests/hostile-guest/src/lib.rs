//! A parser component that misbehaves as its input asks: the first line of
//! the first dump names the behaviour. Test use only.
#![allow(unsafe_code)]

wit_bindgen::generate!({
    world: "parser",
    path: "../../../wit",
});

use exports::iptables_exporter::parser::metrics::{Dump, Guest, GuestRenderer, ParseError, Rendering, Stats};
use std::cell::Cell;

struct Hostile;

export!(Hostile);

const SAMPLE: &str = "# HELP iptables_rules Number of rules in a chain.\n# TYPE iptables_rules gauge\niptables_rules{family=\"ipv4\",table=\"filter\",chain=\"HOSTILE\"} 1\n";

fn mode(dumps: &[Dump]) -> String {
    let bytes = dumps.first().map(|d| d.save_output.as_slice()).unwrap_or_default();
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
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
    #[cfg(feature = "clock")]
    std::hint::black_box(std::time::SystemTime::now());
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

fn ok_results(dumps: usize) -> Vec<Result<Stats, ParseError>> {
    (0..dumps).map(|_| Ok(Stats { tables: 1, chains: 1, rules: 1 })).collect()
}

impl Guest for Hostile {
    type Renderer = Renderer;

    fn render(dumps: Vec<Dump>) -> Rendering {
        let mode = mode(&dumps);
        act(&mode);
        let exposition = match mode.as_str() {
            "huge" | "endless" => "x".repeat(64 << 20),
            "loop-render" => spin(),
            _ => SAMPLE.to_owned(),
        };
        Rendering { exposition, results: ok_results(dumps.len()) }
    }
}

struct Renderer {
    mode: String,
    dumps: usize,
    served: Cell<bool>,
}

impl GuestRenderer for Renderer {
    fn new(dumps: Vec<Dump>) -> Self {
        let mode = mode(&dumps);
        act(&mode);
        Renderer { mode, dumps: dumps.len(), served: Cell::new(false) }
    }

    fn results(&self) -> Vec<Result<Stats, ParseError>> {
        ok_results(self.dumps)
    }

    fn next_chunk(&self, min_bytes: u32) -> String {
        match self.mode.as_str() {
            "loop-render" => spin(),
            // One piece far larger than any input could produce.
            "huge" => "x".repeat(4 << 20) + "\n",
            // Pieces of the size asked for, forever.
            "endless" => format!("{}\n", "y".repeat(min_bytes as usize)),
            _ if self.served.replace(true) => String::new(),
            _ => SAMPLE.to_owned(),
        }
    }
}
