//! Builds the parser component (`parser-wasm` for `wasm32-unknown-unknown`,
//! wrapped into a component by `wit-component`) with a nested cargo
//! invocation, so that a plain `cargo build` of the host embeds
//! an up-to-date component and no `.wasm` is ever checked in.
//!
//! Pitfalls handled here, each met in practice:
//! - the nested build uses its own target directory: sharing the outer one
//!   deadlocks on cargo's lock;
//! - flags meant for host code (coverage, clippy's wrapper) are not passed on:
//!   they break the wasm build or make it rebuild every time; the guest gets
//!   its own (`+simd128`);
//! - its stdout goes to our stderr, since cargo reads build-script stdout as
//!   directives.

use sha2::Digest as _;
use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A core module that imports nothing: `wasm32-unknown-unknown` has no
/// WASI, so the guest's std links no system interface at all. The module
/// carries its WIT world (wit-bindgen puts it in a custom section), and
/// `wit-component` wraps it into the component, which then imports
/// nothing either.
const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "component";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ lives in the workspace root")
        .to_path_buf();
    for watched in [
        "parser-wasm/src",
        "parser-wasm/Cargo.toml",
        "exposition/src",
        "exposition/Cargo.toml",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rerun-if-env-changed=IPTABLES_EXPORTER_COMPONENT_TARGET_DIR");

    let target_dir = component_target_dir(&workspace);
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&workspace)
        .args([
            "build",
            "--package",
            "parser-wasm",
            "--lib",
            "--target",
            TARGET,
            "--profile",
            PROFILE,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .stdout(Stdio::from(std::io::stderr()));
    if env::var_os("CARGO_NET_OFFLINE").is_some() {
        command.arg("--offline");
    }
    for var in [
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_LLVM_COV",
        "CARGO_LLVM_COV_TARGET_DIR",
    ] {
        command.env_remove(var);
    }
    // The guest's own flags, and only those: wasm SIMD, which memchr uses
    // for its scans (wasmtime and browsers run it). What the outer build
    // was given (coverage, clippy's wrapper) is meant for host code.
    command.env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+simd128");
    let status = command
        .status()
        .expect("running the nested cargo build of the component");
    assert!(
        status.success(),
        "building the parser component failed ({status}); is the target installed? run `rustup target add {TARGET}`"
    );

    let module = target_dir
        .join(TARGET)
        .join(PROFILE)
        .join("parser_wasm.wasm");
    let component = target_dir.join("parser.component.wasm");
    encode_component(&module, &component);
    println!(
        "cargo:rustc-env=PARSER_COMPONENT_PATH={}",
        component.display()
    );
    build_analyzer(&workspace, &component);
    println!("cargo:rustc-env=EXPORTER_RUSTC_VERSION={}", rustc_version());
    println!("cargo:rustc-env=EXPORTER_REVISION={}", revision(&workspace));
    println!("cargo:rustc-env=EXPORTER_BUILD_DATE={}", build_date());
    println!(
        "cargo:rustc-env=EXPORTER_TARGET={}",
        env::var("TARGET").unwrap_or_else(|_| "unknown".into())
    );
    println!("cargo:rerun-if-env-changed=IPTABLES_EXPORTER_REVISION");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
}

/// Wraps the guest's core module into a component (what `wasm-tools
/// component new` does, with no adapter: the module imports nothing).
fn encode_component(module: &Path, component: &Path) {
    let core = std::fs::read(module)
        .unwrap_or_else(|err| panic!("reading the guest module {}: {err}", module.display()));
    let bytes = wit_component::ComponentEncoder::default()
        .module(&core)
        .and_then(|encoder| encoder.validate(true).encode())
        .unwrap_or_else(|err| panic!("making a component of {}: {err:#}", module.display()));
    std::fs::write(component, bytes)
        .unwrap_or_else(|err| panic!("writing {}: {err}", component.display()));
}

/// Embeds the analyzer page npm built into `web/dist/analyzer/`
/// (`cd web && npm run build`), writing `analyzer_assets.rs`, when that
/// build was made from the component just built (its
/// `package/component.sha256`): the page a binary serves can only ever run
/// the component the binary runs. Otherwise, no Node and no npm needed: a
/// page that says how to build the analyzer is embedded instead, with a
/// warning, and everything else works.
fn build_analyzer(workspace: &Path, component: &Path) {
    let web = workspace.join("web");
    let page = web.join("dist").join("analyzer");
    // Cargo scans a watched directory for changes, so a new npm build
    // rebuilds; but a watched path that does not exist reruns this script
    // on every build. Watch the page, or the nearest folder there is that
    // the npm build will change.
    let watched = [page.clone(), web.join("dist"), web]
        .into_iter()
        .find(|path| path.exists())
        .unwrap_or_else(|| workspace.to_path_buf());
    println!("cargo:rerun-if-changed={}", watched.display());
    let bytes = std::fs::read(component)
        .unwrap_or_else(|err| panic!("reading {}: {err}", component.display()));
    let want: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let stamp = page.join("package").join("component.sha256");
    let missing = match std::fs::read_to_string(&stamp) {
        Err(_) => Some(format!("{} is missing", page.display())),
        Ok(built) if built.trim() != want => Some(format!(
            "{} was built from another component",
            page.display()
        )),
        Ok(_) => None,
    };
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut code = String::from(
        "/// The analyzer page's files: name, contents.\npub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    match &missing {
        Some(reason) => {
            println!(
                "cargo:warning=the analyzer page is not embedded ({reason}): run `cd web && npm ci && npm run build`, then build again (scripts/run.sh does)"
            );
            let fallback = out_dir.join("analyzer-not-built.html");
            std::fs::write(&fallback, fallback_page(reason)).expect("writing the fallback page");
            code.push_str(&format!(
                "    (\"index.html\", include_bytes!({:?})),\n",
                fallback.display().to_string()
            ));
        }
        None => {
            let mut files = Vec::new();
            list_files(&page, &page, &mut files);
            files.sort();
            for name in &files {
                // Declarations are for the package's users, the stamp for
                // this check: neither is the page's.
                if name.ends_with(".d.ts") || name.ends_with("component.sha256") {
                    continue;
                }
                code.push_str(&format!(
                    "    ({name:?}, include_bytes!({:?})),\n",
                    page.join(name).display().to_string()
                ));
            }
        }
    }
    code.push_str("];\n");
    code.push_str(&format!(
        "/// Why the page is not embedded (a page saying how to build it is), if it is not.\npub static NOT_BUILT: Option<&str> = {missing:?};\n"
    ));
    std::fs::write(out_dir.join("analyzer_assets.rs"), code).expect("writing analyzer_assets.rs");
}

/// The page served at `/analyzer/` by a binary built without the page.
fn fallback_page(reason: &str) -> String {
    let reason = reason
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>iptables ruleset analyzer: not built</title></head>\n<body>\n<h1>The analyzer page was not built into this exporter</h1>\n<p>The exporter was built without the page's JavaScript ({reason}). Everything else works. To build it, with Node.js 20 or later:</p>\n<pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build\ncargo build --release -p iptables-exporter</pre>\n<p>(<code>scripts/run.sh</code> does both.)</p>\n</body>\n</html>\n"
    )
}

