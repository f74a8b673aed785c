//! Replaying entries in order: the checks every entry passes, wherever it is read from.
//!
//! A ledger directory's replay (custody-store), an append (custody-store) and a proof bundle's
//! check ([`crate::bundle`]) all run an entry through the same steps: its bytes hash to the
//! stored leaf, decode canonically, carry the expected index and previous leaf hash, pass
//! [`LogState::admit`], and carry a strict Ed25519 signature by the key the log state names.
//! This module holds those steps and the [`Replay`] that applies them one entry at a time; it
//! reads nothing itself (entries come in as bytes, earlier ones through [`EntryLookup`]).

use crate::entry::{entry_size_error, signed_message_of, Body, Content, Entry, KeyId};
use crate::hash::Digest;
use crate::keys;
use crate::merkle::{Frontier, MerkleError};
use crate::rules::{EntryLookup, LogState, RuleError};
use ed25519_dalek::VerifyingKey;
use std::collections::{BTreeMap, BTreeSet};

/// What is wrong with one entry's bytes or place in the chain (evidence, never I/O).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct LinkError(pub String);

/// Checks entry `index`'s canonical bytes: they are at most [`crate::entry::MAX_ENTRY_BYTES`]
/// long, hash to `stored_leaf`, decode canonically, and carry index `index` and previous-entry
/// hash `prev`.
///
/// # Errors
/// What is wrong, as a [`LinkError`].
pub fn check_link(
    bytes: &[u8],
    stored_leaf: &Digest,
    index: u64,
    prev: &Digest,
) -> Result<Entry, LinkError> {
    if let Some(e) = entry_size_error(bytes.len()) {
        return Err(LinkError(e));
    }
    if Digest::leaf(bytes) != *stored_leaf {
        return Err(LinkError(
            "stored leaf hash does not match the entry's bytes".into(),
        ));
    }
    let entry = Entry::from_bytes(bytes).map_err(|e| LinkError(format!("undecodable: {e}")))?;
    if entry.index != index {
        return Err(LinkError(format!(
            "records index {}, expected {index}",
            entry.index
        )));
    }
    if entry.prev != *prev {
        return Err(LinkError("previous-hash mismatch".into()));
    }
    Ok(entry)
}

/// The key that must have signed `content` as the next entry after `state`: the genesis's own
/// operator key for entry 0, otherwise the granted key the content names.
///
/// # Errors
/// [`RuleError::Broken`] if the key is unknown, not a valid point, or of small or mixed order.
pub fn signer_key(state: &LogState, content: &Content) -> Result<VerifyingKey, RuleError> {
    let public = if let (0, Body::Genesis { operator, .. }) = (state.size, &content.body) {
        *operator
    } else {
        state
            .key(&content.signer)
            .ok_or_else(|| {
                RuleError::Broken(format!(
                    "signer {} is not a key of this ledger",
                    content.signer.short()
                ))
            })?
            .public
    };
    signing_key(&public)
}

/// The verifying key of `public` if it may sign in custody: a valid point, neither small nor
/// mixed order ([`keys::acceptable_key`]).
///
/// # Errors
/// [`RuleError::Broken`] saying which of the two it is not.
pub fn signing_key(public: &[u8; 32]) -> Result<VerifyingKey, RuleError> {
    let key = VerifyingKey::from_bytes(public)
        .map_err(|_| RuleError::Broken("signer key is not a valid point".into()))?;
    if !keys::acceptable_key(&key) {
        return Err(RuleError::Broken(
            "signer key is a small-order or mixed-order point".into(),
        ));
    }
    Ok(key)
}

/// Checks `sig` over `content` by the key the log state names for its signer (strict Ed25519).
///
/// # Errors
/// [`RuleError::Broken`] if the key is unknown or the signature does not verify.
pub fn check_signature(
    state: &LogState,
    content: &Content,
    sig: &[u8; 64],
) -> Result<(), RuleError> {
    let key = signer_key(state, content)?;
    check_signature_under(&key, content, sig)
}

/// Checks `sig` over `content` under `key` (strict Ed25519): the signature half of
/// [`check_signature`], for a caller that already holds the key [`signer_key`] names (a
/// server checking signatures on many cores before its one sequencer admits them).
///
/// # Errors
/// [`RuleError::Broken`] if the signature does not verify.
pub fn check_signature_under(
    key: &VerifyingKey,
    content: &Content,
    sig: &[u8; 64],
) -> Result<(), RuleError> {
    let msg = content
        .signed_bytes()
        .map_err(|e| RuleError::Broken(e.to_string()))?;
    keys::verify_strict(key, &msg, sig)
        .map_err(|_| RuleError::Broken("signature does not verify".into()))
}

