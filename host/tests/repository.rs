//! The repository stands alone: the check CI runs first
//! (`scripts/check-self-contained.sh`) passes on this tree and fails on one
//! that points outside itself.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

fn check(repository: &Path) -> Output {
    Command::new(common::repo_root().join("scripts/check-self-contained.sh"))
        .arg(repository)
        .output()
        .expect("the check runs")
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

#[test]
fn this_repository_points_nowhere_outside_itself() {
    let out = check(&common::repo_root());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_check_catches_a_path_leaving_the_tree() {
    let dir = tempfile::tempdir().expect("dir");
    let repo = dir.path();
    git(repo, &["init", "-q"]);
    std::fs::create_dir_all(repo.join("crate/src")).expect("dirs");
    std::fs::create_dir_all(repo.join("wit")).expect("dirs");
    std::fs::write(repo.join("crate/Cargo.toml"), "[package]\n").expect("write");
    // Inside: from the file, from its crate, from the root.
    std::fs::write(
        repo.join("crate/src/lib.rs"),
        "include_str!(\"../Cargo.toml\"); path: \"../wit\"\n",
    )
    .expect("write");
    git(repo, &["add", "."]);
    assert!(check(repo).status.success(), "inside paths were refused");

    // Spelt in two halves so that this file does not hold the path itself.
    let outside = concat!("..", "/shared/fixtures/public");
    std::fs::write(
        repo.join("crate/src/lib.rs"),
        format!("let public = repo_root().join(\"{outside}\");\n"),
    )
    .expect("write");
    git(repo, &["add", "."]);
    let out = check(repo);
    assert!(!out.status.success(), "a path outside the tree passed");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("crate/src/lib.rs:1: `{outside}`")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `scripts/reap.py`, which `scripts/test.sh` runs under: a command that
/// leaves a process behind fails, even one that left it in a session of
/// its own, and the process is killed; a clean command's status passes
/// through.
#[test]
fn the_suite_fails_when_a_process_outlives_it() {
    let reap = |script: &str| {
        Command::new("python3")
            .arg(common::repo_root().join("scripts/reap.py"))
            .args(["sh", "-c", script])
            .env("REAP_GRACE_SECONDS", "1")
            .output()
            .expect("reap.py runs")
    };
    assert_eq!(reap("exit 0").status.code(), Some(0));
    assert_eq!(reap("exit 3").status.code(), Some(3));
    // Ends within the grace: not a leftover.
    assert_eq!(reap("sleep 0.2 & exit 0").status.code(), Some(0));
    let dir = tempfile::tempdir().expect("dir");
    let pids = dir.path().join("pids");
    for (what, script) in [
        ("an orphan", "sleep 60 & echo $! > PIDS"),
        (
            "a daemon in a session of its own",
            "setsid sleep 60 & echo $! > PIDS",
        ),
        (
            "a grandchild whose parent ended",
            "sh -c 'sleep 60 & echo $! > PIDS' & wait",
        ),
    ] {
        let script = script.replace("PIDS", &pids.display().to_string());
        let out = reap(&script);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(stderr.contains("still running"), "{what}: {stderr}");
        assert!(stderr.contains("sleep 60"), "{what}: {stderr}");
        let pid: i32 = std::fs::read_to_string(&pids)
            .expect("pid written")
            .trim()
            .parse()
            .expect("a pid");
        assert!(
            !common::processes::alive(pid),
            "{what}: the leftover {pid} was not killed"
        );
    }
}

/// Every item of the WIT contract is documented: a reuser reads the
/// contract from the file alone. A declaration (a field, a case, a
/// function, a record, an enum, a resource, an interface, a world, an
/// export) without a `///` line before it fails, with its line.
#[test]
fn every_item_of_the_wit_contract_is_documented() {
    let wit = std::fs::read_to_string(common::repo_root().join("wit/parser.wit")).expect("WIT");
    let lines: Vec<&str> = wit.lines().collect();
    let declares = |line: &str| {
        let line = line.trim();
        if line.starts_with("//") {
            return false;
        }
        let starts = |word: &str| line.starts_with(&format!("{word} "));
        let is_case = line.ends_with(',')
            && line
                .trim_end_matches(',')
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let is_field = line.ends_with(',') && line.contains(": ");
        let is_func = line.contains(": func(") || line.starts_with("constructor(");
        [
            "record",
            "enum",
            "resource",
            "interface",
            "world",
            "export",
            "package",
        ]
        .iter()
        .any(|word| starts(word))
            || is_case
            || is_field
            || is_func
    };
    let undocumented: Vec<String> = lines
        .iter()
        .enumerate()
        .filter(|(i, line)| declares(line) && !(*i > 0 && lines[i - 1].trim().starts_with("///")))
        .map(|(i, line)| format!("wit/parser.wit:{}: {}", i + 1, line.trim()))
        .collect();
    assert!(undocumented.is_empty(), "{}", undocumented.join("\n"));
    // And no export without a caller: `header` had none.
    assert!(!wit.contains("header: func"), "an export no one calls");
}
