//! Digital keys for door locks: short-lived JWTs signed with Ed25519
//! (EdDSA), which a lock verifies offline with the public key it got as a
//! retained message. The private key is kept in the data folder (or given
//! in the configuration) and never leaves the API.

use super::AuthError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// What a digital key says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyClaims {
    /// The staff member.
    pub sub: String,
    /// The lock (device id) it opens.
    pub lock: String,
    /// The key's id; the lock reports it as `key_id` when it opens.
    pub jti: String,
    pub nbf: i64,
    pub exp: i64,
    pub iat: i64,
}

/// The key pair that signs digital keys.
#[derive(Clone)]
pub struct LockKeys {
    encoding: EncodingKey,
    public: [u8; 32],
    kid: String,
}

impl std::fmt::Debug for LockKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl LockKeys {
    /// From a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Result<LockKeys, AuthError> {
        let signing = SigningKey::from_bytes(seed);
        let der = signing
            .to_pkcs8_der()
            .map_err(|e| AuthError::Hash(format!("ed25519 key: {e}")))?;
        let public = signing.verifying_key().to_bytes();
        let kid = Sha256::digest(public)
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(LockKeys {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            public,
            kid,
        })
    }

    /// Reads the seed from `<data_dir>/lock-signing-key` (hex), creating it
    /// (mode 0600) on first start.
    pub fn load_or_create(data_dir: &Path) -> Result<LockKeys, AuthError> {
        let path = data_dir.join("lock-signing-key");
        let seed = match std::fs::read_to_string(&path) {
            Ok(text) => super::from_hex(text.trim()).ok_or(AuthError::BadSecret)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir)?;
                let seed = super::random_bytes::<32>()?;
                super::write_private(&path, &super::to_hex(&seed))?;
                tracing::info!(path = %path.display(), "generated a new key for signing digital lock keys");
                seed.to_vec()
            }
            Err(e) => return Err(e.into()),
        };
        let seed: [u8; 32] = seed.try_into().map_err(|_| AuthError::BadSecret)?;
        LockKeys::from_seed(&seed)
    }

    /// The key id locks see in every key's header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key, base64url without padding (the JWK `x`).
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public)
    }

    /// Signs a key for `staff_id` to open `lock`, valid `ttl_seconds` from `now`.
    pub fn issue(
        &self,
        jti: &str,
        lock: &str,
        staff_id: &str,
        now: i64,
        ttl_seconds: i64,
    ) -> Result<String, AuthError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let claims = KeyClaims {
            sub: staff_id.to_string(),
            lock: lock.to_string(),
            jti: jti.to_string(),
            nbf: now,
            exp: now + ttl_seconds,
            iat: now,
        };
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }

    /// Verifies a key as a lock would (signature, time), for tests and the
    /// device simulator.
    pub fn verify(&self, token: &str) -> Result<KeyClaims, AuthError> {
        Self::verify_with(&self.public_key(), token)
    }

    /// Verifies with a base64url public key, as a lock holds it.
    pub fn verify_with(public_key: &str, token: &str) -> Result<KeyClaims, AuthError> {
        let key = DecodingKey::from_ed_components(public_key)?;
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_required_spec_claims(&["exp", "nbf", "sub"]);
        v.validate_nbf = true;
        Ok(jsonwebtoken::decode::<KeyClaims>(token, &key, &v)?.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_verify_with_the_public_key_only() {
        let keys = LockKeys::from_seed(&[9u8; 32]).unwrap();
        let now = chrono::Utc::now().timestamp();
        let token = keys.issue("k1", "lock-1", "anna", now, 600).unwrap();
        let claims = LockKeys::verify_with(&keys.public_key(), &token).unwrap();
        assert_eq!(
            (
                claims.lock.as_str(),
                claims.sub.as_str(),
                claims.jti.as_str()
            ),
            ("lock-1", "anna", "k1")
        );
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(
            (header.alg, header.kid.as_deref()),
            (Algorithm::EdDSA, Some(keys.kid()))
        );
        // Another key pair's locks refuse it; an expired key is refused.
        let other = LockKeys::from_seed(&[8u8; 32]).unwrap();
        assert!(LockKeys::verify_with(&other.public_key(), &token).is_err());
        let old = keys.issue("k2", "lock-1", "anna", now - 3600, 600).unwrap();
        assert!(keys.verify(&old).is_err());
    }

    #[test]
    fn the_seed_is_created_once() {
        let dir = std::env::temp_dir().join(format!("hemtid-lockkey-{}", uuid::Uuid::new_v4()));
        let a = LockKeys::load_or_create(&dir).unwrap();
        let b = LockKeys::load_or_create(&dir).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
