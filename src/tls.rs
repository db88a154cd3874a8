//! HTTPS for the API and the pages: rustls (ring, the provider already in
//! the dependency tree) with the certificate chain and key files of the
//! configuration, read again on SIGHUP and when either file changes (its
//! modification time, length or, for certbot's symlinks, target), so a
//! renewed certificate takes effect without a restart and without a
//! deploy hook. A failed reload keeps the certificate in use and says
//! why.

use anyhow::{Context, Result, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// How often the files are looked at: a renewal is days ahead of expiry,
/// two `stat`s every few seconds cost nothing.
const WATCH_EVERY: Duration = Duration::from_secs(5);

/// What a change of a file changes: its modification time, its length,
/// and where its symlinks lead (certbot swaps links to new files).
type Fingerprint = Option<(SystemTime, u64, PathBuf)>;

fn fingerprint(path: &Path) -> Fingerprint {
    let meta = std::fs::metadata(path).ok()?;
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Some((meta.modified().ok()?, meta.len(), target))
}

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
    let mut config = mqtt_server_config(certificate)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The server side of TLS 1.2 and 1.3 with `certificate`, no application
/// protocol named: the embedded broker's TLS door (MQTT), and the base of
/// [`server_config`].
pub fn mqtt_server_config(certificate: Arc<Certificate>) -> Result<rustls::ServerConfig> {
    Ok(
        rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_cert_resolver(certificate),
    )
}

/// Reads the certificate again on each SIGHUP, and when either file has
/// changed since it was last read, while the process runs.
pub fn reload_on_change(certificate: Arc<Certificate>) -> Result<()> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("cannot listen for SIGHUP")?;
    let on_hangup = certificate.clone();
    actix_web::rt::spawn(async move {
        while hangups.recv().await.is_some() {
            match on_hangup.reload() {
                Ok(()) => tracing::info!("SIGHUP: the TLS certificate was read again"),
                Err(e) => tracing::error!(
                    error = %format!("{e:#}"),
                    "SIGHUP: the TLS certificate could not be read; the one in use stays"
                ),
            }
        }
    });
    actix_web::rt::spawn(async move {
        let files = |c: &Certificate| [fingerprint(&c.cert_file), fingerprint(&c.key_file)];
        // What was last tried: a bad pair is reported once, and tried
        // again when a file changes again (the key written after the
        // certificate, say).
        let mut seen = files(&certificate);
        let mut ticks = actix_web::rt::time::interval(WATCH_EVERY);
        loop {
            ticks.tick().await;
            let now = files(&certificate);
            if now == seen {
                continue;
            }
            seen = now;
            match certificate.reload() {
                Ok(()) => tracing::info!("the TLS certificate files changed and were read again"),
                Err(e) => tracing::error!(
                    error = %format!("{e:#}"),
                    "the TLS certificate files changed but could not be read; the one in use stays"
                ),
            }
        }
    });
    Ok(())
}

/// Without TLS a SIGHUP (`systemctl reload`) has nothing to read again:
/// it is logged instead of ending the process, SIGHUP's default.
pub fn ignore_sighup() -> Result<()> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("cannot listen for SIGHUP")?;
    actix_web::rt::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: no TLS certificate configured, nothing to read again");
        }
    });
    Ok(())
}
