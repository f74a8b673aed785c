//! Submissions and entries: their bodies, the bytes a signer signs, and the leaf hash.
//!
//! A researcher signs a [`Submission`] (no ledger state needed, so it can be made offline); the
//! ledger sequences it into an [`Entry`] by adding its index and the hash of the entry before it.
//! This module is pure: it never touches files, the clock or the RNG.

use crate::codec::{self, CodecError};
use crate::hash::{Digest, SUBMISSION_CONTEXT};
use serde::{Deserialize, Serialize};
use serde_big_array::BigArray;
use std::fmt;

/// Magic line at the start of a submission file (`.cust`), before its canonical bytes.
pub const SUBMISSION_FILE_MAGIC: &[u8] = b"custody-submission-v1\n";

/// A key id: SHA-256 of the 32-byte Ed25519 public key. Its invariant is only that formula.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyId(pub [u8; 32]);

impl KeyId {
    /// The key id of an Ed25519 public key.
    #[must_use]
    pub fn of(public: &[u8; 32]) -> KeyId {
        KeyId(Digest::of(public).0)
    }
    /// Full lowercase hex.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// The first 8 bytes in hex, for one-line listings.
    #[must_use]
    pub fn short(&self) -> String {
        hex::encode(&self.0[..8])
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.to_hex())
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A 64-byte Ed25519 signature as stored (R || S).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sig(#[serde(with = "BigArray")] pub [u8; 64]);

impl fmt::Debug for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sig({})", hex::encode(self.0))
    }
}

/// A closed set of named values (roles, source kinds, qualifiers): the names are what the
/// command line, listings and JSON use, so the CLI's choices come from here, never a copy.
pub trait Named: Copy + Sized + 'static {
    /// Every value, in tag order.
    const ALL: &'static [Self];
    /// The value's name.
    fn name(self) -> &'static str;
    /// The value named `name`.
    #[must_use]
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == name)
    }
}

/// A role granted by the operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
// Names apply to JSON only; the binary encoding uses the variant's position.
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Signs sources, informants, claims and figures, and amends (corrects, retracts, redacts,
    /// re-sources, supersedes) only entries signed with its own key.
    Researcher,
    /// Signs the same kinds as a researcher and may amend anyone's entries: such an amendment
    /// is a review action, on the record as the reviewer's signature (docs/FORMAT.md "Roles").
    Reviewer,
    /// Holds a key for the record (e.g. to cosign checkpoints) but signs no evidence entries.
    Auditor,
}

impl Named for Role {
    const ALL: &'static [Role] = &[Role::Researcher, Role::Reviewer, Role::Auditor];
    fn name(self) -> &'static str {
        Role::name(self)
    }
}

impl Role {
    /// The name used on the command line and in listings.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Role::Researcher => "researcher",
            Role::Reviewer => "reviewer",
            Role::Auditor => "auditor",
        }
    }
}

/// What kind of document a source is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
// Names apply to JSON only; the binary encoding uses the variant's position.
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A report by a non-governmental organisation.
    NgoReport,
    /// A United Nations document.
    UnDocument,
    /// A government document.
    Government,
    /// A press or broadcast report.
    Media,
    /// A witness's testimony.
    Testimony,
    /// Anything else.
    Other,
}

impl Named for SourceKind {
    const ALL: &'static [SourceKind] = &SourceKind::ALL;
    fn name(self) -> &'static str {
        SourceKind::name(self)
    }
}

impl SourceKind {
    /// All kinds, in tag order.
    pub const ALL: [SourceKind; 6] = [
        SourceKind::NgoReport,
        SourceKind::UnDocument,
        SourceKind::Government,
        SourceKind::Media,
        SourceKind::Testimony,
        SourceKind::Other,
    ];
    /// The name used on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::NgoReport => "ngo-report",
            SourceKind::UnDocument => "un-document",
            SourceKind::Government => "government",
            SourceKind::Media => "media",
            SourceKind::Testimony => "testimony",
            SourceKind::Other => "other",
        }
    }
}

