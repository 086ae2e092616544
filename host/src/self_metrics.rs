//! The exporter's own metrics: process metrics and `iptables_exporter_build_info`,
//! in a registry of their own.

use prometheus::process_collector::ProcessCollector;
use prometheus::{Encoder as _, IntGaugeVec, Opts, Registry, TextEncoder};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const RUSTC_VERSION: &str = env!("EXPORTER_RUSTC_VERSION");

pub struct SelfMetrics {
    registry: Registry,
}

impl SelfMetrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        registry.register(Box::new(ProcessCollector::for_self()))?;
        let build_info = IntGaugeVec::new(
            Opts::new(
                "iptables_exporter_build_info",
                "A metric with a constant '1' value labeled by version and the rustc version it was built with.",
            ),
            &["version", "rustc_version"],
        )?;
        build_info
            .with_label_values(&[VERSION, RUSTC_VERSION])
            .set(1);
        registry.register(Box::new(build_info))?;
        Ok(Self { registry })
    }

    /// Appends the metrics in the text format.
    pub fn write(&self, out: &mut String) {
        let mut buf = Vec::new();
        match TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            Ok(()) => out.push_str(&String::from_utf8_lossy(&buf)),
            Err(err) => tracing::error!(%err, "encoding the exporter's own metrics"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_info_and_process_metrics_are_present() {
        let mut out = String::new();
        SelfMetrics::new().expect("registry").write(&mut out);
        assert!(
            out.contains(&format!(
                "iptables_exporter_build_info{{rustc_version=\"{RUSTC_VERSION}\",version=\"{VERSION}\"}} 1"
            )),
            "{out}"
        );
        assert!(out.contains("process_resident_memory_bytes "), "{out}");
        assert!(out.contains("process_cpu_seconds_total "), "{out}");
    }
}
