//! Runs a command that reads the firewall (a save command today): bounded
//! in time and output, in a process group of its own that is killed
//! whenever the run ends (a bound passed, or the run abandoned at
//! shutdown), so that nothing it started outlives it; the command itself
//! is always reaped. Should the exporter die without ending the run
//! (SIGKILL, the OOM killer), the kernel kills the command: it is started
//! with the parent-death signal. Every source's commands run through here.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

/// Stderr kept for the log; the rest is read and dropped so that a noisy
/// command cannot block on a full pipe.
const STDERR_KEPT_BYTES: usize = 4096;

/// One command to run, with its bounds.
#[derive(Debug, Clone)]
pub struct Bounded {
    /// A path, or a name looked up in `PATH` when it runs (a command
    /// installed after start-up is found).
    pub program: PathBuf,
    pub args: Vec<String>,
    pub timeout: Duration,
    /// Largest output accepted; more fails the run.
    pub max_output: usize,
    /// The flag that sets `max_output`, for the message when it is passed.
    pub max_output_flag: &'static str,
    /// The most data memory (heap and private mappings: `RLIMIT_DATA`) the
    /// command may use, so that it fails alone rather than take the
    /// exporter's memory limit (its children count against it) with it.
    pub max_memory: Option<MemoryCap>,
}

/// A command's memory bound and the flag that sets it.
#[derive(Debug, Clone, Copy)]
pub struct MemoryCap {
    pub bytes: u64,
    pub flag: &'static str,
}

/// A successful run: what the command printed.
#[derive(Debug)]
pub struct Output {
    pub stdout: Vec<u8>,
    /// Anything it wrote to stderr (up to a few KiB), for the log.
    pub stderr: String,
}

impl Output {
    /// Nothing yet, to append runs to.
    pub fn empty() -> Self {
        Self {
            stdout: Vec::new(),
            stderr: String::new(),
        }
    }

    /// `more` after this one (its stderr on a line of its own); false,
    /// and nothing appended, if the stdout together would pass `cap`.
    pub fn append(&mut self, more: Output, cap: usize) -> bool {
        if self.stdout.len() + more.stdout.len() > cap {
            return false;
        }
        self.stdout.extend_from_slice(&more.stdout);
        if !more.stderr.is_empty() {
            if !self.stderr.is_empty() {
                self.stderr.push('\n');
            }
            self.stderr.push_str(&more.stderr);
        }
        true
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} did not finish within {timeout:?} and was killed")]
    Timeout { program: String, timeout: Duration },
    #[error("{program} printed more than {limit} bytes ({flag}) and was killed")]
    TooLarge {
        program: String,
        limit: usize,
        flag: &'static str,
    },
    #[error("{program} failed ({status}){}{}", with_stderr(stderr), out_of_memory(*memory))]
    Failed {
        program: String,
        status: ExitStatus,
        stderr: String,
        /// Its memory bound, when it looks like the reason: it was killed
        /// by a signal or said so.
        memory: Option<MemoryCap>,
    },
    #[error("reading from {program}: {source}")]
    Io {
        program: String,
        source: std::io::Error,
    },
}

fn out_of_memory(memory: Option<MemoryCap>) -> String {
    memory.map_or_else(String::new, |cap| {
        format!(
            "; it may use at most {} bytes of memory ({}), and a ruleset this large probably needs more",
            cap.bytes, cap.flag
        )
    })
}

/// The command's stderr for a message, escaped: it is the command's text,
/// and its line breaks must not start lines of their own in the log.
fn with_stderr(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {}", stderr.escape_debug())
    }
}

impl Bounded {
    /// What the command is called in messages: the program and its
    /// arguments.
    pub fn name(&self) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The same command and bounds with `args`.
    pub fn with_args<'a>(&self, args: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            args: args.into_iter().map(str::to_owned).collect(),
            ..self.clone()
        }
    }

    /// The error for output past the cap.
    pub fn too_large(&self) -> Error {
        Error::TooLarge {
            program: self.name(),
            limit: self.max_output,
            flag: self.max_output_flag,
        }
    }

    /// Runs the command with no stdin; its stdout, or why not.
    pub async fn run(&self) -> Result<Output, Error> {
        let program = self.name();
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that a wrapper script's children are
            // killed with it; and killed if this future is dropped.
            .process_group(0)
            .kill_on_drop(true);
        die_with_the_exporter(&mut command);
        if let Some(cap) = self.max_memory {
            limit_memory(&mut command, cap.bytes);
        }
        let mut child = command.spawn().map_err(|source| Error::Spawn {
            program: program.clone(),
            source,
        })?;
        let group = KillGroupOnDrop(child.id().and_then(|id| i32::try_from(id).ok()));
        let outcome = tokio::time::timeout(self.timeout, self.finish(&mut child, &program)).await;
        let result = match outcome {
            Ok(result) => result,
            Err(_elapsed) => Err(Error::Timeout {
                program: program.clone(),
                timeout: self.timeout,
            }),
        };
        if result.is_err() {
            group.kill();
            let _ = child.start_kill();
            if let Err(err) = child.wait().await {
                tracing::warn!(%err, "reaping a killed command");
            }
        }
        result
    }

    async fn finish(&self, child: &mut Child, program: &str) -> Result<Output, Error> {
        let io = |source| Error::Io {
            program: program.to_owned(),
            source,
        };
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (stdout, stderr) =
            tokio::try_join!(read_capped(stdout, self.max_output), read_stderr(stderr))
                .map_err(io)?;
        let Some(stdout) = stdout else {
            return Err(self.too_large());
        };
        let status = child.wait().await.map_err(io)?;
        if !status.success() {
            // nft aborts on a failed allocation (an assertion in its JSON
            // printer) or says so; anything else is not blamed on memory.
            let starved = status.signal().is_some()
                || ["memory", "alloc", "Assertion"]
                    .iter()
                    .any(|word| stderr.contains(word));
            return Err(Error::Failed {
                program: program.to_owned(),
                status,
                memory: self.max_memory.filter(|_| starved),
                stderr,
            });
        }
        Ok(Output { stdout, stderr })
    }
}

