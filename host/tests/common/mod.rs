//! Helpers shared by the integration tests: fixture discovery, the sandbox,
//! and tools that must be installed (missing tools fail the test loudly).

#![allow(dead_code)] // each test binary uses its own subset

use exposition::Family;
use iptables_exporter::sandbox::{Dump, Failure, Limits, Options, Sandbox};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is inside the repository")
        .to_path_buf()
}

pub fn fixtures() -> PathBuf {
    repo_root().join("fixtures")
}

/// Real-world dumps copied from other projects, with their provenance in
/// `SOURCES.md`.
pub fn public_fixtures() -> PathBuf {
    fixtures().join("public")
}

/// Every public dump and its family, as `SOURCES.md` lists them; panics if
/// a dump is not listed (its provenance unknown) or a listed one is missing.
pub fn public_dumps() -> Vec<(PathBuf, Family)> {
    let root = public_fixtures();
    let sources = std::fs::read_to_string(root.join("SOURCES.md")).expect("SOURCES.md");
    let listed: Vec<(PathBuf, Family)> = sources
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            let file = cells.first().filter(|f| f.ends_with(".save"))?;
            let family = cells
                .get(5)
                .and_then(|f| Family::from_label(f))
                .unwrap_or_else(|| panic!("SOURCES.md: no family for {file}"));
            Some((root.join(file), family))
        })
        .collect();
    let mut on_disk = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
        let dir = dir.expect("entry").path();
        if dir.is_dir() {
            on_disk.extend(files_ending(&dir, ".save"));
        }
    }
    on_disk.sort();
    let mut listed_paths: Vec<PathBuf> = listed.iter().map(|(p, _)| p.clone()).collect();
    listed_paths.sort();
    assert_eq!(
        on_disk, listed_paths,
        "fixtures/public and its SOURCES.md disagree: every dump needs its provenance"
    );
    listed
}

/// Files directly in `dir` whose name ends with `suffix`, sorted.
pub fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|err| panic!("reading {}: {err}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

/// Family of a fixture named `NAME.FAMILY.rules`; ipv4 when not given.
pub fn fixture_family(path: &Path) -> Family {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.ends_with(".ipv6.rules") {
        Family::Ipv6
    } else {
        Family::Ipv4
    }
}

pub fn sandbox() -> Sandbox {
    Sandbox::new(
        iptables_exporter::sandbox::EMBEDDED_COMPONENT,
        Limits {
            max_memory_bytes: 512 << 20,
            deadline: Duration::from_secs(30),
            max_exposition_bytes: 1 << 30,
        },
    )
    .expect("the embedded component loads")
}

/// Renders one dump natively: the exposition, or `line N: message`.
pub fn render_native(family: Family, input: &[u8]) -> Result<String, String> {
    let rendering = parser_wasm::render_dumps(&[parser_wasm::Dump::new(family, input)]);
    match rendering.results.into_iter().next() {
        Some(Ok(_)) => Ok(rendering.exposition),
        Some(Err(err)) => Err(err.to_string()),
        None => Err("no result".into()),
    }
}

/// Renders one dump through the component: the exposition, or `line N: message`.
pub fn render_component(sandbox: &Sandbox, family: Family, input: &[u8]) -> Result<String, String> {
    let rendering = sandbox
        .render(vec![Dump::new(family, input.to_vec())], Options::TEXT)
        .expect("the component runs to completion");
    match rendering.results.into_iter().next() {
        Some(Ok(_)) => Ok(rendering.exposition),
        Some(Err(err)) => Err(err.to_string()),
        None => Err("no result".into()),
    }
}

/// Renders dumps as the server does (an instance per family, pieces of at
/// least `chunk_bytes` taken a metric at a time), joined: the exposition,
/// and per family the outcome as `line N: message` for a malformed one.
pub fn render_streamed(
    sandbox: &Sandbox,
    dumps: &[(Family, &[u8])],
    chunk_bytes: u32,
) -> (String, Vec<Result<(), String>>) {
    render_streamed_with(sandbox, dumps, Options::TEXT, chunk_bytes)
}

/// [`render_streamed`] with `options`.
pub fn render_streamed_with(
    sandbox: &Sandbox,
    dumps: &[(Family, &[u8])],
    options: Options<'_>,
    chunk_bytes: u32,
) -> (String, Vec<Result<(), String>>) {
    let mut joined = String::new();
    let reports = sandbox
        .render_families(
            dumps
                .iter()
                .map(|(family, input)| Dump::new(*family, input.to_vec()))
                .collect(),
            options,
            chunk_bytes,
            |piece| {
                assert!(piece.ends_with('\n'), "a piece ends inside a line");
                joined.push_str(&piece);
            },
        )
        .expect("the component runs to completion");
    let outcomes = reports
        .into_iter()
        .map(|report| match report.outcome {
            Ok(_) => Ok(()),
            Err(Failure::Rejected(rejected)) => Err(rejected.to_string()),
            Err(Failure::Sandbox(err)) => panic!("{}: sandbox failure: {err}", report.family),
        })
        .collect();
    (joined, outcomes)
}

/// One dump rendered as the server does: the exposition, or `line N: message`.
pub fn render_component_streamed(
    sandbox: &Sandbox,
    family: Family,
    input: &[u8],
    chunk_bytes: u32,
) -> Result<String, String> {
    let (text, mut outcomes) = render_streamed(sandbox, &[(family, input)], chunk_bytes);
    match outcomes.pop() {
        Some(Ok(())) => Ok(text),
        Some(Err(message)) => {
            assert_eq!(text, "", "text rendered for a dump that failed");
            Err(message)
        }
        None => Err("no result".into()),
    }
}

/// Runs `command` with `input` on its stdin and returns what it printed.
/// The input is written from a thread of its own, so that a command that
/// prints before it has read everything cannot deadlock against us.
pub fn run_with_stdin(command: &mut Command, input: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || stdin.write_all(input));
        let out = child.wait_with_output().expect("command runs");
        match writer.join().expect("writer thread") {
            // The command may exit without reading all of its input (a file
            // argument, an input cap): what it printed is what counts.
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
            written => written.expect("writing stdin"),
        }
        out
    })
}

/// Runs a tool that the tests require; panics with an install hint if absent.
pub fn require_tool(name: &str, package: &str) -> PathBuf {
    iptables_exporter::sources::resolve(Path::new(name)).unwrap_or_else(|| {
        panic!("`{name}` is required by this test: apt-get install -y {package}")
    })
}

/// What `promtool check metrics` says about `exposition`, apart from the
/// cardinality hints the metrics contract allows. Empty means clean.
/// promtool 2.42 exits 1 when the text does not parse and 3 for lint
/// problems, each with its reasons in the output; any other exit, or an
/// exit that is not 0 with only cardinality hints to show for it, is a
/// problem too.
pub fn promtool_problems(exposition: &str) -> String {
    let promtool = require_tool("promtool", "prometheus");
    let mut command = Command::new(promtool);
    command.args(["check", "metrics"]);
    let out = run_with_stdin(&mut command, exposition.as_bytes());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut problems: Vec<String> = text
        .lines()
        .filter(|l| !l.contains("cardinality"))
        .map(str::to_owned)
        .collect();
    let hints_only = out.status.code() == Some(3) && problems.is_empty();
    if !out.status.success() && !hints_only && problems.is_empty() {
        problems.push(format!("promtool exited with {}: {text}", out.status));
    }
    problems.join("\n")
}
pub mod exporter;
pub mod http;
pub mod ipset;
pub mod netns;
pub mod nft;
pub mod processes;
pub mod prometheus;
pub mod save;
