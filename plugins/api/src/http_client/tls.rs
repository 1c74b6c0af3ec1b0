//! TLS settings of an HTTP output and the rustls client config they make: the trusted roots,
//! an optional client certificate (`cert_file` + `key_file`), and `insecure_skip_verify`,
//! which accepts any server certificate (signatures are still checked, so the handshake is
//! sound; only the identity is not).
//!
//! Trusted roots, all at once: the operating system's CAs (what curl trusts: the file named
//! by `SSL_CERT_FILE` and the directory by `SSL_CERT_DIR` when set, else the platform's store,
//! such as `/etc/ssl/certs` on Linux, read by `rustls-native-certs` once per process), the
//! Mozilla roots built into the binary (`webpki-roots`, so a container image without CA
//! certificates still reaches public endpoints), and the plugin's `ca_file`. A system
//! certificate that cannot be read is logged once and left out; the others still count.
//! The system's and webpki's roots are gathered at the first TLS handshake, not when the
//! client is made: outputs that only speak plain HTTP never pay for them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::BuildClientError;

/// TLS options shared by the HTTP outputs (keys `ca_file`, `cert_file`, `key_file`,
/// `insecure_skip_verify`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM file of CA certificates trusted in addition to the system and webpki roots.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain, for mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Accept any server certificate. For tests and self-signed endpoints only.
    pub insecure_skip_verify: bool,
}

impl TlsSettings {
    /// Checks that `cert_file` and `key_file` come together (no I/O).
    pub fn validate(&self) -> Result<(), &'static str> {
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => Err("cert_file needs key_file"),
            (None, Some(_)) => Err("key_file needs cert_file"),
            _ => Ok(()),
        }
    }

    /// The rustls config (reads the files).
    pub(super) fn client_config(&self) -> Result<ClientConfig, BuildClientError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?;
        // `insecure_skip_verify` trusts any certificate; else `ca_file` is read and checked
        // now (a bad one is a config error), and the system's and webpki's roots join it at
        // the first handshake.
        let roots = if self.insecure_skip_verify {
            None
        } else {
            let mut own = RootCertStore::empty();
            if let Some(path) = &self.ca_file {
                let certs = read_certs("ca_file", path)?;
                let (added, _ignored) = own.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(BuildClientError::Pem {
                        what: "ca_file",
                        path: path.clone(),
                        message: "no usable CA certificate".to_owned(),
                    });
                }
            }
            Some(RootsOnFirstUse {
                own,
                verifier: OnceLock::new(),
            })
        };
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ServerVerifier { provider, roots }));
        let config = match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => {
                let chain = read_certs("cert_file", cert)?;
                let key = read_key(key)?;
                builder.with_client_auth_cert(chain, key)?
            }
            _ => builder.with_no_client_auth(),
        };
        Ok(config)
    }
}

/// The operating system's trusted CA certificates, read on first use and kept for the life of
/// the process (a bundle of some 150 certificates: a few milliseconds, paid once).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!(error = %e, "a system CA certificate store could not be read; its certificates are not trusted");
        }
        tracing::debug!(
            certificates = found.certs.len(),
            "system CA certificates loaded"
        );
        found.certs
    })
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, BuildClientError> {
    std::fs::read(path).map_err(|source| BuildClientError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

fn read_certs(
    what: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, BuildClientError> {
    let pem = read(what, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| BuildClientError::Pem {
            what,
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(BuildClientError::Pem {
            what,
            path: path.to_owned(),
            message: "no PEM certificate found".to_owned(),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, BuildClientError> {
    let pem = read("key_file", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| BuildClientError::Pem {
        what: "key_file",
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Checks a server's certificate: against the trusted roots ([`RootsOnFirstUse`]), or not at
/// all with `insecure_skip_verify` (`roots` is `None`). Handshake signatures are verified
/// either way, so the handshake stays sound; only the identity goes unchecked.
#[derive(Debug)]
struct ServerVerifier {
    provider: Arc<CryptoProvider>,
    roots: Option<RootsOnFirstUse>,
}

/// The trusted roots, gathered at the first handshake: an output whose endpoints are all
/// plain HTTP never reads the system's CA store (some 150 certificates read and parsed:
/// 18.5 M instructions, 2% of a whole `logs-hec` run, and their copies kept for the life of
/// the process).
#[derive(Debug)]
struct RootsOnFirstUse {
    /// `ca_file`'s certificates (read when the client was made).
    own: RootCertStore,
    /// webpki's verifier over `own`, the system's roots and webpki's own.
    verifier: OnceLock<Result<Arc<WebPkiServerVerifier>, String>>,
}

impl RootsOnFirstUse {
    fn verifier(
        &self,
        provider: &Arc<CryptoProvider>,
    ) -> Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        let v = self.verifier.get_or_init(|| {
            let mut roots = self.own.clone();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            // Unparsable system certificates are skipped, as curl and Go skip them.
            let (_added, _ignored) = roots.add_parsable_certificates(system_roots().to_vec());
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
                .build()
                .map_err(|e| e.to_string())
        });
        v.as_ref().map_err(|e| rustls::Error::General(e.clone()))
    }
}

impl ServerVerifier {
    fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.provider.signature_verification_algorithms
    }
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.roots {
            None => Ok(ServerCertVerified::assertion()),
            Some(roots) => roots.verifier(&self.provider)?.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, self.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trusted_roots_are_gathered_at_the_first_handshake_not_before() {
        let v = ServerVerifier {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            roots: Some(RootsOnFirstUse {
                own: RootCertStore::empty(),
                verifier: OnceLock::new(),
            }),
        };
        let gathered = |v: &ServerVerifier| {
            v.roots
                .as_ref()
                .is_some_and(|r| matches!(r.verifier.get(), Some(Ok(_))))
        };
        assert!(!gathered(&v), "no roots before a handshake");
        let name = ServerName::try_from("example.com").expect("name");
        let not_a_cert = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        let res = v.verify_server_cert(&not_a_cert, &[], &name, &[], UnixTime::now());
        assert!(res.is_err(), "garbage is not a trusted certificate");
        assert!(
            gathered(&v),
            "the roots are there after the first certificate"
        );
        assert!(!v.supported_verify_schemes().is_empty());
    }

    #[test]
    fn without_roots_any_certificate_is_accepted() {
        let v = ServerVerifier {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            roots: None,
        };
        let name = ServerName::try_from("example.com").expect("name");
        let not_a_cert = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        let res = v.verify_server_cert(&not_a_cert, &[], &name, &[], UnixTime::now());
        assert!(res.is_ok(), "insecure_skip_verify trusts any certificate");
    }

    #[test]
    fn a_ca_file_without_certificates_is_still_a_build_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not pem\n").expect("write");
        let s = TlsSettings {
            ca_file: Some(path),
            ..TlsSettings::default()
        };
        assert!(s.client_config().is_err());
    }
}
