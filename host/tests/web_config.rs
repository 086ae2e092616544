//! `--web.config.file`: TLS with client certificates, basic auth and
//! headers, checked with a real TLS client (rustls) and a real Prometheus;
//! the file re-read when it or a certificate changes, and a bad change
//! leaving the last good configuration in force.

use crate::common;

use base64::Engine as _;
use common::exporter::{Exporter, cat_fixture, start_failure};
use common::netns::Netns;
use common::prometheus::{self, Prometheus};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::client::ResolvesClientCert;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const PASSWORD: &str = "s3cret pass";

/// A CA, a server certificate for localhost and 127.0.0.1 and a client
/// certificate, all written as PEM into a directory.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca =
            CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
        let pki = Self {
            dir: tempfile::tempdir().expect("tempdir"),
            ca,
        };
        std::fs::write(pki.path("ca.crt"), pki.ca.pem()).expect("ca");
        pki.issue("server", &["localhost", "127.0.0.1"]);
        pki.issue("client", &["prometheus"]);
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `NAME.crt` and `NAME.key` (replacing them by a rename, as
    /// certificate tools do); returns the certificate.
    fn issue(&self, name: &str, names: &[&str]) -> CertificateDer<'static> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(names)
            .expect("params")
            .signed_by(&key, &self.ca)
            .expect("signed");
        replace(&self.path(&format!("{name}.crt")), &cert.pem());
        replace(&self.path(&format!("{name}.key")), &key.serialize_pem());
        cert.der().clone()
    }

    /// A client trusting the CA, speaking `versions`, with the client
    /// certificate or none.
    fn client(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
        with_cert: bool,
    ) -> Arc<ClientConfig> {
        self.client_with(versions, with_cert.then_some("client"))
    }

    /// A client trusting the CA, presenting the certificate `NAME.crt`
    /// (with `NAME.key`), if given.
    fn client_with(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
        cert: Option<&str>,
    ) -> Arc<ClientConfig> {
        self.recording_client(versions, cert).0
    }

    /// [`Pki::client_with`], and what tells whether the server asked for
    /// a client certificate in a handshake.
    fn recording_client(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
        cert: Option<&str>,
    ) -> (Arc<ClientConfig>, Arc<RecordingResolver>) {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.der().clone()).expect("CA as root");
        let key = cert.map(|name| {
            let certs = CertificateDer::pem_file_iter(self.path(&format!("{name}.crt")))
                .expect("client cert")
                .collect::<Result<Vec<_>, _>>()
                .expect("client cert");
            let key = PrivateKeyDer::from_pem_file(self.path(&format!("{name}.key")))
                .expect("client key");
            Arc::new(CertifiedKey::from_der(certs, key, &provider).expect("client key pair"))
        });
        let resolver = Arc::new(RecordingResolver {
            key,
            asked: AtomicBool::new(false),
        });
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("versions")
            .with_root_certificates(roots)
            .with_client_cert_resolver(resolver.clone());
        // Every connection a full handshake: a resumed one asks for no
        // certificate.
        config.resumption = rustls::client::Resumption::disabled();
        (Arc::new(config), resolver)
    }
}

/// A client's certificate, handed out when the server asks for one; it
/// remembers whether it was asked (rustls asks the resolver only then).
#[derive(Debug)]
struct RecordingResolver {
    key: Option<Arc<CertifiedKey>>,
    asked: AtomicBool,
}

impl ResolvesClientCert for RecordingResolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, Ordering::SeqCst);
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

/// Writes `path` through a temporary file and a rename.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

const ALL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];
const TLS12_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

/// A response over TLS: the server's certificate and the raw response.
struct TlsResponse {
    server_cert: CertificateDer<'static>,
    text: String,
}

impl TlsResponse {
    fn status(&self) -> Option<u16> {
        self.text.get(9..12)?.parse().ok()
    }

