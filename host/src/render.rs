//! The `render` subcommand: one dump through the same component, streamed
//! to stdout the way the server streams it.
//!
//! Exit status 0: the whole exposition is on stdout. 1: the input is
//! malformed; the line and the problem are on stderr, nothing on stdout.
//! 2: anything else (unreadable or oversized input, a sandbox limit); a
//! sandbox limit hit after part of the text was written leaves that part on
//! stdout, incomplete, which the status says.

use crate::cli::{InputArgs, RenderArgs, SandboxArgs};
use crate::sandbox::{Dump, Failure, Options, PIECE_BYTES, ParseFailure, Selection};
use anyhow::Context as _;
use std::io::{Read, Write as _};
use std::process::ExitCode;

/// Exit status for input that does not parse.
const MALFORMED: u8 = 1;
/// Exit status for everything else that goes wrong.
const FAILED: u8 = 2;

pub fn run(
    args: &RenderArgs,
    input: &InputArgs,
    sandbox_args: &SandboxArgs,
    selection: &Selection,
) -> ExitCode {
    match render(args, input, sandbox_args, selection) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(rejected)) => {
            eprintln!("{rejected}");
            ExitCode::from(MALFORMED)
        }
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(err)
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(FAILED)
        }
    }
}

fn render(
    args: &RenderArgs,
    input: &InputArgs,
    sandbox_args: &SandboxArgs,
    selection: &Selection,
) -> anyhow::Result<Result<(), ParseFailure>> {
    let limit = input.max_save_bytes;
    let save_output = match &args.file {
        Some(path) if path.as_os_str() != "-" => {
            let file =
                std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
            read_capped(file, limit).with_context(|| format!("reading {}", path.display()))?
        }
        _ => read_capped(std::io::stdin().lock(), limit).context("reading stdin")?,
    };
    let sandbox = crate::load_sandbox(sandbox_args.component.as_deref(), sandbox_args.limits())?;
    crate::check_selection(&sandbox, "iptables", selection)?;
    let mut stdout = std::io::stdout().lock();
    let mut written: std::io::Result<()> = Ok(());
    let options = Options {
        format: args.format,
        selection,
    };
    let reports = sandbox.render_families(
        vec![Dump::new(args.family, save_output)],
        options,
        PIECE_BYTES,
        |piece| {
            if written.is_ok() {
                written = stdout.write_all(piece.as_bytes());
            }
        },
    )?;
    written.and_then(|()| stdout.flush())?;
    match reports.into_iter().next().map(|r| r.outcome) {
        Some(Ok(_stats)) => {
            stdout.write_all(args.format.end().as_bytes())?;
            stdout.flush()?;
            Ok(Ok(()))
        }
        Some(Err(Failure::Rejected(rejected))) => Ok(Err(rejected)),
        Some(Err(Failure::Sandbox(err))) => Err(err.into()),
        None => anyhow::bail!("the component returned no result"),
    }
}

/// Reads all of `reader`, refusing more than `limit` bytes.
fn read_capped(reader: impl Read, limit: usize) -> anyhow::Result<Vec<u8>> {
    let mut input = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader.take(cap).read_to_end(&mut input)?;
    anyhow::ensure!(
        input.len() <= limit,
        "the input is larger than {limit} bytes (--iptables.max-output)"
    );
    Ok(input)
}
