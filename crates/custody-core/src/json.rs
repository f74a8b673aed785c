//! The one JSON model (docs/JSON.md): serde types for every `--json` output and for `import`'s
//! input. Hashes, key ids, public keys and signatures are lowercase hex strings; a signer is
//! always a [`SignerJson`]; bodies are tagged by `"kind"`.
//!
//! These types are views: the canonical binary encoding of entries is [`crate::codec`]'s and
//! never depends on them. [`BodyJson`] converts both ways with [`Body`], so an entry shown by
//! `show --json` can be fed back to `import` (less its signature and sequence).

use crate::entry::{Body, Entry, KeyId, Qualifier, Role, SourceKind};
use crate::explain::{FigureStanding, Standing};
use crate::hash::Digest;
use crate::rules::{KeyRecord, LogState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// RFC 3339 UTC seconds for a claimed time; the raw number for a time before 1970 or past the
/// range the calendar formatter handles, so printing never fails on any decodable value.
#[must_use]
pub fn rfc3339(t: i64) -> String {
    // Year 9999 ends at 253402300799; humantime formats no further.
    const MAX: u64 = 253_402_300_799;
    u64::try_from(t)
        .ok()
        .filter(|&s| s <= MAX)
        .and_then(|s| std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(s)))
        .map_or_else(
            || t.to_string(),
            |st| humantime::format_rfc3339_seconds(st).to_string(),
        )
}

/// Who signed: the same object everywhere an entry's signer is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerJson {
    /// Full key id: SHA-256 of the public key, 64 hex digits.
    pub key_id: String,
    /// The key's name, as granted (`null` if the log never granted it).
    pub name: Option<String>,
    /// "operator", "researcher", "reviewer" or "auditor" (`null` if never granted).
    pub role: Option<String>,
}

impl SignerJson {
    /// The signer `id` as the keys in `keys` know it.
    #[must_use]
    pub fn of(id: &KeyId, keys: &[KeyRecord]) -> SignerJson {
        let k = keys.iter().find(|k| k.id() == *id);
        SignerJson {
            key_id: id.to_hex(),
            name: k.map(|k| k.name.clone()),
            role: k.map(|k| k.role_name().to_string()),
        }
    }
}

fn people() -> String {
    "people".into()
}

