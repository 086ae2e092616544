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

use crate::basic_auth::Users;
use hyper::header::{HeaderName, HeaderValue};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoClientAuth, WebPkiClientVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

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

type FieldError = (&'static str, String);

fn tls_config(tls: &TlsFile, dir: &Path) -> Result<ServerConfig, FieldError> {
    const AT: &str = "tls_server_config";
    for (name, given) in [
        ("client_allowed_sans", tls.client_allowed_sans.is_some()),
        ("cipher_suites", tls.cipher_suites.is_some()),
        ("curve_preferences", tls.curve_preferences.is_some()),
    ] {
        if given {
            return Err((
                "tls_server_config",
                format!(
                    "{name} is not supported: rustls chooses its own safe cipher suites and curves, and client certificates are checked against client_ca_file only"
                ),
            ));
        }
    }
    if tls.prefer_server_cipher_suites == Some(false) {
        tracing::warn!(
            "tls_server_config.prefer_server_cipher_suites: false has no effect: rustls orders cipher suites itself"
        );
    }
    let cert_file = tls
        .cert_file
        .as_deref()
        .ok_or((AT, "cert_file is missing".to_owned()))?;
    let key_file = tls
        .key_file
        .as_deref()
        .ok_or((AT, "key_file is missing".to_owned()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions = versions(tls.min_version.as_deref(), tls.max_version.as_deref())?;
    let verifier = client_verifier(tls, dir, &provider)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join(cert_file))
        .and_then(|certs| certs.collect())
        .map_err(|e| ("tls_server_config.cert_file", format!("{cert_file}: {e}")))?;
    if certs.is_empty() {
        return Err((
            "tls_server_config.cert_file",
            format!("{cert_file}: no certificate"),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(dir.join(key_file))
        .map_err(|e| ("tls_server_config.key_file", format!("{key_file}: {e}")))?;
    ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| ("tls_server_config.min_version", e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map(|mut config| {
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            config
        })
        .map_err(|e| ("tls_server_config.key_file", format!("{key_file}: {e}")))
}

/// The versions from `min_version` to `max_version` (exporter-toolkit's
/// names; default TLS12 to TLS13). TLS10 and TLS11 as a minimum mean
/// TLS12: rustls has nothing older.
fn versions(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, FieldError> {
    let rank = |field: &'static str, name: &str| match name {
        "TLS10" => Ok(10),
        "TLS11" => Ok(11),
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        other => Err((
            field,
            format!("`{other}`: expected TLS10, TLS11, TLS12 or TLS13"),
        )),
    };
    let min = min.map_or(Ok(12), |m| rank("tls_server_config.min_version", m))?;
    let max = max.map_or(Ok(13), |m| rank("tls_server_config.max_version", m))?;
    if min < 12 {
        tracing::warn!(
            "tls_server_config.min_version below TLS12 means TLS12: rustls speaks TLS 1.2 and 1.3 only"
        );
    }
    let all: [(u8, &'static rustls::SupportedProtocolVersion); 2] =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)];
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|(rank, _)| (min.max(12)..=max).contains(rank))
        .map(|(_, version)| version)
        .collect();
    if chosen.is_empty() {
        return Err((
            "tls_server_config.max_version",
            "leaves no version rustls speaks (TLS12, TLS13), or is below min_version".into(),
        ));
    }
    Ok(chosen)
}

/// The client certificate check `client_auth_type` asks for.
fn client_verifier(
    tls: &TlsFile,
    dir: &Path,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, FieldError> {
    const FIELD: &str = "tls_server_config.client_auth_type";
    let kind = tls.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let verifying = matches!(
        kind,
        "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert"
    );
    let roots = match (&tls.client_ca_file, verifying) {
        (Some(ca), _) => {
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(dir.join(ca))
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| ("tls_server_config.client_ca_file", format!("{ca}: {e}")))?;
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| ("tls_server_config.client_ca_file", format!("{ca}: {e}")))?;
            }
            Some(Arc::new(roots))
        }
        (None, true) => {
            return Err((
                "tls_server_config.client_ca_file",
                format!("is required for client_auth_type {kind}"),
            ));
        }
        (None, false) => None,
    };
    let webpki = |roots: Arc<RootCertStore>| {
        WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
    };
    Ok(match (kind, roots) {
        ("NoClientCert", _) => Arc::new(NoClientAuth),
        ("RequestClientCert", _) => Arc::new(AnyClientCert::new(provider, false)),
        ("RequireAnyClientCert", _) => Arc::new(AnyClientCert::new(provider, true)),
        ("VerifyClientCertIfGiven", Some(roots)) => webpki(roots)
            .allow_unauthenticated()
            .build()
            .map_err(|e| (FIELD, e.to_string()))?,
        ("RequireAndVerifyClientCert", Some(roots)) => {
            webpki(roots).build().map_err(|e| (FIELD, e.to_string()))?
        }
        (other, _) => {
            return Err((
                FIELD,
                format!(
                    "`{other}`: expected NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                ),
            ));
        }
    })
}

/// Asks for a client certificate and takes any (Go's `RequestClientCert`
/// and `RequireAnyClientCert`): the handshake still proves the client
/// holds the certificate's key.
#[derive(Debug)]
struct AnyClientCert {
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
    mandatory: bool,
}

impl AnyClientCert {
    fn new(provider: &rustls::crypto::CryptoProvider, mandatory: bool) -> Self {
        Self {
            algorithms: provider.signature_verification_algorithms,
            mandatory,
        }
    }
}

impl ClientCertVerifier for AnyClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The configuration in force, re-read when the file or a file it names
/// changes (checked on every connection and request, as exporter-toolkit
/// reads its file then). A change that fails to load is logged once and
/// the last good configuration stays.
pub struct Reloading {
    path: Option<PathBuf>,
    state: Mutex<State>,
}

struct State {
    current: Arc<WebConfig>,
    /// The file and those it named when last read, good or bad: only
    /// these are stat'ed on each check, the file is read when one changed.
    watched: Vec<PathBuf>,
    /// What they looked like then.
    seen: Vec<Stamp>,
}

/// A file's identity and version: length, modification time, inode.
type Stamp = Option<(u64, SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?, meta.ino()))
}

fn stamps(paths: &[PathBuf]) -> Vec<Stamp> {
    paths.iter().map(|p| stamp(p)).collect()
}

impl Reloading {
    /// Loads `path` (none: no configuration); an error here stops
    /// start-up.
    pub fn start(path: Option<&Path>) -> Result<Self, Error> {
        let Some(path) = path else {
            return Ok(Self {
                path: None,
                state: Mutex::new(State {
                    current: Arc::new(WebConfig::none()),
                    watched: Vec::new(),
                    seen: Vec::new(),
                }),
            });
        };
        let Read {
            watched,
            seen,
            config,
        } = read(path);
        let current = Arc::new(config?);
        Ok(Self {
            path: Some(path.to_owned()),
            state: Mutex::new(State {
                current,
                watched,
                seen,
            }),
        })
    }

    /// Whether the listener speaks TLS (fixed at start-up).
    pub fn tls(&self) -> bool {
        self.lock().current.tls.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every change is one assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The configuration in force, re-read first if a file changed.
    pub fn current(&self) -> Arc<WebConfig> {
        let Some(path) = &self.path else {
            return self.lock().current.clone();
        };
        let mut state = self.lock();
        if stamps(&state.watched) == state.seen {
            return state.current.clone();
        }
        let read = read(path);
        state.watched = read.watched;
        state.seen = read.seen;
        match read.config {
            Ok(config) if config.tls.is_some() != state.current.tls.is_some() => {
                tracing::error!(path = %path.display(), "web configuration not reloaded: turning TLS on or off needs a restart; the last good configuration stays");
            }
            // A file being rewritten in place (truncated, then written) is
            // empty or cut short for a moment, and would load as "no
            // users": never let a reload open the door.
            Ok(config) if config.users.is_none() && state.current.users.is_some() => {
                tracing::error!(path = %path.display(), "web configuration not reloaded: turning basic auth off needs a restart; the last good configuration stays");
            }
            Ok(config) => {
                tracing::info!(path = %path.display(), "web configuration reloaded");
                state.current = Arc::new(config);
            }
            Err(err) => {
                tracing::error!(%err, "web configuration not reloaded; the last good configuration stays");
            }
        }
        state.current.clone()
    }
}

#[cfg(test)]
mod tests {
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
