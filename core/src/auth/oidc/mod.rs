//! Sign-in through a municipality's identity provider: OpenID Connect's
//! authorization code flow with PKCE (issue 22).
//!
//! hemtid is the relying party, a confidential client of the
//! municipality's provider (Freja eID, SITHS or BankID behind it). This
//! module speaks the protocol: discovery, the authorization request, the
//! code exchange and the ID token's checks (signature from the provider's
//! JWKS, refetched when a new key id appears; issuer, audience, expiry
//! with a small clock skew, nonce). Signatures are checked by
//! `jsonwebtoken`, the HTTP calls made by `ureq` (rustls): no token or
//! crypto code of our own. Which hemtid account a person is, and the
//! single-use state, are the database's business (`db::oidc_login`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod config;

pub use config::{ClientAuth, IdentityProviderConfig};
use config::{check_url, tls_with_ca};

/// What can go wrong; [`OidcError::code`] is the API's stable code.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("no identity provider is configured for this municipality")]
    NotConfigured,
    #[error("the identity provider could not be reached: {0}")]
    Unavailable(String),
    #[error("the identity provider refused the code: {0}")]
    CodeRejected(String),
    #[error("the ID token's issuer is not the configured one")]
    WrongIssuer,
    #[error("the ID token is not meant for hemtid")]
    WrongAudience,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token is invalid: {0}")]
    InvalidToken(String),
    #[error("the ID token lacks the claim that names the person")]
    ClaimMissing,
    #[error("identity provider configuration: {0}")]
    Config(String),
}

impl OidcError {
    /// The API's stable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::NotConfigured => "oidc_not_configured",
            OidcError::Unavailable(_) => "oidc_provider_unavailable",
            OidcError::CodeRejected(_) => "oidc_code_rejected",
            OidcError::WrongIssuer => "oidc_wrong_issuer",
            OidcError::WrongAudience => "oidc_wrong_audience",
            OidcError::Expired => "oidc_token_expired",
            OidcError::InvalidToken(_) => "oidc_invalid_token",
            OidcError::ClaimMissing => "oidc_claim_missing",
            OidcError::Config(_) => "oidc_not_configured",
        }
    }
}

/// The parts of the discovery document hemtid uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
}

/// How long a discovery document is used before it is read again.
const DISCOVERY_FRESH: Duration = Duration::from_secs(3600);
/// How long the provider's keys are used before they are read again.
const JWKS_FRESH: Duration = Duration::from_secs(3600);

/// Signature algorithms accepted on ID tokens: asymmetric only (no
/// `none`, no HMAC with the client secret).
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

#[derive(Default)]
struct Cache {
    discovery: Option<(Discovery, Instant)>,
    jwks: Option<(JwkSet, Instant)>,
}

/// One configured provider, ready to use.
pub struct IdentityProvider {
    pub config: IdentityProviderConfig,
    secret: String,
    agent: ureq::Agent,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for IdentityProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.config.fmt(f)
    }
}

