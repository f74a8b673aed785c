//! RFC 6962 / RFC 9162 Merkle trees: roots, inclusion and consistency proofs, and the
//! growing right edge of the tree (`Frontier`).
//!
//! This module owns the *wrapping* of `tlog_tiles` (Cloudflare's port of Go's
//! `golang.org/x/mod/sumdb/tlog`): the proof algorithms themselves are tlog's, never
//! re-implemented here. What this module adds is input validation in front of tlog, so
//! that none of tlog's internal `assert!`s (index math, "bad `read_hashes` implementation")
//! can ever fire on caller input, plus typed errors and the custody conventions
//! (size-0 consistency, proof order, proof length bound).
//!
//! It must never do I/O, touch a `Path`, the clock or an RNG: storage is reached only
//! through a caller-supplied [`HashReader`].
//!
//! Conventions (see `docs/CHECKPOINTS.md`):
//! - Proofs are in RFC 9162 §2.1.3 / §2.1.4 order: the hash nearest the leaf (or the old
//!   tree) first, the child of the root last. This is also the order tlog produces.
//! - A consistency proof from size 0 is the empty proof (as c2sp.org/tlog-witness: the
//!   empty tree is a prefix of every tree). transparency-dev/merkle rejects it instead.
//! - Tree sizes above [`MAX_TREE_SIZE`] (2^62) are refused where stored-hash indexes are
//!   computed, so tlog's index arithmetic can never overflow.

use crate::hash::Digest;
use thiserror::Error;
use tlog_tiles::Hash;

/// The error type a [`HashReader`] returns (tlog's).
pub use tlog_tiles::Error as TlogError;
pub use tlog_tiles::HashReader;

/// No valid proof for a tree of at most 2^64 leaves has more hashes than this; longer
/// proofs are refused before any hashing.
pub const MAX_PROOF_LEN: usize = 64;

/// The largest tree size custody computes stored-hash indexes for: 2^62.
///
/// tlog's `stored_hash_index` overflows `u64` for coordinates past this; a log that held
/// 2^62 entries would need 2^67 bytes of leaf hashes, so the limit costs nothing.
pub const MAX_TREE_SIZE: u64 = 1 << 62;

/// RFC 6962 §2.1: the root of the empty tree, SHA-256 of the empty string.
pub const EMPTY_ROOT: Digest = Digest(tlog_tiles::EMPTY_HASH.0);

/// Why a Merkle computation or proof check failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MerkleError {
    /// An inclusion proof was asked for or checked against the empty tree.
    #[error("the tree of size 0 has no leaves, so nothing can be proved included in it")]
    EmptyTree,
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not in a tree of size {size} (indexes run from 0 to size-1)")]
    IndexOutOfRange {
        /// The leaf index asked about.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("old tree size {old} is larger than new tree size {new}; a log never shrinks")]
    OldLargerThanNew {
        /// The old (claimed earlier) tree size.
        old: u64,
        /// The new tree size.
        new: u64,
    },
    /// A tree size past [`MAX_TREE_SIZE`].
    #[error("tree size {size} is larger than the supported maximum 2^62")]
    TreeTooLarge {
        /// The size refused.
        size: u64,
    },
    /// Stored-hash coordinates past what fits in a `u64` index.
    #[error("stored-hash coordinates (level {level}, index {n}) are beyond a tree of 2^62 leaves")]
    CoordinatesOutOfRange {
        /// The tree level (0 = leaves).
        level: u8,
        /// The index within that level.
        n: u64,
    },
    /// A proof longer than any valid proof can be.
    #[error("proof has {len} hashes; no valid proof has more than {MAX_PROOF_LEN}")]
    ProofTooLong {
        /// The number of hashes offered.
        len: usize,
    },
    /// A proof whose length is wrong for the sizes (and index) it claims to be about.
    #[error("{kind} proof {about} has {got} hashes, but such a proof has exactly {want}")]
    WrongProofLength {
        /// `"inclusion"` or `"consistency"`.
        kind: &'static str,
        /// Which proof: `"for leaf 3 in tree size 8"` or `"from size 3 to size 8"`.
        about: String,
        /// Hashes offered.
        got: usize,
        /// Hashes required.
        want: usize,
    },
    /// An inclusion proof of the right length that does not reproduce the root.
    #[error(
        "inclusion proof for leaf {index} in tree size {size} does not lead to the given root"
    )]
    InclusionMismatch {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof of the right length that does not reproduce both roots.
    #[error("consistency proof from size {old} to size {new} does not lead to the given roots")]
    ConsistencyMismatch {
        /// The old tree size.
        old: u64,
        /// The new tree size.
        new: u64,
    },
    /// The [`HashReader`] failed or misbehaved.
    #[error("reading stored Merkle hashes failed: {0}")]
    HashRead(String),
}

