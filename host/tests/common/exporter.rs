//! The built exporter as a child process, its log kept in a file for
//! assertions; and what tests need around it (fake save commands, the
//! process table).

use super::netns::Guarded;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a test waits for a state before it fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Exporter {
    pub address: String,
    pub process: Guarded,
    log: tempfile::NamedTempFile,
}

pub fn exporter_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iptables-exporter"))
}

impl Exporter {
    /// Starts `iptables-exporter ARGS --web.listen-address=127.0.0.1:0` and
    /// waits until it listens and its start-up collection has finished.
    /// Unless ARGS say otherwise, every scrape runs a collection of its own
    /// (`--iptables.min-interval=0s`), so that each answer is fresh.
    pub fn start(args: &[&str]) -> Self {
        Self::spawn(Self::command(args))
    }

    /// [`Exporter::start`] without waiting for the start-up collection (for
    /// save commands that hang).
    pub fn start_listening(args: &[&str]) -> Self {
        Self::spawn_listening(Self::command(args))
    }

    fn command(args: &[&str]) -> Command {
        let mut command = exporter_command();
        command.args(args).arg("--web.listen-address=127.0.0.1:0");
        without_optional_sources_unless_named(&mut command, args);
        if !args
            .iter()
            .any(|a| a.starts_with("--iptables.min-interval"))
        {
            command.arg("--iptables.min-interval=0s");
        }
        command
    }

    /// Starts `command` (the exporter, perhaps wrapped) and waits until it
    /// logs where it listens and that its start-up collection finished.
    pub fn spawn(command: Command) -> Self {
        let mut exporter = Self::spawn_listening(command);
        exporter.wait_for_log("first collection finished", 1);
        exporter
    }

    /// Starts `command` and waits until it logs where it listens.
    pub fn spawn_listening(mut command: Command) -> Self {
        let log = tempfile::NamedTempFile::new().expect("log file");
        let child = command
            .stdout(Stdio::null())
            .stderr(log.reopen().expect("log handle"))
            .spawn()
            .expect("exporter starts");
        let mut exporter = Self {
            address: String::new(),
            process: Guarded(child),
            log,
        };
        let line = exporter.wait_for_log("listening", 1);
        let address = if line.starts_with('{') {
            let entry: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
            entry["fields"]["address"].as_str().map(str::to_owned)
        } else {
            line.split("address=")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_owned)
        };
        exporter.address = address.unwrap_or_else(|| panic!("no address in {line}"));
        exporter
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Waits until the log has `count` lines containing `needle`; returns
    /// the last of them. Fails the test if the exporter exits first.
    pub fn wait_for_log(&mut self, needle: &str, count: usize) -> String {
        self.wait_for_log_within(needle, count, PATIENCE)
    }

