//! The exporter's own metrics: process metrics and
//! `iptables_exporter_build_info`, in a registry of their own, written by
//! the same writer as every other series, in the format of the response.
//!
//! The process metrics are collected here rather than by the `prometheus`
//! crate's `ProcessCollector`, which reports CPU time and start time in
//! whole seconds; these have the fractions node_exporter's have.

use exposition::{Format, Kind, Metric, MetricWriter};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{MetricFamily, MetricType};
use prometheus::{Counter, Gauge, IntGaugeVec, Opts, Registry};

use crate::process::build_info::{REVISION, RUSTC_VERSION, VERSION};

pub struct SelfMetrics {
    registry: Registry,
}

impl SelfMetrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        registry.register(Box::new(ProcessMetrics::new()?))?;
        let build_info = IntGaugeVec::new(
            Opts::new(
                "iptables_exporter_build_info",
                "A metric with a constant '1' value labeled by version, revision and the rustc version it was built with.",
            ),
            &["version", "revision", "rustc_version"],
        )?;
        build_info
            .with_label_values(&[VERSION, REVISION, RUSTC_VERSION])
            .set(1);
        registry.register(Box::new(build_info))?;
        Ok(Self { registry })
    }

    /// With `collector`'s metrics too (the collections' counters).
    pub fn with(self, collector: Box<dyn Collector>) -> prometheus::Result<Self> {
        self.registry.register(collector)?;
        Ok(self)
    }

    /// Appends the metrics in `format`.
    pub fn write(&self, out: &mut String, format: Format) {
        for family in self.registry.gather() {
            let kind = match family.get_field_type() {
                MetricType::COUNTER => Kind::Counter,
                MetricType::GAUGE => Kind::Gauge,
                // Only counters and gauges are registered.
                _ => continue,
            };
            let metric = Metric {
                name: family.name(),
                help: family.help(),
                kind,
            };
            let mut writer = MetricWriter::new(out, &metric, format);
            for sample in family.get_metric() {
                let labels: Vec<(&str, &str)> = sample
                    .get_label()
                    .iter()
                    .map(|label| (label.name(), label.value()))
                    .collect();
                let value = match kind {
                    Kind::Counter => sample.get_counter().get_value(),
                    Kind::Gauge => sample.get_gauge().get_value(),
                };
                writer.sample(&labels, value);
            }
        }
    }
}

/// `process_*` of this process, read from `/proc/self` on every scrape.
struct ProcessMetrics {
    cpu_seconds: Counter,
    open_fds: Gauge,
    max_fds: Gauge,
    virtual_memory: Gauge,
    virtual_memory_max: Gauge,
    resident_memory: Gauge,
    start_time: Gauge,
    threads: Gauge,
}

impl ProcessMetrics {
    fn new() -> prometheus::Result<Self> {
        let gauge = |name: &str, help: &str| Gauge::with_opts(Opts::new(name, help));
        let metrics = Self {
            cpu_seconds: Counter::with_opts(Opts::new(
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
            ))?,
            open_fds: gauge("process_open_fds", "Number of open file descriptors.")?,
            max_fds: gauge(
                "process_max_fds",
                "Maximum number of open file descriptors.",
            )?,
            virtual_memory: gauge(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
            )?,
            virtual_memory_max: gauge(
                "process_virtual_memory_max_bytes",
                "Maximum amount of virtual memory available in bytes.",
            )?,
            resident_memory: gauge(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
            )?,
            start_time: gauge(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
            )?,
            threads: gauge("process_threads", "Number of OS threads in the process.")?,
        };
        if let Ok(stat) = procfs::process::Process::myself().and_then(|p| p.stat())
            && let Ok(boot) = procfs::boot_time_secs()
        {
            metrics
                .start_time
                .set(boot as f64 + seconds(stat.starttime, procfs::ticks_per_second()));
        }
        Ok(metrics)
    }