/// tlog's stored-hash index of the `n`th node at `level` (Crosby–Wallach layout, as Go's
/// tlog): where that hash sits in a log's sequential hash storage.
///
/// # Errors
/// [`MerkleError::CoordinatesOutOfRange`] when the node lies beyond a tree of
/// [`MAX_TREE_SIZE`] leaves (tlog's arithmetic would overflow there).
pub fn stored_hash_index(level: u8, n: u64) -> Result<u64, MerkleError> {
    // Safe iff (n + 1) * 2^level <= 2^62: then tlog's intermediate values stay below 2^63.
    if level > 62 || n >= (1u64 << (62 - level)) {
        return Err(MerkleError::CoordinatesOutOfRange { level, n });
    }
    Ok(tlog_tiles::stored_hash_index(level, n))
}

/// How many hashes tlog's layout stores for a tree of `size` leaves.
///
/// # Errors
/// [`MerkleError::TreeTooLarge`] past [`MAX_TREE_SIZE`].
pub fn stored_hash_count(size: u64) -> Result<u64, MerkleError> {
    check_size(size)?;
    Ok(tlog_tiles::stored_hash_count(size))
}

fn check_size(size: u64) -> Result<(), MerkleError> {
    if size > MAX_TREE_SIZE {
        return Err(MerkleError::TreeTooLarge { size });
    }
    Ok(())
}

fn read_err(e: &TlogError) -> MerkleError {
    MerkleError::HashRead(e.to_string())
}

fn to_hashes(proof: &[Digest]) -> Vec<Hash> {
    proof.iter().map(|d| Hash(d.0)).collect()
}

fn to_digests(hashes: Vec<Hash>) -> Vec<Digest> {
    hashes.into_iter().map(Digest::from).collect()
}

/// Wraps a caller's reader so that tlog's "bad `read_hashes` implementation" assertion can
/// never fire: a reader that returns the wrong number of hashes becomes an error here.
pub(crate) struct Checked<'a, R: HashReader>(pub(crate) &'a R);

impl<R: HashReader> HashReader for Checked<'_, R> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TlogError> {
        let hashes = self.0.read_hashes(indexes)?;
        if hashes.len() != indexes.len() {
            return Err(TlogError::InvalidInput(format!(
                "hash reader returned {} hashes for {} requested indexes",
                hashes.len(),
                indexes.len()
            )));
        }
        Ok(hashes)
    }
}

/// The RFC 6962 root (MTH) of the first `size` leaves, from stored hashes.
///
/// # Errors
/// [`MerkleError::TreeTooLarge`], or [`MerkleError::HashRead`] when `r` fails.
pub fn tree_root<R: HashReader>(size: u64, r: &R) -> Result<Digest, MerkleError> {
    check_size(size)?;
    tlog_tiles::tree_hash(size, &Checked(r))
        .map(Digest::from)
        .map_err(|e| read_err(&e))
}

/// The RFC 9162 §2.1.3 inclusion proof (audit path) of leaf `index` in the tree of
/// `size` leaves, leaf's sibling first, root's child last.
///
/// # Errors
/// [`MerkleError::EmptyTree`], [`MerkleError::IndexOutOfRange`],
/// [`MerkleError::TreeTooLarge`], or [`MerkleError::HashRead`].
pub fn prove_inclusion<R: HashReader>(
    index: u64,
    size: u64,
    r: &R,
) -> Result<Vec<Digest>, MerkleError> {
    if size == 0 {
        return Err(MerkleError::EmptyTree);
    }
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    check_size(size)?;
    tlog_tiles::prove_record(size, index, &Checked(r))
        .map(to_digests)
        .map_err(|e| read_err(&e))
}

