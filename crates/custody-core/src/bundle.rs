//! Proof bundles: one entry or figure, everything beneath it, and a proof of each to one
//! signed checkpoint, in a file that can be checked without the ledger (`docs/PROOFS.md`).
//!
//! This module owns the bundle format: [`build`] makes canonical bundle bytes from entries and
//! inclusion proofs the caller read from a ledger; [`verify`] is the only way to turn untrusted
//! bundle bytes into a [`VerifiedBundle`]. It is pure: it never opens a file, reads the clock or
//! prints. The rules it checks entries against are those of [`crate::rules`], the same ones
//! `append` and `verify` use, so a bundle can never accept what the ledger would refuse.

use crate::checkpoint::{self, CheckpointError, SignedCheckpoint, StrictVerifier, TlogProof};
use crate::codec::MAX_RECORD_BYTES;
use crate::completeness::OpenedLeaf;
use crate::entry::{Body, Entry, KeyId};
use crate::explain::{self, Standing, Status};
use crate::hash::Digest;
use crate::merkle;
use crate::rules::{
    duplicates, EntryLookup, KeyRecord, LogState, LookupError, RuleError, Valuation,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use thiserror::Error;

/// The `format` member of every version-1 bundle.
pub const FORMAT: &str = "custody-proof-bundle/v1";
/// Bundles larger than this are refused before parsing.
pub const MAX_BUNDLE_BYTES: usize = 64 * 1024 * 1024;
/// Bundles with more entries than this are refused before any entry is decoded.
pub const MAX_BUNDLE_ENTRIES: usize = 100_000;

/// What a bundle is about: one entry, or a figure (an entry that must be a figure).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    /// Any entry, with everything beneath it.
    Entry,
    /// A figure, with everything beneath it.
    Figure,
}

impl SubjectKind {
    /// "entry" or "figure".
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SubjectKind::Entry => "entry",
            SubjectKind::Figure => "figure",
        }
    }
}

/// The `subject` member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// `entry` or `figure`.
    pub kind: SubjectKind,
    /// The subject's entry index.
    pub index: u64,
}

/// One member of `entries`: the exact entry bytes and their tlog-proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEntry {
    /// The entry's index in the log.
    pub index: u64,
    /// Base64 (RFC 4648 §4, padded) of the canonical entry bytes, the bytes the leaf hash covers.
    pub bytes_b64: String,
    /// A c2sp.org/tlog-proof@v1 proof of the entry to the bundle's checkpoint.
    pub tlog_proof: String,
}

/// A bundle as it is on the wire. Untrusted: only [`verify`] says anything about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Always [`FORMAT`].
    pub format: String,
    /// The log's origin (also the checkpoint key's name).
    pub origin: String,
    /// The log key's C2SP vkey. Informational: a checker trusts its own copy, and this must
    /// equal it.
    pub vkey: String,
    /// The signed checkpoint note, verbatim (all its signature lines).
    pub checkpoint: String,
    /// What the bundle proves.
    pub subject: Subject,
    /// The entries, sorted by index, no index twice.
    pub entries: Vec<BundleEntry>,
    /// Optional: the proof that the bundle holds every amendment of its entries recorded before
    /// a state commitment (docs/PROOFS.md, "Completeness"). Absent in bundles that prove no
    /// completeness; a checker says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<CompletenessJson>,
    /// RFC 3161 time-stamp tokens over the checkpoint, each the base64 of a DER
    /// TimeStampToken (`docs/TIMESTAMPS.md`). Absent in bundles without tokens, never empty.
    /// [`verify`] only decodes them; a checker verifies them against its own TSA roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamps: Option<Vec<String>>,
    /// The witness policy (docs/POLICY.md) the exporter checked the checkpoint under, its
    /// text verbatim. Optional and informational: a checker holds the checkpoint to its own
    /// policy. Absent from bundles exported without one, so older bundles stay canonical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// The `completeness` member: which entry is the state commitment, and the state-tree leaves
/// that show each bundle entry's amendments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletenessJson {
    /// The index of the `StateCommitment` entry (one of `entries`).
    pub commitment: u64,
    /// The opened state-tree leaves, in increasing position.
    pub leaves: Vec<StateLeafJson>,
}