/// How a figure's value relates to the truth it estimates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
// Names apply to JSON only; the binary encoding uses the variant's position.
#[serde(rename_all = "kebab-case")]
pub enum Qualifier {
    /// A lower bound: "at least".
    AtLeast,
    /// An exact count.
    Exactly,
    /// An estimate.
    About,
}

impl Named for Qualifier {
    const ALL: &'static [Qualifier] = &[Qualifier::AtLeast, Qualifier::Exactly, Qualifier::About];
    fn name(self) -> &'static str {
        Qualifier::name(self)
    }
}

impl Qualifier {
    /// The name used on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Qualifier::AtLeast => "at-least",
            Qualifier::Exactly => "exactly",
            Qualifier::About => "about",
        }
    }
}

/// The typed body of a submission. Variant order is the on-disk tag (u32) and must never change;
/// new kinds are appended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// Entry 0: the trust anchor. Binds the origin (in the submission) to the operator key.
    Genesis {
        /// The operator's Ed25519 public key; its id must equal the submission's signer.
        operator: [u8; 32],
        /// A human name for the operator key.
        name: String,
    },
    /// The operator grants a key the right to sign entries from the next index on.
    KeyGrant {
        /// The granted Ed25519 public key.
        key: [u8; 32],
        /// A human name for the key (e.g. "researcher").
        name: String,
        /// What the key may sign.
        role: Role,
    },
    /// The operator ends a key's right to sign, from the next index on.
    KeyRevoke {
        /// The revoked key.
        key: KeyId,
        /// Why.
        reason: String,
    },
    /// A document, identified by its SHA-256.
    Source {
        /// SHA-256 of the whole file.
        sha256: Digest,
        /// Its size in bytes.
        size: u64,
        /// Its title.
        title: String,
        /// Who published it.
        publisher: String,
        /// Publication date: YYYY, YYYY-MM or YYYY-MM-DD.
        date: String,
        /// What kind of document it is.
        kind: SourceKind,
        /// A URL or archive reference, if any.
        locator: Option<String>,
    },
    /// An informant, as an alias and a salted commitment to the identity (never the identity).
    Informant {
        /// The name used in the record ("Source A").
        alias: String,
        /// SHA-256(INFORMANT_CONTEXT || salt(32) || identity).
        commitment: Digest,
    },
    /// A statement of fact resting on cited sources or informants.
    Claim {
        /// The statement.
        statement: String,
        /// A count of people, if the claim counts.
        count: Option<u64>,
        /// The unit of the count ("people").
        unit: String,
        /// A category such as "forced-repatriation".
        category: String,
        /// When: a partial date or a range `A..B`.
        period: String,
        /// Where.
        place: String,
        /// Indices of the cited sources and informants (earlier entries).
        cites: Vec<u64>,
    },
    /// A published figure: the sum of cited claims' counts and other figures' values.
    Figure {
        /// The figure's label.
        label: String,
        /// The published value; must equal the sum of `terms` when signed.
        value: u64,
        /// at-least, exactly, about.
        qualifier: Qualifier,
        /// The unit ("people").
        unit: String,
        /// Indices of the claims and figures summed (earlier entries).
        terms: Vec<u64>,
    },
    /// Corrects an earlier claim: a new count and/or statement. Never rewrites it.
    Correction {
        /// The corrected claim's index.
        target: u64,
        /// The corrected count, if it changes.
        count: Option<u64>,
        /// The corrected statement, if it changes.
        statement: Option<String>,
        /// Why.
        reason: String,
    },
    /// Withdraws an earlier claim, source or informant.
    Retraction {
        /// The withdrawn entry's index.
        target: u64,
        /// Why.
        reason: String,
    },
    /// Records that the stored copy of a source document was deleted (e.g. to protect a witness).
    Redaction {
        /// The source entry whose stored copy was deleted.
        target: u64,
        /// Why.
        reason: String,
    },
    /// Re-sources an earlier claim: adds sources or informants it rests on (for example after
    /// a source it cited was retracted). Never rewrites the claim.
    Cite {
        /// The claim's index.
        target: u64,
        /// Indices of the added sources and informants (earlier entries).
        cites: Vec<u64>,
        /// Why.
        reason: String,
    },
    /// A published figure that supersedes an earlier one (republished after a correction, say):
    /// a figure in every respect, which also names the figure it replaces.
    SupersedingFigure {
        /// The figure's label.
        label: String,
        /// The published value; must equal the sum of `terms` when signed.
        value: u64,
        /// at-least, exactly, about.
        qualifier: Qualifier,
        /// The unit ("people"); the same as the superseded figure's.
        unit: String,
        /// Indices of the claims and figures summed (earlier entries).
        terms: Vec<u64>,
        /// The earlier figure this one supersedes.
        supersedes: u64,
    },
    /// A claim recorded again on purpose: the same signer, the same fields as an earlier claim
    /// (a second incident the sources describe in the same words, say). A claim in every
    /// respect, which also names the latest earlier copy, so the repeat is on the record and
    /// never mistaken for a resubmission.
    RepeatedClaim {
        /// The statement.
        statement: String,
        /// A count of people, if the claim counts.
        count: Option<u64>,
        /// The unit of the count ("people").
        unit: String,
        /// A category such as "forced-repatriation".
        category: String,
        /// When: a partial date or a range `A..B`.
        period: String,
        /// Where.
        place: String,
        /// Indices of the cited sources and informants (earlier entries).
        cites: Vec<u64>,
        /// The latest earlier entry recording the same claim.
        repeats: u64,
    },
    /// The operator's commitment to the log's amendment state just before this entry: the root
    /// of the state tree, which holds for every amended entry the set of entries amending it
    /// (docs/PROOFS.md, "Completeness"). Every full replay recomputes and checks it; a proof
    /// bundle carries proofs against it, so that no amendment of its entries can be left out.
    StateCommitment {
        /// The entries it covers: this entry's own index.
        size: u64,
        /// The state tree's number of leaves.
        leaves: u64,
        /// The state tree's RFC 6962 root.
        root: Digest,
    },
    /// A reviewer's endorsement of an earlier figure signed with another key: "figure N
    /// reviewed by K". An amendment of the figure that changes nothing in its value; every
    /// report on the figure names who reviewed it (docs/FORMAT.md "Roles").
    Review {
        /// The reviewed figure.
        target: u64,
        /// What the reviewer checked, in a sentence (may be empty).
        note: String,
    },
}