/// Every file under `dir`, as paths relative to `root` with `/`.
fn list_files(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("reading the analyzer build") {
        let path = entry.expect("reading the analyzer build").path();
        if path.is_dir() {
            list_files(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let parts: Vec<_> = relative.iter().map(|p| p.to_string_lossy()).collect();
            files.push(parts.join("/"));
        }
    }
}

/// The commit built: `IPTABLES_EXPORTER_REVISION` when set (a build from a
/// tarball or a container context without `.git`), else git's HEAD, else
/// `unknown`.
fn revision(workspace: &Path) -> String {
    if let Some(revision) = env::var_os("IPTABLES_EXPORTER_REVISION") {
        return revision.to_string_lossy().into_owned();
    }
    // A new commit or checkout moves HEAD's log: build again to take it.
    for watched in [".git/HEAD", ".git/logs/HEAD"] {
        let path = workspace.join(watched);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    Command::new("git")
        .current_dir(workspace)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|rev| rev.trim().to_owned())
        .filter(|rev| !rev.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// `YYYYMMDD-HH:MM:SS` in UTC, as node_exporter prints it: now, or
/// `SOURCE_DATE_EPOCH` for reproducible builds.
fn build_date() -> String {
    let seconds = env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}-{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// One directory for every profile and tool of the outer build, so the
/// component is built once, not once per `build`/`test`/`clippy`.
fn component_target_dir(workspace: &Path) -> PathBuf {
    if let Some(dir) = env::var_os("IPTABLES_EXPORTER_COMPONENT_TARGET_DIR") {
        return dir.into();
    }
    let outer =
        env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), PathBuf::from);
    let outer = if outer.is_relative() {
        workspace.join(outer)
    } else {
        outer
    };
    outer.join("component-build")
}

fn rustc_version() -> String {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}
