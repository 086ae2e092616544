//! Parse + render of generated dumps natively and through the component
//! (one call, and streamed in chunks as the server does, in text format,
//! in OpenMetrics, and keeping only commented rules), and the fixed cost
//! of a fresh instance and a call on an empty dump.

use benches::{Family, generate};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use exposition::Format;
use iptables_exporter::sandbox::{
    Dump, EMBEDDED_COMPONENT, Limits, Options, PIECE_BYTES, RuleSelection, Sandbox, Selection,
};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn sandbox() -> Sandbox {
    let limits = Limits {
        max_memory_bytes: 1 << 30,
        deadline: Duration::from_secs(60),
        max_exposition_bytes: 1 << 30,
    };
    Sandbox::new(EMBEDDED_COMPONENT, limits).expect("component loads")
}

fn dump(bytes: &[u8]) -> Vec<Dump> {
    vec![Dump::new(Family::Ipv4, bytes.to_vec())]
}

fn parse_and_render(c: &mut Criterion) {
    let sandbox = sandbox();
    let mut group = c.benchmark_group("parse+render");
    group.sample_size(10);
    for rules in SIZES {
        let input = generate(rules, 7, Family::Ipv4).into_bytes();
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_with_input(BenchmarkId::new("native", rules), &input, |b, input| {
            b.iter(|| {
                let rendering =
                    parser_wasm::render_dumps(&[parser_wasm::Dump::new(Family::Ipv4, input)]);
                black_box(rendering.exposition.len())
            });
        });
        // The parse alone, to tell its share from the render's.
        group.bench_with_input(
            BenchmarkId::new("native-parse", rules),
            &input,
            |b, input| {
                b.iter(|| {
                    let ruleset = parser_wasm::parse(input).expect("parses");
                    black_box(ruleset.tables.len())
                });
            },
        );
        // The analyzer's view (every rule, jumps, diagnostics), natively.
        group.bench_with_input(
            BenchmarkId::new("native-analyze", rules),
            &input,
            |b, input| {
                b.iter(|| black_box(parser_wasm::analyze::analyze(input).rules.len()));
            },
        );
        // Its first pass alone: what an analyzer waits for to show the tree.
        group.bench_with_input(
            BenchmarkId::new("native-outline", rules),
            &input,
            |b, input| {
                b.iter(|| black_box(parser_wasm::analyze::outline(input).rule_count()));
            },
        );
        group.bench_with_input(BenchmarkId::new("component", rules), &input, |b, input| {
            b.iter(|| {
                black_box(
                    sandbox
                        .render(dump(input), Options::TEXT)
                        .expect("renders")
                        .exposition
                        .len(),
                )
            });
        });
        let commented = Selection {
            rules: RuleSelection::Commented,
            ..Selection::ALL
        };
        let streamed = [
            ("component-chunks", Options::TEXT),
            (
                "component-chunks-openmetrics",
                Options {
                    format: Format::OpenMetrics,
                    selection: &Selection::ALL,
                },
            ),
            (
                "component-chunks-commented",
                Options {
                    format: Format::Text,
                    selection: &commented,
                },
            ),
        ];
        for (name, options) in streamed {
            group.bench_with_input(BenchmarkId::new(name, rules), &input, |b, input| {
                b.iter(|| {
                    let mut total = 0;
                    sandbox
                        .render_families(dump(input), options, PIECE_BYTES, |chunk| {
                            total += chunk.len()
                        })
                        .expect("renders");
                    black_box(total)
                });
            });
        }
    }
    group.finish();
}

fn instance_overhead(c: &mut Criterion) {
    let sandbox = sandbox();
    c.bench_function("instantiate+call (empty dump)", |b| {
        b.iter(|| {
            black_box(
                sandbox
                    .render(dump(b""), Options::TEXT)
                    .expect("renders")
                    .exposition
                    .len(),
            )
        });
    });
}

criterion_group!(benches, parse_and_render, instance_overhead);
criterion_main!(benches);