/// A figure's fields, whichever figure kind holds them ([`Body::Figure`] or
/// [`Body::SupersedingFigure`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FigureRef<'a> {
    /// The label.
    pub label: &'a str,
    /// The published value.
    pub value: u64,
    /// at-least, exactly, about.
    pub qualifier: Qualifier,
    /// The unit.
    pub unit: &'a str,
    /// The terms summed.
    pub terms: &'a [u64],
    /// The figure it supersedes, if it supersedes one.
    pub supersedes: Option<u64>,
}

/// A claim's fields, whichever claim kind holds them ([`Body::Claim`] or
/// [`Body::RepeatedClaim`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimRef<'a> {
    /// The statement.
    pub statement: &'a str,
    /// Its own count.
    pub count: Option<u64>,
    /// The unit.
    pub unit: &'a str,
    /// The category.
    pub category: &'a str,
    /// The period.
    pub period: &'a str,
    /// The place.
    pub place: &'a str,
    /// Its own citations.
    pub cites: &'a [u64],
    /// The earlier copy it repeats, if it is a deliberate repeat.
    pub repeats: Option<u64>,
}

impl Body {
    /// The claim's fields, if this is a claim of either kind.
    #[must_use]
    pub fn as_claim(&self) -> Option<ClaimRef<'_>> {
        let (statement, count, unit, category, period, place, cites, repeats) = match self {
            Body::Claim {
                statement,
                count,
                unit,
                category,
                period,
                place,
                cites,
            } => (statement, count, unit, category, period, place, cites, None),
            Body::RepeatedClaim {
                statement,
                count,
                unit,
                category,
                period,
                place,
                cites,
                repeats,
            } => (
                statement,
                count,
                unit,
                category,
                period,
                place,
                cites,
                Some(*repeats),
            ),
            _ => return None,
        };
        Some(ClaimRef {
            statement,
            count: *count,
            unit,
            category,
            period,
            place,
            cites,
            repeats,
        })
    }

    /// Whether this is a claim of either kind.
    #[must_use]
    pub fn is_claim(&self) -> bool {
        self.as_claim().is_some()
    }

    /// This body as duplicate detection compares it: a deliberate repeat compares as the plain
    /// claim it repeats, every other body as itself (docs/FORMAT.md, "Duplicates").
    #[must_use]
    pub fn unrepeated(&self) -> std::borrow::Cow<'_, Body> {
        match self {
            Body::RepeatedClaim {
                statement,
                count,
                unit,
                category,
                period,
                place,
                cites,
                ..
            } => std::borrow::Cow::Owned(Body::Claim {
                statement: statement.clone(),
                count: *count,
                unit: unit.clone(),
                category: category.clone(),
                period: period.clone(),
                place: place.clone(),
                cites: cites.clone(),
            }),
            other => std::borrow::Cow::Borrowed(other),
        }
    }

    /// The figure's fields, if this is a figure of either kind.
    #[must_use]
    pub fn as_figure(&self) -> Option<FigureRef<'_>> {
        match self {
            Body::Figure {
                label,
                value,
                qualifier,
                unit,
                terms,
            } => Some(FigureRef {
                label,
                value: *value,
                qualifier: *qualifier,
                unit,
                terms,
                supersedes: None,
            }),
            Body::SupersedingFigure {
                label,
                value,
                qualifier,
                unit,
                terms,
                supersedes,
            } => Some(FigureRef {
                label,
                value: *value,
                qualifier: *qualifier,
                unit,
                terms,
                supersedes: Some(*supersedes),
            }),
            _ => None,
        }
    }

    /// Whether this is a figure of either kind.
    #[must_use]
    pub fn is_figure(&self) -> bool {
        self.as_figure().is_some()
    }

    /// The kind's name, as in listings and `--json`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Genesis { .. } => "genesis",
            Body::KeyGrant { .. } => "key-grant",
            Body::KeyRevoke { .. } => "key-revoke",
            Body::Source { .. } => "source",
            Body::Informant { .. } => "informant",
            Body::Claim { .. } | Body::RepeatedClaim { .. } => "claim",
            Body::Figure { .. } | Body::SupersedingFigure { .. } => "figure",
            Body::Correction { .. } => "correction",
            Body::Retraction { .. } => "retraction",
            Body::Redaction { .. } => "redaction",
            Body::Cite { .. } => "cite",
            Body::StateCommitment { .. } => "state-commitment",
            Body::Review { .. } => "review",
        }
    }

    /// The earlier entry this body amends, if it is an amendment that names its target by
    /// index: a correction, retraction, redaction, re-sourcing or review. (A revocation amends
    /// the grant of its key, which only the log state can name.)
    #[must_use]
    pub fn amends(&self) -> Option<u64> {
        match self {
            Body::Correction { target, .. }
            | Body::Retraction { target, .. }
            | Body::Redaction { target, .. }
            | Body::Review { target, .. }
            | Body::Cite { target, .. } => Some(*target),
            _ => None,
        }
    }

    /// The earlier entries this body names (citations, terms, targets), in order.
    #[must_use]
    pub fn references(&self) -> Vec<u64> {
        match self {
            Body::Claim { cites, .. } => cites.clone(),
            Body::RepeatedClaim { cites, repeats, .. } => {
                let mut r = cites.clone();
                r.push(*repeats);
                r
            }
            Body::Figure { terms, .. } => terms.clone(),
            Body::SupersedingFigure {
                terms, supersedes, ..
            } => {
                let mut r = terms.clone();
                r.push(*supersedes);
                r
            }
            Body::Correction { target, .. }
            | Body::Retraction { target, .. }
            | Body::Redaction { target, .. }
            | Body::Review { target, .. } => vec![*target],
            Body::Cite { target, cites, .. } => {
                let mut r = Vec::with_capacity(cites.len() + 1);
                r.push(*target);
                r.extend_from_slice(cites);
                r
            }
            _ => Vec::new(),
        }
    }
}

