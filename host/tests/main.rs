//! The host's integration tests, in one binary (one link instead of one
//! per file): each module is one area, and `cargo test -p iptables-exporter
//! --test integration AREA::` runs one of them.

mod common;

/// The analyzer interface through the embedded component, against the library.
mod analysis;
/// The analyzer page over HTTP and in Chromium.
mod analyzer;
/// Real 100k-rule nodes scraped by a real Prometheus (root).
mod big_node;
/// The `render` subcommand, and the README flag table against `--help`.
mod cli;
/// How each family fares: save-command faults, sandbox limits, families.
mod collection;
/// Every file of `deploy/` checked by its tool.
mod deploy;
/// Deadlines, answers from the last collection, timestamps.
mod freshness;
/// The ruleset generator's dumps survive iptables-restore/save (root).
mod generator;
/// Golden files on every path, hand-written expectations for malformed dumps.
mod golden;
/// Routes, negotiation, single flight, slow, stalled and hostile clients.
mod http;
/// The ipset source: goldens and the model, bad listings, real ipset (root).
mod ipset;
/// Flags refused at start-up, logs, signals, shutdown, orphans.
mod lifecycle;
/// iptables-nft's counters over netlink into the kept save text (root).
mod netlink;
/// Real iptables in network namespaces (root).
mod netns;
/// The nftables source: goldens and the model, bad listings, real nft (root).
mod nftables;
/// The format and every selection flag, golden and hand-written.
mod options;
/// A real Prometheus ingests both formats (root).
mod prometheus;
/// The repository stands alone; the suite leaves no process; the WIT is documented.
mod repository;
/// The sandbox's limits against a hostile component.
mod sandbox;
/// The packet tracer against real iptables (root).
mod trace;
/// TLS, basic auth and reloads of `--web.config.file`.
mod web_config;
