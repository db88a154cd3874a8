//! Digital keys for door locks: short-lived JWTs signed with Ed25519
//! (EdDSA), which a lock verifies offline with the public key it got as a
//! retained message. The private key is kept in the data folder and never
//! leaves hemtid.
//!
//! The same key signs each lock's configuration (the key digital keys are
//! checked with, the revoked keys, a version that only grows): a lock pins
//! the public key at enrolment and ignores a configuration that is not
//! signed with it, names another lock, or is older than the one it holds.

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
    signing: SigningKey,
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
            signing,
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
                crate::db::create_private_dir(data_dir)?;
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

    /// Reads the seed from `<data_dir>/lock-signing-key` if it is there
    /// (`hemtid gateway` signs the locks' configurations with the key the
    /// API made; it never makes one of its own).
    pub fn load(data_dir: &Path) -> Result<Option<LockKeys>, AuthError> {
        let path = data_dir.join("lock-signing-key");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let seed = super::from_hex(text.trim()).ok_or(AuthError::BadSecret)?;
                let seed: [u8; 32] = seed.try_into().map_err(|_| AuthError::BadSecret)?;
                LockKeys::from_seed(&seed).map(Some)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The key id locks see in every key's header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key, base64url without padding (the JWK `x`).
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public)
    }

    /// A detached Ed25519 signature of `message`, base64url without
    /// padding (the checkpoints of the hash chains, see `db::chain`).
    pub fn sign(&self, message: &[u8]) -> String {
        use ed25519_dalek::Signer;
        URL_SAFE_NO_PAD.encode(self.signing.sign(message).to_bytes())
    }

    /// Whether `signature` (as [`LockKeys::sign`] writes it) is `message`
    /// signed by the base64url `public_key`.
    pub fn signature_valid(public_key: &str, message: &[u8], signature: &str) -> bool {
        let (Ok(public), Ok(sig)) = (
            URL_SAFE_NO_PAD.decode(public_key),
            URL_SAFE_NO_PAD.decode(signature),
        ) else {
            return false;
        };
        let (Ok(public), Ok(sig)) = (
            <[u8; 32]>::try_from(public.as_slice()),
            <[u8; 64]>::try_from(sig.as_slice()),
        ) else {
            return false;
        };
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&public) else {
            return false;
        };
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&sig))
            .is_ok()
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

/// A lock's configuration, as the signed retained message on
/// `hemtid/v1/devices/{id}/config` carries it (JWT claims).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockConfig {
    /// The lock it is for: a lock ignores a configuration for another.
    pub lock: String,
    /// `EdDSA`.
    pub algorithm: String,
    /// The id of the key digital keys are signed with (their header's `kid`).
    pub kid: String,
    /// Its Ed25519 public key, base64url without padding.
    pub public_key: String,
    /// Ids of revoked keys not yet expired: refuse them.
    pub revoked: Vec<String>,
    /// Grows with every configuration of this lock: a lock ignores one not
    /// newer than what it holds.
    pub version: i64,
    /// When it was signed (seconds since 1970).
    pub iat: i64,
}

/// Why a lock refuses a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigRefused {
    #[error("not signed with the pinned key: {0}")]
    Signature(String),
    #[error("for another lock")]
    OtherLock,
    #[error("not newer than the one held")]
    NotNewer,
}

impl LockKeys {
    /// The configuration as a compact JWS (EdDSA, header `kid`).
    pub fn sign_config(&self, config: &LockConfig) -> Result<String, AuthError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, config, &self.encoding)?)
    }
}

/// What a lock holds: the public key pinned at enrolment and the
/// configuration it accepted last. The reference for lock vendors.
#[derive(Debug, Clone)]
pub struct PinnedConfig {
    pub lock: String,
    /// base64url Ed25519 public key, as enrolment gave it.
    pub pinned_key: String,
    pub current: Option<LockConfig>,
}

impl PinnedConfig {
    pub fn new(lock: &str, pinned_key: &str) -> PinnedConfig {
        PinnedConfig {
            lock: lock.to_string(),
            pinned_key: pinned_key.to_string(),
            current: None,
        }
    }

