//! Informant commitments and their openings (the sealed file a court may receive).
//!
//! The ledger holds only `SHA-256(INFORMANT_CONTEXT || salt || identity)`; the opening (salt and
//! identity) lives in a separate file, mode 0600, optionally age-encrypted with a passphrase.
//! Pure formatting and checking; reading and writing files is the caller's.

use crate::hash::{Digest, INFORMANT_CONTEXT};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand_core::CryptoRngCore;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// First line of an opening.
pub const OPENING_MAGIC: &str = "custody-informant-opening-v1";
/// First line of an encrypted seal file.
pub const SEALED_MAGIC: &str = "custody-sealed-opening-v1";
/// An identity longer than this is refused (it is a name and contact, not a document).
pub const MAX_IDENTITY: usize = 16 * 1024;

/// The secret behind an informant commitment. Zeroised on drop; `Debug` hides it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Opening {
    /// The alias recorded in the ledger.
    pub alias: String,
    /// 32 random bytes.
    pub salt: [u8; 32],
    /// The identity, as given.
    pub identity: Vec<u8>,
}

impl fmt::Debug for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Opening({}, identity hidden)", self.alias)
    }
}

/// A malformed opening or seal.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct SealError(pub String);

impl Opening {
    /// A fresh opening with a salt drawn from `rng` (the caller passes the OS random source).
    ///
    /// # Errors
    /// If the identity is empty or too long.
    pub fn new(
        alias: &str,
        identity: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Opening, SealError> {
        if identity.is_empty() || identity.len() > MAX_IDENTITY {
            return Err(SealError(format!(
                "identity must be 1 to {MAX_IDENTITY} bytes"
            )));
        }
        let mut salt = [0u8; 32];
        rng.fill_bytes(&mut salt);
        Ok(Opening {
            alias: alias.to_string(),
            salt,
            identity: identity.to_vec(),
        })
    }

    /// The commitment the ledger records.
    #[must_use]
    pub fn commitment(&self) -> Digest {
        Digest::of_parts(&[INFORMANT_CONTEXT, &self.salt, &self.identity])
    }

    /// Whether this opening opens `commitment` (constant-time comparison).
    #[must_use]
    pub fn opens(&self, commitment: &Digest) -> bool {
        self.commitment().ct_eq(commitment)
    }

    /// The opening's text form.
    #[must_use]
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{OPENING_MAGIC}\nalias {}\nsalt {}\nidentity {}\ncommitment {}\n",
            self.alias.replace('\n', " "),
            hex::encode(self.salt),
            B64.encode(&self.identity),
            self.commitment()
        ))
    }

    /// Parses the text form, checking the commitment line against the salt and identity.
    ///
    /// # Errors
    /// On any deviation from the format.
    pub fn from_text(text: &str) -> Result<Opening, SealError> {
        let bad = |m: &str| SealError(format!("not a valid informant opening: {m}"));
        let mut lines = text.lines();
        if lines.next() != Some(OPENING_MAGIC) {
            return Err(bad(&format!("first line must be {OPENING_MAGIC:?}")));
        }
        let mut get = |name: &str| -> Result<String, SealError> {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix(' '))
                .map(str::to_string)
                .ok_or_else(|| bad(&format!("missing {name} line")))
        };
        let alias = get("alias")?;
        let salt_hex = Zeroizing::new(get("salt")?);
        let identity_b64 = Zeroizing::new(get("identity")?);
        let commitment = get("commitment")?;
        if lines.next().is_some() {
            return Err(bad("lines after the commitment line"));
        }
        let mut salt = [0u8; 32];
        hex::decode_to_slice(salt_hex.as_str(), &mut salt)
            .map_err(|_| bad("salt is not 64 hex digits"))?;
        let identity = B64
            .decode(identity_b64.as_bytes())
            .map_err(|_| bad("identity is not base64"))?;
        if identity.is_empty() || identity.len() > MAX_IDENTITY {
            return Err(bad("identity length out of range"));
        }
        let o = Opening {
            alias,
            salt,
            identity,
        };
        if o.commitment().to_hex() != commitment {
            return Err(bad(
                "its commitment line does not match its salt and identity",
            ));
        }
        Ok(o)
    }
}

/// A seal file as read from disk: an opening in the clear, or one encrypted with age.
pub enum SealFile {
    /// The opening's text form ([`OPENING_MAGIC`] first).
    Plain(Opening),
    /// [`SEALED_MAGIC`], then base64 of an age ciphertext of the opening's text form.
    Encrypted(Vec<u8>),
}

impl SealFile {
    /// Parses a seal file's text.
    ///
    /// # Errors
    /// If it is neither form.
    pub fn parse(text: &str) -> Result<SealFile, SealError> {
        if let Some(rest) = text.strip_prefix(SEALED_MAGIC) {
            let ct = B64
                .decode(rest.trim())
                .map_err(|_| SealError("sealed opening is not valid base64".into()))?;
            return Ok(SealFile::Encrypted(ct));
        }
        Opening::from_text(text).map(SealFile::Plain)
    }

    /// The text of an encrypted seal file holding `ciphertext`.
    #[must_use]
    pub fn encrypted_text(ciphertext: &[u8]) -> String {
        format!("{SEALED_MAGIC}\n{}\n", B64.encode(ciphertext))
    }
}

/// Opens an encrypted seal's plaintext (the opening's text form).
///
/// # Errors
/// If the plaintext is not an opening.
pub fn opening_from_plaintext(plaintext: &[u8]) -> Result<Opening, SealError> {
    let text = Zeroizing::new(
        String::from_utf8(plaintext.to_vec())
            .map_err(|_| SealError("decrypted seal is not text".into()))?,
    );
    Opening::from_text(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn opening_round_trips_and_binds() {
        let o = Opening::new(
            "Source A",
            b"Kim, Pyongyang, +82 ...",
            &mut StdRng::seed_from_u64(7),
        )
        .unwrap();
        let back = Opening::from_text(&o.to_text()).unwrap();
        assert!(back.opens(&o.commitment()));
        let mut wrong = back.clone();
        wrong.identity[0] ^= 1;
        assert!(!wrong.opens(&o.commitment()));
        let mut salt = back.clone();
        salt.salt[0] ^= 1;
        assert!(!salt.opens(&o.commitment()));
        assert!(!format!("{o:?}").contains("Kim"));
    }

    #[test]
    fn forged_commitment_line_is_refused() {
        let o = Opening::new("A", b"x", &mut StdRng::seed_from_u64(7)).unwrap();
        let text = o.to_text().replace("commitment ", "commitment 0");
        assert!(Opening::from_text(&text).is_err());
    }
}
