//! What the sandboxed parser and the host share, and nothing more: the
//! family a dump comes from, the five ruleset metrics, and the writer of the
//! Prometheus text formats that both sides use for their series.
//!
//! This crate knows nothing of `iptables-save` syntax: the host links it,
//! while the parser itself stays inside the component (the host only has
//! it as a dev-dependency, for tests and benchmarks).
//!
//! # Layout
//! - [`Family`]: `ipv4` / `ipv6`, the `family` label.
//! - [`RulesetMetric`]: the ruleset metrics in exposition order.
//! - [`Format`]: text 0.0.4 or OpenMetrics 1.0.
//! - [`MetricWriter`], [`SamplePrefix`], [`Metric`], [`write_header`],
//!   [`push_escaped`]: writing either format.

mod family;
mod format;
mod ruleset_metrics;
mod text;

pub use family::Family;
pub use format::Format;
pub use ruleset_metrics::RulesetMetric;
pub use text::{
    Kind, Metric, MetricWriter, SamplePrefix, Value, escaped_len, push_escaped, write_header,
};
