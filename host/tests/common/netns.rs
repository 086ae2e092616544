//! Network namespaces for end-to-end tests: created per test, deleted on drop;
//! code runs inside one on a thread of its own (setns is per thread).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Fails the test, loudly, when not root: these tests must not skip.
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "end-to-end tests need root (network namespaces, iptables); run them as root"
    );
}

pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Self {
        require_root();
        super::require_tool("ip", "iproute2");
        // scripts/test.sh names its run, so that it can tell the
        // namespaces its tests left from those of anything else running.
        let run = std::env::var("IPTABLES_EXPORTER_TEST_RUN").unwrap_or_else(|_| "x".into());
        let name = format!(
            "ipte2e-{run}-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        run_checked(Command::new("ip").args(["netns", "add", &name]));
        let ns = Self { name };
        run_checked(Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "up"]));
        ns
    }

    /// A command that runs inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    /// Runs `program args` inside, with `stdin`, and requires success.
    pub fn run(&self, program: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let out = super::run_with_stdin(self.command(program).args(args), stdin);
        check(&format!("{program} {args:?}"), &out);
        out.stdout
    }

    /// Runs `f` on a thread that has entered the namespace, so sockets it
    /// opens live there (loopback traffic stays inside).
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = self.path();
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    enter(&path);
                    f()
                })
                .join()
                .expect("namespace thread panicked")
        })
    }

    /// Starts `f` on a thread of its own inside the namespace.
    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = self.path();
        std::thread::spawn(move || {
            enter(&path);
            f()
        })
    }

    fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }
}

impl Drop for Netns {
    /// Deletes the namespace. `ip netns del` can fail while other tests
    /// add and delete namespaces at the same moment (they share the
    /// /run/netns mount): it is tried again until the namespace is gone,
    /// and scripts/test.sh fails the suite on any namespace of its run
    /// left.
    fn drop(&mut self) {
        let mut failures = Vec::new();
        for _ in 0..50 {
            let out = Command::new("ip")
                .args(["netns", "del", &self.name])
                .output();
            match out {
                Ok(out) if out.status.success() => break,
                Ok(out) => failures.push(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
                Err(err) => failures.push(err.to_string()),
            }
            if !self.path().exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(first) = failures.first() {
            eprintln!(
                "ip netns del {} failed {} time(s), first: {first}",
                self.name,
                failures.len()
            );
        }
        if !self.path().exists() {
            return;
        }
        eprintln!("network namespace {} could not be deleted", self.name);
    }
}

/// Moves the calling thread into the namespace at `path` (setns is per thread).
fn enter(path: &Path) {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("entering the namespace");
}

fn run_checked(command: &mut Command) {
    let out = command.output().expect("command starts");
    check(&format!("{command:?}"), &out);
}

fn check(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A child process that is killed, with everything it started, if the
/// test ends before it is stopped (a failed assertion included).
pub struct Guarded(pub Child);

impl Guarded {
    /// SIGTERM, then the exit status (bounded wait).
    pub fn terminate(mut self) -> std::process::ExitStatus {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        self.wait_exit(Duration::from_secs(15))
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.0.id()).expect("pid fits"));
        nix::sys::signal::kill(pid, signal).expect("signal sent");
    }

    /// The exit status, once the process has exited; fails the test if it
    /// is still running after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.0.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "process still running after {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            super::processes::kill_tree(pid);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
