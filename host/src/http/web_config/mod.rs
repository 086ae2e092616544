//! `--web.config.file`: TLS, response headers and basic auth, in the file
//! format node_exporter and the other official exporters share
//! (prometheus/exporter-toolkit), re-read when it or a file it names
//! changes.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt        # relative paths: from the file's directory
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert
//!   client_ca_file: ca.crt
//!   min_version: TLS13
//! http_server_config:
//!   headers:
//!     Strict-Transport-Security: max-age=31536000
//! basic_auth_users:
//!   prometheus: $2y$10$...       # bcrypt
//! ```
//!
//! TLS is rustls: it speaks TLS 1.2 and 1.3 only, chooses its own cipher
//! suites and curves (`cipher_suites`, `curve_preferences` and
//! `client_allowed_sans` are refused rather than silently ignored), and
//! serves HTTP/1.1 (`http2` is accepted and has no effect).
//!
//! Whether the listener speaks TLS is fixed at start-up: a reload that
//! would turn TLS on or off is refused like any other bad reload (logged,
//! the last good configuration stays), so that nothing is ever served in
//! plain HTTP once TLS was configured. A reload that would turn basic auth
//! off is refused the same way: a file rewritten in place is empty or cut
//! short for a moment, and must not let requests in unauthenticated.

mod reloading;
mod tls;

pub use reloading::Reloading;

use super::auth::Users;
use hyper::header::{HeaderName, HeaderValue};
use reloading::{Stamp, stamp};
use rustls::ServerConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tls::tls_config;

/// What a loaded file configures.
pub struct WebConfig {
    /// `None`: plain HTTP.
    pub tls: Option<Arc<ServerConfig>>,
    /// Added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `None`: no authentication.
    pub users: Option<Users>,
}

impl WebConfig {
    /// No file: plain HTTP, no headers, no authentication.
    pub fn none() -> Self {
        Self {
            tls: None,
            headers: Vec::new(),
            users: None,
        }
    }
}

/// Why a web configuration file cannot be used: the field and the problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: {field}: {message}")]
    Field {
        path: PathBuf,
        field: String,
        message: String,
    },
}

/// The file as written; unknown fields are errors, as in exporter-toolkit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tls_server_config: Option<TlsFile>,
    http_server_config: Option<HttpFile>,
    basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert_file: Option<String>,
    key_file: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    curve_preferences: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    /// Accepted so that exporter-toolkit files load; only HTTP/1.1 is
    /// served.
    #[allow(dead_code)]
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

/// The response headers exporter-toolkit allows, and the values it
/// accepts for the two that have fixed ones.
const HEADERS: [(&str, Option<&[&str]>); 5] = [
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
    ("Content-Security-Policy", None),
];

/// Reads and checks the file at `path`, and every file it names.
pub fn load(path: &Path) -> Result<WebConfig, Error> {
    read(path).config
}

/// One read of the file: the files to watch for a change (it and those it
/// names), what they looked like, and what the file configures.
struct Read {
    watched: Vec<PathBuf>,
    seen: Vec<Stamp>,
    config: Result<WebConfig, Error>,
}

fn read(path: &Path) -> Read {
    // Stamped before reading: a change made meanwhile is seen next time.
    let own = stamp(path);
    let file = parse(path);
    let dir = path.parent().unwrap_or(Path::new("."));
    let named = file
        .as_ref()
        .map(|file| file.named_files(dir))
        .unwrap_or_default();
    let seen = std::iter::once(own)
        .chain(named.iter().map(|p| stamp(p)))
        .collect();
    let watched = std::iter::once(path.to_owned()).chain(named).collect();
    Read {
        watched,
        seen,
        config: file.and_then(|file| configure(&file, path)),
    }
}

fn parse(path: &Path) -> Result<File, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_saphyr::from_str(&text).map_err(|err| Error::Syntax {
        path: path.to_owned(),
        message: err.to_string(),
    })
}