/// One opened state-tree leaf.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateLeafJson {
    /// Its position in the state tree.
    pub position: u64,
    /// The amended entry.
    pub entry: u64,
    /// The entries amending it before the commitment, increasing.
    pub amended_by: Vec<u64>,
    /// Its RFC 9162 inclusion proof, base64 of 32 bytes each, nearest the leaf first.
    pub path: Vec<String>,
}

/// What a bundle proves about its amendments, once verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Coverage {
    /// The state commitment the proofs are against.
    pub commitment: u64,
    /// Whether the commitment is the last entry the checkpoint covers, so that nothing
    /// between it and the checkpoint escapes it: the bundle is then complete to its
    /// checkpoint.
    pub to_checkpoint: bool,
}

/// The most time-stamp tokens a bundle may carry.
pub const MAX_BUNDLE_TIMESTAMPS: usize = 16;

/// Why a bundle was refused. Each variant names the part of the bundle at fault.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Larger than [`MAX_BUNDLE_BYTES`]; nothing was parsed.
    #[error("bundle is {len} bytes; custody reads at most {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// Not JSON of the bundle's shape.
    #[error("bundle is not a custody proof bundle: {0}")]
    Json(String),
    /// Valid JSON of the right shape, but not byte for byte the canonical serialization.
    #[error("bundle is not in canonical form (first difference at byte {offset}): it was edited or reformatted after export")]
    NotCanonical {
        /// Byte offset of the first difference.
        offset: usize,
    },
    /// A top-level member is wrong.
    #[error("{member}: {reason}")]
    Member {
        /// `format`, `origin`, `vkey`, `subject`, `entries`.
        member: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The checkpoint does not open under the trusted key.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// One entry is wrong.
    #[error("entry {index}: {reason}")]
    Entry {
        /// The entry's index.
        index: u64,
        /// What is wrong.
        reason: String,
    },
    /// The entries are not exactly the subject's closure.
    #[error("entries: {0}")]
    Closure(String),
    /// A `--document` that is none of the bundle's sources.
    #[error("document: its SHA-256 {sha256} is the hash of no source in the bundle{listing}")]
    Document {
        /// The document's hash.
        sha256: Digest,
        /// The bundle's sources, for the message.
        listing: String,
    },
    /// Building a bundle failed.
    #[error("cannot build bundle: {0}")]
    Build(String),
}

fn member(member: &'static str, reason: impl Into<String>) -> BundleError {
    BundleError::Member {
        member,
        reason: reason.into(),
    }
}

fn entry_err(index: u64, reason: impl Into<String>) -> BundleError {
    BundleError::Entry {
        index,
        reason: reason.into(),
    }
}

