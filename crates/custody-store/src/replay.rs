//! `verify` of a ledger directory: streams the entries file once (bounded memory) through
//! core's [`Replay`], checks every signature (strict Ed25519, in parallel chunks) and every
//! recorded and `--since` checkpoint against the replayed tree, and says exactly where it first
//! fails.
//!
//! Derived files are never trusted: the derived offset index is used for random reads only
//! where it agrees, entry by entry, with what the replay itself found. A failure of the
//! evidence ([`VerifyError::Evidence`]) is kept apart from a failure to read it
//! ([`VerifyError::Io`], [`VerifyError::NotALedger`]).

use crate::checkpoints::list_checkpoints;
use crate::documents::{check_documents, DocumentFailure};
use crate::error::StoreError;
use crate::files::io_at;
use crate::frames;
use crate::ledger::ENTRIES;
use crate::stream::{self, Discard, End, EntriesReader, OffsetIndex, Source, StreamError};
use custody_core::checkpoint;
use custody_core::explain::{self, FigureStanding};
use custody_core::hash::Digest;
use custody_core::json::{CheckpointJson, FailureJson, KeyJson, SignerJson, VerifyReport};
use custody_core::replay::Replay;
use custody_core::rules::{EntryLookup, LogState};
use ed25519_dalek::VerifyingKey;
use std::collections::{BTreeMap, BTreeSet};

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Options for [`verify_ledger`].
#[derive(Default)]
pub struct Options {
    /// Older checkpoints (file path, bytes) that the log must still be consistent with.
    pub since: Vec<(PathBuf, Vec<u8>)>,
    /// Re-hash stored documents.
    pub documents: bool,
    /// Treat figures changed by later corrections or retractions, or resting on unsupported
    /// claims, as failures.
    pub strict: bool,
}

/// Where and why the evidence failed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The first bad entry, if the failure is about one.
    pub entry: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

impl Failure {
    fn at(entry: u64, reason: impl Into<String>) -> Failure {
        Failure {
            entry: Some(entry),
            reason: reason.into(),
        }
    }

    fn plain(reason: impl Into<String>) -> Failure {
        Failure {
            entry: None,
            reason: reason.into(),
        }
    }