/// What the start of a sign-in needs kept until the provider sends the
/// user back.
#[derive(Debug, Clone)]
pub struct Started {
    /// Where to send the browser or in-app browser.
    pub authorization_url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl IdentityProvider {
    pub fn new(config: IdentityProviderConfig) -> Result<IdentityProvider, OidcError> {
        let bad =
            |m: String| OidcError::Config(format!("municipality {}: {m}", config.municipality));
        if config.municipality.len() != 4
            || !config.municipality.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad("municipality must be a four-digit kommunkod".into()));
        }
        check_url(&config.issuer, "issuer").map_err(bad)?;
        check_url(&config.web_redirect_uri, "web_redirect_uri").map_err(bad)?;
        if let Some(app) = &config.app_redirect_uri {
            url::Url::parse(app).map_err(|e| bad(format!("app_redirect_uri: {e}")))?;
        }
        if config.claim.trim().is_empty() || config.client_id.is_empty() {
            return Err(bad("claim and client_id must not be empty".into()));
        }
        let secret = match (&config.client_secret, &config.client_secret_file) {
            (Some(s), None) => s.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| bad(format!("client_secret_file {}: {e}", path.display())))?
                .trim()
                .to_string(),
            _ => {
                return Err(bad(
                    "give exactly one of client_secret and client_secret_file".into(),
                ));
            }
        };
        let mut builder = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(10))
            .redirects(0);
        if let Some(ca) = &config.ca_file {
            builder = builder.tls_config(Arc::new(tls_with_ca(ca).map_err(bad)?));
        }
        Ok(IdentityProvider {
            config,
            secret,
            agent: builder.build(),
            cache: Mutex::new(Cache::default()),
        })
    }

    /// The discovery document, read once an hour. Blocking.
    pub fn discovery(&self) -> Result<Discovery, OidcError> {
        if let Some((d, at)) = &self.lock().discovery
            && at.elapsed() < DISCOVERY_FRESH
        {
            return Ok(d.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let d: Discovery = self.get_json(&url)?;
        // OpenID Connect Discovery 1.0, 4.3: the document's issuer is the
        // one asked for, exactly.
        if d.issuer != self.config.issuer {
            return Err(OidcError::WrongIssuer);
        }
        if !d.code_challenge_methods_supported.is_empty()
            && !d
                .code_challenge_methods_supported
                .iter()
                .any(|m| m == "S256")
        {
            return Err(OidcError::Unavailable(
                "the provider does not offer PKCE with S256".into(),
            ));
        }
        self.lock().discovery = Some((d.clone(), Instant::now()));
        Ok(d)
    }

    /// A new sign-in: state, nonce and PKCE verifier, and the URL of the
    /// provider's authorization endpoint. Blocking (discovery).
    pub fn start(&self, redirect_uri: &str) -> Result<Started, OidcError> {
        let d = self.discovery()?;
        let state = random_token()?;
        let nonce = random_token()?;
        let pkce_verifier = random_token()?;
        let mut url = url::Url::parse(&d.authorization_endpoint)
            .map_err(|e| OidcError::Unavailable(format!("authorization_endpoint: {e}")))?;
        let scope = std::iter::once("openid")
            .chain(
                self.config
                    .scopes
                    .split_whitespace()
                    .filter(|s| *s != "openid"),
            )
            .collect::<Vec<_>>()
            .join(" ");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.config.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", &scope)
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &pkce_challenge(&pkce_verifier))
                .append_pair("code_challenge_method", "S256");
        }
        Ok(Started {
            authorization_url: url.into(),
            state,
            nonce,
            pkce_verifier,
        })
    }

    /// Trades the code for the ID token and checks it; answers its claims.
    /// Blocking.
    pub fn finish(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: &str,
        nonce: &str,
        now: i64,
    ) -> Result<Map<String, Value>, OidcError> {
        let d = self.discovery()?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", pkce_verifier),
        ];
        let mut req = self.agent.post(&d.token_endpoint);
        match self.config.client_auth {
            ClientAuth::ClientSecretBasic => {
                // RFC 6749, 2.3.1: both form-urlencoded before base64.
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let pair = format!("{}:{}", enc(&self.config.client_id), enc(&self.secret));
                req = req.set(
                    "Authorization",
                    &format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(pair)
                    ),
                );
            }
            ClientAuth::ClientSecretPost => {
                form.push(("client_id", &self.config.client_id));
                form.push(("client_secret", &self.secret));
            }
        }
        let answer: Value = match req.set("Accept", "application/json").send_form(&form) {
            Ok(r) => r
                .into_json()
                .map_err(|e| OidcError::Unavailable(format!("token answer: {e}")))?,
            Err(ureq::Error::Status(code, r)) if (400..500).contains(&code) => {
                let body: Value = r.into_json().unwrap_or(Value::Null);
                let error = body["error"].as_str().unwrap_or("unknown").to_string();
                return Err(OidcError::CodeRejected(error));
            }
            Err(e) => return Err(OidcError::Unavailable(format!("token endpoint: {e}"))),
        };
        let id_token = answer["id_token"]
            .as_str()
            .ok_or_else(|| OidcError::InvalidToken("no id_token in the token answer".into()))?;
        self.verify_id_token(id_token, nonce, now)
    }

    /// Checks an ID token: signature by one of the provider's keys,
    /// issuer, audience, expiry and issue time (with the clock skew), and
    /// the nonce of this sign-in. Blocking (the keys may be read).
    pub fn verify_id_token(
        &self,
        token: &str,
        nonce: &str,
        now: i64,
    ) -> Result<Map<String, Value>, OidcError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| OidcError::InvalidToken(format!("header: {e}")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(OidcError::InvalidToken(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let key = self.key_for(header.kid.as_deref())?;
        let mut v = Validation::new(header.alg);
        // Times are checked below against `now`, with the skew.
        v.validate_exp = false;
        v.validate_nbf = false;
        v.set_required_spec_claims(&["iss", "aud", "sub"]);
        v.set_issuer(&[&self.config.issuer]);
        v.set_audience(&[&self.config.client_id]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &v)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => OidcError::WrongIssuer,
                jsonwebtoken::errors::ErrorKind::InvalidAudience => OidcError::WrongAudience,
                _ => OidcError::InvalidToken(e.to_string()),
            })?
            .claims;
        // OpenID Connect Core 3.1.3.7: with several audiences, azp is us.
        let audiences = claims
            .get("aud")
            .and_then(Value::as_array)
            .map_or(1, Vec::len);
        if audiences > 1
            && claims.get("azp").and_then(Value::as_str) != Some(self.config.client_id.as_str())
        {
            return Err(OidcError::WrongAudience);
        }
        let skew = self.config.clock_skew_seconds;
        let exp = claims.get("exp").and_then(Value::as_i64);
        let iat = claims.get("iat").and_then(Value::as_i64);
        match (exp, iat) {
            (Some(exp), _) if exp + skew <= now => return Err(OidcError::Expired),
            (_, Some(iat)) if iat - skew > now => {
                return Err(OidcError::InvalidToken("issued in the future".into()));
            }
            (Some(_), Some(_)) => {}
            _ => return Err(OidcError::InvalidToken("exp or iat missing".into())),
        }
        if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err(OidcError::InvalidToken(
                "the nonce is not this sign-in's".into(),
            ));
        }
        Ok(claims)
    }

    /// The value of the configured claim that names the person.
    pub fn person(&self, claims: &Map<String, Value>) -> Result<String, OidcError> {
        match claims.get(self.config.claim.trim()) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            _ => Err(OidcError::ClaimMissing),
        }
    }

    /// The key that signed a token: by key id, reading the provider's
    /// keys again when the id is new (a key rotation).
    fn key_for(&self, kid: Option<&str>) -> Result<DecodingKey, OidcError> {
        let fresh = {
            let cache = self.lock();
            cache
                .jwks
                .as_ref()
                .filter(|(_, at)| at.elapsed() < JWKS_FRESH)
                .and_then(|(set, _)| pick(set, kid))
        };
        if let Some(key) = fresh {
            return key;
        }
        // A key id not seen before: the provider has rotated its keys. ID
        // tokens come only from its token endpoint (over TLS, for a code
        // it issued), never from a client, so nobody can make hemtid read
        // the keys more often than people sign in.
        let d = self.discovery()?;
        let set: JwkSet = self.get_json(&d.jwks_uri)?;
        self.lock().jwks = Some((set, Instant::now()));
        let cache = self.lock();
        cache
            .jwks
            .as_ref()
            .and_then(|(set, _)| pick(set, kid))
            .unwrap_or_else(|| {
                Err(OidcError::InvalidToken(
                    "signed with a key the provider does not publish".into(),
                ))
            })
    }

    fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        self.agent
            .get(url)
            .set("Accept", "application/json")
            .call()
            .map_err(|e| OidcError::Unavailable(format!("{url}: {e}")))?
            .into_json()
            .map_err(|e| OidcError::Unavailable(format!("{url}: {e}")))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The key of `set` with id `kid` (or its only signing key when the token
/// names none), as a decoding key; `None` when there is none such.
fn pick(set: &JwkSet, kid: Option<&str>) -> Option<Result<DecodingKey, OidcError>> {
    let signing = |k: &&jsonwebtoken::jwk::Jwk| {
        !matches!(
            k.common.public_key_use,
            Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
        )
    };
    let jwk = match kid {
        Some(kid) => set
            .keys
            .iter()
            .filter(signing)
            .find(|k| k.common.key_id.as_deref() == Some(kid))?,
        None => {
            let mut keys = set.keys.iter().filter(signing);
            let only = keys.next()?;
            if keys.next().is_some() {
                return Some(Err(OidcError::InvalidToken(
                    "the token names no key and the provider has several".into(),
                )));
            }
            only
        }
    };
    Some(DecodingKey::from_jwk(jwk).map_err(|e| OidcError::InvalidToken(format!("key: {e}"))))
}
/// Every configured provider, by kommunkod.
#[derive(Debug, Default)]
pub struct IdentityProviders {
    by_code: HashMap<String, Arc<IdentityProvider>>,
}

impl IdentityProviders {
    /// Checks the configuration and reads the secrets (no network).
    pub fn new(configs: &[IdentityProviderConfig]) -> Result<IdentityProviders, OidcError> {
        let mut by_code = HashMap::new();
        for c in configs {
            let p = IdentityProvider::new(c.clone())?;
            if by_code
                .insert(c.municipality.clone(), Arc::new(p))
                .is_some()
            {
                return Err(OidcError::Config(format!(
                    "municipality {} has two identity providers",
                    c.municipality
                )));
            }
        }
        Ok(IdentityProviders { by_code })
    }

    /// The provider of the municipality with kommunkod `code`.
    pub fn get(&self, code: &str) -> Option<Arc<IdentityProvider>> {
        self.by_code.get(code).cloned()
    }

    /// Every provider, by kommunkod.
    pub fn all(&self) -> Vec<Arc<IdentityProvider>> {
        let mut v: Vec<_> = self.by_code.values().cloned().collect();
        v.sort_by(|a, b| a.config.municipality.cmp(&b.config.municipality));
        v
    }

    /// Whether no provider is configured.
    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }

    /// Whether local passwords work in the municipality `code`.
    pub fn password_login(&self, code: &str) -> bool {
        self.by_code
            .get(code)
            .is_none_or(|p| p.config.password_login)
    }
}