/// The canonical bytes of a bundle: `serde_json` pretty form (two-space indent, members in
/// declaration order) followed by one newline. `verify` refuses any other bytes.
///
/// # Errors
/// Only if serialization fails, which it does not for these types.
pub fn to_canonical_bytes(bundle: &Bundle) -> Result<Vec<u8>, BundleError> {
    let mut out =
        serde_json::to_vec_pretty(bundle).map_err(|e| BundleError::Build(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

/// The entries a bundle about `subject` must hold, given the log state `state` (its keys and
/// amendments) and the tree size `size` of the checkpoint it proves against.
///
/// The closure is the smallest set that holds genesis (entry 0) and the subject, every entry any
/// member references (citations, terms, targets, the figure a successor supersedes, the copy a
/// repeat repeats, the grant of the key a revocation revokes), the grant of every member's
/// signer, and every entry made before `size` that amends a member ([`LogState::amended_by`]:
/// corrections, retractions, redactions, re-sourcings, the superseding figure, and for a grant
/// the revocation of its key).
///
/// # Errors
/// If an entry cannot be read through `log`.
pub fn closure(
    subject: u64,
    size: u64,
    state: &LogState,
    log: &dyn EntryLookup,
) -> Result<BTreeSet<u64>, LookupError> {
    let mut need = BTreeSet::new();
    let mut stack = vec![0, subject];
    while let Some(i) = stack.pop() {
        if !need.insert(i) {
            continue;
        }
        let e = log.entry(i)?;
        stack.extend(e.content.body.references());
        // A revocation names its key, not the grant: the grant is what it amends.
        if let Body::KeyRevoke { key, .. } = &e.content.body {
            stack.extend(state.key(key).map(|k| k.granted_at));
        }
        // The signer's grant, and so (below) that key's revocation.
        stack.extend(state.key(&e.content.signer).map(|k| k.granted_at));
        stack.extend(state.amended_by(i).into_iter().filter(|&a| a < size));
    }
    Ok(need)
}

/// An entry read from a ledger, with its inclusion proof in the checkpoint's tree.
#[derive(Clone, Debug)]
pub struct ProvenEntry {
    /// Its index.
    pub index: u64,
    /// Its canonical bytes.
    pub bytes: Vec<u8>,
    /// Its RFC 9162 inclusion proof in the checkpoint's tree.
    pub proof: Vec<Digest>,
}

/// Builds the canonical bytes of a bundle. The caller (who read a ledger) supplies the entries
/// of [`closure`] and their proofs; this sorts them and writes each proof as a tlog-proof.
///
/// # Errors
/// [`BundleError::Build`] if an index appears twice, or there are no entries.
pub fn build(
    origin: &str,
    vkey: &str,
    checkpoint_note: &str,
    subject: Subject,
    entries: Vec<ProvenEntry>,
) -> Result<Vec<u8>, BundleError> {
    build_with(origin, vkey, checkpoint_note, subject, entries, None, None)
}

/// [`build`] with a completeness proof (the state commitment's index, which must be among the
/// entries, and the state-tree leaves that show the entries' amendments,
/// [`crate::completeness::StateTree::open`]) and the text of the witness policy the checkpoint
/// was checked under.
///
/// # Errors
/// As [`build`].
pub fn build_with(
    origin: &str,
    vkey: &str,
    checkpoint_note: &str,
    subject: Subject,
    mut entries: Vec<ProvenEntry>,
    completeness: Option<(u64, Vec<OpenedLeaf>)>,
    policy: Option<&str>,
) -> Result<Vec<u8>, BundleError> {
    entries.sort_by_key(|e| e.index);
    if entries.windows(2).any(|w| w[0].index == w[1].index) {
        return Err(BundleError::Build("an entry index appears twice".into()));
    }
    if entries.is_empty() {
        return Err(BundleError::Build("no entries".into()));
    }
    let bundle = Bundle {
        format: FORMAT.into(),
        origin: origin.into(),
        vkey: vkey.into(),
        checkpoint: checkpoint_note.into(),
        subject,
        entries: entries
            .iter()
            .map(|e| BundleEntry {
                index: e.index,
                bytes_b64: B64.encode(&e.bytes),
                tlog_proof: checkpoint::format_tlog_proof(e.index, &e.proof, checkpoint_note),
            })
            .collect(),
        completeness: completeness.map(|(commitment, leaves)| CompletenessJson {
            commitment,
            leaves: leaves
                .into_iter()
                .map(|o| StateLeafJson {
                    position: o.position,
                    entry: o.entry,
                    amended_by: o.amended_by,
                    path: o.path.iter().map(|h| B64.encode(h.0)).collect(),
                })
                .collect(),
        }),
        timestamps: None,
        policy: policy.map(str::to_owned),
    };
    to_canonical_bytes(&bundle)
}

/// Adds time-stamp tokens (DER TimeStampTokens over the bundle's checkpoint) to the canonical
/// bundle `bytes`, replacing any it had; no tokens leaves the member out.
///
/// # Errors
/// [`BundleError::Build`] if `bytes` is not a bundle, or for more than
/// [`MAX_BUNDLE_TIMESTAMPS`] tokens.
pub fn attach_timestamps(bytes: &[u8], tokens: &[Vec<u8>]) -> Result<Vec<u8>, BundleError> {
    if tokens.len() > MAX_BUNDLE_TIMESTAMPS {
        return Err(BundleError::Build(format!(
            "{} time-stamp tokens; a bundle carries at most {MAX_BUNDLE_TIMESTAMPS}",
            tokens.len()
        )));
    }
    let mut bundle = parse(bytes).map_err(|e| BundleError::Build(e.to_string()))?;
    bundle.timestamps =
        (!tokens.is_empty()).then(|| tokens.iter().map(|t| B64.encode(t)).collect());
    to_canonical_bytes(&bundle)
}

/// One entry of a verified bundle.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifiedEntry {
    /// The decoded entry.
    pub entry: Entry,
    /// Its leaf hash, SHA-256(0x00 || bytes).
    pub leaf: Digest,
    /// Its canonical length in bytes.
    pub len: usize,
    /// Its inclusion proof (verified).
    pub proof: Vec<Digest>,
}

/// A `--document` matched to the bundle's sources.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct DocumentMatch {
    /// The document's SHA-256.
    pub sha256: Digest,
    /// The source entries recording that hash.
    pub sources: Vec<u64>,
}

/// A bundle every check of `docs/PROOFS.md` passed. Only [`verify`] makes one.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifiedBundle {
    /// The log's origin.
    pub origin: String,
    /// The trusted vkey the checkpoint was opened with.
    pub vkey: String,
    /// The checkpoint, opened under the trusted key.
    pub checkpoint: SignedCheckpoint,
    /// The subject.
    pub subject: Subject,
    /// The entries, by index.
    pub entries: BTreeMap<u64, VerifiedEntry>,
    /// Where the subject stands, if it is a claim or figure.
    pub standing: Option<Standing>,
    /// The subject's status as of the checkpoint (retracted, superseded, ...), for any kind.
    pub status: Status,
    /// The `--document` match, if one was asked for.
    pub document: Option<DocumentMatch>,
    /// What the bundle proves complete: every amendment of each of its entries made before the
    /// state commitment named here is in the bundle. `None`: the bundle proves no completeness.
    pub completeness: Option<Coverage>,
    /// SHA-256 of the bundle bytes as given.
    pub bundle_sha256: Digest,
    /// The bundle's length in bytes.
    pub bundle_len: usize,
    /// The time-stamp tokens the bundle carries (DER), decoded but not verified: verify them
    /// with `timestamp::verify` against trusted TSA roots and [`Self::checkpoint`]'s note.
    pub timestamps: Vec<Vec<u8>>,
    /// The `policy` member: a witness policy that parses and lists the trusted log key (not
    /// a trust anchor; see [`Bundle::policy`]).
    pub policy: Option<String>,
    state: LogState,
}

