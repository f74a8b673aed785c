//! The domain rules: who may sign what, what a citation may point at, and figure arithmetic.
//!
//! One rule set serves `append` (refuse a bad submission), `verify` (reject a log that breaks a
//! rule) and a proof bundle's check (replay its entries), so the three can never disagree.
//! Earlier entries are read through [`EntryLookup`], so this module stays pure: it never opens a
//! file. Where each rule lives:
//! - [`admission`]: may this content become the next entry (grants, roles, citations, sums);
//! - [`text`]: text fields, partial dates and periods;
//! - [`valuation`]: the value of a claim or figure at a point of the log, and retraction;
//! - this file: the small state the rules need ([`LogState`]) and how an entry changes it.

pub mod admission;
pub mod text;
pub mod valuation;

use crate::entry::{Body, Content, Entry, KeyId, Role};
use crate::hash::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use text::{valid_partial_date, valid_period, MAX_TEXT};
pub use valuation::Valuation;

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

/// What the rules need to know about the log so far: small, whatever the log's size.
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
    /// Indices of all figures.
    pub figures: Vec<u64>,
    /// Entries per kind.
    pub kinds: BTreeMap<String, u64>,
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

    /// Records an admitted entry.
    pub fn apply(&mut self, content: &Content, leaf: Digest) {
        let index = self.size;
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
            Body::Correction { target, .. }
            | Body::Retraction { target, .. }
            | Body::Redaction { target, .. } => {
                self.amendments.entry(*target).or_default().push(index);
            }
            Body::Source { .. } | Body::Informant { .. } | Body::Claim { .. } => {}
        }
        *self
            .kinds
            .entry(content.body.kind().to_string())
            .or_default() += 1;
        self.size += 1;
        self.head = leaf;
    }
}
