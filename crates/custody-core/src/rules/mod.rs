//! The domain rules: who may sign what, what a citation may point at, and figure arithmetic.
//!
//! One rule set serves `append` (refuse a bad submission), `verify` (reject a log that breaks a
//! rule) and a proof bundle's check (replay its entries), so the three can never disagree.
//! Earlier entries are read through [`EntryLookup`], so this module stays pure: it never opens a
//! file. Where each rule lives:
//! - [`admission`]: may this content become the next entry (grants, roles, citations, sums);
//! - [`text`]: text fields, partial dates and periods;
//! - [`valuation`]: the value of a claim or figure at a point of the log, and retraction;
//! - [`duplicates`]: what makes two entries copies, and when a copy is admitted;
//! - this file: the state the rules need ([`LogState`]) and how an entry changes it.

pub mod admission;
pub mod duplicates;
pub mod text;
pub mod valuation;

use crate::entry::{Body, Content, Entry, KeyId, Role};
use crate::hash::Digest;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

pub use text::{valid_partial_date, valid_period, MAX_TEXT};
pub use valuation::Valuation;
use valuation::{ClaimBefore, FigureDag};

/// How deep figures may nest (a figure citing a figure citing ...). Bounds the work and the
/// recursion of recomputing a figure, whatever the log holds.
pub const MAX_FIGURE_DEPTH: usize = 64;

/// Why an earlier entry could not be read. Keeps "the evidence is bad or missing" apart from
/// "the disk failed", so a caller can exit 1 for the first and 2 for the second.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The entry is not available to this reader: not in a bundle, not yet replayed.
    #[error("cannot read entry {index}: it {reason}")]
    Missing {
        /// The entry asked for.
        index: u64,
        /// Why it is not there ("is not in the bundle").
        reason: String,
    },
    /// The stored entry is not what custody wrote (evidence).
    #[error("entry {index} is corrupt: {reason}")]
    Corrupt {
        /// The entry asked for.
        index: u64,
        /// What is wrong.
        reason: String,
    },
    /// Reading failed for a reason outside the evidence (the disk, the OS).
    #[error("cannot read entry {index}: {source}")]
    Io {
        /// The entry asked for.
        index: u64,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Reads earlier entries by index.
pub trait EntryLookup {
    /// The entry at `index`, which the caller guarantees is already in the log.
    ///
    /// # Errors
    /// A [`LookupError`]; it is reported against the entry being checked.
    fn entry(&self, index: u64) -> Result<Entry, LookupError>;
}

/// No earlier entries: what genesis is admitted against.
pub struct NoEntries;

impl EntryLookup for NoEntries {
    fn entry(&self, index: u64) -> Result<Entry, LookupError> {
        Err(LookupError::Missing {
            index,
            reason: "does not exist yet".into(),
        })
    }
}

/// A broken rule, or an earlier entry the rule needed that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The content breaks a rule: the evidence is at fault.
    #[error("{0}")]
    Broken(String),
    /// An earlier entry could not be read.
    #[error(transparent)]
    Lookup(#[from] LookupError),
}

impl RuleError {
    /// Whether the failure is the reader's (I/O), not the evidence's.
    #[must_use]
    pub fn is_io(&self) -> bool {
        matches!(self, RuleError::Lookup(LookupError::Io { .. }))
    }
}

pub(crate) fn fail<T>(msg: impl Into<String>) -> Result<T, RuleError> {
    Err(RuleError::Broken(msg.into()))
}

pub(crate) fn read(log: &dyn EntryLookup, index: u64) -> Result<Entry, RuleError> {
    Ok(log.entry(index)?)
}

/// A key known to the log.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyRecord {
    /// The Ed25519 public key.
    pub public: [u8; 32],
    /// Its name.
    pub name: String,
    /// Its role; `None` for the operator (genesis) key.
    pub role: Option<Role>,
    /// The entry that granted it (0 for the operator).
    pub granted_at: u64,
    /// The entry that revoked it, if any.
    pub revoked_at: Option<u64>,
}

impl KeyRecord {
    /// The id of this key.
    #[must_use]
    pub fn id(&self) -> KeyId {
        KeyId::of(&self.public)
    }
    /// The role's name, "operator" for the genesis key.
    #[must_use]
    pub fn role_name(&self) -> &'static str {
        self.role.map_or("operator", Role::name)
    }
}