impl VerifiedBundle {
    /// The key that signed entries, with its grant and revocation as the bundle shows them.
    #[must_use]
    pub fn key(&self, id: &KeyId) -> Option<&KeyRecord> {
        self.state.key(id)
    }

    /// Every key the bundle grants, the operator first.
    #[must_use]
    pub fn keys(&self) -> &[KeyRecord] {
        &self.state.keys
    }

    /// Corrections, retractions and redactions of entry `index` in the bundle, in order.
    #[must_use]
    pub fn amendments(&self, index: u64) -> &[u64] {
        self.state.amendments.get(&index).map_or(&[], Vec::as_slice)
    }

    /// Every entry of the bundle that amends entry `index` (see [`LogState::amended_by`]).
    #[must_use]
    pub fn amended_by(&self, index: u64) -> Vec<u64> {
        self.state.amended_by(index)
    }

    /// The value of claim or figure `index` just before entry `at`, listing the amendments after
    /// `since` beneath it (see [`LogState::value_at`]).
    ///
    /// # Errors
    /// If `index` is not a counted claim or a figure of the bundle.
    pub fn value_at(&self, index: u64, at: u64, since: u64) -> Result<Valuation, RuleError> {
        self.state
            .value_at(index, at, since, &Lookup(&self.entries))
    }

    /// Where claim or figure `index` stands as of the checkpoint (see [`explain::standing`]).
    ///
    /// # Errors
    /// If `index` cannot be valued from the bundle's entries.
    pub fn standing_of(&self, index: u64) -> Result<Option<Standing>, RuleError> {
        explain::standing(
            &self.state,
            &Lookup(&self.entries),
            index,
            self.checkpoint.size(),
        )
    }