    fn header(&self, name: &str) -> Option<String> {
        let head = self.text.split("\r\n\r\n").next()?;
        head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// `GET path` over TLS with `auth` as (user, password); an error when the
/// handshake or the exchange fails.
fn tls_get(
    address: &str,
    client: Arc<ClientConfig>,
    path: &str,
    auth: Option<(&str, &str)>,
) -> std::io::Result<TlsResponse> {
    let tcp = TcpStream::connect(address)?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let name = ServerName::try_from("localhost").expect("name");
    let connection = ClientConnection::new(client, name).map_err(std::io::Error::other)?;
    let mut tls = StreamOwned::new(connection, tcp);
    let mut request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n");
    if let Some((user, password)) = auth {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Authorization: Basic {encoded}\r\n"));
    }
    request.push_str("\r\n");
    tls.write_all(request.as_bytes())?;
    tls.flush()?;
    let mut body = Vec::new();
    match tls.read_to_end(&mut body) {
        Ok(_) => {}
        // A server that closes without close_notify after a whole response.
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof && !body.is_empty() => {}
        Err(err) => return Err(err),
    }
    let server_cert = tls
        .conn
        .peer_certificates()
        .and_then(|certs| certs.first().cloned())
        .ok_or_else(|| std::io::Error::other("no server certificate"))?;
    Ok(TlsResponse {
        server_cert,
        text: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn web_config(pki: &Pki, extra_tls: &str) -> String {
    let hash = bcrypt::hash(PASSWORD, 4).expect("hash");
    format!(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\n{extra_tls}http_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  prometheus: '{hash}'\n",
        pki.path("ca.crt").display()
    )
}

fn start(pki: &Pki, config: &str) -> (Exporter, PathBuf) {
    let file = pki.path("web.yml");
    replace(&file, config);
    let save = cat_fixture(pki.dir.path(), "save", "spec-example.ipv4.rules");
    let flag = format!("--web.config.file={}", file.display());
    (Exporter::ipv4(&save, &[&flag]), file)
}

#[test]
fn tls_with_client_certificates_and_basic_auth() {
    let pki = Pki::new();
    let (exporter, _) = start(&pki, &web_config(&pki, ""));
    let address = exporter.address.clone();
    let good = pki.client(ALL_VERSIONS, true);
    let auth = Some(("prometheus", PASSWORD));

    let ok = tls_get(&address, good.clone(), "/metrics", auth).expect("scrape");
    assert_eq!(ok.status(), Some(200), "{}", ok.text);
    assert!(
        ok.text.contains("iptables_rules{family=\"ipv4\""),
        "{}",
        ok.text
    );
    assert_eq!(ok.header("X-Frame-Options").as_deref(), Some("deny"));

    for (what, auth) in [
        ("a wrong password", Some(("prometheus", "wrong"))),
        ("an unknown user", Some(("nobody", PASSWORD))),
        ("no credentials", None),
    ] {
        for path in ["/metrics", "/-/healthy", "/-/ready", "/nothing"] {
            let refused = tls_get(&address, good.clone(), path, auth).expect("answers");
            assert_eq!(
                refused.status(),
                Some(401),
                "{what} on {path}: {}",
                refused.text
            );
            assert!(
                refused
                    .header("WWW-Authenticate")
                    .is_some_and(|h| h.starts_with("Basic ")),
                "{what}: {}",
                refused.text
            );
            assert_eq!(refused.header("X-Frame-Options").as_deref(), Some("deny"));
        }
    }
    // The landing page's static text is open.
    let landing = tls_get(&address, good.clone(), "/", None).expect("landing");
    assert_eq!(landing.status(), Some(200));

    // 16 scrapes at once, all let in.
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (address, good) = (address.clone(), good.clone());
            std::thread::spawn(move || {
                tls_get(&address, good, "/-/healthy", Some(("prometheus", PASSWORD)))
                    .map(|r| r.status())
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().expect("thread").expect("answers"), Some(200));
    }

    // No client certificate: no response.
    let anonymous = tls_get(&address, pki.client(ALL_VERSIONS, false), "/metrics", auth);
    assert!(
        anonymous.as_ref().map_or(true, |r| r.status().is_none()),
        "served without a client certificate: {:?}",
        anonymous.map(|r| r.text)
    );

    // Plain HTTP on the TLS port: nothing served.
    let mut plain = TcpStream::connect(&address).expect("connect");
    plain
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    plain
        .write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    // The server ends the connection (a close or a reset): a read that
    // times out instead would mean it kept the connection open.
    match plain.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(err) => panic!("plain HTTP on the TLS port: {err}"),
    }
    assert!(
        !String::from_utf8_lossy(&answer).contains("iptables_"),
        "plain HTTP got metrics"
    );
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plain HTTP got an HTTP answer"
    );
}

/// Each `client_auth_type` asks for and lets in what Go's crypto/tls
/// would: no certificate, a certificate from a CA the server does not
/// trust (a stranger), or one from `client_ca_file`. Each row differs from
/// the one before in something a client sees, so that waiting for the row
/// proves that its reload took effect.
#[test]
fn every_client_auth_type_admits_what_it_says() {
    let pki = Pki::new();
    // A client certificate from a CA of its own.
    let stranger = Pki::new();
    for file in ["client.crt", "client.key"] {
        std::fs::copy(
            stranger.path(file),
            pki.path(&format!("stranger{}", &file[6..])),
        )
        .expect("copy");
    }
    let (exporter, file) = start(&pki, &web_config(&pki, ""));
    let auth = Some(("prometheus", PASSWORD));
    // Whether a client with `cert` was asked for a certificate, and served.
    let try_with = |cert: Option<&str>| {
        let (client, resolver) = pki.recording_client(ALL_VERSIONS, cert);
        let served = tls_get(&exporter.address, client, "/-/healthy", auth)
            .ok()
            .and_then(|r| r.status())
            == Some(200);
        (resolver.asked.load(Ordering::SeqCst), served)
    };
    let seen = || Row {
        asks: try_with(None).0,
        none: try_with(None).1,
        strange: try_with(Some("stranger")).1,
        trusted: try_with(Some("client")).1,
    };
    let row = |asks, none, strange, trusted| Row {
        asks,
        none,
        strange,
        trusted,
    };
    let cases = [
        ("NoClientCert", row(false, true, true, true)),
        ("RequestClientCert", row(true, true, true, true)),
        ("RequireAnyClientCert", row(true, false, true, true)),
        ("VerifyClientCertIfGiven", row(true, true, false, true)),
        ("RequireAndVerifyClientCert", row(true, false, false, true)),
    ];
    let mut previous = row(true, false, false, true);
    for (kind, want) in cases {
        assert_ne!(want, previous, "{kind}: a reload could not be told apart");
        let config = web_config(&pki, "").replace(
            "client_auth_type: RequireAndVerifyClientCert",
            &format!("client_auth_type: {kind}"),
        );
        replace(&file, &config);
        // The file is re-read by the next connection.
        eventually(&format!("{kind} in force"), || seen() != previous);
        assert_eq!(seen(), want, "{kind}");
        previous = want;
    }
}

/// What a client sees of a `client_auth_type`: whether it is asked for a
/// certificate, and whether it is served with none, a stranger's or a
/// trusted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row {
    asks: bool,
    none: bool,
    strange: bool,
    trusted: bool,
}

/// Waits until `check` holds for a new connection.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + common::exporter::PATIENCE;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {:?}",
            common::exporter::PATIENCE
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn changes_take_effect_on_the_next_connection_and_bad_ones_are_refused() {
    let pki = Pki::new();
    let (mut exporter, file) = start(&pki, &web_config(&pki, ""));
    let address = exporter.address.clone();
    let auth = Some(("prometheus", PASSWORD));
    let status = |versions, path: &str| {
        tls_get(&address, pki.client(versions, true), path, auth)
            .ok()
            .and_then(|r| r.status())
    };
    assert_eq!(
        status(TLS12_ONLY, "/-/healthy"),
        Some(200),
        "TLS 1.2 allowed by default"
    );

    // TLS 1.3 only: a TLS 1.2 client is refused from the next connection.
    replace(&file, &web_config(&pki, "  min_version: TLS13\n"));
    eventually("a TLS 1.2 client refused", || {
        status(TLS12_ONLY, "/-/healthy").is_none()
    });
    assert_eq!(status(ALL_VERSIONS, "/-/healthy"), Some(200));

    // A certificate replaced on disk is served on the next connection.
    let new_cert = pki.issue("server", &["localhost", "127.0.0.1"]);
    let client = pki.client(ALL_VERSIONS, true);
    eventually("the new certificate served", || {
        tls_get(&address, client.clone(), "/-/healthy", auth)
            .is_ok_and(|r| r.server_cert == new_cert)
    });

    // A broken file is logged (once the next connection reads it) and the
    // last good configuration stays.
    replace(&file, "tls_server_config: [not, a, map]\n");
    assert_eq!(status(ALL_VERSIONS, "/-/healthy"), Some(200));
    exporter.wait_for_log("web configuration not reloaded", 1);
    assert_eq!(
        status(TLS12_ONLY, "/-/healthy"),
        None,
        "the last good one has TLS 1.3 only"
    );
    // Turning TLS off needs a restart.
    replace(&file, "basic_auth_users: {}\n");
    assert_eq!(status(ALL_VERSIONS, "/-/healthy"), Some(200));
    exporter.wait_for_log("turning TLS on or off needs a restart", 1);
    // A file cut before its users (rewritten in place) keeps TLS but would
    // drop auth: refused too.
    let whole = web_config(&pki, "  min_version: TLS13\n");
    let cut = &whole[..whole.find("basic_auth_users").expect("users")];
    std::fs::write(&file, cut).expect("write in place");
    let anonymous = || {
        tls_get(&address, pki.client(ALL_VERSIONS, true), "/metrics", None)
            .ok()
            .and_then(|r| r.status())
    };
    assert_eq!(anonymous(), Some(401));
    exporter.wait_for_log("turning basic auth off needs a restart", 1);
    assert_eq!(anonymous(), Some(401));
}

/// `Authorization` for `user` and `password`.
fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// The status of `GET /metrics` over plain HTTP, with credentials if given.
fn plain_status(address: &str, auth: Option<(&str, &str)>) -> u16 {
    let header = auth.map(|(user, password)| basic(user, password));
    let headers: Vec<(&str, &str)> = header
        .iter()
        .map(|value| ("Authorization", value.as_str()))
        .collect();
    common::http::get_with(address, "/metrics", &headers)
        .expect("answers")
        .status
}

/// A file rewritten in place (`cat >`, `tee`, an editor, Python's
/// `open('w')`) is empty or cut short for a moment. None of those moments
/// may load as "no users": every request without credentials in between
/// is refused, and each cut file is logged as not reloaded.
#[test]
fn a_file_rewritten_in_place_never_turns_auth_off() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("web.yml");
    let whole = format!(
        "basic_auth_users:\n  prometheus: '{}'\n",
        bcrypt::hash(PASSWORD, 4).expect("hash")
    );
    std::fs::write(&file, &whole).expect("write");
    let save = cat_fixture(dir.path(), "save", "spec-example.ipv4.rules");
    let flag = format!("--web.config.file={}", file.display());
    let exporter = Exporter::ipv4(&save, &[&flag]);
    let address = exporter.address.clone();
    assert_eq!(plain_status(&address, None), 401);
    assert_eq!(plain_status(&address, Some(("prometheus", PASSWORD))), 200);
    // Each a moment of an in-place rewrite: lengths differ, so each is
    // seen as a change.
    let cuts = [
        String::new(),
        "basic_auth_users:\n".to_owned(),
        whole[..whole.len() - 20].to_owned(),
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n".to_owned(),
    ];
    for (seen, cut) in cuts.iter().enumerate() {
        std::fs::write(&file, cut).expect("write in place");
        let deadline = Instant::now() + common::exporter::PATIENCE;
        while exporter
            .log()
            .matches("web configuration not reloaded")
            .count()
            <= seen
        {
            assert_eq!(plain_status(&address, None), 401, "let in during {cut:?}");
            assert!(Instant::now() < deadline, "{cut:?} never read");
        }
        assert_eq!(plain_status(&address, None), 401, "let in after {cut:?}");
    }
    assert!(
        exporter
            .log()
            .contains("turning basic auth off needs a restart"),
        "{}",
        exporter.log()
    );
    // The whole file again: served as before.
    std::fs::write(&file, &whole).expect("write in place");
    eventually("the whole file reloaded", || {
        plain_status(&address, Some(("prometheus", PASSWORD))) == 200
            && exporter.log().contains("web configuration reloaded")
    });
    assert_eq!(plain_status(&address, None), 401);
}

/// A password checked once is remembered, and forgotten when the file
/// changes: a user's old password stops working with the next request.
#[test]
fn a_changed_password_is_not_let_in_from_the_cache() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("web.yml");
    let users = |password: &str| {
        format!(
            "basic_auth_users:\n  prometheus: '{}'\n",
            bcrypt::hash(password, 4).expect("hash")
        )
    };
    replace(&file, &users(PASSWORD));
    let save = cat_fixture(dir.path(), "save", "spec-example.ipv4.rules");
    let flag = format!("--web.config.file={}", file.display());
    let exporter = Exporter::ipv4(&save, &[&flag]);
    let address = exporter.address.clone();
    // Twice: the second is answered from the cache.
    for _ in 0..2 {
        assert_eq!(plain_status(&address, Some(("prometheus", PASSWORD))), 200);
    }
    replace(&file, &users("new pass"));
    eventually("the new password in force", || {
        plain_status(&address, Some(("prometheus", "new pass"))) == 200
    });
    assert_eq!(plain_status(&address, Some(("prometheus", PASSWORD))), 401);
}

