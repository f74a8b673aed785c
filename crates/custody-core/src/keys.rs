//! Key files, key ids and strict signature verification.
//!
//! Owns the text formats of `NAME.key` (secret, mode 0600) and `NAME.pub` (public), written down in
//! `docs/FORMAT.md`. Secrets live only in `ed25519_dalek::SigningKey` (zeroised on drop) and in
//! `Zeroizing` buffers; no `Debug` or error message here ever shows one.
//!
//! Pure: reading and writing key files, and age's scrypt passphrase encryption and decryption
//! of them, are custody-store's (`custody_store::files`), passed in here as functions;
//! randomness for new keys is passed in. Nothing here is hand-rolled cryptography.

use crate::entry::KeyId;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use std::fmt;
use zeroize::Zeroizing;

/// First line of a secret key file.
pub const SECRET_MAGIC: &str = "custody-secret-key-v1";
/// First line of a public key file.
pub const PUBLIC_MAGIC: &str = "custody-public-key-v1";
/// Key files are tiny; anything larger is not one (checked before reading it all).
pub const MAX_KEY_FILE: u64 = 64 * 1024;

/// Errors about keys and signatures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The file is not in the expected format.
    #[error("{0}")]
    Format(String),
    /// The secret file is readable by group or others.
    #[error("{path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`")]
    Permissions {
        /// The file.
        path: String,
        /// Its mode bits.
        mode: u32,
    },
    /// The passphrase did not decrypt the key.
    #[error("wrong passphrase (or the encrypted key is damaged)")]
    WrongPassphrase,
    /// A passphrase is needed and none was given.
    #[error("{0}")]
    Passphrase(String),
    /// The public key is a weak (small-order) point.
    #[error("public key is a small-order or mixed-order (torsion) Ed25519 point; refusing it")]
    WeakKey,
    /// The signature did not verify under strict rules.
    #[error("signature does not verify")]
    BadSignature,
}

/// Turns a secret key's 32-byte seed into an age ciphertext (supplied by the caller, since
/// encryption draws randomness).
pub type SeedEncryptor<'a> = dyn Fn(&[u8]) -> Result<Vec<u8>, KeyError> + 'a;

/// Checks a key name: 1 to 64 of `[A-Za-z0-9._-]`, so it is safe in file names and listings.
#[must_use]
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// An Ed25519 signing key with its name. `Debug` never shows the secret.
pub struct SecretKey {
    name: String,
    key: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SecretKey({}, id {}, secret hidden)",
            self.name,
            self.id()
        )
    }
}

impl SecretKey {
    /// Generates a key from `rng` (the caller passes the operating system's random source).
    ///
    /// # Errors
    /// If the name is not a valid key name.
    pub fn generate(name: &str, rng: &mut impl CryptoRngCore) -> Result<SecretKey, KeyError> {
        if !valid_key_name(name) {
            return Err(KeyError::Format(format!(
                "invalid key name {name:?}: use 1-64 letters, digits, '.', '_' or '-'"
            )));
        }
        Ok(SecretKey {
            name: name.to_string(),
            key: SigningKey::generate(rng),
        })
    }