/// Everything a signer signs: the ledger's origin (so a submission cannot be replayed into
/// another ledger), the signer's key id, the signer's claimed time, and the body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    /// The ledger's origin line, e.g. "example.org/nk-repatriation".
    pub origin: String,
    /// The signing key's id.
    pub signer: KeyId,
    /// Seconds since 1970-01-01T00:00:00Z, as the signer's clock claims. Not authenticated time.
    pub claimed_time: i64,
    /// The typed body.
    pub body: Body,
}

impl Content {
    /// The exact bytes the Ed25519 signature covers: context string, then canonical content.
    ///
    /// # Errors
    /// If the content is too large to encode.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, CodecError> {
        let mut msg = SUBMISSION_CONTEXT.to_vec();
        msg.extend_from_slice(&codec::encode(self)?);
        Ok(msg)
    }

    /// Signs this content with any `signature::Signer` (an in-memory key, an HSM). The caller
    /// must ensure the key matches `self.signer`.
    ///
    /// # Errors
    /// If the content is too large to encode.
    pub fn sign<S>(self, key: &S) -> Result<Submission, CodecError>
    where
        S: ed25519_dalek::Signer<ed25519_dalek::Signature> + ?Sized,
    {
        let sig = key.sign(&self.signed_bytes()?);
        Ok(Submission {
            content: self,
            signature: Sig(sig.to_bytes()),
        })
    }
}