/// A body, tagged by `"kind"`. Also `import`'s input line (where `unit` defaults to "people",
/// `place` to "" and `locator` to null).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum BodyJson {
    /// Entry 0.
    Genesis {
        /// The operator's public key, hex.
        operator: String,
        /// Its name.
        name: String,
    },
    /// A grant.
    KeyGrant {
        /// The granted public key, hex.
        key: String,
        /// Its name.
        name: String,
        /// Its role.
        role: Role,
    },
    /// A revocation.
    KeyRevoke {
        /// The revoked key's id, hex.
        key: String,
        /// Why.
        reason: String,
    },
    /// A source document.
    Source {
        /// SHA-256 of the document, hex.
        sha256: String,
        /// Its size in bytes.
        size: u64,
        /// Its title.
        title: String,
        /// Who published it.
        publisher: String,
        /// YYYY, YYYY-MM or YYYY-MM-DD.
        date: String,
        /// What kind of document (`"kind"` is the body's tag).
        source_kind: SourceKind,
        /// A URL or archive reference.
        #[serde(default)]
        locator: Option<String>,
    },
    /// An informant.
    Informant {
        /// The alias.
        alias: String,
        /// The salted commitment, hex.
        commitment: String,
    },
    /// A claim.
    Claim {
        /// The statement.
        statement: String,
        /// The count, if any.
        #[serde(default)]
        count: Option<u64>,
        /// The unit.
        #[serde(default = "people")]
        unit: String,
        /// The category.
        category: String,
        /// The period.
        period: String,
        /// The place.
        #[serde(default)]
        place: String,
        /// Cited sources and informants.
        cites: Vec<u64>,
        /// The latest earlier copy it deliberately repeats (a repeated claim, tag 12); `null`
        /// otherwise.
        #[serde(default)]
        repeats: Option<u64>,
    },
    /// A figure.
    Figure {
        /// The label.
        label: String,
        /// The published value.
        value: u64,
        /// at-least, exactly, about.
        qualifier: Qualifier,
        /// The unit.
        #[serde(default = "people")]
        unit: String,
        /// The terms summed.
        terms: Vec<u64>,
        /// The figure it supersedes (a superseding figure, tag 11); `null` otherwise.
        #[serde(default)]
        supersedes: Option<u64>,
    },
    /// A correction.
    Correction {
        /// The corrected claim.
        target: u64,
        /// The new count.
        #[serde(default)]
        count: Option<u64>,
        /// The new statement.
        #[serde(default)]
        statement: Option<String>,
        /// Why.
        reason: String,
    },
    /// A retraction.
    Retraction {
        /// The retracted entry.
        target: u64,
        /// Why.
        reason: String,
    },
    /// A redaction.
    Redaction {
        /// The source whose stored copy was deleted.
        target: u64,
        /// Why.
        reason: String,
    },
    /// A reviewer's endorsement of a figure.
    Review {
        /// The reviewed figure.
        target: u64,
        /// What the reviewer checked.
        note: String,
    },
    /// The operator's commitment to the log's amendment state.
    StateCommitment {
        /// The entries it covers (its own index).
        size: u64,
        /// The state tree's number of leaves.
        leaves: u64,
        /// The state tree's root, hex.
        root: String,
    },
    /// A re-sourcing: sources or informants added to a claim.
    Cite {
        /// The re-sourced claim.
        target: u64,
        /// The added sources and informants.
        cites: Vec<u64>,
        /// Why.
        reason: String,
    },
}

fn hex32(field: &str, s: &str) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out)
        .map_err(|_| format!("{field} is not 64 hex digits: {s:?}"))?;
    Ok(out)
}

impl From<&Body> for BodyJson {
    fn from(b: &Body) -> BodyJson {
        match b.clone() {
            Body::Genesis { operator, name } => BodyJson::Genesis {
                operator: hex::encode(operator),
                name,
            },
            Body::KeyGrant { key, name, role } => BodyJson::KeyGrant {
                key: hex::encode(key),
                name,
                role,
            },
            Body::KeyRevoke { key, reason } => BodyJson::KeyRevoke {
                key: key.to_hex(),
                reason,
            },
            Body::Source {
                sha256,
                size,
                title,
                publisher,
                date,
                kind,
                locator,
            } => BodyJson::Source {
                sha256: sha256.to_hex(),
                size,
                title,
                publisher,
                date,
                source_kind: kind,
                locator,
            },
            Body::Informant { alias, commitment } => BodyJson::Informant {
                alias,
                commitment: commitment.to_hex(),
            },
            Body::Claim {
                statement,
                count,
                unit,
                category,
                period,
                place,
                cites,
            } => BodyJson::Claim {
                statement,
                count,
                unit,
                category,
                period,
                place,
                cites,
                repeats: None,
            },
            Body::RepeatedClaim {
                statement,
                count,
                unit,
                category,
                period,
                place,
                cites,
                repeats,
            } => BodyJson::Claim {
                statement,
                count,
                unit,
                category,
                period,
                place,
                cites,
                repeats: Some(repeats),
            },
            Body::Figure {
                label,
                value,
                qualifier,
                unit,
                terms,
            } => BodyJson::Figure {
                label,
                value,
                qualifier,
                unit,
                terms,
                supersedes: None,
            },
            Body::SupersedingFigure {
                label,
                value,
                qualifier,
                unit,
                terms,
                supersedes,
            } => BodyJson::Figure {
                label,
                value,
                qualifier,
                unit,
                terms,
                supersedes: Some(supersedes),
            },
            Body::Correction {
                target,
                count,
                statement,
                reason,
            } => BodyJson::Correction {
                target,
                count,
                statement,
                reason,
            },
            Body::Retraction { target, reason } => BodyJson::Retraction { target, reason },
            Body::Redaction { target, reason } => BodyJson::Redaction { target, reason },
            Body::Cite {
                target,
                cites,
                reason,
            } => BodyJson::Cite {
                target,
                cites,
                reason,
            },
            Body::StateCommitment { size, leaves, root } => BodyJson::StateCommitment {
                size,
                leaves,
                root: root.to_hex(),
            },
            Body::Review { target, note } => BodyJson::Review { target, note },
        }
    }
}

