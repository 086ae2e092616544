//! A real Prometheus server, started inside a network namespace, and its
//! HTTP API (queried from a thread inside the same namespace).

use super::http;
use super::netns::{Guarded, Netns};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Where Prometheus listens, inside its namespace.
pub const ADDRESS: &str = "127.0.0.1:9090";

pub struct Prometheus {
    _process: Guarded,
    log: tempfile::NamedTempFile,
    _data: tempfile::TempDir,
}

impl Prometheus {
    /// Starts `prometheus` in `ns` with `config` (YAML) and a fresh data dir.
    pub fn start(ns: &Netns, config: &str) -> Self {
        let binary = super::require_tool("prometheus", "prometheus");
        let data = tempfile::tempdir().expect("temp dir");
        let config_file = data.path().join("prometheus.yml");
        std::fs::write(&config_file, config).expect("config");
        let log = tempfile::NamedTempFile::new().expect("log file");
        let process = Guarded(
            ns.command(binary)
                .arg(format!("--config.file={}", config_file.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    data.path().join("data").display()
                ))
                .arg(format!("--web.listen-address={ADDRESS}"))
                .stdout(Stdio::null())
                .stderr(log.reopen().expect("log handle"))
                .spawn()
                .expect("prometheus starts"),
        );
        Self {
            _process: process,
            log,
            _data: data,
        }
    }

    /// Prometheus in `ns` scraping `target` every second (timeout 1 s),
    /// as job `firewall`.
    pub fn every_second(ns: &Netns, target: &str) -> Self {
        Self::start(
            ns,
            &format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: firewall\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

/// `/api/v1/query?query=EXPR`: the `data.result` array, or `None` while
/// Prometheus does not answer or fails the query. Call from inside the
/// namespace.
pub fn query(expr: &str) -> Option<Vec<serde_json::Value>> {
    let path = format!("/api/v1/query?query={}", percent_encoded(expr));
    let response = http::get(ADDRESS, &path).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&response.body).ok()?;
    json["data"]["result"].as_array().cloned()
}

/// The one value of an instant query whose result is a single sample.
pub fn query_value(expr: &str) -> Option<f64> {
    let result = query(expr)?;
    let [sample] = result.as_slice() else {
        return None;
    };
    sample["value"][1].as_str()?.parse().ok()
}

/// Waits until `check` gives a value, querying every half second; fails
/// the test after `within`, with Prometheus' log.
pub fn wait_for<T>(
    prometheus: &Prometheus,
    within: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {within:?}; prometheus log:\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A value of Prometheus' own metric `name` (from its `/metrics`).
pub fn own_metric(name: &str) -> Option<f64> {
    let response = http::get(ADDRESS, "/metrics").ok()?;
    let text = String::from_utf8_lossy(&response.body).into_owned();
    http::parse_samples(&text)
        .into_iter()
        .find(|((metric, _), _)| metric == name)
        .and_then(|(_, value)| value.parse().ok())
}

fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