    fn all(&self) -> [&dyn Collector; 8] {
        [
            &self.cpu_seconds,
            &self.open_fds,
            &self.max_fds,
            &self.virtual_memory,
            &self.virtual_memory_max,
            &self.resident_memory,
            &self.start_time,
            &self.threads,
        ]
    }

    /// Reads what changes; a file that cannot be read leaves its metric as
    /// it was (the process table of a sandboxed service may be partial).
    fn refresh(&self) {
        let Ok(process) = procfs::process::Process::myself() else {
            return;
        };
        if let Ok(stat) = process.stat() {
            let cpu = seconds(stat.utime + stat.stime, procfs::ticks_per_second());
            // A counter only goes up: add what is new since the last read.
            let new = cpu - self.cpu_seconds.get();
            if new > 0.0 {
                self.cpu_seconds.inc_by(new);
            }
            self.virtual_memory.set(stat.vsize as f64);
            self.resident_memory
                .set(stat.rss as f64 * procfs::page_size() as f64);
            self.threads.set(stat.num_threads as f64);
        }
        if let Ok(fds) = process.fd_count() {
            self.open_fds.set(fds as f64);
        }
        if let Ok(limits) = process.limits() {
            let value = |limit: procfs::process::LimitValue| match limit {
                procfs::process::LimitValue::Value(v) => v as f64,
                procfs::process::LimitValue::Unlimited => f64::INFINITY,
            };
            self.max_fds.set(value(limits.max_open_files.soft_limit));
            self.virtual_memory_max
                .set(value(limits.max_address_space.soft_limit));
        }
    }
}

/// Clock ticks (`/proc` times) in seconds, with their fraction.
fn seconds(ticks: u64, ticks_per_second: u64) -> f64 {
    ticks as f64 / ticks_per_second.max(1) as f64
}

impl Collector for ProcessMetrics {
    fn desc(&self) -> Vec<&Desc> {
        self.all().into_iter().flat_map(Collector::desc).collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.refresh();
        self.all()
            .into_iter()
            .flat_map(Collector::collect)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, name: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
    }

    #[test]
    fn build_info_and_process_metrics_are_present() {
        let mut out = String::new();
        SelfMetrics::new()
            .expect("registry")
            .write(&mut out, Format::Text);
        assert!(
            out.contains(&format!(
                "iptables_exporter_build_info{{revision=\"{REVISION}\",rustc_version=\"{RUSTC_VERSION}\",version=\"{VERSION}\"}} 1"
            )),
            "{out}"
        );
        for name in [
            "process_resident_memory_bytes",
            "process_virtual_memory_bytes",
            "process_open_fds",
            "process_threads",
        ] {
            assert!(value(&out, name) > 0.0, "{name}");
        }
        assert!(
            out.contains("# TYPE process_cpu_seconds_total counter"),
            "{out}"
        );
    }

    #[test]
    fn ticks_become_seconds_with_their_fraction() {
        assert_eq!(seconds(153, 100), 1.53);
        assert_eq!(seconds(7, 1000), 0.007);
    }

    #[test]
    fn cpu_time_is_what_proc_says_and_start_time_is_recent() {
        let cpu_now = || {
            let stat = procfs::process::Process::myself()
                .and_then(|p| p.stat())
                .expect("/proc/self/stat");
            seconds(stat.utime + stat.stime, procfs::ticks_per_second())
        };
        let metrics = SelfMetrics::new().expect("registry");
        let before = cpu_now();
        let mut out = String::new();
        metrics.write(&mut out, Format::Text);
        let after = cpu_now();
        let cpu = value(&out, "process_cpu_seconds_total");
        assert!(
            before <= cpu && cpu <= after,
            "{before} <= {cpu} <= {after}"
        );
        let start = value(&out, "process_start_time_seconds");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs_f64();
        assert!(start > now - 3600.0 && start <= now + 1.0, "start {start}");
    }
}