    /// The tree beneath entry `root` as the bundle holds it (see [`explain::tree`]).
    ///
    /// # Errors
    /// If figures nest too deeply.
    pub fn tree(&self, root: u64, at: u64) -> Result<explain::TreeNode, RuleError> {
        explain::tree(&self.state, &Lookup(&self.entries), root, at)
    }
}

/// Earlier entries read from the bundle.
struct Lookup<'a>(&'a BTreeMap<u64, VerifiedEntry>);

impl EntryLookup for Lookup<'_> {
    fn entry(&self, index: u64) -> Result<Entry, LookupError> {
        self.0
            .get(&index)
            .map(|v| v.entry.clone())
            .ok_or_else(|| LookupError::Missing {
                index,
                reason: "is not in the bundle".into(),
            })
    }
}

fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

/// Parses and checks a bundle: the steps of `docs/PROOFS.md` "Verifying a bundle", in order.
///
/// `trusted` is the log key the caller trusts (never the bundle's own `vkey`); `document` is the
/// SHA-256 of a file that must be one of the bundle's sources.
///
/// # Errors
/// The first check that fails, naming the part of the bundle at fault.
pub fn verify(
    bytes: &[u8],
    trusted: &StrictVerifier,
    document: Option<Digest>,
) -> Result<VerifiedBundle, BundleError> {
    let bundle = parse(bytes)?;
    let vkey = check_members(&bundle, trusted)?;
    let timestamps = decode_timestamps(&bundle)?;
    // Step 6: the checkpoint.
    let cp = checkpoint::open(bundle.checkpoint.as_bytes(), trusted)?;
    let entries = check_entries(&bundle, &cp)?;
    check_genesis(&entries, trusted)?;
    // Step 10: replay the bundle's entries in index order under the ledger's rules.
    let state = replay(&entries)?;
    // Steps 11-12: the subject, and exactly its closure.
    let subject = bundle.subject;
    let subj = entries.get(&subject.index).ok_or_else(|| {
        member(
            "subject",
            format!("entry {} is not in the bundle", subject.index),
        )
    })?;
    if subject.kind == SubjectKind::Figure && !subj.entry.content.body.is_figure() {
        return Err(member(
            "subject",
            format!(
                "entry {} is a {}, not a figure",
                subject.index,
                subj.entry.content.body.kind()
            ),
        ));
    }
    let mut need = closure(subject.index, cp.size(), &state, &Lookup(&entries))
        .map_err(|e| BundleError::Closure(e.to_string()))?;
    // Step 14 (its entry first): the state commitment the completeness proof is against.
    if let Some(c) = &bundle.completeness {
        need.insert(c.commitment);
    }
    if let Some(extra) = entries.keys().find(|i| !need.contains(i)) {
        return Err(BundleError::Closure(format!(
            "entry {extra} is not beneath the subject, nor a grant, revocation or amendment of it"
        )));
    }
    if let Some(missing) = need.iter().find(|i| !entries.contains_key(i)) {
        return Err(BundleError::Closure(format!(
            "entry {missing} is needed but missing"
        )));
    }
    // Step 13 and the report: the document, and where the subject stands.
    let standing = standing(subject.index, cp.size(), &state, &entries)?;
    let status = explain::status(
        &state,
        &Lookup(&entries),
        subject.index,
        cp.size(),
        standing.as_ref(),
    )
    .map_err(|e| entry_err(subject.index, e.to_string()))?;
    let document = match document {
        None => None,
        Some(sha256) => Some(match_document(sha256, &entries)?),
    };
    let completeness = match &bundle.completeness {
        None => None,
        Some(c) => Some(check_completeness(c, &entries, &state, cp.size())?),
    };
    // Step 15: a carried policy must be one (it is informational, not trusted).
    if let Some(text) = &bundle.policy {
        let p = crate::policy::Policy::parse(text.as_bytes())
            .map_err(|e| member("policy", e.to_string()))?;
        if !p.lists_log(trusted) {
            return Err(member(
                "policy",
                "it lists no log key equal to the trusted key",
            ));
        }
    }
    Ok(VerifiedBundle {
        origin: bundle.origin,
        vkey,
        checkpoint: cp,
        subject,
        entries,
        standing,
        status,
        document,
        completeness,
        bundle_sha256: Digest::of(bytes),
        bundle_len: bytes.len(),
        timestamps,
        policy: bundle.policy,
        state,
    })
}