/// What the rules need to know about the log so far: keys, amendments, and the figures' DAG
/// (one number per figure term); nothing per source or plain claim.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogState {
    /// Number of entries.
    pub size: u64,
    /// Leaf hash of the last entry (zero when empty).
    pub head: Digest,
    /// The origin, from genesis.
    pub origin: String,
    /// Every key granted, the operator first.
    pub keys: Vec<KeyRecord>,
    /// For each amended entry, the corrections, retractions and redactions naming it.
    pub amendments: BTreeMap<u64, Vec<u64>>,
    /// For each re-sourced claim, the `Cite` entries that added sources to it, in log order.
    /// Kept apart from `amendments`: re-sourcing changes no value.
    #[serde(default)]
    pub citations: BTreeMap<u64, Vec<u64>>,
    /// For each superseded figure, the figure that supersedes it (at most one).
    #[serde(default)]
    pub superseded_by: BTreeMap<u64, u64>,
    /// Indices of the operator's state commitments, in log order.
    #[serde(default)]
    pub commitments: Vec<u64>,
    /// For each reviewed figure, the reviews of it. Kept apart from `amendments`: a review
    /// changes no value; but it is in `amended_by`, so bundles carry it and completeness
    /// proofs cover it.
    #[serde(default)]
    pub reviews: BTreeMap<u64, Vec<u64>>,
    /// Indices of all figures.
    pub figures: Vec<u64>,
    /// Entries per kind.
    pub kinds: BTreeMap<String, u64>,
    /// The figures' reverse edges and current values, kept by [`LogState::apply`]; `None` until
    /// the first evidence entry after genesis, and in a cache written before it existed. Then
    /// admission reads it from the log once and `apply` keeps what admission read.
    #[serde(default)]
    figure_dag: Option<FigureDag>,
    /// What the last admission learnt that `apply` needs and cannot read itself.
    #[serde(skip)]
    admitted: AdmitNote,
}

/// What [`LogState::admit`] learnt about entry `index` that [`LogState::apply`] needs but cannot
/// read (it has no [`EntryLookup`]): the value just before it of the claim it corrects or
/// retracts, with the figures above that claim, and the figures' DAG if admission had to read
/// it from the log. All are facts about the log before `index`, whatever entry then becomes
/// `index`; `apply` uses them only for that index, and without them drops the DAG (the next
/// admission reads it again), so a missing note costs time, never a wrong answer.
#[derive(Default)]
struct AdmitNote(Mutex<Option<Note>>);

struct Note {
    index: u64,
    dag: Option<FigureDag>,
    claim_before: Option<ClaimBefore>,
}

impl AdmitNote {
    fn set(&self, note: Note) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(note);
    }

    /// The note for entry `index`, if admission left one.
    fn take(&mut self, index: u64) -> Option<Note> {
        let slot = self.0.get_mut().unwrap_or_else(PoisonError::into_inner);
        slot.take().filter(|n| n.index == index)
    }
}

impl Clone for AdmitNote {
    /// A copy of a state starts without a note: a note belongs to the state it was left on.
    fn clone(&self) -> AdmitNote {
        AdmitNote::default()
    }
}

impl PartialEq for AdmitNote {
    /// A note is a cache of what admission read; it is not part of what a state says.
    fn eq(&self, _: &AdmitNote) -> bool {
        true
    }
}

impl Eq for AdmitNote {}

impl std::fmt::Debug for AdmitNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdmitNote")
    }
}

impl LogState {
    /// The key record for `id`, if the log granted it.
    #[must_use]
    pub fn key(&self, id: &KeyId) -> Option<&KeyRecord> {
        self.keys.iter().find(|k| k.id() == *id)
    }

    /// The operator's key, from genesis.
    #[must_use]
    pub fn operator(&self) -> Option<&KeyRecord> {
        self.keys.first()
    }

    /// The amendments (corrections, retractions, redactions) of `index`, in log order.
    #[must_use]
    pub fn amendments_of(&self, index: u64) -> &[u64] {
        self.amendments.get(&index).map_or(&[], Vec::as_slice)
    }

    /// The figure that superseded figure `index` before entry `before`, if one did.
    #[must_use]
    pub fn superseded_before(&self, index: u64, before: u64) -> Option<u64> {
        self.superseded_by
            .get(&index)
            .copied()
            .filter(|&s| s < before)
    }

