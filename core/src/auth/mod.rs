//! Passwords (argon2), access tokens (HS256 JWT) and integration tokens.

use crate::db::user_account::UserAccount;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

pub mod lock_keys;
pub mod oidc;
pub mod throttle;

/// Errors from hashing, issuing and verifying credentials.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("password hashing: {0}")]
    Hash(String),
    #[error("token: {0}")]
    Token(#[from] jsonwebtoken::errors::Error),
    #[error("random source: {0}")]
    Random(String),
    #[error("secret file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the secret file does not hold a hex secret of at least 32 bytes")]
    BadSecret,
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt_bytes = random_bytes::<16>()?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| AuthError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// A valid argon2id hash of nothing anybody knows, checked for unknown users.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$hmlbD3YWZdGoMRbDz3s0YRZRUuczGAoEzWtsgNHlZOs";

/// Checks a password against a stored hash. Pass `None` for an unknown user:
/// a dummy hash is checked so the answer takes as long either way.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    let known = hash.is_some();
    let Ok(parsed) = PasswordHash::new(hash.unwrap_or(DUMMY)) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && known
}

/// What an access token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// See [`crate::model::Role`].
    pub role: String,
    /// Municipality id.
    pub mun: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The sign-in this token belongs to (its refresh-token family).
    #[serde(default)]
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

/// Keys and lifetime for access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_seconds: i64,
    refresh_ttl_seconds: i64,
}

/// Default lifetime of a refresh token: two weeks of shifts.
pub const DEFAULT_REFRESH_TTL_SECONDS: i64 = 14 * 24 * 3600;

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("ttl_seconds", &self.ttl_seconds)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl_seconds: i64) -> TokenKeys {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl_seconds,
            refresh_ttl_seconds: DEFAULT_REFRESH_TTL_SECONDS,
        }
    }

    /// Sets the refresh tokens' lifetime.
    pub fn with_refresh_ttl(mut self, seconds: i64) -> TokenKeys {
        self.refresh_ttl_seconds = seconds;
        self
    }

    pub fn refresh_ttl_seconds(&self) -> i64 {
        self.refresh_ttl_seconds
    }

    pub fn ttl_seconds(&self) -> i64 {
        self.ttl_seconds
    }

    /// Issues an access token for `user` valid from `now` (Unix seconds),
    /// for the sign-in (refresh-token family) `sid`.
    pub fn issue(&self, user: &UserAccount, sid: &str, now: i64) -> Result<String, AuthError> {
        let claims = Claims {
            sid: sid.to_string(),
            sub: user.id.to_string(),
            role: user.fields.role.as_str().to_string(),
            mun: user.municipality_id.to_string(),
            provider: user.fields.provider_id.as_deref().map(String::from),
            unit: user.fields.authority_unit_id.clone(),
            iat: now,
            exp: now + self.ttl_seconds,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Verifies signature and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 5;
        v.set_required_spec_claims(&["exp", "sub"]);
        Ok(jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)?.claims)
    }
}

