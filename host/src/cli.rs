//! Flags, their help and defaults, and checks on their values; no I/O.

use clap::{Args, Parser, Subcommand, ValueEnum};
use parser_wasm::Family;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "iptables-exporter",
    version,
    about = "Prometheus exporter for iptables and ip6tables packet and byte counters.",
    long_about = "Prometheus exporter for iptables and ip6tables packet and byte counters.\n\nThe save output is parsed in a sandboxed WebAssembly component with no capabilities, a memory cap and a CPU deadline."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render one save dump through the component to stdout and exit.
    ///
    /// Malformed input: exit status 1, `line N: <what was expected>` on
    /// stderr and nothing on stdout.
    Render(RenderArgs),
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Family label of the dump.
    #[arg(long, value_enum, default_value_t = FamilyArg::Ipv4)]
    pub family: FamilyArg,
    /// The dump to read; `-` or nothing reads stdin.
    #[arg(value_name = "FILE|-")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    Ipv4,
    Ipv6,
}

impl From<FamilyArg> for Family {
    fn from(arg: FamilyArg) -> Self {
        match arg {
            FamilyArg::Ipv4 => Family::Ipv4,
            FamilyArg::Ipv6 => Family::Ipv6,
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on for HTTP; `:PORT` listens on every address.
    #[arg(
        long = "web.listen-address",
        value_name = "ADDR",
        default_value = ":9455"
    )]
    pub listen_address: String,
    /// Path under which to expose metrics.
    #[arg(long = "web.telemetry-path", value_name = "PATH", default_value = "/metrics", value_parser = parse_telemetry_path)]
    pub telemetry_path: String,
    /// Time a client has to send its request headers (slow clients are cut off).
    #[arg(long = "web.header-timeout", value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// Time a response may wait for a client that reads nothing before the connection is dropped.
    #[arg(long = "web.write-timeout", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub write_timeout: Duration,
    /// Maximum number of metrics requests served at once; more get 503 (0 for no limit).
    #[arg(long = "web.max-requests", value_name = "N", default_value_t = 40)]
    pub max_requests: usize,
    /// iptables-save command; a name is looked up in PATH.
    #[arg(
        long = "iptables.save-path",
        value_name = "PATH",
        default_value = "iptables-save"
    )]
    pub iptables_save_path: PathBuf,
    /// ip6tables-save command; a name is looked up in PATH.
    #[arg(
        long = "ip6tables.save-path",
        value_name = "PATH",
        default_value = "ip6tables-save"
    )]
    pub ip6tables_save_path: PathBuf,
    /// Families to collect, in this order; a family whose command is not
    /// installed is reported at start-up and left out.
    #[arg(long = "iptables.families", value_name = "LIST", default_value = "ipv4,ipv6", value_parser = parse_families)]
    pub families: Families,
    /// Time a save command may take before it is killed.
    #[arg(long = "iptables.timeout", value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Largest save output accepted, in bytes (suffixes KiB, MiB, GiB).
    #[arg(long = "iptables.max-output", value_name = "BYTES", default_value = "64MiB", value_parser = parse_bytes)]
    pub max_output_bytes: usize,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Parser component to load instead of the embedded one.
    #[arg(long = "component", value_name = "PATH", global = true)]
    pub component: Option<PathBuf>,
    /// Largest linear memory the parser component may use (suffixes KiB, MiB, GiB).
    #[arg(long = "sandbox.max-memory", value_name = "BYTES", default_value = "512MiB", value_parser = parse_bytes, global = true)]
    pub max_memory_bytes: usize,
    /// Most exposition text one render may produce (suffixes KiB, MiB, GiB).
    #[arg(long = "sandbox.max-output", value_name = "BYTES", default_value = "512MiB", value_parser = parse_bytes, global = true)]
    pub max_exposition_bytes: usize,
    /// Wall-clock time one render may run before the component is interrupted.
    #[arg(long = "sandbox.timeout", value_name = "DURATION", default_value = "10s", value_parser = parse_duration, global = true)]
    pub deadline: Duration,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only log messages with the given severity or above.
    #[arg(long = "log.level", value_name = "LEVEL", default_value = "info", value_parser = ["debug", "info", "warn", "error"], global = true)]
    pub level: String,
    /// Output format of log messages.
    #[arg(long = "log.format", value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines with key=value fields.
    Text,
    /// One JSON object per line.
    Json,
}

