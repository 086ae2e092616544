//! End-to-end scrape benchmark: starts the release exporter with a fake save
//! command that prints a generated dump, scrapes it over loopback in rounds of
//! 1, 4 and 16 simultaneous scrapes (each round's scrapes released together
//! by a barrier), and prints a Markdown table: latency (median, p90),
//! response bytes (plain, gzip), the exporter's peak RSS (VmHWM) per level
//! and its RSS at rest after it, and the time `cat` takes to print the
//! same dump (the floor). `--stalled N` instead opens N clients that never
//! read their answer and reports what the exporter holds for them.
//!
//! Every response is checked: a status other than 200, a chunked body
//! without its end (an aborted response), a gzip stream that does not decode
//! or an `iptables_scrape_success` other than 1 is an error; any error makes
//! the run exit non-zero.
//!
//! `cargo run --release -p benches --bin scrape-bench -- --rules 1000,10000,100000`

use clap::Parser;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Barrier;
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
    /// Encodings to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "plain,gzip")]
    encodings: Vec<Encoding>,
    /// Also draw the cost of one scrape by size (latency, CPU, peak RSS)
    /// into this SVG file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Instead of rounds: open this many clients that send a scrape and
    /// never read the answer, one after another, and report what the
    /// exporter holds for them.
    #[arg(long)]
    stalled: Option<usize>,
    /// With --stalled: milliseconds between two stalled clients (0: one
    /// right after the other).
    #[arg(long, default_value_t = 0)]
    stalled_every: u64,
    /// The exporter's --iptables.min-interval (0s: every scrape collects).
    #[arg(long, default_value = "0s")]
    min_interval: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Encoding {
    Plain,
    Gzip,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Plain => "plain",
            Encoding::Gzip => "gzip",
        }
    }
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

fn start(exporter: &Path, save: &Path, log: &Path, min_interval: &str) -> Exporter {
    let child = Command::new(exporter)
        .arg(format!("--iptables.save-path={}", save.display()))
        .args([
            "--iptables.families=ipv4",
            "--web.listen-address=127.0.0.1:0",
            "--web.max-requests=0",
        ])
        // 0s by default: every round collects, so that this measures whole
        // scrapes, not answers from the last collection.
        .arg(format!("--iptables.min-interval={min_interval}"))
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

/// One scrape over HTTP/1.1 (chunked, so that an aborted response shows);
/// returns (latency, body bytes as sent), or what was wrong with it.
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
        "GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n{encoding}\r\n"
    )
    .map_err(|e| format!("request: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| format!("response: {e}"))?;
    let elapsed = started.elapsed();
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = String::from_utf8_lossy(&response[..head_end]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 200") {
        return Err(head);
    }
    let sent = &response[head_end + 4..];
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(sent)?
    } else {
        return Err("not chunked: a cut body could not be told from a whole one".into());
    };
    let text = if head.contains("content-encoding: gzip") {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut text)
            .map_err(|e| format!("gzip: {e}"))?;
        text
    } else {
        body
    };
    let text = String::from_utf8(text).map_err(|e| format!("not UTF-8: {e}"))?;
    if !text.contains("\niptables_scrape_success{family=\"ipv4\"} 1\n") {
        return Err("iptables_scrape_success is not 1".into());
    }
    Ok((elapsed, sent.len()))
}

