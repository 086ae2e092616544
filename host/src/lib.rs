//! The `iptables-exporter` binary's pieces, as a library so that tests and
//! benchmarks drive the same code.
//!
//! # Layout
//! - `cli`: flags, defaults, value checks.
//! - `command`: runs a save command with a timeout and an output cap.
//! - `sandbox`: the parser component: compiled once, a fresh instance per
//!   family and collection.
//! - `collect`: collections (save commands, single-flight, scrape-driven)
//!   and answers (a collection → component → exposition + scrape series,
//!   stamped when it was read before the scrape); `flight`: an answer's
//!   output, shared by the scrapes that join it.
//! - `server`: HTTP routes and graceful shutdown; `client_stream`: a
//!   client's connection (write timeout by progress, reset on a cut
//!   answer); `accept`: format
//!   negotiation (OpenMetrics or text); `encoding`: gzip negotiation;
//!   `landing`: the `/` page; `analyzer`: the ruleset analyzer page's
//!   embedded files (built from `web/` by build.rs).
//! - `memory`: how freed memory goes back to the system.
//! - `self_metrics`: process and build-info metrics; `build_info`: version,
//!   commit, build date, compiler.
//! - `signals`: what each signal does; `render`: the `render` subcommand.
//! - `web_config`: `--web.config.file` (TLS, headers, basic auth, reload);
//!   `basic_auth`: bcrypt checks with a cache of successes.
//!
//! The host never parses save output itself: it does not link the parser,
//! only the small `exposition` crate it shares with the component.

pub mod accept;
pub mod analyzer;
pub mod basic_auth;
pub mod build_info;
pub mod cli;
pub mod client_stream;
pub mod collect;
pub mod command;
pub mod encoding;
pub mod flight;
pub mod gzip;
pub mod landing;
pub mod memory;
pub mod render;
pub mod sandbox;
pub mod self_metrics;
pub mod server;
pub mod signals;
pub mod web_config;

use anyhow::Context as _;
use cli::SandboxArgs;

/// Whether the component takes the series selection flags; an error names
/// the flag and the problem (a regular expression that does not compile).
pub fn check_selection(
    sandbox: &sandbox::Sandbox,
    selection: &sandbox::Selection,
) -> anyhow::Result<()> {
    sandbox.check_selection(selection).map_err(|err| match err {
        sandbox::Error::BadOption { pattern, message } => {
            anyhow::anyhow!("{}: {message}", cli::flag_of(pattern))
        }
        other => other.into(),
    })
}

/// Compiles the embedded component, or the one given with `--component`.
pub fn load_sandbox(args: &SandboxArgs) -> anyhow::Result<sandbox::Sandbox> {
    let limits = sandbox::Limits {
        max_memory_bytes: args.max_memory_bytes,
        deadline: args.deadline,
        max_exposition_bytes: args.max_exposition_bytes,
    };
    let owned;
    let bytes = match &args.component {
        Some(path) => {
            owned = std::fs::read(path)
                .with_context(|| format!("reading component {}", path.display()))?;
            &owned[..]
        }
        None => sandbox::EMBEDDED_COMPONENT,
    };
    let sandbox = sandbox::Sandbox::new(bytes, limits);
    match &args.component {
        Some(path) => sandbox.with_context(|| format!("component {}", path.display())),
        None => Ok(sandbox?),
    }
}