/// Reads the signing secret from `<data_dir>/jwt-secret`, creating it
/// (32 random bytes, hex, mode 0600) on first start.
pub fn load_or_create_secret(data_dir: &Path) -> Result<Vec<u8>, AuthError> {
    let path = data_dir.join("jwt-secret");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes = from_hex(text.trim()).ok_or(AuthError::BadSecret)?;
            if bytes.len() < 32 {
                return Err(AuthError::BadSecret);
            }
            Ok(bytes)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::db::create_private_dir(data_dir)?;
            let secret = random_bytes::<32>()?;
            write_private(&path, &to_hex(&secret))?;
            tracing::info!(path = %path.display(), "generated a new JWT signing secret");
            Ok(secret.to_vec())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Prefix of integration tokens, so they are recognisable in a header.
pub const INTEGRATION_TOKEN_PREFIX: &str = "hit_";

/// A new integration token (shown once) and the hash to store.
pub fn new_integration_token() -> Result<(String, String), AuthError> {
    new_secret_token(INTEGRATION_TOKEN_PREFIX)
}

/// A random token with a recognisable prefix, and its hash to store.
pub fn new_secret_token(prefix: &str) -> Result<(String, String), AuthError> {
    let token = format!("{prefix}{}", to_hex(&random_bytes::<32>()?));
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// A random password for a first admin account: 24 hex characters.
pub fn generate_password() -> Result<String, AuthError> {
    Ok(to_hex(&random_bytes::<12>()?))
}

/// A random 256-bit key, hex (devices' payload-signing keys).
pub fn new_hmac_key() -> Result<String, AuthError> {
    Ok(to_hex(&random_bytes::<32>()?))
}

/// SHA-256 of a token, hex. Tokens are random, so no salt is needed.
pub fn hash_token(token: &str) -> String {
    to_hex(&Sha256::digest(token.as_bytes()))
}

/// Rounds of PBKDF2 in a broker password hash: Mosquitto's own default.
/// The secrets hashed are 32 random bytes, so more rounds would add no
/// safety, only sign-in time when thousands of locks reconnect at once.
pub const BROKER_HASH_ROUNDS: u32 = 101;

/// A secret hashed as external brokers' password files take it:
/// Mosquitto's `$7$rounds$salt$hash`, PBKDF2-HMAC-SHA512 with a 12-byte
/// random salt (what `mosquitto_passwd` writes since 2.0).
pub fn broker_password_hash(secret: &str) -> Result<String, AuthError> {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let salt = random_bytes::<12>()?;
    let mut out = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(secret.as_bytes(), &salt, BROKER_HASH_ROUNDS, &mut out);
    Ok(format!(
        "$7${BROKER_HASH_ROUNDS}${}${}",
        STANDARD.encode(salt),
        STANDARD.encode(out)
    ))
}

/// Whether `secret` matches a [`broker_password_hash`] (for tests).
pub fn broker_password_matches(secret: &str, hash: &str) -> bool {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let parts: Vec<&str> = hash.split('$').collect();
    let ["", "7", rounds, salt, expected] = parts.as_slice() else {
        return false;
    };
    let (Ok(rounds), Ok(salt), Ok(expected)) = (
        rounds.parse::<u32>(),
        STANDARD.decode(salt),
        STANDARD.decode(expected),
    ) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(secret.as_bytes(), &salt, rounds, &mut out);
    out == expected
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(buf)
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `mosquitto_passwd -b file user1 secret1` wrote (Mosquitto
    /// 2.0.11): the same secret checks against it, and our own hashes are
    /// of its form.
    #[test]
    fn broker_password_hashes_are_mosquittos() {
        let theirs = "$7$101$BQDytqSbUxsriubr$en1UDLmyAYSh6CSPC0h+1fseTXwvJnKk+HXYX/2It019v2Mr0ipyy7MiAbilxLnWsOY2kNZEvwQk/EEwR9Whhw==";
        assert!(broker_password_matches("secret1", theirs));
        assert!(!broker_password_matches("secret2", theirs));
        let ours = broker_password_hash("hdk_abc").unwrap();
        assert!(ours.starts_with("$7$101$"));
        assert_eq!(ours.split('$').count(), 5);
        assert!(broker_password_matches("hdk_abc", &ours));
        assert_ne!(ours, broker_password_hash("hdk_abc").unwrap(), "salted");
    }
    use crate::db::user_account::UserFields;

    fn user() -> UserAccount {
        UserAccount {
            id: "u1".into(),
            municipality_id: "m1".into(),
            fields: UserFields {
                username: "anna".into(),
                display_name: "Anna".into(),
                role: crate::model::Role::Staff,
                provider_id: Some("p1".into()),
                authority_unit_id: None,
                active: true,
                external_id: None,
            },
            password_hash: None,
            created_at: crate::db::now(),
            updated_at: crate::db::now(),
        }
    }

    #[test]
    fn passwords_verify_only_with_the_right_one() {
        let h = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", Some(&h)));
        assert!(!verify_password("wrong horse", Some(&h)));
        assert!(!verify_password("correct horse", None));
        assert!(!verify_password("x", Some("not a hash")));
        assert!(
            PasswordHash::new(DUMMY).is_ok(),
            "the dummy hash must parse"
        );
    }

    #[test]
    fn tokens_round_trip_and_expire() {
        let keys = TokenKeys::new(&[7u8; 32], 900);
        let now = chrono::Utc::now().timestamp();
        let t = keys.issue(&user(), "s1", now).unwrap();
        let c = keys.verify(&t).unwrap();
        assert_eq!(
            (c.sub.as_str(), c.role.as_str(), c.provider.as_deref()),
            ("u1", "staff", Some("p1"))
        );
        let expired = keys.issue(&user(), "s1", now - 2000).unwrap();
        assert!(keys.verify(&expired).is_err());
        let other = TokenKeys::new(&[8u8; 32], 900);
        assert!(other.verify(&t).is_err());
    }

    #[test]
    fn secret_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("hemtid-secret-{}", uuid::Uuid::new_v4()));
        let a = load_or_create_secret(&dir).unwrap();
        let b = load_or_create_secret(&dir).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn integration_tokens_hash_stably() {
        let (token, hash) = new_integration_token().unwrap();
        assert!(token.starts_with("hit_"));
        assert_eq!(hash_token(&token), hash);
        assert_ne!(hash_token("hit_other"), hash);
    }
}
