//! The `render` subcommand: one dump through the same component, streamed
//! to stdout the way the server streams it; or an `nft -j list ruleset`
//! listing (told by its content: a JSON object) rendered whole, as the
//! server renders it, with the `--nftables.*` selection; or an `ipset
//! list` output (it starts with `Name:`), with the `--ipset.*` flags (a
//! full listing gives element counters with `--ipset.element-counters`).
//!
//! Exit status 0: the whole exposition is on stdout. 1: the input is
//! malformed; the line and the problem are on stderr, nothing on stdout.
//! 2: anything else (unreadable or oversized input, a sandbox limit); a
//! sandbox limit hit after part of the text was written leaves that part on
//! stdout, incomplete, which the status says.

use crate::cli::{InputArgs, RenderArgs, SandboxArgs};
use crate::sandbox::{
    Dump, Failure, IpsetListing, IpsetSettings, Listing, NftOptions, Options, PIECE_BYTES,
    ParseFailure, Selection,
};
use anyhow::Context as _;
use std::io::{Read, Write as _};
use std::process::ExitCode;

/// Exit status for input that does not parse.
const MALFORMED: u8 = 1;
/// Exit status for everything else that goes wrong.
const FAILED: u8 = 2;

/// The selection flags of each kind of input.
pub struct Selections<'a> {
    /// `--iptables.*`, for a dump.
    pub iptables: &'a Selection,
    /// `--nftables.*`, for a listing.
    pub nftables: &'a Selection,
    /// `--ipset.*`, for an `ipset list` output.
    pub ipset: &'a IpsetSettings,
}

pub fn run(
    args: &RenderArgs,
    input: &InputArgs,
    sandbox_args: &SandboxArgs,
    selections: &Selections<'_>,
) -> ExitCode {
    match render(args, input, sandbox_args, selections) {
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
    selections: &Selections<'_>,
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
    if is_listing(&save_output) {
        return render_listing(&sandbox, args, save_output, selections.nftables);
    }
    if is_ipset(&save_output) {
        return render_sets(&sandbox, args, save_output, selections.ipset);
    }
    let selection = selections.iptables;
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

/// Whether the input is an nft listing: a JSON object (no save output
/// starts with `{`).
fn is_listing(input: &[u8]) -> bool {
    input.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Whether the input is an `ipset list` output: it starts with `Name:`
/// (no save output does).
fn is_ipset(input: &[u8]) -> bool {
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(input.len());
    input[start..].starts_with(b"Name:")
}

/// An `ipset list` output rendered as the server renders the ipset source
/// (no member listings: a full listing carries its members itself).
fn render_sets(
    sandbox: &crate::sandbox::Sandbox,
    args: &RenderArgs,
    output: Vec<u8>,
    settings: &IpsetSettings,
) -> anyhow::Result<Result<(), ParseFailure>> {
    let listing = IpsetListing {
        headers: output.into(),
        members: Vec::new(),
        timestamp_ms: None,
    };
    finish(
        sandbox
            .render_ipset(&listing, settings, args.format)
            .outcome
            .map(|(text, _)| text),
        args,
    )
}

/// Writes a whole exposition and its end, or says why there is none.
fn finish(
    outcome: Result<String, Failure>,
    args: &RenderArgs,
) -> anyhow::Result<Result<(), ParseFailure>> {
    match outcome {
        Ok(exposition) => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(exposition.as_bytes())?;
            stdout.write_all(args.format.end().as_bytes())?;
            stdout.flush()?;
            Ok(Ok(()))
        }
        Err(Failure::Rejected(rejected)) => Ok(Err(rejected)),
        Err(Failure::Sandbox(err)) => Err(err.into()),
    }
}

/// An nft listing rendered whole, as the server renders the nftables
/// source (every table: no iptables source to leave any to).
fn render_listing(
    sandbox: &crate::sandbox::Sandbox,
    args: &RenderArgs,
    output: Vec<u8>,
    selection: &Selection,
) -> anyhow::Result<Result<(), ParseFailure>> {
    crate::check_selection(sandbox, "nftables", selection)?;
    let listing = Listing {
        output: output.into(),
        timestamp_ms: None,
    };
    let options = NftOptions {
        options: Options {
            format: args.format,
            selection,
        },
        set_elements: true,
        left_to_iptables: &[],
    };
    let outcome = sandbox.render_nftables(&listing, options).outcome;
    finish(outcome.map(|(text, _)| text), args)
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