/// A signed submission, not yet in any ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// What was signed.
    pub content: Content,
    /// Ed25519 signature over [`Content::signed_bytes`].
    pub signature: Sig,
}

impl Submission {
    /// The contents of a `.cust` file: magic line, then the canonical bytes.
    ///
    /// # Errors
    /// If the submission is too large to encode.
    pub fn to_file_bytes(&self) -> Result<Vec<u8>, CodecError> {
        let mut out = SUBMISSION_FILE_MAGIC.to_vec();
        out.extend_from_slice(&codec::encode(self)?);
        Ok(out)
    }

    /// Parses a `.cust` file.
    ///
    /// # Errors
    /// If the magic line is missing or the bytes are not one canonical submission.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Submission, CodecError> {
        let rest = bytes
            .strip_prefix(SUBMISSION_FILE_MAGIC)
            .ok_or_else(|| CodecError::Malformed("not a custody submission file".into()))?;
        codec::decode(rest)
    }

    /// Sequences this submission as entry `index` after the entry whose leaf hash is `prev`.
    #[must_use]
    pub fn into_entry(self, index: u64, prev: Digest) -> Entry {
        Entry {
            index,
            prev,
            content: self.content,
            signature: self.signature,
        }
    }
}

/// A sequenced entry: index, previous entry's leaf hash, then the submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the log, from 0.
    pub index: u64,
    /// Leaf hash of entry `index - 1`; all zeros for entry 0.
    pub prev: Digest,
    /// What the signer signed.
    pub content: Content,
    /// The signer's signature.
    pub signature: Sig,
}

/// The largest entry, in canonical entry bytes (what the leaf hash covers), that custody admits
/// or accepts in a replay: 65,535 bytes. C2SP tlog-tiles entry bundles prefix each entry with a
/// big-endian `uint16` length, so a larger entry could not be published (docs/FORMAT.md,
/// "Limits"; docs/PUBLISHING.md). A submission becomes an entry of its own length plus 40 bytes
/// (index and prev).
pub const MAX_ENTRY_BYTES: usize = 65_535;

/// Why an entry of `len` canonical bytes is refused, or `None` if its size is allowed.
#[must_use]
pub fn entry_size_error(len: usize) -> Option<String> {
    (len > MAX_ENTRY_BYTES).then(|| {
        format!(
            "the entry is {len} bytes; an entry is at most {MAX_ENTRY_BYTES} bytes (tlog-tiles entry bundles give each entry a 16-bit length; docs/FORMAT.md, Limits)"
        )
    })
}

