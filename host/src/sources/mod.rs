//! Sources: what the exporter runs or reads to learn the firewall's
//! counters, and nothing else (no parsing: their bytes go to the sandbox
//! as they are).
//!
//! - `command`: any command, bounded in time and output, in a process
//!   group of its own, killed with the exporter.
//! - `iptables`: iptables' and ip6tables' save commands, and which
//!   families to collect.
//!
//! - `nftables`: `nft -j list ruleset`, the native tables.
//! - `netlink`: nf_tables over netlink (the generation id, chain and rule
//!   dumps), iptables-nft's counters at the kernel's speed.
//!
//! - `ipset`: `ipset list -t`, and the members of the few sets that need
//!   them.

pub mod command;
pub mod ipset;
pub mod iptables;
pub mod netlink;
pub mod nftables;

pub use command::resolve;

use std::path::Path;

/// Whether a source whose program may be missing runs (`--collector.X`,
/// `--no-collector.X`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// Neither flag: collected when the program is installed, as the
    /// default iptables families are.
    IfInstalled,
    /// `--collector.X`: always collected; while the program is missing
    /// the source's success is 0.
    Named,
    /// `--no-collector.X`.
    Off,
}

impl Wanted {
    /// From `--collector.X` and `--no-collector.X` (the last given wins:
    /// clap unsets the other).
    pub fn from_flags(named: bool, off: bool) -> Self {
        match (named, off) {
            (_, true) => Wanted::Off,
            (true, false) => Wanted::Named,
            (false, false) => Wanted::IfInstalled,
        }
    }
}

/// Whether `source` runs, as `wanted` says and as `program` is found or
/// not; logs the choice (`running` says what it does when it runs).
pub fn enabled(wanted: Wanted, program: &Path, source: &str, running: &str) -> bool {
    let found = resolve(program);
    let program = program.display();
    match (wanted, found) {
        (Wanted::Off, _) => {
            tracing::info!("{source} source off (--no-collector.{source})");
            false
        }
        (_, Some(path)) => {
            tracing::info!(command = %path.display(), "{running}");
            true
        }
        (Wanted::Named, None) => {
            tracing::warn!(command = %program, "{source}: command not found; {source}_scrape_success will be 0 until it is installed");
            true
        }
        (Wanted::IfInstalled, None) => {
            tracing::info!(command = %program, "{source}: command not found; source left out");
            false
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    /// An executable shell script, deleted when dropped.
    pub fn script(body: &str) -> tempfile::TempPath {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(file, "#!/bin/sh\n{body}").expect("write script");
        let path = file.into_temp_path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }
}
