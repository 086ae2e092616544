//! `iptables-exporter`: flags → logging → serve or render; results → exit codes.

use clap::Parser as _;
use iptables_exporter::cli::{Cli, Command, LogArgs, LogFormat};
use iptables_exporter::process::signals::Stop;
use iptables_exporter::process::{build_info, memory};
use iptables_exporter::{render, serve};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    memory::large_allocations_get_pages_of_their_own();
    let cli = Cli::parse();
    if cli.version {
        print!("{}", build_info::version_text());
        return ExitCode::SUCCESS;
    }
    init_logging(&cli.log);
    if let Some(Command::Render(args)) = &cli.command {
        let selections = render::Selections {
            iptables: &cli.selection.selection(),
            nftables: &cli.nft_selection.selection(),
            ipset: &cli.ipset.settings(),
        };
        return render::run(args, &cli.input, &cli.sandbox, &selections);
    }
    match serve::run(&cli) {
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
