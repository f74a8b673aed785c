//! Signing through a trait, so that an HSM, a hardware token or a remote signer can sign later
//! without any rule changing.
//!
//! Everything custody signs (submissions, checkpoint notes) goes through [`KeySigner`]: the
//! `signature::Signer` trait that RustCrypto and ed25519-dalek share, plus the public key the
//! signature verifies under. The in-memory [`crate::keys::SecretKey`] and ed25519-dalek's
//! `SigningKey` implement it. Domain separation is the caller's message, never the signer's.

use crate::codec::CodecError;
use crate::entry::{Body, Content, KeyId, Submission};
pub use ed25519_dalek::Signature;
use ed25519_dalek::{SigningKey, VerifyingKey};

/// A key that signs custody messages: `signature::Signer<Signature>` plus its public key.
pub trait KeySigner: ed25519_dalek::Signer<Signature> + Sync {
    /// The Ed25519 public key the signatures verify under.
    fn verifying_key(&self) -> VerifyingKey;

    /// The key id (SHA-256 of the public key) that submissions name.
    fn key_id(&self) -> KeyId {
        KeyId::of(self.verifying_key().as_bytes())
    }
}

impl KeySigner for SigningKey {
    fn verifying_key(&self) -> VerifyingKey {
        SigningKey::verifying_key(self)
    }
}

/// Signs `body` for the ledger `origin` as `signer`, at the signer's `claimed_time` (seconds
/// since 1970; the caller reads the clock).
///
/// # Errors
/// If the content is too large to encode.
pub fn sign_submission(
    signer: &dyn KeySigner,
    origin: &str,
    claimed_time: i64,
    body: Body,
) -> Result<Submission, CodecError> {
    Content {
        origin: origin.to_string(),
        signer: signer.key_id(),
        claimed_time,
        body,
    }
    .sign(signer)
}