/// The `timestamps` member: absent, or 1 to [`MAX_BUNDLE_TIMESTAMPS`] canonical base64 strings
/// of at most `MAX_TOKEN_BYTES` each. Decoded only; their verification needs TSA roots.
fn decode_timestamps(bundle: &Bundle) -> Result<Vec<Vec<u8>>, BundleError> {
    let Some(list) = &bundle.timestamps else {
        return Ok(Vec::new());
    };
    if list.is_empty() || list.len() > MAX_BUNDLE_TIMESTAMPS {
        return Err(member(
            "timestamps",
            format!(
                "{} tokens; a bundle carries 1 to {MAX_BUNDLE_TIMESTAMPS}, or leaves the member out",
                list.len()
            ),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            checkpoint::b64_strict(t)
                .filter(|b| b.len() <= crate::timestamp::MAX_TOKEN_BYTES)
                .ok_or_else(|| {
                    member(
                        "timestamps",
                        format!("token {i} is not canonical base64 of at most 64 KiB"),
                    )
                })
        })
        .collect()
}

/// Steps 1-3 of docs/PROOFS.md: bound, parse, canonical form.
fn parse(bytes: &[u8]) -> Result<Bundle, BundleError> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge {
            len: bytes.len(),
            max: MAX_BUNDLE_BYTES,
        });
    }
    let bundle: Bundle =
        serde_json::from_slice(bytes).map_err(|e| BundleError::Json(e.to_string()))?;
    if bundle.entries.len() > MAX_BUNDLE_ENTRIES {
        return Err(member(
            "entries",
            format!(
                "{} entries; custody reads at most {MAX_BUNDLE_ENTRIES}",
                bundle.entries.len()
            ),
        ));
    }
    let canonical = to_canonical_bytes(&bundle)?;
    if canonical != bytes {
        return Err(BundleError::NotCanonical {
            offset: first_difference(&canonical, bytes),
        });
    }
    Ok(bundle)
}

/// Steps 4-5: the top-level members against the trusted key. Returns the trusted vkey.
fn check_members(bundle: &Bundle, trusted: &StrictVerifier) -> Result<String, BundleError> {
    if bundle.format != FORMAT {
        return Err(member(
            "format",
            format!("{:?} is not {FORMAT:?}", bundle.format),
        ));
    }
    if bundle.origin != trusted.name() {
        return Err(member(
            "origin",
            format!(
                "{:?} is not the trusted key's name {:?}",
                bundle.origin,
                trusted.name()
            ),
        ));
    }
    let vkey = trusted.to_vkey();
    if bundle.vkey != vkey {
        return Err(member(
            "vkey",
            "the bundle names a different log key than the one trusted",
        ));
    }
    Ok(vkey)
}

/// Steps 7-8: entries in order, their bytes, proofs and chain links.
fn check_entries(
    bundle: &Bundle,
    cp: &SignedCheckpoint,
) -> Result<BTreeMap<u64, VerifiedEntry>, BundleError> {
    if bundle.entries.is_empty() {
        return Err(member("entries", "the bundle holds no entries"));
    }
    let mut entries: BTreeMap<u64, VerifiedEntry> = BTreeMap::new();
    let mut last: Option<u64> = None;
    for be in &bundle.entries {
        let i = be.index;
        if last.is_some_and(|l| l >= i) {
            return Err(member(
                "entries",
                format!("entry {i} is out of order or repeated: indices must strictly increase"),
            ));
        }
        last = Some(i);
        let ve = check_entry(be, &bundle.checkpoint, cp)?;
        if i == 0 && ve.entry.prev != Digest::ZERO {
            return Err(entry_err(0, "prev of entry 0 is not 32 zero bytes"));
        }
        if let Some(prev) = i.checked_sub(1).and_then(|p| entries.get(&p)) {
            if ve.entry.prev != prev.leaf {
                return Err(entry_err(
                    i,
                    format!("prev {} is not entry {}'s leaf hash", ve.entry.prev, i - 1),
                ));
            }
        }
        entries.insert(i, ve);
    }
    Ok(entries)
}

