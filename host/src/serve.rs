//! The `serve` command (what the binary does without a subcommand): the
//! flags turned into the rooms, wired together, and served until a signal.

use crate::answers;
use crate::cli::Cli;
use crate::collection::{Collector, IpsetSource, Refresher};
use crate::http::{self, App, web_config};
use crate::process::signals::{self, Stop};
use crate::process::{build_info, self_metrics::SelfMetrics};
use crate::sandbox::PIECE_BYTES;
use crate::sources::{ipset, iptables, nftables};
use anyhow::Context as _;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// How long blocking work (a render in the sandbox) may go on once the
/// server has stopped; it is bounded by the sandbox deadline anyway.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(1);

/// Everything the server needs, built from the flags, before it listens.
pub struct Server {
    app: Arc<App>,
}

impl Server {
    /// Loads `--web.config.file` and the component, checks the flags the
    /// component and the collections take, and finds the save commands.
    /// Needs no runtime; runs no command.
    pub fn from_cli(cli: &Cli) -> anyhow::Result<Self> {
        let args = &cli.serve;
        let web = web_config::Reloading::start(args.web_config_file.as_deref())
            .context("loading --web.config.file")?;
        let compiling = Instant::now();
        let sandbox = crate::load_sandbox(cli.sandbox.component.as_deref(), cli.sandbox.limits())?;
        tracing::info!(
            compile_seconds = compiling.elapsed().as_secs_f64(),
            "parser component loaded"
        );
        anyhow::ensure!(
            args.max_age > args.min_interval,
            "--iptables.max-age ({}) must be longer than --iptables.min-interval ({}): answers from the last collection would be too old to serve",
            humantime::format_duration(args.max_age),
            humantime::format_duration(args.min_interval)
        );
        let selection = cli.selection.selection();
        crate::check_selection(&sandbox, "iptables", &selection)
            .context("checking the series selection flags")?;
        let nft_selection = cli.nft_selection.selection();
        crate::check_selection(&sandbox, "nftables", &nft_selection)
            .context("checking the nftables series selection flags")?;
        let ipset_settings = cli.ipset.settings();
        sandbox
            .ipset_member_listings(b"", &ipset_settings)
            .context("checking --ipset.set-include and --ipset.set-exclude")?;
        let nft_config = cli.nftables.config();
        let nftables = nftables::command(&nft_config);
        let ipset = ipset::command(&cli.ipset.config()).map(|command| IpsetSource {
            command,
            settings: ipset_settings.clone(),
        });
        let families = match iptables::families(&args.iptables(&cli.input)) {
            Ok(families) => families,
            // nft or ipset alone is something to collect.
            Err(nothing) if nftables.is_some() || ipset.is_some() => {
                tracing::warn!(%nothing, "collecting no iptables family");
                Vec::new()
            }
            Err(nothing) => return Err(nothing.into()),
        };
        let sandbox = Arc::new(sandbox);
        let refresher = Refresher::new(
            sandbox.clone(),
            args.netlink == crate::cli::NetlinkMode::Auto,
        )
        .context("registering the collection counters")?;
        let collections = refresher.methods();
        let collector = Collector::new(
            families,
            Arc::new(refresher),
            nftables,
            ipset,
            sandbox,
            args.freshness(),
            answers::Settings {
                piece_bytes: PIECE_BYTES,
                gzip_level: flate2::Compression::new(answers::GZIP_LEVEL),
                selection,
                nft_selection,
                set_elements: nft_config.set_elements,
                ipset: ipset_settings,
                max_age: args.max_age,
            },
        );
        if args.enable_ruleset_endpoint {
            tracing::info!(
                path = "/analyzer/rulesets",
                "the ruleset endpoint is on: it serves every family's whole ruleset"
            );
        }
        let app = App {
            collector: Arc::new(collector),
            web: Arc::new(web),
            self_metrics: SelfMetrics::new()
                .and_then(|metrics| metrics.with(Box::new(collections)))
                .context("registering the exporter's own metrics")?,
            telemetry_path: args.telemetry_path.clone(),
            openmetrics: !args.disable_openmetrics,
            ruleset_endpoint: args.enable_ruleset_endpoint,
            max_requests: (args.max_requests > 0)
                .then(|| Arc::new(tokio::sync::Semaphore::new(args.max_requests as usize))),
            header_timeout: args.header_timeout,
            write_timeout: args.write_timeout,
            timeout_offset: args.timeout_offset,
        };
        Ok(Self { app: Arc::new(app) })
    }

    /// Starts the first collection and serves `listener` until `shutdown`
    /// resolves, then lets requests in flight finish (at most
    /// [`http::SHUTDOWN_GRACE`]).
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        // After binding, so that a port in use fails start-up before any
        // save command runs.
        self.app.collector.prime();
        http::run(listener, self.app, shutdown).await;
    }

    /// Whether the server speaks HTTPS.
    pub fn tls(&self) -> bool {
        self.app.web.tls()
    }
}

/// Serves until asked to stop; returns how it was asked.
pub fn run(cli: &Cli) -> anyhow::Result<Stop> {
    let started = Instant::now();
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
    if let Some(reason) = crate::http::analyzer::NOT_BUILT {
        tracing::warn!(
            reason,
            "the analyzer page is not in this build: /analyzer/ says how to build it (cd web && npm ci && npm run build, then cargo build)"
        );
    }
    let server = Server::from_cli(cli)?;
    let args = &cli.serve;
    let stopped = runtime.block_on(async {
        let listener = bind(&args.listen_address).await?;
        tracing::info!(
            address = %listener.local_addr().context("reading the bound address")?,
            telemetry_path = %args.telemetry_path,
            tls = server.tls(),
            startup_seconds = started.elapsed().as_secs_f64(),
            "listening"
        );
        let graceful = signals::requested(stop.clone(), Stop::Graceful);
        tokio::select! {
            () = server.serve(listener, graceful) => {}
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
pub async fn bind(address: &str) -> anyhow::Result<TcpListener> {
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
