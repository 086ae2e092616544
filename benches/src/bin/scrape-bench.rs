//! End-to-end scrape benchmark: starts the release exporter with a fake save
//! command that prints a generated dump, scrapes it over loopback in rounds of
//! 1, 4 and 16 simultaneous scrapes, and prints a Markdown table: latency (median,
//! p90), response bytes (plain, gzip), the exporter's peak RSS (VmHWM) per
//! level, and the time `cat` takes to print the same dump (the floor).
//!
//! `cargo run --release -p benches --bin scrape-bench -- --rules 1000,10000,100000`

use clap::Parser;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Rule counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    rules: Vec<usize>,
    /// Scrapes per client at each concurrency level.
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// Concurrency levels, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    clients: Vec<usize>,
    /// The exporter binary.
    #[arg(long, default_value = "target/release/iptables-exporter")]
    exporter: PathBuf,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Instead of rounds: a load test of this many requests in all, sent by
    /// `--load-clients` clients in a closed loop (each sends its next request
    /// when the last one is answered). Exits non-zero on any error.
    #[arg(long)]
    load: Option<usize>,
    #[arg(long, default_value_t = 8)]
    load_clients: usize,
}

struct Exporter {
    child: Child,
    address: String,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(exporter: &Path, save: &Path, log: &Path) -> Exporter {
    let child = Command::new(exporter)
        .arg(format!("--iptables.save-path={}", save.display()))
        .args([
            "--iptables.families=ipv4",
            "--web.listen-address=127.0.0.1:0",
            "--web.max-requests=0",
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("exporter starts");
    // Killed and reaped on drop, whatever happens below.
    let mut exporter = Exporter {
        child,
        address: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(address) = text
            .lines()
            .find(|l| l.contains("listening"))
            .and_then(|l| l.split("address=").nth(1))
            .and_then(|r| r.split_whitespace().next())
        {
            exporter.address = address.to_owned();
            return exporter;
        }
        assert!(Instant::now() < deadline, "exporter did not start:\n{text}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One scrape; returns (latency, body bytes), or what went wrong.
fn try_scrape(address: &str, gzip: bool) -> Result<(Duration, usize), String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).map_err(|e| format!("connect: {e}"))?;
    let encoding = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "GET /metrics HTTP/1.0\r\nHost: bench\r\n{encoding}\r\n"
    )
    .map_err(|e| format!("request: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| format!("response: {e}"))?;
    let elapsed = started.elapsed();
    let head = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    if !(response.starts_with(b"HTTP/1.0 200") || response.starts_with(b"HTTP/1.1 200")) {
        return Err(String::from_utf8_lossy(&response[..head]).into_owned());
    }
    if !response.ends_with(b"\n") {
        return Err("truncated body".into());
    }
    Ok((elapsed, response.len() - head - 4))
}

fn scrape(address: &str, gzip: bool) -> (Duration, usize) {
    try_scrape(address, gzip).unwrap_or_else(|err| panic!("scrape failed: {err}"))
}

/// `requests` scrapes by `clients` clients in a closed loop; prints a table
/// row and returns the number of errors.
fn load_test(exporter: &Exporter, rules: usize, requests: usize, clients: usize) -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let pid = exporter.child.id();
    reset_hwm(pid);
    let issued = AtomicUsize::new(0);
    let started = Instant::now();
    let results: Vec<Result<(Duration, usize), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    while issued.fetch_add(1, Ordering::Relaxed) < requests {
                        mine.push(try_scrape(&exporter.address, false));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client"))
            .collect()
    });
    let wall = started.elapsed();
    let mut latencies: Vec<Duration> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|(d, _)| *d))
        .collect();
    latencies.sort();
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    for err in errors.iter().take(3) {
        eprintln!("error: {err}");
    }
    let (median, p90) = if latencies.is_empty() {
        ("-".to_owned(), "-".to_owned())
    } else {
        (
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.9)),
        )
    };
    println!(
        "| {rules} | {clients} | {requests} | {:.1} s | {:.1}/s | {median} | {p90} | {} | {:.0} MB |",
        wall.as_secs_f64(),
        requests as f64 / wall.as_secs_f64(),
        errors.len(),
        vm_hwm_kib(pid) as f64 / 1024.0,
    );
    errors.len()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM")
}

fn reset_hwm(pid: u32) {
    // Writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("clear_refs");
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("scrape-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    if args.load.is_some() {
        println!(
            "| rules | clients | requests | wall | throughput | median | p90 | errors | peak RSS (VmHWM) |"
        );
    } else {
        println!(
            "| rules | dump | clients | median | p90 | response (plain) | response (gzip) | peak RSS (VmHWM) | `cat` of the dump |"
        );
    }
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut errors = 0;
    for &rules in &args.rules {
        let dump = dir.join(format!("{rules}.rules"));
        std::fs::write(
            &dump,
            benches::generate(rules, args.seed, benches::Family::Ipv4),
        )
        .expect("dump");
        let save = dir.join("save");
        std::fs::write(&save, format!("#!/bin/sh\nexec cat '{}'\n", dump.display()))
            .expect("script");
        std::fs::set_permissions(&save, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let mut cat_times: Vec<Duration> = (0..10)
            .map(|_| {
                let started = Instant::now();
                let status = Command::new("cat")
                    .arg(&dump)
                    .stdout(Stdio::null())
                    .status()
                    .expect("cat");
                assert!(status.success());
                started.elapsed()
            })
            .collect();
        cat_times.sort();
        let exporter = start(&args.exporter, &save, &dir.join("log"));
        if let Some(requests) = args.load {
            errors += load_test(&exporter, rules, requests, args.load_clients);
            continue;
        }
        let pid = exporter.child.id();
        let (_, plain_bytes) = scrape(&exporter.address, false);
        let (_, gzip_bytes) = scrape(&exporter.address, true);
        for &clients in &args.clients {
            reset_hwm(pid);
            let mut latencies: Vec<Duration> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..clients)
                    .map(|_| {
                        scope.spawn(|| {
                            (0..args.rounds)
                                .map(|_| scrape(&exporter.address, false).0)
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("client"))
                    .collect()
            });
            latencies.sort();
            println!(
                "| {rules} | {:.1} MB | {clients} | {} | {} | {:.1} MB | {:.1} MB | {:.0} MB | {} |",
                std::fs::metadata(&dump).expect("dump").len() as f64 / 1e6,
                ms(percentile(&latencies, 0.5)),
                ms(percentile(&latencies, 0.9)),
                plain_bytes as f64 / 1e6,
                gzip_bytes as f64 / 1e6,
                vm_hwm_kib(pid) as f64 / 1024.0,
                ms(percentile(&cat_times, 0.5)),
            );
        }
        drop(exporter);
    }
    let _ = std::fs::remove_dir_all(&dir);
    if errors == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!("{errors} requests failed");
        std::process::ExitCode::FAILURE
    }
}
