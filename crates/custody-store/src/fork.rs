//! Fork evidence from a ledger directory (`docs/FORKS.md`): the consistency proof and prefix
//! root that show a checkpoint's tree is not the tree of another checkpoint, taken from this
//! machine's verified tree hashes of the ledger that produced the larger one, and the search
//! `verify --fork-evidence` runs over a ledger's recorded and given checkpoints.
//!
//! The format and its checks are custody-core's ([`custody_core::fork`]); this module only
//! supplies hashes from a ledger and never writes a file.

use crate::checkpoints::list_checkpoints;
use crate::error::StoreError;
use crate::ledger::Ledger;
use custody_core::checkpoint::{self, SignedCheckpoint, StrictVerifier};
use custody_core::fork::{self, ForkError};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What [`Ledger::find_fork`] found.
#[derive(Debug)]
pub enum ForkSearch {
    /// Evidence (canonical, verified) that checkpoints `a` and `b` (names as given) fork.
    Found {
        /// The evidence file's bytes.
        evidence: Vec<u8>,
        /// Where checkpoint A came from.
        a: String,
        /// Where checkpoint B came from.
        b: String,
    },
    /// No evidence can be made from these checkpoints and this ledger; why.
    NotFound(String),
}

fn usage(e: ForkError) -> StoreError {
    StoreError::Usage(e.to_string())
}

/// Fork evidence of two checkpoints of one tree size with different roots: no tree hashes
/// are needed. `x` and `y` are opened under `trusted`.
///
/// # Errors
/// [`StoreError::Usage`] if a note does not open, the sizes differ (then the ledger that
/// produced the larger is needed: [`Ledger::fork_evidence`]), or the roots are equal.
pub fn same_size_evidence(
    trusted: &StrictVerifier,
    x: &[u8],
    y: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let (a, b) = fork::order(trusted, x, y).map_err(usage)?;
    if a.size() != b.size() {
        return Err(StoreError::Usage(format!(
            "the checkpoints are of tree sizes {} and {}: the proof must come from the tree of \
             the larger one; pass --ledger with the ledger that produced it",
            a.size(),
            b.size()
        )));
    }
    fork::build(trusted, &a, &b, b.root(), &[]).map_err(usage)
}

impl Ledger {
    /// Fork evidence of checkpoints `x` and `y` (either order), signed by `trusted`, with this
    /// ledger as the tree of the larger one (B): its root at B's size must be B's root.
    ///
    /// # Errors
    /// [`StoreError::Usage`] if a note does not open under `trusted`, this ledger is not B's
    /// tree, or the two checkpoints are consistent.
    pub fn fork_evidence(
        &self,
        trusted: &StrictVerifier,
        x: &[u8],
        y: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let (a, b) = fork::order(trusted, x, y).map_err(usage)?;
        if a.size() == b.size() {
            return fork::build(trusted, &a, &b, b.root(), &[]).map_err(usage);
        }
        self.evidence_from_tree(trusted, &a, &b)
    }

    /// Evidence for A and B (A smaller), this ledger being B's tree.
    fn evidence_from_tree(
        &self,
        trusted: &StrictVerifier,
        a: &SignedCheckpoint,
        b: &SignedCheckpoint,
    ) -> Result<Vec<u8>, StoreError> {
        if b.size() > self.size() || self.root(b.size())? != b.root() {
            return Err(StoreError::Usage(format!(
                "the ledger {} does not hold the tree of the larger checkpoint (size {}, root {}): \
                 give the ledger that produced it",
                self.dir().display(),
                b.size(),
                b.root()
            )));
        }
        let prefix = self.root(a.size())?;
        let proof = self.prove_consistency(a.size(), b.size())?;
        fork::build(trusted, a, b, prefix, &proof).map_err(usage)
    }

    /// Looks for fork evidence among this ledger's recorded checkpoints and `extra` notes (a
    /// verifier's `--since`): two of one size with different roots, or one that contradicts
    /// this ledger's tree (A) together with one that matches it at a size at least A's (B).
    ///
    /// # Errors
    /// On I/O failure reading the checkpoints or the tree hashes.
    pub fn find_fork(&self, extra: &[(PathBuf, Vec<u8>)]) -> Result<ForkSearch, StoreError> {
        let verifier = self.operator_verifier()?;
        let mut notes = list_checkpoints(self.dir())?;
        notes.extend(extra.iter().cloned());
        // Notes that do not open under the operator key are no evidence against it.
        let opened: Vec<(String, SignedCheckpoint)> = notes
            .iter()
            .filter_map(|(p, b)| {
                checkpoint::open(b, &verifier)
                    .ok()
                    .map(|cp| (p.display().to_string(), cp))
            })
            .collect();
        // The first pair (in name order) of one size with different roots: one pass, the first
        // note of each size kept. Why not every pair: the folder is untrusted, and a million
        // names for one note would be 10^12 comparisons.
        let mut first_of_size: BTreeMap<u64, usize> = BTreeMap::new();
        let mut pair: Option<(usize, usize)> = None;
        for (j, (_, b)) in opened.iter().enumerate() {
            match first_of_size.get(&b.size()) {
                None => {
                    first_of_size.insert(b.size(), j);
                }
                Some(&i) if opened[i].1.root() != b.root() => {
                    // The earliest i with a root other than b's: i itself, being the first.
                    if pair.is_none_or(|(pi, pj)| (i, j) < (pi, pj)) {
                        pair = Some((i, j));
                    }
                }
                Some(_) => {}
            }
        }
        if let Some((i, j)) = pair {
            let ((na, a), (nb, b)) = (&opened[i], &opened[j]);
            let evidence = fork::build(&verifier, a, b, b.root(), &[]).map_err(usage)?;
            return Ok(ForkSearch::Found {
                evidence,
                a: na.clone(),
                b: nb.clone(),
            });
        }
        let matches = |cp: &SignedCheckpoint| -> Result<bool, StoreError> {
            Ok(cp.size() <= self.size() && self.root(cp.size())? == cp.root())
        };
        // Each note is checked against the ledger once; the largest that matches is the B of
        // every A that contradicts the ledger at or below its size.
        let mut matching = Vec::with_capacity(opened.len());
        for (_, cp) in &opened {
            matching.push(matches(cp)?);
        }
        let largest = opened
            .iter()
            .zip(&matching)
            .filter(|(_, m)| **m)
            .map(|(c, _)| c)
            .fold(None::<&(String, SignedCheckpoint)>, |best, c| {
                if best.is_none_or(|b| c.1.size() > b.1.size()) {
                    Some(c)
                } else {
                    best
                }
            });
        let mut why = String::from("every checkpoint matches the ledger");
        for ((na, a), m) in opened.iter().zip(&matching) {
            if *m {
                continue;
            }
            let best = largest.filter(|b| b.1.size() >= a.size());
            if let Some((nb, b)) = best {
                let evidence = self.evidence_from_tree(&verifier, a, b)?;
                return Ok(ForkSearch::Found {
                    evidence,
                    a: na.clone(),
                    b: nb.clone(),
                });
            }
            why = format!(
                "checkpoint {na} (tree size {}) contradicts the ledger, but no checkpoint signed \
                 by the operator matches the ledger at or beyond that size; the operator's key \
                 would have to sign one (`custody checkpoint`)",
                a.size()
            );
        }
        Ok(ForkSearch::NotFound(why))
    }
}
