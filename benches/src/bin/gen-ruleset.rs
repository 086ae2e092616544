//! Prints a generated `iptables-save -c` dump:
//! `cargo run -p benches --bin gen-ruleset -- --rules 100000 --seed 7 --family ipv4`

use benches::{Family, generate};
use clap::Parser;
use std::io::Write as _;

#[derive(Parser)]
#[command(about = "Prints a realistic, reproducible iptables-save -c dump")]
struct Args {
    /// Rule lines to generate (at least this many, a few more at most).
    #[arg(long, default_value_t = 1000)]
    rules: usize,
    /// Seed: the same seed prints the same dump.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// ipv4 or ipv6.
    #[arg(long, default_value = "ipv4", value_parser = parse_family)]
    family: Family,
}

fn parse_family(label: &str) -> Result<Family, String> {
    Family::from_label(label).ok_or_else(|| format!("`{label}`: expected ipv4 or ipv6"))
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let dump = generate(args.rules, args.seed, args.family);
    match std::io::stdout().lock().write_all(dump.as_bytes()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
