//! Builds the parser component (`parser-wasm` for `wasm32-wasip2`) with a
//! nested cargo invocation, so that a plain `cargo build` of the host embeds
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

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const TARGET: &str = "wasm32-wasip2";
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

    let component = target_dir
        .join(TARGET)
        .join(PROFILE)
        .join("parser_wasm.wasm");
    assert!(
        component.is_file(),
        "component not found at {}",
        component.display()
    );
    println!(
        "cargo:rustc-env=PARSER_COMPONENT_PATH={}",
        component.display()
    );
    println!("cargo:rustc-env=EXPORTER_RUSTC_VERSION={}", rustc_version());
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