/// The RFC 9162 §2.1.4 consistency proof that the tree of `old` leaves is a prefix of the
/// tree of `new` leaves. `old == 0` and `old == new` give the empty proof.
///
/// # Errors
/// [`MerkleError::OldLargerThanNew`], [`MerkleError::TreeTooLarge`], or
/// [`MerkleError::HashRead`].
pub fn prove_consistency<R: HashReader>(
    old: u64,
    new: u64,
    r: &R,
) -> Result<Vec<Digest>, MerkleError> {
    if old > new {
        return Err(MerkleError::OldLargerThanNew { old, new });
    }
    check_size(new)?;
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    tlog_tiles::prove_tree(new, old, &Checked(r))
        .map(to_digests)
        .map_err(|e| read_err(&e))
}

/// Bit length of `x` (Go's `bits.Len64`).
fn bit_len(x: u64) -> usize {
    (u64::BITS - x.leading_zeros()) as usize
}

/// `x >> n`, 0 when `n >= 64` (Go's shift semantics; Rust's `>>` would overflow).
fn shr(x: u64, n: usize) -> u64 {
    u32::try_from(n)
        .ok()
        .and_then(|n| x.checked_shr(n))
        .unwrap_or(0)
}

/// Length of the inclusion proof of `index` in a tree of `size` (requires index < size):
/// the path below the point where the leaf's path leaves the right border, plus one
/// hash per left subtree along the border (RFC 9162 §2.1.3.2 structure).
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = bit_len(index ^ (size - 1));
    let border = shr(index, inner).count_ones() as usize;
    inner + border
}

/// Length of the consistency proof from `old` to `new` (requires 0 < old < new).
fn consistency_proof_len(old: u64, new: u64) -> usize {
    let level = old.trailing_zeros() as usize;
    let index = old - 1;
    let inner = bit_len(index ^ (new - 1));
    let border = shr(index, inner).count_ones() as usize;
    // When `old` is a power of two its root is a node of the new tree and is not sent.
    let seed = usize::from(old != 1u64 << level);
    seed + inner - level + border
}

/// Checks that `proof` is the inclusion proof of `leaf` at `index` in the tree of `size`
/// leaves whose root is `root` (RFC 9162 §2.1.3.2).
///
/// # Errors
/// [`MerkleError::ProofTooLong`], [`MerkleError::EmptyTree`],
/// [`MerkleError::IndexOutOfRange`], [`MerkleError::WrongProofLength`], or
/// [`MerkleError::InclusionMismatch`].
pub fn verify_inclusion(
    leaf: Digest,
    index: u64,
    size: u64,
    proof: &[Digest],
    root: Digest,
) -> Result<(), MerkleError> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(MerkleError::ProofTooLong { len: proof.len() });
    }
    if size == 0 {
        return Err(MerkleError::EmptyTree);
    }
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let want = inclusion_proof_len(index, size);
    if proof.len() != want {
        return Err(MerkleError::WrongProofLength {
            kind: "inclusion",
            about: format!("for leaf {index} in tree size {size}"),
            got: proof.len(),
            want,
        });
    }
    tlog_tiles::check_record(&to_hashes(proof), size, root.into(), index, leaf.into())
        .map_err(|_| MerkleError::InclusionMismatch { index, size })
}