impl TryFrom<BodyJson> for Body {
    type Error = String;

    fn try_from(j: BodyJson) -> Result<Body, String> {
        Ok(match j {
            BodyJson::Genesis { operator, name } => Body::Genesis {
                operator: hex32("operator", &operator)?,
                name,
            },
            BodyJson::KeyGrant { key, name, role } => Body::KeyGrant {
                key: hex32("key", &key)?,
                name,
                role,
            },
            BodyJson::KeyRevoke { key, reason } => Body::KeyRevoke {
                key: KeyId(hex32("key", &key)?),
                reason,
            },
            BodyJson::Source {
                sha256,
                size,
                title,
                publisher,
                date,
                source_kind,
                locator,
            } => Body::Source {
                sha256: Digest(hex32("sha256", &sha256)?),
                size,
                title,
                publisher,
                date,
                kind: source_kind,
                locator,
            },
            BodyJson::Informant { alias, commitment } => Body::Informant {
                alias,
                commitment: Digest(hex32("commitment", &commitment)?),
            },
            BodyJson::Claim {
                statement,
                count,
                unit,
                category,
                period,
                place,
                cites,
                repeats: None,
            } => Body::Claim {
                statement,
                count,
                unit,
                category,
                period,
                place,
                cites,
            },
            BodyJson::Claim {
                statement,
                count,
                unit,
                category,
                period,
                place,
                cites,
                repeats: Some(repeats),
            } => Body::RepeatedClaim {
                statement,
                count,
                unit,
                category,
                period,
                place,
                cites,
                repeats,
            },
            BodyJson::Figure {
                label,
                value,
                qualifier,
                unit,
                terms,
                supersedes: None,
            } => Body::Figure {
                label,
                value,
                qualifier,
                unit,
                terms,
            },
            BodyJson::Figure {
                label,
                value,
                qualifier,
                unit,
                terms,
                supersedes: Some(supersedes),
            } => Body::SupersedingFigure {
                label,
                value,
                qualifier,
                unit,
                terms,
                supersedes,
            },
            BodyJson::Correction {
                target,
                count,
                statement,
                reason,
            } => Body::Correction {
                target,
                count,
                statement,
                reason,
            },
            BodyJson::Retraction { target, reason } => Body::Retraction { target, reason },
            BodyJson::Redaction { target, reason } => Body::Redaction { target, reason },
            BodyJson::Cite {
                target,
                cites,
                reason,
            } => Body::Cite {
                target,
                cites,
                reason,
            },
            BodyJson::StateCommitment { size, leaves, root } => Body::StateCommitment {
                size,
                leaves,
                root: Digest(hex32("root", &root)?),
            },
            BodyJson::Review { target, note } => Body::Review { target, note },
        })
    }
}

/// `show FILE.cust --json`: a signed submission that no ledger has sequenced yet.
#[derive(Clone, Debug, Serialize)]
pub struct SubmissionJson {
    /// The body's kind.
    pub kind: &'static str,
    /// The origin it was signed for.
    pub origin: String,
    /// Who signed it: only the key id is known (a name and role come from a ledger's grant).
    pub signer: SignerJson,
    /// The signer's claimed time, RFC 3339 (not authenticated).
    pub claimed_time: String,
    /// The same, as signed: seconds since 1970.
    pub claimed_time_unix: i64,
    /// The body.
    pub body: BodyJson,
    /// Its Ed25519 signature, 128 hex digits (not checked here: `append` checks it).
    pub signature: String,
}

