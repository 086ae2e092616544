//! Parse + render time grows linearly in every dimension of the input:
//! for each, an input of size n and one of size 4n, and the time ratio must
//! stay far below the 16 a quadratic step would give. The bound is generous
//! (10) and each time is the best of several runs, so that a loaded machine
//! does not make it flaky; a quadratic regression (a chain declared 100k
//! times took 10 s instead of 0.1 s) still fails it by far.

use crate::{Dump, Family, render_dumps};
use std::time::{Duration, Instant};

/// Input lines (or bytes, for line length) at the smaller size.
const N: usize = 10_000;
const RUNS: usize = 3;
const MAX_RATIO: f64 = 10.0;

fn table(body: &str) -> String {
    format!("*filter\n{body}COMMIT\n")
}

/// An input of size `n` in one dimension.
type Input = fn(usize) -> String;

/// Each dimension: its name and its input.
const DIMENSIONS: &[(&str, Input)] = &[
    ("declarations of one chain with different policies", |n| {
        table(
            &(0..n)
                .map(|i| format!(":C P{i} [1:1]\n"))
                .collect::<String>(),
        )
    }),
    ("chains", |n| {
        table(
            &(0..n)
                .map(|i| format!("[1:1] -A C{i} -j X\n"))
                .collect::<String>(),
        )
    }),
    ("tables", |n| {
        (0..n)
            .map(|i| format!("*t{i}\n:C - [1:1]\nCOMMIT\n"))
            .collect()
    }),
    ("rules in one chain", |n| {
        table(
            &(0..n)
                .map(|i| format!("[1:1] -A C -s 10.{i}\n"))
                .collect::<String>(),
        )
    }),
    ("duplicate rules", |n| table(&"[1:1] -A C -j X\n".repeat(n))),
    ("inline counters", |n| {
        table(
            &(0..n)
                .map(|i| format!("-A C -s {i}\t-c 1 2\n"))
                .collect::<String>(),
        )
    }),
    ("incompatible-table notes", |n| {
        (0..n)
            .map(|i| format!("# Table `t{i}' is incompatible, use 'nft' tool.\n"))
            .collect()
    }),
    ("length of one line", |n| {
        table(&format!(
            "-A C -m comment --comment \"{}\" -c 1 2\n",
            "a\\\" -c 1 2 \u{fffd}".repeat(n)
        ))
    }),
];

fn best_time(input: &[u8]) -> Duration {
    (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            let rendering = render_dumps(&[Dump::new(Family::Ipv4, input)]);
            assert!(
                rendering.results.iter().all(Result::is_ok),
                "{:?}",
                rendering.results
            );
            std::hint::black_box(rendering.exposition.len());
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

#[test]
fn parse_and_render_time_is_linear_in_every_dimension() {
    let mut report = Vec::new();
    for (name, input) in DIMENSIONS {
        let small = best_time(input(N).as_bytes());
        let large = best_time(input(4 * N).as_bytes());
        let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-6);
        report.push(format!("{name}: {small:?} → {large:?} (×{ratio:.1})"));
        eprintln!("{}", report.last().map_or("", String::as_str));
        assert!(
            ratio < MAX_RATIO,
            "{name}: 4× the input took {ratio:.1}× the time\n{}",
            report.join("\n")
        );
    }
}