    /// Builds a key from a 32-byte seed (tests and known-answer vectors only).
    #[must_use]
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> SecretKey {
        SecretKey {
            name: name.to_string(),
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The key's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The signing key, for signing; never print it.
    #[must_use]
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
    /// The public half.
    #[must_use]
    pub fn public(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }
    /// The key id.
    #[must_use]
    pub fn id(&self) -> KeyId {
        KeyId::of(self.key.verifying_key().as_bytes())
    }

    /// The secret key file's text. `encrypt`, when given, turns the 32-byte seed into an age
    /// scrypt ciphertext (`custody_store::files::encrypt_with_passphrase`); the core cannot
    /// encrypt itself because age draws fresh randomness for every file.
    ///
    /// # Errors
    /// If `encrypt` fails.
    pub fn to_file_text(
        &self,
        encrypt: Option<&SeedEncryptor<'_>>,
    ) -> Result<Zeroizing<String>, KeyError> {
        let seed = Zeroizing::new(self.key.to_bytes());
        let line = match encrypt {
            None => format!("ed25519 {}", B64.encode(*seed)),
            Some(enc) => format!("ed25519-scrypt {}", B64.encode(enc(&seed[..])?)),
        };
        Ok(Zeroizing::new(format!(
            "{SECRET_MAGIC}\nname {}\n{line}\n",
            self.name
        )))
    }

    /// Whether a secret key file's text holds an encrypted key.
    #[must_use]
    pub fn file_is_encrypted(text: &str) -> bool {
        text.lines()
            .nth(2)
            .is_some_and(|l| l.starts_with("ed25519-scrypt "))
    }

    /// Parses a secret key file. `decrypt` turns an encrypted key's age ciphertext into its
    /// seed (`custody_store::files` asks for the passphrase and decrypts); it is called only if
    /// the key is encrypted.
    ///
    /// # Errors
    /// On a malformed file, or whatever `decrypt` returns (a missing or wrong passphrase).
    pub fn from_file_text(
        text: &str,
        decrypt: impl FnOnce(&[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError>,
    ) -> Result<SecretKey, KeyError> {
        let mut lines = text.lines();
        if lines.next() != Some(SECRET_MAGIC) {
            return Err(KeyError::Format(format!(
                "not a custody secret key file (first line must be {SECRET_MAGIC:?})"
            )));
        }
        let name = field(lines.next(), "name")?;
        let Some(line) = lines.next() else {
            return Err(KeyError::Format("secret key file has no key line".into()));
        };
        if lines.next().is_some() {
            return Err(KeyError::Format("secret key file has extra lines".into()));
        }
        let seed: Zeroizing<Vec<u8>> = if let Some(b) = line.strip_prefix("ed25519 ") {
            Zeroizing::new(
                B64.decode(b)
                    .map_err(|_| KeyError::Format("secret key is not valid base64".into()))?,
            )
        } else if let Some(b) = line.strip_prefix("ed25519-scrypt ") {
            let ct = B64
                .decode(b)
                .map_err(|_| KeyError::Format("encrypted key is not valid base64".into()))?;
            decrypt(&ct)?
        } else {
            return Err(KeyError::Format("unknown secret key type".into()));
        };
        let seed: &[u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Format("secret key must be 32 bytes".into()))?;
        Ok(SecretKey {
            name,
            key: SigningKey::from_bytes(seed),
        })
    }
}

impl ed25519_dalek::Signer<Signature> for SecretKey {
    fn try_sign(&self, msg: &[u8]) -> Result<Signature, ed25519_dalek::SignatureError> {
        self.key.try_sign(msg)
    }
}

impl crate::sign::KeySigner for SecretKey {
    fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }
}

fn field(line: Option<&str>, name: &str) -> Result<String, KeyError> {
    let line = line.ok_or_else(|| KeyError::Format(format!("key file has no {name} line")))?;
    let value = line
        .strip_prefix(name)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| KeyError::Format(format!("expected a {name:?} line")))?;
    if name == "name" && !valid_key_name(value) {
        return Err(KeyError::Format(format!("invalid key name {value:?}")));
    }
    Ok(value.to_string())
}

/// A named Ed25519 public key. Construction refuses weak (small-order) keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    name: String,
    key: VerifyingKey,
}

impl PublicKey {
    /// Wraps raw public key bytes, refusing invalid and weak points.
    ///
    /// # Errors
    /// If the bytes are not a valid, non-weak Ed25519 point.
    pub fn from_bytes(name: &str, bytes: &[u8; 32]) -> Result<PublicKey, KeyError> {
        let key = VerifyingKey::from_bytes(bytes)
            .map_err(|_| KeyError::Format("not a valid Ed25519 public key".into()))?;
        if !acceptable_key(&key) {
            return Err(KeyError::WeakKey);
        }
        Ok(PublicKey {
            name: name.to_string(),
            key,
        })
    }
    /// The key's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The raw 32 bytes.
    #[must_use]
    pub fn bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }
    /// The dalek key.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }
    /// The key id.
    #[must_use]
    pub fn id(&self) -> KeyId {
        KeyId::of(self.key.as_bytes())
    }

