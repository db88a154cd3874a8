//! HTTPS for the API and the pages: rustls (ring, the provider already in
//! the dependency tree) with the certificate chain and key files of the
//! configuration, read again on SIGHUP so a renewed certificate (say from
//! certbot's deploy hook) takes effect without a restart. A failed
//! reload keeps the certificate in use and says why.

use anyhow::{Context, Result, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The certificate in use, replaced whole on a reload.
#[derive(Debug)]
pub struct Certificate {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certificate {
    /// Reads both files; fails if either is unreadable, empty or the key
    /// does not belong to the certificate.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<Arc<Certificate>> {
        let key = read(cert_file, key_file)?;
        Ok(Arc::new(Certificate {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            current: RwLock::new(Arc::new(key)),
        }))
    }

    /// Reads the files again; the one in use stays if they are bad.
    pub fn reload(&self) -> Result<()> {
        let key = read(&self.cert_file, &self.key_file)?;
        let mut current = self
            .current
            .write()
            .map_err(|_| anyhow::anyhow!("the certificate lock is poisoned"))?;
        *current = Arc::new(key);
        Ok(())
    }
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| c.clone())
    }
}

fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

fn read(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .with_context(|| format!("tls_cert_file {}", cert_file.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("tls_cert_file {}", cert_file.display()))?;
    if chain.is_empty() {
        bail!(
            "tls_cert_file {}: no certificate in it",
            cert_file.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .with_context(|| format!("tls_key_file {}", key_file.display()))?;
    CertifiedKey::from_der(chain, key, &provider()).with_context(|| {
        format!(
            "{} and {} do not make a certificate and its key",
            cert_file.display(),
            key_file.display()
        )
    })
}

/// The server side of TLS 1.2 and 1.3 with `certificate`, HTTP/1.1.
pub fn server_config(certificate: Arc<Certificate>) -> Result<rustls::ServerConfig> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_cert_resolver(certificate);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Reads the certificate again on each SIGHUP while the process runs.
pub fn reload_on_sighup(certificate: Arc<Certificate>) -> Result<()> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("cannot listen for SIGHUP")?;
    actix_web::rt::spawn(async move {
        while hangups.recv().await.is_some() {
            match certificate.reload() {
                Ok(()) => tracing::info!("SIGHUP: the TLS certificate was read again"),
                Err(e) => tracing::error!(
                    error = %format!("{e:#}"),
                    "SIGHUP: the TLS certificate could not be read; the one in use stays"
                ),
            }
        }
    });
    Ok(())
}