/// A signature still to be checked: replays check them in parallel batches, in order.
#[derive(Clone)]
pub struct PendingSignature {
    /// The entry it signs.
    pub index: u64,
    /// The signed message (context string and content bytes).
    pub msg: Vec<u8>,
    /// The signature.
    pub sig: [u8; 64],
    /// The key it must verify under.
    pub key: VerifyingKey,
}

impl PendingSignature {
    /// Whether the signature verifies (strict Ed25519).
    #[must_use]
    pub fn verifies(&self) -> bool {
        keys::verify_strict(&self.key, &self.msg, &self.sig).is_ok()
    }
}

/// Why a replay stopped at an entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The entry's bytes or chain link are wrong.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The entry breaks a rule, or an earlier entry could not be read.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// The Merkle tree cannot grow (past its size bound).
    #[error(transparent)]
    Merkle(#[from] MerkleError),
}

impl ReplayError {
    /// Whether the failure is the reader's (I/O), not the evidence's.
    #[must_use]
    pub fn is_io(&self) -> bool {
        matches!(self, ReplayError::Rule(r) if r.is_io())
    }
}

/// A replay from genesis: the rules state, the tree's right edge, the roots at the sizes
/// asked for, and how many entries each key signed.
pub struct Replay {
    state: LogState,
    frontier: Frontier,
    wanted: BTreeSet<u64>,
    roots: BTreeMap<u64, Digest>,
    signers: BTreeMap<KeyId, (VerifyingKey, u64)>,
}

impl Replay {
    /// A replay from genesis that notes the tree root at each size in `wanted` (checkpoints
    /// to check).
    #[must_use]
    pub fn new(wanted: BTreeSet<u64>) -> Replay {
        Replay::resume(LogState::default(), Frontier::new(), wanted)
    }

    /// A replay that continues after a verified prefix: its rules state and tree edge (which
    /// the caller vouches for: custody-store keeps them in this machine's verified caches).
    #[must_use]
    pub fn resume(state: LogState, frontier: Frontier, wanted: BTreeSet<u64>) -> Replay {
        let mut roots = BTreeMap::new();
        roots.insert(frontier.size(), frontier.root());
        Replay {
            state,
            frontier,
            wanted,
            roots,
            signers: BTreeMap::new(),
        }
    }

    /// Checks the next entry (`bytes`, with the leaf hash stored beside it) and applies it.
    /// Its signature is returned for the caller to check (in parallel batches, in order).
    ///
    /// # Errors
    /// The first check the entry fails.
    pub fn push(
        &mut self,
        bytes: &[u8],
        stored_leaf: Digest,
        log: &dyn EntryLookup,
    ) -> Result<PendingSignature, ReplayError> {
        self.push_stored(bytes, stored_leaf, log).map(|(p, _)| p)
    }

