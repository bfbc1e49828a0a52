//! Sealing of stored secrets (the SK of AK/SK credentials) with an AEAD,
//! XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`), under the server's
//! 32-byte secret key, so a dump of the database alone reveals no secret.
//!
//! A sealed secret is stored as text:
//!
//! ```text
//! nps1:<key id, 16 hex>:<base64url(24-byte random nonce || ciphertext || tag)>
//! ```
//!
//! The associated data binds the ciphertext to its access key, so a secret
//! copied onto another row does not open. The key id (a truncated SHA-256 of
//! the key, which reveals nothing about it) says which key sealed a secret:
//! during a rotation the previous key still opens the old ones, and a server
//! given the wrong key can tell so at start instead of failing each request.
//!
//! The key comes from `NICPLANE_SECRET_KEY` (64 hex digits, or standard
//! base64 of 32 bytes) or from the key file the server generates in its data
//! directory (mode 0600); see `docs/security.md` ("Secret key").

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// Length of the secret key in bytes.
pub const KEY_LEN: usize = 32;
/// Prefix of a sealed value (format version 1).
const PREFIX: &str = "nps1";
/// Length of the random nonce of XChaCha20-Poly1305.
const NONCE_LEN: usize = 24;

/// One 32-byte key with its id.
struct SecretKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl SecretKey {
    fn new(key: &[u8; KEY_LEN]) -> Self {
        SecretKey {
            id: key_id(key),
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }
}

/// The id of a key: 16 hex digits of SHA-256 over a label and the key.
pub fn key_id(key: &[u8; KEY_LEN]) -> String {
    let mut h = Sha256::new();
    h.update(b"nicplane secret key id\0");
    h.update(key);
    hex::encode(&h.finalize()[..8])
}

/// Parse a key given as text: 64 hex digits, or base64 of 32 bytes.
pub fn parse_key(text: &str) -> Result<[u8; KEY_LEN], String> {
    let t = text.trim();
    let bytes = if t.len() == 2 * KEY_LEN && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(t).map_err(|e| e.to_string())?
    } else {
        STANDARD.decode(t).map_err(|_| {
            "The secret key must be 64 hex digits or the base64 of 32 bytes.".to_string()
        })?
    };
    bytes.try_into().map_err(|b: Vec<u8>| {
        format!(
            "The secret key must be 32 bytes; this one is {} bytes.",
            b.len()
        )
    })
}

/// A fresh random key as 64 hex digits (what the generated key file holds).
pub fn generate_key_text() -> String {
    let mut key = [0u8; KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut key);
    hex::encode(key)
}

/// What a stored secret turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Sealed with the current key.
    Current(String),
    /// Sealed with the previous key (to be sealed again with the current).
    Previous(String),
    /// Stored in clear (written before sealing existed).
    Plain(String),
}

impl Opened {
    pub fn secret(&self) -> &str {
        match self {
            Opened::Current(s) | Opened::Previous(s) | Opened::Plain(s) => s,
        }
    }
}

/// Why a stored secret cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Sealed with a key this server does not have (its id).
    UnknownKey(String),
    /// The value is malformed or fails authentication (tampered or copied).
    Corrupt,
}

/// The current key (seals and opens) and an optional previous key (opens
/// only, during a rotation).
pub struct Keyring {
    current: SecretKey,
    previous: Option<SecretKey>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field("previous", &self.previous.as_ref().map(|k| &k.id))
            .finish()
    }
}

fn aad(access: &str) -> Vec<u8> {
    format!("nicplane credential secret\0{access}").into_bytes()
}

impl Keyring {
    pub fn new(current: &[u8; KEY_LEN], previous: Option<&[u8; KEY_LEN]>) -> Self {
        Keyring {
            current: SecretKey::new(current),
            previous: previous.map(SecretKey::new),
        }
    }

