//! The process table, read from `/proc`: what a test started and what is
//! left of it, so that no test leaves a process behind, even when it
//! fails.

use std::time::{Duration, Instant};

/// One process as `/proc/PID/stat` has it.
#[derive(Debug, Clone, Copy)]
pub struct Process {
    pub pid: i32,
    pub parent: i32,
    pub group: i32,
    /// A zombie: ended, not yet reaped.
    pub zombie: bool,
}

/// Every process that could be read. Panics when none could: a check that
/// cannot look must not pass.
pub fn table() -> Vec<Process> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("reading /proc") {
        let entry = entry.expect("a /proc entry");
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // A process may end between listing and reading: that is fine.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp …; comm may hold spaces and parens.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let number = |i: usize| fields.get(i).and_then(|f| f.parse::<i32>().ok());
        let (Some(parent), Some(group)) = (number(1), number(2)) else {
            continue;
        };
        found.push(Process {
            pid,
            parent,
            group,
            zombie: fields.first() == Some(&"Z"),
        });
    }
    assert!(!found.is_empty(), "no process could be read from /proc");
    found
}

/// `root` and every process descended from it.
pub fn tree(root: i32) -> Vec<Process> {
    let all = table();
    let mut tree: Vec<Process> = all.iter().filter(|p| p.pid == root).copied().collect();
    let mut at = 0;
    while at < tree.len() {
        let parent = tree[at].pid;
        tree.extend(all.iter().filter(|p| p.parent == parent && p.pid != root));
        at += 1;
    }
    tree
}

/// Kills `root` and everything it started: each process of its tree, and
/// the whole group of each that leads a group of its own (a save command
/// and whatever its script started, which may have been re-parented
/// meanwhile). The test's own group is never signalled.
pub fn kill_tree(root: i32) {
    use nix::sys::signal::{Signal, kill, killpg};
    use nix::unistd::{Pid, getpgrp};
    let own_group = getpgrp().as_raw();
    let tree = tree(root);
    for process in &tree {
        let _ = kill(Pid::from_raw(process.pid), Signal::SIGKILL);
    }
    for process in &tree {
        if process.group == process.pid && process.group != own_group {
            let _ = killpg(Pid::from_raw(process.group), Signal::SIGKILL);
        }
    }
}

/// Pids of the live processes (not zombies) in process group `group`.
pub fn live_in_group(group: i32) -> Vec<i32> {
    table()
        .into_iter()
        .filter(|p| p.group == group && !p.zombie)
        .map(|p| p.pid)
        .collect()
}

/// Whether process `pid` is running (not gone, not a zombie).
pub fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rfind(')')
        .and_then(|close| stat[close + 1..].split_whitespace().next());
    matches!(state, Some(state) if state != "Z" && state != "X")
}

/// Waits until `pid` has ended, failing after `patience`.
pub fn wait_until_gone(pid: i32, patience: Duration) {
    let deadline = Instant::now() + patience;
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "process {pid} still running after {patience:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
