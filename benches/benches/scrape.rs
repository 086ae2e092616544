//! A full scrape over HTTP: fake save command → host → component → hyper →
//! a loopback client, with the server running in this process.

use benches::{Family, generate};
use clap::Parser as _;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use iptables_exporter::cli::Cli;
use iptables_exporter::serve::Server;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt;

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
        // The server as the binary builds it from its flags. Every scrape
        // collects: this measures a whole scrape.
        let save = save.to_str().expect("temporary paths are UTF-8");
        let cli = Cli::try_parse_from([
            "iptables-exporter",
            "--iptables.families=ipv4",
            "--iptables.save-path",
            save,
            "--iptables.min-interval=0s",
            "--iptables.max-output=1GiB",
            "--sandbox.max-memory=1GiB",
            "--sandbox.max-output=1GiB",
            "--sandbox.timeout=60s",
            "--web.max-requests=0",
        ])
        .expect("flags");
        let server = Server::from_cli(&cli).expect("server");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = runtime.spawn(server.serve(listener, async {
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

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("scrape-criterion-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

criterion_group!(benches, http_scrape);
criterion_main!(benches);