    /// A random key held in memory only: for tests and throw-away stores; a
    /// server always passes a configured or stored key.
    pub fn ephemeral() -> Self {
        let mut key = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Keyring::new(&key, None)
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// The id of the previous key, if any.
    pub fn previous_id(&self) -> Option<&str> {
        self.previous.as_ref().map(|k| k.id.as_str())
    }

    /// Seal the secret of access key `access` with the current key.
    pub fn seal(&self, access: &str, secret: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = aad(access);
        // Encryption fails only for inputs of gigabytes; a secret is 40 bytes.
        let sealed = self
            .current
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        format!(
            "{PREFIX}:{}:{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(blob)
        )
    }

    /// Open a stored secret of access key `access`.
    pub fn open(&self, access: &str, stored: &str) -> Result<Opened, OpenError> {
        let Some(rest) = stored
            .strip_prefix(PREFIX)
            .and_then(|r| r.strip_prefix(':'))
        else {
            // Secrets written before sealing are letters and digits only, so
            // they never start with the prefix and a colon.
            return Ok(Opened::Plain(stored.to_string()));
        };
        let (id, data) = rest.split_once(':').ok_or(OpenError::Corrupt)?;
        let (key, previous) = if id == self.current.id {
            (&self.current, false)
        } else {
            match &self.previous {
                Some(p) if p.id == id => (p, true),
                _ => return Err(OpenError::UnknownKey(id.to_string())),
            }
        };
        let blob = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| OpenError::Corrupt)?;
        if blob.len() < NONCE_LEN {
            return Err(OpenError::Corrupt);
        }
        let (nonce, ct) = blob.split_at(NONCE_LEN);
        let aad = aad(access);
        let plain = key
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .map_err(|_| OpenError::Corrupt)?;
        let secret = String::from_utf8(plain).map_err(|_| OpenError::Corrupt)?;
        Ok(if previous {
            Opened::Previous(secret)
        } else {
            Opened::Current(secret)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: [u8; 32] = [7; 32];
    const K2: [u8; 32] = [9; 32];

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_access_key() {
        let ring = Keyring::new(&K1, None);
        let sealed = ring.seal("AK1", "s3cret");
        assert!(sealed.starts_with(&format!("nps1:{}:", ring.current_id())));
        assert!(!sealed.contains("s3cret"));
        assert_eq!(
            ring.open("AK1", &sealed),
            Ok(Opened::Current("s3cret".into()))
        );
        // Bound to its access key.
        assert_eq!(ring.open("AK2", &sealed), Err(OpenError::Corrupt));
        // Another key: known as unknown.
        let other = Keyring::new(&K2, None);
        assert_eq!(
            other.open("AK1", &sealed),
            Err(OpenError::UnknownKey(ring.current_id().into()))
        );
        // Two seals of one secret differ (random nonce).
        assert_ne!(ring.seal("AK1", "s3cret"), sealed);
        // Tampering is detected.
        let mut t = sealed.clone();
        t.pop();
        t.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(ring.open("AK1", &t), Err(OpenError::Corrupt));
    }

    #[test]
    fn rotation_opens_old_secrets_with_the_previous_key() {
        let old = Keyring::new(&K1, None);
        let sealed = old.seal("AK1", "s3cret");
        let rotated = Keyring::new(&K2, Some(&K1));
        assert_eq!(
            rotated.open("AK1", &sealed),
            Ok(Opened::Previous("s3cret".into()))
        );
        assert_eq!(
            rotated.open("AK1", "PlainOldSecret"),
            Ok(Opened::Plain("PlainOldSecret".into()))
        );
    }

    #[test]
    fn keys_parse_from_hex_or_base64() {
        assert_eq!(parse_key(&hex::encode(K1)), Ok(K1));
        assert_eq!(parse_key(&STANDARD.encode(K1)), Ok(K1));
        assert!(parse_key("abcd").unwrap_err().contains("32 bytes"));
        assert!(parse_key("not base64!").is_err());
        assert_eq!(parse_key(&generate_key_text()).map(|k| k.len()), Ok(32));
    }
}