impl SubmissionJson {
    /// The view of `sub`.
    #[must_use]
    pub fn new(sub: &crate::entry::Submission) -> SubmissionJson {
        let c = &sub.content;
        SubmissionJson {
            kind: c.body.kind(),
            origin: c.origin.clone(),
            signer: SignerJson::of(&c.signer, &[]),
            claimed_time: rfc3339(c.claimed_time),
            claimed_time_unix: c.claimed_time,
            body: BodyJson::from(&c.body),
            signature: hex::encode(sub.signature.0),
        }
    }
}

/// `show --json`: one entry, whole.
#[derive(Clone, Debug, Serialize)]
pub struct EntryJson {
    /// Its index.
    pub index: u64,
    /// The body's kind.
    pub kind: &'static str,
    /// The origin it was signed for.
    pub origin: String,
    /// Who signed it.
    pub signer: SignerJson,
    /// The signer's claimed time, RFC 3339 (not authenticated).
    pub claimed_time: String,
    /// The same, as signed: seconds since 1970.
    pub claimed_time_unix: i64,
    /// The body.
    pub body: BodyJson,
    /// The previous entry's leaf hash.
    pub prev_hash: String,
    /// Its leaf hash (RFC 6962).
    pub leaf_hash: String,
    /// Its Ed25519 signature, 128 hex digits.
    pub signature: String,
    /// Every later entry that amends it: corrections, retractions, redactions and
    /// re-sourcings naming it; for a key grant, the key's revocation.
    pub amended_by: Vec<u64>,
}

impl EntryJson {
    /// The view of `entry` (leaf hash `leaf`) in a log whose state is `state`.
    #[must_use]
    pub fn new(entry: &Entry, leaf: &Digest, state: &LogState) -> EntryJson {
        EntryJson {
            index: entry.index,
            kind: entry.content.body.kind(),
            origin: entry.content.origin.clone(),
            signer: SignerJson::of(&entry.content.signer, &state.keys),
            claimed_time: rfc3339(entry.content.claimed_time),
            claimed_time_unix: entry.content.claimed_time,
            body: BodyJson::from(&entry.content.body),
            prev_hash: entry.prev.to_hex(),
            leaf_hash: leaf.to_hex(),
            signature: hex::encode(entry.signature.0),
            amended_by: state.amended_by(entry.index),
        }
    }
}

/// `log --json`: one line per entry.
#[derive(Clone, Debug, Serialize)]
pub struct LogLineJson {
    /// Its index.
    pub index: u64,
    /// The body's kind.
    pub kind: &'static str,
    /// Who signed it.
    pub signer: SignerJson,
    /// The signer's claimed time, RFC 3339.
    pub claimed_time: String,
    /// Its leaf hash.
    pub leaf_hash: String,
    /// A one-line summary for people.
    pub summary: String,
}

/// `figure --json`: a figure, how it stands today, its leaf hash and signer.
#[derive(Clone, Debug, Serialize)]
pub struct FigureJson {
    /// The figure and its standing.
    #[serde(flatten)]
    pub figure: FigureStanding,
    /// Its leaf hash.
    pub leaf_hash: String,
    /// Who signed it.
    pub signer: SignerJson,
}

/// A key the log granted, with what it signed (`verify`).
#[derive(Clone, Debug, Serialize)]
pub struct KeyJson {
    /// The key: the same [`SignerJson`] object as everywhere, not flattened into this one.
    pub signer: SignerJson,
    /// Entries it signed.
    pub entries: u64,
    /// The entry that granted it (0 for the operator).
    pub granted_at: u64,
    /// The entry that revoked it.
    pub revoked_at: Option<u64>,
}