    /// Takes a retained message: keeps it if it is signed with the pinned
    /// key, for this lock, and newer than the one held.
    pub fn accept(&mut self, payload: &[u8]) -> Result<&LockConfig, ConfigRefused> {
        let token = std::str::from_utf8(payload)
            .map_err(|_| ConfigRefused::Signature("not text".into()))?
            .trim();
        let key = DecodingKey::from_ed_components(&self.pinned_key)
            .map_err(|e| ConfigRefused::Signature(e.to_string()))?;
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_required_spec_claims::<&str>(&[]);
        v.validate_exp = false;
        let config = jsonwebtoken::decode::<LockConfig>(token, &key, &v)
            .map_err(|e| ConfigRefused::Signature(e.to_string()))?
            .claims;
        if config.lock != self.lock {
            return Err(ConfigRefused::OtherLock);
        }
        if self
            .current
            .as_ref()
            .is_some_and(|c| config.version <= c.version)
        {
            return Err(ConfigRefused::NotNewer);
        }
        Ok(self.current.insert(config))
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

    fn config(lock: &str, version: i64) -> LockConfig {
        LockConfig {
            lock: lock.into(),
            algorithm: "EdDSA".into(),
            kid: "k".into(),
            public_key: "p".into(),
            revoked: vec!["key-1".into()],
            version,
            iat: 1_764_000_000,
        }
    }

    #[test]
    fn a_lock_takes_only_signed_newer_configurations_of_its_own() {
        let keys = LockKeys::from_seed(&[9u8; 32]).unwrap();
        let other = LockKeys::from_seed(&[8u8; 32]).unwrap();
        let mut held = PinnedConfig::new("lock-1", &keys.public_key());
        let two = keys.sign_config(&config("lock-1", 2)).unwrap();
        assert_eq!(held.accept(two.as_bytes()).unwrap().version, 2);
        // Unsigned, signed by another key, for another lock, or older.
        let unsigned = serde_json::to_vec(&config("lock-1", 9)).unwrap();
        assert!(matches!(
            held.accept(&unsigned),
            Err(ConfigRefused::Signature(_))
        ));
        let forged = other.sign_config(&config("lock-1", 9)).unwrap();
        assert!(matches!(
            held.accept(forged.as_bytes()),
            Err(ConfigRefused::Signature(_))
        ));
        let theirs = keys.sign_config(&config("lock-2", 9)).unwrap();
        assert_eq!(
            held.accept(theirs.as_bytes()).err(),
            Some(ConfigRefused::OtherLock)
        );
        let old = keys.sign_config(&config("lock-1", 1)).unwrap();
        assert_eq!(
            held.accept(old.as_bytes()).err(),
            Some(ConfigRefused::NotNewer)
        );
        assert_eq!(
            held.accept(two.as_bytes()).err(),
            Some(ConfigRefused::NotNewer)
        );
        // A tampered claim breaks the signature.
        let mut parts: Vec<String> = two.split('.').map(str::to_string).collect();
        let mut claims = config("lock-1", 3);
        claims.revoked.clear();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        assert!(matches!(
            held.accept(parts.join(".").as_bytes()),
            Err(ConfigRefused::Signature(_))
        ));
        assert_eq!(held.current.as_ref().unwrap().revoked, ["key-1"]);
        let three = keys.sign_config(&config("lock-1", 3)).unwrap();
        assert_eq!(held.accept(three.as_bytes()).unwrap().version, 3);
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

#[cfg(test)]
mod vector {
    use super::*;

    /// The published test vector (mobile-contract/test-vectors/
    /// lock-config.json) is what hemtid signs: Ed25519 is deterministic,
    /// so the same seed and claims give the same bytes.
    #[test]
    fn the_published_lock_config_vector_is_what_hemtid_signs() {
        let keys = LockKeys::from_seed(&[0x42; 32]).unwrap();
        let claims = LockConfig {
            lock: "lock-0042".into(),
            algorithm: "EdDSA".into(),
            kid: keys.kid().into(),
            public_key: keys.public_key(),
            revoked: vec!["0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into()],
            version: 17,
            iat: 1_764_582_000,
        };
        let jws = keys.sign_config(&claims).unwrap();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../mobile-contract/test-vectors/lock-config.json"
        );
        let v: serde_json::Value = match std::fs::read_to_string(path) {
            Ok(t) => serde_json::from_str(&t).unwrap(),
            Err(_) if std::env::var("HEMTID_WRITE_VECTORS").is_ok() => {
                let (h, p, sig) = {
                    let mut it = jws.split('.');
                    (it.next().unwrap(), it.next().unwrap(), it.next().unwrap())
                };
                let v = serde_json::json!({
                    "about": "A lock's configuration as hemtid publishes it, retained, on hemtid/v1/devices/{device_id}/config: a compact JWS (JWT) signed with EdDSA (Ed25519). The lock pins public_key (base64url, no padding: the raw 32-byte Ed25519 key) at enrolment, verifies the signature over signing_input (the ASCII bytes of header '.' payload) with it, and then checks that claims.lock is its own id and claims.version is greater than the version it holds; anything else it ignores.",
                    "pinned_public_key": keys.public_key(),
                    "pinned_public_key_hex": crate::auth::to_hex(&URL_SAFE_NO_PAD.decode(keys.public_key()).unwrap()),
                    "message": jws,
                    "signing_input": format!("{h}.{p}"),
                    "signature_hex": crate::auth::to_hex(&URL_SAFE_NO_PAD.decode(sig).unwrap()),
                    "header": serde_json::from_slice::<serde_json::Value>(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap(),
                    "claims": claims,
                });
                std::fs::write(path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
                v
            }
            Err(e) => panic!("{path}: {e}"),
        };
        assert_eq!(v["message"].as_str(), Some(jws.as_str()));
        assert_eq!(
            v["pinned_public_key"].as_str(),
            Some(keys.public_key().as_str())
        );
        assert_eq!(v["claims"], serde_json::to_value(&claims).unwrap());
        let mut held = PinnedConfig::new("lock-0042", v["pinned_public_key"].as_str().unwrap());
        assert_eq!(held.accept(jws.as_bytes()).unwrap(), &claims);
    }
}
