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
//! A new source (`ipset list -t`) is a module beside these, running its
//! commands through `command`.

pub mod command;
pub mod iptables;
pub mod netlink;
pub mod nftables;

pub use command::resolve;

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
