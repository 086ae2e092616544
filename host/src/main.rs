//! `iptables-exporter`: flags → logging → serve or render; results → exit codes.

use anyhow::Context as _;
use clap::Parser as _;
use iptables_exporter::cli::{Cli, Command, LogArgs, LogFormat, SandboxArgs, ServeArgs};
use iptables_exporter::{collect, command, load_sandbox, render, self_metrics, server, signals};
use parser_wasm::Family;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log);
    if let Some(Command::Render(args)) = &cli.command {
        return render::run(args, &cli.sandbox);
    }
    match serve(&cli.serve, &cli.sandbox) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(err = format!("{err:#}"), "exiting");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(args: &LogArgs) {
    let filter = EnvFilter::new(format!("{},wasmtime=warn,cranelift=warn", args.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match args.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The save commands of the configured families that are installed.
fn installed_families(args: &ServeArgs) -> Vec<(Family, command::SaveCommand)> {
    args.families
        .0
        .iter()
        .filter_map(|&family| {
            let configured = match family {
                Family::Ipv4 => &args.iptables_save_path,
                Family::Ipv6 => &args.ip6tables_save_path,
            };
            let Some(program) = command::resolve(configured) else {
                tracing::warn!(%family, command = %configured.display(), "save command not found; family left out");
                return None;
            };
            tracing::info!(%family, command = %program.display(), "collecting family");
            Some((
                family,
                command::SaveCommand {
                    program,
                    timeout: args.timeout,
                    max_output_bytes: args.max_output_bytes,
                },
            ))
        })
        .collect()
}

fn serve(args: &ServeArgs, sandbox_args: &SandboxArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    tracing::info!(
        version = self_metrics::VERSION,
        "starting iptables-exporter"
    );
    if nix::unistd::geteuid().is_root() {
        tracing::warn!(
            "running as root; the exporter needs only CAP_NET_ADMIN and CAP_NET_RAW (see deploy/iptables-exporter.service)"
        );
    }
    let sandbox = load_sandbox(sandbox_args)?;
    tracing::info!(
        compile_seconds = started.elapsed().as_secs_f64(),
        "parser component loaded"
    );
    let families = installed_families(args);
    let app = Arc::new(server::App {
        collector: Arc::new(collect::Collector::new(
            families,
            Arc::new(sandbox),
            collect::CHUNK_BYTES,
        )),
        self_metrics: self_metrics::SelfMetrics::new()
            .context("registering the exporter's own metrics")?,
        telemetry_path: args.telemetry_path.clone(),
        max_requests: (args.max_requests > 0)
            .then(|| Arc::new(tokio::sync::Semaphore::new(args.max_requests))),
        gzip_level: flate2::Compression::new(server::GZIP_LEVEL),
        header_timeout: args.header_timeout,
        write_timeout: args.write_timeout,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = bind(&args.listen_address).await?;
        tracing::info!(
            address = %listener.local_addr().context("reading the bound address")?,
            telemetry_path = %args.telemetry_path,
            startup_seconds = started.elapsed().as_secs_f64(),
            "listening"
        );
        server::run(listener, app, signals::shutdown()).await;
        Ok(())
    })
}

/// Binds `HOST:PORT`, or every address for `:PORT` (IPv6 and IPv4 where the
/// host has IPv6, IPv4 only otherwise).
async fn bind(address: &str) -> anyhow::Result<tokio::net::TcpListener> {
    use tokio::net::TcpListener;
    if let Some(port) = address.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .with_context(|| format!("bad port in listen address `{address}`"))?;
        if let Ok(listener) = TcpListener::bind(("::", port)).await {
            return Ok(listener);
        }
        return TcpListener::bind(("0.0.0.0", port))
            .await
            .with_context(|| format!("listening on {address}"));
    }
    TcpListener::bind(address)
        .await
        .with_context(|| format!("listening on {address}"))
}
