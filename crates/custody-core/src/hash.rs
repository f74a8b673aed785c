//! The `Digest` newtype and every domain-separation constant custody hashes or signs with.
//!
//! This module owns the bytes that go in front of hashed and signed data. It must never
//! do I/O. Each constant is written down in `docs/FORMAT.md` next to its reference.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fmt;

/// RFC 6962 section 2.1: prefix of a leaf hash, SHA-256(0x00 || entry bytes).
pub const LEAF_PREFIX: u8 = 0x00;
/// RFC 6962 section 2.1: prefix of an interior node hash, SHA-256(0x01 || left || right).
pub const NODE_PREFIX: u8 = 0x01;
/// Context string in front of every submission's signed bytes.
/// It holds a NUL byte, which no C2SP note text (a checkpoint) can start with, so a
/// submission signature can never be replayed as a checkpoint signature or vice versa.
pub const SUBMISSION_CONTEXT: &[u8] = b"custody/v1/submission\0";
/// Context string in front of an informant's identity in its sealed commitment.
pub const INFORMANT_CONTEXT: &[u8] = b"custody/v1/informant-commitment\0";
/// Context string in front of what two copies of an entry share, in its duplicate key
/// (`rules::duplicates`). Never signed; it names a cache key and a bundle check.
pub const DUPLICATE_CONTEXT: &[u8] = b"custody/v1/duplicate-key\0";
/// Context string at the start of a state-tree leaf (`completeness`), after the RFC 6962 leaf
/// prefix: a state leaf can never be an entry, whose bytes start with its index.
pub const STATE_LEAF_CONTEXT: &[u8] = b"custody/v1/state-leaf\0";

/// A SHA-256 output. The invariant is only its length; what it hashes is said where it is made.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The all-zero digest: the previous-entry hash of entry 0.
    pub const ZERO: Digest = Digest([0u8; 32]);

    /// SHA-256 of the concatenation of `parts`.
    #[must_use]
    pub fn of_parts(parts: &[&[u8]]) -> Digest {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        Digest(h.finalize().into())
    }

    /// SHA-256 of `data`.
    #[must_use]
    pub fn of(data: &[u8]) -> Digest {
        Digest(Sha256::digest(data).into())
    }

    /// RFC 6962 leaf hash: SHA-256(0x00 || data).
    #[must_use]
    pub fn leaf(data: &[u8]) -> Digest {
        Digest::of_parts(&[&[LEAF_PREFIX], data])
    }

    /// Lowercase hex, 64 characters.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters.
    ///
    /// # Errors
    /// Returns `None`-like error text when the string is not 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Digest, String> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut out)
            .map_err(|_| format!("not a 64-digit hex SHA-256 hash: {s:?}"))?;
        Ok(Digest(out))
    }

    /// Constant-time comparison, for commitments and anything an attacker may probe.
    #[must_use]
    pub fn ct_eq(&self, other: &Digest) -> bool {
        let mut acc = 0u8;
        for (a, b) in self.0.iter().zip(other.0.iter()) {
            acc |= a ^ b;
        }
        acc == 0
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl From<tlog_tiles::Hash> for Digest {
    fn from(h: tlog_tiles::Hash) -> Self {
        Digest(h.0)
    }
}

impl From<Digest> for tlog_tiles::Hash {
    fn from(d: Digest) -> Self {
        tlog_tiles::Hash(d.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_hash_of_empty_matches_rfc6962() {
        // transparency-dev rfc6962_test.go: leaf hash of the empty string.
        assert_eq!(
            Digest::leaf(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn hex_round_trip_and_rejects_bad() {
        let d = Digest::of(b"abc");
        assert_eq!(Digest::from_hex(&d.to_hex()).unwrap(), d);
        assert!(Digest::from_hex("zz").is_err());
        assert!(Digest::from_hex(&"0".repeat(63)).is_err());
    }
}