/// Checks that `proof` shows the tree (`old_size`, `old_root`) is a prefix of the tree
/// (`new_size`, `new_root`) (RFC 9162 §2.1.4.2).
///
/// Edge cases: `old_size == 0` holds iff the proof is empty and `old_root` is
/// [`EMPTY_ROOT`] (custody's choice, as c2sp.org/tlog-witness; transparency-dev/merkle
/// rejects every size-0 proof); `old_size == new_size` holds iff the proof is empty and
/// the roots are equal (so 0 -> 0 also needs `new_root` == [`EMPTY_ROOT`]).
///
/// # Errors
/// [`MerkleError::ProofTooLong`], [`MerkleError::OldLargerThanNew`],
/// [`MerkleError::WrongProofLength`], or [`MerkleError::ConsistencyMismatch`].
pub fn verify_consistency(
    old_size: u64,
    old_root: Digest,
    new_size: u64,
    new_root: Digest,
    proof: &[Digest],
) -> Result<(), MerkleError> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(MerkleError::ProofTooLong { len: proof.len() });
    }
    if old_size > new_size {
        return Err(MerkleError::OldLargerThanNew {
            old: old_size,
            new: new_size,
        });
    }
    let want = if old_size == 0 || old_size == new_size {
        0
    } else {
        consistency_proof_len(old_size, new_size)
    };
    if proof.len() != want {
        return Err(MerkleError::WrongProofLength {
            kind: "consistency",
            about: format!("from size {old_size} to size {new_size}"),
            got: proof.len(),
            want,
        });
    }
    let mismatch = MerkleError::ConsistencyMismatch {
        old: old_size,
        new: new_size,
    };
    if old_size == 0 {
        // The empty tree is a prefix of every tree; its root is fixed. For 0 -> 0 the
        // equal-sizes rule also applies: both roots must be the empty root.
        let new_ok = new_size != 0 || new_root == EMPTY_ROOT;
        return if old_root == EMPTY_ROOT && new_ok {
            Ok(())
        } else {
            Err(mismatch)
        };
    }
    tlog_tiles::check_tree(
        &to_hashes(proof),
        new_size,
        new_root.into(),
        old_size,
        old_root.into(),
    )
    .map_err(|_| mismatch)
}

