//! The `tls_server_config` section: a rustls server configuration with
//! the protocol versions and client certificate checks it names.

use super::TlsFile;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoClientAuth, WebPkiClientVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};
use std::path::Path;
use std::sync::Arc;

/// A field (its path in the file) and what is wrong with it.
pub(super) type FieldError = (&'static str, String);

pub(super) fn tls_config(tls: &TlsFile, dir: &Path) -> Result<ServerConfig, FieldError> {
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
pub(super) fn versions(
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