/// Has the kernel send SIGKILL to the command when the exporter dies, so
/// that a killed exporter (which never gets to kill the process group)
/// leaves no save command running. Every command the exporter starts goes
/// through here.
///
/// The signal is tied to the thread that starts the command, not the
/// process: commands are started from the async runtime's worker threads,
/// which live as long as the runtime (the exporter never moves a worker
/// off its thread with `block_in_place`).
fn die_with_the_exporter(command: &mut Command) {
    let exporter = std::process::id();
    let set_death_signal = move || {
        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
            .map_err(std::io::Error::from)?;
        // The exporter may have died between the fork and the line above:
        // then the signal will never come, and the command must not run.
        if u32::try_from(nix::unistd::getppid().as_raw()).ok() != Some(exporter) {
            return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
        }
        Ok(())
    };
    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe calls are allowed: it makes two system calls
    // (prctl, getppid) and allocates nothing (its errors are OS error
    // codes).
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(set_death_signal);
    }
}

/// Sets the command's `RLIMIT_DATA` (heap and private writable mappings,
/// not shared libraries) to `bytes`: past it allocations fail in the
/// command, and it fails on its own.
fn limit_memory(command: &mut Command, bytes: u64) {
    use nix::sys::resource::{Resource, setrlimit};
    let set_limit =
        move || setrlimit(Resource::RLIMIT_DATA, bytes, bytes).map_err(std::io::Error::from);
    // SAFETY: runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: one system call (setrlimit),
    // no allocation (its error is an OS error code).
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(set_limit);
    }
}

/// Reads everything, or `None` as soon as more than `limit` bytes arrive.
async fn read_capped(
    pipe: Option<impl AsyncRead + Unpin>,
    limit: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let Some(pipe) = pipe else {
        return Ok(Some(Vec::new()));
    };
    let mut buf = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    pipe.take(cap).read_to_end(&mut buf).await?;
    Ok((buf.len() <= limit).then_some(buf))
}

async fn read_stderr(pipe: Option<impl AsyncRead + Unpin>) -> std::io::Result<String> {
    let Some(mut pipe) = pipe else {
        return Ok(String::new());
    };
    let mut kept = Vec::new();
    (&mut pipe)
        .take(STDERR_KEPT_BYTES as u64)
        .read_to_end(&mut kept)
        .await?;
    tokio::io::copy(&mut pipe, &mut tokio::io::sink()).await?;
    Ok(String::from_utf8_lossy(&kept).trim_end().to_owned())
}

/// The save command's process group (its id is the command's pid), killed
/// when the run ends however it ends: returned, failed, or dropped (a
/// collection abandoned at shutdown). A group already gone is no error.
struct KillGroupOnDrop(Option<i32>);