/// A checkpoint checked against the replayed tree.
#[derive(Clone, Debug, Serialize)]
pub struct CheckpointJson {
    /// The file it was read from.
    pub file: String,
    /// Its tree size.
    pub size: u64,
    /// Its root, hex.
    pub root: String,
    /// The note as read, with all its signature lines (for `verify --policy`; not in the JSON).
    #[serde(skip)]
    pub note: String,
}

/// One policy witness on one checkpoint (`witnessed.witnesses` of `verify --json` and
/// `check --json` with `--policy`).
#[derive(Clone, Debug, Serialize)]
pub struct WitnessJson {
    /// The policy's name for the witness.
    pub name: String,
    /// Its cosignature key, a C2SP vkey of type 0x04.
    pub vkey: String,
    /// `"cosigned"`, `"invalid"` (a line by its key that does not verify) or `"absent"`.
    pub status: &'static str,
    /// The cosignature's time, RFC 3339 (as the witness states it), when cosigned.
    pub time: Option<String>,
    /// The same time in seconds since the Unix epoch, exactly as signed.
    pub time_unix: Option<u64>,
}

/// A checkpoint held to a witness policy (`witnessed` of `verify --json` and `check --json`).
#[derive(Clone, Debug, Serialize)]
pub struct WitnessingJson {
    /// SHA-256 of the policy file, hex.
    pub policy_sha256: String,
    /// The name on the policy's quorum line.
    pub quorum: String,
    /// Whether the quorum is met (always `true` in a report that verified).
    pub quorum_met: bool,
    /// The checkpoint it was checked on.
    pub checkpoint: TreeHeadJson,
    /// The checkpoint's file (`verify`; `null` for a bundle's checkpoint).
    pub file: Option<String>,
    /// Every witness of the policy, in policy order.
    pub witnesses: Vec<WitnessJson>,
}

impl WitnessingJson {
    /// The JSON view of `evaluation` of the checkpoint (`size`, `root`) under `policy`.
    #[must_use]
    pub fn new(
        policy: &crate::policy::Policy,
        evaluation: &crate::policy::Evaluation,
        size: u64,
        root: &Digest,
    ) -> WitnessingJson {
        use crate::policy::WitnessStatus;
        let witnesses = policy
            .witnesses()
            .iter()
            .zip(&evaluation.witnesses)
            .map(|(w, (_, st))| {
                let (status, t) = match st {
                    WitnessStatus::Cosigned { time } => ("cosigned", Some(*time)),
                    WitnessStatus::Invalid => ("invalid", None),
                    WitnessStatus::Absent => ("absent", None),
                };
                WitnessJson {
                    name: w.name.clone(),
                    vkey: w.verifier.to_vkey(),
                    status,
                    time: t.map(|t| i64::try_from(t).map_or_else(|_| t.to_string(), rfc3339)),
                    time_unix: t,
                }
            })
            .collect();
        WitnessingJson {
            policy_sha256: policy.sha256().to_hex(),
            quorum: policy.quorum_name().to_owned(),
            quorum_met: evaluation.quorum_met,
            checkpoint: TreeHeadJson {
                size,
                root: root.to_hex(),
            },
            file: None,
            witnesses,
        }
    }
}

/// An RFC 3161 time-stamp token over a checkpoint (`verify --json`, `check --json`;
/// docs/TIMESTAMPS.md). The fields after `checked` are `null` when it was not checked.
#[derive(Clone, Debug, Serialize)]
pub struct TimestampJson {
    /// The token file (`verify`), or `null` for a token carried in a bundle (`check`).
    pub file: Option<String>,
    /// The tree size of the checkpoint it stamps.
    pub checkpoint_size: u64,
    /// Whether it was verified against trusted TSA roots (`--tsa-cert`).
    pub checked: bool,
    /// genTime, RFC 3339: the checkpoint existed no later than this.
    pub gen_time: Option<String>,
    /// The TSA certificate's subject, RFC 4514.
    pub tsa: Option<String>,
    /// The TSA policy OID.
    pub policy: Option<String>,
    /// The token's serial number, hex.
    pub serial: Option<String>,
    /// The TSA's stated accuracy of genTime.
    pub accuracy: Option<crate::timestamp::Accuracy>,
}

