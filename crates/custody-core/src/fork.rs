//! Fork evidence: two checkpoints signed by one log key that cannot both describe one
//! append-only log, in a self-contained file anyone can check offline (`docs/FORKS.md`).
//!
//! The file holds checkpoint A (tree size `m`), checkpoint B (size `n >= m`), the root `P`
//! of B's tree at size `m` and the RFC 9162 consistency proof from (`m`, `P`) to (`n`, B's
//! root). If the proof verifies and `P` differs from A's root, the log key signed two trees
//! that are not prefixes of one another: under SHA-256's collision resistance, a tree has
//! exactly one prefix of each size, and the proof shows B's tree's prefix of size `m` is
//! `P`, not A's root. For `m = n` the proof is empty and `P` is B's root, so the evidence is
//! two signed roots of one size that differ.
//!
//! This module owns the format, [`build`] and [`verify`]; it never reads a file or the
//! clock. The proof comes from whoever holds B's tree (custody-store, from a ledger).

use crate::checkpoint::{self, b64_strict, CheckpointError, SignedCheckpoint, StrictVerifier};
use crate::hash::Digest;
use crate::merkle::{self, MerkleError, MAX_PROOF_LEN};
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The `format` member of every version-1 fork evidence file.
pub const FORMAT: &str = "custody-fork-evidence/v1";
/// Files larger than this are refused before parsing: two notes, a proof and the members.
/// Each note counts twice: in a JSON string a `"` or `\` is written as two bytes.
pub const MAX_FORK_BYTES: usize = 4 * checkpoint::MAX_NOTE_BYTES + 16 * 1024;

/// A fork evidence file as it is on the wire. Untrusted: only [`verify`] says anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForkEvidence {
    /// Always [`FORMAT`].
    pub format: String,
    /// The log's origin (the key name of both checkpoints' signatures).
    pub origin: String,
    /// The log key's vkey. Informational: a checker trusts its own copy, which this must equal.
    pub vkey: String,
    /// Checkpoint A, the smaller (or equal) tree size, the signed note verbatim.
    pub checkpoint_a: String,
    /// Checkpoint B, the larger (or equal) tree size, the signed note verbatim.
    pub checkpoint_b: String,
    /// Base64 of the root of B's tree at A's size.
    pub prefix_root: String,
    /// The RFC 9162 consistency proof from A's size (with `prefix_root`) to B's size and root,
    /// base64 of each 32-byte hash, nearest the old root first; empty when the sizes are equal.
    pub consistency_proof: Vec<String>,
}

/// What verified evidence shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// B's tree at A's size is not A's tree: the log signed two inconsistent checkpoints.
    Fork,
    /// B's tree at A's size is A's tree: the two checkpoints are consistent.
    Consistent,
}

/// Evidence every check of `docs/FORKS.md` passed. Only [`verify`] makes one.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CheckedFork {
    /// The verdict.
    pub verdict: Verdict,
    /// Checkpoint A, opened under the trusted key.
    pub a: SignedCheckpoint,
    /// Checkpoint B, opened under the trusted key.
    pub b: SignedCheckpoint,
    /// The root of B's tree at A's size, as the proof shows it.
    pub prefix_root: Digest,
    /// The number of hashes in the consistency proof.
    pub proof_len: usize,
    /// SHA-256 of the file as given.
    pub sha256: Digest,
}

/// Why fork evidence was refused or could not be built.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ForkError {
    /// Larger than [`MAX_FORK_BYTES`]; nothing was parsed.
    #[error("fork evidence is {len} bytes; custody reads at most {MAX_FORK_BYTES}")]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// Not JSON of the evidence's shape.
    #[error("not custody fork evidence: {0}")]
    Json(String),
    /// Not byte for byte the canonical serialization.
    #[error("fork evidence is not in canonical form (first difference at byte {offset}): it was edited or reformatted")]
    NotCanonical {
        /// Byte offset of the first difference.
        offset: usize,
    },
    /// A member is wrong.
    #[error("{member}: {reason}")]
    Member {
        /// The member at fault.
        member: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint does not open under the trusted key.
    #[error("{member}: {source}")]
    Checkpoint {
        /// `checkpoint_a` or `checkpoint_b`.
        member: &'static str,
        /// Why.
        source: CheckpointError,
    },
    /// The consistency proof does not verify against B.
    #[error("consistency_proof: {0}; the file proves nothing")]
    Proof(MerkleError),
    /// [`build`] was given two checkpoints that are consistent.
    #[error("the two checkpoints are consistent (tree size {a} is a prefix of tree size {b}); there is no fork to prove")]
    NotAFork {
        /// A's size.
        a: u64,
        /// B's size.
        b: u64,
    },
}

