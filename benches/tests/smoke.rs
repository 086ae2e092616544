//! The bench tooling must not rot: `scrape-bench` runs end to end on small
//! dumps against the exporter of this build (no timing is asserted; the
//! figures come from release builds, see benches/README.md).

use std::path::PathBuf;
use std::process::Command;

/// The exporter binary of the same build: `cargo test --workspace` builds
/// it, beside this package's binaries.
fn exporter() -> PathBuf {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_scrape-bench"));
    let exporter = bench.with_file_name("iptables-exporter");
    assert!(
        exporter.is_file(),
        "{} is missing: build it first (cargo build -p iptables-exporter), or run cargo test --workspace",
        exporter.display()
    );
    exporter
}

#[test]
fn scrape_bench_measures_every_level_and_draws_the_cost_curve() {
    let dir = tempfile::tempdir().expect("dir");
    let plot = dir.path().join("cost.svg");
    let output = Command::new(env!("CARGO_BIN_EXE_scrape-bench"))
        .arg(format!("--exporter={}", exporter().display()))
        .args(["--rules=300,1000", "--rounds=2", "--clients=1,2"])
        .arg(format!("--plot={}", plot.display()))
        .output()
        .expect("scrape-bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "scrape-bench failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Two sizes, two encodings, two concurrency levels: eight rows.
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("| 300 |") || l.starts_with("| 1000 |"))
        .collect();
    assert_eq!(rows.len(), 8, "{stdout}");
    for encoding in ["plain", "gzip"] {
        assert_eq!(
            rows.iter()
                .filter(|r| r.contains(&format!("| {encoding} |")))
                .count(),
            4,
            "{stdout}"
        );
    }
    let svg = std::fs::read_to_string(&plot).expect("plot written");
    // Latency and CPU for each encoding, and memory: two points each.
    assert_eq!(svg.matches("<circle").count(), 12, "{svg}");
}

#[test]
fn scrape_bench_measures_stalled_clients() {
    let output = Command::new(env!("CARGO_BIN_EXE_scrape-bench"))
        .arg(format!("--exporter={}", exporter().display()))
        .args(["--rules=300", "--stalled=3", "--stalled-every=10"])
        .output()
        .expect("scrape-bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "scrape-bench failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let row = stdout
        .lines()
        .find(|l| l.starts_with("| 300 | 3 |"))
        .unwrap_or_else(|| panic!("no row for 3 stalled clients:\n{stdout}"));
    // rules, clients, opened in, RSS before, with them, peak, cut off.
    assert_eq!(row.matches(" MB ").count(), 3, "{row}");
    assert!(
        row.trim_end().ends_with("| 0 |"),
        "small answers cut nobody: {row}"
    );
}
