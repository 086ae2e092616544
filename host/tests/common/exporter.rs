//! The built exporter as a child process on 127.0.0.1 with a free port,
//! its log kept in a file for assertions.

use super::netns::Guarded;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Exporter {
    pub address: String,
    pub process: Guarded,
    log: tempfile::NamedTempFile,
}

impl Exporter {
    /// Starts `iptables-exporter ARGS --web.listen-address=127.0.0.1:0` and
    /// waits until it listens.
    pub fn start(args: &[&str]) -> Self {
        let log = tempfile::NamedTempFile::new().expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_iptables-exporter"))
            .args(args)
            .arg("--web.listen-address=127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(log.reopen().expect("log handle"))
            .spawn()
            .expect("exporter starts");
        let process = Guarded(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(log.path()).unwrap_or_default();
            if let Some(address) = text
                .lines()
                .find(|l| l.contains("listening"))
                .and_then(|l| l.split("address=").nth(1))
                .and_then(|rest| rest.split_whitespace().next())
            {
                return Self {
                    address: address.to_owned(),
                    process,
                    log,
                };
            }
            assert!(
                Instant::now() < deadline,
                "exporter did not start; log:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    /// `GET /metrics`: the body as text.
    pub fn scrape(&self) -> String {
        let response = super::http::get(&self.address, "/metrics").expect("scrape");
        String::from_utf8(response.body).expect("UTF-8 body")
    }

    /// Starts the exporter for IPv4 only with `save` as iptables-save.
    pub fn ipv4(save: &Path, extra: &[&str]) -> Self {
        let mut args = vec![
            format!("--iptables.save-path={}", save.display()),
            "--iptables.families=ipv4".to_owned(),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Self::start(&args)
    }
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

/// An executable shell script in `dir`.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).expect("create script");
    writeln!(file, "#!/bin/sh\n{body}").expect("write script");
    drop(file);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}
