//! The `iptables-exporter` binary's pieces, as a library so that tests and
//! benchmarks drive the same code.
//!
//! # Layout
//! - `cli`: flags, defaults, value checks.
//! - `command`: runs a save command with a timeout and an output cap.
//! - `sandbox`: the parser component: compiled once, fresh instance per render.
//! - `collect`: one scrape: commands → component → exposition + scrape series.
//! - `server`: HTTP routes and graceful shutdown; `landing`: the `/` page.
//! - `self_metrics`: process and build-info metrics.
//! - `signals`: the shutdown future; `render`: the `render` subcommand.

pub mod cli;
pub mod collect;
pub mod command;
pub mod flight;
pub mod landing;
pub mod render;
pub mod sandbox;
pub mod self_metrics;
pub mod server;
pub mod signals;
pub mod stall;

use anyhow::Context as _;
use cli::SandboxArgs;

/// Compiles the embedded component, or the one given with `--component`.
pub fn load_sandbox(args: &SandboxArgs) -> anyhow::Result<sandbox::Sandbox> {
    let limits = sandbox::Limits {
        max_memory_bytes: args.max_memory_bytes,
        deadline: args.deadline,
        max_output_bytes: args.max_exposition_bytes,
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
    Ok(sandbox::Sandbox::new(bytes, limits)?)
}