/// Step 9: genesis binds the origin to the operator key, which must be the trusted key.
fn check_genesis(
    entries: &BTreeMap<u64, VerifiedEntry>,
    trusted: &StrictVerifier,
) -> Result<(), BundleError> {
    let genesis = entries.get(&0).ok_or_else(|| {
        member(
            "entries",
            "genesis (entry 0) is missing; it anchors the operator key",
        )
    })?;
    // The log whose checkpoint this is, and the log the entries were signed for, are one: the
    // genesis origin (which every later entry's origin must equal) is the checkpoint's origin,
    // the trusted key's name. Otherwise one operator key's checkpoint of one log could carry
    // the entries of another.
    if genesis.entry.content.origin != trusted.name() {
        return Err(entry_err(
            0,
            format!(
                "the entries were signed for origin {:?}, not for the checkpoint's origin {:?}",
                genesis.entry.content.origin,
                trusted.name()
            ),
        ));
    }
    match &genesis.entry.content.body {
        Body::Genesis { operator, .. } if operator == trusted.verifying_key().as_bytes() => Ok(()),
        Body::Genesis { .. } => Err(entry_err(
            0,
            "the genesis operator key is not the trusted checkpoint key",
        )),
        other => Err(entry_err(
            0,
            format!("entry 0 is a {}, not genesis", other.kind()),
        )),
    }
}

fn check_entry(
    be: &BundleEntry,
    note: &str,
    cp: &SignedCheckpoint,
) -> Result<VerifiedEntry, BundleError> {
    let i = be.index;
    let bytes = checkpoint::b64_strict(&be.bytes_b64)
        .ok_or_else(|| entry_err(i, "bytes_b64 is not canonical padded base64"))?;
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(entry_err(i, "the entry is longer than 1 MiB"));
    }
    let entry = Entry::from_bytes(&bytes)
        .map_err(|e| entry_err(i, format!("the bytes are not a canonical entry: {e}")))?;
    if entry.index != i {
        return Err(entry_err(i, format!("the bytes say index {}", entry.index)));
    }
    let leaf = Digest::leaf(&bytes);
    let tp: TlogProof = checkpoint::parse_tlog_proof(be.tlog_proof.as_bytes())
        .map_err(|e| entry_err(i, format!("tlog_proof: {e}")))?;
    if tp.extra.is_some() {
        return Err(entry_err(i, "tlog_proof: bundles carry no extra line"));
    }
    if tp.index != i {
        return Err(entry_err(
            i,
            format!("tlog_proof is for index {}", tp.index),
        ));
    }
    if tp.checkpoint_note != note {
        return Err(entry_err(
            i,
            "tlog_proof ends in a different checkpoint than the bundle's",
        ));
    }
    merkle::verify_inclusion(leaf, i, cp.size(), &tp.proof, cp.root())
        .map_err(|e| entry_err(i, format!("tlog_proof: {e}")))?;
    Ok(VerifiedEntry {
        leaf,
        len: bytes.len(),
        proof: tp.proof,
        entry,
    })
}

/// Applies the bundle's entries in index order: each must be admissible as that entry of the
/// log (signer granted before it and not revoked, the rules of `evidence`, figure arithmetic as
/// published) and strictly signed by its signer.
fn replay(entries: &BTreeMap<u64, VerifiedEntry>) -> Result<LogState, BundleError> {
    let lookup = Lookup(entries);
    let mut state = LogState::default();
    // The duplicate rule among the bundle's own entries: each copy's latest earlier copy, if
    // the log holds one, is beneath it (a repeat references it), so the bundle sees it.
    let mut copies: HashMap<Digest, (u64, Digest)> = HashMap::new();
    for (&i, ve) in entries {
        // `admit` and `apply` treat `size` as the index of the entry being added; the log
        // between bundle entries is absent, and nothing in the rules depends on its count.
        state.size = i;
        let content = &ve.entry.content;
        state
            .admit_in_bundle(content, &lookup)
            .map_err(|e| entry_err(i, e.to_string()))?;
        crate::replay::check_signature(&state, content, &ve.entry.signature.0)
            .map_err(|e| entry_err(i, e.to_string()))?;
        let msg = content
            .signed_bytes()
            .map_err(|e| entry_err(i, e.to_string()))?;
        let key = duplicates::key_of_signed(&msg)
            .ok_or_else(|| entry_err(i, "signed message too short"))?;
        let latest = copies.get(&key).map(|&(c, m)| (c, m == Digest::of(&msg)));
        duplicates::check(content, latest).map_err(|e| entry_err(i, e.to_string()))?;
        copies.insert(key, (i, Digest::of(&msg)));
        state.apply(content, ve.leaf);
    }
    Ok(state)
}