/// Families in the order configured, each at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Families(pub Vec<Family>);

fn parse_families(list: &str) -> Result<Families, String> {
    let mut families = Vec::new();
    for label in list.split(',').map(str::trim).filter(|l| !l.is_empty()) {
        let family = Family::from_label(label)
            .ok_or_else(|| format!("unknown family `{label}`: expected ipv4 or ipv6"))?;
        if families.contains(&family) {
            return Err(format!("family `{label}` given twice"));
        }
        families.push(family);
    }
    Ok(Families(families))
}

fn parse_telemetry_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err("must start with `/`".into());
    }
    if path == "/" {
        return Err("`/` is the landing page".into());
    }
    Ok(path.to_owned())
}

/// `500ms`, `10s`, `2m`, or a plain number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 500ms, 10s or 2m"))?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" => number * 60.0,
        _ => return Err(format!("unknown unit `{unit}` in `{text}`: use ms, s or m")),
    };
    let duration =
        Duration::try_from_secs_f64(seconds).map_err(|err| format!("`{text}`: {err}"))?;
    if duration.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(duration)
}

/// `4096`, `64KiB`, `64MiB`, `1GiB`.
fn parse_bytes(text: &str) -> Result<usize, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size like 4096, 64KiB or 64MiB"))?;
    let scale: usize = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{text}`: use KiB, MiB or GiB"
            ));
        }
    };
    let bytes = number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is too large"))?;
    if bytes == 0 {
        return Err("must be more than zero".into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_ones() {
        let cli = Cli::try_parse_from(["iptables-exporter"]).expect("defaults parse");
        assert!(cli.command.is_none());
        let s = &cli.serve;
        assert_eq!(s.listen_address, ":9455");
        assert_eq!(s.telemetry_path, "/metrics");
        assert_eq!(s.max_requests, 40);
        assert_eq!(s.header_timeout, Duration::from_secs(10));
        assert_eq!(s.write_timeout, Duration::from_secs(30));
        assert_eq!(s.iptables_save_path, PathBuf::from("iptables-save"));
        assert_eq!(s.ip6tables_save_path, PathBuf::from("ip6tables-save"));
        assert_eq!(s.families, Families(vec![Family::Ipv4, Family::Ipv6]));
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(s.max_output_bytes, 64 << 20);
        assert_eq!(cli.sandbox.max_memory_bytes, 512 << 20);
        assert_eq!(cli.sandbox.max_exposition_bytes, 512 << 20);
        assert_eq!(cli.sandbox.deadline, Duration::from_secs(10));
        assert_eq!(cli.log.level, "info");
    }

    #[test]
    fn render_subcommand() {
        let cli = Cli::try_parse_from(["iptables-exporter", "render", "--family", "ipv6", "-"])
            .expect("parses");
        let Some(Command::Render(args)) = cli.command else {
            panic!("not render")
        };
        assert_eq!(args.family, FamilyArg::Ipv6);
        assert_eq!(args.file, Some(PathBuf::from("-")));
    }

    #[test]
    fn families_keep_order_and_reject_unknown_or_repeated() {
        assert_eq!(
            parse_families("ipv6,ipv4"),
            Ok(Families(vec![Family::Ipv6, Family::Ipv4]))
        );
        assert_eq!(parse_families("ipv4"), Ok(Families(vec![Family::Ipv4])));
        assert!(parse_families("ipv4,ipv5").is_err());
        assert!(parse_families("ipv4,ipv4").is_err());
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["", "0s", "-1s", "10h", "abc"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        for bad in ["", "0", "64MB", "x", "99999999999999999999GiB"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn telemetry_path_must_be_absolute_and_not_the_landing_page() {
        assert!(parse_telemetry_path("/metrics").is_ok());
        assert!(parse_telemetry_path("metrics").is_err());
        assert!(parse_telemetry_path("/").is_err());
    }
}
