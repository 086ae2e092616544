//! The repository stands alone: the check CI runs first
//! (`scripts/check-self-contained.sh`) passes on this tree and fails on one
//! that points outside itself.

mod common;

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