fn standing(
    index: u64,
    size: u64,
    state: &LogState,
    entries: &BTreeMap<u64, VerifiedEntry>,
) -> Result<Option<Standing>, BundleError> {
    explain::standing(state, &Lookup(entries), index, size)
        .map_err(|e| entry_err(index, e.to_string()))
}

/// Step 14: the completeness proof. The commitment entry is a `StateCommitment` in the
/// bundle; every opened leaf is in its tree; and every bundle entry below it shows, through the
/// opened leaves, exactly the amendments the bundle holds of it.
fn check_completeness(
    c: &CompletenessJson,
    entries: &BTreeMap<u64, VerifiedEntry>,
    state: &LogState,
    size: u64,
) -> Result<Coverage, BundleError> {
    let at = c.commitment;
    let fail = |reason: String| BundleError::Closure(format!("completeness: {reason}"));
    let Some(ve) = entries.get(&at) else {
        return Err(fail(format!(
            "the state commitment, entry {at}, is not in the bundle"
        )));
    };
    let Body::StateCommitment { leaves, root, .. } = &ve.entry.content.body else {
        return Err(fail(format!(
            "entry {at} is a {}, not a state commitment",
            ve.entry.content.body.kind()
        )));
    };
    let mut opened = Vec::with_capacity(c.leaves.len());
    for l in &c.leaves {
        if l.path.len() > merkle::MAX_PROOF_LEN {
            return Err(fail(format!(
                "the state leaf of entry {} has a path of more than {} hashes",
                l.entry,
                merkle::MAX_PROOF_LEN
            )));
        }
        let mut path = Vec::with_capacity(l.path.len());
        for h in &l.path {
            let bytes: [u8; 32] = checkpoint::b64_strict(h)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    fail(format!(
                        "the state leaf of entry {} has a path hash that is not canonical base64 \
                         of 32 bytes",
                        l.entry
                    ))
                })?;
            path.push(Digest(bytes));
        }
        opened.push(OpenedLeaf {
            position: l.position,
            entry: l.entry,
            amended_by: l.amended_by.clone(),
            path,
        });
    }
    let held: BTreeMap<u64, Vec<u64>> = entries
        .keys()
        .filter(|&&e| e < at)
        .map(|&e| {
            let set: Vec<u64> = state
                .amended_by(e)
                .into_iter()
                .filter(|&a| a < at)
                .collect();
            (e, set)
        })
        .collect();
    crate::completeness::check(at, *leaves, root, &opened, &held).map_err(|e| match e.entry {
        Some(index) => entry_err(index, format!("completeness: {}", e.reason)),
        None => fail(e.reason),
    })?;
    Ok(Coverage {
        commitment: at,
        to_checkpoint: at + 1 == size,
    })
}

fn match_document(
    sha256: Digest,
    entries: &BTreeMap<u64, VerifiedEntry>,
) -> Result<DocumentMatch, BundleError> {
    let mut sources = Vec::new();
    let mut listing = String::new();
    for (&i, ve) in entries {
        if let Body::Source { sha256: h, .. } = &ve.entry.content.body {
            if h.ct_eq(&sha256) {
                sources.push(i);
            }
            let _ = write!(listing, "\n  source {i}: {h}");
        }
    }
    if sources.is_empty() {
        if !listing.is_empty() {
            listing.insert_str(0, "; its sources are:");
        }
        return Err(BundleError::Document { sha256, listing });
    }
    Ok(DocumentMatch { sha256, sources })
}