    /// The public key file's text.
    #[must_use]
    pub fn to_file_text(&self) -> String {
        format!(
            "{PUBLIC_MAGIC}\nname {}\ned25519 {}\nid {}\n",
            self.name,
            B64.encode(self.key.as_bytes()),
            self.id()
        )
    }

    /// Parses a public key file, checking its id line against the key.
    ///
    /// # Errors
    /// On any deviation from the format, a weak key, or an id that does not match.
    pub fn from_file_text(text: &str) -> Result<PublicKey, KeyError> {
        let mut lines = text.lines();
        if lines.next() != Some(PUBLIC_MAGIC) {
            return Err(KeyError::Format(format!(
                "not a custody public key file (first line must be {PUBLIC_MAGIC:?})"
            )));
        }
        let name = field(lines.next(), "name")?;
        let b = field(lines.next(), "ed25519")?;
        let id = field(lines.next(), "id")?;
        if lines.next().is_some() {
            return Err(KeyError::Format("public key file has extra lines".into()));
        }
        let raw = B64
            .decode(b)
            .map_err(|_| KeyError::Format("public key is not valid base64".into()))?;
        let raw: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Format("public key must be 32 bytes".into()))?;
        let key = PublicKey::from_bytes(&name, &raw)?;
        if key.id().to_hex() != id {
            return Err(KeyError::Format(
                "public key file's id line does not match its key".into(),
            ));
        }
        Ok(key)
    }

    /// Strict Ed25519 verification (RFC 8032 with canonical S, no small-order R or A).
    ///
    /// # Errors
    /// [`KeyError::BadSignature`] if it does not verify.
    pub fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> Result<(), KeyError> {
        verify_strict(&self.key, msg, sig)
    }
}

/// Whether a public key may sign in custody: not small-order (`is_weak`) and with no torsion
/// component ("mixed order"). `verify_strict` already refuses small-order keys; refusing mixed
/// order too means every verifier, cofactored or cofactorless, single or batch, accepts exactly
/// the same signatures under the keys custody admits (Chalkias et al., "Taming the many EdDSAs").
#[must_use]
pub fn acceptable_key(key: &VerifyingKey) -> bool {
    !key.is_weak()
        && curve25519_dalek::edwards::CompressedEdwardsY(key.to_bytes())
            .decompress()
            .is_some_and(|p| p.is_torsion_free())
}

/// Strict Ed25519 verification with ed25519-dalek's `verify_strict`, which rejects
/// non-canonical S, small-order R and weak keys (the malleability cases of RFC 8032 and ZIP 215).
///
/// # Errors
/// [`KeyError::BadSignature`] if it does not verify.
pub fn verify_strict(key: &VerifyingKey, msg: &[u8], sig: &[u8; 64]) -> Result<(), KeyError> {
    let sig = Signature::from_bytes(sig);
    key.verify_strict(msg, &sig)
        .map_err(|_| KeyError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_and_public_files_round_trip() {
        let k = SecretKey::from_seed("researcher", &[9u8; 32]);
        let text = k.to_file_text(None).unwrap();
        let back = SecretKey::from_file_text(&text, |_| unreachable!()).unwrap();
        assert_eq!(back.id(), k.id());
        let p = k.public().to_file_text();
        assert_eq!(PublicKey::from_file_text(&p).unwrap(), k.public());
        assert!(!format!("{k:?}").contains(&B64.encode([9u8; 32])));
    }

    #[test]
    fn public_file_with_wrong_id_or_weak_key_is_refused() {
        let k = SecretKey::from_seed("a", &[2u8; 32]).public();
        let text = k.to_file_text().replace("id ", "id 00");
        assert!(PublicKey::from_file_text(&text).is_err());
        // The identity point (a small-order point) as a public key.
        let mut ident = [0u8; 32];
        ident[0] = 1;
        assert!(matches!(
            PublicKey::from_bytes("w", &ident),
            Err(KeyError::WeakKey)
        ));
    }
}
