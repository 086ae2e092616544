//! The `render` subcommand: one dump through the same component, to stdout.

use crate::cli::{RenderArgs, SandboxArgs};
use crate::sandbox::{self, Dump};
use std::io::{Read as _, Write as _};
use std::process::ExitCode;

/// Exit status for input that does not parse.
const MALFORMED: u8 = 1;
/// Exit status for everything else that goes wrong (unreadable file, sandbox).
const FAILED: u8 = 2;

pub fn run(args: &RenderArgs, sandbox_args: &SandboxArgs) -> ExitCode {
    match render(args, sandbox_args) {
        Ok(Ok(exposition)) => match std::io::stdout().lock().write_all(exposition.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            // A closed pipe (`| head`) is the reader's choice, not a failure.
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: writing to stdout: {err}");
                ExitCode::from(FAILED)
            }
        },
        Ok(Err(failure)) => {
            eprintln!("{failure}");
            ExitCode::from(MALFORMED)
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(FAILED)
        }
    }
}

fn render(
    args: &RenderArgs,
    sandbox_args: &SandboxArgs,
) -> anyhow::Result<Result<String, sandbox::ParseFailure>> {
    use anyhow::Context as _;
    let input = match &args.file {
        None => read_stdin()?,
        Some(path) if path.as_os_str() == "-" => read_stdin()?,
        Some(path) => std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
    };
    let sandbox = crate::load_sandbox(sandbox_args)?;
    let rendering = sandbox.render(vec![Dump {
        family: args.family.into(),
        save_output: input,
    }])?;
    let result = rendering
        .results
        .into_iter()
        .next()
        .context("the component returned no result")?;
    Ok(result.map(|_stats| rendering.exposition))
}

fn read_stdin() -> anyhow::Result<Vec<u8>> {
    let mut input = Vec::new();
    std::io::stdin().lock().read_to_end(&mut input)?;
    Ok(input)
}