impl TimestampJson {
    /// The JSON of a token over the checkpoint of size `checkpoint_size`, verified or not.
    #[must_use]
    pub fn of(
        file: Option<String>,
        checkpoint_size: u64,
        v: Option<&crate::timestamp::VerifiedTimestamp>,
    ) -> Self {
        TimestampJson {
            file,
            checkpoint_size,
            checked: v.is_some(),
            gen_time: v.map(|v| v.gen_time_rfc3339.clone()),
            tsa: v.map(|v| v.tsa_subject.clone()),
            policy: v.map(|v| v.policy.clone()),
            serial: v.map(|v| v.serial.clone()),
            accuracy: v.and_then(|v| v.accuracy),
        }
    }
}

/// A stored document's state (`verify --documents`).
#[derive(Clone, Debug, Serialize)]
pub struct DocumentJson {
    /// The source entry.
    pub entry: u64,
    /// "ok", "withheld (redacted at entry N)" or "not stored".
    pub status: String,
}

/// `verify --json` when the ledger verified (`ok` is added as `true`).
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    /// Entries replayed.
    pub entries: u64,
    /// The ledger's origin.
    pub origin: String,
    /// RFC 6962 root of all entries, hex.
    pub root: String,
    /// Entries per kind.
    pub kinds: BTreeMap<String, u64>,
    /// Every key the log granted, the operator first.
    pub signers: Vec<KeyJson>,
    /// Every figure, recomputed.
    pub figures: Vec<FigureStanding>,
    /// Recorded and `--since` checkpoints that hold.
    pub checkpoints: Vec<CheckpointJson>,
    /// Stored documents re-hashed (with `--documents`).
    pub documents: Vec<DocumentJson>,
    /// Not integrity failures, but what a reader should know.
    pub notes: Vec<String>,
    /// The C2SP verifier key of the log, from genesis.
    pub vkey: String,
}

/// The `error` member of a failed `verify --json` or `check --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailureJson {
    /// The first bad entry, if the failure is about one.
    pub entry: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

/// One entry of `check --json`.
#[derive(Clone, Debug, Serialize)]
pub struct CheckedEntryJson {
    /// Its index.
    pub index: u64,
    /// The body's kind.
    pub kind: &'static str,
    /// Who signed it.
    pub signer: SignerJson,
    /// The signer's claimed time, RFC 3339.
    pub claimed_time: String,
    /// Its leaf hash.
    pub leaf_hash: String,
}

/// The checkpoint a bundle was checked against.
#[derive(Clone, Debug, Serialize)]
pub struct TreeHeadJson {
    /// Tree size.
    pub size: u64,
    /// Root, hex.
    pub root: String,
}

/// A `--document` matched to a bundle's sources.
#[derive(Clone, Debug, Serialize)]
pub struct DocumentMatchJson {
    /// The document's SHA-256, hex.
    pub sha256: String,
    /// The source entries recording it.
    pub sources: Vec<u64>,
}

/// `check --json` when the bundle verified (`ok` is added as `true`).
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The log's origin.
    pub origin: String,
    /// The trusted log key.
    pub vkey: String,
    /// SHA-256 of the bundle file, hex.
    pub bundle_sha256: String,
    /// The checkpoint.
    pub checkpoint: TreeHeadJson,
    /// What the bundle proves.
    pub subject: crate::bundle::Subject,
    /// The subject's status as of the checkpoint, for any kind: `{"kind": "current"}`,
    /// `changed`, `unsupported`, `superseded` (with `by`), `revoked` or `retracted` (with `at`).
    pub status: crate::explain::Status,
    /// Where the subject stands as of the checkpoint (claims and figures).
    pub standing: Option<Standing>,
    /// What the bundle proves about omissions: the state commitment its completeness proof is
    /// against, and whether that is complete to the checkpoint; `null` if it proves none.
    pub completeness: Option<crate::bundle::Coverage>,
    /// The `--document` match.
    pub document: Option<DocumentMatchJson>,
    /// Every entry of the bundle.
    pub entries: Vec<CheckedEntryJson>,
    /// The bundle's time-stamp tokens over its checkpoint.
    pub timestamps: Vec<TimestampJson>,
}

