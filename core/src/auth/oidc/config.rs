//! A municipality's identity provider as the configuration file gives it.

use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// One municipality's identity provider, as `[[identity_provider]]` in
/// the configuration file.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityProviderConfig {
    /// The municipality's kommunkod (four digits).
    pub municipality: String,
    /// The provider's issuer identifier, exactly as its discovery
    /// document states it.
    pub issuer: String,
    pub client_id: String,
    /// The client secret; prefer `client_secret_file`.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// A file holding the client secret (read at start).
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// `client_secret_basic` (default) or `client_secret_post`.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// The ID token claim that names the person, matched against the
    /// account's `external_id`: `sub`, an HSA-id claim, an employee
    /// number, `email`.
    #[serde(default = "default_claim")]
    pub claim: String,
    /// Scopes asked for besides `openid`, space separated.
    #[serde(default)]
    pub scopes: String,
    /// The button's text on the sign-in page.
    #[serde(default)]
    pub label: Option<String>,
    /// Where the provider sends the browser back: hemtid's
    /// `https://<host>/inloggning`, registered at the provider.
    pub web_redirect_uri: String,
    /// Where it sends the phone app back (RFC 8252), e.g.
    /// `se.hemtid.app:/oidc`; unset means no app sign-in.
    #[serde(default)]
    pub app_redirect_uri: Option<String>,
    /// Whether local passwords still work in this municipality.
    #[serde(default = "yes")]
    pub password_login: bool,
    /// PEM certificates of a private CA the provider's TLS certificate
    /// is issued by (besides the public roots).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Seconds of clock difference allowed on `exp` and `iat`.
    #[serde(default = "default_skew")]
    pub clock_skew_seconds: i64,
}

impl std::fmt::Debug for IdentityProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProviderConfig")
            .field("municipality", &self.municipality)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("claim", &self.claim)
            .field("password_login", &self.password_login)
            .finish_non_exhaustive()
    }
}

fn default_claim() -> String {
    "sub".into()
}
fn default_skew() -> i64 {
    60
}
fn yes() -> bool {
    true
}

/// How hemtid authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
}

/// An `https` URL, or `http` to a loopback address (tests, a local
/// provider).
pub(super) fn check_url(value: &str, name: &str) -> Result<(), String> {
    let u = url::Url::parse(value).map_err(|e| format!("{name}: {e}"))?;
    let loopback = match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    };
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!("{name} must be an https URL")),
    }
}

pub(super) fn tls_with_ca(path: &std::path::Path) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("ca_file {}: {e}", path.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth())
}