/// What `file`, read from `path`, configures; the files it names are read
/// here.
fn configure(file: &File, path: &Path) -> Result<WebConfig, Error> {
    let field = |field: &str, message: String| Error::Field {
        path: path.to_owned(),
        field: field.to_owned(),
        message,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let tls = match &file.tls_server_config {
        Some(tls) => Some(Arc::new(
            tls_config(tls, dir).map_err(|(f, m)| field(f, m))?,
        )),
        None => None,
    };
    let mut headers = Vec::new();
    if let Some(http) = &file.http_server_config {
        for (name, value) in http.headers.iter().flatten() {
            headers.push(header(name, value).map_err(|m| field("http_server_config.headers", m))?);
        }
    }
    let users = match &file.basic_auth_users {
        Some(users) => Some(Users::new(users).map_err(|m| field("basic_auth_users", m))?),
        None => None,
    };
    Ok(WebConfig {
        tls,
        headers,
        users,
    })
}

impl File {
    /// The files it names, from `dir` (the file's directory).
    fn named_files(&self, dir: &Path) -> Vec<PathBuf> {
        let Some(tls) = &self.tls_server_config else {
            return Vec::new();
        };
        [&tls.cert_file, &tls.key_file, &tls.client_ca_file]
            .into_iter()
            .flatten()
            .map(|name| dir.join(name))
            .collect()
    }
}

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), String> {
    let Some((_, allowed)) = HEADERS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
        let names: Vec<&str> = HEADERS.iter().map(|(n, _)| *n).collect();
        return Err(format!(
            "header `{name}` cannot be set: expected one of {}",
            names.join(", ")
        ));
    };
    if let Some(allowed) = allowed
        && !allowed.iter().any(|a| a.eq_ignore_ascii_case(value))
    {
        return Err(format!(
            "`{name}: {value}`: expected {}",
            allowed.join(" or ")
        ));
    }
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("`{name}`: {e}"))?;
    let value = HeaderValue::from_str(value).map_err(|e| format!("`{name}` value: {e}"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::tls::versions;
    use super::*;

    fn load_text(text: &str) -> Result<WebConfig, Error> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("web.yml");
        std::fs::write(&path, text).expect("write");
        load(&path)
    }

    fn message(text: &str) -> String {
        match load_text(text) {
            Ok(_) => panic!("{text:?} loaded"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn an_empty_file_configures_nothing() {
        let config = load_text("").expect("loads");
        assert!(config.tls.is_none() && config.users.is_none() && config.headers.is_empty());
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sometimes\n",
                "tls_server_config.client_auth_type: `Sometimes`: expected NoClientCert",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n",
                "tls_server_config.client_ca_file: is required",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
                "cipher_suites is not supported",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [X25519]\n",
                "curve_preferences is not supported",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [prometheus]\n",
                "client_allowed_sans is not supported",
            ),
            ("tls_server_confg: {}\n", "tls_server_confg"),
            (
                "tls_server_config:\n  key_file: k\n",
                "cert_file is missing",
            ),
            (
                "tls_server_config:\n  cert_file: missing.crt\n  key_file: k\n",
                "tls_server_config.cert_file: missing.crt",
            ),
            (
                "http_server_config:\n  headers:\n    Server: x\n",
                "http_server_config.headers: header `Server` cannot be set",
            ),
            (
                "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
                "expected deny or sameorigin",
            ),
            (
                "basic_auth_users:\n  alice: not-a-hash\n",
                "basic_auth_users: alice",
            ),
            ("basic_auth_users: [a, b]\n", "web.yml"),
        ];
        for (text, want) in cases {
            let got = message(text);
            assert!(got.contains(want), "{text:?}: {got}");
        }
    }

    #[test]
    fn http2_is_accepted_and_changes_nothing() {
        for value in ["true", "false"] {
            let config = load_text(&format!("http_server_config:\n  http2: {value}\n"))
                .unwrap_or_else(|err| panic!("http2: {value}: {err}"));
            assert!(config.tls.is_none() && config.users.is_none() && config.headers.is_empty());
        }
    }

    #[test]
    fn versions_follow_exporter_toolkit_names() {
        let names = |v: Vec<&'static rustls::SupportedProtocolVersion>| -> Vec<u16> {
            v.iter().map(|v| u16::from(v.version)).collect()
        };
        assert_eq!(
            names(versions(None, None).expect("default")),
            [0x0303, 0x0304]
        );
        assert_eq!(names(versions(Some("TLS13"), None).expect("13")), [0x0304]);
        assert_eq!(
            names(versions(Some("TLS10"), Some("TLS12")).expect("10")),
            [0x0303]
        );
        assert!(versions(Some("TLS13"), Some("TLS12")).is_err());
        assert!(
            versions(Some("SSL3"), None).is_err_and(|(f, _)| f == "tls_server_config.min_version")
        );
        assert!(versions(None, Some("TLS11")).is_err());
    }
}