    /// The `Review` entries of figure `index`, in log order.
    #[must_use]
    pub fn reviews_of(&self, index: u64) -> &[u64] {
        self.reviews.get(&index).map_or(&[], Vec::as_slice)
    }

    /// The `Cite` entries that re-sourced claim `index`, in log order.
    #[must_use]
    pub fn citations_of(&self, index: u64) -> &[u64] {
        self.citations.get(&index).map_or(&[], Vec::as_slice)
    }

    /// Every later entry that amends entry `index`, in log order: its corrections,
    /// retractions, redactions and re-sourcings; for a figure, its reviews and the figure
    /// superseding it; for a
    /// key grant, the revocation of that key.
    /// This is the relation a proof bundle must hold completely (docs/PROOFS.md).
    #[must_use]
    pub fn amended_by(&self, index: u64) -> Vec<u64> {
        let mut out: Vec<u64> = self.amendments_of(index).to_vec();
        out.extend_from_slice(self.citations_of(index));
        out.extend_from_slice(self.reviews_of(index));
        out.extend(self.superseded_by.get(&index));
        if let Some(r) = self
            .keys
            .iter()
            .find(|k| k.role.is_some() && k.granted_at == index)
            .and_then(|k| k.revoked_at)
        {
            out.push(r);
        }
        out.sort_unstable();
        out
    }

    /// The figures' DAG as the log stands, reading it from the log only if this state does not
    /// carry it (see the `figure_dag` field).
    ///
    /// # Errors
    /// If the log cannot be read.
    pub(crate) fn figure_dag_or_build(
        &self,
        log: &dyn EntryLookup,
    ) -> Result<Cow<'_, FigureDag>, RuleError> {
        match &self.figure_dag {
            Some(d) => Ok(Cow::Borrowed(d)),
            None => Ok(Cow::Owned(FigureDag::build(self, log)?)),
        }
    }

    /// Leaves [`LogState::apply`] what admitting entry `self.size` learnt (see [`AdmitNote`]).
    pub(crate) fn note_admitted(&self, dag: Option<FigureDag>, claim_before: Option<ClaimBefore>) {
        self.admitted.set(Note {
            index: self.size,
            dag,
            claim_before,
        });
    }

    /// Records an admitted entry.
    pub fn apply(&mut self, content: &Content, leaf: Digest) {
        let index = self.size;
        let note = self.admitted.take(index);
        let (read_dag, claim_before) = note.map_or((None, None), |n| (n.dag, n.claim_before));
        if self.figure_dag.is_none() {
            self.figure_dag = read_dag;
        }
        if let Some(dag) = &mut self.figure_dag {
            if !dag.apply(index, &content.body, claim_before.as_ref()) {
                self.figure_dag = None;
            }
        }
        match &content.body {
            Body::Genesis { operator, name } => {
                self.origin.clone_from(&content.origin);
                self.keys.push(KeyRecord {
                    public: *operator,
                    name: name.clone(),
                    role: None,
                    granted_at: 0,
                    revoked_at: None,
                });
            }
            Body::KeyGrant { key, name, role } => self.keys.push(KeyRecord {
                public: *key,
                name: name.clone(),
                role: Some(*role),
                granted_at: index,
                revoked_at: None,
            }),
            Body::KeyRevoke { key, .. } => {
                if let Some(k) = self.keys.iter_mut().find(|k| k.id() == *key) {
                    k.revoked_at = Some(index);
                }
            }
            Body::Figure { .. } => self.figures.push(index),
            Body::SupersedingFigure { supersedes, .. } => {
                self.figures.push(index);
                self.superseded_by.insert(*supersedes, index);
            }
            Body::Correction { target, .. }
            | Body::Retraction { target, .. }
            | Body::Redaction { target, .. } => {
                self.amendments.entry(*target).or_default().push(index);
            }
            Body::Review { target, .. } => {
                self.reviews.entry(*target).or_default().push(index);
            }
            Body::Cite { target, .. } => {
                self.citations.entry(*target).or_default().push(index);
            }
            Body::StateCommitment { .. } => self.commitments.push(index),
            Body::Source { .. }
            | Body::Informant { .. }
            | Body::Claim { .. }
            | Body::RepeatedClaim { .. } => {}
        }
        *self
            .kinds
            .entry(content.body.kind().to_string())
            .or_default() += 1;
        self.size += 1;
        self.head = leaf;
    }
}
