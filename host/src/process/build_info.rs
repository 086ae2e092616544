//! What this binary is: version, commit, build date and compiler, for
//! `--version`, the landing page and `iptables_exporter_build_info`.

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit built, or `unknown` (see `build.rs`).
pub const REVISION: &str = env!("EXPORTER_REVISION");
/// `YYYYMMDD-HH:MM:SS`, UTC.
pub const BUILD_DATE: &str = env!("EXPORTER_BUILD_DATE");
pub const RUSTC_VERSION: &str = env!("EXPORTER_RUSTC_VERSION");
/// The target triple built for.
pub const PLATFORM: &str = env!("EXPORTER_TARGET");

/// `--version`, laid out as node_exporter and the other Prometheus
/// exporters print it.
pub fn version_text() -> String {
    format!(
        "iptables-exporter, version {VERSION} (revision: {REVISION})\n  build date:       {BUILD_DATE}\n  rustc version:    {RUSTC_VERSION}\n  platform:         {PLATFORM}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_text_names_every_part() {
        let text = version_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!("iptables-exporter, version {VERSION} (revision: {REVISION})")
        );
        for (at, label) in ["build date:", "rustc version:", "platform:"]
            .iter()
            .enumerate()
        {
            assert!(lines[at + 1].trim_start().starts_with(label), "{text}");
        }
        assert_eq!(BUILD_DATE.len(), "20261201-01:40:00".len(), "{BUILD_DATE}");
        assert!(RUSTC_VERSION.starts_with("1."), "{RUSTC_VERSION}");
    }
}
