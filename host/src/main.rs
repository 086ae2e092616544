//! `iptables-exporter`: flags → logging → serve or render; results → exit codes.

use anyhow::Context as _;
use clap::Parser as _;
use exposition::Family;
use iptables_exporter::cli::{Cli, Command, DEFAULT_FAMILIES, LogArgs, LogFormat};
use iptables_exporter::command::{self, SaveCommand};
use iptables_exporter::signals::{self, Stop};
use iptables_exporter::{
    build_info, collect, load_sandbox, render, self_metrics, server, web_config,
};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing_subscriber::EnvFilter;

/// How long blocking work (a render in the sandbox) may go on once the
/// server has stopped; it is bounded by the sandbox deadline anyway.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    iptables_exporter::memory::large_allocations_get_pages_of_their_own();
    let cli = Cli::parse();
    if cli.version {
        print!("{}", build_info::version_text());
        return ExitCode::SUCCESS;
    }
    init_logging(&cli.log);
    if let Some(Command::Render(args)) = &cli.command {
        return render::run(args, &cli.input, &cli.sandbox, &cli.selection.selection());
    }
    match serve(&cli) {
        Ok(Stop::Graceful) => ExitCode::SUCCESS,
        Ok(Stop::Immediate) => ExitCode::FAILURE,
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

/// The families to collect, in order, with their save commands. A family
/// named in `--iptables.families` is always collected (its success is 0
/// while its command is missing, and the command is looked for again on
/// every scrape); of the default families, one whose command is not
/// installed is left out. Nothing left to collect is an error.
fn families(cli: &Cli) -> anyhow::Result<Vec<(Family, SaveCommand)>> {
    let args = &cli.serve;
    let named = args.families.as_ref().map(|f| f.0.as_slice());
    let mut families = Vec::new();
    for &family in named.unwrap_or(&DEFAULT_FAMILIES) {
        let configured = match family {
            Family::Ipv4 => &args.iptables_save_path,
            Family::Ipv6 => &args.ip6tables_save_path,
        };
        match command::resolve(configured) {
            Some(program) => {
                tracing::info!(%family, command = %program.display(), "collecting family");
            }
            None if named.is_some() => {
                tracing::warn!(%family, command = %configured.display(), "save command not found; iptables_scrape_success will be 0 until it is installed");
            }
            None => {
                tracing::warn!(%family, command = %configured.display(), "save command not found; family left out");
                continue;
            }
        }
        families.push((
            family,
            SaveCommand {
                program: configured.clone(),
                timeout: args.timeout,
                max_save_bytes: cli.input.max_save_bytes,
                tables: args.tables.clone().map(|t| t.0).unwrap_or_default(),
            },
        ));
    }
    anyhow::ensure!(
        !families.is_empty(),
        "no save command found ({} for ipv4, {} for ipv6): nothing to collect; install iptables, or name the families with --iptables.families to report them as failing",
        args.iptables_save_path.display(),
        args.ip6tables_save_path.display()
    );
    Ok(families)
}

/// Serves until asked to stop; returns how it was asked.
fn serve(cli: &Cli) -> anyhow::Result<Stop> {
    let started = Instant::now();
    let args = &cli.serve;
    tracing::info!(
        version = build_info::VERSION,
        revision = build_info::REVISION,
        "starting iptables-exporter"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let stop = {
        let _context = runtime.enter();
        signals::watch()
    };
    if nix::unistd::geteuid().is_root() {
        tracing::warn!(
            "running as root; the exporter needs only CAP_NET_ADMIN (and, for iptables-legacy, CAP_NET_RAW and CAP_DAC_READ_SEARCH; see deploy/iptables-exporter.service)"
        );
    }
    let web = web_config::Reloading::start(args.web_config_file.as_deref())
        .context("loading --web.config.file")?;
    let sandbox = load_sandbox(&cli.sandbox)?;
    tracing::info!(
        compile_seconds = started.elapsed().as_secs_f64(),
        "parser component loaded"
    );
    anyhow::ensure!(
        args.max_age > args.min_interval,
        "--iptables.max-age ({}) must be longer than --iptables.min-interval ({}): answers from the last collection would be too old to serve",
        humantime::format_duration(args.max_age),
        humantime::format_duration(args.min_interval)
    );
    let selection = cli.selection.selection();
    iptables_exporter::check_selection(&sandbox, &selection)
        .context("checking the series selection flags")?;
    let collector = Arc::new(collect::Collector::new(
        families(cli)?,
        Arc::new(sandbox),
        collect::Settings {
            chunk_bytes: collect::CHUNK_BYTES,
            freshness: collect::Freshness {
                min_interval: args.min_interval,
                max_age: args.max_age,
            },
            gzip_level: flate2::Compression::new(collect::GZIP_LEVEL),
            selection,
        },
    ));
    if args.enable_ruleset_endpoint {
        tracing::info!(
            path = "/analyzer/rulesets",
            "the ruleset endpoint is on: it serves every family's whole ruleset"
        );
    }
    let app = Arc::new(server::App {
        collector: collector.clone(),
        web: Arc::new(web),
        self_metrics: self_metrics::SelfMetrics::new()
            .context("registering the exporter's own metrics")?,
        telemetry_path: args.telemetry_path.clone(),
        openmetrics: !args.disable_openmetrics,
        ruleset_endpoint: args.enable_ruleset_endpoint,
        max_requests: (args.max_requests > 0)
            .then(|| Arc::new(tokio::sync::Semaphore::new(args.max_requests as usize))),
        header_timeout: args.header_timeout,
        write_timeout: args.write_timeout,
        timeout_offset: args.timeout_offset,
    });
    let stopped = runtime.block_on(async {
        let listener = bind(&args.listen_address).await?;
        // After binding, so that a port in use fails start-up before any
        // save command runs.
        collector.prime();
        tracing::info!(
            address = %listener.local_addr().context("reading the bound address")?,
            telemetry_path = %args.telemetry_path,
            tls = app.web.tls(),
            startup_seconds = started.elapsed().as_secs_f64(),
            "listening"
        );
        let graceful = signals::requested(stop.clone(), Stop::Graceful);
        tokio::select! {
            () = server::run(listener, app, graceful) => {}
            () = signals::requested(stop.clone(), Stop::Immediate) => {}
        }
        anyhow::Ok(stop.borrow().unwrap_or(Stop::Graceful))
    })?;
    // What still runs (a collection whose save command outlived the grace
    // period, connections still open) is dropped here, which kills the
    // process groups of its save commands.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    tracing::info!(?stopped, "stopped");
    Ok(stopped)
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
