//! Completeness: the log's amendment state as a Merkle tree the operator commits to, and the
//! proofs that let a bundle show it holds every amendment of its entries (docs/PROOFS.md,
//! "Completeness").
//!
//! The *state tree* at entry `c` has one leaf for every entry `e < c` that some entry before
//! `c` amends ([`LogState::amended_by`]: corrections, retractions, redactions, re-sourcings,
//! the superseding figure, a grant's revocation), in order of `e`:
//!
//! ```text
//! leaf(e, A) = SHA-256(0x00 || "custody/v1/state-leaf\0" || e (u64 LE) || |A| (u64 LE) || A[0] || A[1] || ...)
//! ```
//!
//! with `A` the amending entries in increasing order (u64 LE each), and the RFC 6962 tree
//! over those leaves. A `StateCommitment` entry at index `c` signs its leaf count and root;
//! every full replay recomputes them ([`state_root`], checked at admission), so a false
//! commitment fails `verify` at that entry. A bundle opens, for each of its entries below `c`,
//! the leaf of that entry (its amendment set, which the bundle must then hold exactly) or the
//! two adjacent leaves around where it would be (it has none, and the bundle must hold none).
//!
//! Pure: it reads a [`LogState`] and returns hashes and proofs.

use crate::hash::{Digest, STATE_LEAF_CONTEXT};
use crate::merkle::{self, Frontier, MemoryHashes, MerkleError};
use crate::rules::LogState;
use std::collections::{BTreeMap, BTreeSet};

/// Every entry below `before` that entries below `before` amend, with those entries in
/// increasing order: the state tree's leaves, in order.
#[must_use]
pub fn amendment_sets(state: &LogState, before: u64) -> Vec<(u64, Vec<u64>)> {
    let mut sets: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut add = |e: u64, a: u64| {
        // An amendment is always later than what it amends.
        if a < before && e < a {
            sets.entry(e).or_default().push(a);
        }
    };
    for (&e, list) in state
        .amendments
        .iter()
        .chain(state.citations.iter())
        .chain(state.reviews.iter())
    {
        for &a in list {
            add(e, a);
        }
    }
    for (&e, &a) in &state.superseded_by {
        add(e, a);
    }
    for k in &state.keys {
        if let (Some(_), Some(r)) = (k.role, k.revoked_at) {
            add(k.granted_at, r);
        }
    }
    sets.into_iter()
        .map(|(e, mut a)| {
            a.sort_unstable();
            (e, a)
        })
        .collect()
}

/// The bytes of a state leaf before the RFC 6962 leaf prefix.
#[must_use]
pub fn leaf_data(entry: u64, amended_by: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(STATE_LEAF_CONTEXT.len() + 16 + 8 * amended_by.len());
    out.extend_from_slice(STATE_LEAF_CONTEXT);
    out.extend_from_slice(&entry.to_le_bytes());
    out.extend_from_slice(&(amended_by.len() as u64).to_le_bytes());
    for a in amended_by {
        out.extend_from_slice(&a.to_le_bytes());
    }
    out
}

/// The RFC 6962 leaf hash of a state leaf.
#[must_use]
pub fn leaf_hash(entry: u64, amended_by: &[u64]) -> Digest {
    Digest::leaf(&leaf_data(entry, amended_by))
}

/// The state tree's leaf count and root just before entry `before`, as a state commitment at
/// `before` must sign them. Linear in the number of amended entries; keeps no tree.
#[must_use]
pub fn state_root(state: &LogState, before: u64) -> (u64, Digest) {
    let mut f = Frontier::new();
    let sets = amendment_sets(state, before);
    for (e, a) in &sets {
        // Far below the tree's size bound: at most one leaf per entry.
        let _ = f.push(leaf_hash(*e, a));
    }
    (sets.len() as u64, f.root())
}

/// One opened leaf of a state tree: its position, the entry it is about, that entry's amending
/// entries, and its inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedLeaf {
    /// The leaf's position in the tree.
    pub position: u64,
    /// The amended entry.
    pub entry: u64,
    /// The entries amending it, increasing.
    pub amended_by: Vec<u64>,
    /// RFC 9162 inclusion proof of the leaf at `position`.
    pub path: Vec<Digest>,
}

/// A state tree held whole, to open leaves of (an exporter's).
pub struct StateTree {
    sets: Vec<(u64, Vec<u64>)>,
    hashes: MemoryHashes,
}