/// `prove inclusion --json`.
#[derive(Clone, Debug, Serialize)]
pub struct InclusionJson {
    /// The entry.
    pub leaf_index: u64,
    /// The tree size proven to.
    pub tree_size: u64,
    /// The entry's leaf hash.
    pub leaf_hash: String,
    /// The tree's root.
    pub root_hash: String,
    /// RFC 9162 inclusion path, leaf side first.
    pub inclusion_path: Vec<String>,
}

/// `prove consistency --json`.
#[derive(Clone, Debug, Serialize)]
pub struct ConsistencyJson {
    /// The older size.
    pub tree_size_1: u64,
    /// The newer size.
    pub tree_size_2: u64,
    /// The older root.
    pub root_hash_1: String,
    /// The newer root.
    pub root_hash_2: String,
    /// RFC 9162 consistency path.
    pub consistency_path: Vec<String>,
}

/// The answer of `custody serve`'s `POST /add` (docs/JSON.md): where the submission now is in
/// the log. `custody submit` reads it back and checks it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddedJson {
    /// The entry's index.
    pub index: u64,
    /// Its leaf hash, hex: SHA-256(0x00 || entry bytes), the entry being `index`, `prev_hash`
    /// and the submission.
    pub leaf_hash: String,
    /// The previous entry's leaf hash, hex (zeros for entry 0), which the entry's bytes hold.
    pub prev_hash: String,
    /// True if this request appended it; false if it was already in the log (a retry).
    pub appended: bool,
    /// A c2sp.org/tlog-proof@v1 inclusion proof of the entry in the latest checkpoint, when
    /// one covers it (`null` until then).
    pub inclusion_proof: Option<String>,
}

/// Wraps a report as `{"ok": true, ...report}` or a failure as `{"ok": false, "error": ...}`.
///
/// # Errors
/// If serialization fails (it does not for these types).
pub fn with_ok<T: Serialize>(report: &T) -> Result<serde_json::Value, serde_json::Error> {
    let mut v = serde_json::to_value(report)?;
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("ok".into(), serde_json::Value::Bool(true));
    }
    Ok(v)
}

/// `{"ok": false, "error": failure}`.
#[must_use]
pub fn failed(failure: &FailureJson) -> serde_json::Value {
    serde_json::json!({"ok": false, "error": failure})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_through_json() {
        let bodies = vec![
            Body::Source {
                sha256: Digest::of(b"doc"),
                size: 3,
                title: "t".into(),
                publisher: "p".into(),
                date: "2025".into(),
                kind: SourceKind::UnDocument,
                locator: None,
            },
            Body::KeyGrant {
                key: [5u8; 32],
                name: "r".into(),
                role: Role::Reviewer,
            },
            Body::KeyRevoke {
                key: KeyId([6u8; 32]),
                reason: "lost".into(),
            },
        ];
        for b in bodies {
            let j = serde_json::to_string(&BodyJson::from(&b)).unwrap();
            assert!(!j.contains('['), "hex, not number lists: {j}");
            let back: BodyJson = serde_json::from_str(&j).unwrap();
            assert_eq!(Body::try_from(back).unwrap(), b);
        }
    }

    #[test]
    fn times_outside_the_calendar_print_as_numbers() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "-1");
        assert_eq!(rfc3339(253_402_300_800), "253402300800");
        assert_eq!(rfc3339(i64::MAX), i64::MAX.to_string());
    }
}
