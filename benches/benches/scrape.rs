//! A full scrape over HTTP: fake save command → host → component → hyper →
//! a loopback client, with the server running in this process.

use benches::{Family, generate};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use iptables_exporter::collect::{CHUNK_BYTES, Collector, Freshness, Settings};
use iptables_exporter::command::SaveCommand;
use iptables_exporter::sandbox::{EMBEDDED_COMPONENT, Limits, Sandbox, Selection};
use iptables_exporter::self_metrics::SelfMetrics;
use iptables_exporter::server::{self, App};
use iptables_exporter::web_config::Reloading;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

fn scrape(address: &str) -> usize {
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n").expect("request");
    let mut body = Vec::new();
    stream.read_to_end(&mut body).expect("response");
    assert!(body.starts_with(b"HTTP/1.0 200"), "not 200");
    body.len()
}

fn http_scrape(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile_dir();
    let mut group = c.benchmark_group("http scrape");
    group.sample_size(10);
    for rules in [1_000, 10_000, 100_000] {
        let dump = dir.join(format!("{rules}.rules"));
        let text = generate(rules, 7, Family::Ipv4);
        std::fs::write(&dump, &text).expect("dump");
        let save = dir.join(format!("save-{rules}"));
        std::fs::write(&save, format!("#!/bin/sh\nexec cat '{}'\n", dump.display()))
            .expect("script");
        std::fs::set_permissions(&save, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let limits = Limits {
            max_memory_bytes: 1 << 30,
            deadline: Duration::from_secs(60),
            max_exposition_bytes: 1 << 30,
        };
        let sandbox = Arc::new(Sandbox::new(EMBEDDED_COMPONENT, limits).expect("component"));
        let command = SaveCommand {
            program: save,
            timeout: Duration::from_secs(60),
            max_save_bytes: 1 << 30,
            tables: Vec::new(),
        };
        let app = Arc::new(App {
            collector: Arc::new(Collector::new(
                vec![(Family::Ipv4, command)],
                sandbox,
                Settings {
                    chunk_bytes: CHUNK_BYTES,
                    // Every scrape collects: this measures a whole scrape.
                    freshness: Freshness {
                        min_interval: Duration::ZERO,
                        max_age: Duration::from_secs(60),
                    },
                    gzip_level: flate_level(),
                    selection: Selection::ALL,
                },
            )),
            web: Arc::new(Reloading::start(None).expect("no web config")),
            self_metrics: SelfMetrics::new().expect("self metrics"),
            telemetry_path: "/metrics".into(),
            openmetrics: true,
            ruleset_endpoint: false,
            max_requests: None,
            header_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            timeout_offset: Duration::from_secs(1),
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = runtime.spawn(server::run(listener, app, async {
            let _ = stopped.await;
        }));
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(rules), |b| {
            b.iter(|| scrape(&address))
        });
        let _ = stop.send(());
        runtime.block_on(server).expect("server stops");
    }
    group.finish();
}

fn flate_level() -> flate2::Compression {
    flate2::Compression::new(iptables_exporter::collect::GZIP_LEVEL)
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("scrape-criterion-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

criterion_group!(benches, http_scrape);
criterion_main!(benches);