    /// [`Replay::push`], also returning the RFC 6962 stored hashes the entry adds to the tree
    /// (Go tlog's layout), for a caller that keeps them on disk.
    ///
    /// # Errors
    /// The first check the entry fails.
    pub fn push_stored(
        &mut self,
        bytes: &[u8],
        stored_leaf: Digest,
        log: &dyn EntryLookup,
    ) -> Result<(PendingSignature, Vec<Digest>), ReplayError> {
        let index = self.state.size;
        let entry = check_link(bytes, &stored_leaf, index, &self.state.head)?;
        self.state.admit(&entry.content, log)?;
        // `admit` has checked the signer's grant at this index; the decompressed key is cached
        // per key id (the id is the key's hash, so it can never name another key).
        let slot = match self.signers.entry(entry.content.signer) {
            std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert((signer_key(&self.state, &entry.content)?, 0))
            }
        };
        slot.1 += 1;
        let key = slot.0;
        let msg = signed_message_of(bytes)
            .ok_or_else(|| LinkError("entry too short to hold a signature".into()))?;
        let stored = self.frontier.push(stored_leaf)?;
        self.state.apply(&entry.content, stored_leaf);
        if self.wanted.contains(&self.state.size) {
            self.roots.insert(self.state.size, self.frontier.root());
        }
        Ok((
            PendingSignature {
                index,
                msg,
                sig: entry.signature.0,
                key,
            },
            stored,
        ))
    }

    /// The replay's rules state and tree edge, once it is done.
    #[must_use]
    pub fn into_parts(self) -> (LogState, Frontier) {
        (self.state, self.frontier)
    }

    /// The rules state so far.
    #[must_use]
    pub fn state(&self) -> &LogState {
        &self.state
    }

    /// The root of everything replayed so far.
    #[must_use]
    pub fn root(&self) -> Digest {
        self.frontier.root()
    }

    /// The root noted at `size`, if it was asked for (or is 0).
    #[must_use]
    pub fn root_at(&self, size: u64) -> Option<Digest> {
        self.roots.get(&size).copied()
    }

    /// Entries signed by key `id` so far.
    #[must_use]
    pub fn signed_by(&self, id: &KeyId) -> u64 {
        self.signers.get(id).map_or(0, |s| s.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Role, SourceKind};
    use crate::sign::sign_submission;
    use ed25519_dalek::SigningKey;

    /// Earlier entries held in memory, or a reader whose disk fails.
    struct Log {
        entries: Vec<Entry>,
        disk_fails: bool,
    }

    impl EntryLookup for Log {
        fn entry(&self, index: u64) -> Result<Entry, crate::rules::LookupError> {
            if self.disk_fails {
                return Err(crate::rules::LookupError::Io {
                    index,
                    source: std::io::Error::from_raw_os_error(5),
                });
            }
            usize::try_from(index)
                .ok()
                .and_then(|i| self.entries.get(i).cloned())
                .ok_or(crate::rules::LookupError::Missing {
                    index,
                    reason: "is not here".into(),
                })
        }
    }

    fn bodies(op: &SigningKey, re: &SigningKey) -> Vec<(SigningKey, Body)> {
        vec![
            (
                op.clone(),
                Body::Genesis {
                    operator: op.verifying_key().to_bytes(),
                    name: "operator".into(),
                },
            ),
            (
                op.clone(),
                Body::KeyGrant {
                    key: re.verifying_key().to_bytes(),
                    name: "researcher".into(),
                    role: Role::Researcher,
                },
            ),
            (
                re.clone(),
                Body::Source {
                    sha256: Digest::of(b"report"),
                    size: 6,
                    title: "t".into(),
                    publisher: "p".into(),
                    date: "2025".into(),
                    kind: SourceKind::NgoReport,
                    locator: None,
                },
            ),
            (
                re.clone(),
                Body::Claim {
                    statement: "s".into(),
                    count: Some(1),
                    unit: "people".into(),
                    category: "c".into(),
                    period: "2024".into(),
                    place: String::new(),
                    cites: vec![2],
                },
            ),
        ]
    }

    #[test]
    fn a_failing_disk_is_io_and_a_missing_entry_is_evidence() {
        let op = SigningKey::from_bytes(&[1u8; 32]);
        let re = SigningKey::from_bytes(&[2u8; 32]);
        let mut replay = Replay::new(BTreeSet::new());
        let mut log = Log {
            entries: Vec::new(),
            disk_fails: false,
        };
        let all = bodies(&op, &re);
        let (last, first) = all.split_last().unwrap();
        for (key, body) in first {
            let sub = sign_submission(key, "example.org/t", 0, body.clone()).unwrap();
            let entry = sub.into_entry(replay.state().size, replay.state().head);
            let bytes = entry.to_bytes().unwrap();
            let p = replay.push(&bytes, Digest::leaf(&bytes), &log).unwrap();
            assert!(p.verifies());
            log.entries.push(entry);
        }
        let sub = sign_submission(&last.0, "example.org/t", 0, last.1.clone()).unwrap();
        let entry = sub.into_entry(3, replay.state().head);
        let bytes = entry.to_bytes().unwrap();
        let failing = Log {
            entries: Vec::new(),
            disk_fails: true,
        };
        let err = replay
            .push(&bytes, Digest::leaf(&bytes), &failing)
            .err()
            .unwrap();
        assert!(err.is_io(), "{err}");
        let empty = Log {
            entries: Vec::new(),
            disk_fails: false,
        };
        let err = replay
            .push(&bytes, Digest::leaf(&bytes), &empty)
            .err()
            .unwrap();
        assert!(!err.is_io(), "{err}");
        assert!(err.to_string().contains("cannot read entry 2"), "{err}");
        // With the source readable the claim is admitted.
        assert!(replay.push(&bytes, Digest::leaf(&bytes), &log).is_ok());
    }
}
