//! The `iptables-exporter` binary's pieces, as a library so that tests and
//! benchmarks drive the same code.
//!
//! # The rooms, and the one way data flows through them
//!
//! ```text
//!  cli ──────────► flags become the other rooms' types (nothing below knows clap)
//!
//!  sources ──bytes──► collection ──collection──► answers ──dumps──► sandbox
//!  (run commands)     (single flight,            (render, share,    (the component:
//!                      freshness, stamps)         gzip, scrape       parse + render,
//!                                                 series)            bounded)
//!                                                    │
//!                                                    ▼ text
//!                                                  http ──► clients
//!                                                  (routes, negotiation, auth,
//!                                                   TLS, landing, analyzer)
//! ```
//!
//! - `sources`: what the exporter runs to read the firewall (`command`:
//!   any bounded command; `iptables`: the save commands and the families).
//! - `collection`: collections (single flight, `--iptables.min-interval`,
//!   `--iptables.max-age`) and which one answers a scrape, stamped or not.
//! - `answers`: a collection rendered for scrapes, shared (`output`),
//!   compressed once (`gzip`), ended with the scrape series (`series`).
//! - `sandbox`: the parser component: compiled once, a fresh instance per
//!   family and collection, bounded in memory, time and output.
//! - `http`: the server, its routes, `Accept`/`Accept-Encoding`
//!   negotiation, basic auth, TLS and its reloads, the landing page and the
//!   analyzer page's embedded files.
//! - `process`: build info, the exporter's own metrics, signals, memory.
//! - `cli`: flags, their checks, and their conversion into the rooms'
//!   types; `serve`: the rooms wired together and served (the default
//!   command); `render`: the `render` subcommand.
//!
//! Rooms are `pub` where the binary (`main.rs`), the tests or the benches
//! reach them; `answers` and `collection` are the server's own.
//!
//! The host never parses save output itself: it does not link the parser,
//! only the small `exposition` crate it shares with the component.

pub(crate) mod answers;
pub mod cli;
pub(crate) mod collection;
pub mod http;
pub mod process;
pub mod render;
pub mod sandbox;
pub mod serve;
pub mod sources;

use anyhow::Context as _;

/// Compiles the embedded component, or the one given with `--component`.
pub fn load_sandbox(
    component: Option<&std::path::Path>,
    limits: sandbox::Limits,
) -> anyhow::Result<sandbox::Sandbox> {
    let owned;
    let bytes = match component {
        Some(path) => {
            owned = std::fs::read(path)
                .with_context(|| format!("reading component {}", path.display()))?;
            &owned[..]
        }
        None => sandbox::EMBEDDED_COMPONENT,
    };
    let sandbox = sandbox::Sandbox::new(bytes, limits);
    match component {
        Some(path) => sandbox.with_context(|| format!("component {}", path.display())),
        None => Ok(sandbox?),
    }
}

/// Whether the component takes a source's series selection flags (`source`:
/// `iptables`, `nftables`); an error names the flag and the problem (a
/// regular expression that does not compile).
pub fn check_selection(
    sandbox: &sandbox::Sandbox,
    source: &str,
    selection: &sandbox::Selection,
) -> anyhow::Result<()> {
    sandbox.check_selection(selection).map_err(|err| match err {
        sandbox::Error::BadOption { pattern, message } => {
            anyhow::anyhow!("{}: {message}", cli::flag_of(source, pattern))
        }
        other => other.into(),
    })
}
