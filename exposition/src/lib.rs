//! What the sandboxed parser and the host share, and nothing more: the
//! family a dump comes from, the five ruleset metrics, and the writer of the
//! Prometheus text format that both sides use for their series.
//!
//! This crate knows nothing of `iptables-save` syntax: the host links it,
//! while the parser itself stays inside the component (the host only has
//! it as a dev-dependency, for tests and benchmarks).
//!
//! # Layout
//! - [`Family`]: `ipv4` / `ipv6`, the `family` label.
//! - [`RulesetMetric`]: the ruleset metrics in exposition order.
//! - [`MetricWriter`], [`SamplePrefix`], [`Metric`], [`write_header`],
//!   [`push_escaped`]: the
//!   text format 0.0.4.

mod family;
mod ruleset_metrics;
mod text;

pub use family::Family;
pub use ruleset_metrics::RulesetMetric;
pub use text::{Kind, Metric, MetricWriter, SamplePrefix, Value, push_escaped, write_header};