fn member(member: &'static str, reason: impl Into<String>) -> ForkError {
    ForkError::Member {
        member,
        reason: reason.into(),
    }
}

/// The canonical bytes: `serde_json` pretty form (two-space indent, members in declaration
/// order) and one newline, as proof bundles.
fn to_canonical_bytes(e: &ForkEvidence) -> Vec<u8> {
    // Serializing these string and list members cannot fail.
    let mut out = serde_json::to_vec_pretty(e).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Opens two notes under `trusted` and orders them by tree size (A first; for equal sizes,
/// in the order given).
///
/// # Errors
/// [`ForkError::Checkpoint`] naming the note that does not open.
pub fn order(
    trusted: &StrictVerifier,
    first: &[u8],
    second: &[u8],
) -> Result<(SignedCheckpoint, SignedCheckpoint), ForkError> {
    let x = checkpoint::open(first, trusted).map_err(|source| ForkError::Checkpoint {
        member: "first checkpoint",
        source,
    })?;
    let y = checkpoint::open(second, trusted).map_err(|source| ForkError::Checkpoint {
        member: "second checkpoint",
        source,
    })?;
    Ok(if y.size() < x.size() { (y, x) } else { (x, y) })
}

/// Builds canonical evidence that `a` and `b` (opened, `a.size() <= b.size()`) are a fork,
/// given the root of B's tree at A's size and the consistency proof from there to B. The
/// result is verified before it is returned.
///
/// # Errors
/// [`ForkError::NotAFork`] if `prefix_root` is A's root, or any error of [`verify`] (a proof
/// that does not verify against B).
pub fn build(
    trusted: &StrictVerifier,
    a: &SignedCheckpoint,
    b: &SignedCheckpoint,
    prefix_root: Digest,
    proof: &[Digest],
) -> Result<Vec<u8>, ForkError> {
    let e = ForkEvidence {
        format: FORMAT.into(),
        origin: trusted.name().into(),
        vkey: trusted.to_vkey(),
        checkpoint_a: a.note().into(),
        checkpoint_b: b.note().into(),
        prefix_root: B64.encode(prefix_root.0),
        consistency_proof: proof.iter().map(|h| B64.encode(h.0)).collect(),
    };
    let bytes = to_canonical_bytes(&e);
    let checked = verify(&bytes, trusted)?;
    if checked.verdict == Verdict::Consistent {
        return Err(ForkError::NotAFork {
            a: a.size(),
            b: b.size(),
        });
    }
    Ok(bytes)
}

fn hash_member(m: &'static str, s: &str) -> Result<Digest, ForkError> {
    b64_strict(s)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(Digest)
        .ok_or_else(|| member(m, "not canonical base64 of 32 bytes"))
}

/// Checks fork evidence: the steps of `docs/FORKS.md` "Verifying fork evidence", in order.
/// `trusted` is the log key the checker trusts (never the file's own `vkey`).
///
/// # Errors
/// The first check that fails. A file that verifies returns its [`Verdict`], which is
/// [`Verdict::Fork`] only if it proves one.
pub fn verify(bytes: &[u8], trusted: &StrictVerifier) -> Result<CheckedFork, ForkError> {
    if bytes.len() > MAX_FORK_BYTES {
        return Err(ForkError::TooLarge { len: bytes.len() });
    }
    let e: ForkEvidence =
        serde_json::from_slice(bytes).map_err(|e| ForkError::Json(e.to_string()))?;
    if e.consistency_proof.len() > MAX_PROOF_LEN {
        return Err(member(
            "consistency_proof",
            format!("more than {MAX_PROOF_LEN} hashes"),
        ));
    }
    let canonical = to_canonical_bytes(&e);
    if canonical != bytes {
        let offset = canonical
            .iter()
            .zip(bytes)
            .position(|(x, y)| x != y)
            .unwrap_or(canonical.len().min(bytes.len()));
        return Err(ForkError::NotCanonical { offset });
    }
    if e.format != FORMAT {
        return Err(member(
            "format",
            format!("{:?} is not {FORMAT:?}", e.format),
        ));
    }
    if e.origin != trusted.name() {
        return Err(member(
            "origin",
            format!(
                "{:?} is not the trusted key's name {:?}",
                e.origin,
                trusted.name()
            ),
        ));
    }
    if e.vkey != trusted.to_vkey() {
        return Err(member(
            "vkey",
            "the file names a different log key than the one trusted",
        ));
    }
    let a = checkpoint::open(e.checkpoint_a.as_bytes(), trusted).map_err(|source| {
        ForkError::Checkpoint {
            member: "checkpoint_a",
            source,
        }
    })?;
    let b = checkpoint::open(e.checkpoint_b.as_bytes(), trusted).map_err(|source| {
        ForkError::Checkpoint {
            member: "checkpoint_b",
            source,
        }
    })?;
    if a.size() > b.size() {
        return Err(member(
            "checkpoint_a",
            format!(
                "tree size {} is larger than checkpoint_b's {}; A is the smaller",
                a.size(),
                b.size()
            ),
        ));
    }
    let prefix_root = hash_member("prefix_root", &e.prefix_root)?;
    let mut proof = Vec::with_capacity(e.consistency_proof.len());
    for h in &e.consistency_proof {
        proof.push(hash_member("consistency_proof", h)?);
    }
    merkle::verify_consistency(a.size(), prefix_root, b.size(), b.root(), &proof)
        .map_err(ForkError::Proof)?;
    let verdict = if prefix_root == a.root() {
        Verdict::Consistent
    } else {
        Verdict::Fork
    };
    Ok(CheckedFork {
        verdict,
        a,
        b,
        prefix_root,
        proof_len: proof.len(),
        sha256: Digest::of(bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MemoryHashes;
    use ed25519_dalek::SigningKey;

    // The worked example of docs/FORKS.md; the test regenerates it and checks the document.
    const DOC: &str = include_str!("../../../docs/FORKS.md");
    const ORIGIN: &str = "example.org/custody-example";
    const SEED_TEXT: &str = "custody CHECKPOINTS.md example key v1";

    fn key() -> SigningKey {
        SigningKey::from_bytes(&Digest::of(SEED_TEXT.as_bytes()).0)
    }

    fn trusted() -> StrictVerifier {
        checkpoint::parse_vkey(&checkpoint::vkey(ORIGIN, &key().verifying_key()).unwrap()).unwrap()
    }

    /// The eight RFC 6962 test leaves (A's tree), and B's: the same with leaf 7 rewritten,
    /// then two more.
    fn trees() -> (MemoryHashes, MemoryHashes) {
        let leaves: [&[u8]; 8] = [
            b"",
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[
                0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                0x6e, 0x6f,
            ],
        ];
        let a: Vec<Digest> = leaves.iter().map(|l| Digest::leaf(l)).collect();
        let mut b = a[..7].to_vec();
        b.push(Digest::leaf(b"rewritten 7"));
        b.push(Digest::leaf(b"appended 8"));
        b.push(Digest::leaf(b"appended 9"));
        (MemoryHashes::from_leaves(&a), MemoryHashes::from_leaves(&b))
    }

    fn example() -> (Vec<u8>, SignedCheckpoint, SignedCheckpoint) {
        let (ta, tb) = trees();
        let v = trusted();
        let na = checkpoint::sign(ORIGIN, 8, ta.root(), &key()).unwrap();
        let nb = checkpoint::sign(ORIGIN, 10, tb.root(), &key()).unwrap();
        let (a, b) = order(&v, nb.as_bytes(), na.as_bytes()).unwrap();
        let prefix = merkle::tree_root(8, &tb).unwrap();
        let proof = merkle::prove_consistency(8, 10, &tb).unwrap();
        (build(&v, &a, &b, prefix, &proof).unwrap(), a, b)
    }

    #[test]
    fn doc_example_is_what_the_code_produces() {
        let (bytes, a, b) = example();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            DOC.contains(&format!("```json\n{text}```\n")),
            "FORKS.md must quote:\n{text}"
        );
        let c = verify(&bytes, &trusted()).unwrap();
        assert_eq!(c.verdict, Verdict::Fork);
        assert_eq!((c.a.size(), c.b.size(), c.proof_len), (8, 10, 1));
        assert_eq!(
            a.root().to_hex(),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        );
        for v in [
            c.sha256.to_hex(),
            bytes.len().to_string(),
            b.root().to_hex(),
            c.prefix_root.to_hex(),
        ] {
            assert!(DOC.contains(&v), "FORKS.md must quote {v}");
        }
    }

    #[test]
    fn equal_sizes_with_different_roots_need_no_proof() {
        let (ta, tb) = trees();
        let v = trusted();
        let b8 = merkle::tree_root(8, &tb).unwrap();
        let na = checkpoint::sign(ORIGIN, 8, ta.root(), &key()).unwrap();
        let nb = checkpoint::sign(ORIGIN, 8, b8, &key()).unwrap();
        let (a, b) = order(&v, na.as_bytes(), nb.as_bytes()).unwrap();
        let bytes = build(&v, &a, &b, b.root(), &[]).unwrap();
        assert_eq!(verify(&bytes, &v).unwrap().verdict, Verdict::Fork);
        // The same checkpoint twice is no fork.
        assert!(matches!(
            build(&v, &a, &a, a.root(), &[]),
            Err(ForkError::NotAFork { .. })
        ));
    }

    #[test]
    fn consistent_checkpoints_are_not_a_fork() {
        let (ta, _) = trees();
        let v = trusted();
        let n5 = checkpoint::sign(ORIGIN, 5, merkle::tree_root(5, &ta).unwrap(), &key()).unwrap();
        let n8 = checkpoint::sign(ORIGIN, 8, ta.root(), &key()).unwrap();
        let (a, b) = order(&v, n8.as_bytes(), n5.as_bytes()).unwrap();
        let proof = merkle::prove_consistency(5, 8, &ta).unwrap();
        assert!(matches!(
            build(&v, &a, &b, a.root(), &proof),
            Err(ForkError::NotAFork { a: 5, b: 8 })
        ));
        // Hand-made evidence of a consistent pair verifies as Consistent, not Fork.
        let e = ForkEvidence {
            format: FORMAT.into(),
            origin: ORIGIN.into(),
            vkey: v.to_vkey(),
            checkpoint_a: a.note().into(),
            checkpoint_b: b.note().into(),
            prefix_root: B64.encode(a.root().0),
            consistency_proof: proof.iter().map(|h| B64.encode(h.0)).collect(),
        };
        let c = verify(&to_canonical_bytes(&e), &v).unwrap();
        assert_eq!(c.verdict, Verdict::Consistent);
    }

    #[test]
    fn tampered_evidence_is_refused_never_a_fork() {
        let (bytes, _, _) = example();
        let v = trusted();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let e: ForkEvidence = serde_json::from_slice(&bytes).unwrap();
        // A claimed prefix root the proof does not lead from: not evidence.
        let mut bad = e.clone();
        bad.prefix_root = B64.encode([7u8; 32]);
        assert!(matches!(
            verify(&to_canonical_bytes(&bad), &v),
            Err(ForkError::Proof(_))
        ));
        // A changed proof hash.
        let mut bad = e.clone();
        bad.consistency_proof[0] = B64.encode([7u8; 32]);
        assert!(matches!(
            verify(&to_canonical_bytes(&bad), &v),
            Err(ForkError::Proof(_))
        ));
        // A forged checkpoint: one byte of B's signature changed.
        let mut bad = e.clone();
        let i = bad.checkpoint_b.rfind('=').unwrap() - 3;
        let mut nb = bad.checkpoint_b.into_bytes();
        nb[i] = if nb[i] == b'A' { b'B' } else { b'A' };
        bad.checkpoint_b = String::from_utf8(nb).unwrap();
        assert!(matches!(
            verify(&to_canonical_bytes(&bad), &v),
            Err(ForkError::Checkpoint {
                member: "checkpoint_b",
                ..
            })
        ));
        // Swapped order.
        let mut bad = e.clone();
        std::mem::swap(&mut bad.checkpoint_a, &mut bad.checkpoint_b);
        assert!(matches!(
            verify(&to_canonical_bytes(&bad), &v),
            Err(ForkError::Member {
                member: "checkpoint_a",
                ..
            })
        ));
        // Reformatted, an unknown member, another key.
        assert!(matches!(
            verify(text.replace("  ", "   ").as_bytes(), &v),
            Err(ForkError::NotCanonical { .. })
        ));
        assert!(matches!(
            verify(text.replacen("{", "{\"x\": 1,", 1).as_bytes(), &v),
            Err(ForkError::Json(_))
        ));
        let other = SigningKey::from_bytes(&[9u8; 32]);
        let ov = checkpoint::parse_vkey(&checkpoint::vkey(ORIGIN, &other.verifying_key()).unwrap())
            .unwrap();
        assert!(matches!(
            verify(&bytes, &ov),
            Err(ForkError::Member { member: "vkey", .. })
        ));
        assert!(matches!(
            verify(&vec![b' '; MAX_FORK_BYTES + 1], &v),
            Err(ForkError::TooLarge { .. })
        ));
    }
}