impl KillGroupOnDrop {
    fn kill(&self) {
        if let Some(group) = self.0 {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
    }
}

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Finds `program` the way a shell would: a path with a `/` as it is,
/// otherwise the first executable of that name in `PATH`.
pub fn resolve(program: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.components().count() > 1 || program.is_absolute() {
        return executable(program).then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| executable(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::tests::script;

    fn command(path: &Path) -> Bounded {
        Bounded {
            program: path.to_path_buf(),
            args: vec!["-c".into()],
            // Far above what any of these scripts needs, even on a loaded machine.
            timeout: Duration::from_secs(30),
            max_output: 1024,
            max_output_flag: "--iptables.max-output",
            max_memory: None,
        }
    }

    #[tokio::test]
    async fn a_command_past_its_memory_bound_fails_and_the_error_says_so() {
        // dd allocates its block size at once: 64 MiB is past a 16 MiB bound.
        let path = script("exec dd if=/dev/zero of=/dev/null bs=64M count=1");
        let mut bounded = command(&path);
        bounded.max_memory = Some(MemoryCap {
            bytes: 16 << 20,
            flag: "--nftables.max-memory",
        });
        let err = bounded.run().await.expect_err("dd cannot allocate 64 MiB");
        let message = err.to_string();
        assert!(
            message.contains("dd") && message.contains("memory"),
            "{message}"
        );
        assert!(
            message.contains("at most 16777216 bytes of memory (--nftables.max-memory)"),
            "{message}"
        );
        // Without the bound the same command runs.
        bounded.max_memory = None;
        bounded.run().await.expect("dd with no bound");
    }

    #[tokio::test]
    async fn passes_its_arguments_and_returns_stdout() {
        let path = script(r#"echo "args: $*"; echo warning >&2"#);
        let out = command(&path).run().await.expect("runs");
        assert_eq!(out.stdout, b"args: -c\n");
        assert_eq!(out.stderr, "warning");
    }

    #[tokio::test]
    async fn non_zero_exit_is_an_error_with_stderr() {
        let path = script("echo partial; echo 'no table' >&2; exit 3");
        match command(&path).run().await {
            Err(Error::Failed { status, stderr, .. }) => {
                assert_eq!(status.code(), Some(3));
                assert_eq!(stderr, "no table");
            }
            other => panic!("expected Failed, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn output_over_the_cap_is_refused() {
        let path = script("head -c 5000 /dev/zero");
        let err = command(&path).run().await.expect_err("too large");
        assert!(
            matches!(err, Error::TooLarge { limit: 1024, .. }),
            "{err:?}"
        );
    }

    /// A script that starts `sleep 30` in the background, writes its pid to
    /// a file and waits; returns the script and the pid file.
    fn script_with_grandchild() -> (tempfile::TempPath, tempfile::NamedTempFile) {
        let marker = tempfile::NamedTempFile::new().expect("temp");
        let path = script(&format!(
            "sleep 30 & echo $! > {}; wait",
            marker.path().display()
        ));
        (path, marker)
    }

    /// Polls of 20 ms before a wait for a state fails: 30 s, for a loaded
    /// machine.
    const POLLS: usize = 1500;

    /// The pid in `marker`, once the script has written it.
    fn grandchild_pid(marker: &Path) -> i32 {
        for _ in 0..POLLS {
            if let Ok(pid) = std::fs::read_to_string(marker)
                .unwrap_or_default()
                .trim()
                .parse()
            {
                return pid;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the script never wrote its child's pid");
    }

    /// Whether `pid` is gone (or a zombie) within the polls.
    fn ends(pid: i32) -> bool {
        (0..POLLS).any(|_| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ended = stat.is_empty() || stat.contains(") Z ");
            if !ended {
                std::thread::sleep(Duration::from_millis(20));
            }
            ended
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hanging_command_is_killed_with_its_children() {
        let (path, marker) = script_with_grandchild();
        let mut cmd = command(&path);
        // Long enough for the script to start its child on a loaded
        // machine; the test waits for that before the timeout fires.
        cmd.timeout = Duration::from_secs(3);
        let run = tokio::spawn(async move { cmd.run().await });
        let sleeper = grandchild_pid(marker.path());
        let err = run.await.expect("run").expect_err("times out");
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
        assert!(ends(sleeper), "grandchild {sleeper} survived the timeout");
    }

    // Two workers: the run goes on while this test waits on a blocking poll.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_run_kills_the_whole_group() {
        let (path, marker) = script_with_grandchild();
        let cmd = command(&path);
        let run = tokio::spawn(async move { cmd.run().await });
        let sleeper = grandchild_pid(marker.path());
        run.abort();
        assert!(run.await.is_err_and(|e| e.is_cancelled()));
        assert!(
            ends(sleeper),
            "grandchild {sleeper} survived the abandoned run"
        );
    }

    #[tokio::test]
    async fn stderr_cannot_start_a_line_of_its_own_in_a_message() {
        let path = script(r#"printf 'bad\nlevel=ERROR forged "x"' >&2; exit 1"#);
        let err = command(&path).run().await.expect_err("fails");
        let message = err.to_string();
        assert!(!message.contains('\n'), "{message}");
        assert!(
            message.ends_with(r#": bad\nlevel=ERROR forged \"x\""#),
            "{message}"
        );
    }

    #[tokio::test]
    async fn missing_program_is_a_spawn_error() {
        let err = command(Path::new("/nonexistent/iptables-save"))
            .run()
            .await
            .expect_err("missing");
        assert!(matches!(err, Error::Spawn { .. }), "{err:?}");
    }

    #[test]
    fn resolve_finds_programs_in_path_and_checks_paths() {
        assert!(resolve(Path::new("sh")).is_some());
        assert_eq!(
            resolve(Path::new("/bin/sh")),
            Some(PathBuf::from("/bin/sh"))
        );
        assert_eq!(resolve(Path::new("no-such-save-command-here")), None);
        let not_executable = tempfile::NamedTempFile::new().expect("temp file");
        assert_eq!(resolve(not_executable.path()), None);
    }
}