impl StateTree {
    /// The state tree just before entry `before`.
    #[must_use]
    pub fn of(state: &LogState, before: u64) -> StateTree {
        let sets = amendment_sets(state, before);
        let leaves: Vec<Digest> = sets.iter().map(|(e, a)| leaf_hash(*e, a)).collect();
        StateTree {
            hashes: MemoryHashes::from_leaves(&leaves),
            sets,
        }
    }

    /// Its number of leaves.
    #[must_use]
    pub fn leaves(&self) -> u64 {
        self.sets.len() as u64
    }

    /// Its root.
    #[must_use]
    pub fn root(&self) -> Digest {
        self.hashes.root()
    }

    /// The fewest leaves that show the amendment set of every entry of `entries`: its own leaf
    /// if it has one, else the leaves on either side of where it would be. In position order.
    ///
    /// # Errors
    /// If a proof cannot be computed (not for a tree this type built).
    pub fn open(&self, entries: &BTreeSet<u64>) -> Result<Vec<OpenedLeaf>, MerkleError> {
        let mut positions = BTreeSet::new();
        for &e in entries {
            match self.sets.binary_search_by_key(&e, |(k, _)| *k) {
                Ok(p) => {
                    positions.insert(p);
                }
                Err(p) => {
                    if p > 0 {
                        positions.insert(p - 1);
                    }
                    if p < self.sets.len() {
                        positions.insert(p);
                    }
                }
            }
        }
        let n = self.leaves();
        positions
            .into_iter()
            .map(|p| {
                let (entry, amended_by) = &self.sets[p];
                Ok(OpenedLeaf {
                    position: p as u64,
                    entry: *entry,
                    amended_by: amended_by.clone(),
                    path: merkle::prove_inclusion(p as u64, n, &self.hashes)?,
                })
            })
            .collect()
    }
}