    /// The JSON form (`verify --json`'s `error`).
    #[must_use]
    pub fn to_json(&self) -> FailureJson {
        FailureJson {
            entry: self.entry,
            reason: self.reason.clone(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.entry {
            Some(e) => write!(f, "entry {e}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// Why `verify` did not succeed: the evidence failed (exit 1), or it could not be read (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The ledger's evidence is not what it claims.
    #[error("{0}")]
    Evidence(Failure),
    /// There is no ledger there.
    #[error(transparent)]
    NotALedger(StoreError),
    /// A file could not be read.
    #[error(transparent)]
    Io(StoreError),
}

impl From<Failure> for VerifyError {
    fn from(f: Failure) -> Self {
        VerifyError::Evidence(f)
    }
}

/// Replays the ledger in `dir`. `progress` is called with bytes read so far.
///
/// # Errors
/// [`VerifyError::Evidence`] with the first failure, naming the entry where there is one;
/// [`VerifyError::NotALedger`] or [`VerifyError::Io`] when it cannot be read.
pub fn verify_ledger(
    dir: &Path,
    opts: &Options,
    progress: &dyn Fn(u64),
) -> Result<VerifyReport, VerifyError> {
    let path = dir.join(ENTRIES);
    if !path.is_file() {
        return Err(VerifyError::NotALedger(StoreError::NotALedger(
            dir.display().to_string(),
        )));
    }
    let io = |e: std::io::Error| VerifyError::Io(io_at(&path)(e));
    let file = crate::files::open_regular(&path).map_err(VerifyError::Io)?;
    let mut magic = [0u8; 16];
    match file.read_exact_at(&mut magic, 0) {
        // A file too short to hold the magic is evidence; a read that fails is not.
        Err(e) if e.kind() != std::io::ErrorKind::UnexpectedEof => return Err(io(e)),
        Ok(()) if &magic == frames::FILE_MAGIC => {}
        _ => {
            return Err(
                Failure::plain("entries file does not start with the custody-log-v1 magic").into(),
            )
        }
    }
    // Checkpoints to check, by size, so the replay can note the root as it passes each size.
    // Recorded and `--since` checkpoints are checked alike.
    let mut notes = list_checkpoints(dir).map_err(VerifyError::Io)?;
    notes.extend(opts.since.iter().cloned());
    let wanted: BTreeSet<u64> = notes
        .iter()
        .filter_map(|(_, b)| checkpoint_size(b))
        .collect();
    // verify trusts no derived file: its offset index and duplicate table are its own,
    // anonymous temporary files (so memory stays flat whatever the log's size). The table is
    // sized once from the file (a sparse file: holes cost nothing), so it never grows mid-way.
    let mut index = OffsetIndex::temporary().map_err(VerifyError::Io)?;
    let mut dedup =
        stream::temporary_dedup(file.metadata().map_or(0, |m| m.len() / 200).min(1 << 26))
            .map_err(|source| VerifyError::Io(io_at(&std::env::temp_dir())(source)))?;
    let mut replay = Replay::new(wanted);
    let src = Source {
        file: &file,
        path: &path,
        start: frames::FILE_MAGIC.len() as u64,
    };
    let end = stream::stream(
        &src,
        &mut replay,
        &mut index,
        &mut dedup,
        &mut Discard,
        progress,
    )
    .map_err(|e| match e {
        StreamError::Evidence(f) => VerifyError::Evidence(f),
        StreamError::Io(e) => VerifyError::Io(e),
    })?;
    if let End::Torn { offset, bytes } = end.end {
        // Said to whoever runs verify (an auditor, a court expert): what is wrong, and that it is
        // the operator's to repair, on a copy.
        let after = match replay.state().size.checked_sub(1) {
            Some(last) => format!("after entry {last}"),
            None => "before any entry".into(),
        };
        return Err(Failure::plain(format!(
            "entries file ends in a torn write {after} ({bytes} bytes at offset {offset}): the entries before it verify, the torn bytes are not an entry; the operator can cut them off with `custody repair` on a copy of the ledger"
        ))
        .into());
    }
    let reader = EntriesReader {
        file: &file,
        path: &path,
        index: &index,
    };
    let state = replay.state();
    if state.size == 0 {
        return Err(Failure::plain("the ledger has no entries (not even genesis)").into());
    }
    let (vkey, checkpoints, notes) = check_checkpoints(&replay, &notes)?;
    let figures = figures(state, &reader, opts.strict)?;
    let documents = if opts.documents {
        check_documents(dir, state, &reader).map_err(|e| match e {
            DocumentFailure::Evidence { entry, reason } => {
                VerifyError::Evidence(Failure { entry, reason })
            }
            DocumentFailure::Io(e) => VerifyError::Io(e),
        })?
    } else {
        Vec::new()
    };
    let signers = state
        .keys
        .iter()
        .map(|k| KeyJson {
            signer: SignerJson::of(&k.id(), &state.keys),
            entries: replay.signed_by(&k.id()),
            granted_at: k.granted_at,
            revoked_at: k.revoked_at,
        })
        .collect();
    Ok(VerifyReport {
        entries: state.size,
        origin: state.origin.clone(),
        root: replay.root().to_hex(),
        kinds: state.kinds.clone(),
        signers,
        figures,
        checkpoints,
        documents,
        notes,
        vkey,
    })
}

fn checkpoint_size(note: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(note).ok()?;
    text.lines().nth(1)?.parse().ok()
}

/// Each checkpoint must be signed by the operator and match the replayed root at its size; two
/// at one size must agree. Returns the log's vkey, the checkpoints that hold, and a note on the
/// entries no checkpoint covers yet.
fn check_checkpoints(
    replay: &Replay,
    notes: &[(PathBuf, Vec<u8>)],
) -> Result<(String, Vec<CheckpointJson>, Vec<String>), Failure> {
    let state = replay.state();
    let operator = state
        .operator()
        .ok_or_else(|| Failure::plain("no operator key"))?;
    let op_key = VerifyingKey::from_bytes(&operator.public)
        .map_err(|_| Failure::plain("operator key invalid"))?;
    let vkey =
        checkpoint::vkey(&state.origin, &op_key).map_err(|e| Failure::plain(e.to_string()))?;
    let verifier = checkpoint::parse_vkey(&vkey).map_err(|e| Failure::plain(e.to_string()))?;
    let mut cps = Vec::new();
    let mut by_size: BTreeMap<u64, (Digest, String)> = BTreeMap::new();
    for (p, bytes) in notes {
        let name = p.display().to_string();
        let cp = checkpoint::open(bytes, &verifier)
            .map_err(|e| Failure::plain(format!("checkpoint {name}: {e}")))?;
        if let Some((other_root, other)) = by_size.get(&cp.size()) {
            if *other_root != cp.root() {
                return Err(Failure::plain(format!(
                    "split view: checkpoints {other} and {name} both sign tree size {} with different roots",
                    cp.size()
                )));
            }
        }
        by_size.insert(cp.size(), (cp.root(), name.clone()));
        if cp.size() > state.size {
            return Err(Failure::plain(format!(
                "checkpoint {name} signs tree size {} but the log now holds only {} entries: the log was truncated or rewritten",
                cp.size(),
                state.size
            )));
        }
        let replayed = replay
            .root_at(cp.size())
            .ok_or_else(|| Failure::plain("internal: root not noted"))?;
        if replayed != cp.root() {
            return Err(Failure::plain(format!(
                "checkpoint {name} (tree size {}) contradicts the log: its root is {}, the replayed log's is {}; the log was rewritten after that checkpoint",
                cp.size(),
                cp.root(),
                replayed
            )));
        }
        cps.push(CheckpointJson {
            file: name,
            size: cp.size(),
            root: cp.root().to_hex(),
            note: cp.note().to_owned(),
        });
    }
    let mut report_notes = Vec::new();
    let last_cp = by_size.keys().next_back().copied().unwrap_or(0);
    if last_cp < state.size {
        report_notes.push(format!(
            "entries {last_cp}..{} are not yet covered by a signed checkpoint (`custody checkpoint` signs one)",
            state.size - 1
        ));
    }
    Ok((vkey, cps, report_notes))
}

/// Every figure as published and on today's log; with `strict`, a changed figure fails.
fn figures(
    state: &LogState,
    log: &dyn EntryLookup,
    strict: bool,
) -> Result<Vec<FigureStanding>, VerifyError> {
    let mut out = Vec::new();
    for &f in &state.figures {
        let Some(fs) = explain::figure_standing(state, log, f, state.size).map_err(|e| {
            match stream::rule_failure(f, e) {
                StreamError::Evidence(f) => VerifyError::Evidence(f),
                StreamError::Io(e) => VerifyError::Io(e),
            }
        })?
        else {
            continue;
        };
        let s = &fs.standing;
        // A figure superseded by a live figure is answered for by its successor, which is
        // checked in its own turn.
        let succeeded = match s.superseded_by {
            Some(by) => state
                .retracted_before(by, state.size, log)
                .map_err(|e| match stream::rule_failure(by, e) {
                    StreamError::Evidence(f) => VerifyError::Evidence(f),
                    StreamError::Io(e) => VerifyError::Io(e),
                })?
                .is_none(),
            None => false,
        };
        let strict = strict && !succeeded;
        if strict && !s.unsupported.is_empty() {
            return Err(Failure::at(
                f,
                format!(
                    "figure {:?} rests on unsupported {}: every source and informant {} cites was retracted (re-source {} with `custody cite`, or supersede the figure with `custody add figure --supersedes {f}`); --strict",
                    fs.label,
                    custody_core::rules::text::numbered(&s.unsupported, "claim", "claims"),
                    if s.unsupported.len() == 1 { "it" } else { "each" },
                    if s.unsupported.len() == 1 { "it" } else { "them" },
                ),
            )
            .into());
        }
        if strict && s.is_changed() {
            return Err(Failure::at(
                f,
                format!(
                    "figure {:?} was published as {} but is {} on today's log (changed by {}); publish the figure as it stands with `custody add figure --supersedes {f}`; --strict",
                    fs.label,
                    s.published.unwrap_or(0),
                    s.current.unwrap_or(0),
                    custody_core::rules::text::numbered(&s.changed_by, "entry", "entries")
                ),
            )
            .into());
        }
        out.push(fs);
    }
    Ok(out)
}