/// The body of a chunked response; an error unless it ends with the last
/// (empty) chunk.
fn dechunk(mut sent: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = sent
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated body (aborted response)")?;
        let size = std::str::from_utf8(&sent[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
            .ok_or("bad chunk size")?;
        sent = &sent[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if sent.len() < size + 2 {
            return Err("truncated body (aborted response)".into());
        }
        body.extend_from_slice(&sent[..size]);
        sent = &sent[size + 2..];
    }
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
    status_kib(pid, "VmHWM:")
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

/// Resident memory once the exporter is at rest after scrapes: read until
/// two readings 200 ms apart agree (it gives memory back as the last
/// answer's readers go), 5 s at most.
fn rss_at_rest_mb(pid: u32) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = status_kib(pid, "VmRSS:");
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let now = status_kib(pid, "VmRSS:");
        if now == last || Instant::now() > deadline {
            return now as f64 / 1024.0;
        }
        last = now;
    }
}

/// Opens `count` clients that send a scrape and never read the answer,
/// one after another (each once its answer has started), and prints what
/// the exporter holds then; returns the clients, to be dropped later.
fn stall(
    exporter: &Exporter,
    rules: usize,
    count: usize,
    every: Duration,
    log: &Path,
) -> Vec<TcpStream> {
    let pid = exporter.child.id();
    let before = status_kib(pid, "VmRSS:") as f64 / 1024.0;
    reset_hwm(pid);
    let started = Instant::now();
    let clients: Vec<TcpStream> = (0..count)
        .map(|i| {
            if i > 0 {
                std::thread::sleep(every);
            }
            let mut stream = TcpStream::connect(&exporter.address).expect("connect");
            stream
                .write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
                .expect("request");
            let mut head = [0u8; 12];
            stream.read_exact(&mut head).expect("status line");
            stream
        })
        .collect();
    let opened = started.elapsed();
    let held = rss_at_rest_mb(pid);
    // Clients cut off to keep what is held for slow readers bounded.
    let cut: usize = std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("cut off clients reading an older answer"))
        .filter_map(|l| {
            l.split("clients=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum();
    println!(
        "| {rules} | {count} | {:.1} s | {before:.0} MB | {held:.0} MB | {:.0} MB | {cut} |",
        opened.as_secs_f64(),
        vm_hwm_kib(pid) as f64 / 1024.0,
    );
    clients
}

fn reset_hwm(pid: u32) {
    // Writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("clear_refs");
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// CPU time the process has used so far (user + system, its own threads
/// only: not the fake save command), from `/proc/PID/stat` in clock ticks
/// of 10 ms (USER_HZ is 100 on Linux).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields[11..13]
        .iter()
        .map(|f| f.parse::<u64>().expect("ticks"))
        .sum();
    ticks as f64 / 100.0
}

/// One measured level: `rounds` rounds of `clients` simultaneous scrapes.
struct Level {
    rules: usize,
    clients: usize,
    encoding: Encoding,
    median: Duration,
    p90: Duration,
    cpu_per_scrape: f64,
    /// Bytes of a response as sent (compressed, chunked).
    body_bytes: usize,
    peak_rss_mb: f64,
    /// Resident memory once the level's scrapes are done.
    rest_rss_mb: f64,
}

fn measure(
    exporter: &Exporter,
    rules: usize,
    clients: usize,
    encoding: Encoding,
    rounds: usize,
    errors: &mut usize,
) -> Option<Level> {
    let pid = exporter.child.id();
    reset_hwm(pid);
    let cpu_before = cpu_seconds(pid);
    // Each round, the clients start together, as several Prometheus
    // servers scraping one node on the same schedule would.
    let barrier = Barrier::new(clients);
    let results: Vec<Result<(Duration, usize), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| {
                    (0..rounds)
                        .map(|_| {
                            barrier.wait();
                            try_scrape(&exporter.address, encoding == Encoding::Gzip)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client"))
            .collect()
    });
    let cpu = cpu_seconds(pid) - cpu_before;
    let scrapes = results.len();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut body_bytes = 0;
    for result in results {
        match result {
            Ok((latency, bytes)) => {
                latencies.push(latency);
                body_bytes = bytes;
            }
            Err(err) => {
                eprintln!("error: {err}");
                *errors += 1;
            }
        }
    }
    if latencies.is_empty() {
        return None;
    }
    latencies.sort();
    Some(Level {
        rules,
        clients,
        encoding,
        median: percentile(&latencies, 0.5),
        p90: percentile(&latencies, 0.9),
        cpu_per_scrape: cpu / scrapes as f64,
        body_bytes,
        peak_rss_mb: vm_hwm_kib(pid) as f64 / 1024.0,
        rest_rss_mb: rss_at_rest_mb(pid),
    })
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("scrape-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    if args.load.is_some() {
        println!(
            "| rules | clients | requests | wall | throughput | median | p90 | errors | peak RSS (VmHWM) |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
    } else if args.stalled.is_some() {
        println!(
            "| rules | stalled clients | opened in | RSS before | RSS with them | peak RSS | cut off |"
        );
        println!("|---|---|---|---|---|---|---|");
    } else {
        println!(
            "| rules | dump | clients | encoding | median | p90 | CPU per scrape | response | peak RSS (VmHWM) | RSS at rest | `cat` of the dump |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
    }
    let mut errors = 0;
    let mut levels = Vec::new();
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
        let log = dir.join("log");
        let exporter = start(&args.exporter, &save, &log, &args.min_interval);
        if let Some(requests) = args.load {
            errors += load_test(&exporter, rules, requests, args.load_clients);
            continue;
        }
        if let Some(count) = args.stalled {
            // A scrape first, so that "before" is the exporter at rest.
            if let Err(err) = try_scrape(&exporter.address, false) {
                eprintln!("error: {err}");
                errors += 1;
            }
            let every = Duration::from_millis(args.stalled_every);
            let clients = stall(&exporter, rules, count, every, &log);
            // Still served meanwhile.
            if let Err(err) = try_scrape(&exporter.address, true) {
                eprintln!("error while clients stall: {err}");
                errors += 1;
            }
            drop(clients);
            continue;
        }
        let dump_mb = std::fs::metadata(&dump).expect("dump").len() as f64 / 1e6;
        for &encoding in &args.encodings {
            for &clients in &args.clients {
                let Some(level) = measure(
                    &exporter,
                    rules,
                    clients,
                    encoding,
                    args.rounds,
                    &mut errors,
                ) else {
                    continue;
                };
                println!(
                    "| {rules} | {dump_mb:.1} MB | {clients} | {} | {} | {} | {:.3} s | {:.1} MB | {:.0} MB | {:.0} MB | {} |",
                    encoding.name(),
                    ms(level.median),
                    ms(level.p90),
                    level.cpu_per_scrape,
                    level.body_bytes as f64 / 1e6,
                    level.peak_rss_mb,
                    level.rest_rss_mb,
                    ms(percentile(&cat_times, 0.5)),
                );
                levels.push(level);
            }
        }
        drop(exporter);
    }
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(path) = &args.plot {
        let curves = cost_curves(&levels);
        std::fs::write(path, benches::plot::svg(&curves)).expect("plot written");
        eprintln!("plot written to {}", path.display());
    }
    if errors == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!("{errors} requests failed");
        std::process::ExitCode::FAILURE
    }
}

/// The cost of one scrape at a time by size: latency and CPU for each
/// encoding, and peak memory.
fn cost_curves(levels: &[Level]) -> Vec<benches::plot::Chart> {
    use benches::plot::{Chart, Series};
    let alone: Vec<&Level> = levels.iter().filter(|l| l.clients == 1).collect();
    let series = |name: String, value: &dyn Fn(&Level) -> f64, encoding: Encoding| Series {
        name,
        points: alone
            .iter()
            .filter(|l| l.encoding == encoding)
            .map(|l| (l.rules as f64, value(l)))
            .collect(),
    };
    let mut time = Vec::new();
    let mut memory = Vec::new();
    for encoding in [Encoding::Plain, Encoding::Gzip] {
        let name = encoding.name();
        time.push(series(
            format!("latency, {name}"),
            &|l| l.median.as_secs_f64(),
            encoding,
        ));
        time.push(series(
            format!("CPU, {name}"),
            &|l| l.cpu_per_scrape,
            encoding,
        ));
        memory.push(series(
            format!("peak RSS, {name}"),
            &|l| l.peak_rss_mb,
            encoding,
        ));
    }
    vec![
        Chart {
            title: "one scrape: median latency and exporter CPU (s)".into(),
            series: time.into_iter().filter(|s| !s.points.is_empty()).collect(),
        },
        Chart {
            title: "peak RSS of the exporter (MB)".into(),
            series: memory
                .into_iter()
                .filter(|s| !s.points.is_empty())
                .collect(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `response` once on a loopback port and returns the address.
    fn serve_once(response: Vec<u8>) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            // The whole request, so that closing does not reset the connection.
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).expect("read") == 1 {
                request.push(byte[0]);
            }
            stream.write_all(&response).expect("write");
        });
        address
    }

    /// A chunked 200 response carrying `success`, whole or cut before its end.
    fn response(success: u8, whole: bool) -> Vec<u8> {
        let body = format!("# x\niptables_scrape_success{{family=\"ipv4\"}} {success}\n");
        let end = if whole { "0\r\n\r\n" } else { "" };
        format!(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n{end}",
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn only_whole_successful_responses_count() {
        let ok = try_scrape(&serve_once(response(1, true)), false);
        assert!(ok.is_ok(), "{ok:?}");
        let err = try_scrape(&serve_once(response(1, false)), false).expect_err("aborted");
        assert!(err.contains("aborted"), "{err}");
        let err = try_scrape(&serve_once(response(0, true)), false).expect_err("success 0");
        assert!(err.contains("not 1"), "{err}");
        let unchunked =
            b"HTTP/1.1 200 OK\r\n\r\n# x\niptables_scrape_success{family=\"ipv4\"} 1\n".to_vec();
        assert!(try_scrape(&serve_once(unchunked), false).is_err());
    }
}