    /// [`Exporter::wait_for_log`], failing after `patience`.
    pub fn wait_for_log_within(
        &mut self,
        needle: &str,
        count: usize,
        patience: Duration,
    ) -> String {
        let deadline = Instant::now() + patience;
        loop {
            let text = self.log();
            let found: Vec<&str> = text.lines().filter(|l| l.contains(needle)).collect();
            if found.len() >= count {
                return found[count - 1].to_owned();
            }
            if let Ok(Some(status)) = self.process.0.try_wait() {
                panic!("exporter exited ({status}) before logging `{needle}`; log:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "no `{needle}` (×{count}) in the log after {patience:?}; log:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal`, waits until the exporter exits (failing the test
    /// after `within`), and returns its status and whole log.
    pub fn stop(
        mut self,
        signal: nix::sys::signal::Signal,
        within: Duration,
    ) -> (ExitStatus, String) {
        self.process.signal(signal);
        let status = self.process.wait_exit(within);
        (status, self.log())
    }

    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    /// `GET /metrics`: the body as text, which must be whole: a 200, and
    /// the connection closed normally (an aborted response is reset).
    pub fn scrape(&self) -> String {
        let response = super::http::get(&self.address, "/metrics").expect("scrape");
        assert_eq!(
            response.status,
            200,
            "GET /metrics: {}; log:\n{}",
            response.headers,
            self.log()
        );
        String::from_utf8(response.body).expect("UTF-8 body")
    }

    /// Starts the exporter for IPv4 only with `save` as iptables-save.
    pub fn ipv4(save: &Path, extra: &[&str]) -> Self {
        let args = Self::ipv4_args(save, extra);
        Self::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Starts the exporter with `v4` as iptables-save and `v6` as
    /// ip6tables-save.
    pub fn both(v4: &Path, v6: &Path, extra: &[&str]) -> Self {
        let mut args = vec![
            format!("--iptables.save-path={}", v4.display()),
            format!("--ip6tables.save-path={}", v6.display()),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        Self::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// [`Exporter::ipv4`] without waiting for the start-up collection.
    pub fn ipv4_listening(save: &Path, extra: &[&str]) -> Self {
        let args = Self::ipv4_args(save, extra);
        Self::start_listening(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn ipv4_args(save: &Path, extra: &[&str]) -> Vec<String> {
        let mut args = vec![
            format!("--iptables.save-path={}", save.display()),
            "--iptables.families=ipv4".to_owned(),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        args
    }
}

/// Turns the nftables and ipset sources off unless `args` name them: they
/// are on by default wherever `nft` and `ipset` are installed, and a test
/// about iptables must not depend on the machine's own ruleset or sets.
fn without_optional_sources_unless_named(command: &mut Command, args: &[&str]) {
    for source in ["nftables", "ipset"] {
        if !args.iter().any(|a| a.contains(source)) {
            command.arg(format!("--no-collector.{source}"));
        }
    }
}

/// Runs the exporter with `args`, expecting it to refuse to start: its exit
/// status and what it printed (stderr), within a bounded wait.
pub fn start_failure(args: &[&str]) -> (ExitStatus, String) {
    let mut command = exporter_command();
    without_optional_sources_unless_named(&mut command, args);
    let mut child = Guarded(
        command
            .args(args)
            .arg("--web.listen-address=127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("exporter starts"),
    );
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the exporter kept running with {args:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.0.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("stderr");
    }
    (status, stderr)
}

/// `iptables_scrape_success{family}` in an exposition.
pub fn scrape_success(body: &str, family: &str) -> Option<String> {
    super::http::parse_exposition(body)
        .get(&(
            "iptables_scrape_success".to_owned(),
            super::http::labels(&[("family", family)]),
        ))
        .cloned()
}

/// A scrape of `exporter` in which the source `source` failed on a bad
/// listing and nothing else did: the ipv4 family is served with its rule
/// series, `{source}_scrape_success` is 0, `has_series` finds none of the
/// source's own series, and the log names the problem (`logged`).
pub fn assert_only_the_source_failed(
    exporter: &Exporter,
    source: &str,
    has_series: impl Fn(&str) -> bool,
    logged: &str,
) {
    let body = exporter.scrape();
    assert_eq!(
        scrape_success(&body, "ipv4").as_deref(),
        Some("1"),
        "{body}"
    );
    assert!(
        body.contains(&format!("\n{source}_scrape_success 0\n")),
        "{body}"
    );
    assert!(
        !has_series(&body),
        "no {source} series from a bad listing: {body}"
    );
    assert!(body.contains("iptables_rule_packets_total{"), "{body}");
    let log = exporter.log();
    assert!(
        log.contains(logged),
        "the log names the problem ({logged}):\n{log}"
    );
}

/// An executable shell script in `dir`.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).expect("create script");
    writeln!(file, "#!/bin/sh\n{body}").expect("write script");
    drop(file);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// A fake save command in `dir` that prints `fixtures/FIXTURE`.
pub fn cat_fixture(dir: &Path, name: &str, fixture: &str) -> PathBuf {
    script(
        dir,
        name,
        &format!("cat '{}'", super::fixtures().join(fixture).display()),
    )
}

/// A fake save command that appends its pid (which is also its process
/// group's id) to `runs` on every run, then waits until `release` exists
/// before printing a fixture: a scrape can be held in flight for as long
/// as a test needs, without a fixed sleep. A run still held when its
/// directory is deleted (the test is over) ends.
pub struct HeldSave {
    pub save: PathBuf,
    pub runs: PathBuf,
    pub release: PathBuf,
}

impl HeldSave {
    /// An IPv4 exporter whose start-up collection was let through, with
    /// `fixture` as the held save command of its later collections: each
    /// waits until released.
    pub fn started(dir: &Path, fixture: &str, extra: &[&str]) -> (Self, Exporter) {
        let held = Self::new(dir, fixture);
        held.release();
        let exporter = Exporter::ipv4(&held.save, extra);
        held.hold();
        (held, exporter)
    }

    pub fn new(dir: &Path, fixture: &str) -> Self {
        let runs = dir.join("runs");
        let release = dir.join("release");
        let save = script(
            dir,
            "held-save",
            &format!(
                "echo $$ >> '{}'; while [ ! -e '{}' ]; do [ -d '{}' ] || exit 1; sleep 0.01; done; cat '{}'",
                runs.display(),
                release.display(),
                dir.display(),
                super::fixtures().join(fixture).display()
            ),
        );
        Self {
            save,
            runs,
            release,
        }
    }

    /// The pids of the runs so far.
    pub fn runs(&self) -> Vec<i32> {
        std::fs::read_to_string(&self.runs)
            .unwrap_or_default()
            .lines()
            .map(|pid| pid.parse().expect("a pid"))
            .collect()
    }

    /// The pid of run `n` (from 1), once it has started.
    pub fn wait_for_run(&self, n: usize) -> i32 {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(&pid) = self.runs().get(n - 1) {
                return pid;
            }
            assert!(Instant::now() < deadline, "run {n} never started");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Lets runs print and end, this one and later ones.
    pub fn release(&self) {
        std::fs::write(&self.release, "").expect("release");
    }

    /// Holds later runs again.
    pub fn hold(&self) {
        std::fs::remove_file(&self.release).expect("hold");
    }
}

/// A fake save command that starts a child in its own process group,
/// writes the group's id (its pid) to a file and hangs: both until they
/// are killed, or their directory is deleted (the test is over).
pub struct HangingSave {
    pub save: PathBuf,
    group_file: PathBuf,
}

impl HangingSave {
    pub fn new(dir: &Path) -> Self {
        let group_file = dir.join("group");
        let save = script(
            dir,
            "hanging-save",
            &format!(
                "while [ -d '{d}' ]; do sleep 0.05; done & echo $$ > '{g}'; while [ -d '{d}' ]; do sleep 0.05; done",
                d = dir.display(),
                g = group_file.display()
            ),
        );
        Self { save, group_file }
    }

    /// The command's process group, once it has written it.
    pub fn group(&self) -> i32 {
        wait_for_file(&self.group_file);
        let deadline = Instant::now() + PATIENCE;
        loop {
            // The file may exist before its line is complete.
            if let Ok(group) = std::fs::read_to_string(&self.group_file)
                .unwrap_or_default()
                .trim()
                .parse()
            {
                return group;
            }
            assert!(Instant::now() < deadline, "no group id written");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Waits until `path` exists (a script says it got somewhere).
pub fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + PATIENCE;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until no live process is left in `group`.
pub fn wait_until_group_gone(group: i32) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = super::processes::live_in_group(group);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes {left:?} of group {group} still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