/// The length of the entry `content` signed by one signature becomes, at any index: index and
/// prev (40 bytes), the canonical content, the 64-byte signature.
///
/// # Errors
/// If the content is too large to encode.
pub fn entry_len_of(content: &Content) -> Result<usize, CodecError> {
    Ok(ENTRY_HEADER_BYTES + codec::encode(content)?.len() + 64)
}

/// Offsets inside an entry's canonical bytes: index (8) and prev (32) come first, the 64-byte
/// signature last, and the content (the signed part) is everything in between.
pub const ENTRY_HEADER_BYTES: usize = 8 + 32;

impl Entry {
    /// The canonical bytes: what the leaf hash covers and what the entries file stores.
    ///
    /// # Errors
    /// If the entry is too large to encode.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CodecError> {
        codec::encode(self)
    }

    /// Decodes canonical entry bytes.
    ///
    /// # Errors
    /// If the bytes are not exactly one canonical entry.
    pub fn from_bytes(bytes: &[u8]) -> Result<Entry, CodecError> {
        codec::decode(bytes)
    }

    /// The submission inside this entry.
    #[must_use]
    pub fn submission(&self) -> Submission {
        Submission {
            content: self.content.clone(),
            signature: self.signature,
        }
    }
}

/// The signed message of an entry, sliced from its canonical bytes without re-encoding: the
/// context string followed by bytes `40 .. len-64`. Returns `None` if `entry_bytes` is too short.
#[must_use]
pub fn signed_message_of(entry_bytes: &[u8]) -> Option<Vec<u8>> {
    let end = entry_bytes.len().checked_sub(64)?;
    if end < ENTRY_HEADER_BYTES {
        return None;
    }
    let mut msg = Vec::with_capacity(SUBMISSION_CONTEXT.len() + end - ENTRY_HEADER_BYTES);
    msg.extend_from_slice(SUBMISSION_CONTEXT);
    msg.extend_from_slice(&entry_bytes[ENTRY_HEADER_BYTES..end]);
    Some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn content() -> Content {
        let k = key();
        Content {
            origin: "example.org/test".into(),
            signer: KeyId::of(k.verifying_key().as_bytes()),
            claimed_time: 1_760_486_400,
            body: Body::Claim {
                statement: "108 returned".into(),
                count: Some(108),
                unit: "people".into(),
                category: "forced-repatriation".into(),
                period: "2024-01".into(),
                place: "Yanbian".into(),
                cites: vec![3],
            },
        }
    }

    #[test]
    fn entry_round_trips_and_message_slices_match() {
        let sub = content().sign(&key()).unwrap();
        let entry = sub.clone().into_entry(5, Digest::of(b"prev"));
        let bytes = entry.to_bytes().unwrap();
        assert_eq!(Entry::from_bytes(&bytes).unwrap(), entry);
        assert_eq!(
            signed_message_of(&bytes).unwrap(),
            sub.content.signed_bytes().unwrap()
        );
        assert_eq!(&bytes[..8], &5u64.to_le_bytes());
        assert_eq!(&bytes[bytes.len() - 64..], &sub.signature.0);
    }

    #[test]
    fn submission_file_round_trip_and_bad_magic() {
        let sub = content().sign(&key()).unwrap();
        let file = sub.to_file_bytes().unwrap();
        assert_eq!(Submission::from_file_bytes(&file).unwrap(), sub);
        assert!(Submission::from_file_bytes(&file[1..]).is_err());
        let mut extra = file.clone();
        extra.push(0);
        assert!(Submission::from_file_bytes(&extra).is_err());
    }

    #[test]
    fn every_prefix_of_an_entry_is_rejected() {
        let entry = content().sign(&key()).unwrap().into_entry(1, Digest::ZERO);
        let bytes = entry.to_bytes().unwrap();
        for cut in 0..bytes.len() {
            assert!(Entry::from_bytes(&bytes[..cut]).is_err(), "prefix {cut}");
        }
    }
}
