//! The TLS server config of a TCP listener (RFC 5425 transport): a PEM certificate chain and
//! key, and with `tls_client_ca_file`, mutual TLS (clients must present a certificate signed
//! by one of those CAs). rustls with the ring provider only, as everywhere in the agent.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use super::config::TlsFiles;

/// Why the TLS config could not be built.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsSetupError {
    /// A PEM file could not be read or held nothing usable.
    #[error("cannot read {what} {path}: {message}")]
    Pem {
        /// Which option.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// rustls refused the certificates or key.
    #[error("invalid TLS setup: {0}")]
    Rustls(String),
}

fn certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let pem_err = |message: String| TlsSetupError::Pem {
        what,
        path: path.to_owned(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_err("no PEM certificate found".to_owned()));
    }
    Ok(certs)
}

/// Builds the server config (reads the files).
pub(crate) fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certs("tls_cert_file", &files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| TlsSetupError::Pem {
        what: "tls_key_file",
        path: files.key.clone(),
        message: e.to_string(),
    })?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let (added, _ignored) =
                roots.add_parsable_certificates(certs("tls_client_ca_file", path)?);
            if added == 0 {
                return Err(TlsSetupError::Pem {
                    what: "tls_client_ca_file",
                    path: path.clone(),
                    message: "no usable CA certificate".to_owned(),
                });
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
    Ok(Arc::new(config))
}