#[test]
fn a_file_that_does_not_load_stops_start_up_naming_the_field() {
    let pki = Pki::new();
    let cases = [
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS14\n",
            "tls_server_config.min_version: `TLS14`",
        ),
        (
            "tls_server_config:\n  cert_file: nothing.crt\n  key_file: server.key\n",
            "tls_server_config.cert_file: nothing.crt",
        ),
        (
            "basic_auth_users:\n  prometheus: secret\n",
            "basic_auth_users: prometheus: not a bcrypt hash",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n",
            "client_ca_file: is required",
        ),
    ];
    for (text, want) in cases {
        let file = pki.path("bad.yml");
        replace(&file, text);
        let (status, log) = start_failure(&[
            "--iptables.families=ipv4",
            &format!("--web.config.file={}", file.display()),
        ]);
        assert!(!status.success(), "{text}");
        assert!(log.contains(want), "{text}: {log}");
    }
}

/// A real Prometheus scrapes over HTTPS with basic auth and a client
/// certificate (in a network namespace, as root).
#[test]
fn prometheus_scrapes_over_https_with_basic_auth_and_a_client_certificate() {
    const ADDRESS: &str = "127.0.0.1:9455";
    let pki = Pki::new();
    let ns = Netns::new("tls");
    let file = pki.path("web.yml");
    replace(&file, &web_config(&pki, "  min_version: TLS13\n"));
    let save = cat_fixture(pki.dir.path(), "save", "spec-example.ipv4.rules");
    let mut exporter = ns.command(env!("CARGO_BIN_EXE_iptables-exporter"));
    exporter.args([
        format!("--iptables.save-path={}", save.display()),
        "--iptables.families=ipv4".into(),
        format!("--web.listen-address={ADDRESS}"),
        format!("--web.config.file={}", file.display()),
    ]);
    let _exporter = Exporter::spawn(exporter);
    let password_file = pki.path("password");
    std::fs::write(&password_file, PASSWORD).expect("password file");
    let prometheus = Prometheus::start(
        &ns,
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: https\n    scheme: https\n    tls_config:\n      ca_file: {ca}\n      cert_file: {cert}\n      key_file: {key}\n      server_name: localhost\n      min_version: TLS13\n    basic_auth:\n      username: prometheus\n      password_file: {password}\n    static_configs:\n      - targets: ['{ADDRESS}']\n",
            ca = pki.path("ca.crt").display(),
            cert = pki.path("client.crt").display(),
            key = pki.path("client.key").display(),
            password = password_file.display(),
        ),
    );
    ns.enter(|| {
        common::http::wait_for_listener(prometheus::ADDRESS, Duration::from_secs(30));
        prometheus::wait_for(
            &prometheus,
            Duration::from_secs(60),
            "Prometheus scrapes over HTTPS: up and iptables_scrape_success are 1",
            || {
                let up = prometheus::query_value("up{job=\"https\"}")?;
                let success = prometheus::query_value(
                    "iptables_scrape_success{job=\"https\",family=\"ipv4\"}",
                )?;
                (up == 1.0 && success == 1.0).then_some(())
            },
        );
        let rules = prometheus::query_value(
            "iptables_rules{job=\"https\",table=\"filter\",chain=\"INPUT\"}",
        );
        assert_eq!(rules, Some(3.0));
    });
}