/// The old root that a consistency proof from `old_size` to (`new_size`, `new_root`) itself
/// determines, if it determines one: the root `P` with
/// `verify_consistency(old_size, P, new_size, new_root, proof)` passing.
///
/// A witness that refuses a proof against the root *it* stored uses this to tell a bad
/// proof (no such `P`) from a proof that is valid in the log's signed tree and shows its
/// prefix of `old_size` is `P` (fork evidence, `docs/FORKS.md`). The proof only carries
/// `P` when `old_size` is not a power of two: otherwise the old tree is a complete subtree
/// of the new one, RFC 9162 §2.1.4.2 takes its root from the verifier, and `None` is all
/// that can be said. `None` also for `old_size` 0, equal sizes, or a proof that does not
/// lead to `new_root`. The result is checked with [`verify_consistency`] before it is
/// returned, so this computes `P` but never decides alone that it is right.
#[must_use]
pub fn implied_old_root(
    old_size: u64,
    new_size: u64,
    new_root: Digest,
    proof: &[Digest],
) -> Option<Digest> {
    if old_size == 0 || old_size >= new_size || old_size.is_power_of_two() {
        return None;
    }
    if new_size > MAX_TREE_SIZE || proof.len() != consistency_proof_len(old_size, new_size) {
        return None;
    }
    // RFC 9162 §2.1.4.2 steps 3 to 7; `fr` is the old root the path implies.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (first, rest) = proof.split_first()?;
    let (mut fr, mut sr): (Hash, Hash) = ((*first).into(), (*first).into());
    for c in rest {
        if sn == 0 {
            return None;
        }
        let c: Hash = (*c).into();
        if fn_ & 1 == 1 || fn_ == sn {
            fr = tlog_tiles::node_hash(c, fr);
            sr = tlog_tiles::node_hash(c, sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = tlog_tiles::node_hash(sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    let p = Digest::from(fr);
    (sn == 0 && Digest::from(sr) == new_root)
        .then_some(p)
        .filter(|p| verify_consistency(old_size, *p, new_size, new_root, proof).is_ok())
}

/// The RFC 6962 root of `leaves` (leaf hashes), computed through a [`Frontier`].
#[must_use]
pub fn root_of_leaves(leaves: &[Digest]) -> Digest {
    let mut f = Frontier::new();
    for leaf in leaves {
        // Only fails past 2^62 leaves, which no slice in memory can hold.
        if f.push(*leaf).is_err() {
            break;
        }
    }
    f.root()
}

/// The right edge of a growing tree: the roots of the complete subtrees in the binary
/// decomposition of its size, largest (leftmost) first.
///
/// Invariant: `subtrees.len() == size.count_ones()` and `subtrees[i]` is the root of the
/// i-th set bit of `size` counted from the most significant one.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    subtrees: Vec<Digest>,
}

impl Frontier {
    /// The frontier of the empty tree.
    #[must_use]
    pub fn new() -> Self {
        Frontier::default()
    }

    /// Resumes the frontier of a tree of `size` leaves from its stored hashes (reads the
    /// `popcount(size)` subtree hashes), so a log can append without replaying leaves.
    ///
    /// # Errors
    /// [`MerkleError::TreeTooLarge`], or [`MerkleError::HashRead`] when `r` fails.
    pub fn from_reader<R: HashReader>(size: u64, r: &R) -> Result<Self, MerkleError> {
        check_size(size)?;
        if size == 0 {
            return Ok(Frontier::new());
        }
        let indexes = tlog_tiles::sub_tree_index(0, size, Vec::new());
        let hashes = Checked(r).read_hashes(&indexes).map_err(|e| read_err(&e))?;
        Ok(Frontier {
            size,
            subtrees: to_digests(hashes),
        })
    }

    /// Number of leaves pushed (or resumed).
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The roots of the complete subtrees of the current size, largest first.
    #[must_use]
    pub fn subtrees(&self) -> &[Digest] {
        &self.subtrees
    }

    /// (stored-hash index, hash) of every frontier subtree.
    fn indexed(&self) -> Vec<(u64, Digest)> {
        let mut out = Vec::with_capacity(self.subtrees.len());
        let mut lo = 0u64;
        let mut i = 0;
        for level in (0..64u8).rev() {
            let k = 1u64 << level;
            if self.size & k != 0 {
                // size <= MAX_TREE_SIZE, so these coordinates are always in range.
                if let (Ok(idx), Some(h)) =
                    (stored_hash_index(level, lo >> level), self.subtrees.get(i))
                {
                    out.push((idx, *h));
                }
                lo += k;
                i += 1;
            }
        }
        out
    }

    /// Appends leaf hash `leaf` as record `size()` and returns exactly the stored hashes
    /// Go's tlog layout appends for it (the leaf hash, then one hash per subtree it
    /// completes), to be written at `stored_hash_index(0, size())`.
    ///
    /// # Errors
    /// [`MerkleError::TreeTooLarge`] when the tree already holds [`MAX_TREE_SIZE`] leaves;
    /// [`MerkleError::HashRead`] if tlog asks for a hash the frontier does not hold (a
    /// bug; the frontier is left unchanged).
    pub fn push(&mut self, leaf: Digest) -> Result<Vec<Digest>, MerkleError> {
        let n = self.size;
        if n >= MAX_TREE_SIZE {
            return Err(MerkleError::TreeTooLarge { size: n + 1 });
        }
        let reader = FrontierReader(self.indexed());
        let stored = tlog_tiles::stored_hashes_for_record_hash(n, leaf.into(), &Checked(&reader))
            .map_err(|e| read_err(&e))?;
        // Record n completes one subtree per trailing one bit of n; those frontier
        // entries merge into the last stored hash.
        let merged = n.trailing_ones() as usize;
        let keep = self.subtrees.len().saturating_sub(merged);
        let top = match stored.last() {
            Some(h) => Digest::from(*h),
            None => {
                return Err(MerkleError::HashRead(
                    "tlog returned no stored hashes".into(),
                ))
            }
        };
        self.subtrees.truncate(keep);
        self.subtrees.push(top);
        self.size = n + 1;
        Ok(to_digests(stored))
    }

    /// The RFC 6962 root (MTH) of everything pushed; [`EMPTY_ROOT`] for size 0.
    #[must_use]
    pub fn root(&self) -> Digest {
        // MTH of a non-power-of-two size folds the decomposition right to left; this is
        // exactly what tlog's `tree_hash` computes from the same subtree hashes.
        let mut iter = self.subtrees.iter().rev();
        let Some(last) = iter.next() else {
            return EMPTY_ROOT;
        };
        let mut h: Hash = (*last).into();
        for left in iter {
            h = tlog_tiles::node_hash((*left).into(), h);
        }
        h.into()
    }
}

/// Serves the frontier's subtree hashes by stored-hash index; anything else is an error.
struct FrontierReader(Vec<(u64, Digest)>);

impl HashReader for FrontierReader {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TlogError> {
        indexes
            .iter()
            .map(|want| {
                self.0
                    .iter()
                    .find(|(idx, _)| idx == want)
                    .map(|(_, h)| Hash(h.0))
                    .ok_or(TlogError::IndexesNotInTree)
            })
            .collect()
    }
}

/// All stored hashes of a tree, in memory, in tlog's layout: for tests, small trees and
/// proof bundles.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryHashes {
    hashes: Vec<Digest>,
    frontier: Frontier,
}

impl MemoryHashes {
    /// An empty tree.
    #[must_use]
    pub fn new() -> Self {
        MemoryHashes::default()
    }

    /// The tree of `leaves` (leaf hashes).
    #[must_use]
    pub fn from_leaves(leaves: &[Digest]) -> Self {
        let mut m = MemoryHashes::new();
        for leaf in leaves {
            if m.push(*leaf).is_err() {
                break;
            }
        }
        m
    }

    /// Appends a leaf hash.
    ///
    /// # Errors
    /// As [`Frontier::push`].
    pub fn push(&mut self, leaf: Digest) -> Result<(), MerkleError> {
        let new = self.frontier.push(leaf)?;
        self.hashes.extend(new);
        Ok(())
    }

    /// Number of leaves.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Root of all leaves.
    #[must_use]
    pub fn root(&self) -> Digest {
        self.frontier.root()
    }

    /// Every stored hash, in stored-hash-index order.
    #[must_use]
    pub fn stored(&self) -> &[Digest] {
        &self.hashes
    }
}

impl HashReader for MemoryHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TlogError> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.hashes.get(i))
                    .map(|h| Hash(h.0))
                    .ok_or(TlogError::IndexesNotInTree)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Digest> {
        (0..n).map(|i| Digest::leaf(&i.to_be_bytes())).collect()
    }

    #[test]
    fn frontier_matches_tlog_stored_hashes_and_tree_hash() {
        let ls = leaves(130);
        let mut storage: Vec<Hash> = Vec::new();
        let mut f = Frontier::new();
        for (n, leaf) in ls.iter().enumerate() {
            let got = f.push(*leaf).unwrap();
            let mem = MemoryHashes {
                hashes: to_digests(storage.clone()),
                frontier: Frontier::new(),
            };
            let want =
                tlog_tiles::stored_hashes_for_record_hash(n as u64, (*leaf).into(), &mem).unwrap();
            assert_eq!(got, to_digests(want.clone()));
            storage.extend(want);
            let mem = MemoryHashes {
                hashes: to_digests(storage.clone()),
                frontier: Frontier::new(),
            };
            assert_eq!(f.root(), tree_root(n as u64 + 1, &mem).unwrap());
            assert_eq!(Frontier::from_reader(n as u64 + 1, &mem).unwrap(), f);
        }
    }

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        assert_eq!(Frontier::new().root(), Digest::of(b""));
        assert_eq!(root_of_leaves(&[]), EMPTY_ROOT);
        assert_eq!(tree_root(0, &MemoryHashes::new()).unwrap(), EMPTY_ROOT);
    }

    #[test]
    fn implied_old_root_is_the_old_root_exactly_when_the_proof_carries_it() {
        let m = MemoryHashes::from_leaves(&leaves(40));
        for size in 2..=40u64 {
            let root = tree_root(size, &m).unwrap();
            for old in 1..size {
                let p = prove_consistency(old, size, &m).unwrap();
                let got = implied_old_root(old, size, root, &p);
                if old.is_power_of_two() {
                    assert_eq!(got, None, "{old}->{size}");
                } else {
                    assert_eq!(got, Some(tree_root(old, &m).unwrap()), "{old}->{size}");
                    // A changed hash or another new root: nothing is implied.
                    let mut bad = p.clone();
                    bad[p.len() - 1] = Digest::leaf(b"x");
                    assert_eq!(implied_old_root(old, size, root, &bad), None);
                    assert_eq!(implied_old_root(old, size, Digest::leaf(b"y"), &p), None);
                    assert_eq!(implied_old_root(old, size, root, &p[1..]), None);
                }
            }
        }
        assert_eq!(implied_old_root(0, 5, EMPTY_ROOT, &[]), None);
        assert_eq!(implied_old_root(5, 5, EMPTY_ROOT, &[]), None);
    }

    #[test]
    fn proof_lengths_match_tlog_for_all_small_trees() {
        let m = MemoryHashes::from_leaves(&leaves(70));
        for size in 1..=70u64 {
            for index in 0..size {
                let p = prove_inclusion(index, size, &m).unwrap();
                assert_eq!(p.len(), inclusion_proof_len(index, size), "{index}/{size}");
            }
            for old in 1..size {
                let p = prove_consistency(old, size, &m).unwrap();
                assert_eq!(p.len(), consistency_proof_len(old, size), "{old}->{size}");
            }
        }
    }

    #[test]
    fn misbehaving_reader_is_an_error_not_a_panic() {
        struct Short;
        impl HashReader for Short {
            fn read_hashes(&self, _: &[u64]) -> Result<Vec<Hash>, TlogError> {
                Ok(vec![])
            }
        }
        assert!(matches!(
            tree_root(5, &Short),
            Err(MerkleError::HashRead(_))
        ));
        assert!(matches!(
            prove_inclusion(1, 5, &Short),
            Err(MerkleError::HashRead(_))
        ));
        assert!(matches!(
            prove_consistency(3, 5, &Short),
            Err(MerkleError::HashRead(_))
        ));
        assert!(matches!(
            Frontier::from_reader(5, &Short),
            Err(MerkleError::HashRead(_))
        ));
        // A reader that lacks the hashes.
        let small = MemoryHashes::from_leaves(&leaves(2));
        assert!(matches!(
            prove_inclusion(1, 9, &small),
            Err(MerkleError::HashRead(_))
        ));
    }

    #[test]
    fn extreme_inputs_are_errors_not_panics() {
        let m = MemoryHashes::new();
        assert_eq!(
            tree_root(u64::MAX, &m),
            Err(MerkleError::TreeTooLarge { size: u64::MAX })
        );
        assert!(prove_inclusion(u64::MAX - 1, u64::MAX, &m).is_err());
        assert!(prove_consistency(1, u64::MAX, &m).is_err());
        assert!(stored_hash_index(255, 0).is_err());
        assert!(stored_hash_index(0, u64::MAX).is_err());
        assert_eq!(stored_hash_index(0, 2).unwrap(), 3);
        let d = Digest::ZERO;
        let long = vec![d; 65];
        assert_eq!(
            verify_inclusion(d, 0, 2, &long, d),
            Err(MerkleError::ProofTooLong { len: 65 })
        );
        // Huge sizes are fine for verification: no stored-hash indexes are involved.
        // Regression: computing the expected proof length once shifted a u64 by 64
        // (index ^ (size - 1) with bit 63 set) and panicked in debug builds.
        assert!(verify_inclusion(d, u64::MAX - 1, u64::MAX, &vec![d; 64], d).is_err());
        assert!(verify_consistency(u64::MAX - 1, d, u64::MAX, d, &vec![d; 64]).is_err());
        assert!(verify_consistency(1 << 63, d, u64::MAX, d, &vec![d; 64]).is_err());
    }

    #[test]
    fn size_zero_consistency_is_the_empty_proof() {
        let d = Digest::leaf(b"x");
        assert_eq!(verify_consistency(0, EMPTY_ROOT, 5, d, &[]), Ok(()));
        assert_eq!(
            verify_consistency(0, EMPTY_ROOT, 0, EMPTY_ROOT, &[]),
            Ok(())
        );
        assert!(matches!(
            verify_consistency(0, d, 5, d, &[]),
            Err(MerkleError::ConsistencyMismatch { .. })
        ));
        assert!(matches!(
            verify_consistency(0, EMPTY_ROOT, 5, d, &[d]),
            Err(MerkleError::WrongProofLength { .. })
        ));
        assert_eq!(
            prove_consistency(0, 5, &MemoryHashes::new()),
            Ok(Vec::new())
        );
    }
}