/// 32 random bytes, base64url: states, nonces, PKCE verifiers.
pub fn random_token() -> Result<String, OidcError> {
    let bytes = super::random_bytes::<32>().map_err(|e| OidcError::Config(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// RFC 7636's S256 challenge of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` is an RFC 7636 verifier: 43-128 characters of
/// `A-Z a-z 0-9 - . _ ~`.
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> IdentityProviderConfig {
        IdentityProviderConfig {
            municipality: "0123".into(),
            issuer: "https://idp.example.se".into(),
            client_id: "hemtid".into(),
            client_secret: Some("s".into()),
            client_secret_file: None,
            client_auth: ClientAuth::default(),
            claim: "hsa_id".into(),
            scopes: String::new(),
            label: None,
            web_redirect_uri: "https://hemtid.example.se/inloggning".into(),
            app_redirect_uri: Some("se.hemtid.app:/oidc".into()),
            password_login: false,
            ca_file: None,
            clock_skew_seconds: 60,
        }
    }

    /// RFC 7636, appendix B.
    #[test]
    fn the_challenge_is_rfc_7636s() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(valid_verifier(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!valid_verifier("short"));
        assert!(!valid_verifier(&"å".repeat(50)));
        assert!(valid_verifier(&random_token().unwrap()));
    }

    #[test]
    fn the_configuration_is_checked_at_start() {
        assert!(IdentityProviders::new(&[config()]).is_ok());
        let plain = IdentityProviderConfig {
            issuer: "http://idp.example.se".into(),
            ..config()
        };
        assert!(
            IdentityProviders::new(&[plain]).is_err(),
            "http off loopback"
        );
        let local = IdentityProviderConfig {
            issuer: "http://127.0.0.1:8080".into(),
            ..config()
        };
        assert!(IdentityProviders::new(&[local]).is_ok());
        let two_secrets = IdentityProviderConfig {
            client_secret_file: Some("/nonexistent".into()),
            ..config()
        };
        assert!(IdentityProviders::new(&[two_secrets]).is_err());
        assert!(IdentityProviders::new(&[config(), config()]).is_err());
        let bad_code = IdentityProviderConfig {
            municipality: "12".into(),
            ..config()
        };
        assert!(IdentityProviders::new(&[bad_code]).is_err());
        let ps = IdentityProviders::new(&[config()]).unwrap();
        assert!(!ps.password_login("0123"));
        assert!(ps.password_login("0180"), "no provider: passwords work");
        // The secret never reaches a log through Debug.
        assert!(!format!("{:?}", config()).contains("client_secret"));
    }

    #[test]
    fn the_person_is_the_configured_claim() {
        let p = IdentityProvider::new(config()).unwrap();
        let claims: Map<String, Value> = serde_json::from_value(
            serde_json::json!({"sub": "x", "hsa_id": " SE2321000016-1234 "}),
        )
        .unwrap();
        assert_eq!(p.person(&claims).unwrap(), "SE2321000016-1234");
        let none: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"sub": "x", "hsa_id": ""})).unwrap();
        assert!(matches!(p.person(&none), Err(OidcError::ClaimMissing)));
    }
}
