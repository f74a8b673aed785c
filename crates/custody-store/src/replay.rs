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
use crate::frames::{self, FrameReader, Next};
use crate::ledger::ENTRIES;
use custody_core::checkpoint;
use custody_core::entry::Entry;
use custody_core::explain::{self, FigureStanding};
use custody_core::hash::Digest;
use custody_core::json::{CheckpointJson, FailureJson, KeyJson, SignerJson, VerifyReport};
use custody_core::replay::{PendingSignature, Replay, ReplayError};
use custody_core::rules::{EntryLookup, LogState, LookupError, RuleError};
use ed25519_dalek::VerifyingKey;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Entries whose signatures are checked together in one parallel chunk.
const CHUNK: usize = 2048;

/// Options for [`verify_ledger`].
#[derive(Default)]
pub struct Options {
    /// Older checkpoints (file path, bytes) that the log must still be consistent with.
    pub since: Vec<(PathBuf, Vec<u8>)>,
    /// Re-hash stored documents.
    pub documents: bool,
    /// Treat figures changed by later corrections or retractions as failures.
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

/// Random access to earlier entries during a replay.
struct Reader<'a> {
    path: &'a Path,
    file: &'a File,
    /// Offsets known so far, when the derived index could not be trusted.
    memory: Option<Vec<u64>>,
    /// The derived index file, trusted only up to `trusted` entries.
    index: Option<File>,
    trusted: u64,
}

impl Reader<'_> {
    fn note_offset(&mut self, i: u64, offset: u64) {
        if let Some(mem) = &mut self.memory {
            mem.push(offset);
            return;
        }
        let mut b = [0u8; 8];
        let agrees = self.index.as_ref().is_some_and(|f| {
            f.read_exact_at(&mut b, i * 8).is_ok() && u64::from_le_bytes(b) == offset
        });
        if agrees {
            self.trusted = i + 1;
        } else {
            // Fall back to offsets in memory (8 bytes an entry) from here on.
            let mut mem = Vec::with_capacity(usize::try_from(i + 1).unwrap_or(0));
            for k in 0..i {
                let mut b = [0u8; 8];
                let off = self
                    .index
                    .as_ref()
                    .and_then(|f| {
                        f.read_exact_at(&mut b, k * 8)
                            .ok()
                            .map(|()| u64::from_le_bytes(b))
                    })
                    .unwrap_or(0);
                mem.push(off);
            }
            mem.push(offset);
            self.memory = Some(mem);
        }
    }
}

impl EntryLookup for Reader<'_> {
    fn entry(&self, index: u64) -> Result<Entry, LookupError> {
        let missing = || LookupError::Missing {
            index,
            reason: "is not yet replayed".into(),
        };
        let offset = match &self.memory {
            Some(m) => *usize::try_from(index)
                .ok()
                .and_then(|k| m.get(k))
                .ok_or_else(missing)?,
            None => {
                if index >= self.trusted {
                    return Err(missing());
                }
                let mut b = [0u8; 8];
                self.index
                    .as_ref()
                    .ok_or_else(missing)?
                    .read_exact_at(&mut b, index * 8)
                    .map_err(|source| LookupError::Io { index, source })?;
                u64::from_le_bytes(b)
            }
        };
        let corrupt = |reason: String| LookupError::Corrupt { index, reason };
        match frames::read_frame_at(self.file, offset).map_err(|e| LookupError::Io {
            index,
            source: std::io::Error::new(e.kind(), format!("{}: {e}", self.path.display())),
        })? {
            Some(fr) => Entry::from_bytes(&fr.bytes).map_err(|e| corrupt(e.to_string())),
            None => Err(corrupt("frame unreadable".into())),
        }
    }
}

fn bad_signature(first_bad: Option<u64>) -> Result<(), Failure> {
    match first_bad {
        Some(i) => Err(Failure::at(i, "signature does not verify")),
        None => Ok(()),
    }
}

/// Checks one chunk of signatures on the rayon pool while the replay parses the next chunk.
/// At most one chunk is in flight, so memory stays bounded and failures are found in order.
struct SigPipeline {
    in_flight: Option<std::sync::mpsc::Receiver<Option<u64>>>,
}