/// Why a bundle's completeness proof fails, naming the entry where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", entry.map(|e| format!("entry {e}: ")).unwrap_or_default())]
pub struct CompletenessError {
    /// The bundle entry whose amendments are not shown complete, if the failure is about one.
    pub entry: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

fn bad(entry: Option<u64>, reason: impl Into<String>) -> CompletenessError {
    CompletenessError {
        entry,
        reason: reason.into(),
    }
}

/// Checks opened leaves against a committed state tree of `leaves` leaves and root `root`
/// (a state commitment at entry `c`), and that for every entry `e` of `held` (each bundle entry
/// below `c`, with the entries amending it that the bundle holds, below `c`) the opened leaves
/// show exactly that set: its own leaf with that set, or adjacent leaves on either side of `e`
/// and an empty set. Every opened leaf must be one of those.
///
/// # Errors
/// The first failure, naming the entry whose amendment set differs.
pub fn check(
    c: u64,
    leaves: u64,
    root: &Digest,
    opened: &[OpenedLeaf],
    held: &BTreeMap<u64, Vec<u64>>,
) -> Result<(), CompletenessError> {
    let mut by_entry: BTreeMap<u64, usize> = BTreeMap::new();
    for (k, o) in opened.iter().enumerate() {
        if o.position >= leaves {
            return Err(bad(
                None,
                format!(
                    "state leaf at position {} is past the committed tree of {leaves} leaves",
                    o.position
                ),
            ));
        }
        if let Some(prev) = k.checked_sub(1).map(|p| &opened[p]) {
            if prev.position >= o.position || prev.entry >= o.entry {
                return Err(bad(
                    None,
                    "state leaves must be in increasing position and entry order",
                ));
            }
        }
        if o.entry >= c
            || o.amended_by.windows(2).any(|w| w[0] >= w[1])
            || o.amended_by.first().is_none_or(|&a| a <= o.entry)
            || o.amended_by.last().is_some_and(|&a| a >= c)
        {
            return Err(bad(
                Some(o.entry),
                "its state leaf is malformed (amending entries must be increasing, later than it \
                 and before the commitment)",
            ));
        }
        merkle::verify_inclusion(
            leaf_hash(o.entry, &o.amended_by),
            o.position,
            leaves,
            &o.path,
            *root,
        )
        .map_err(|e| {
            bad(
                Some(o.entry),
                format!("its state leaf is not in the committed state tree: {e}"),
            )
        })?;
        by_entry.insert(o.entry, k);
    }
    let mut used = vec![false; opened.len()];
    for (&e, set) in held {
        if let Some(&k) = by_entry.get(&e) {
            used[k] = true;
            let committed = &opened[k].amended_by;
            if committed != set {
                let missing: Vec<String> = committed
                    .iter()
                    .filter(|a| !set.contains(a))
                    .map(ToString::to_string)
                    .collect();
                let extra: Vec<String> = set
                    .iter()
                    .filter(|a| !committed.contains(a))
                    .map(ToString::to_string)
                    .collect();
                return Err(bad(
                    Some(e),
                    if missing.is_empty() {
                        format!(
                            "the bundle holds amendments {} of it that the state commitment at \
                             entry {c} does not record",
                            extra.join(", ")
                        )
                    } else {
                        format!(
                            "the state commitment at entry {c} records amendments of it that \
                             the bundle leaves out: entries {}",
                            missing.join(", ")
                        )
                    },
                ));
            }
            continue;
        }
        // No leaf of its own: the leaves on either side of it must be opened and adjacent.
        let below = by_entry.range(..e).next_back().map(|(_, &k)| k);
        let above = by_entry.range(e + 1..).next().map(|(_, &k)| k);
        let pos = |k: usize| opened[k].position;
        let shown = match (below, above) {
            (Some(b), Some(a)) => pos(a) == pos(b) + 1,
            (None, Some(a)) => pos(a) == 0,
            (Some(b), None) => pos(b) + 1 == leaves,
            (None, None) => leaves == 0,
        };
        if !shown {
            return Err(bad(
                Some(e),
                format!(
                    "the bundle does not show that the state commitment at entry {c} records no \
                     amendment of it"
                ),
            ));
        }
        for k in [below, above].into_iter().flatten() {
            used[k] = true;
        }
        if let Some(a) = set.first() {
            return Err(bad(
                Some(e),
                format!(
                    "the bundle holds amendment {a} of it, which the state commitment at entry \
                     {c} does not record"
                ),
            ));
        }
    }
    if let Some(k) = used.iter().position(|u| !u) {
        return Err(bad(
            None,
            format!(
                "state leaf of entry {} is opened but shows nothing about the bundle's entries",
                opened[k].entry
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree over leaves for entries 3, 7 and 10, opened for `entries`, checked with `held`.
    fn tree() -> (Vec<(u64, Vec<u64>)>, MemoryHashes) {
        let sets = vec![(3, vec![5, 9]), (7, vec![8]), (10, vec![11])];
        let leaves: Vec<Digest> = sets.iter().map(|(e, a)| leaf_hash(*e, a)).collect();
        (sets.clone(), MemoryHashes::from_leaves(&leaves))
    }

    fn opened(positions: &[u64]) -> Vec<OpenedLeaf> {
        let (sets, h) = tree();
        positions
            .iter()
            .map(|&p| OpenedLeaf {
                position: p,
                entry: sets[p as usize].0,
                amended_by: sets[p as usize].1.clone(),
                path: merkle::prove_inclusion(p, 3, &h).unwrap(),
            })
            .collect()
    }

    #[test]
    fn presence_absence_and_omission() {
        let (_, h) = tree();
        let root = h.root();
        let held: BTreeMap<u64, Vec<u64>> = [(3, vec![5, 9]), (4, vec![]), (12, vec![])].into();
        // 3 is its own leaf (position 0); 4 lies between 3 and 7 (0 and 1); 12 after 10 (2).
        check(20, 3, &root, &opened(&[0, 1, 2]), &held).unwrap();
        // A correction of 3 left out of the bundle.
        let short: BTreeMap<u64, Vec<u64>> = [(3, vec![5])].into();
        let e = check(20, 3, &root, &opened(&[0]), &short).unwrap_err();
        assert_eq!(e.entry, Some(3));
        assert!(e.reason.contains("leaves out: entries 9"), "{e}");
        // Absence shown by non-adjacent leaves is no proof.
        let gap: BTreeMap<u64, Vec<u64>> = [(8, vec![])].into();
        let e = check(20, 3, &root, &opened(&[0, 2]), &gap).unwrap_err();
        assert_eq!(e.entry, Some(8));
        // An opened leaf that shows nothing.
        let e = check(20, 3, &root, &opened(&[0, 2]), &short_held(3)).unwrap_err();
        assert!(e.reason.contains("shows nothing"), "{e}");
        // A forged set does not hash to the committed leaf.
        let mut forged = opened(&[0]);
        forged[0].amended_by = vec![5];
        let e = check(20, 3, &root, &forged, &short).unwrap_err();
        assert!(e.reason.contains("not in the committed state tree"), "{e}");
        // An empty tree shows every absence with no leaf.
        let none: BTreeMap<u64, Vec<u64>> = [(1, vec![])].into();
        check(20, 0, &merkle::EMPTY_ROOT, &[], &none).unwrap();
    }

    fn short_held(e: u64) -> BTreeMap<u64, Vec<u64>> {
        [(e, vec![5, 9])].into()
    }
}