impl SigPipeline {
    fn submit(&mut self, chunk: Vec<PendingSignature>) -> Result<(), Failure> {
        self.finish()?;
        let (tx, rx) = std::sync::mpsc::channel();
        rayon::spawn(move || {
            // The receiver outlives the job unless verification already failed; then no one
            // needs the answer.
            let _ = tx.send(verify_chunk(&chunk));
        });
        self.in_flight = Some(rx);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Failure> {
        match self.in_flight.take() {
            None => Ok(()),
            Some(rx) => bad_signature(
                rx.recv()
                    .map_err(|_| Failure::plain("internal: signature worker stopped"))?,
            ),
        }
    }
}

fn verify_chunk(chunk: &[PendingSignature]) -> Option<u64> {
    chunk
        .par_iter()
        .filter(|p| !p.verifies())
        .map(|p| p.index)
        .min()
}

/// The failure for a replay error at entry `i`: evidence, unless reading failed.
fn replay_failure(i: u64, e: ReplayError) -> VerifyError {
    match e {
        ReplayError::Rule(RuleError::Lookup(LookupError::Io { index, source })) => {
            VerifyError::Io(StoreError::Io {
                path: format!("entry {index}"),
                source,
            })
        }
        other => VerifyError::Evidence(Failure::at(i, other.to_string())),
    }
}

fn rule_failure(i: u64, e: RuleError) -> VerifyError {
    replay_failure(i, ReplayError::Rule(e))
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
    let file = File::open(&path).map_err(io)?;
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

    // A separate handle for streaming: random reads use positional I/O on `file`.
    let mut stream = File::open(&path).map_err(io)?;
    stream.seek(SeekFrom::Start(16)).map_err(io)?;
    let mut frames_in = FrameReader::new(BufReader::with_capacity(1 << 20, stream), 16);
    let mut reader = Reader {
        path: &path,
        file: &file,
        memory: None,
        index: File::open(dir.join("index")).ok(),
        trusted: 0,
    };
    let mut replay = Replay::new(wanted);
    let mut chunk: Vec<PendingSignature> = Vec::with_capacity(CHUNK);
    let mut last_progress = 0u64;
    let mut sigs = SigPipeline { in_flight: None };

    loop {
        let next = frames_in.next_frame().map_err(io)?;
        let i = replay.state().size;
        let failure = match next {
            Next::End => break,
            Next::Torn { offset, bytes } => Some(VerifyError::Evidence(Failure::plain(
                match i.checked_sub(1) {
                    Some(last) => format!("entries file ends in a torn write after entry {last} ({bytes} bytes at offset {offset}); `custody repair` cuts it off"),
                    None => format!("entries file ends in a torn write before any entry ({bytes} bytes at offset {offset})"),
                },
            ))),
            Next::BadLength { length, .. } => Some(VerifyError::Evidence(Failure::at(
                i,
                format!("frame length {length} is not a valid entry length"),
            ))),
            Next::Frame(frame) => {
                reader.note_offset(i, frame.offset);
                match replay.push(&frame.bytes, frame.stored_leaf, &reader) {
                    Ok(p) => {
                        chunk.push(p);
                        if frame.end() - last_progress > 1 << 20 {
                            last_progress = frame.end();
                            progress(last_progress);
                        }
                        None
                    }
                    Err(e) => Some(replay_failure(i, e)),
                }
            }
        };
        if let Some(f) = failure {
            // An earlier bad signature in the pending chunk is the first failure.
            sigs.finish()?;
            bad_signature(verify_chunk(&chunk))?;
            return Err(f);
        }
        if chunk.len() >= CHUNK {
            sigs.submit(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))?;
        }
    }
    sigs.finish()?;
    bad_signature(verify_chunk(&chunk))?;
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
        let Some(fs) =
            explain::figure_standing(state, log, f, state.size).map_err(|e| rule_failure(f, e))?
        else {
            continue;
        };
        let s = &fs.standing;
        if strict && s.is_changed() {
            return Err(Failure::at(
                f,
                format!(
                    "figure {:?} was published as {} but is {} on today's log (changed by entries {:?}); --strict",
                    fs.label,
                    s.published.unwrap_or(0),
                    s.current.unwrap_or(0),
                    s.changed_by
                ),
            )
            .into());
        }
        out.push(fs);
    }
    Ok(out)
}
